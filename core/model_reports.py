"""Reports of trained models: training curves, metrics, ROC, confusion matrix,
model card, data leakage; and the multi-model comparison (the paper's Table 2).
Built on :mod:`.report`; the figures take plain lists, no TensorFlow."""

from .metric_names import LOWER_IS_BETTER, METRIC_LABELS, METRIC_ORDER, metrics_rows
from .report import Report, new_figure


def curves_figure(history, best_epoch=None):
    fig = new_figure(9.0, 3.4)
    loss_axes, acc_axes = fig.subplots(1, 2)
    epochs = list(range(1, len(history["loss"]) + 1))
    loss_axes.plot(epochs, history["loss"], label="train", color="#2c7fb8")
    loss_axes.plot(epochs, history["val_loss"], label="validation", color="#d95f0e")
    loss_axes.set(xlabel="epoch", ylabel="loss", title="Loss")
    acc_axes.plot(epochs, history["accuracy"], label="train", color="#2c7fb8")
    acc_axes.plot(epochs, history["val_accuracy"], label="validation", color="#d95f0e")
    acc_axes.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for axes in (loss_axes, acc_axes):
        if best_epoch:
            axes.axvline(best_epoch, color="#555", linestyle=":", linewidth=1,
                         label=f"kept (epoch {best_epoch})")
        axes.grid(alpha=0.3)
        axes.legend()
    return fig


def roc_figure(curves):
    """``curves``: list of (label, fpr, tpr, auc)."""
    fig = new_figure(4.8, 4.6)
    axes = fig.subplots()
    for label, fpr, tpr, auc in curves:
        axes.plot(fpr, tpr, label=f"{label} (AUC {auc:.4f})")
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


def add_model_sections(report, card, metrics, roc, confusion, split="test"):
    if metrics:
        report.table(["metric", "value"], metrics_rows(metrics, METRIC_LABELS),
                     title=f"Metrics on the {split} split", digits=4)
    if roc:
        report.figure(roc_figure([(card["model"], roc[0], roc[1], metrics.get("auc", 0))]),
                      caption=f"ROC curve on the {split} split")
    if confusion:
        report.figure(confusion_figure(confusion),
                      caption=f"Confusion matrix on the {split} split (threshold 0.5)")
    leakage = ((card.get("data") or {}).get("samples_summary") or {}).get("leakage")
    if leakage is not None:
        report.heading("Data leakage")
        text = (f"{100 * leakage:.1f}% of test patches overlap a training patch.")
        if leakage > 0:
            report.warning(text + " Overlapping patches share pixels, which inflates test "
                                  "scores; the spatial-block split avoids it.")
        else:
            report.paragraph(text)
    report.heading("Model card")
    flat = [("model", card["model"]), ("parameters", card.get("parameters")),
            ("patch size", card["patch_size"]),
            ("factors", ", ".join(f"{n}{' (cat.)' if c else ''}"
                                  for n, c in zip(card["factors"], card["categorical"],
                                                  strict=True))),
            ("hyper-parameters", card.get("hparams")),
            ("device", card.get("device")), ("versions", card.get("versions")),
            ("created", card.get("created"))]
    flat += [(f"training: {k}", v) for k, v in (card.get("training") or {}).items()]
    report.settings(flat, title=None)


def _kept_by(card):
    """The rule that chose the kept epoch, as the dialog shows it."""
    from .specs.training import SELECTIONS

    return dict(SELECTIONS)[card["training"].get("kept_by", "val_accuracy")]


def training_report(path, card, history, metrics, roc, confusion, settings):
    report = Report(f"Training report: {card['model']}")
    report.settings(settings)
    report.heading("Training curves")
    report.figure(curves_figure(history, card["training"]["best_epoch"]),
                  caption=f"{_kept_by(card)} at epoch {card['training']['best_epoch']} "
                          "(the model kept)")
    add_model_sections(report, card, metrics, roc, confusion)
    return report.write(path)


def evaluation_report(path, card, metrics, roc, confusion, split, settings):
    report = Report(f"Evaluation report: {card['model']} on the {split} split")
    report.settings(settings)
    add_model_sections(report, card, metrics, roc, confusion, split)
    return report.write(path)


def comparison_report(path, rows, curves, settings):
    """``rows``: :class:`.specs.ComparisonRow` (model, metrics, parameters, flops,
    seconds); ``curves``: (model, fpr, tpr, auc) for :func:`roc_figure`."""
    report = Report("Model comparison (the paper's Table 2 for this data)")
    report.settings(settings)
    headers = ["model"] + [METRIC_LABELS[m] for m in METRIC_ORDER] + \
        ["parameters", "FLOPs/patch", "training s"]
    best = _best_values(rows)
    table = []
    for row in rows:
        cells = [row.model]
        for name in METRIC_ORDER:
            value = row.metrics.get(name)
            text = "" if value is None else f"{value:.4f}"
            cells.append(text + (" ★" if value is not None and value == best.get(name) else ""))
        cells += [row.parameters, row.flops, row.seconds]
        table.append(cells)
    report.table(headers, table, title="Metrics on the test split (★ best per metric)")
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
