#!/usr/bin/env python3
"""Accuracy benchmarks: every registered model through the product's own ``compare``.

The engine's ``compare`` command (the 'Compare landslide models' algorithm) with
**repeated spatial 5-fold** cross-validation (blocks of 1000 m dealt to 5 folds,
a one-patch buffer around the test patches, other block offsets per repeat;
``core.folds``) runs in this process for every model of the registry: the
classical models with their defaults, the six networks with small training
settings (:data:`NETWORK_SETTINGS`). The classical models and the networks run
as two comparisons with the same seed and block size, so repeat ``r`` fold ``f``
is the same fold in both; the networks may run fewer repeats (a prefix of the
classical ones). The paired tests against the best model by mean AUC (corrected
resampled t-test, Wilcoxon; ``engine.significance``) are then computed over all
models on their common folds, and the verdict is written in the product's words.

1. Real data (southern Ecuador, ``/work/shared/data/ecuador`` or ``--ecuador``):
   the five terrain factors aligned into a stack; samples built once (patch 16,
   every landslide point's cell once, as many non-landslide centres). Printed
   beside them: the published GLM AUROC (Geocomputation with R, ch. 12) and the
   GLM re-run here on ``sample_points.gpkg`` with the book's protocol (a check of
   the factor reading).
2. Known truth (synthetic sample area, size 400, seed 1): the demo's nine factors
   (the true probability is *not* a factor); each fold's AUC is divided by the
   AUC of the true probability at that fold's test points (1.0 = Bayes-optimal).
   ``--truth context``: the sample area's neighbourhood-context truth (relief
   within 150 m, flow convergence, distance to a slope break), which the nine
   single-pixel factors do not carry: there a patch model can beat pixel models.

JSON on stdout (and in ``--output``, rewritten after every comparison): settings,
per-model mean ± sd, per-fold rows, p-values, verdicts and a ``figures`` list
with units; log lines on stderr.

    .venv/bin/python bench/accuracy_bench.py [--mode quick|full] [--models LIST]
        [--only real|synthetic] [--truth pixel|context] [--output FILE]
"""

import argparse
import json
import os
import runpy
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from accuracy_cv import (  # noqa: E402
    CV,
    NETWORK_SETTINGS,
    VARIANTS,
    cross_validate,
    log,
    make_reporter,
    model_groups,
    model_stats,
    select_models,
)
from accuracy_glm import PUBLISHED, reproduce_glm  # noqa: E402
from accuracy_report import figures, table  # noqa: E402

ECUADOR = "/work/shared/data/ecuador"
ECUADOR_FACTORS = ("elev", "slope", "cplan", "cprof", "log10_carea")
# quick (make bench): every classical model, CNN and CTLGNet; full: every model.
MODES = {
    "quick": {"models": "classical,cnn,ctlgnet", "classical_repeats": 3,
              "network_repeats": 1, "epochs": 20, "patience": 5,
              "synthetic_samples_per_class": 500, "glm_repetitions": 20},
    "full": {"models": "all", "classical_repeats": 10, "network_repeats": 3, "epochs": 40,
             "patience": 10, "synthetic_samples_per_class": 1000, "glm_repetitions": 100},
}
REAL = {"patch_size": 16, "ratios": [6, 2, 2]}
SYNTHETIC = {"size": 400, "area_seed": 1, "patch_size": 24, "ratios": [6, 2, 2]}


def register():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    warnings.filterwarnings("ignore", message=".*ran out of data.*")
    warnings.filterwarnings("ignore", message=".*shuffle=True.*")


# ------------------------------------------------------------------ real data

def build_ecuador_stack(data, folder):
    from landslide_susceptibility.core.align import align_factors

    stack = os.path.join(folder, "ecuador_stack.tif")
    align_factors([os.path.join(data, f"{name}.tif") for name in ECUADOR_FACTORS], [], stack)
    return stack


def all_landslide_samples(stack, inventory, path, patch_size, seed=0):
    """Samples with every landslide cell once (and as many non-landslide centres):
    built once with a guess, rebuilt with the count of landslide cells found."""
    from landslide_susceptibility.core.build_samples import build_samples

    built = build_samples(stack, inventory, path, patch_size=patch_size,
                          samples_per_class=175, ratios=REAL["ratios"], seed=seed)
    cells = built["summary"]["landslide_pixels"]
    if cells != 175:
        os.remove(path)
        built = build_samples(stack, inventory, path, patch_size=patch_size,
                              samples_per_class=cells, ratios=REAL["ratios"], seed=seed)
    for warning in built["warnings"]:
        log(f"   WARNING: {warning}")
    return built


