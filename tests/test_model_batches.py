"""Batches in flight at once (``engine.model_batches``): the same values in the
same order as one at a time, progress in order, cancel between batches, and a
batch's error reaches the caller."""

import threading
import time

import numpy as np
import pytest

from landslide_susceptibility.core.errors import CancelledError
from landslide_susceptibility.engine.model_batches import InOrder, model_pool, run_batches


def slow_square(values, running, peak):
    """``call(chunk)``: the squares of ``values[chunk]``, later batches faster (so
    they finish out of order), recording how many run at once."""
    lock = threading.Lock()

    def call(chunk):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.03 if chunk.start == 0 else 0.01)
        with lock:
            running[0] -= 1
        return values[chunk] ** 2

    return call


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_same_values_in_order(workers):
    values = np.arange(103, dtype=np.float32)
    running, peak, fractions = [0], [0], []
    out = run_batches(slow_square(values, running, peak), len(values), 10, workers,
                      progress=fractions.append)
    np.testing.assert_array_equal(out, values ** 2)
    assert out.dtype == np.float32
    assert peak[0] == workers
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 11


def test_empty_and_single_batch():
    assert run_batches(lambda chunk: np.ones(0), 0, 8).shape == (0,)
    out = run_batches(lambda chunk: np.full(chunk.stop - chunk.start, 2.0), 5, 8)
    np.testing.assert_array_equal(out, np.full(5, 2.0, np.float32))


def test_cancel_stops_before_the_next_batch():
    started = []

    def call(chunk):
        started.append(chunk.start)
        return np.zeros(chunk.stop - chunk.start)

    with pytest.raises(CancelledError):
        run_batches(call, 100, 10, 2, is_cancelled=lambda: len(started) >= 3)
    assert len(started) <= 4


def test_a_batch_error_reaches_the_caller():
    def call(chunk):
        if chunk.start == 20:
            raise ValueError("bad batch")
        return np.zeros(chunk.stop - chunk.start)

    with pytest.raises(ValueError, match="bad batch"):
        run_batches(call, 50, 10, 2)


def test_in_order_hands_values_over_in_submission_order_and_times_the_wait():
    handed = []
    with model_pool(2) as pool:
        queue = InOrder(pool, 2, lambda key, value: handed.append((key, value)))
        for key, delay in enumerate([0.05, 0.0, 0.02, 0.0]):
            queue.submit(key, lambda k, d: (time.sleep(d), k * 10)[1], key, delay)
            assert len(queue.running) <= 1
        queue.drain()
    assert handed == [(0, 0), (1, 10), (2, 20), (3, 30)]
    assert queue.waited > 0.03
