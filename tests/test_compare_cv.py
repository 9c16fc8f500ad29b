"""comparemodels with spatial cross-validation (issue 17): folds x models through the
executor, mean ± sd per model, per-fold rows, the paired tests and the verdict,
the report's box plot and pooled ROC, the refit, cancel."""

import base64
import json
import os
import re

import numpy as np
import pytest

from landslide_susceptibility.core import folds
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.sample_layer import read_sample_layer
from landslide_susceptibility.core.specs import CompareOutcome, ComparisonRow

TINY = {"epochs": 1, "batch_size": 16, "optimizer": "adam", "seed": 3}
CV = {"validation": "spatial_kfold", "folds": 2, "block_size": 400.0}
QUICK_MODELS = ["logistic", "frequency_ratio"]  # no epochs: seconds per fold


@pytest.fixture(scope="module")
def cv_samples(small_stack, sample_area, tmp_path_factory):
    """Random-split samples (patch 16, 100 per class) on ``small_stack`` (10 m cells):
    blocks of 400 m hold enough landslides for 2 folds."""
    from landslide_susceptibility.core.build_samples import build_samples

    path = str(tmp_path_factory.mktemp("cv_samples") / "samples.gpkg")
    build_samples(small_stack, sample_area["files"]["landslides"], path, patch_size=16,
                  samples_per_class=100, seed=0)
    return path


def _compare(stack, samples, folder, reporter, models, **extra):
    from landslide_susceptibility.engine.commands import run_command

    params = dict(TINY, **CV, stack=stack, samples=samples, models=models,
                  output_folder=str(folder), output_report=str(folder / "compare.html"))
    return run_command("compare", dict(params, **extra), reporter)


def _images(html):
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"',
                                                          html)]


def test_spatial_two_fold_comparison_end_to_end(small_stack, cv_samples, tmp_path,
                                                fake_reporter):
    result = _compare(small_stack, cv_samples, tmp_path / "out", fake_reporter, QUICK_MODELS)
    assert isinstance(result, CompareOutcome) and not result.cancelled
    assert result.validation == "spatial_kfold"
    assert [row.model for row in result.rows] == QUICK_MODELS
    for row in result.rows:
        assert isinstance(row, ComparisonRow) and row.folds == 2
        per_fold = [r["metrics"]["auc"] for r in result.fold_rows if r["model"] == row.model]
        assert len(per_fold) == 2
        assert row.metrics["auc"] == pytest.approx(np.mean(per_fold), abs=1e-6)
        assert row.metrics_sd["auc"] == pytest.approx(np.std(per_fold, ddof=1), abs=1e-6)
        assert set(row.metrics_sd) == set(row.metrics)
        assert os.path.exists(row.model_path)  # the refit on all samples
        assert os.path.dirname(row.model_path) == str(tmp_path / "out")
    best = max(result.rows, key=lambda row: row.metrics["auc"])
    other = next(row for row in result.rows if row is not best)
    assert result.best_model == best.model and best.p_ttest is None
    assert 0 <= other.p_ttest <= 1 and 0 <= other.p_wilcoxon <= 1
    assert other.auc_difference == pytest.approx(
        best.metrics["auc"] - other.metrics["auc"], abs=1e-5)
    assert "is best by mean AUC" in result.verdict and "significant at 5 %" in result.verdict
    assert result.verdict in fake_reporter.messages
    # Only the refits stay in the output folder: the folds' models were removed.
    assert not [name for name in os.listdir(tmp_path / "out") if name.startswith("r0f")]
    assert CompareOutcome.from_json(json.loads(json.dumps(result.to_json()))) == result
    html = open(result.report, encoding="utf-8").read()
    assert "Test AUC of every fold" in html and "test predictions of every fold pooled" in html
    assert result.verdict.split(" (")[0] in html
    images = _images(html)
    assert len(images) == 2 and all(len(image) > 2000 for image in images)


