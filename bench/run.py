#!/usr/bin/env python3
"""``make bench``: measure speed and memory, write JSON, print a table.

Each benchmark is a function returning a list of figures
``{"name", "value", "unit", ...}``; all of them run in fresh subprocesses where
memory is measured, so one does not inflate another's peak RSS. The result
file names the machine (cores, CPU, GPU) and versions.
``--mode quick`` (default) takes minutes; ``--mode full`` takes longer.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PYTHON = os.path.join(REPO, ".venv", "bin", "python")
LAUNCHER = os.path.join(REPO, "engine", "launcher.py")


def engine(command, params, timeout=3600):
    """Run an engine command, return (result, wall seconds)."""
    started = time.monotonic()
    done = subprocess.run([VENV_PYTHON, LAUNCHER, command, "--params", json.dumps(params)],
                          capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - started
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    for record in records:
        if record["type"] == "error":
            raise RuntimeError(f"engine {command}: {record['message']}")
        if record["type"] == "result":
            return record["value"], wall
    raise RuntimeError(f"engine {command} gave no result:\n{done.stderr[-2000:]}")


def measured_python(code, timeout=3600):
    """Run Python ``code`` in the venv under /usr/bin/time; return (stdout, peak RSS MiB)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(code)
    try:
        done = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M", VENV_PYTHON, handle.name],
                              capture_output=True, text=True, timeout=timeout, cwd=REPO)
    finally:
        os.remove(handle.name)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    rss_kb = int(done.stderr.rsplit("MAXRSS_KB=", 1)[1].split()[0])
    return done.stdout, rss_kb / 1024.0


def bench_engine_start(mode, _done=None):
    info, wall = engine("check", {})
    return [{"name": "engine start-up (import TensorFlow, check)", "value": round(wall, 2),
             "unit": "s"}], info


def bench_sample_area(mode, _done=None):
    sizes = [400, 1000] if mode == "quick" else [400, 1000, 2000, 5000]
    figures = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            code = (
                "import runpy, time\n"
                f"runpy.run_path({LAUNCHER!r})['register_package']({REPO!r})\n"
                "from landslide_susceptibility.core.sample_area import create_sample_area\n"
                "t = time.perf_counter()\n"
                f"create_sample_area({folder!r}, seed=1, size={size})\n"
                "print(time.perf_counter() - t)\n")
            out, rss = measured_python(code)
        figures.append({"name": f"sample area {size}x{size}", "value": round(float(out), 2),
                        "unit": "s", "peak_rss_mib": round(rss, 1)})
    return figures


def bench_script(script, *args, timeout=3600):
    """Run a bench/ script in the venv; return its JSON stdout."""
    done = subprocess.run([VENV_PYTHON, os.path.join(REPO, "bench", script), *args],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout[done.stdout.find("{"):])


def bench_models(mode, _done=None):
    result = bench_script("models_bench.py", "--repeats", "2" if mode == "quick" else "5")
    figures = []
    for row in result["models"]:
        figures.append({"name": f"{row['name']} parameters", "value": row["params"],
                        "unit": "parameters"})
        if row["flops_per_patch"] is not None:  # a network (TensorFlow's profiler)
            figures.append({"name": f"{row['name']} FLOPs per patch 72x72x9",
                            "value": row["flops_per_patch"], "unit": "FLOP",
                            "model": row["name"]})
        figures.append({"name": f"{row['name']} inference batch 256",
                        "value": row["patches_per_s"], "unit": "patches/s"})
    return figures


def training_shares(benchmarks):
    """Each network's training step (new path, batch 16 and 128) as a share of the
    matmul FLOP/s of the same run, counting a step as 3 x the forward FLOPs (forward,
    input and weight gradients): how far from the machine's limit training is."""
    flops = {f["model"]: f["value"] for f in benchmarks.get("models", []) if "model" in f}
    matmul = [f["value"] for f in benchmarks.get("prediction", []) if f["unit"] == "GFLOP/s"]
    return [{"name": f"{f['model']} training step (new path, batch {f['batch']}) share of "
                     "matmul (3 x forward FLOPs)",
             "value": round(3 * flops[f["model"]] * f["value"] / (matmul[0] * 1e9), 3),
             "unit": "share"}
            for f in benchmarks.get("training", []) if matmul and "new_over_old" in f]


