"""The learning-rate schedules of the training settings (engine.schedules)."""

import math

import pytest

from landslide_susceptibility.engine.schedules import cosine_with_warmup, rate_function


def test_cosine_warms_up_over_the_first_epoch_then_decays_to_zero():
    steps, epochs, base = 10, 5, 0.01
    rates = [cosine_with_warmup(base, step, steps, epochs) for step in range(steps * epochs)]
    assert rates[0] == pytest.approx(base / steps)
    assert rates[steps - 1] == pytest.approx(base)
    assert all(a < b for a, b in zip(rates[:steps - 1], rates[1:steps], strict=True))
    decay = rates[steps - 1:]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)
    middle = steps + (steps * epochs - steps) // 2 - 1  # halfway through the decay
    assert rates[middle] == pytest.approx(base * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_one_epoch_is_warm_up_only_and_constant_has_no_function():
    assert cosine_with_warmup(1.0, 3, 4, 1) == pytest.approx(1.0)
    assert rate_function("constant", 0.1, 10, 3) is None
    assert rate_function("cosine", 0.1, 10, 3)(9) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        rate_function("step", 0.1, 10, 3)
