"""``model_report``: parameters, FLOPs per patch and inference speed of the models.

Params (all optional)::

    {"models": ["cnn", ...],        # default: all, in the paper's order
     "input_shape": [72, 72, 9],    # patch height, width, bands
     "batch_size": 256,             # inference batch for the speed test
     "repeats": 3,                  # timed batches (after one warm-up); best is kept
     "device": "cpu",               # "cpu" (default) or "default" (TensorFlow's choice)
     "speed": true,                 # false: skip the speed test
     "hparams": {"ctlgnet": {...}}, # per-model hyper-parameter overrides
     "seed": 0}

Result: ``{"models": [{"name", "display_name", "params", "flops_per_patch",
"flops_analytic", "patches_per_s", "seconds_per_batch"}, ...], "input_shape",
"batch_size", "device", "threads", "table"}`` (``threads``: TensorFlow's intra-op
threads, or the CPU count when TensorFlow picks) where ``flops_per_patch`` is
TensorFlow's profiler count on the frozen inference graph (FLOP = one multiply
or one add), ``flops_analytic`` the per-layer multiply-add count that
cross-checks it, and ``table`` a Markdown table of the numbers.
"""

import contextlib
import os
import time

from ...core.errors import InputError


def _as_shape(value):
    try:
        shape = [int(v) for v in value]
    except (TypeError, ValueError):
        shape = []
    if len(shape) != 3 or min(shape) < 1:
        raise InputError(f"input_shape must be [height, width, bands], got {value!r}")
    return shape


def _throughput(model, shape, batch_size, repeats, device, seed):
    import numpy as np
    import tensorflow as tf

    data = np.random.default_rng(seed).standard_normal((batch_size, *shape)).astype("float32")
    with tf.device(device) if device else contextlib.nullcontext():
        inputs = tf.constant(data)
        predict = tf.function(lambda x: model(x, training=False))
        predict(inputs).numpy()  # trace and warm up
        best = float("inf")
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            predict(inputs).numpy()
            best = min(best, time.perf_counter() - start)
    return batch_size / best, best


def markdown_table(rows, input_shape, batch_size, device_name):
    shape = " x ".join(str(s) for s in input_shape)
    lines = [
        f"| Model | Parameters | FLOPs / patch ({shape}) | Patches / s (batch {batch_size}) |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        speed = "-" if row.get("patches_per_s") is None else f"{row['patches_per_s']:,.0f}"
        lines.append(f"| {row['display_name']} | {row['params']:,} | "
                     f"{row['flops_per_patch'] / 1e6:,.1f} M | {speed} |")
    lines.append("")
    lines.append(f"FLOPs counted by TensorFlow's profiler on the frozen inference graph "
                 f"(1 multiply-add = 2 FLOPs); speed on {device_name}.")
    return "\n".join(lines)


def run(params, reporter):
    from ... import models
    from .. import device as engine_device

    names = params.get("models") or models.available_models()
    unknown = [name for name in names if name not in models.MODELS]
    if unknown:
        raise InputError(f"Unknown model(s) {', '.join(unknown)}. "
                         f"Known: {', '.join(models.available_models())}.")
    shape = _as_shape(params.get("input_shape", [72, 72, 9]))
    batch_size = int(params.get("batch_size", 256))
    repeats = int(params.get("repeats", 3))
    seed = int(params.get("seed", 0))
    speed = bool(params.get("speed", True))
    hparams = params.get("hparams") or {}
    device_choice = params.get("device", "cpu")
    if batch_size < 1 or repeats < 1:
        raise InputError("batch_size and repeats must be at least 1")
    if device_choice not in ("cpu", "default"):
        raise InputError("device must be 'cpu' or 'default'")

    import keras
    import tensorflow as tf

    from ...models import flops as model_flops

    tf_device = "/CPU:0" if device_choice == "cpu" else None
    if device_choice == "cpu":
        device_name = f"CPU ({engine_device.cpu_name()})"
    else:
        device_name = engine_device.describe()["device"]
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()

    rows = []
    steps_per_model = 3 if speed else 2
    total_steps = steps_per_model * len(names)
    done = 0
    cancelled = False
    for name in names:
        if reporter.is_cancelled():
            cancelled = True
            break
        keras.utils.set_random_seed(seed)
        try:
            model = models.build_model(name, shape, **hparams.get(name, {}))
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        done += 1
        reporter.progress(100.0 * done / total_steps)
        row = {"name": name, "display_name": models.display_name(name),
               "params": int(model.count_params()),
               "flops_per_patch": model_flops.profile_flops(model, shape),
               "flops_analytic": model_flops.analytic_flops(model),
               "patches_per_s": None, "seconds_per_batch": None}
        done += 1
        reporter.progress(100.0 * done / total_steps)
        if speed and not reporter.is_cancelled():
            rate, seconds = _throughput(model, shape, batch_size, repeats, tf_device, seed)
            row["patches_per_s"] = round(rate, 1)
            row["seconds_per_batch"] = round(seconds, 4)
            done += 1
            reporter.progress(100.0 * done / total_steps)
        rows.append(row)
        rate = "-" if row["patches_per_s"] is None else f"{row['patches_per_s']:,.0f}"
        reporter.info(f"{name}: {row['params']:,} parameters, "
                      f"{row['flops_per_patch'] / 1e6:,.1f} MFLOPs/patch "
                      f"(analytic {row['flops_analytic'] / 1e6:,.1f}), {rate} patches/s")
        del model
        keras.backend.clear_session()

    reporter.progress(100)
    result = {"models": rows, "input_shape": shape, "batch_size": batch_size,
              "repeats": repeats, "device": device_name, "threads": threads,
              "table": markdown_table(rows, shape, batch_size, device_name)}
    if cancelled:
        result["cancelled"] = True
    return result