def bench_training(mode, _done=None):
    result = bench_script("training_bench.py", "--steps", "4" if mode == "quick" else "20")
    figures = [{"name": f"patch pipeline 72x72x9 augmenting, batch {b}",
                "value": result[f"pipeline_patches_per_s_batch{b}"], "unit": "patches/s"}
               for b in (16, 128)]
    for row in result["models"]:
        for b in (16, 128):
            figures.append({"name": f"{row['model']} training step, old path, batch {b}",
                            "value": row[f"train_patches_per_s_batch{b}"], "unit": "patches/s"})
            figures.append({"name": f"{row['model']} training step, new path (engine's "
                                    f"convolution gradient), batch {b}",
                            "value": row[f"train_new_patches_per_s_batch{b}"],
                            "unit": "patches/s", "model": row["model"], "batch": b,
                            "new_over_old": row[f"new_over_old_batch{b}"],
                            "new_over_old_cpu_time": row[f"new_over_old_cpu_time_batch{b}"]})
            if f"bf16_over_new_batch{b}" in row:
                figures.append({"name": f"{row['model']} training step, Training precision "
                                        f"bfloat16 (mixed), batch {b}",
                                "value": row[f"train_bf16_patches_per_s_batch{b}"],
                                "unit": "patches/s",
                                "bf16_over_new": row[f"bf16_over_new_batch{b}"],
                                "bf16_over_old": row[f"bf16_over_old_batch{b}"]})
            if f"xla_over_plain_batch{b}" in row:
                figures.append({"name": f"{row['model']} training step XLA, batch {b}",
                                "value": row[f"train_xla_patches_per_s_batch{b}"],
                                "unit": "patches/s",
                                "xla_over_plain": row[f"xla_over_plain_batch{b}"],
                                "xla_over_plain_cpu_time":
                                    row[f"xla_over_plain_cpu_time_batch{b}"]})
        figures.append({"name": f"{row['model']} epoch at paper settings (12000 patches)",
                        "value": row["paper_epoch_s"], "unit": "s"})
    figures.append({"name": "pipeline / fastest training step (must be >= 10)",
                    "value": result["pipeline_over_fastest_training"], "unit": "ratio"})
    return figures


def bench_prediction(mode, _done=None):
    result = bench_script("predict_bench.py", "--mode", mode, timeout=7200)
    figures = [{"name": "matmul 2048x2048 float32", "value": result["matmul_gflops"],
                "unit": "GFLOP/s"}]
    for row in result["models"]:
        label = f"{row['model']} predict {row['patch']} stride 1"
        figures.append({"name": f"{label}, per patch", "value": row["patch_pixels_per_s"],
                        "unit": "pixels/s",
                        "share_of_matmul": row["patch_share_of_matmul"]})
        if row.get("dense_pixels_per_s"):
            figures.append({"name": f"{label}, dense (shift-and-stitch)",
                            "value": row["dense_pixels_per_s"], "unit": "pixels/s",
                            "speedup": row["dense_speedup"],
                            "effective_share_of_matmul":
                                row["dense_effective_share_of_matmul"]})
        if row.get("views_dense_pixels_per_s"):
            figures.append({"name": f"{label}, flips and turns averaged, dense",
                            "value": row["views_dense_pixels_per_s"], "unit": "pixels/s",
                            "per_patch": row["views_patch_pixels_per_s"],
                            "speedup": row["views_dense_speedup"],
                            "over_dense_without": row["views_dense_vs_dense"]})
        if row.get("options_dense_pixels_per_s"):
            figures.append({"name": f"{label}, product network options (values and bins, "
                                    "centre cell), dense",
                            "value": row["options_dense_pixels_per_s"], "unit": "pixels/s",
                            "over_plain_dense": row["options_dense_vs_dense"]})
        figures.extend(fast_path_figures(label, row))
    for row in result.get("classical", []):
        statistics = ", with patch statistics" if row["neighbourhood"] else ""
        figures.append({"name": f"{row['model']} map of a {row['stack']} stack{statistics}",
                        "value": row["pixels_per_s"], "unit": "pixels/s",
                        "predict_s": row["predict_s"], "train_s": row["train_s"],
                        "load_average_before": row["load_average_before"]})
    for row in result.get("memory", []):
        figures.append({"name": f"predict peak RSS {row['stack']}",
                        "value": row["peak_rss_mib"], "unit": "MiB"})
    return figures


