#!/usr/bin/env python3
"""The class-token tail (``engine/class_token_tail.py``) against the whole tail of
the same ViT or FrIT: pixels/s of the per-pixel part alone (XLA, one batch at a
time, the two tails timed in turns, best of 4 rounds), their ratio, and the
profiler's FLOPs of each; a quick check on a quiet machine, not part of ``make bench``.

    .venv/bin/python bench/class_token_tails.py [--models vit,frit] [--patches 72,24]

Prints one JSON line per model and size.
"""

import sys
import time

from tails import BANDS, run_over_models


def whole_tail(model):
    """``model``'s dense-plan tail without the class-token shortcut."""
    from landslide_susceptibility.engine import dense_plan as plans

    shortcut = plans.class_token_tail
    plans.class_token_tail = lambda *args: None
    try:
        return plans.dense_plan(model)[0].tail
    finally:
        plans.class_token_tail = shortcut


def compare(name, patch, batch, rounds=4):
    import numpy as np

    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.engine.runners import PatchModel
    from landslide_susceptibility.models import build_model
    from landslide_susceptibility.models.flops import profile_flops

    model = build_model(name, (patch, patch, BANDS))
    plan = dense_plan(model)[0]
    x = np.random.default_rng(0).standard_normal((batch,) + plan.token_shape)
    x = x.astype(np.float32)
    tails = {"class_token": plan.tail, "whole": whole_tail(model)}
    runners = {key: PatchModel(tail, batch, True) for key, tail in tails.items()}
    for runner in runners.values():
        runner(x)
    calls = 4 if patch >= 48 else 20
    best = dict.fromkeys(runners, float("inf"))
    for _ in range(rounds):
        for key, runner in runners.items():
            started = time.perf_counter()
            for _ in range(calls):
                runner(x)
            best[key] = min(best[key], (time.perf_counter() - started) / calls)
    row = {"model": name, "patch": patch, "batch": batch}
    for key, tail in tails.items():
        row[f"{key}_pixels_per_s"] = round(batch / best[key], 1)
        row[f"{key}_flops"] = profile_flops(tail)
    row["speed_ratio"] = round(best["whole"] / best["class_token"], 3)
    row["flops_ratio"] = round(row["class_token_flops"] / row["whole_flops"], 3)
    return row


def main(argv=None):
    return run_over_models(__doc__.splitlines()[0], "vit,frit", compare, argv)


if __name__ == "__main__":
    sys.exit(main())