def read_stack_values(stack_path):
    """``(info, values [bands, rows, cols] float64 with NaN outside the valid area)``."""
    import numpy as np

    from landslide_susceptibility.core.stack import open_raster, read_block, read_stack_info

    info = read_stack_info(stack_path)
    values, valid = read_block(open_raster(stack_path), info, 0, info.height)
    values[:, ~valid] = np.nan
    return info, values


def run_real(data, mode, classical, networks, folder, reporter, save):
    started = time.monotonic()
    log(f"== Real data: {data}")
    stack = build_ecuador_stack(data, folder)
    info, values = read_stack_values(stack)
    log(f"   stack {info.width} x {info.height} cells of {info.pixel_size[0]:g} m, "
        f"{info.count} factors: {', '.join(info.names)}")
    samples = os.path.join(folder, "ecuador_samples.gpkg")
    built = all_landslide_samples(stack, os.path.join(data, "landslides.gpkg"), samples,
                                  REAL["patch_size"])
    summary = built["summary"]
    log(f"   samples: {summary['landslide_pixels']} landslide cells, "
        f"{summary['landslide_pixels']} per class, patch {REAL['patch_size']}")
    out = {"stack": {"factors": info.names, "width": info.width, "height": info.height,
                     "cell_m": info.pixel_size[0]},
           "samples": {"patch_size": REAL["patch_size"],
                       "landslide_cells": summary["landslide_pixels"],
                       "samples_per_class": summary["landslide_pixels"]},
           "published": PUBLISHED}
    save.result["real"] = out
    log("-- GLM on sample_points.gpkg, the book's protocol")
    out["glm_reproduced"] = reproduce_glm(data, info, values, mode["glm_repetitions"])
    log(f"   random CV {out['glm_reproduced']['random_cv_auc']['mean']}, spatial CV "
        f"{out['glm_reproduced']['spatial_cv_auc']['mean']} (published 0.810 / 0.773)")
    cross_validate(stack, samples, model_groups(classical, networks, mode), folder,
                   reporter, save, out, save.done("real"), mode.get("first_repeat", 0))
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


# ------------------------------------------------------------------ known truth

def build_synthetic_stack(folder, truth="pixel"):
    """The demo's nine factors of the sample area, aligned (no true probability)."""
    from landslide_susceptibility.core.align import align_factors
    from landslide_susceptibility.core.distance import distance_to_features
    from landslide_susceptibility.core.raster_io import rasterize, write_raster
    from landslide_susceptibility.core.sample_area import create_sample_area
    from landslide_susceptibility.core.stack import open_raster
    from landslide_susceptibility.core.terrain import derive_terrain

    area = create_sample_area(os.path.join(folder, "area"), seed=SYNTHETIC["area_seed"],
                              size=SYNTHETIC["size"], truth=truth)
    f = area["files"]
    factors = os.path.join(folder, "factors")
    os.makedirs(factors, exist_ok=True)
    derive_terrain(f["dem"], f"{factors}/slope.tif", f"{factors}/aspect.tif")
    distance_to_features(f["faults"], f["dem"], f"{factors}/distance_to_faults.tif")
    distance_to_features(f["rivers"], f["dem"], f"{factors}/distance_to_rivers.tif")
    dem = open_raster(f["dem"])
    shape = (dem.RasterYSize, dem.RasterXSize)
    lithology = rasterize(f["lithology"], shape, dem.GetGeoTransform(), dem.GetProjection(),
                          attribute="unit")
    write_raster(f"{factors}/lithology.tif", lithology, dem.GetGeoTransform(),
                 dem.GetProjection(), nodata=0)
    stack = os.path.join(folder, "synthetic_stack.tif")
    align_factors([f["dem"], f"{factors}/slope.tif", f"{factors}/distance_to_faults.tif",
                   f"{factors}/distance_to_rivers.tif", f["precipitation"], f["ndvi"]],
                  [f"{factors}/aspect.tif", f"{factors}/lithology.tif", f["landuse"]], stack)
    return stack, area


def true_probability_at(path, info, rows, cols):
    """The truth raster sampled at the stack's cell centres (rows, cols)."""
    import numpy as np

    from landslide_susceptibility.core.sample_layer import cell_centres
    from landslide_susceptibility.core.stack import open_raster

    dataset = open_raster(path)
    truth = dataset.GetRasterBand(1).ReadAsArray().astype(np.float64)
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    xs, ys = cell_centres(rows, cols, info.geotransform)
    return truth[np.floor((ys - y0) / dy).astype(int), np.floor((xs - x0) / dx).astype(int)]


