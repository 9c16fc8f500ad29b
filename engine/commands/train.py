"""``train``: train one model on samples + stack, evaluate it on the test split.

Params: ``stack``, ``samples`` (the buildsamples layer, or a ``.npz`` with rows,
cols, labels, splits), ``model``, ``output_model`` (.keras), and optionally
``epochs`` (100), ``batch_size`` (16), ``learning_rate`` (0.001), ``optimizer``
(sgd), ``label_smoothing`` (0.1), ``augment`` (true), ``patience`` (0 = off),
``seed`` (0), ``patch_size`` (default: the samples' patch size, else 72),
``hparams`` (model hyper-parameters), ``output_report`` (HTML, optional).
Result: model path, test metrics, history, best epoch, card, cancelled flag.
"""

import time

from ...core.errors import InputError
from ...core.stack import read_stack_info
from .. import metrics
from ..reports import write_training_report
from ..samples_input import load_samples
from ..training import predict_probability, train


def run(params, reporter):
    for key in ("stack", "samples", "model", "output_model"):
        if not params.get(key):
            raise InputError(f"The train command needs '{key}'.")
    stack_info = read_stack_info(params["stack"])
    for warning in stack_info.warnings:
        reporter.warning(warning)
    samples, summary = load_samples(params["samples"], stack_info, reporter)
    if params.get("patch_size"):
        summary = dict(summary or {}, patch_size=int(params["patch_size"]))
    outcome = train(
        stack_info, samples, params["model"], params["output_model"], reporter,
        epochs=int(params.get("epochs", 100)), batch_size=int(params.get("batch_size", 16)),
        learning_rate=float(params.get("learning_rate", 0.001)),
        optimizer=params.get("optimizer", "sgd"),
        label_smoothing=float(params.get("label_smoothing", 0.1)),
        augment=bool(params.get("augment", True)), patience=int(params.get("patience", 0)),
        seed=int(params.get("seed", 0)), hparams=params.get("hparams") or {},
        cache_dir=params.get("cache_dir"), progress_range=(0, 95), samples_summary=summary)
    if outcome["model"] is None:
        reporter.warning("Cancelled before the first epoch finished: no model was written.")
        return {"cancelled": True, "model": None}
    return finish(outcome, samples, params, reporter)


def finish(outcome, samples, params, reporter):
    """Test-split metrics and the report for a trained model."""
    rows, cols, labels, splits = samples
    test = splits == "test"
    started = time.monotonic()
    probability = predict_probability(outcome["keras_model"], outcome["stack"], rows[test],
                                      cols[test], outcome["mean"], outcome["std"])
    test_metrics = metrics.evaluate(labels[test], probability) if test.any() else {}
    roc = metrics.roc_curve(labels[test], probability) if len(set(labels[test])) == 2 else None
    cm = metrics.confusion(labels[test], probability) if test.any() else None
    card = outcome["card"]
    card["evaluation_seconds"] = round(time.monotonic() - started, 2)
    if outcome["cancelled"]:
        reporter.warning(f"Cancelled after {outcome['epochs_run']} epochs: the best model so "
                         f"far (epoch {outcome['best_epoch']}) was kept at "
                         f"{outcome['model']}.")
    for name in metrics.METRICS:
        if name in test_metrics:
            reporter.info(f"test {metrics.LABELS[name]}: {test_metrics[name]:.4f}")
    report = params.get("output_report")
    if report:
        write_training_report(report, card, outcome["history"], test_metrics, roc, cm,
                              params)
    return {"cancelled": outcome["cancelled"], "model": outcome["model"],
            "metrics": test_metrics, "roc": roc, "confusion": cm,
            "history": outcome["history"], "best_epoch": outcome["best_epoch"],
            "epochs_run": outcome["epochs_run"], "card": card, "report": report,
            "training_seconds": outcome["training_seconds"]}
