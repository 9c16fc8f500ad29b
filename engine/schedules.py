"""Learning-rate schedules of the training settings (``core.specs.training.SCHEDULES``).

Pure functions of the step: the training loop's callback sets the optimizer's
rate before every batch.
"""

import math


def cosine_with_warmup(base_rate, step, steps_per_epoch, epochs):
    """The rate at ``step`` (0-based, counted over the whole run): a linear warm-up
    from ``base_rate / steps_per_epoch`` to ``base_rate`` over the first epoch, then
    a cosine decay that reaches zero after the last step of the last epoch. With one
    epoch there is only the warm-up."""
    warmup = max(1, int(steps_per_epoch))
    total = max(warmup, int(steps_per_epoch) * int(epochs))
    if step < warmup or total == warmup:
        return base_rate * min(step + 1, warmup) / warmup
    progress = min(1.0, (step - warmup + 1) / (total - warmup))
    return base_rate * 0.5 * (1.0 + math.cos(math.pi * progress))


def rate_function(schedule, base_rate, steps_per_epoch, epochs):
    """``step -> rate`` for schedule code ``schedule``, or None for a constant rate."""
    if schedule == "constant":
        return None
    if schedule == "cosine":
        return lambda step: cosine_with_warmup(base_rate, step, steps_per_epoch, epochs)
    raise ValueError(f"unknown learning rate schedule {schedule!r}")