def fast_path_figures(label, row):
    """Old path (before XLA tails) vs new path vs plain Keras, and the per-pixel
    part's share of the matmul FLOP/s (``bench/fast_paths.py``)."""
    if "new_pixels_per_s" not in row:
        return []
    figures = [
        {"name": f"{label}, old path", "value": row["old_pixels_per_s"], "unit": "pixels/s"},
        {"name": f"{label}, new path", "value": row["new_pixels_per_s"], "unit": "pixels/s"},
        {"name": f"{label}, plain Keras predict", "value": row["plain_keras_pixels_per_s"],
         "unit": "pixels/s"},
        {"name": f"{label}, new / old", "value": row["new_over_old"], "unit": "ratio"},
        {"name": f"{label}, new / plain Keras", "value": row["new_over_plain_keras"],
         "unit": "ratio"}]
    if "per_pixel_flops" in row:
        for key, what in (("plain", "old"), ("xla", "XLA"),
                          ("product", "as Predict runs it, batches in flight at once")):
            if f"per_pixel_{key}_share_of_matmul" not in row:
                continue
            figures.append({
                "name": f"{label}, per-pixel part ({what}) share of matmul",
                "value": row[f"per_pixel_{key}_share_of_matmul"], "unit": "share",
                "by_cpu_time": row[f"per_pixel_{key}_share_of_matmul_cpu_time"],
                "pixels_per_s": row[f"per_pixel_{key}_pixels_per_s"]})
    return figures


def bench_scaling(mode, _done=None):
    sizes = ["500", "1000", "2000"] if mode == "quick" else ["500", "1000", "2000", "4000"]
    result = bench_script("scaling_bench.py", "--sizes", *sizes)
    figures = []
    for row in result["rows"]:
        for key, label in (("align_s", "align 9 factors"), ("buildsamples_s", "buildsamples"),
                           ("predict_cnn24_s", "predict (CNN, patch 24)")):
            figures.append({"name": f"{label} {row['size']}x{row['size']}", "value": row[key],
                            "unit": "s"})
        figures.append({"name": f"align / plain gdalwarp {row['size']}x{row['size']}",
                        "value": row["align_over_gdalwarp"], "unit": "ratio"})
    for step, value in result["growth_exponent"].items():
        figures.append({"name": f"{step} growth exponent (time ~ pixels^b)", "value": value,
                        "unit": "b"})
    return figures


# The 14 M-pixel basin of the cluster projection is mapped with CTLGNet 72x72x9: the
# rate of one engine process is this prediction figure of the same run.
BASIN_RATE_FIGURE = "ctlgnet predict 72x72x9 stride 1, new path"


def basin_rate(done):
    """The engine process's pixels/s for the cluster projection, from the prediction
    figures of this run (``done``: the benchmarks so far); None without them."""
    return next((f["value"] for f in done.get("prediction", [])
                 if f["name"] == BASIN_RATE_FIGURE and f["value"]), None)


