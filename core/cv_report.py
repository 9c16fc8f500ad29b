"""The report of a model comparison (comparemodels), cross-validated or not.

The verdict in plain words, the metrics of every model as mean ± sd over the
folds (★ the best per metric), the paired tests against the best model, a box
plot of the test AUC of every fold per model, the ROC curves of all folds' test
predictions pooled per model, and the table of every fold. Built on
:mod:`.report` (matplotlib Agg, one self-contained HTML file); takes plain
values (a :class:`.specs.CompareOutcome` and lists), no TensorFlow.
"""

import math

from .metric_names import (
    LOWER_IS_BETTER,
    METRIC_KIND,
    METRIC_LABELS,
    METRIC_ORDER,
    format_number,
)
from .model_reports import roc_figure
from .report import Report, new_figure
from .specs.training import VALIDATION_METHODS

FOLD_METRICS = ("auc", "oa", "f1", "mcc", "kappa", "brier")


def write_cv_report(path, outcome, curves, settings, notes=()):
    """Write the comparison report of ``outcome`` at ``path``; returns ``path``.

    ``curves``: ``[(model, fpr, tpr, pooled AUC)]``; ``settings``: the inputs and
    settings table; ``notes``: how the folds were made."""
    method = dict(VALIDATION_METHODS).get(outcome.validation, outcome.validation)
    report = Report(f"Model comparison: {method}")
    report.settings(settings)
    report.heading("Verdict")
    report.paragraph(outcome.verdict)
    for note in notes:
        report.note(note)
    folds = max((row.folds for row in outcome.rows), default=0)
    add_metrics_table(report, outcome.rows, folds)
    if folds > 1:
        report.figure(auc_boxplot(outcome.fold_rows, [row.model for row in outcome.rows]),
                      caption="Test AUC of every fold, per model (box: quartiles; "
                              "points: the folds)")
    if curves:
        report.figure(roc_figure(curves),
                      caption="ROC curves of all models: the test predictions of every "
                              "fold pooled per model" if folds > 1 else
                      "ROC curves of all models, test split")
    if outcome.fold_rows:
        add_fold_table(report, outcome.fold_rows)
    if folds > 1:
        report.note(
            "Mean ± sd over the folds (sd with ddof 1). p (t-test): the corrected resampled "
            "t-test of Nadeau and Bengio (variance × (1/J + n_test/n_train)) of each "
            "model's per-fold AUC against the best model's; p (Wilcoxon): the Wilcoxon "
            "signed-rank test of the same pairs, which cannot go below 2/2^J with J folds. "
            "A difference is called significant when the t-test's p is below 0.05.")
    return report.write(path)


def _best_values(rows):
    """``{metric: best mean over rows}`` (lowest for errors, highest otherwise)."""
    best = {}
    for name in METRIC_ORDER:
        values = [r.metrics[name] for r in rows if r.metrics.get(name) is not None]
        if values:
            best[name] = min(values) if name in LOWER_IS_BETTER else max(values)
    return best


def add_metrics_table(report, rows, folds):
    """One row per model: every metric (mean ± sd), the tests, size and time."""
    best = _best_values(rows)
    headers = ["model"] + [METRIC_LABELS[m] for m in METRIC_ORDER]
    if folds > 1:
        headers += ["folds", "AUC below best", "p (t-test)", "p (Wilcoxon)"]
    headers += ["parameters", "FLOPs/patch", "training s" + (" per fold" if folds > 1 else ""),
                "model file"]
    table = []
    for row in rows:
        cells = [row.model]
        for name in METRIC_ORDER:
            value = row.metrics.get(name)
            sd = (row.metrics_sd or {}).get(name)
            text = format_number(value, METRIC_KIND)
            if sd is not None:
                text += f" ± {format_number(sd, METRIC_KIND)}"
            cells.append(text + (" ★" if value is not None and value == best.get(name) else ""))
        if folds > 1:
            cells += [row.folds, format_number(row.auc_difference, METRIC_KIND),
                      format_p(row.p_ttest), format_p(row.p_wilcoxon)]
        cells += [row.parameters, row.flops, row.seconds, row.model_path or ""]
        table.append(cells)
    what = "mean ± sd over the folds" if folds > 1 else "the test split"
    report.table(headers, table, title=f"Metrics: {what} (★ best per metric)")


def add_fold_table(report, fold_rows):
    headers = ["model", "repeat", "fold", "train", "validation", "test"] + \
        [METRIC_LABELS[m] for m in FOLD_METRICS] + ["training s"]
    table = [[r["model"], r["repeat"] + 1, r["fold"] + 1, r["train"], r["validation"],
              r["test"]] + [format_number(r["metrics"].get(m), METRIC_KIND)
                            for m in FOLD_METRICS] + [r["seconds"]]
             for r in sorted(fold_rows, key=lambda r: (r["repeat"], r["fold"]))]
    report.table(headers, table, title="Every fold (test split of the fold)")


def format_p(value):
    """A p-value for reading: two significant digits, ``< 0.001`` below that."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.2g}" if value >= 0.001 else "< 0.001"


def auc_boxplot(fold_rows, models):
    """Box plot of the per-fold test AUC of each model, the folds drawn as points."""
    values = [[r["metrics"]["auc"] for r in fold_rows if r["model"] == m
               and r["metrics"].get("auc") is not None
               and math.isfinite(r["metrics"]["auc"])] for m in models]
    fig = new_figure(max(4.0, 1.1 * len(models) + 2.0), 3.8)
    axes = fig.subplots()
    positions = list(range(1, len(models) + 1))
    axes.boxplot(values, positions=positions, widths=0.5, showmeans=True, showfliers=False,
                 medianprops={"color": "#33502a"},
                 meanprops={"marker": "D", "markerfacecolor": "#d95f0e",
                            "markeredgecolor": "#d95f0e", "markersize": 5})
    for position, points in zip(positions, values, strict=True):
        offsets = [((i % 5) - 2) * 0.04 for i in range(len(points))]
        axes.scatter([position + o for o in offsets], points, s=14, color="#2c7fb8",
                     zorder=3)
    axes.set_xticks(positions, models)
    axes.set(ylabel="test AUC", title="Test AUC per fold (◆ mean)")
    axes.grid(axis="y", alpha=0.3)
    return fig
