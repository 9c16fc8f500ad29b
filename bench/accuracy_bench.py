#!/usr/bin/env python3
"""Accuracy benchmarks: test AUC of CTLGNet and CNN next to classical baselines.

1. Real data (southern Ecuador, /work/shared/data/ecuador or ``--ecuador``):
   the five terrain factors aligned into a stack; for each split method
   (random, spatial blocks) and several seeds, samples from the 175 landslide
   points, CTLGNet and CNN trained with small settings, and - on exactly the
   same splits - logistic regression (standardised factors) and a random
   forest on the factor values at the sample centres. The published GLM
   AUROC (Geocomputation with R, ch. 12) is printed next to them, and the GLM
   is re-run here on ``sample_points.gpkg`` with the book's protocol as a check
   of the factor reading.
2. Known truth (synthetic sample area, size 400, seed 1): the demo's nine
   factors (the true probability is *not* a factor), samples (patch 24, 1000
   per class), both splits; each model's test AUC divided by the AUC of the
   true probability raster at the same test points (1.0 = Bayes-optimal).

JSON on stdout (settings, seeds, per-seed results, mean/sd, ``figures`` list
with units); human log lines on stderr.

    .venv/bin/python bench/accuracy_bench.py [--mode quick|full] [--ecuador DIR]
"""

import argparse
import json
import math
import os
import runpy
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ECUADOR = "/work/shared/data/ecuador"
ECUADOR_FACTORS = ("elev", "slope", "cplan", "cprof", "log10_carea")
PUBLISHED = {  # mean AUROC, 100 x 5-fold CV on sample_points (Geocomputation with R, ch. 12)
    "glm": {"spatial": 0.773, "random": 0.810},
    "svm": {"spatial": 0.739, "random": 0.799},
}
SPLIT_NAMES = {"random": "random", "spatial": "spatial"}  # split method -> file tag
DEEP_MODELS = ("ctlgnet", "cnn")
BASELINES = ("logistic", "random_forest")

MODES = {
    "quick": {
        "real": {"seeds": [0, 1, 2], "epochs": 30, "patience": 10},
        "synthetic": {"seeds": [0, 1], "epochs": 20, "patience": 8, "samples_per_class": 1000},
        "glm_repetitions": 20,
    },
    "full": {
        "real": {"seeds": list(range(10)), "epochs": 40, "patience": 12},
        "synthetic": {"seeds": [0, 1, 2], "epochs": 30, "patience": 10,
                      "samples_per_class": 1000},
        "glm_repetitions": 100,
    },
}
REAL = {"patch_size": 16, "samples_per_class": 175, "block_size_m": 1000.0,
        "negative_buffer_m": 0.0, "ratios": [6, 2, 2]}
SYNTHETIC = {"size": 400, "area_seed": 1, "patch_size": 24, "block_size_m": 1000.0,
             "negative_buffer_m": 0.0, "ratios": [6, 2, 2]}
TRAINING = {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 16,
            "label_smoothing": 0.1, "augment": True}


def log(message):
    print(message, file=sys.stderr, flush=True)


def register():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    # Keras warns every epoch that a finite tf.data input "ran out of data" and that
    # shuffle is ignored; both are expected with one fit() call per epoch.
    warnings.filterwarnings("ignore", message=".*ran out of data.*")
    warnings.filterwarnings("ignore", message=".*shuffle=True.*")


def make_reporter(verbose):
    from landslide_susceptibility.engine.protocol import Reporter

    class BenchReporter(Reporter):
        """Human lines on stderr; no progress lines, epoch lines only if verbose."""

        def progress(self, value):
            pass

        def info(self, message):
            if verbose or not str(message).startswith("epoch "):
                super().info("    " + str(message))

    return BenchReporter(sys.stderr, human=True)


# ------------------------------------------------------------------ helpers

def mean_sd(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return {"mean": None, "sd": None, "n": 0}
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) \
        if len(values) > 1 else 0.0
    return {"mean": round(mean, 4), "sd": round(sd, 4), "n": len(values)}