def fold_truth(stack, samples, truth_path, repeats):
    """``{(repeat, fold): AUC of the true probability at the fold's test points}``,
    the folds recomputed as ``compare`` computes them (``core.folds``)."""
    from landslide_susceptibility.core import folds
    from landslide_susceptibility.core.roc import auc
    from landslide_susceptibility.core.sample_layer import validate_samples
    from landslide_susceptibility.core.stack import read_stack_info
    from landslide_susceptibility.engine.samples_input import load_samples

    info = read_stack_info(stack)
    loaded, summary = load_samples(samples, info)
    rows, cols, labels, splits = validate_samples(*loaded, shape=info.shape)
    block = folds.block_cells_of(CV["block_size"], info.pixel_size, summary)
    truth = true_probability_at(truth_path, info, rows, cols)
    out = {}
    for repeat in range(repeats):
        for fold in range(CV["folds"]):
            description = folds.kfold_split(block, CV["folds"], repeat, fold, CV["seed"],
                                            SYNTHETIC["patch_size"])
            test = folds.split_of(rows, cols, labels, splits, description) == "test"
            out[(repeat, fold)] = auc(labels[test], truth[test])
    return out


def add_truth_ratios(result, truth):
    """Each model's fold AUC / the true probability's AUC on the same fold."""
    import numpy as np

    for model, stats in result.get("models", {}).items():
        ratios = [row["metrics"]["auc"] / truth[(row["repeat"], row["fold"])]
                  for outcome in result["comparisons"].values()
                  for row in outcome["fold_rows"] if row["model"] == model]
        stats["ratio_to_truth_mean"] = round(float(np.mean(ratios)), 4)
        stats["ratio_to_truth_sd"] = round(float(np.std(ratios, ddof=1)), 4) \
            if len(ratios) > 1 else None


def run_synthetic(mode, classical, networks, folder, reporter, save):
    from landslide_susceptibility.core.build_samples import build_samples

    started = time.monotonic()
    truth_kind = mode.get("truth", "pixel")
    log(f"== Known truth: sample area size {SYNTHETIC['size']}, seed {SYNTHETIC['area_seed']}"
        f", {truth_kind} truth")
    stack, area = build_synthetic_stack(folder, truth_kind)
    samples = os.path.join(folder, "synthetic_samples.gpkg")
    per_class = mode["synthetic_samples_per_class"]
    build_samples(stack, area["files"]["landslides"], samples,
                  patch_size=SYNTHETIC["patch_size"], samples_per_class=per_class,
                  ratios=SYNTHETIC["ratios"], seed=0)
    repeats = max(mode["classical_repeats"], mode["network_repeats"])
    truth = fold_truth(stack, samples, area["files"]["true_probability"], repeats)
    true_aucs = list(truth.values())
    log(f"   true AUC over the whole area {area['true_auc']:.3f}; at the folds' test "
        f"points {sum(true_aucs) / len(true_aucs):.3f}")
    out = {"area": {"size": SYNTHETIC["size"], "seed": SYNTHETIC["area_seed"],
                    "truth": truth_kind,
                    "landslide_count": area["landslide_count"],
                    "true_auc_whole_area": round(area["true_auc"], 4)},
           "samples": {"patch_size": SYNTHETIC["patch_size"], "samples_per_class": per_class},
           "true_probability_fold_auc": {f"r{r}f{f}": round(v, 4)
                                         for (r, f), v in truth.items()}}
    save.result["synthetic"] = out

    def save_with_truth():
        add_truth_ratios(out, truth)
        save()

    cross_validate(stack, samples, model_groups(classical, networks, mode), folder,
                   reporter, save_with_truth, out, save.done("synthetic"),
                   mode.get("first_repeat", 0))
    add_truth_ratios(out, truth)
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


# ------------------------------------------------------------------ main

