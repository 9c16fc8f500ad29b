"""The prediction's tile loop: every tile read (in the reader thread,
:mod:`.prefetch`), run through the model on the dense or the per-patch path,
assembled (:func:`..core.tiling.assemble`) and written in order
(:class:`..core.map_writer.MapWriter`), with progress and cancel per batch."""

import time
from dataclasses import dataclass

import numpy as np

from ..core.errors import CancelledError
from ..core.map_writer import CANCEL_MESSAGE, OUTPUT_NODATA, MapWriter
from ..core.tiling import assemble, patch_view, prepare_tile
from .model_batches import MODEL_WORKERS, InOrder, model_pool, run_batches
from .prefetch import Prefetcher, dense_tiles, patch_batches
from .stack_reader import StackReader


@dataclass
class TileJob:
    """What the tile loop runs: the tiles and how to read them."""

    inputs: object               # engine.predict's Inputs: card, info, patch size, mean, std
    stride: int
    batch_size: int
    tile_size: int
    tiles: list
    row_nodes: np.ndarray
    col_nodes: np.ndarray

    def make_prepare(self):
        """A tile reader with its own GDAL dataset (called in the reader thread)."""
        inputs = self.inputs
        reader = StackReader(inputs.info, inputs.read_size, inputs.mean, inputs.std)
        return lambda tile: prepare_tile(tile, reader, self.stride, self.row_nodes,
                                         self.col_nodes)


@dataclass
class RunState:
    """The tile loop's writer, progress and counters."""

    writer: MapWriter
    reporter: object
    total: int                   # pixels of the map
    done: int = 0                # pixels written
    evaluated: int = 0           # pixels the model ran on
    model_seconds: float = 0.0
    tiles_seconds: float = 0.0
    statistics: dict = None

    def check(self):
        if self.reporter.is_cancelled():
            raise CancelledError(CANCEL_MESSAGE)

    def partial(self, tile, fraction):
        """Progress within ``tile`` (``fraction`` of it done)."""
        self.reporter.progress(95.0 * (self.done + fraction * tile.rows * tile.cols)
                               / self.total)

    def finish(self, tile):
        """Write the finished tile and free what it held."""
        self.writer.write(tile.row0, tile.col0, assemble(tile, tile.results, OUTPUT_NODATA))
        self.evaluated += len(tile.pixel_rows)
        tile.results = tile.valid = tile.interpolation = tile.window = None
        tile.pixel_rows = tile.pixel_cols = None  # the tile list lives until the end
        self.done += tile.rows * tile.cols
        self.reporter.progress(95.0 * self.done / self.total)



def run_tiles(job, state, patch_model, dense=None):
    """Predict and write every tile, densely when ``dense`` is given, else per patch."""
    started = time.monotonic()
    if dense is not None:
        _run_dense(job, dense, state)
    else:
        _run_patches(job, patch_model, state)
    state.tiles_seconds = time.monotonic() - started


def _run_dense(job, dense, state):
    """Dense path: one tile at a time, its window read ahead in the reader thread."""
    items = Prefetcher(dense_tiles(job.tiles, job.make_prepare), depth=2)
    try:
        for _, tile in items:
            state.check()
            clock = time.monotonic()
            tile.results = tile_values(tile, dense, None, state.reporter.is_cancelled,
                                       lambda fraction, tile=tile: state.partial(tile, fraction))
            state.model_seconds += time.monotonic() - clock
            state.finish(tile)
    finally:
        items.close()


def tile_values(tile, dense, patch_model, is_cancelled=None, progress=None):
    """The model's values on a prepared tile's pixels (``tile.pixel_rows``,
    ``tile.pixel_cols``): densely when ``dense`` is given, else per patch in
    batches of this tile alone (a cluster's tile task; the in-process per-patch
    path packs its batches across tiles). ``progress(fraction)`` after each batch."""
    if not len(tile.pixel_rows):
        return np.empty(0, np.float32)
    if dense is not None:
        return dense.predict(tile.window, tile.pixel_rows, tile.pixel_cols, is_cancelled,
                             progress)
    view = patch_view(tile.window, tile.window.shape[0] - tile.eval_rows + 1)
    rows, cols = tile.pixel_rows, tile.pixel_cols
    return run_batches(lambda chunk: patch_model(view[rows[chunk], cols[chunk]]), len(rows),
                       patch_model.batch_size, is_cancelled=is_cancelled, progress=progress)


def _run_patches(job, patch_model, state, workers=MODEL_WORKERS):
    """Per-patch path: full batches packed across tiles, ``workers`` of them in
    flight at once (:mod:`.model_batches`); tiles finish in order."""
    pending = {}  # tile index -> tile, in reading order
    items = Prefetcher(patch_batches(job.tiles, job.make_prepare, job.inputs.read_size,
                                     job.batch_size))

    def finished(segments, probability):
        _scatter(pending, segments, probability)
        _finish_ready(pending, state)

    with model_pool(workers) as pool:
        queue = InOrder(pool, workers, finished)
        try:
            for item in items:
                state.check()
                if item[0] == "tile":
                    tile = item[1]
                    tile.results = np.empty(len(tile.pixel_rows), np.float32)
                    pending[tile.index] = tile
                    _finish_ready(pending, state)  # an empty tile is done at once
                else:
                    queue.submit(item[2], patch_model, item[1])
            queue.drain()
        finally:
            items.close()
            state.model_seconds += queue.waited  # what the loop waited for the model
    if pending:
        raise RuntimeError("prediction ended with unfinished tiles")


def _scatter(pending, segments, probability):
    """Hand a batch's results (``segments``: ``(tile index, count)``) to its tiles."""
    position = 0
    for index, count in segments:
        tile = pending[index]
        tile.results[tile.filled:tile.filled + count] = probability[position:position + count]
        tile.filled += count
        position += count


def _finish_ready(pending, state):
    """Write the leading complete tiles; report progress within the next one."""
    while pending:
        tile = next(iter(pending.values()))
        if tile.filled != len(tile.results):
            state.partial(tile, tile.filled / max(len(tile.results), 1))
            return
        state.finish(pending.pop(tile.index))
