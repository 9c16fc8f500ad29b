"""The evaluation metrics by name: their order, labels and direction.

The one registry of metric names: the engine computes them
(``engine/metrics.py``), the reports and the Processing tables show them.
Values are fractions, for the landslide class (label 1).
"""

METRIC_ORDER = ("oa", "precision", "recall", "f1", "mcc", "kappa", "auc", "rmse", "mae",
                "brier")
# Short labels: table headers and report rows.
METRIC_LABELS = {"oa": "OA", "precision": "Precision", "recall": "Recall", "f1": "F1",
                 "mcc": "MCC", "kappa": "Kappa", "auc": "AUC", "rmse": "RMSE", "mae": "MAE",
                 "brier": "Brier"}
# Long labels: log lines ("test Overall accuracy: 0.9120").
METRIC_LONG_LABELS = {"oa": "Overall accuracy", "precision": "Precision", "recall": "Recall",
                      "f1": "F1 score", "mcc": "Matthews correlation (MCC)",
                      "kappa": "Cohen's kappa", "auc": "AUC (ROC)", "rmse": "RMSE",
                      "mae": "MAE", "brier": "Brier score"}
LOWER_IS_BETTER = frozenset({"rmse", "mae", "brier"})


def metrics_rows(values, labels=None):
    """``[(name, value)]`` of the metrics in ``values``, in order: the code
    (``"oa"``: the Processing metrics tables), or its entry in ``labels`` (e.g.
    :data:`METRIC_LABELS`: the report tables)."""
    return [(labels[name] if labels else name, values[name]) for name in METRIC_ORDER
            if name in values]


def metric_lines(values, split):
    """One log line per metric in ``values``: ``"test Overall accuracy: 0.9120"``."""
    return [f"{split} {METRIC_LONG_LABELS[name]}: {values[name]:.4f}" for name in METRIC_ORDER
            if name in values]
