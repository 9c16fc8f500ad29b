#!/usr/bin/env python3
"""Prediction benchmark: pixels/s per model, FLOP/s against matmul, dense speed-up, memory.

Runs the engine's ``predict_map`` (the code path of ``landslide:predictsusceptibility``)
in-process and prints a JSON object on stdout; progress goes to stderr.

* ``matmul``: the machine's own float32 matmul FLOP/s (2048 x 2048, best of
  several, TensorFlow, same process and threads as the predictions).
* ``models``: for each model at 72 x 72 x 9 (and 24 x 24 x 9 for reference),
  untrained weights (speed does not depend on them), stride 1:

  - per-patch path: pixels/s on a window of valid pixels (the rest of the
    400 x 400 stack is nodata, which costs a read and nothing else); the
    FLOP/s it achieves = TensorFlow-profiled FLOPs per patch x pixels/s, and its
    share of the matmul FLOP/s;
  - dense path (models with a shareable 'valid' stem): pixels/s on a fully
    valid stack of the given side, halo included, the speed-up against the
    per-patch path and the "effective" FLOP/s (per-patch FLOPs x pixels/s,
    which can exceed the machine's peak because work is shared);
  - ``sample_area_400_s``: the time for the 400 x 400 sample area extrapolated
    from the measured rate (windows are small for the slow models; say so);
  - for ``--views`` models (the CNN and CTLGNet by default): the map with *Average over flips
    and turns*, per patch and dense, and the dense views against the dense map;
  - for ``--options`` models (the CNN and CTLGNet by default): the dense map of the model
    with the product's network options (the continuous factors as values and in bins,
    the centre cell to the classifier: what *Train* builds by default) against the
    plain one;
  - old path (before the XLA-compiled tails) vs new path vs plain Keras
    ``model.predict`` (batch 256), their ratios, and the per-pixel part's share
    of the matmul FLOP/s, by wall and by CPU time (:mod:`fast_paths`).

* ``classical``: a classical model (``random_forest`` by default, the defaults:
  300 trees) trained on 4,000 samples of a 1000 x 1000 x 9 stack, then the whole
  stack mapped (``predict_map``, per pixel, vectorised): wall and CPU seconds
  (all threads; on a shared machine the wall time depends on the load) and
  pixels/s, without and with the neighbourhood statistics (``--classical-only`` runs just
  this part, without TensorFlow).
* ``memory``: peak RSS (``/usr/bin/time``) of the engine's ``predict`` command
  (TensorFlow included) on 1000 x 1000 and 5000 x 5000 x 9 stacks with a tiny
  CNN at 72 x 72, each in a fresh process.

The stacks are synthetic 9-band rasters (smooth fields + noise), the size and
band count of the sample area's factor stack; speed does not depend on values.

    .venv/bin/python bench/predict_bench.py                  # quick: a few minutes
    .venv/bin/python bench/predict_bench.py --mode full      # bigger windows, more repeats
    .venv/bin/python bench/predict_bench.py --models cnn ctlgnet --no-memory
    .venv/bin/python bench/predict_bench.py --classical-only   # random forest, ~1-2 min
"""

import argparse
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time

import fast_paths

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LAUNCHER = os.path.join(REPO, "engine", "launcher.py")
PYTHON = sys.executable
MODELS = ["cnn", "resnet18", "densenet", "vit", "frit", "ctlgnet"]
BANDS = 9
SIDE = 400
# per-patch window side and dense stack side per mode; slow models get small ones
WINDOWS = {"quick": {"patch": 32, "dense": {"cnn": 400, "ctlgnet": 128, "default": 64}},
           "full": {"patch": 64, "dense": {"cnn": 400, "ctlgnet": 400, "default": 160}}}


def log(message):
    print(message, file=sys.stderr, flush=True)


class Reporter:
    def progress(self, value):
        pass

    def info(self, message):
        log(f"  {message}")

    def warning(self, message):
        log(f"  WARNING: {message}")

    def is_cancelled(self):
        return False


def factor_names():
    return [f"factor_{index + 1}" for index in range(BANDS)]


