"""Evaluation metrics of the paper (plus Brier), computed with scikit-learn.

All metrics are on one split, for the landslide class (label 1), with class
predictions at probability >= 0.5. RMSE, MAE and Brier score are of the
landslide probability against the 0/1 label. Returned as fractions.
"""

import numpy as np
from sklearn import metrics as skm

METRICS = ("oa", "precision", "recall", "f1", "mcc", "kappa", "auc", "rmse", "mae", "brier")
LABELS = {"oa": "Overall accuracy", "precision": "Precision", "recall": "Recall",
          "f1": "F1 score", "mcc": "Matthews correlation (MCC)", "kappa": "Cohen's kappa",
          "auc": "AUC (ROC)", "rmse": "RMSE", "mae": "MAE", "brier": "Brier score"}
HIGHER_IS_BETTER = {name: name not in ("rmse", "mae", "brier") for name in METRICS}


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
