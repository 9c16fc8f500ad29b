"""Reports of trained models: training curves, metrics, ROC, confusion matrix,
model card, data leakage; and the multi-model comparison (the paper's Table 2).
Built on :mod:`.report`; the figures take plain lists, no TensorFlow.

Settings and card entries are shown with the labels of the specs' fields
(:meth:`.specs.Spec.params`) and the display names of their choices; numbers
by the rounding rule of :mod:`.metric_names`.
"""

from .metric_names import (
    LOWER_IS_BETTER,
    METRIC_KIND,
    METRIC_LABELS,
    METRIC_LONG_LABELS,
    METRIC_ORDER,
    format_number,
    metrics_rows,
)
from .model_labels import (
    card_facts,
    hparam_rows,
    labelled_settings,
    model_display_name,
    training_rows,
    version_rows,
)
from .report import Report, new_figure

__all__ = ["add_model_sections", "comparison_report", "confusion_figure", "curves_figure",
           "evaluation_report", "metrics_rows", "roc_figure", "training_report"]


def curves_figure(history, best_epoch=None):
    """Loss and accuracy per epoch (the curves ``history`` holds; those it lacks are
    left out)."""
    fig = new_figure(9.0, 3.4)
    loss_axes, acc_axes = fig.subplots(1, 2)
    for axes, name, title in ((loss_axes, "loss", "Loss"), (acc_axes, "accuracy", "Accuracy")):
        for key, label, colour in ((name, "training", "#2c7fb8"),
                                   (f"val_{name}", "validation", "#d95f0e")):
            values = history.get(key) or []
            if values:
                axes.plot(range(1, len(values) + 1), values, label=label, color=colour)
        axes.set(xlabel="epoch", ylabel=name, title=title)
        if best_epoch:
            axes.axvline(best_epoch, color="#555", linestyle=":", linewidth=1,
                         label=f"kept (epoch {best_epoch})")
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend()
    return fig


def roc_figure(curves):
    """``curves``: list of (label, fpr, tpr, auc)."""
    fig = new_figure(4.8, 4.6)
    axes = fig.subplots()
    for label, fpr, tpr, auc in curves:
        axes.plot(fpr, tpr, label=f"{model_display_name(label)} "
                                  f"(AUC {format_number(auc, METRIC_KIND)})")
    axes.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1)
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC",
             xlim=(0, 1), ylim=(0, 1.01))
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    return fig


def confusion_figure(matrix):
    fig = new_figure(3.8, 3.4)
    axes = fig.subplots()
    axes.imshow(matrix, cmap="Greens")
    names = ["non-landslide", "landslide"]
    axes.set_xticks([0, 1], names)
    axes.set_yticks([0, 1], names)
    axes.set(xlabel="predicted", ylabel="observed", title="Confusion matrix")
    top = max(max(row) for row in matrix) or 1
    for i in range(2):
        for j in range(2):
            axes.text(j, i, str(matrix[i][j]), ha="center", va="center",
                      color="white" if matrix[i][j] > top / 2 else "black")
    return fig


def metrics_table(report, metrics, split):
    """The metrics table: display names, values by the rounding rule."""
    rows = [(METRIC_LONG_LABELS[name], value) for name, value in metrics_rows(metrics)]
    report.table(["Metric", "Value"], rows, title=f"Metrics on the {split} split",
                 kinds=[None, METRIC_KIND])


def add_model_sections(report, card, metrics, roc, confusion, split="test"):
    if metrics:
        metrics_table(report, metrics, split)
    if roc:
        report.figure(roc_figure([(card["model"], roc[0], roc[1], metrics.get("auc", 0))]),
                      caption=f"ROC curve on the {split} split")
    if confusion:
        report.figure(confusion_figure(confusion),
                      caption=f"Confusion matrix on the {split} split (threshold 0.5)")
    _leakage_section(report, card)
    model_card_section(report, card)


