#!/usr/bin/env python3
"""Training benchmarks: patch pipeline patches/s vs each model's training step
patches/s at 72 x 72 x 9 (the paper's patch size; batch 16 and 128), and the
epoch time this gives at the paper's settings (10000 samples per class, 6:2:2
split -> 12000 training patches per epoch); each step on the old path (TensorFlow's
convolution gradients) and the new (the engine's, ``engine/conv_gradient.py``) with
their ratio, the new path with *Training precision* bfloat16 (the steps in
``mixed_bfloat16``, ``engine/training.stepping_model``) and its ratios, and the old
path also with XLA (``model.compile(jit_compile=True)``:
Keras's "auto" leaves XLA off on CPUs) and the XLA / plain ratio, by wall and by CPU
time; the paths' models are timed in turns (best of 3 rounds), so a change in the
machine's load hits them alike. Prints JSON on stdout; log lines on stderr.

    .venv/bin/python bench/training_bench.py [--models cnn ctlgnet] [--steps 5]
    .venv/bin/python bench/training_bench.py --models ctlgnet --no-pipeline  # steps only
"""

import argparse
import json
import os
import runpy
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PAPER_TRAIN_PATCHES = 12000


def log(message):
    print(message, file=sys.stderr, flush=True)


def build_stack(folder, size):
    """The sample area's nine factors aligned into a stack (like the demo)."""
    from landslide_susceptibility.core.align import align_factors
    from landslide_susceptibility.core.distance import distance_to_features
    from landslide_susceptibility.core.sample_area import create_sample_area
    from landslide_susceptibility.core.terrain import derive_terrain

    area = create_sample_area(os.path.join(folder, "area"), seed=1, size=size)
    f = area["files"]
    derive_terrain(f["dem"], f"{folder}/slope.tif", f"{folder}/aspect.tif")
    distance_to_features(f["rivers"], f["dem"], f"{folder}/rivers.tif")
    distance_to_features(f["faults"], f["dem"], f"{folder}/faults.tif")
    stack = f"{folder}/stack.tif"
    align_factors([f["dem"], f"{folder}/slope.tif", f"{folder}/rivers.tif",
                   f"{folder}/faults.tif", f["precipitation"], f["ndvi"],
                   f["true_probability"]], [f"{folder}/aspect.tif", f["landuse"]], stack)
    return stack, area


def pipeline_rate(stack_path, landslides, batch_size, batches_to_time, folder):
    from landslide_susceptibility.core.build_samples import build_samples
    from landslide_susceptibility.core.sample_layer import read_sample_layer
    from landslide_susceptibility.core.specs.samples import PAPER_PATCH_SIZE as PATCH
    from landslide_susceptibility.engine.patches import PaddedStack, batches

    samples = f"{folder}/samples.gpkg"
    build_samples(stack_path, landslides, samples, patch_size=PATCH, samples_per_class=2000)
    rows, cols, labels, splits = read_sample_layer(samples)
    train = splits == "train"
    stack = PaddedStack(stack_path, PATCH, cache_dir=folder)
    mean, std = [0.0] * stack.bands, [1.0] * stack.bands
    count = 0
    started = time.perf_counter()
    for x, _ in batches(stack, rows[train], cols[train], labels[train], mean, std, batch_size,
                        True, seed=0):
        count += len(x)
        if count >= batches_to_time * batch_size:
            break
    return count / (time.perf_counter() - started), stack.bands


def traced_model(name, bands, batch_size, path):
    """A compiled model whose training step is traced on ``path`` ("old":
    TensorFlow's convolution gradients; "new": the engine's input gradient, what
    training runs; "bf16": the new path in mixed bfloat16, as *Training precision*
    bfloat16 runs it; "xla": the old path with ``jit_compile=True``), a batch, and
    the seconds of its first two steps (build, trace and, for XLA, the compile).
    The gradient functions are looked up when the step is traced, so models traced
    on different paths can then be timed in turns."""
    import keras
    import numpy as np

    from landslide_susceptibility.core.specs.samples import PAPER_PATCH_SIZE as PATCH
    from landslide_susceptibility.engine import conv_gradient
    from landslide_susceptibility.engine.runners import with_precision
    from landslide_susceptibility.engine.training import make_optimizer
    from landslide_susceptibility.models import build_model

    if path in ("new", "bf16"):
        conv_gradient.install()
    else:
        conv_gradient.uninstall()
    keras.utils.set_random_seed(0)
    model = build_model(name, (PATCH, PATCH, bands))
    if path == "bf16":
        model = with_precision(model, "bfloat16")
    model.compile(optimizer=make_optimizer("sgd", 0.001),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                  jit_compile=path == "xla")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch_size, PATCH, PATCH, bands)).astype("float32")
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, batch_size)]
    started = time.perf_counter()
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    conv_gradient.uninstall()
    return model, x, y, time.perf_counter() - started


