#!/usr/bin/env python3
"""The per-pixel part (a network's dense-path tail) in float32 and in bfloat16
(*Predict*'s precision option, ``engine/runners.with_precision``), plain and
XLA-compiled, one batch at a time, alone: a quick check on a quiet machine of
whether bfloat16 pays on this CPU.

    .venv/bin/python bench/tail_precision.py [--models ctlgnet,vit,frit] [--patches 72,24]
        [--batch 256]

Prints one JSON line per model and size: pixels/s of the four ways, and the max
|difference| of the probabilities between bfloat16 and float32 (XLA).
"""

import sys
import time

from tails import run_over_models, tail_and_tokens

PRECISIONS = ("float32", "bfloat16")


def pixels_per_s(runner, x, repeats):
    runner(x)
    started = time.perf_counter()
    for _ in range(repeats):
        runner(x)
    return round(repeats * len(x) / (time.perf_counter() - started), 1)


def check(name, patch, batch):
    import numpy as np

    from landslide_susceptibility.engine.runners import PatchModel, cpu_has_bfloat16, with_precision

    plan, x = tail_and_tokens(name, patch, batch)
    if plan is None:
        return x
    repeats = 6 if patch >= 48 else 40
    row = {"model": name, "patch": patch, "batch": batch, "cpu_bf16": cpu_has_bfloat16()}
    values = {}
    for precision in PRECISIONS:
        for compiled in (False, True):
            runner = PatchModel(with_precision(plan.tail, precision), batch, compiled)
            values[precision, compiled] = np.asarray(runner(x), np.float32)
            key = f"{precision}{'_xla' if compiled else ''}_pixels_per_s"
            row[key] = pixels_per_s(runner, x, repeats)
    row["bfloat16_over_float32_xla"] = round(row["bfloat16_xla_pixels_per_s"]
                                             / row["float32_xla_pixels_per_s"], 2)
    row["max_abs_difference"] = float(np.abs(values["bfloat16", True]
                                             - values["float32", True]).max())
    return row


def main(argv=None):
    return run_over_models(__doc__.splitlines()[0], "ctlgnet,vit,frit", check, argv)


if __name__ == "__main__":
    sys.exit(main())
