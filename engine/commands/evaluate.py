"""``evaluate``: metrics of a trained model on one split of the samples.

Params: ``model`` (.keras with a model card), ``stack``, ``samples``, ``split``
(test, validation, train or all), ``output_report`` (optional HTML).
"""

from ...core.errors import InputError
from ...core.model_card import check_stack_matches, read_card
from ...core.model_reports import evaluation_report
from ...core.sample_layer import select_split, validate_samples
from ...core.stack import read_stack_info
from .. import metrics
from ..patches import PaddedStack
from ..samples_input import load_samples
from ..training import predict_probability

SPLITS = ("test", "validation", "train", "all")


def run(params, reporter):
    split = params.get("split", "test")
    if split not in SPLITS:
        raise InputError(f"SPLIT must be one of {', '.join(SPLITS)}, not '{split}'.")
    card = read_card(params["model"])
    stack_info = read_stack_info(params["stack"])
    check_stack_matches(card, stack_info.names, stack_info.categorical)
    samples, _ = load_samples(params["samples"], stack_info, reporter)
    rows, cols, labels, splits = validate_samples(*samples, shape=stack_info.shape)
    rows, cols, labels = select_split(rows, cols, labels, splits, split)
    reporter.info(f"Evaluating {card['model']} on {len(rows)} {split} samples")
    reporter.progress(10)

    from ...models import load_model

    model = load_model(params["model"], compile=False)
    stack = PaddedStack(stack_info.path, card["patch_size"], cache_dir=params.get("cache_dir"),
                        is_cancelled=reporter.is_cancelled)
    reporter.progress(30)
    probability = predict_probability(model, stack, rows, cols,
                                      card["normalisation"]["mean"],
                                      card["normalisation"]["std"])
    reporter.progress(90)
    values = metrics.evaluate(labels, probability)
    roc = metrics.roc_curve(labels, probability)
    confusion = metrics.confusion(labels, probability)
    for name in metrics.METRICS:
        reporter.info(f"{split} {metrics.LABELS[name]}: {values[name]:.4f}")
    report = params.get("output_report")
    if report:
        evaluation_report(report, card, values, roc, confusion, split,
                          {"model": params["model"], "stack": params["stack"],
                           "samples": params["samples"], "split": split,
                           "samples evaluated": len(rows)})
    reporter.progress(100)
    return {"metrics": values, "roc": roc, "confusion": confusion, "split": split,
            "count": int(len(rows)), "report": report, "model": card["model"]}
