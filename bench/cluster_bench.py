#!/usr/bin/env python3
"""Susceptibility maps on a local Dask cluster: tiles per second in the engine
process and on 1 and 2 local workers (a ``distributed.LocalCluster`` of worker
processes, one thread each), the parallel efficiency, the scheduling overhead per
tile, and a projection of the 14-million-pixel basin (README: Running on a Dask
cluster) for N workers from the measured per-tile cost.

Every cluster figure is taken on a warm cluster (a first job loads the engine code,
TensorFlow and the model on the workers; its time is reported apart). Prints JSON.
On a 2-core machine two workers share the cores with the client and the scheduler,
and TensorFlow in each worker uses every core: expect little gain from the second
worker there; the projection assumes one worker per free core set (a node or a GPU).
"""

import argparse
import json
import os
import runpy
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASIN_PIXELS = 14_000_000   # a 30 m map of a 12,000 km² basin (valid pixels)
NOOP_TASKS = 200


class Quiet:
    def progress(self, _value):
        pass

    def info(self, _message):
        pass

    warning = info

    def is_cancelled(self):
        return False


def make_inputs(folder, size, bands, patch, model_name):
    """A synthetic stack and a seeded untrained model with its card."""
    import keras
    from osgeo import gdal

    from landslide_susceptibility.core.model_card import write_card
    from landslide_susceptibility.core.stack import BandInfo, write_stack_metadata
    from landslide_susceptibility.models import build_model

    rng = np.random.default_rng(0)
    data = rng.normal(0, 1, (bands, size, size)).astype(np.float32)
    stack = os.path.join(folder, "stack.tif")
    dataset = gdal.GetDriverByName("GTiff").Create(stack, size, size, bands,
                                                   gdal.GDT_Float32, ["TILED=YES"])
    dataset.SetGeoTransform((500000.0, 30.0, 0.0, 9800000.0, 0.0, -30.0))
    for index in range(bands):
        dataset.GetRasterBand(index + 1).WriteArray(data[index])
        dataset.GetRasterBand(index + 1).SetNoDataValue(-9999.0)
    names = [f"f{index}" for index in range(bands)]
    write_stack_metadata(dataset, [BandInfo(index=i + 1, name=name, categorical=False)
                                   for i, name in enumerate(names)], -9999.0)
    dataset = None
    keras.utils.set_random_seed(0)
    model = os.path.join(folder, f"{model_name}.keras")
    build_model(model_name, (patch, patch, bands)).save(model)
    write_card(model, {"model": model_name, "hparams": {}, "patch_size": patch,
                       "factors": names, "categorical": [False] * bands,
                       "normalisation": {"mean": [0.0] * bands, "std": [1.0] * bands}})
    return stack, model


def predict(model, stack, output, tile, scheduler=""):
    from landslide_susceptibility.core.specs import PredictSpec
    from landslide_susceptibility.engine.predict import predict_map

    spec = PredictSpec.from_json(dict(model=model, stack=stack, output=output, tile_size=tile,
                                      scheduler=scheduler)).validate()
    started = time.monotonic()
    result = predict_map(spec, Quiet())
    result["wall_s"] = time.monotonic() - started
    return result


