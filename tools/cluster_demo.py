#!/usr/bin/env python3
"""``make cluster-demo``: the demo's susceptibility map on a local Dask cluster.

Starts a scheduler and two workers with the ``dask scheduler`` / ``dask worker``
command lines of the engine environment (plain workers: nothing of the plugin
installed on them), runs the demo's prediction step (``tools/demo.py``) through
``qgis_process.bin`` once on this computer and once with the scheduler's address,
compares the two maps pixel by pixel and stops the cluster. Needs the results
of ``make demo`` (the trained CTLGNet and the factor stack).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
from osgeo import gdal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo  # noqa: E402  (tools/demo.py: the demo's steps and qgis_process.bin runner)

STEP = "Predict susceptibility (every pixel)"
START_TIMEOUT_S = 120


def start_cluster(dask, folder):
    """``(address, processes)``: a scheduler on 127.0.0.1 and two single-thread workers."""
    scheduler_file = os.path.join(folder, "scheduler.json")
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", scheduler_file], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(folder, "scheduler.log"), "w"))
    processes = [scheduler]
    address = wait_for_address(scheduler_file, scheduler)
    workers = subprocess.Popen(
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
         "--local-directory", os.path.join(folder, "workers")], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(folder, "workers.log"), "w"))
    processes.append(workers)
    return address, processes


def wait_for_address(scheduler_file, process):
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("dask scheduler stopped at start (see its log).")
        try:
            with open(scheduler_file, encoding="utf-8") as handle:
                return json.load(handle)["address"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.2)
    raise SystemExit(f"dask scheduler did not start within {START_TIMEOUT_S} s.")


def stop(processes):
    """SIGTERM to each process group we started, SIGKILL after 20 s."""
    for process in reversed(processes):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def prediction_step():
    return next((algorithm, params) for title, algorithm, params in demo.STEPS
                if title == STEP)


def read(path):
    dataset = gdal.Open(path)  # kept while its band is read (GDAL's Python bindings)
    return dataset.GetRasterBand(1).ReadAsArray()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output")
    args = parser.parse_args()
    out = os.path.abspath(args.output)
    algorithm, params = prediction_step()
    values = {"out": out, "area": os.path.join(out, "sample_area")}
    needed = [params[key].format(**values) for key in ("MODEL", "STACK")]
    if not all(os.path.exists(path) for path in needed):
        raise SystemExit(f"Run 'make demo' first: {', '.join(needed)} are needed.")
    env = demo.plugin_environment()
    env.pop("LANDSLIDE_DASK_SCHEDULER", None)
    demo.enable_plugin(env)
    dask = os.path.join(demo.REPO, ".venv", "bin", "dask")
    folder = os.path.join(out, "cluster")
    os.makedirs(folder, exist_ok=True)
    local = dict(params, OUTPUT=os.path.join(folder, "susceptibility_local.tif"))
    started = time.monotonic()
    demo.run_step(f"{STEP}, on this computer", algorithm, local, env, values)
    seconds_local = time.monotonic() - started
    with tempfile.TemporaryDirectory(prefix="landslide_cluster_demo_") as scratch:
        address, processes = start_cluster(dask, scratch)
        try:
            print(f"\n== Dask scheduler at {address}, two workers (1 thread each)")
            remote = dict(params, DASK_SCHEDULER=address,
                          OUTPUT=os.path.join(folder, "susceptibility_cluster.tif"))
            started = time.monotonic()
            demo.run_step(f"{STEP}, on the cluster", algorithm, remote, env, values)
            seconds_cluster = time.monotonic() - started
        finally:
            stop(processes)
            print("== Scheduler and workers stopped")
    expected, got = read(local["OUTPUT"]), read(remote["OUTPUT"])
    same = np.array_equal(expected, got)
    print(f"\nOn this computer {seconds_local:.0f} s, on the cluster {seconds_cluster:.0f} s "
          "(including the workers' start-up: loading TensorFlow and the model).")
    print(f"The maps are {'identical' if same else 'DIFFERENT'} "
          f"({expected.size:,} pixels, largest difference "
          f"{float(np.max(np.abs(expected - got))):.3g}).", flush=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
