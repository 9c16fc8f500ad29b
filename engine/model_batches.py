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
        running = collections.deque()

        def collect(limit):  # the oldest chunks, until at most `limit` run
            while len(running) > limit:
                done, future = running.popleft()
                finished(done, future.result())

        for chunk in chunks:
            _check(is_cancelled)
            running.append((chunk, pool.submit(call, chunk)))
            collect(workers - 1)
        collect(0)
    return out

def _check(is_cancelled):
    if is_cancelled is not None and is_cancelled():
        raise CancelledError(CANCEL_MESSAGE)