def train_rates(name, bands, batch_size, steps, paths, rounds=3):
    """Training patches/s of ``name`` on each of ``paths`` (``train_on_batch``): the
    paths' models are timed in turns, ``steps`` steps a turn, ``rounds`` rounds, and
    each path's best turn counts, so a change in the machine's load hits all paths
    alike. Returns ``{path: (by wall, by CPU time of all threads, first steps s)}``."""
    import keras

    models = {path: traced_model(name, bands, batch_size, path) for path in paths}
    best = {path: [float("inf"), float("inf")] for path in paths}
    for _ in range(rounds):
        for path, (model, x, y, _) in models.items():
            started, clock = time.perf_counter(), time.process_time()
            for _ in range(steps):
                model.train_on_batch(x, y)
            wall, cpu = time.perf_counter() - started, time.process_time() - clock
            best[path] = [min(best[path][0], wall), min(best[path][1], cpu)]
    rates = {path: (steps * batch_size / wall, steps * batch_size / max(cpu, 1e-9),
                    models[path][3]) for path, (wall, cpu) in best.items()}
    del models
    keras.backend.clear_session()
    return rates


def model_row(name, bands, steps, jit):
    """One model's training figures at batch 16 and 128: the old path (TensorFlow's
    convolution gradients) and the new (the engine's, what training runs now) with
    their ratio; with ``jit`` also the old path with ``jit_compile=True`` (XLA) and
    the XLA / plain ratios (wall and CPU time). Paths timed in turns, best of 3."""
    row = {"model": name}
    for batch_size in (16, 128):
        n = steps if batch_size == 16 else max(1, steps // 4)
        rates = train_rates(name, bands, batch_size, n, ["old", "new", "bf16"] + ["xla"] * jit)
        (wall, cpu, _), (new, new_cpu, _) = rates["old"], rates["new"]
        bf16 = rates["bf16"][0]
        row[f"train_bf16_patches_per_s_batch{batch_size}"] = round(bf16, 1)
        row[f"bf16_over_new_batch{batch_size}"] = round(bf16 / new, 2)
        row[f"bf16_over_old_batch{batch_size}"] = round(bf16 / wall, 2)
        row[f"train_patches_per_s_batch{batch_size}"] = round(wall, 1)
        row[f"train_new_patches_per_s_batch{batch_size}"] = round(new, 1)
        row[f"new_over_old_batch{batch_size}"] = round(new / wall, 2)
        row[f"new_over_old_cpu_time_batch{batch_size}"] = round(new_cpu / cpu, 2)
        if jit:
            xla_wall, xla_cpu, first = rates["xla"]
            row[f"train_xla_patches_per_s_batch{batch_size}"] = round(xla_wall, 1)
            row[f"xla_over_plain_batch{batch_size}"] = round(xla_wall / wall, 2)
            row[f"xla_over_plain_cpu_time_batch{batch_size}"] = round(xla_cpu / cpu, 2)
            row[f"xla_first_steps_s_batch{batch_size}"] = round(first, 1)
    row["paper_epoch_old_s"] = round(PAPER_TRAIN_PATCHES / row["train_patches_per_s_batch16"],
                                     1)
    row["paper_epoch_s"] = round(PAPER_TRAIN_PATCHES / row["train_new_patches_per_s_batch16"],
                                 1)
    row["paper_epoch_bf16_s"] = round(
        PAPER_TRAIN_PATCHES / row["train_bf16_patches_per_s_batch16"], 1)
    log(f"{name}: {json.dumps(row)}")
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--no-jit", action="store_true",
                        help="skip the XLA (jit_compile=True) training step")
    parser.add_argument("--no-pipeline", action="store_true",
                        help="skip the patch pipeline (no sample area is built)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    from landslide_susceptibility.core.specs.samples import PAPER_PATCH_SIZE as PATCH
    from landslide_susceptibility.models import available_models

    names = args.models or available_models("network")
    result = {"input_shape": [PATCH, PATCH, 9],
              "paper_train_patches_per_epoch": PAPER_TRAIN_PATCHES}
    bands = 9
    with tempfile.TemporaryDirectory() as folder:
        stack, area = (None, None) if args.no_pipeline else build_stack(folder, args.size)
        for batch_size in () if args.no_pipeline else (16, 128):
            rate, bands = pipeline_rate(stack, area["files"]["landslides"], batch_size,
                                        max(20, 2000 // batch_size), folder)
            result[f"pipeline_patches_per_s_batch{batch_size}"] = round(rate, 1)
            log(f"patch pipeline (augmenting), batch {batch_size}: {rate:,.0f} patches/s")
    result["models"] = rows = [model_row(name, bands, args.steps, not args.no_jit)
                               for name in names]
    fastest = max(max(r["train_patches_per_s_batch16"], r["train_new_patches_per_s_batch16"],
                      r.get("train_bf16_patches_per_s_batch16", 0),
                      r.get("train_xla_patches_per_s_batch16", 0)) for r in rows)
    if not args.no_pipeline:
        result["pipeline_over_fastest_training"] = round(
            result["pipeline_patches_per_s_batch16"] / fastest, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
