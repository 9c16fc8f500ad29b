"""The evaluation metrics by name: their order, labels and direction; and the one
rounding rule of every number a report or a table shows.

The one registry of metric names: the engine computes them
(``engine/metrics.py``), the reports and the Processing tables show them.
Values are fractions, for the landslide class (label 1).
"""

import math
import numbers

METRIC_ORDER = ("oa", "precision", "recall", "f1", "mcc", "kappa", "auc", "rmse", "mae",
                "brier")
# Short labels: table headers and report rows.
METRIC_LABELS = {"oa": "OA", "precision": "Precision", "recall": "Recall", "f1": "F1",
                 "mcc": "MCC", "kappa": "Kappa", "auc": "AUC", "rmse": "RMSE", "mae": "MAE",
                 "brier": "Brier"}
# Long labels: log lines ("test Overall accuracy: 0.912") and the metrics tables.
METRIC_LONG_LABELS = {"oa": "Overall accuracy", "precision": "Precision", "recall": "Recall",
                      "f1": "F1 score", "mcc": "Matthews correlation (MCC)",
                      "kappa": "Cohen's kappa", "auc": "AUC (ROC)", "rmse": "RMSE",
                      "mae": "MAE", "brier": "Brier score"}
LOWER_IS_BETTER = frozenset({"rmse", "mae", "brier"})

# --- the rounding rule ---------------------------------------------------------------
# Decimals shown per kind of number, the same in every report, figure label and table:
# score   – fractions and scores on [0, 1] or [-1, 1]: the metrics, tolerance (TOL),
#           correlation, importance, validation accuracy;
# ratio   – unbounded ratios: FR, SCAI, VIF;
# percent – shares and densities shown in percent (area share, LD);
# area    – areas in km²;
# seconds – durations;
# count   – cells, samples, parameters, epochs.
DECIMALS = {"score": 3, "ratio": 2, "percent": 2, "area": 2, "seconds": 1, "count": 0}
METRIC_KIND = "score"  # every metric of METRIC_ORDER


def rounded(value, kind):
    """``value`` rounded by the rule of ``kind`` (an int for counts); None, NaN and
    infinities are returned as they are."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    value = float(value)
    if not math.isfinite(value):
        return value
    digits = DECIMALS[kind]
    return int(round(value)) if digits == 0 else round(value, digits)


def format_number(value, kind):
    """``value`` as text by the rule of ``kind``: ``"0.912"``, ``"12.50"``, ``"1024"``;
    ``""`` for None, ``"–"`` for NaN, ``"∞"`` for infinity; other values as ``str``."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    text = f"{value:.{DECIMALS[kind]}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def metrics_rows(values, labels=None):
    """``[(name, value)]`` of the metrics in ``values``, in order: the code
    (``"oa"``), or its entry in ``labels`` (e.g. :data:`METRIC_LABELS`: the report
    tables). Values as they are (not rounded)."""
    return [(labels[name] if labels else name, values[name]) for name in METRIC_ORDER
            if name in values]


# The Processing metrics tables (Test metrics, Metrics): the display name, the value
# rounded by the rule, and the code for scripts (``metric``: "oa", "auc", ...).
METRICS_TABLE_COLUMNS = [("name", str), ("value", float), ("metric", str)]


def metrics_table_rows(values):
    """Rows of :data:`METRICS_TABLE_COLUMNS` for the metrics in ``values``, in order."""
    return [(METRIC_LONG_LABELS[name], rounded(values[name], METRIC_KIND), name)
            for name in METRIC_ORDER if name in values]


def metric_lines(values, split):
    """One log line per metric in ``values``: ``"test Overall accuracy: 0.912"``."""
    return [f"{split} {METRIC_LONG_LABELS[name]}: {format_number(values[name], METRIC_KIND)}"
            for name in METRIC_ORDER if name in values]
