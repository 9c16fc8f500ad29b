#!/usr/bin/env python3
"""The per-pixel part (a network's dense-path tail) one batch at a time against
batches in flight at once (``engine/model_batches.py``), alone, without the rest of
``predict_bench.py``: a quick check on a quiet machine.

    .venv/bin/python bench/tail_workers.py [--models ctlgnet,vit,...] [--patches 72,24]
        [--batch 256] [--pixels 3000]

Prints one JSON line per model and size: pixels/s of the tail (the plan's choice of
XLA or plain TensorFlow, as *Predict* runs it) with 1 and with ``MODEL_WORKERS``
batches in flight, and the process's CPU time over wall time for each.
"""

import argparse
import json
import os
import runpy
import sys
import time

from tails import tail_and_tokens

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rate(run, batches, batch):
    """``(pixels/s, CPU time / wall time)`` of ``run(batches)``."""
    started, clock = time.perf_counter(), time.process_time()
    run(batches)
    wall = time.perf_counter() - started
    return batches * batch / wall, (time.process_time() - clock) / wall


def check(name, patch, batch, pixels):
    from landslide_susceptibility.engine.model_batches import MODEL_WORKERS, run_batches
    from landslide_susceptibility.engine.runners import PatchModel

    plan, x = tail_and_tokens(name, patch, batch)
    if plan is None:
        return x
    runner = PatchModel(plan.tail, batch, plan.compiled_tail)
    runner(x)
    batches = max(4, pixels // batch)
    row = {"model": name, "patch": patch, "batch": batch, "compiled": plan.compiled_tail}
    for workers in (1, MODEL_WORKERS):
        speed, cores = rate(lambda n, w=workers: run_batches(
            lambda _: runner(x), n * batch, batch, w), batches, batch)
        row[f"workers_{workers}_pixels_per_s"] = round(speed, 1)
        row[f"workers_{workers}_cpu_over_wall"] = round(cores, 2)
    row["ratio"] = round(row[f"workers_{MODEL_WORKERS}_pixels_per_s"]
                         / row["workers_1_pixels_per_s"], 2)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="ctlgnet,vit,frit,densenet,resnet18")
    parser.add_argument("--patches", default="72,24")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--pixels", type=int, default=3000,
                        help="pixels per timing at 72 (x 8 at smaller patches)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    for patch in (int(p) for p in args.patches.split(",")):
        for name in args.models.split(","):
            pixels = args.pixels * (1 if patch >= 48 else 8)
            print(json.dumps(check(name, patch, args.batch, pixels)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
