"""The reader thread of the prediction: reading, normalising and patch cutting
run in a background thread that stays a few batches (or tiles) ahead of the
model (:class:`Prefetcher`); :func:`patch_batches` and :func:`dense_tiles` are
the generators it runs for the per-patch and the dense path."""

import queue
import threading

import numpy as np

from ..core.tiling import patch_view

PREFETCH_DEPTH = 3          # batches (or tiles) prepared ahead of the model


class Prefetcher:
    """Run a generator in a background thread, ``depth`` items ahead."""

    _DONE = object()

    def __init__(self, generator, depth=PREFETCH_DEPTH):
        self._generator = generator
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="landslide-predict-reader",
                                        daemon=True)
        self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self):
        try:
            for item in self._generator:
                if not self._put((None, item)):
                    return
            self._put((None, self._DONE))
        except BaseException as exc:  # handed to the consumer
            self._put((exc, None))

    def __iter__(self):
        while True:
            error, item = self._queue.get()
            if error is not None:
                raise error
            if item is self._DONE:
                return
            yield item

    def close(self):
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._generator.close()


def _joined(pieces):
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def patch_batches(tiles, make_prepare, patch_size, batch_size):
    """Items for the per-patch path: ``("tile", tile)`` announcing each tile, then
    ``("batch", x, [(tile index, count), ...])`` with full batches packed across
    tiles (only the last one may be short). Runs in the reader thread, which
    gets its own GDAL dataset from ``make_prepare()``."""
    prepare = make_prepare()
    pieces, segments, filled = [], [], 0
    for tile in tiles:
        tile = prepare(tile)
        yield ("tile", tile)
        view = patch_view(tile.window, patch_size)
        total, start = len(tile.pixel_rows), 0
        while start < total:
            take = min(batch_size - filled, total - start)
            pieces.append(view[tile.pixel_rows[start:start + take],
                               tile.pixel_cols[start:start + take]])
            segments.append((tile.index, take))
            filled += take
            start += take
            if filled == batch_size:
                yield ("batch", _joined(pieces), segments)
                pieces, segments, filled = [], [], 0
        tile.window = None
    if filled:
        yield ("batch", _joined(pieces), segments)


def dense_tiles(tiles, make_prepare):
    """Items for the dense path: ``("tile", tile)`` with its window read."""
    prepare = make_prepare()
    for tile in tiles:
        yield ("tile", prepare(tile))
