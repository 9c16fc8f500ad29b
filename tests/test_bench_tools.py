"""The benchmark scripts' own arithmetic (``bench/``): the figures ``make bench``
derives from others. The scripts themselves are checked by running ``make bench``;
these are their pure parts."""

import importlib.util
import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"


def load(name):
    """A bench script as a module (``bench/`` is no package), loaded from its file."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run():
    return load("run")


def training_figure(model, batch, patches_per_s):
    return {"name": f"{model} training step, new path, batch {batch}",
            "value": patches_per_s, "unit": "patches/s", "model": model, "batch": batch,
            "new_over_old": 1.0}


def test_training_shares_count_three_forward_passes(run):
    benchmarks = {
        "models": [{"name": "cnn FLOPs per patch 72x72x9", "value": 2e6, "unit": "FLOP",
                    "model": "cnn"},
                   {"name": "cnn inference batch 256", "value": 900.0, "unit": "patches/s"}],
        "prediction": [{"name": "matmul 2048x2048 float32", "value": 100.0,
                        "unit": "GFLOP/s"}],
        "training": [training_figure("cnn", 16, 5000.0), training_figure("cnn", 128, 8000.0),
                     {"name": "cnn training step, old path, batch 16", "value": 4000.0,
                      "unit": "patches/s"}]}
    shares = run.training_shares(benchmarks)
    assert [s["value"] for s in shares] == [pytest.approx(3 * 2e6 * 5000 / 100e9, abs=1e-3),
                                            pytest.approx(3 * 2e6 * 8000 / 100e9, abs=1e-3)]
    assert "batch 16" in shares[0]["name"] and "batch 128" in shares[1]["name"]
    assert {s["unit"] for s in shares} == {"share"}


def test_training_shares_need_the_matmul_figure(run):
    benchmarks = {"models": [{"name": "x", "value": 1e6, "unit": "FLOP", "model": "cnn"}],
                  "training": [training_figure("cnn", 16, 10.0)]}
    assert run.training_shares(benchmarks) == []


def test_table_prints_a_missing_value_as_a_dash(run):
    text = run.table({"models": [{"name": "random_forest FLOPs", "value": None,
                                  "unit": "FLOP"},
                                 {"name": "cnn parameters", "value": 20588,
                                  "unit": "parameters"}]})
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[1].split()[-2:] == ["–", "FLOP"]
    assert lines[2].split()[-2:] == ["20588", "parameters"]


def test_cluster_projection_takes_this_runs_prediction_rate(run):
    figure = {"name": run.BASIN_RATE_FIGURE, "value": 431.3, "unit": "pixels/s"}
    other = {"name": "vit predict 72x72x9 stride 1, new path", "value": 99.0,
             "unit": "pixels/s"}
    assert run.basin_rate({"prediction": [other, figure]}) == 431.3
    assert run.basin_rate({"prediction": [other]}) is None
    assert run.basin_rate({}) is None


def test_cluster_projection_hours():
    cluster = load("cluster_bench")
    hours = cluster.projection(1000.0, 2.0, 512, (1, 4))
    tiles = cluster.BASIN_PIXELS / 512 ** 2
    assert hours["1"] == pytest.approx((cluster.BASIN_PIXELS / 1000 + 2 * tiles) / 3600,
                                       abs=1e-3)
    assert hours["4"] == pytest.approx((cluster.BASIN_PIXELS / 4000 + 2 * tiles) / 3600,
                                       abs=1e-3)


def test_later_repeats_keep_the_same_folds(monkeypatch):
    """``accuracy_bench.py --first-repeat``: the compare command's plan without the
    earlier repeats, the later ones as in a full run; the plan is restored after."""
    import types

    accuracy_cv = load("accuracy_cv")
    from landslide_susceptibility.engine.commands import compare

    def full_plan(*args, **kwargs):
        splits = [(repeat, fold, {"fold": fold}) for repeat in range(3) for fold in range(5)]
        return types.SimpleNamespace(splits=splits)

    monkeypatch.setattr(compare, "plan_folds", full_plan)
    with accuracy_cv.repeats_from(1):
        kept = compare.plan_folds().splits
    assert kept == full_plan().splits[5:]
    assert compare.plan_folds is full_plan


def test_machine_names_the_vector_instruction_sets(run, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: AMD EPYC\nflags\t\t: fpu avx2 fma avx512f avx512_bf16 "
                       "sse4_2\n", encoding="utf-8")
    assert run.simd_flags(str(cpuinfo)) == ["avx2", "fma", "avx512f", "avx512_bf16"]
    assert run.simd_flags(str(tmp_path / "missing")) == []
    assert "simd" in run.machine({})
