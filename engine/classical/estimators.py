"""The scikit-learn models and their encodings of the features.

* ``logistic``: continuous features standardised with the training split's mean
  and standard deviation, categorical factors one-hot encoded (the card's
  classes); :class:`sklearn.linear_model.LogisticRegression`;
* ``random_forest``: continuous features as they are, categorical one-hot;
  :class:`sklearn.ensemble.RandomForestClassifier`;
* ``gradient_boosting``: continuous features as they are, a categorical factor
  as the index of its class (native categorical support, unknown classes
  missing); :class:`sklearn.ensemble.HistGradientBoostingClassifier`.

An encoding is plain JSON (kept in the model file beside the estimator).
scikit-learn is imported only when an estimator is made.
"""

import os

import numpy as np

from ...core.errors import InputError
from ...models.classical import NEIGHBOURHOOD
from .frequency_ratio import class_index

SMALL = 20000  # rows below which the estimators run on one thread (see _threads)
SKLEARN_MODELS = {"logistic": "LogisticRegression",
                  "random_forest": "RandomForestClassifier",
                  "gradient_boosting": "HistGradientBoostingClassifier"}
STATISTICAL_KEYS = ("bins", "smoothing")  # frequency ratio, weights of evidence
MAX_NATIVE_CLASSES = 255  # HistGradientBoostingClassifier's limit (max_bins)


def fit_encoding(model, x, columns, codes):
    """The encoding of ``model`` fitted on the training features ``x`` ``(N, F)``;
    ``columns`` ``(name, kind, band)``, ``codes`` ``{band: class codes}``."""
    continuous = [j for j, column in enumerate(columns) if column[1] == "continuous"]
    categorical = [{"column": j, "name": columns[j][0],
                    "classes": _codes(x[:, j], codes.get(columns[j][2]))}
                   for j, column in enumerate(columns) if column[1] == "categorical"]
    mean, std = [0.0] * len(continuous), [1.0] * len(continuous)
    if model == "logistic" and len(x):
        mean = [float(v) for v in x[:, continuous].mean(axis=0)]
        std = [float(v) if v > 0 else 1.0 for v in x[:, continuous].std(axis=0)]
    mode = "index" if model == "gradient_boosting" else "onehot"
    if mode == "index":
        for item in categorical:
            if len(item["classes"]) > MAX_NATIVE_CLASSES:
                raise InputError(
                    f"The categorical factor '{item['name']}' has {len(item['classes'])} "
                    f"classes; gradient boosting takes at most {MAX_NATIVE_CLASSES}. Merge "
                    "classes, or use another model.")
    return {"continuous": continuous, "mean": mean, "std": std, "categorical": categorical,
            "mode": mode}


def _codes(values, codes):
    if codes:
        return [int(c) for c in codes]
    return np.unique(values[np.isfinite(values)]).astype(int).tolist()


def encode(x, encoding):
    """The estimator's input (float64) for features ``x`` ``(N, F)``."""
    parts = [(x[:, encoding["continuous"]] - np.asarray(encoding["mean"]))
             / np.asarray(encoding["std"])]
    for item in encoding["categorical"]:
        values = x[:, item["column"]]
        if encoding["mode"] == "index":
            index = class_index(values, {"classes": item["classes"]}).astype(np.float64)
            parts.append(np.where(index >= 0, index, np.nan)[:, None])
        else:
            parts.append((values[:, None] == np.asarray(item["classes"], np.float64)[None, :])
                         .astype(np.float64))
    return np.concatenate(parts, axis=1)


def categorical_mask(encoding):
    """Which estimator inputs are categorical (gradient boosting's native support)."""
    width = len(encoding["continuous"])
    return [False] * width + [True] * len(encoding["categorical"])


def estimator_options(hparams):
    """The hyper-parameters that go to the scikit-learn estimator."""
    return {key: value for key, value in hparams.items()
            if key != NEIGHBOURHOOD and key not in STATISTICAL_KEYS}


def make_estimator(model, hparams, seed, encoding):
    """The (unfitted) scikit-learn estimator of ``model``."""
    options = estimator_options(hparams)
    if model == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(random_state=seed, **options)
    if model == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(random_state=seed, n_jobs=-1, **options)
    if model == "gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        mask = categorical_mask(encoding)
        return HistGradientBoostingClassifier(
            random_state=seed, categorical_features=mask if any(mask) else None,
            early_stopping=False, **options)
    raise ValueError(f"'{model}' is not a scikit-learn model")


def fit_estimator(model, hparams, seed, encoding, x, y):
    """Fit the estimator of ``model`` on features ``x`` and labels ``y``."""
    estimator = make_estimator(model, hparams, seed, encoding)
    try:
        with _threads(len(x)):
            estimator.fit(encode(x, encoding), np.asarray(y).astype(int))
        if hasattr(estimator, "n_jobs"):
            estimator.n_jobs = None  # prediction: threads over rows (_by_rows)
    except (ValueError, TypeError) as exc:  # a bad hyper-parameter value, mostly
        detail = " ".join(str(exc).split())[:300]
        raise InputError(f"Cannot fit {model} with the hyper-parameters "
                         f"{estimator_options(hparams)}: {detail}") from exc
    return estimator


def estimator_probability(estimator, x, encoding):
    """Landslide probability (class 1) of features ``x``."""
    if len(x) == 0:
        return np.empty(0)
    with _threads(len(x)):
        probability = _by_rows(estimator, encode(x, encoding))
    classes = list(estimator.classes_)
    return probability[:, classes.index(1)] if 1 in classes else np.zeros(len(x))


def _by_rows(estimator, x):
    """``predict_proba`` of a forest on row chunks in parallel threads (tree
    traversal releases the GIL): every row's trees are added in the same order
    whatever the threads, so the probabilities are reproducible, bit for bit
    (a forest's own ``n_jobs`` adds the trees' votes in the order threads finish,
    which breaks ties of the AUC differently from run to run)."""
    workers = min(os.cpu_count() or 1, max(1, len(x) // (SMALL // 4)))
    if not hasattr(estimator, "estimators_") or workers == 1:
        return estimator.predict_proba(x)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return np.concatenate(list(pool.map(estimator.predict_proba,
                                            np.array_split(x, workers))))


def _threads(rows):
    """One OpenMP/BLAS thread for small inputs: there the threads' start-up and
    synchronisation cost more than they gain (gradient boosting on a few thousand
    samples is several times slower with threads, far more on a busy machine)."""
    import contextlib

    if rows >= SMALL:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def estimator_size(estimator):
    """The estimator's number of fitted parameters: coefficients and intercept
    (logistic), tree nodes (forest, boosting)."""
    if hasattr(estimator, "coef_"):
        return int(np.size(estimator.coef_) + np.size(estimator.intercept_))
    if hasattr(estimator, "estimators_"):
        return int(sum(tree.tree_.node_count for tree in estimator.estimators_))
    if hasattr(estimator, "_predictors"):
        return int(sum(len(predictor.nodes) for stage in estimator._predictors
                       for predictor in stage))
    return 0


def estimator_summary(estimator):
    """Words for the log: trees or coefficients."""
    if hasattr(estimator, "coef_"):
        return f"{estimator_size(estimator)} coefficients"
    if hasattr(estimator, "estimators_"):
        return f"{len(estimator.estimators_)} trees, {estimator_size(estimator):,} nodes"
    if hasattr(estimator, "n_iter_"):
        return f"{estimator.n_iter_} boosting iterations, {estimator_size(estimator):,} nodes"
    return type(estimator).__name__