def _leakage_section(report, card):
    leakage = ((card.get("data") or {}).get("samples_summary") or {}).get("leakage")
    if leakage is None:
        return
    report.heading("Data leakage")
    text = f"{format_number(100 * leakage, 'percent')} % of test patches overlap a " \
           "training patch."
    if leakage > 0:
        report.warning(text + " Overlapping patches share pixels, which inflates test "
                              "scores; the spatial-block split avoids it.")
    else:
        report.paragraph(text)


def model_card_section(report, card):
    """The model card as small tables: the model, its training, its
    hyper-parameters and the software versions (what the card holds)."""
    report.heading("Model card")
    report.settings(card_facts(card), title=None)
    for title, headers, rows in (
            ("Training", ["Setting", "Value"], training_rows(card.get("training"))),
            ("Hyper-parameters", ["Hyper-parameter", "Value"],
             hparam_rows(card.get("hparams"))),
            ("Versions", ["Software", "Version"], version_rows(card.get("versions")))):
        if rows:
            report.heading(title, level=3)
            report.table(headers, rows)


def _kept_by(card):
    """The rule that chose the kept epoch, as the dialog shows it."""
    from .specs.training import SELECTIONS

    kept_by = (card.get("training") or {}).get("kept_by", "val_accuracy")
    return dict(SELECTIONS).get(kept_by, kept_by)


def training_report(path, card, history, metrics, roc, confusion, settings):
    """The training report; ``history`` may be None or empty (a model fitted
    without epochs, e.g. a classical one): no curves then."""
    from .specs import TrainSpec

    report = Report(f"Training report: {model_display_name(card['model'])}")
    report.settings(labelled_settings(settings, TrainSpec))
    best_epoch = (card.get("training") or {}).get("best_epoch")
    if history and any(history.get(key) for key in ("loss", "accuracy")):
        report.heading("Training curves")
        caption = (f"{_kept_by(card)} at epoch {best_epoch} (the model kept)"
                   if best_epoch else "Loss and accuracy per epoch")
        report.figure(curves_figure(history, best_epoch), caption=caption)
    add_model_sections(report, card, metrics, roc, confusion)
    return report.write(path)


def evaluation_report(path, card, metrics, roc, confusion, split, settings):
    from .specs import EvaluateSpec

    report = Report(f"Evaluation report: {model_display_name(card['model'])} on the "
                    f"{split} split")
    report.settings(labelled_settings(settings, EvaluateSpec))
    add_model_sections(report, card, metrics, roc, confusion, split)
    return report.write(path)


def comparison_report(path, rows, curves, settings):
    """``rows``: :class:`.specs.ComparisonRow` (model, metrics, parameters, flops,
    seconds); ``curves``: (model, fpr, tpr, auc) for :func:`roc_figure`."""
    from .specs import CompareSpec

    report = Report("Model comparison (the paper's Table 2 for this data)")
    report.settings(labelled_settings(settings, CompareSpec))
    headers = ["Model"] + [METRIC_LABELS[m] for m in METRIC_ORDER] + \
        ["Parameters", "FLOPs per patch", "Training time (s)"]
    best = _best_values(rows)
    table = []
    for row in rows:
        cells = [model_display_name(row.model)]
        for name in METRIC_ORDER:
            value = row.metrics.get(name)
            text = format_number(value, METRIC_KIND)
            cells.append(text + (" ★" if value is not None and value == best.get(name) else ""))
        cells += [row.parameters, row.flops, row.seconds]
        table.append(cells)
    report.table(headers, table, title="Metrics on the test split (★ best per metric)",
                 kinds=[None] * (1 + len(METRIC_ORDER)) + ["count", "count", "seconds"])
    if curves:
        report.figure(roc_figure(curves), caption="ROC curves of all models, test split")
    return report.write(path)


def _best_values(rows):
    """``{metric: best value over rows}`` (lowest for errors, highest otherwise)."""
    best = {}
    for name in METRIC_ORDER:
        values = [r.metrics.get(name) for r in rows if r.metrics.get(name) is not None]
        if values:
            best[name] = min(values) if name in LOWER_IS_BETTER else max(values)
    return best
