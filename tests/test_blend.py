"""Compare's blend row: the best network and the best classical model averaged fold
by fold, scored against sklearn on the mean probability, tested against the best
single model, never the best model itself."""

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from landslide_susceptibility.core.model_labels import blend_code, model_display_name
from landslide_susceptibility.engine import significance
from landslide_susceptibility.engine.commands.compare import summarise


def fold_result(model, repeat, fold, labels, probability):
    from landslide_susceptibility.engine import metrics

    return {"id": f"{model}/r{repeat}f{fold}", "model": model, "kind": "fold",
            "repeat": repeat, "fold": fold, "counts": {"train": 80, "validation": 20,
                                                       "test": len(labels)},
            "metrics": metrics.evaluate(np.asarray(labels), np.asarray(probability)),
            "labels": list(labels), "probability": list(probability), "seconds": 1.0,
            "parameters": None, "flops": None, "model_path": None, "cancelled": False}


def comparison(blend=True, models=("logistic", "random_forest", "cnn", "vit")):
    """Five folds; every model sees the truth through its own noise (the CNN less
    noisy than ViT, the forest than logistic), so the blend should gain."""
    rng = np.random.default_rng(0)
    noise = {"logistic": 1.5, "random_forest": 1.0, "cnn": 1.0, "vit": 2.0}
    tasks, results, truth = [], {}, {}
    for fold in range(5):
        labels = rng.integers(0, 2, 60)
        signal = labels + rng.normal(0, 0.6, 60)
        truth[fold] = labels
        for model in models:
            score = signal + rng.normal(0, noise[model], 60)
            result = fold_result(model, 0, fold, labels, 1 / (1 + np.exp(-score)))
            tasks.append({"id": result["id"], "kind": "fold", "model": model})
            results[result["id"]] = result
    spec = SimpleNamespace(models=list(models), blend=blend)
    plan = SimpleNamespace(splits=[None] * 5, method="spatial_kfold")
    return summarise(spec, plan, tasks, results, False), results, truth


def test_blend_row_is_the_mean_of_the_best_network_and_classical_model():
    outcome, results, truth = comparison()
    code = blend_code("cnn", "random_forest")
    assert code == "cnn & random_forest"
    assert model_display_name(code) == "CNN (10 layers) + Random forest (mean)"
    row = next(r for r in outcome.rows if r.model == code)
    expected = [roc_auc_score(truth[fold], (np.asarray(results[f"cnn/r0f{fold}"]["probability"])
                                            + results[f"random_forest/r0f{fold}"]["probability"])
                              / 2) for fold in range(5)]
    assert row.metrics["auc"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert row.folds == 5 and row.model_path is None
    assert outcome.best_model in ("logistic", "random_forest", "cnn", "vit")
    singles = {r.model: r.metrics["auc"] for r in outcome.rows if r.model != code}
    assert row.metrics["auc"] > max(singles.values())  # independent errors: the mean gains
    best = {(0, f): results[f"{outcome.best_model}/r0f{f}"]["metrics"]["auc"] for f in range(5)}
    paired = significance.paired(best, {(0, f): auc for f, auc in enumerate(expected)},
                                 {(0, f): (80, 60) for f in range(5)})
    assert row.auc_difference == pytest.approx(paired["difference"], abs=1e-6)
    assert row.auc_difference < 0  # the best single model's AUC minus the blend's
    assert row.p_ttest == pytest.approx(paired["p_ttest"], abs=1e-6)
    assert "CNN (10 layers) + Random forest (mean) (a blend" in outcome.verdict
    assert "above" in outcome.verdict and "Additional models (ensemble)" in outcome.verdict
    assert sum(1 for r in outcome.fold_rows if r["model"] == code) == 5


def test_no_blend_when_off_or_without_both_kinds():
    for outcome in (comparison(blend=False)[0],
                    comparison(models=("logistic", "random_forest"))[0],
                    comparison(models=("cnn", "vit"))[0]):
        assert not any(" & " in r.model for r in outcome.rows)
        assert "blend" not in outcome.verdict
