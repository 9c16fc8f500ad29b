"""Old and new prediction paths of a network, timed in one process (``predict_bench``).

* old path: what ``method="auto"`` ran before the XLA-compiled tails and the
  batches in flight at once: the dense path with a plain TensorFlow tail, one
  batch at a time, where a convolutional stem is shared (CNN, ResNet18,
  DenseNet, CTLGNet), else per patch (ViT, FrIT);
* new path: what ``"auto"`` runs now (ViT and FrIT dense: shared patch
  embedding, compiled tail; every tail two batches at a time,
  ``engine/model_batches.py``);
* plain way: Keras ``model.predict`` on ready-cut patches, batch 256, as a new
  user would write it (reading and cutting the patches not even counted);
* per-pixel part: the tail alone (what runs once per pixel after the shared
  stem) on random token batches, plain and XLA-compiled, as FLOP/s and as a
  share of the matmul FLOP/s measured right before; also by CPU time (all
  threads), which holds on a loaded machine where wall times do not.
"""

import contextlib
import os
import time

PLAIN_BATCH = 256


def matmul_rates(repeats=3, size=2048):
    """``(wall, cpu)`` float32 matmul FLOP/s: best of ``repeats``; ``cpu`` divides
    by the process CPU time (all threads)."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    product = tf.function(lambda a, b: tf.linalg.matmul(a, b))
    product(a, b).numpy()
    wall = cpu = float("inf")
    for _ in range(repeats):
        started, clock = time.perf_counter(), time.process_time()
        product(a, b).numpy()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - clock)
    flops = 2.0 * size ** 3
    return flops / wall, flops / max(cpu, 1e-9)


@contextlib.contextmanager
def old_path():
    """The dense path's tails run as plain TensorFlow, one batch at a time (the
    path before XLA and before two batches in flight)."""
    from landslide_susceptibility.engine.dense_model import DenseModel

    saved = DenseModel.compile_tails, DenseModel.workers
    DenseModel.compile_tails, DenseModel.workers = False, 1
    try:
        yield
    finally:
        DenseModel.compile_tails, DenseModel.workers = saved


def plain_keras_rate(model, count, batch=PLAIN_BATCH, seed=0):
    """Patches/s of ``model.predict`` on ``count`` random patches, batch ``batch``."""
    import numpy as np

    x = np.random.default_rng(seed).standard_normal(
        (count,) + tuple(model.input_shape[1:])).astype(np.float32)
    model.predict(x[:batch], batch_size=batch, verbose=0)
    started = time.perf_counter()
    model.predict(x, batch_size=batch, verbose=0)
    return count / (time.perf_counter() - started)


def tail_rates(plan, batch, repeats, seconds=2.0):
    """The per-pixel part alone: FLOPs per pixel and pixels/s (wall and CPU time),
    plain and compiled one batch at a time, and as *Predict* runs it (``product``:
    the plan's choice of compiled or plain, ``MODEL_WORKERS`` batches in flight),
    interleaved; the best of ``repeats`` runs of ~``seconds``."""
    import numpy as np

    from landslide_susceptibility.engine.model_batches import run_batches
    from landslide_susceptibility.engine.runners import PatchModel
    from landslide_susceptibility.models.flops import profile_flops

    x = np.random.default_rng(0).standard_normal((batch,) + plan.token_shape)
    x = x.astype(np.float32)
    plain, xla = PatchModel(plan.tail, batch), PatchModel(plan.tail, batch, True)
    chosen = xla if plan.compiled_tail else plain

    def batches(runner):
        return lambda n: [runner(x) for _ in range(n)]

    runners = {"plain": batches(plain), "xla": batches(xla),
               "product": lambda n: run_batches(lambda _: chosen(x), n * batch, batch)}
    for runner in runners.values():
        runner(2)
    calls = {}
    for key, runner in runners.items():  # calls per run: about `seconds` each
        started = time.perf_counter()
        runner(2)
        calls[key] = max(2, int(2 * seconds / max(time.perf_counter() - started, 1e-3)))
    best = {f"{key}_{clock}": 0.0 for key in runners for clock in ("wall", "cpu")}
    for _ in range(repeats):
        for key, runner in runners.items():
            started, clock = time.perf_counter(), time.process_time()
            runner(calls[key])
            pixels = calls[key] * batch
            best[f"{key}_wall"] = max(best[f"{key}_wall"], pixels / (time.perf_counter() - started))
            best[f"{key}_cpu"] = max(best[f"{key}_cpu"],
                                     pixels / max(time.process_time() - clock, 1e-9))
    return profile_flops(plan.tail), best


def compare(model, plan, row, run_dense, repeats, batch=PLAIN_BATCH, plain_count=512):
    """Old/new/plain figures for ``row`` (``predict_bench``'s row of this model,
    with ``patch_pixels_per_s`` and, if dense, ``dense_pixels_per_s``);
    ``run_dense()`` returns the dense path's pixels/s."""
    wall_mm, cpu_mm = matmul_rates()
    out = {"load_average": round(os.getloadavg()[0], 2),
           "plain_keras_pixels_per_s": round(plain_keras_rate(model, plain_count, batch), 1)}
    per_patch, dense = row["patch_pixels_per_s"], row.get("dense_pixels_per_s")
    new = dense if plan is not None and plan.chosen_by_auto else per_patch
    old = per_patch
    if plan is not None and plan.worthwhile:
        old = dense
        if plan.tail is not None:
            with old_path():
                old = run_dense()
            out["dense_old_pixels_per_s"] = round(old, 1)
    out.update({"old_pixels_per_s": round(old, 1), "new_pixels_per_s": round(new, 1),
                "new_over_old": round(new / old, 2),
                "new_over_plain_keras": round(new / out["plain_keras_pixels_per_s"], 2)})
    if plan is not None and plan.tail is not None:
        flops, rates = tail_rates(plan, batch, repeats)
        out["per_pixel_flops"] = flops
        for key in ("plain", "xla", "product"):
            out[f"per_pixel_{key}_pixels_per_s"] = round(rates[f"{key}_wall"], 1)
            out[f"per_pixel_{key}_share_of_matmul"] = round(flops * rates[f"{key}_wall"]
                                                            / wall_mm, 3)
            out[f"per_pixel_{key}_share_of_matmul_cpu_time"] = round(
                flops * rates[f"{key}_cpu"] / cpu_mm, 3)
        out["per_pixel_matmul_gflops"] = round(wall_mm / 1e9, 1)
    return out