def read_stack_values(stack_path):
    """``(info, values [bands, rows, cols] float64 with NaN outside the valid area)``."""
    import numpy as np

    from landslide_susceptibility.core.stack import open_raster, read_block, read_stack_info

    info = read_stack_info(stack_path)
    values, valid = read_block(open_raster(stack_path), info, 0, info.height)
    values[:, ~valid] = np.nan
    return info, values


def pixel_features(info, values, rows, cols):
    """Factor values at the sample centres, categorical bands one-hot (for LR) and
    as codes (for the forest): ``(x_onehot, x_codes)``."""
    import numpy as np

    onehot, codes = [], []
    for slot, band in enumerate(info.bands):
        column = values[slot, rows, cols]
        codes.append(column[:, None])
        if band.categorical:
            classes = band.classes or sorted(np.unique(column[np.isfinite(column)]).tolist())
            onehot.append(np.stack([column == value for value in classes], axis=1)
                          .astype(float))
        else:
            onehot.append(column[:, None])
    return np.concatenate(onehot, axis=1), np.concatenate(codes, axis=1)


def baselines(info, values, samples, seed):
    """Logistic regression (standardised) and random forest on the pixel factors at
    the sample centres, fitted on the training split, AUC on the test split."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from landslide_susceptibility.core.roc import auc

    rows, cols, labels, splits = samples
    x_lr, x_rf = pixel_features(info, values, rows, cols)
    train, test = splits == "train", splits == "test"
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    lr.fit(x_lr[train], labels[train])
    rf = RandomForestClassifier(n_estimators=300, min_samples_leaf=2, random_state=seed,
                                n_jobs=1)
    rf.fit(x_rf[train], labels[train])
    out = {}
    for name, model, x in (("logistic", lr, x_lr), ("random_forest", rf, x_rf)):
        p = model.predict_proba(x[test])[:, 1]
        out[name] = {"auc": auc(labels[test], p), "probability": p}
    return out, np.flatnonzero(test)


def train_deep(stack_info, samples, model, seed, patch_size, settings, folder, reporter):
    """Train ``model`` on the samples; test probabilities and training facts."""
    import keras

    from landslide_susceptibility.core.roc import auc
    from landslide_susceptibility.core.specs import TrainSpec
    from landslide_susceptibility.engine.training import predict_probability, train

    rows, cols, labels, splits = samples
    started = time.monotonic()
    spec = TrainSpec(stack=stack_info.path, samples="(in memory)", model=model,
                     output_model=os.path.join(folder, f"{model}.keras"),
                     epochs=settings["epochs"], patience=settings["patience"], seed=seed,
                     patch_size=patch_size, cache_dir=os.path.join(folder, "cache"),
                     **TRAINING).validate()
    trained = train(spec, stack_info, samples, reporter)
    test = splits == "test"
    p = predict_probability(trained.keras_model, trained.stack, rows[test], cols[test],
                            trained.mean, trained.std)
    outcome = trained.outcome
    facts = {"auc": auc(labels[test], p), "probability": p,
             "epochs_run": outcome.epochs_run, "best_epoch": outcome.best_epoch,
             "parameters": outcome.card["parameters"],
             "seconds": round(time.monotonic() - started, 1)}
    keras.backend.clear_session()
    return facts


def deduplicated_auc(samples, test_index, probability):
    """AUC over distinct (row, col, label) test points (duplicates drawn with
    replacement counted once; their predictions are identical)."""
    import numpy as np

    from landslide_susceptibility.core.roc import auc

    rows, cols, labels, _ = samples
    keys = np.stack([rows[test_index], cols[test_index], labels[test_index]], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    return auc(labels[test_index][first], np.asarray(probability)[first]), len(first)


def split_facts(samples, built):
    import numpy as np

    rows, cols, labels, splits = samples
    facts = {"counts": built["summary"]["counts"],
             "leakage_test_overlapping_train": round(built["summary"]["leakage"], 4),
             "warnings": built["warnings"]}
    for split in ("train", "validation", "test"):
        chosen = (splits == split) & (labels == 1)
        facts[f"unique_landslide_centres_{split}"] = int(
            len(np.unique(rows[chosen] * 1_000_000 + cols[chosen])))
    return facts


# ------------------------------------------------------------------ real data

def build_ecuador_stack(data, folder):
    from landslide_susceptibility.core.align import align_factors

    stack = os.path.join(folder, "ecuador_stack.tif")
    align_factors([os.path.join(data, f"{name}.tif") for name in ECUADOR_FACTORS], [], stack)
    return stack


def reproduce_glm(data, info, values, repetitions):
    """The book's GLM protocol on ``sample_points.gpkg``: repeated 5-fold CV, random
    and spatial (k-means on coordinates, k = 5); mean AUROC over all folds."""
    import numpy as np
    from osgeo import ogr
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from landslide_susceptibility.core.roc import auc

    dataset = ogr.Open(os.path.join(data, "sample_points.gpkg"))
    layer = dataset.GetLayer(0)
    xs, ys, labels = [], [], []
    for feature in layer:
        geometry = feature.GetGeometryRef()
        xs.append(geometry.GetX())
        ys.append(geometry.GetY())
        labels.append(int(feature.GetField("landslide")))
    xs, ys, labels = np.array(xs), np.array(ys), np.array(labels)
    x0, dx, _, y0, _, dy = info.geotransform
    cols = np.floor((xs - x0) / dx).astype(int)
    rows = np.floor((ys - y0) / dy).astype(int)
    x = values[:, rows, cols].T
    ok = np.all(np.isfinite(x), axis=1)
    x, labels, coords = x[ok], labels[ok], np.stack([xs, ys], axis=1)[ok]
    result = {"points": int(ok.sum()), "points_without_factor_values": int((~ok).sum()),
              "repetitions": repetitions, "folds": 5}

    def fold_aucs(fold_of):
        aucs = []
        for fold in np.unique(fold_of):
            test = fold_of == fold
            if len(np.unique(labels[test])) < 2 or len(np.unique(labels[~test])) < 2:
                continue
            model = make_pipeline(StandardScaler(), LogisticRegression(C=1e6, max_iter=5000))
            model.fit(x[~test], labels[~test])
            aucs.append(auc(labels[test], model.predict_proba(x[test])[:, 1]))
        return aucs

    random_aucs, spatial_aucs = [], []
    for rep in range(repetitions):
        fold_of = np.empty(len(labels), dtype=int)
        for fold, (_, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=rep)
                                         .split(x, labels)):
            fold_of[test] = fold
        random_aucs += fold_aucs(fold_of)
        clusters = KMeans(5, n_init=10, random_state=rep).fit_predict(coords)
        spatial_aucs += fold_aucs(clusters)
    result["random_cv_auc"] = mean_sd(random_aucs)
    result["spatial_cv_auc"] = mean_sd(spatial_aucs)
    return result


def run_real(data, settings, folder, verbose):
    from landslide_susceptibility.core.build_samples import build_samples
    from landslide_susceptibility.core.sample_layer import read_sample_layer

    started = time.monotonic()
    log(f"== Real data: {data}")
    stack = build_ecuador_stack(data, folder)
    info, values = read_stack_values(stack)
    log(f"   stack {info.width} x {info.height} cells of {info.pixel_size[0]:g} m, "
        f"{info.count} factors: {', '.join(info.names)}")
    reporter = make_reporter(verbose)
    out = {"stack": {"factors": info.names, "width": info.width, "height": info.height,
                     "cell_m": info.pixel_size[0]},
           "settings": dict(REAL, **settings, **TRAINING), "splits": {}}
    inventory = os.path.join(data, "landslides.gpkg")
    for method, split_name in SPLIT_NAMES.items():
        runs = []
        for seed in settings["seeds"]:
            log(f"-- real, {split_name} split, seed {seed}")
            samples_path = os.path.join(folder, f"real_{split_name}_{seed}.gpkg")
            try:
                built = build_samples(stack, inventory, samples_path,
                                      patch_size=REAL["patch_size"],
                                      samples_per_class=REAL["samples_per_class"],
                                      split_method=method,
                                      block_size=REAL["block_size_m"] if method else None,
                                      ratios=REAL["ratios"],
                                      negative_buffer=REAL["negative_buffer_m"], seed=seed)
            except Exception as exc:  # report and go on
                log(f"   build_samples failed: {exc}")
                runs.append({"seed": seed, "error": f"build_samples: {exc}"})
                continue
            samples = read_sample_layer(samples_path)
            run = {"seed": seed, **split_facts(samples, built), "models": {}}
            for warning in built["warnings"]:
                log(f"   WARNING: {warning}")
            log(f"   leakage {100 * run['leakage_test_overlapping_train']:.1f}% of test "
                f"patches overlap a training patch; distinct landslide centres train/val/test "
                f"{run['unique_landslide_centres_train']}/"
                f"{run['unique_landslide_centres_validation']}/"
                f"{run['unique_landslide_centres_test']}")
            classical, test_index = baselines(info, values, samples, seed)
            for name, facts in classical.items():
                dedup, _ = deduplicated_auc(samples, test_index, facts["probability"])
                run["models"][name] = {"auc": round(facts["auc"], 4),
                                       "auc_distinct_points": round(dedup, 4)}
                log(f"   {name:14s} test AUC {facts['auc']:.3f}")
            for model in DEEP_MODELS:
                try:
                    facts = train_deep(info, samples, model, seed, REAL["patch_size"], settings,
                                       folder, reporter)
                except Exception as exc:  # report and go on
                    log(f"   {model} failed: {exc}")
                    run["models"][model] = {"error": str(exc)}
                    continue
                dedup, distinct = deduplicated_auc(samples, test_index, facts.pop("probability"))
                facts["auc"] = round(facts["auc"], 4)
                facts["auc_distinct_points"] = round(dedup, 4)
                run["models"][model] = facts
                run["distinct_test_points"] = distinct
                log(f"   {model:14s} test AUC {facts['auc']:.3f} (best epoch "
                    f"{facts['best_epoch']}/{facts['epochs_run']}, {facts['seconds']:.0f} s)")
            runs.append(run)
        summary = {}
        for model in DEEP_MODELS + BASELINES:
            summary[model] = {
                "auc": mean_sd([r["models"].get(model, {}).get("auc") for r in runs
                                if "models" in r]),
                "auc_distinct_points": mean_sd(
                    [r["models"].get(model, {}).get("auc_distinct_points") for r in runs
                     if "models" in r])}
        summary["leakage_test_overlapping_train"] = mean_sd(
            [r.get("leakage_test_overlapping_train") for r in runs])
        out["splits"][split_name] = {"runs": runs, "summary": summary}
    out["published"] = PUBLISHED
    log("-- GLM on sample_points.gpkg, the book's protocol")
    out["glm_reproduced"] = reproduce_glm(data, info, values, settings["glm_repetitions"])
    log(f"   random CV {out['glm_reproduced']['random_cv_auc']['mean']}, spatial CV "
        f"{out['glm_reproduced']['spatial_cv_auc']['mean']} (published 0.810 / 0.773)")
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


# ------------------------------------------------------------------ known truth

def build_synthetic_stack(folder):
    """The demo's nine factors of the sample area, aligned (no true probability)."""
    from landslide_susceptibility.core.align import align_factors
    from landslide_susceptibility.core.distance import distance_to_features
    from landslide_susceptibility.core.raster_io import rasterize, write_raster
    from landslide_susceptibility.core.sample_area import create_sample_area
    from landslide_susceptibility.core.stack import open_raster
    from landslide_susceptibility.core.terrain import derive_terrain

    area = create_sample_area(os.path.join(folder, "area"), seed=SYNTHETIC["area_seed"],
                              size=SYNTHETIC["size"])
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