def test_tasks_are_json_and_the_same_task_gives_the_same_result(small_stack, cv_samples,
                                                                tmp_path, fake_reporter):
    from landslide_susceptibility.core.specs import CompareSpec
    from landslide_susceptibility.engine.commands import compare
    from landslide_susceptibility.engine.executors import run_task

    spec = CompareSpec.from_json(dict(TINY, **CV, stack=small_stack, samples=cv_samples,
                                      models=["logistic"], refit=False,
                                      output_folder=str(tmp_path))).validate()
    plan = compare.Plan("spatial_kfold", [(0, 1, folds.kfold_split(40, 2, 0, 1, 3, 16))])
    (task,) = compare.make_tasks(spec, plan, str(tmp_path))
    task = json.loads(json.dumps(task))
    first, again = run_task(task, fake_reporter), run_task(task, fake_reporter)
    assert json.loads(json.dumps(first)) == first
    assert first["metrics"] == again["metrics"] and first["probability"] == again["probability"]
    rows, cols, labels, splits = read_sample_layer(cv_samples)
    split = folds.split_of(rows, cols, labels, splits, task["split"])
    assert first["counts"]["test"] == int((split == "test").sum()) == len(first["labels"])
    assert first["model_path"] is None and not os.listdir(tmp_path)


class CancelAfter:
    """A reporter that asks to cancel once ``count`` tasks have started."""

    def __init__(self, count):
        self.count, self.started, self.messages = count, 0, []

    def progress(self, value):
        pass

    def info(self, message):
        self.messages.append(message)
        self.started += message.startswith("== ")

    warning = info

    def is_cancelled(self):
        return self.started > self.count


def test_cancel_keeps_the_folds_that_finished(small_stack, cv_samples, tmp_path):
    reporter = CancelAfter(2)
    result = _compare(small_stack, cv_samples, tmp_path / "out", reporter, QUICK_MODELS)
    assert result.cancelled and result.rows
    assert all(row.folds == 1 and row.cancelled for row in result.rows)
    assert any(m.startswith("Cancelled: 2 of 6 trainings finished") for m in reporter.messages)


def test_too_many_folds_for_the_landslide_blocks_is_refused(small_stack, cv_samples, tmp_path,
                                                             fake_reporter):
    with pytest.raises(InputError, match=r"Folds \(k\) \(FOLDS\): 9 folds need 9 blocks"):
        _compare(small_stack, cv_samples, tmp_path / "out", fake_reporter, ["logistic"],
                 folds=9, block_size=0.0)


@pytest.mark.slow
def test_compare_models_through_processing_with_spatial_folds(run_alg, small_stack,
                                                              cv_samples, tmp_path):
    """A network and a classical model, 2 spatial folds: the tables' mean and sd
    columns and the per-fold table."""
    from landslide_susceptibility.core.specs.training import VALIDATION_METHODS, all_models

    codes = all_models()
    result = run_alg("landslide:comparemodels", dict(
        STACK=small_stack, SAMPLES=cv_samples, EPOCHS=1, BATCH_SIZE=16, OPTIMIZER=1, SEED=3,
        MODELS=[codes.index("cnn"), codes.index("logistic")],
        VALIDATION=[c for c, _ in VALIDATION_METHODS].index("spatial_kfold"), FOLDS=2,
        BLOCK_SIZE=400.0, OUTPUT_FOLDER=str(tmp_path / "models"),
        OUTPUT_TABLE="TEMPORARY_OUTPUT", OUTPUT_FOLDS="TEMPORARY_OUTPUT",
        OUTPUT_REPORT=str(tmp_path / "compare.html")))
    rows = {f["model"]: f for f in result["OUTPUT_TABLE"].getFeatures()}
    blend = "cnn & logistic"  # Score a blend (on by default): the two models' mean
    assert set(rows) == {"cnn", "logistic", blend}
    for row in rows.values():
        assert row["folds"] == 2 and 0 <= row["auc"] <= 1 and row["auc_sd"] >= 0
    for name in ("cnn", "logistic"):
        assert os.path.exists(rows[name]["model_path"])
    assert not rows[blend]["model_path"]
    assert rows["cnn"]["flops_per_patch"] > 0
    fold_rows = list(result["OUTPUT_FOLDS"].getFeatures())
    assert sorted((f["model"], f["fold"]) for f in fold_rows) == [
        ("cnn", 1), ("cnn", 2), (blend, 1), (blend, 2), ("logistic", 1), ("logistic", 2)]
    assert result["BEST_MODEL"] in ("cnn", "logistic") and "best by mean AUC" in result["VERDICT"]
    assert "(a blend: the mean of the two models' probabilities)" in result["VERDICT"]


