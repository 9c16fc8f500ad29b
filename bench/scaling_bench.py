#!/usr/bin/env python3
"""Scaling: time of align, buildsamples and predict at several sample-area sizes, with
the fitted growth exponent (time ~ pixels^b), and factor alignment against plain
gdalwarp calls of the same inputs. Prints JSON on stdout; log on stderr.

    .venv/bin/python bench/scaling_bench.py [--sizes 500 1000 2000]
"""

import argparse
import json
import os
import runpy
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PATCH = 24


def log(message):
    print(message, file=sys.stderr, flush=True)


def factor_inputs(folder, size):
    """The demo's nine factors of a sample area (not timed)."""
    from landslide_susceptibility.core.distance import distance_to_features
    from landslide_susceptibility.core.sample_area import create_sample_area
    from landslide_susceptibility.core.terrain import derive_terrain

    area = create_sample_area(os.path.join(folder, "area"), seed=1, size=size)
    f = area["files"]
    derive_terrain(f["dem"], f"{folder}/slope.tif", f"{folder}/aspect.tif")
    distance_to_features(f["rivers"], f["dem"], f"{folder}/rivers.tif")
    distance_to_features(f["faults"], f["dem"], f"{folder}/faults.tif")
    continuous = [f["dem"], f"{folder}/slope.tif", f"{folder}/rivers.tif",
                  f"{folder}/faults.tif", f["precipitation"], f["ndvi"], f["true_probability"]]
    categorical = [f"{folder}/aspect.tif", f["landuse"]]
    return continuous, categorical, f


def plain_gdalwarp(continuous, categorical, reference, folder):
    """The same inputs warped one by one onto the reference grid with gdal.Warp."""
    from osgeo import gdal

    ref = gdal.Open(reference)
    x0, dx, _, y0, _, dy = ref.GetGeoTransform()
    bounds = (x0, y0 + dy * ref.RasterYSize, x0 + dx * ref.RasterXSize, y0)
    started = time.perf_counter()
    for index, (path, method) in enumerate([(p, "bilinear") for p in continuous]
                                           + [(p, "near") for p in categorical]):
        gdal.Warp(f"{folder}/warp_{index}.tif", path, dstSRS=ref.GetProjection(),
                  outputBounds=bounds, xRes=dx, yRes=-dy, resampleAlg=method,
                  creationOptions=["TILED=YES", "COMPRESS=DEFLATE"])
    return time.perf_counter() - started


def tiny_model(folder, info):
    import keras

    from landslide_susceptibility.core.model_card import write_card
    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(0)
    path = f"{folder}/cnn.keras"
    build_model("cnn", (PATCH, PATCH, info.count)).save(path)
    write_card(path, {"model": "cnn", "patch_size": PATCH, "factors": info.names,
                      "categorical": info.categorical,
                      "normalisation": {"mean": [b.mean or 0.0 for b in info.bands],
                                        "std": [b.std or 1.0 for b in info.bands]}})
    return path


def exponent(sizes, seconds):
    pixels = np.array(sizes, dtype=float) ** 2
    return round(float(np.polyfit(np.log(pixels), np.log(seconds), 1)[0]), 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[500, 1000, 2000])
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    from landslide_susceptibility.core.align import align_factors
    from landslide_susceptibility.core.build_samples import build_samples
    from landslide_susceptibility.core.specs import PredictSpec
    from landslide_susceptibility.core.stack import read_stack_info
    from landslide_susceptibility.engine.predict import predict_map
    from landslide_susceptibility.engine.protocol import Reporter

    reporter = Reporter(open(os.devnull, "w"), human=True)
    times = {"align": [], "buildsamples": [], "predict": []}
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            continuous, categorical, files = factor_inputs(folder, size)
            stack = f"{folder}/stack.tif"
            started = time.perf_counter()
            align_factors(continuous, categorical, stack)
            align_s = time.perf_counter() - started
            warp_s = plain_gdalwarp(continuous, categorical, files["dem"], folder)
            started = time.perf_counter()
            build_samples(stack, files["landslides"], f"{folder}/samples.gpkg",
                          patch_size=PATCH, samples_per_class=1000)
            samples_s = time.perf_counter() - started
            info = read_stack_info(stack)
            model = tiny_model(folder, info)
            started = time.perf_counter()
            predict_map(PredictSpec(model=model, stack=stack, output=f"{folder}/map.tif"),
                        reporter)
            predict_s = time.perf_counter() - started
        row = {"size": size, "align_s": round(align_s, 2), "gdalwarp_s": round(warp_s, 2),
               "align_over_gdalwarp": round(align_s / warp_s, 2),
               "buildsamples_s": round(samples_s, 2), "predict_cnn24_s": round(predict_s, 2)}
        log(json.dumps(row))
        rows.append(row)
        times["align"].append(align_s)
        times["buildsamples"].append(samples_s)
        times["predict"].append(predict_s)
    result = {"sizes": args.sizes, "rows": rows,
              "growth_exponent": {step: exponent(args.sizes, seconds)
                                  for step, seconds in times.items()},
              "note": "time ~ pixels^b fitted on log-log; predict uses an untrained CNN at "
                      f"patch {PATCH} (dense path) on the 9-factor stack"}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