def run_synthetic(settings, folder, verbose):
    from landslide_susceptibility.core.build_samples import build_samples
    from landslide_susceptibility.core.roc import auc
    from landslide_susceptibility.core.sample_layer import read_sample_layer

    started = time.monotonic()
    log(f"== Known truth: sample area size {SYNTHETIC['size']}, seed {SYNTHETIC['area_seed']}")
    stack, area = build_synthetic_stack(folder)
    info, values = read_stack_values(stack)
    log(f"   stack {info.width} x {info.height}, factors {', '.join(info.names)}; "
        f"true AUC over the whole area {area['true_auc']:.3f}")
    reporter = make_reporter(verbose)
    out = {"area": {"size": SYNTHETIC["size"], "seed": SYNTHETIC["area_seed"],
                    "landslide_count": area["landslide_count"],
                    "true_auc_whole_area": round(area["true_auc"], 4)},
           "factors": info.names, "settings": dict(SYNTHETIC, **settings, **TRAINING),
           "splits": {}}
    for method, split_name in SPLIT_NAMES.items():
        runs = []
        for seed in settings["seeds"]:
            log(f"-- synthetic, {split_name} split, seed {seed}")
            samples_path = os.path.join(folder, f"synthetic_{split_name}_{seed}.gpkg")
            built = build_samples(stack, area["files"]["landslides"], samples_path,
                                  patch_size=SYNTHETIC["patch_size"],
                                  samples_per_class=settings["samples_per_class"],
                                  split_method=method,
                                  block_size=SYNTHETIC["block_size_m"] if method else None,
                                  ratios=SYNTHETIC["ratios"],
                                  negative_buffer=SYNTHETIC["negative_buffer_m"], seed=seed)
            samples = read_sample_layer(samples_path)
            rows, cols, labels, splits = samples
            test = splits == "test"
            truth = true_probability_at(area["files"]["true_probability"], info, rows[test],
                                        cols[test])
            true_auc = auc(labels[test], truth)
            run = {"seed": seed, **split_facts(samples, built),
                   "true_probability_auc": round(true_auc, 4), "models": {}}
            log(f"   leakage {100 * run['leakage_test_overlapping_train']:.1f}%; AUC of the "
                f"true probability at the test points {true_auc:.3f}")
            classical, _ = baselines(info, values, samples, seed)
            for name, facts in classical.items():
                run["models"][name] = {"auc": round(facts["auc"], 4),
                                       "ratio_to_truth": round(facts["auc"] / true_auc, 4)}
                log(f"   {name:14s} test AUC {facts['auc']:.3f} "
                    f"(ratio {facts['auc'] / true_auc:.3f})")
            for model in DEEP_MODELS:
                facts = train_deep(info, samples, model, seed, SYNTHETIC["patch_size"],
                                   settings, folder, reporter)
                facts.pop("probability")
                facts["ratio_to_truth"] = round(facts["auc"] / true_auc, 4)
                facts["auc"] = round(facts["auc"], 4)
                run["models"][model] = facts
                log(f"   {model:14s} test AUC {facts['auc']:.3f} (ratio "
                    f"{facts['ratio_to_truth']:.3f}; best epoch {facts['best_epoch']}/"
                    f"{facts['epochs_run']}, {facts['seconds']:.0f} s)")
            runs.append(run)
        summary = {"true_probability_auc": mean_sd([r["true_probability_auc"] for r in runs])}
        for model in DEEP_MODELS + BASELINES:
            summary[model] = {
                "auc": mean_sd([r["models"][model]["auc"] for r in runs]),
                "ratio_to_truth": mean_sd([r["models"][model]["ratio_to_truth"] for r in runs])}
        out["splits"][split_name] = {"runs": runs, "summary": summary}
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


