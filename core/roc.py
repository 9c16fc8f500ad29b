"""The area under the ROC curve, in numpy (no scikit-learn)."""

import numpy as np


def auc(labels, scores):
    """Area under the ROC curve of ``scores`` for boolean ``labels`` (mid-ranks for ties).

    The argument order is scikit-learn's ``roc_auc_score(y_true, y_score)``.
    NaN when ``labels`` hold only one class.
    """
    scores = np.asarray(scores).ravel()
    labels = np.asarray(labels, dtype=bool).ravel()
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ordered = np.sort(scores, kind="stable")
    hits = scores[labels]
    left = np.searchsorted(ordered, hits, side="left")
    right = np.searchsorted(ordered, hits, side="right")
    rank_sum = float(np.sum((left + right + 1) / 2.0))  # 1-based mid-ranks
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)
