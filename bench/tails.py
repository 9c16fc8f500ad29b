"""The per-pixel part (a network's dense-path tail) and a batch of random tokens
for it: what ``tail_workers.py``, ``tail_precision.py``, ``class_token_tails.py`` and
``onnx_tails.py`` time; and the command line the tail scripts share
(:func:`run_over_models`)."""

import argparse
import json
import os
import runpy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BANDS = 9  # the bench's stack: 72 x 72 x 9 like the paper's


def tail_and_tokens(name, patch, batch):
    """``(plan, tokens)``: network ``name``'s dense plan for ``patch`` x ``patch``
    x :data:`BANDS` and a float32 batch of ``batch`` random tokens for its tail;
    ``(None, row)`` with a note when the network has no per-pixel tail."""
    import numpy as np

    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.models import build_model

    plan, reason = dense_plan(build_model(name, (patch, patch, BANDS)))
    if plan is None or plan.tail is None:
        return None, {"model": name, "patch": patch, "note": reason or "no per-pixel tail"}
    tokens = np.random.default_rng(0).standard_normal((batch,) + plan.token_shape)
    return plan, tokens.astype(np.float32)


def run_over_models(description, default_models, check, argv=None):
    """The shared command line of a tail script: ``--models``, ``--patches`` and
    ``--batch``; prints ``check(name, patch, batch)`` as one JSON line per model and
    size (patch by patch)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--models", default=default_models)
    parser.add_argument("--patches", default="72,24")
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    for patch in (int(p) for p in args.patches.split(",")):
        for name in args.models.split(","):
            print(json.dumps(check(name, patch, args.batch)), flush=True)
    return 0
