"""``model_report``: parameters, FLOPs per patch and inference speed of the models.

A classical model is fitted on random patches of the input shape: its
parameters are its fitted numbers (coefficients, tree nodes, class weights),
it has no FLOPs (None), and its speed is that of the per-patch features and
estimator on a batch (:mod:`..classical.synthetic`).

Spec: :class:`..core.specs.ModelReportSpec` (models, default all in the paper's
order; input_shape [height, width, bands]; batch_size of the speed test;
repeats, timed batches after one warm-up, the best kept; device "cpu" or
"default" (TensorFlow's choice); speed false skips the speed test; hparams per
model; seed).

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
        flops = "-" if row.get("flops_per_patch") is None else \
            f"{row['flops_per_patch'] / 1e6:,.1f} M"
        lines.append(f"| {row['display_name']} | {row['params']:,} | {flops} | {speed} |")
    lines.append("")
    lines.append(f"FLOPs counted by TensorFlow's profiler on the frozen inference graph "
                 f"(1 multiply-add = 2 FLOPs); speed on {device_name}.")
    return "\n".join(lines)


def run(spec, reporter):
    from ... import models
    from .. import device as engine_device

    shape = _as_shape(spec.input_shape)
    networks = any(not models.is_classical(name) for name in spec.models)
    tf_device = "/CPU:0" if spec.device == "cpu" else None
    if spec.device == "cpu" or not networks:  # the classical models run on the CPU
        device_name = f"CPU ({engine_device.cpu_name()})"
    else:
        device_name = engine_device.describe()["device"]
    threads = os.cpu_count()
    if networks:
        import tensorflow as tf

        threads = tf.config.threading.get_intra_op_parallelism_threads() or threads
    steps = (3 if spec.speed else 2) * len(spec.models)
    progress = _Steps(reporter, steps)
    rows = []
    for name in spec.models:
        if reporter.is_cancelled():
            break
        measure = _measure_classical if models.is_classical(name) else _measure
        row = measure(models, name, shape, spec, tf_device, progress)
        rows.append(row)
        rate = "-" if row["patches_per_s"] is None else f"{row['patches_per_s']:,.0f}"
        flops = "no FLOPs" if row["flops_per_patch"] is None else (
            f"{row['flops_per_patch'] / 1e6:,.1f} MFLOPs/patch "
            f"(analytic {row['flops_analytic'] / 1e6:,.1f})")
        reporter.info(f"{name}: {row['params']:,} parameters, {flops}, {rate} patches/s")
    reporter.progress(100)
    result = {"models": rows, "input_shape": shape, "batch_size": spec.batch_size,
              "repeats": spec.repeats, "device": device_name, "threads": threads,
              "table": markdown_table(rows, shape, spec.batch_size, device_name)}
    if len(rows) < len(spec.models):
        result["cancelled"] = True
    return result


class _Steps:
    """Progress over a known number of steps."""

    def __init__(self, reporter, total):
        self.reporter, self.total, self.done = reporter, max(1, total), 0

    def step(self):
        self.done += 1
        self.reporter.progress(100.0 * self.done / self.total)


def _measure_classical(models, name, shape, spec, tf_device, progress):
    """Parameters and (unless off) the speed of a classical model fitted on random
    patches."""
    from ..classical.synthetic import random_patches, synthetic_model

    try:
        model = synthetic_model(name, shape, spec.hparams.get(name, {}), seed=spec.seed)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    progress.step()
    row = {"name": name, "display_name": models.display_name(name),
           "params": int(model.parameters), "flops_per_patch": None, "flops_analytic": None,
           "patches_per_s": None, "seconds_per_batch": None}
    progress.step()
    if spec.speed and not progress.reporter.is_cancelled():
        batch = random_patches(shape, spec.batch_size, spec.seed + 2)
        model.probability_of_patches(batch)  # warm up
        best = float("inf")
        for _ in range(max(1, spec.repeats)):
            start = time.perf_counter()
            model.probability_of_patches(batch)
            best = min(best, time.perf_counter() - start)
        row["patches_per_s"] = round(spec.batch_size / best, 1)
        row["seconds_per_batch"] = round(best, 4)
        progress.step()
    return row


def _measure(models, name, shape, spec, tf_device, progress):
    """Parameters, FLOPs and (unless cancelled or off) the speed of one model."""
    import keras

    from ...models import flops as model_flops

    keras.utils.set_random_seed(spec.seed)
    try:
        model = models.build_model(name, shape, **spec.hparams.get(name, {}))
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    progress.step()
    row = {"name": name, "display_name": models.display_name(name),
           "params": int(model.count_params()),
           "flops_per_patch": model_flops.profile_flops(model, shape),
           "flops_analytic": model_flops.analytic_flops(model),
           "patches_per_s": None, "seconds_per_batch": None}
    progress.step()
    if spec.speed and not progress.reporter.is_cancelled():
        rate, seconds = _throughput(model, shape, spec.batch_size, spec.repeats, tf_device,
                                    spec.seed)
        row["patches_per_s"] = round(rate, 1)
        row["seconds_per_batch"] = round(seconds, 4)
        progress.step()
    del model
    keras.backend.clear_session()
    return row