def bench_cluster(mode, done):
    """Maps on a local Dask cluster (bench/cluster_bench.py): in-process vs 1 and 2
    workers; the basin projected at the CTLGNet 72x72x9 rate of this run's prediction
    benchmark (cluster_bench.py's own default when it did not run)."""
    size = "192" if mode == "quick" else "512"
    rate = basin_rate(done)
    extra = ("--basin-pixels-per-s", str(rate)) if rate else ()
    result = bench_script("cluster_bench.py", "--size", size, *extra, timeout=7200)
    label = f"{result['model']} {result['patch']}x{result['patch']}x{result['bands']}"
    figures = [{"name": f"{label} tiles of {result['tile']}, in the engine process",
                "value": result["in_process_tiles_per_s"], "unit": "tiles/s"}]
    for row in result["cluster"]:
        figures.append({"name": f"{label} tiles of {result['tile']}, {row['workers']} local "
                                "Dask workers", "value": row["tiles_per_s"], "unit": "tiles/s",
                        "first_job_s": row["first_job_s"]})
    figures += [
        {"name": "Dask: efficiency of 2 workers (speed-up / 2)",
         "value": result["efficiency_2_workers"], "unit": "ratio", "cores": result["cores"]},
        {"name": "Dask: scheduling overhead per tile",
         "value": result["scheduling_overhead_per_tile_s"], "unit": "s"},
        {"name": "Dask: maps identical to the engine process's",
         "value": result["maps_identical"], "unit": "bool"}]
    source = (f"{BASIN_RATE_FIGURE} of this run" if rate else
              "cluster_bench.py's --basin-pixels-per-s default")
    for workers, hours in result["projection_hours_14M_px_ctlgnet_72"].items():
        figures.append({"name": f"projection 14 M px CTLGNet 72x72x9, {workers} workers",
                        "value": hours, "unit": "h",
                        "engine_pixels_per_s": result["basin_pixels_per_s"],
                        "rate_from": source})
    return figures


def bench_accuracy(mode, _done=None):
    return bench_script("accuracy_bench.py", "--mode", mode, timeout=7200)["figures"]


BENCHMARKS = [
    ("engine", bench_engine_start),
    ("sample_area", bench_sample_area),
    ("models", bench_models),
    ("training", bench_training),
    ("prediction", bench_prediction),
    ("scaling", bench_scaling),
    ("accuracy", bench_accuracy),
    ("cluster", bench_cluster),
]


# The CPU's vector instruction sets that set the matmul rate (the same "AMD EPYC"
# has come with and without AVX-512 on this project's machines).
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")


def simd_flags(cpuinfo="/proc/cpuinfo"):
    """Which of :data:`SIMD_FLAGS` the CPU lists (empty when cpuinfo is unreadable)."""
    try:
        with open(cpuinfo, encoding="utf-8") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle
                          if line.startswith("flags")), [])
    except OSError:
        return []
    return [flag for flag in SIMD_FLAGS if flag in flags]


def machine(engine_info):
    return {"cores": os.cpu_count(), "cpu": engine_info.get("cpu"), "simd": simd_flags(),
            "gpus": engine_info.get("gpus", []), "python": platform.python_version(),
            "tensorflow": engine_info.get("tensorflow"), "keras": engine_info.get("keras"),
            "numpy": engine_info.get("numpy"), "gdal": engine_info.get("gdal"),
            "platform": platform.platform()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["quick", "full"], default="quick")
    parser.add_argument("--output", default=os.path.join(REPO, "bench", "results.json"))
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args()
    results = {"mode": args.mode, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "benchmarks": {}}
    engine_info = {}
    for name, function in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        figures = function(args.mode, results["benchmarks"])
        if name == "engine":
            figures, engine_info = figures
        results["benchmarks"][name] = figures
    if "training" in results["benchmarks"]:
        results["benchmarks"]["training"] += training_shares(results["benchmarks"])
    if not engine_info:
        engine_info = engine("check", {})[0]
    results["machine"] = machine(engine_info)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    print(json.dumps(results, indent=2))
    print("\n" + table(results["benchmarks"]), file=sys.stderr)
    print(f"written to {args.output}", file=sys.stderr)


def table(benchmarks):
    """The printed table: one line per figure; a missing value (e.g. the FLOPs of a
    classical model) as "–"."""
    lines = [f"{'benchmark':44s} {'value':>12s}  unit"]
    for figures in benchmarks.values():
        for figure in figures:
            value = "–" if figure["value"] is None else figure["value"]
            lines.append(f"{figure['name']:44s} {value:>12}  {figure['unit']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
