"""Evaluation metrics of the paper (plus Brier), computed with scikit-learn.

All metrics are on one split, for the landslide class (label 1), with class
predictions at probability >= 0.5. RMSE, MAE and Brier score are of the
landslide probability against the 0/1 label. Returned as fractions. Their
names, order and labels: :mod:`..core.metric_names`.
"""

import numpy as np
from sklearn import metrics as skm

from ..core.metric_names import metric_lines


def evaluate(y_true, probability, threshold=0.5):
    """``{metric: value}`` for labels ``y_true`` and landslide probabilities."""
    y_true = np.asarray(y_true).astype(int)
    probability = np.asarray(probability, dtype=float)
    predicted = (probability >= threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    return {
        "oa": float(skm.accuracy_score(y_true, predicted)),
        "precision": float(skm.precision_score(y_true, predicted, zero_division=0)),
        "recall": float(skm.recall_score(y_true, predicted, zero_division=0)),
        "f1": float(skm.f1_score(y_true, predicted, zero_division=0)),
        "mcc": float(skm.matthews_corrcoef(y_true, predicted)),
        "kappa": float(skm.cohen_kappa_score(y_true, predicted)),
        "auc": float(skm.roc_auc_score(y_true, probability)) if both else float("nan"),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, probability))),
        "mae": float(skm.mean_absolute_error(y_true, probability)),
        "brier": float(skm.brier_score_loss(y_true, probability)),
    }


def roc_curve(y_true, probability, max_points=400):
    """ROC curve as lists (fpr, tpr), thinned to at most ``max_points``."""
    fpr, tpr, _ = skm.roc_curve(np.asarray(y_true).astype(int), probability)
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return [float(v) for v in fpr], [float(v) for v in tpr]


def confusion(y_true, probability, threshold=0.5):
    """[[TN, FP], [FN, TP]] as nested lists."""
    predicted = (np.asarray(probability) >= threshold).astype(int)
    return skm.confusion_matrix(np.asarray(y_true).astype(int), predicted,
                                labels=[0, 1]).tolist()


def report_metrics(reporter, values, split):
    """Log one line per metric of ``values`` (``"test Overall accuracy: 0.9120"``)."""
    for line in metric_lines(values, split):
        reporter.info(line)