def tiles_of(result, size):
    side = result["tile_size"]
    return ((size + side - 1) // side) ** 2


def noop_overhead(address, side):
    """Seconds per task of a no-op task returning a tile-sized block (submit,
    schedule, run, send back), the tasks kept in flight two per worker thread."""
    from distributed import Client

    def block(index):
        return np.full((side, side), index, np.float32)

    with Client(address, set_as_default=False) as client:
        client.gather([client.submit(block, -i - 1) for i in range(4)])  # warm
        started = time.monotonic()
        futures = [client.submit(block, i, pure=False) for i in range(NOOP_TASKS)]
        client.gather(futures)
        return (time.monotonic() - started) / NOOP_TASKS


def on_cluster(workers, model, stack, folder, tile, size):
    """Warm-up job (its time apart), then the timed job, on ``workers`` local workers."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        warm = predict(model, stack, os.path.join(folder, f"warm{workers}.tif"), tile,
                       cluster.scheduler_address)
        timed = predict(model, stack, os.path.join(folder, f"map{workers}.tif"), tile,
                        cluster.scheduler_address)
        overhead = noop_overhead(cluster.scheduler_address, timed["tile_size"])
    tiles = tiles_of(timed, size)
    return {"workers": workers, "first_job_s": round(warm["wall_s"], 2),
            "tiles_s": round(timed["tiles_seconds"], 3),
            "tiles_per_s": round(tiles / timed["tiles_seconds"], 3),
            "pixels_per_s": round(timed["pixels_per_s"], 1),
            "noop_task_s": round(overhead, 5)}


def projection(pixels_per_s_one_worker, overhead_per_tile, tile_side, workers):
    """Hours for :data:`BASIN_PIXELS` on N workers: every tile's compute spread over
    N workers plus the measured per-tile overhead counted as serial (conservative)."""
    tiles = BASIN_PIXELS / (tile_side * tile_side)
    return {str(n): round((BASIN_PIXELS / (pixels_per_s_one_worker * n)
                           + tiles * overhead_per_tile) / 3600.0, 3) for n in workers}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ctlgnet")
    parser.add_argument("--patch", type=int, default=24)
    parser.add_argument("--bands", type=int, default=9)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--tile", type=int, default=48)
    parser.add_argument("--basin-pixels-per-s", type=float, default=983.0,
                        help="one engine process's CTLGNet 72x72x9 rate for the 14 M px "
                             "projection; make bench passes its own prediction "
                             "benchmark's (the default is an older run's)")
    args = parser.parse_args()
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    with tempfile.TemporaryDirectory(prefix="landslide_cluster_bench_") as folder:
        stack, model = make_inputs(folder, args.size, args.bands, args.patch, args.model)
        predict(model, stack, os.path.join(folder, "warm.tif"), args.tile)  # traces
        local = predict(model, stack, os.path.join(folder, "local.tif"), args.tile)
        tiles = tiles_of(local, args.size)
        rows = [on_cluster(n, model, stack, folder, args.tile, args.size) for n in (1, 2)]
        from osgeo import gdal

        reference = gdal.Open(os.path.join(folder, "local.tif")).ReadAsArray()
        identical = all(np.array_equal(reference, gdal.Open(
            os.path.join(folder, f"map{n}.tif")).ReadAsArray()) for n in (1, 2))
    local_rate = tiles / local["tiles_seconds"]
    one, two = rows
    per_tile_local = local["tiles_seconds"] / tiles
    per_tile_one = one["tiles_s"] / tiles
    overhead = max(per_tile_one - per_tile_local, one["noop_task_s"])
    result = {
        "model": args.model, "patch": args.patch, "bands": args.bands,
        "stack": f"{args.size}x{args.size}", "tile": local["tile_size"], "tiles": tiles,
        "evaluation": local["evaluation"], "cores": os.cpu_count(),
        "in_process_tiles_per_s": round(local_rate, 3),
        "in_process_pixels_per_s": round(local["pixels_per_s"], 1),
        "cluster": rows,
        "speedup_2_over_1_worker": round(two["tiles_per_s"] / one["tiles_per_s"], 3),
        "efficiency_2_workers": round(two["tiles_per_s"] / (2 * one["tiles_per_s"]), 3),
        "one_worker_over_in_process": round(one["tiles_per_s"] / local_rate, 3),
        "scheduling_overhead_per_tile_s": round(overhead, 4),
        "maps_identical": identical,
        "projection_hours_14M_px_measured_model": projection(
            one["pixels_per_s"], overhead, local["tile_size"], (1, 2, 4, 8, 16, 32)),
        "basin_pixels_per_s": args.basin_pixels_per_s,
        "projection_hours_14M_px_ctlgnet_72": projection(
            args.basin_pixels_per_s * one["pixels_per_s"] / local["pixels_per_s"], overhead,
            512, (1, 2, 4, 8, 16, 32)),
    }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