# ------------------------------------------------------------------ report

def figures(result):
    """Flat ``{"name", "value", "unit"}`` figures for bench/run.py."""
    out = []
    real = result.get("real")
    if real:
        for split, block in real["splits"].items():
            for model in DEEP_MODELS + BASELINES:
                stats = block["summary"][model]["auc"]
                out.append({"name": f"Ecuador {split} split: {model} test AUC",
                            "value": stats["mean"], "sd": stats["sd"], "n": stats["n"],
                            "unit": "AUROC (mean over seeds)"})
            leak = block["summary"]["leakage_test_overlapping_train"]
            out.append({"name": f"Ecuador {split} split: test patches overlapping training",
                        "value": leak["mean"], "unit": "fraction"})
        for split in ("random", "spatial"):
            out.append({"name": f"Ecuador published GLM, {split} CV",
                        "value": PUBLISHED["glm"][split], "unit": "AUROC"})
            stats = real["glm_reproduced"][f"{split}_cv_auc"]
            out.append({"name": f"Ecuador GLM reproduced here, {split} CV",
                        "value": stats["mean"], "sd": stats["sd"], "unit": "AUROC"})
    synthetic = result.get("synthetic")
    if synthetic:
        for split, block in synthetic["splits"].items():
            out.append({"name": f"synthetic {split} split: true probability test AUC",
                        "value": block["summary"]["true_probability_auc"]["mean"],
                        "unit": "AUROC"})
            for model in DEEP_MODELS + BASELINES:
                stats = block["summary"][model]
                out.append({"name": f"synthetic {split} split: {model} test AUC / true AUC",
                            "value": stats["ratio_to_truth"]["mean"],
                            "auc": stats["auc"]["mean"], "unit": "ratio (1.0 = Bayes)"})
    return out