class Saver:
    """Writes the result so far to ``path`` (atomically) when called; ``previous``:
    the result of an earlier run whose comparisons may be reused (``--resume``)."""

    def __init__(self, result, path, previous=None):
        self.result, self.path, self.previous = result, path, previous or {}

    def done(self, area):
        """The earlier run's comparisons of ``area`` (``"real"``, ``"synthetic"``)."""
        return (self.previous.get(area) or {}).get("comparisons") or {}

    def __call__(self):
        if not self.path:
            return
        self.result["figures"] = figures(self.result)
        temporary = self.path + ".part"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.result, handle, indent=2)
        os.replace(temporary, self.path)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--models", help="comma-separated model codes, or all / classical / "
                                         "network (default: the mode's)")
    parser.add_argument("--ecuador", default=ECUADOR, help="folder of the Ecuador data")
    parser.add_argument("--only", choices=["real", "synthetic"], help="run one part only")
    parser.add_argument("--truth", choices=["pixel", "context"], default="pixel",
                        help="the sample area's truth: its pixel factors, or the "
                             "neighbourhood context (synthetic part)")
    parser.add_argument("--classical-repeats", type=int, help="override the mode's repeats")
    parser.add_argument("--network-repeats", type=int, help="override the mode's repeats")
    parser.add_argument("--first-repeat", type=int, default=1,
                        help="run the networks' repeats from this one on (1-based), to add "
                             "repeats to an earlier run; merge both with accuracy_merge.py")
    parser.add_argument("--epochs", type=int, help="override the networks' epochs")
    parser.add_argument("--patience", type=int, help="override the networks' patience")
    parser.add_argument("--variants", default="",
                        help="comma-separated network variants, each names of "
                             f"{', '.join(VARIANTS)} joined by +, e.g. skip,skip+cosine: "
                             "every chosen network also runs with each")
    parser.add_argument("--classical-variants", default="",
                        help="comma-separated variants of the classical models, e.g. "
                             "patchstats (Patch statistics on)")
    parser.add_argument("--no-plain", action="store_true",
                        help="with --variants: run the variants only, not the networks "
                             "with the bench's plain settings")
    parser.add_argument("--output", help="also write the JSON here, after every comparison")
    parser.add_argument("--verbose", action="store_true", help="log every epoch")
    parser.add_argument("--resume", metavar="FILE",
                        help="reuse the comparisons of this earlier result file that have "
                             "the same models, repeats and settings; run the others")
    parser.add_argument("--rescore", metavar="FILE",
                        help="run nothing: recompute the statistics, figures and table of a "
                             "result file (e.g. one a stopped run left) and print them")
    return parser.parse_args(argv)


def rescore(path, output):
    """The statistics of a saved result recomputed from its per-fold rows."""
    with open(path, encoding="utf-8") as handle:
        result = json.load(handle)
    for key in ("real", "synthetic"):
        block = result.get(key) or {}
        if block.get("comparisons"):
            block.update(model_stats(list(block["comparisons"].values())))
        if key == "synthetic" and block.get("true_probability_fold_auc"):
            truth = {(int(k[1:].split("f")[0]), int(k.split("f")[1])): v
                     for k, v in block["true_probability_fold_auc"].items()}
            add_truth_ratios(block, truth)
    Saver(result, output)()
    result["figures"] = figures(result)
    return result


def main(argv=None):
    args = parse_args(argv)
    register()
    if args.rescore:
        result = rescore(args.rescore, args.output)
        log(table(result))
        print(json.dumps(result, indent=2))
        return 0
    mode = dict(MODES[args.mode], **{k: v for k, v in (
        ("classical_repeats", args.classical_repeats), ("network_repeats", args.network_repeats),
        ("epochs", args.epochs), ("patience", args.patience)) if v is not None},
                truth=args.truth, plain_networks=not args.no_plain,
                first_repeat=max(args.first_repeat - 1, 0),
                variants=[v for v in args.variants.split(",") if v],
                classical_variants=[v for v in args.classical_variants.split(",") if v])
    classical, networks = select_models((args.models or mode["models"]).split(","))
    started = time.monotonic()
    result = {"mode": args.mode, "settings": dict(mode, network_settings=NETWORK_SETTINGS,
                                                  cv=CV, classical=classical,
                                                  networks=networks),
              "command": " ".join([os.path.basename(sys.argv[0])] + (argv or sys.argv[1:])),
              "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    previous = None
    if args.resume:
        with open(args.resume, encoding="utf-8") as handle:
            previous = json.load(handle)
        result["earlier_commands"] = previous.get("earlier_commands", []) + [
            previous.get("command")]
    save = Saver(result, args.output, previous)
    reporter = make_reporter(args.verbose)
    with tempfile.TemporaryDirectory(prefix="accuracy_bench_") as folder:
        if args.only in (None, "real"):
            if os.path.exists(os.path.join(args.ecuador, "landslides.gpkg")):
                result["real"] = run_real(args.ecuador, mode, classical, networks, folder,
                                          reporter, save)
            else:
                log(f"Ecuador data not found in {args.ecuador}; real-data part skipped.")
                result["real_skipped"] = f"no data in {args.ecuador}"
        if args.only in (None, "synthetic"):
            result["synthetic"] = run_synthetic(mode, classical, networks, folder, reporter,
                                                save)
    result["seconds"] = round(time.monotonic() - started, 1)
    save()
    result["figures"] = figures(result)
    log(table(result))
    log(f"\naccuracy bench ({args.mode}) finished in {result['seconds']:.0f} s")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
