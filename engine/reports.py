"""Report writers used by engine commands (thin: the content is in core)."""

from ..core.model_reports import training_report


def write_training_report(path, card, history, metrics, roc, confusion, params):
    settings = {key: params[key] for key in ("stack", "samples", "model", "epochs",
                                             "batch_size", "learning_rate", "optimizer",
                                             "label_smoothing", "augment", "patience",
                                             "seed") if key in params}
    return training_report(path, card, history, metrics, roc, confusion, settings)