def write_stack(path, side, valid_window=None, seed=0, block_rows=512):
    """A synthetic 9-band factor stack (with the plugin's metadata), written in row
    blocks; ``valid_window``: only a central square of that side is valid."""
    import numpy as np
    from osgeo import gdal, osr

    from landslide_susceptibility.core.stack import BandInfo, write_stack_metadata

    dataset = gdal.GetDriverByName("GTiff").Create(
        path, side, side, BANDS, gdal.GDT_Float32,
        ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"])
    dataset.SetGeoTransform((500000.0, 10.0, 0.0, 9800000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32617)
    dataset.SetProjection(srs.ExportToWkt())
    rng = np.random.default_rng(seed)
    x = np.arange(side, dtype=np.float32)
    for row in range(0, side, block_rows):
        rows = min(block_rows, side - row)
        y = np.arange(row, row + rows, dtype=np.float32)[:, None]
        for band in range(BANDS):
            values = (np.sin(x / (20 + 7 * band)) * np.cos(y / (31 + 5 * band)) * (band + 1)
                      + rng.normal(0, 0.1, (rows, side)).astype(np.float32))
            if valid_window:
                start = (side - valid_window) // 2
                inside = ((y >= start) & (y < start + valid_window)) & \
                    ((x >= start) & (x < start + valid_window))
                values = np.where(inside, values, -9999.0)
            dataset.GetRasterBand(band + 1).WriteArray(values.astype(np.float32), 0, row)
    for band in range(BANDS):
        dataset.GetRasterBand(band + 1).SetNoDataValue(-9999.0)
    write_stack_metadata(dataset, [BandInfo(index=i + 1, name=name)
                                   for i, name in enumerate(factor_names())], -9999.0)
    dataset = None
    return path


def save_model(path, name, patch, seed=0, training=None, options=None, **hparams):
    """An untrained model of the zoo with a model card for the synthetic stack
    (``training``: the card's training settings, e.g. ``{"average_views": True}``;
    ``options``: ``build_model``'s network options)."""
    import keras

    from landslide_susceptibility.core.model_card import write_card
    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(name, (patch, patch, BANDS), **(options or {}), **hparams)
    model.save(path)
    write_card(path, {"model": name, "hparams": hparams, "patch_size": patch,
                      "factors": factor_names(), "categorical": [False] * BANDS,
                      "normalisation": {"mean": [0.0] * BANDS, "std": [1.0] * BANDS},
                      "training": training or {}, "plugin_version": "bench"})
    return model


def matmul_flops(repeats):
    import tensorflow as tf

    size = 2048
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    product = tf.function(lambda a, b: tf.linalg.matmul(a, b))
    product(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2.0 * size ** 3 / best


def best_run(repeats, *args, **kwargs):
    """predict_map ``repeats`` times; keep the fastest (pixels/s over the tiles)."""
    from landslide_susceptibility.core.specs import PredictSpec
    from landslide_susceptibility.engine.predict import predict_map

    model, stack, output = args
    spec = PredictSpec(model=model, stack=stack, output=output, **kwargs).validate()
    best = None
    for _ in range(repeats):
        result = predict_map(spec, Reporter())
        if best is None or result["pixels_per_s"] > best["pixels_per_s"]:
            best = result
    return best


def bench_views(name, patch, folder, stacks, side, repeats):
    """*Average over flips and turns*: the same model with the eight views, per patch
    (on the window) and dense (on the dense stack), against the dense map without."""
    path = os.path.join(folder, f"{name}_{patch}_views.keras")
    save_model(path, name, patch, training={"average_views": True})
    output = os.path.join(folder, "map.tif")
    log(f"{name} {patch}x{patch}: averaged over flips and turns, per patch and dense")
    per_patch = best_run(repeats, path, stacks["window"], output, method="patch",
                         batch_size=256)["pixels_per_s"]
    result = best_run(repeats, path, stacks[f"full{side}"], output, method="dense",
                      batch_size=256)
    return {"views_patch_pixels_per_s": round(per_patch, 1),
            "views_dense_pixels_per_s": round(result["pixels_per_s"], 1),
            "views_dense_speedup": round(result["pixels_per_s"] / per_patch, 2),
            "views_dense_check_max_difference": result["dense_check_max_difference"]}


def product_options():
    """``build_model``'s network options as *Train* sets them by default for the
    synthetic stack (nine continuous bands, Z-scored to mean 0 and sd 1): every band
    in bins (edges: quantiles of a standard normal sample), its value kept beside
    them as the default *Continuous factors (networks)* does, and the centre cell to
    the classifier."""
    import numpy as np

    from landslide_susceptibility.core.specs.training import FACTOR_BINS, TrainingSettings
    from landslide_susceptibility.engine.patches import bin_levels
    from landslide_susceptibility.engine.training import keeps_values

    edges = np.quantile(np.random.default_rng(0).standard_normal(100_000),
                        bin_levels(FACTOR_BINS)).tolist()
    return {"bins": {"bands": list(range(BANDS)), "edges": [edges] * BANDS,
                     "mean": [0.0] * BANDS, "std": [1.0] * BANDS,
                     "keep_values": keeps_values(TrainingSettings())}, "pixel_skip": True}


def bench_options(name, patch, folder, stacks, side, repeats):
    """The dense map of the model with the product's network options
    (:func:`product_options`)."""
    path = os.path.join(folder, f"{name}_{patch}_options.keras")
    save_model(path, name, patch, options=product_options())
    log(f"{name} {patch}x{patch}: with the product's network options, dense")
    result = best_run(repeats, path, stacks[f"full{side}"], os.path.join(folder, "map.tif"),
                      method="dense", batch_size=256)
    return {"options_dense_pixels_per_s": round(result["pixels_per_s"], 1),
            "options_dense_check_max_difference": result["dense_check_max_difference"]}


def bench_model(name, patch, folder, stacks, mode, repeats, views=(), options=()):
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.models.flops import profile_flops

    path = os.path.join(folder, f"{name}_{patch}.keras")
    model = save_model(path, name, patch)
    flops = profile_flops(model)
    plan, reason = dense_plan(model)
    windows = WINDOWS[mode]
    row = {"model": name, "patch": f"{patch}x{patch}x{BANDS}", "flops_per_patch": flops}
    log(f"{name} {patch}x{patch}: per patch on a {windows['patch']}^2 window")
    # The machine is shared and its speed drifts: the matmul reference is measured
    # right before and after each model's run, and the better of the two is used.
    before = matmul_flops(3)
    result = best_run(repeats, path, stacks["window"], os.path.join(folder, "map.tif"),
                      method="patch", batch_size=256)
    per_patch = result["pixels_per_s"]
    matmul = max(before, matmul_flops(3))
    row["matmul_gflops_at_run"] = round(matmul / 1e9, 1)
    row.update({
        "patch_pixels_per_s": round(per_patch, 1),
        "patch_window": f"{windows['patch']}x{windows['patch']} valid pixels",
        "patch_gflops": round(flops * per_patch / 1e9, 2),
        "patch_share_of_matmul": round(flops * per_patch / matmul, 3),
    })
    best = per_patch
    if plan is not None:
        side = windows["dense"].get(name, windows["dense"]["default"])
        log(f"{name} {patch}x{patch}: dense ({plan.mode}) on a {side}^2 stack")
        result = best_run(repeats, path, stacks[f"full{side}"],
                          os.path.join(folder, "map.tif"), method="dense", batch_size=256)
        dense = result["pixels_per_s"]
        row.update({
            "dense_mode": plan.mode, "dense_shared_layers": len(plan.shared_layers),
            "dense_pixels_per_s": round(dense, 1),
            "dense_stack": f"{side}x{side}, all valid, halo included",
            "dense_speedup": round(dense / per_patch, 2),
            "dense_effective_gflops": round(flops * dense / 1e9, 2),
            "dense_effective_share_of_matmul": round(flops * dense / matmul, 3),
            "dense_chosen_by_auto": plan.chosen_by_auto,
            "dense_check_max_difference": result["dense_check_max_difference"],
            "dense_evaluation": result["evaluation_note"],
        })
        best = max(best, dense)
        if name in views:
            row.update(bench_views(name, patch, folder, stacks, side, repeats))
            row["views_dense_vs_dense"] = round(row["views_dense_pixels_per_s"] / dense, 3)
        if name in options:
            row.update(bench_options(name, patch, folder, stacks, side, repeats))
            row["options_dense_vs_dense"] = round(row["options_dense_pixels_per_s"] / dense,
                                                  3)
    else:
        row["dense_mode"] = None
        row["dense_note"] = reason
        side = None
    log(f"{name} {patch}x{patch}: old and new paths, plain Keras, per-pixel part")
    row.update(fast_paths.compare(model, plan, row, lambda: best_run(
        repeats, path, stacks[f"full{side}"], os.path.join(folder, "map.tif"),
        method="dense", batch_size=256)["pixels_per_s"], repeats=2 if mode == "quick" else 5))
    row["best_pixels_per_s"] = round(best, 1)
    row["sample_area_400_s"] = round(SIDE * SIDE / best, 1)
    return row


CLASSICAL_SIDE = 1000
CLASSICAL_SAMPLES = 4000
CLASSICAL_PATCH = 32


def classical_samples(stack, count, patch, path, seed=0):
    """Samples of the synthetic stack: random pixels, landslides where a noisy
    mix of the first factors is high; 70/15/15 splits (an .npz the engine reads)."""
    import numpy as np
    from osgeo import gdal

    values = gdal.Open(stack).ReadAsArray()
    rng = np.random.default_rng(seed)
    flat = rng.choice(values.shape[1] * values.shape[2], size=count, replace=False)
    rows, cols = np.divmod(flat, values.shape[2])
    score = values[0, rows, cols] + 0.5 * values[1, rows, cols] - 0.3 * values[4, rows, cols]
    labels = (score + rng.normal(0, 0.5, count) > np.median(score)).astype(np.int64)
    splits = rng.choice(np.array(["train", "validation", "test"]), size=count,
                        p=[0.7, 0.15, 0.15])
    np.savez(path, rows=rows, cols=cols, labels=labels, splits=splits,
             summary=json.dumps({"patch_size": patch}))
    return path


def bench_classical(folder, models, side=CLASSICAL_SIDE):
    """Train each classical model on the synthetic stack and map all of it."""
    from landslide_susceptibility.core.specs import PredictSpec, TrainSpec
    from landslide_susceptibility.engine.commands import train
    from landslide_susceptibility.engine.predict import predict_map

    stack = write_stack(os.path.join(folder, f"classical{side}.tif"), side)
    samples = classical_samples(stack, CLASSICAL_SAMPLES, CLASSICAL_PATCH,
                                os.path.join(folder, "classical_samples.npz"))
    rows = []
    for name in models:
        for neighbourhood in (False, True):
            model = os.path.join(folder, f"{name}_{neighbourhood}.skops")
            log(f"classical: {name}, neighbourhood {neighbourhood}: training")
            started = time.monotonic()
            trained = train.run(TrainSpec(stack=stack, samples=samples, model=name,
                                          output_model=model, cache_dir=folder,
                                          neighbourhood=neighbourhood).validate(), Reporter())
            train_s = time.monotonic() - started
            log(f"classical: {name}: mapping {side} x {side} x {BANDS}")
            started, cpu, load = time.monotonic(), time.process_time(), os.getloadavg()[0]
            result = predict_map(PredictSpec(model=model, stack=stack,
                                             output=os.path.join(folder, "classical.tif")),
                                 Reporter())
            rows.append({"model": name, "neighbourhood": neighbourhood,
                         "stack": f"{side}x{side}x{BANDS}", "patch": CLASSICAL_PATCH,
                         "samples": CLASSICAL_SAMPLES, "train_s": round(train_s, 1),
                         "test_auc": round(trained.metrics["auc"], 3),
                         "parameters": trained.card["parameters"],
                         "predict_s": round(time.monotonic() - started, 1),
                         "predict_cpu_s": round(time.process_time() - cpu, 1),
                         "load_average_before": round(load, 1),
                         "pixels_per_s": round(result["pixels_per_s"]),
                         "evaluation": result["evaluation_note"][:60]})
            log(json.dumps(rows[-1]))
    return rows


MEMORY_MAKE = """
import runpy, sys
runpy.run_path({launcher!r})["register_package"]({repo!r})
sys.path.insert(0, {here!r})
import predict_bench as b
b.write_stack({stack!r}, {side})
"""

MEMORY_MODEL = """
import runpy, sys
runpy.run_path({launcher!r})["register_package"]({repo!r})
sys.path.insert(0, {here!r})
import predict_bench as b
b.save_model({model!r}, "cnn", 72, filters=[4, 4])
"""


def run_python(code, timeout=3600):
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])


def bench_memory(folder, sides):
    """Peak RSS of the engine's predict command (fresh process each) per stack side."""
    model = os.path.join(folder, "tiny_cnn.keras")
    run_python(MEMORY_MODEL.format(launcher=LAUNCHER, repo=REPO, here=HERE, model=model))
    rows = []
    for side in sides:
        stack = os.path.join(folder, f"memory_{side}.tif")
        log(f"memory: writing a {side} x {side} x {BANDS} stack")
        run_python(MEMORY_MAKE.format(launcher=LAUNCHER, repo=REPO, here=HERE, stack=stack,
                                      side=side))
        output = os.path.join(folder, f"memory_{side}_map.tif")
        params = json.dumps({"model": model, "stack": stack, "output": output})
        log(f"memory: predicting {side} x {side}")
        started = time.monotonic()
        done = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M", PYTHON, LAUNCHER,
                               "predict", "--params", params], capture_output=True, text=True,
                              timeout=3600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        wall = time.monotonic() - started
        result = None
        for line in done.stdout.splitlines():
            record = json.loads(line) if line.startswith("{") else {}
            if record.get("type") == "error":
                raise RuntimeError(record["message"])
            if record.get("type") == "result":
                result = record["value"]
        if result is None:
            raise RuntimeError(done.stderr[-3000:])
        rss = int(done.stderr.rsplit("MAXRSS_KB=", 1)[1].split()[0]) / 1024.0
        rows.append({"stack": f"{side}x{side}x{BANDS}", "peak_rss_mib": round(rss, 1),
                     "stack_mib": round(os.path.getsize(stack) / 2 ** 20, 1),
                     "map_mib": round(os.path.getsize(output) / 2 ** 20, 1),
                     "seconds": round(wall, 1), "pixels_per_s": round(result["pixels_per_s"]),
                     "evaluation": result["evaluation_note"][:40]})
        for path in (stack, output):
            os.remove(path)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["quick", "full"], default="quick")
    parser.add_argument("--models", nargs="*", default=MODELS)
    parser.add_argument("--patches", nargs="*", type=int, default=[72, 24])
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--views", nargs="*", default=["cnn", "ctlgnet"],
                        help="models also mapped with Average over flips and turns")
    parser.add_argument("--options", nargs="*", default=["cnn", "ctlgnet"],
                        help="models also mapped with the product's network options")
    parser.add_argument("--classical", nargs="*", default=["random_forest"],
                        help="classical models to map a 1000 x 1000 x 9 stack with")
    parser.add_argument("--classical-only", action="store_true",
                        help="only the classical models (no TensorFlow)")
    parser.add_argument("--output", help="also write the JSON result to this file")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    runpy.run_path(LAUNCHER)["register_package"](REPO)
    if args.classical_only:
        return classical_main(args)
    import tensorflow as tf

    from landslide_susceptibility.engine import device

    repeats = 1 if args.mode == "quick" else 3
    started = time.monotonic()
    result = {"mode": args.mode, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "machine": {"cpu": device.cpu_name(), "cores": os.cpu_count(),
                          "threads": tf.config.threading.get_intra_op_parallelism_threads()
                          or os.cpu_count(), "tensorflow": tf.__version__,
                          "load_average_at_start": os.getloadavg()}}
    matmul = matmul_flops(5 if args.mode == "quick" else 10)
    result["matmul_gflops"] = round(matmul / 1e9, 2)
    log(f"matmul: {matmul / 1e9:.1f} GFLOP/s")
    result["note"] = ("FLOP/s shares use the matmul FLOP/s measured just before/after each "
                      "model's run (the machine may be shared); dense 'effective' FLOP/s = "
                      "per-patch FLOPs x pixels/s, above the hardware peak when work is shared")
    with tempfile.TemporaryDirectory(prefix="predict_bench_") as folder:
        windows = WINDOWS[args.mode]
        stacks = {"window": write_stack(os.path.join(folder, "window.tif"), SIDE,
                                        valid_window=windows["patch"])}
        for side in set(windows["dense"].values()):
            stacks[f"full{side}"] = write_stack(os.path.join(folder, f"full{side}.tif"), side)
        result["models"] = []
        for patch in args.patches:
            for name in args.models:
                row = bench_model(name, patch, folder, stacks, args.mode, repeats,
                                  args.views, args.options)
                log(json.dumps(row))
                result["models"].append(row)
        result["matmul_gflops_after"] = round(matmul_flops(5) / 1e9, 2)
        if args.classical:
            result["classical"] = bench_classical(folder, args.classical)
        if not args.no_memory:
            result["memory"] = bench_memory(folder, [1000, 5000])
    return finish(result, started, args)


def classical_main(args):
    from landslide_susceptibility.engine import device

    started = time.monotonic()
    result = {"mode": args.mode, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "machine": {"cpu": device.cpu_name(), "cores": os.cpu_count(),
                          "load_average_at_start": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="predict_bench_") as folder:
        result["classical"] = bench_classical(folder, args.classical)
    return finish(result, started, args)


def finish(result, started, args):
    result["seconds"] = round(time.monotonic() - started, 1)
    result["load_average_at_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