def test_ensemble_result_scores_the_mean_probability():
    from sklearn.metrics import roc_auc_score

    from landslide_susceptibility.engine.executors import ensemble_result

    rng = np.random.default_rng(3)
    labels = [int(v) for v in rng.integers(0, 2, 40)]
    members = [{"id": "cnn/r0f0", "model": "cnn", "kind": "fold", "labels": labels,
                "probability": [float(v) for v in rng.random(40)], "seconds": 2.0,
                "model_path": None, "cancelled": False} for _ in range(3)]
    for member in members:
        member["metrics"] = {"auc": float(roc_auc_score(labels, member["probability"]))}
    result = ensemble_result(members)
    mean = np.mean([m["probability"] for m in members], axis=0)
    np.testing.assert_allclose(result["probability"], mean)
    assert result["metrics"]["auc"] == pytest.approx(roc_auc_score(labels, mean))
    assert result["member_auc"] == [m["metrics"]["auc"] for m in members]
    assert result["seconds"] == 6.0 and result["member_paths"] == []
    members[1] = dict(members[1], labels=labels[::-1])
    with pytest.raises(RuntimeError, match="different samples"):
        ensemble_result(members)


NETWORK = dict(TINY, pretrain=False)


def test_deep_ensemble_fold_is_the_mean_of_its_seeds(small_stack, cv_samples, tmp_path,
                                                     fake_reporter):
    """A fold of two seeds scores the mean of the two networks that the same fold
    trains alone with those seeds; the split is the task's, whatever the seed."""
    from landslide_susceptibility.core.specs import CompareSpec
    from landslide_susceptibility.engine.commands import compare
    from landslide_susceptibility.engine.executors import member_tasks, run_one, run_task

    spec = CompareSpec.from_json(dict(NETWORK, **CV, stack=small_stack, samples=cv_samples,
                                      models=["cnn", "logistic"], refit=False,
                                      ensemble_seeds=2, output_folder=str(tmp_path)))
    plan = compare.Plan("spatial_kfold", [(0, 1, folds.kfold_split(40, 2, 0, 1, 3, 16))])
    cnn, logistic = compare.make_tasks(spec.validate(), plan, str(tmp_path))
    assert (cnn["members"], logistic["members"]) == (2, 1)  # classical models: once
    ensemble = run_task(json.loads(json.dumps(cnn)), fake_reporter)
    alone = [run_one(task, fake_reporter) for task in member_tasks(cnn, 2)]
    assert [task["train_spec"]["seed"] for task in member_tasks(cnn, 2)] == [3, 4]
    assert alone[0]["labels"] == alone[1]["labels"] == ensemble["labels"]
    np.testing.assert_allclose(ensemble["probability"],
                               np.mean([a["probability"] for a in alone], axis=0), atol=1e-6)
    assert ensemble["member_auc"] == pytest.approx([a["metrics"]["auc"] for a in alone])
    assert "Seed 4: member 2 of 2 of the deep ensemble" in fake_reporter.messages


def test_deep_ensemble_refit_saves_every_seed(small_stack, cv_samples, tmp_path,
                                              fake_reporter):
    result = _compare(small_stack, cv_samples, tmp_path / "out", fake_reporter, ["cnn"],
                      **NETWORK, ensemble_seeds=2)
    (row,) = result.rows
    assert row.folds == 2 and os.path.basename(row.model_path) == "cnn.keras"
    assert os.path.exists(tmp_path / "out" / "cnn_seed4.keras")
    assert all(len(r["member_auc"]) == 2 for r in result.fold_rows)
    line = next(m for m in fake_reporter.messages if "one per seed" in m)
    assert line.startswith("CNN (10 layers): 2 models saved")
    assert "cnn.keras, cnn_seed4.keras" in line and "Additional models (ensemble)" in line
    assert "<th>ensemble_seeds</th><td>2</td>" in open(result.report, encoding="utf-8").read()


def test_deep_ensemble_stops_at_a_cancelled_member(monkeypatch, fake_reporter):
    """A member cancelled mid-training ends the task: its result (cancelled) is the
    task's, and no later member starts."""
    from landslide_susceptibility.engine import executors

    started = []

    def one(task, reporter):
        started.append(task["train_spec"]["seed"])
        return {"id": task["id"], "cancelled": len(started) == 2, "labels": [0, 1],
                "probability": [0.2, 0.8], "metrics": {"auc": 1.0}, "seconds": 1.0,
                "model_path": None}

    monkeypatch.setattr(executors, "run_one", one)
    task = {"id": "cnn/r0f0", "kind": "fold", "title": "cnn, fold 1/5", "members": 3,
            "train_spec": {"seed": 7, "output_model": "/x/cnn.keras"}}
    result = executors.run_task(task, fake_reporter)
    assert result["cancelled"] and started == [7, 8]
    assert "member_auc" not in result
