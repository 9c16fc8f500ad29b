#!/usr/bin/env python3
"""``make demo``: run the pipeline on the bundled sample area through qgis_process.bin.

Each step is one algorithm run exactly as a user (or the graphical modeler's
exported command) would run it. Parameter values are formatted with ``{out}``
(the output folder) and ``{area}`` (the sample area's folder).
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN = "landslide_susceptibility"

# (title, algorithm id, parameters). Later issues append their steps.
STEPS = [
    ("Engine check", "landslide:checkengine", {}),
    ("Sample study area", "landslide:createsamplearea",
     {"OUTPUT_FOLDER": "{area}", "SEED": 42, "SIZE": 400}),
    # Issue 3: factors, the factor stack, multicollinearity and importance reports.
    ("Slope and aspect classes", "landslide:deriveterrainfactors",
     {"DEM": "{area}/dem.tif", "FLAT_THRESHOLD": 1.0,
      "OUTPUT_SLOPE": "{out}/factors/slope.tif", "OUTPUT_ASPECT": "{out}/factors/aspect.tif"}),
    ("Distance to faults", "landslide:distancetofeatures",
     {"INPUT": "{area}/faults.gpkg", "REFERENCE": "{area}/dem.tif",
      "OUTPUT": "{out}/factors/distance_to_faults.tif"}),
    ("Distance to rivers", "landslide:distancetofeatures",
     {"INPUT": "{area}/rivers.gpkg", "REFERENCE": "{area}/dem.tif",
      "OUTPUT": "{out}/factors/distance_to_rivers.tif"}),
    ("Lithology polygons to classes", "gdal:rasterize",
     {"INPUT": "{area}/lithology.gpkg", "FIELD": "unit", "UNITS": 1, "WIDTH": 10,
      "HEIGHT": 10, "EXTENT": "{area}/dem.tif", "NODATA": 0, "DATA_TYPE": 0,
      "OUTPUT": "{out}/factors/lithology.tif"}),
    ("Align factors into a stack", "landslide:alignfactors",
     {"CONTINUOUS_FACTORS": ["{area}/dem.tif", "{out}/factors/slope.tif",
                             "{out}/factors/distance_to_faults.tif",
                             "{out}/factors/distance_to_rivers.tif",
                             "{area}/precipitation.tif", "{area}/ndvi.tif"],
      "CATEGORICAL_FACTORS": ["{out}/factors/aspect.tif", "{out}/factors/lithology.tif",
                              "{area}/landuse.tif"],
      "OUTPUT": "{out}/factor_stack.tif"}),
    ("Multicollinearity (VIF, TOL)", "landslide:multicollinearity",
     {"STACK": "{out}/factor_stack.tif", "SAMPLE_SIZE": 100000, "SEED": 0,
      "OUTPUT_TABLE": "{out}/multicollinearity.csv",
      "OUTPUT_REPORT": "{out}/multicollinearity.html"}),
    ("Factor importance (random forest)", "landslide:factorimportance",
     {"STACK": "{out}/factor_stack.tif", "INVENTORY": "{area}/landslides.gpkg",
      "SAMPLE_SIZE": 10000, "SEED": 0, "OUTPUT_TABLE": "{out}/factor_importance.csv",
      "OUTPUT_REPORT": "{out}/factor_importance.html"}),
    # Issues 4 and 6: samples, CTLGNet trained with small settings (2 cores), evaluation.
    ("Landslide samples (random 6:2:2 split)", "landslide:buildsamples",
     {"STACK": "{out}/factor_stack.tif", "INVENTORY": "{area}/landslides.gpkg",
      "PATCH_SIZE": 24, "SAMPLES_PER_CLASS": 1000, "SPLIT_METHOD": 0, "SEED": 0,
      "OUTPUT": "{out}/samples.gpkg"}),
    ("Train CTLGNet", "landslide:trainmodel",
     {"STACK": "{out}/factor_stack.tif", "SAMPLES": "{out}/samples.gpkg", "MODEL": 5,
      "EPOCHS": 12, "BATCH_SIZE": 32, "LEARNING_RATE": 0.001, "OPTIMIZER": 1, "SEED": 0,
      "OUTPUT_MODEL": "{out}/ctlgnet.keras", "OUTPUT_METRICS": "{out}/ctlgnet_metrics.csv",
      "OUTPUT_REPORT": "{out}/ctlgnet_training.html"}),
    ("Evaluate CTLGNet on the test split", "landslide:evaluatemodel",
     {"MODEL": "{out}/ctlgnet.keras", "STACK": "{out}/factor_stack.tif",
      "SAMPLES": "{out}/samples.gpkg", "SPLIT": 0,
      "OUTPUT_METRICS": "{out}/ctlgnet_test_metrics.csv",
      "OUTPUT_REPORT": "{out}/ctlgnet_evaluation.html"}),
    # Issue 7: the susceptibility map of every pixel and its five classes.
    ("Predict susceptibility (every pixel)", "landslide:predictsusceptibility",
     {"MODEL": "{out}/ctlgnet.keras", "STACK": "{out}/factor_stack.tif", "BATCH_SIZE": 256,
      "STRIDE": 1, "OUTPUT": "{out}/susceptibility.tif"}),
    ("Classify into five classes (natural breaks)", "landslide:classifysusceptibility",
     {"SUSCEPTIBILITY": "{out}/susceptibility.tif", "INVENTORY": "{area}/landslides.gpkg",
      "METHOD": 0, "OUTPUT": "{out}/susceptibility_classes.tif",
      "OUTPUT_TABLE": "{out}/class_statistics.csv",
      "OUTPUT_REPORT": "{out}/classification.html"}),
    # Issue 8: the whole method in one run (issue 18: the Python workflow that takes
    # whatever factors the user has; small settings; results in {out}/workflow/).
    ("Workflow: factors to susceptibility classes", "landslide:susceptibilityworkflow",
     {"DEM": "{area}/dem.tif", "DISTANCE_LAYERS": ["{area}/faults.gpkg", "{area}/rivers.gpkg"],
      "CONTINUOUS_FACTORS": ["{area}/precipitation.tif", "{area}/ndvi.tif"],
      "CATEGORICAL_FACTORS": ["{area}/landuse.tif"], "LITHOLOGY": "{area}/lithology.gpkg",
      "LITHOLOGY_FIELD": "unit", "LITHOLOGY_CELL_SIZE": 10,
      "INVENTORY": "{area}/landslides.gpkg",
      "MODEL": 5, "PATCH_SIZE": 16, "SAMPLES_PER_CLASS": 300, "SPLIT_METHOD": 0,
      "EPOCHS": 3, "SEED": 0,
      "OUTPUT_STACK": "{out}/workflow/factor_stack.tif",
      "OUTPUT_VIF_REPORT": "{out}/workflow/multicollinearity.html",
      "OUTPUT_IMPORTANCE_REPORT": "{out}/workflow/factor_importance.html",
      "OUTPUT_SAMPLES": "{out}/workflow/samples.gpkg",
      "OUTPUT_MODEL": "{out}/workflow/ctlgnet.keras",
      "OUTPUT_METRICS": "{out}/workflow/ctlgnet_test_metrics.csv",
      "OUTPUT_TRAINING_REPORT": "{out}/workflow/ctlgnet_training.html",
      "OUTPUT_PROBABILITY": "{out}/workflow/susceptibility.tif",
      "OUTPUT_CLASSES": "{out}/workflow/susceptibility_classes.tif",
      "OUTPUT_CLASS_TABLE": "{out}/workflow/class_statistics.csv",
      "OUTPUT_CLASS_REPORT": "{out}/workflow/classification.html"}),
]


def plugin_environment():
    """QGIS_PLUGINPATH with the plugin under its installed name."""
    plugins = os.path.join(REPO, ".build", "plugins")
    os.makedirs(plugins, exist_ok=True)
    link = os.path.join(plugins, PLUGIN)
    if os.path.realpath(link) != REPO:
        if os.path.islink(link):
            os.remove(link)
        os.symlink(REPO, link)
    env = dict(os.environ, QGIS_PLUGINPATH=plugins)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("XDG_RUNTIME_DIR", "/tmp/runtime-" + str(os.getuid()))
    return env


def enable_plugin(env):
    """``qgis_process.bin plugins enable``; it exits 1 when already enabled."""
    done = subprocess.run(["qgis_process.bin", "plugins", "enable", PLUGIN], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0 and "already enabled" not in done.stderr + done.stdout:
        raise SystemExit(f"Cannot enable the plugin:\n{done.stdout}\n{done.stderr}")


def run_step(title, algorithm, params, env, values):
    args = ["qgis_process.bin", "--json", "run", algorithm, "--"]
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            args.append(f"{key}={str(item).format(**values)}")
    print(f"\n== {title}: {algorithm}", flush=True)
    started = time.monotonic()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"Demo step '{title}' failed (exit {done.returncode}).")
    payload = json.loads(done.stdout[done.stdout.find("{"):])
    results = payload.get("results", {})
    for key, value in results.items():
        shown = "\n      ".join(value) if isinstance(value, list) else value
        print(f"   {key}: {shown}")
    print(f"   ({time.monotonic() - started:.1f} s)")
    return results


def screenshots(out, env):
    """The five-class map as PNGs under {out}/screenshots/: rendered headless and
    from QGIS desktop under Xvfb (tools/screenshot.py). A missing X server or
    QGIS desktop only prints a warning."""
    print("\n== Screenshots of the results (tools/screenshot.py)", flush=True)
    try:
        done = subprocess.run([sys.executable, os.path.join(REPO, "tools", "screenshot.py"),
                               "--output", out], env=env, capture_output=True, text=True,
                              timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"   WARNING: no screenshots: {exc}")
        return
    for line in (done.stdout + done.stderr).splitlines():
        if line.strip() and not line.startswith(("proj_create", "QStandardPaths")):
            print("  ", line)
    if done.returncode == 1:
        print("   WARNING: no screenshots (no susceptibility classes in the results).")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output")
    args = parser.parse_args()
    out = os.path.abspath(args.output)
    os.makedirs(out, exist_ok=True)
    values = {"out": out, "area": os.path.join(out, "sample_area")}
    env = plugin_environment()
    enable_plugin(env)
    started = time.monotonic()
    for title, algorithm, params in STEPS:
        run_step(title, algorithm, params, env, values)
    screenshots(out, env)
    print(f"\nDemo finished in {time.monotonic() - started:.0f} s. Results are in {out}:")
    for root, _dirs, files in sorted(os.walk(out)):
        for name in sorted(files):
            print("  ", os.path.relpath(os.path.join(root, name), os.getcwd()))


if __name__ == "__main__":
    main()
