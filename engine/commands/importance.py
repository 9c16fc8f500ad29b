"""``importance``: random-forest factor importance (the paper's "LCFs selection", 2).

Input: the QGIS side (``landslide:factorimportance``) samples the stack and
writes a ``.npz`` with ``values`` (float64 ``[n, factors]``), ``labels`` (1 =
landslide, 0 = not) and ``names``; only scikit-learn runs here.

Spec: :class:`..core.specs.ImportanceSpec` (``samples``: the .npz path,
``seed``, ``trees``, ``test_fraction``, ``repeats`` of the permutation,
``n_jobs``; defaults there).

A stratified split keeps ``test_fraction`` of the samples aside. A
``RandomForestClassifier`` (``oob_score=True``) is fitted on the rest; its
Gini (mean decrease in impurity) importances sum to 1. Permutation importance
(``sklearn.inspection.permutation_importance``, scoring ROC AUC) is computed on
the held-out samples: it is less biased towards factors with many distinct
values. Returns the importances, the out-of-bag accuracy and AUC, and the
held-out AUC.
"""

import numpy as np

from ...core.errors import CancelledError, InputError
from ...core.specs import ImportanceOutcome


def fit_importance(values, labels, spec):
    """The forest and its importances for ``values`` ``[n, k]`` and ``labels`` ``[n]``,
    with the settings of ``spec`` (an :class:`ImportanceSpec`)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    values = np.asarray(values, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    classes, counts = np.unique(labels, return_counts=True)
    if classes.size != 2 or counts.min() < 4:
        found = dict(zip(classes.tolist(), counts.tolist(), strict=True))
        raise InputError("Factor importance needs landslide and non-landslide samples "
                         f"(at least 4 of each); got {found}.")
    seed, n_jobs = spec.seed, spec.n_jobs
    x_train, x_test, y_train, y_test = train_test_split(
        values, labels, test_size=spec.test_fraction, random_state=seed, stratify=labels)
    forest = RandomForestClassifier(n_estimators=spec.trees, oob_score=True, random_state=seed,
                                    n_jobs=n_jobs)
    forest.fit(x_train, y_train)
    oob_probability = forest.oob_decision_function_[:, 1]
    finite = np.isfinite(oob_probability)
    oob_auc = float(roc_auc_score(y_train[finite], oob_probability[finite]))
    test_auc = float(roc_auc_score(y_test, forest.predict_proba(x_test)[:, 1]))
    permutation = permutation_importance(forest, x_test, y_test, scoring="roc_auc",
                                         n_repeats=spec.repeats, random_state=seed, n_jobs=n_jobs)
    return forest, {
        "gini": forest.feature_importances_.tolist(),
        "permutation": permutation.importances_mean.tolist(),
        "permutation_std": permutation.importances_std.tolist(),
        "oob_score": float(forest.oob_score_), "oob_auc": oob_auc, "test_auc": test_auc,
        "n_train": int(y_train.size), "n_test": int(y_test.size),
        "trees": spec.trees, "seed": seed, "test_fraction": spec.test_fraction,
        "repeats": spec.repeats}


def run(spec, reporter):
    path = spec.samples
    try:
        data = np.load(path, allow_pickle=False)
        values, labels = data["values"], data["labels"]
        names = [str(name) for name in data["names"]]
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"Cannot read the samples '{path}': {exc}") from exc
    if values.ndim != 2 or values.shape[1] != len(names) or values.shape[0] != labels.size:
        raise InputError(f"The samples '{path}' are inconsistent: values {values.shape}, "
                         f"labels {labels.shape}, {len(names)} names.")
    reporter.info(f"Random forest on {labels.size} samples "
                  f"({int((labels == 1).sum())} landslide, {int((labels == 0).sum())} not), "
                  f"{len(names)} factors.")
    reporter.progress(5)
    if reporter.is_cancelled():
        raise CancelledError()
    _forest, result = fit_importance(values, labels, spec)
    if reporter.is_cancelled():
        raise CancelledError()
    reporter.info(f"Out-of-bag accuracy {result['oob_score']:.3f}, out-of-bag AUC "
                  f"{result['oob_auc']:.3f}, held-out AUC {result['test_auc']:.3f}.")
    reporter.progress(100)
    return ImportanceOutcome(names=names, **result)