def table(result):
    lines = []
    real = result.get("real")
    if real:
        lines.append(f"\nEcuador test AUC, mean ± sd over seeds {real['settings']['seeds']}")
        lines.append(f"{'model':16s} {'random split':>16s} {'spatial split':>16s}")
        for model in DEEP_MODELS + BASELINES:
            cells = []
            for split in ("random", "spatial"):
                s = real["splits"][split]["summary"][model]["auc"]
                cells.append(f"{s['mean']:.3f} ± {s['sd']:.3f}" if s["n"] else "n/a")
            lines.append(f"{model:16s} {cells[0]:>16s} {cells[1]:>16s}")
        glm = real["glm_reproduced"]
        lines.append(f"{'GLM here (CV)':16s} {glm['random_cv_auc']['mean']:>16.3f} "
                     f"{glm['spatial_cv_auc']['mean']:>16.3f}")
        lines.append(f"{'GLM published':16s} {PUBLISHED['glm']['random']:>16.3f} "
                     f"{PUBLISHED['glm']['spatial']:>16.3f}")
        leak = [real["splits"][s]["summary"]["leakage_test_overlapping_train"]["mean"]
                for s in ("random", "spatial")]
        lines.append(f"{'leakage':16s} {leak[0]:>16.3f} {leak[1]:>16.3f}")
    synthetic = result.get("synthetic")
    if synthetic:
        lines.append("\nSynthetic area: test AUC / AUC of the true probability (ratio)")
        for split in ("random", "spatial"):
            block = synthetic["splits"][split]["summary"]
            lines.append(f"{split} split (true AUC {block['true_probability_auc']['mean']:.3f}):")
            for model in DEEP_MODELS + BASELINES:
                lines.append(f"  {model:16s} AUC {block[model]['auc']['mean']:.3f}  ratio "
                             f"{block[model]['ratio_to_truth']['mean']:.3f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--ecuador", default=ECUADOR, help="folder of the Ecuador data")
    parser.add_argument("--only", choices=["real", "synthetic"], help="run one part only")
    parser.add_argument("--verbose", action="store_true", help="log every epoch")
    args = parser.parse_args(argv)
    register()
    mode = MODES[args.mode]
    started = time.monotonic()
    result = {"mode": args.mode, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with tempfile.TemporaryDirectory(prefix="accuracy_bench_") as folder:
        if args.only in (None, "real"):
            if os.path.exists(os.path.join(args.ecuador, "landslides.gpkg")):
                real_settings = dict(mode["real"], glm_repetitions=mode["glm_repetitions"])
                result["real"] = run_real(args.ecuador, real_settings, folder, args.verbose)
            else:
                log(f"Ecuador data not found in {args.ecuador}; real-data part skipped.")
                result["real_skipped"] = f"no data in {args.ecuador}"
        if args.only in (None, "synthetic"):
            result["synthetic"] = run_synthetic(mode["synthetic"], folder, args.verbose)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["figures"] = figures(result)
    log(table(result))
    log(f"\naccuracy bench ({args.mode}) finished in {result['seconds']:.0f} s")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
