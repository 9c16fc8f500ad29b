"""A model's batches run a few at a time.

One call of a compiled tail or of a small model keeps a CPU only partly busy
(the attention matmuls of a 121-token patch are small, and the element-wise work
between them runs on one thread), so two batches in flight at once fill the
gaps: on the quiet 2-core bench machine the per-pixel part ran up to 1.4 times as
fast with two (``bench/tail_workers.py``; ``make bench``: the per-pixel part "as
Predict runs it"). Results do not depend on it:
each batch is computed alone and lands in its own slice of the output.
"""

import collections
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..core.errors import CancelledError
from ..core.map_writer import CANCEL_MESSAGE

#: Batches in flight at once (1: one after the other).
MODEL_WORKERS = 2


def model_pool(workers=MODEL_WORKERS):
    """The threads that run a model's batches (``with model_pool() as pool``)."""
    return ThreadPoolExecutor(workers, thread_name_prefix="landslide-model")


def run_batches(call, count, batch_size, workers=MODEL_WORKERS, is_cancelled=None,
                progress=None):
    """``float32 (count,)``: ``call(chunk)`` (a slice of at most ``batch_size``
    items, returning their values) over ``range(count)`` in order, up to
    ``workers`` chunks at once. ``is_cancelled()`` is checked before each chunk
    starts (the running ones finish, then :class:`CancelledError`);
    ``progress(fraction)`` is called, in order, as each chunk is done."""
    out = np.empty(count, np.float32)
    chunks = [slice(start, min(start + batch_size, count))
              for start in range(0, count, batch_size)]

    def finished(chunk, values):
        out[chunk] = values
        if progress is not None:
            progress(chunk.stop / count)

    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            _check(is_cancelled)
            finished(chunk, call(chunk))
        return out
    with model_pool(workers) as pool:
        queue = InOrder(pool, workers, finished)
        for chunk in chunks:
            _check(is_cancelled)
            queue.submit(chunk, call, chunk)
        queue.drain()
    return out


class InOrder:
    """Calls run on ``pool``, at most ``limit`` at once, their values handed to
    ``finished(key, value)`` in the order they were submitted; ``waited`` is the
    time spent waiting for them (the model's share of a loop's time). An error of
    a call is raised where its value would be handed over."""

    def __init__(self, pool, limit, finished):
        self.pool, self.limit, self.finished = pool, max(1, int(limit)), finished
        self.running = collections.deque()
        self.waited = 0.0

    def submit(self, key, call, *args):
        """Start ``call(*args)``; hand over the oldest values until fewer than
        ``limit`` run."""
        self.running.append((key, self.pool.submit(call, *args)))
        self.drain(self.limit - 1)

    def drain(self, limit=0):
        """Hand over the oldest values until at most ``limit`` calls run."""
        while len(self.running) > limit:
            key, future = self.running.popleft()
            clock = time.monotonic()
            value = future.result()
            self.waited += time.monotonic() - clock
            self.finished(key, value)


def _check(is_cancelled):
    if is_cancelled is not None and is_cancelled():
        raise CancelledError(CANCEL_MESSAGE)
