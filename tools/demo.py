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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output")
    args = parser.parse_args()
    out = os.path.abspath(args.output)
    os.makedirs(out, exist_ok=True)
    values = {"out": out, "area": os.path.join(out, "sample_area")}
    env = plugin_environment()
    subprocess.run(["qgis_process.bin", "plugins", "enable", PLUGIN], env=env, check=True,
                   capture_output=True)
    started = time.monotonic()
    for title, algorithm, params in STEPS:
        run_step(title, algorithm, params, env, values)
    print(f"\nDemo finished in {time.monotonic() - started:.0f} s. Results are in {out}:")
    for root, _dirs, files in sorted(os.walk(out)):
        for name in sorted(files):
            print("  ", os.path.relpath(os.path.join(root, name), os.getcwd()))


if __name__ == "__main__":
    main()
