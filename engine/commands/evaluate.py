"""``evaluate``: metrics of a trained model on one split of the samples.

Spec: :class:`...core.specs.EvaluateSpec` (the model: a .keras with a model
card, stack, samples, split, optional report). Result:
:class:`...core.specs.EvaluateOutcome`.
"""

from ...core.model_card import check_stack_matches, read_card
from ...core.model_reports import evaluation_report
from ...core.sample_layer import select_split, validate_samples
from ...core.specs import EvaluateOutcome
from ...core.stack import read_stack_info
from .. import metrics
from ..patches import PaddedStack
from ..samples_input import load_samples
from ..training import predict_probability


def run(spec, reporter):
    card = read_card(spec.model)
    stack_info = read_stack_info(spec.stack)
    check_stack_matches(card, stack_info.names, stack_info.categorical)
    samples, _ = load_samples(spec.samples, stack_info, reporter)
    rows, cols, labels, splits = validate_samples(*samples, shape=stack_info.shape)
    rows, cols, labels = select_split(rows, cols, labels, splits, spec.split)
    reporter.info(f"Evaluating {card['model']} on {len(rows)} {spec.split} samples")
    reporter.progress(10)
    probability = model_probability(spec, card, stack_info, rows, cols, reporter)
    reporter.progress(90)
    values = metrics.evaluate(labels, probability)
    roc = metrics.roc_curve(labels, probability)
    confusion = metrics.confusion(labels, probability)
    metrics.report_metrics(reporter, values, spec.split)
    report = spec.output_report or None
    if report:
        evaluation_report(report, card, values, roc, confusion, spec.split,
                          {"model": spec.model, "stack": spec.stack, "samples": spec.samples,
                           "split": spec.split, "samples evaluated": len(rows)})
    reporter.progress(100)
    return EvaluateOutcome(metrics=values, roc=roc, confusion=confusion, split=spec.split,
                           count=int(len(rows)), report=report, model=card["model"])


def model_probability(spec, card, stack_info, rows, cols, reporter):
    """The landslide probability of the model of ``spec`` at (rows, cols)."""
    from ...models import load_model

    p = card["patch_size"]
    model = load_model(spec.model, compile=False, input_shape=(p, p, stack_info.count))
    stack = PaddedStack(stack_info.path, p, cache_dir=spec.cache_dir,
                        is_cancelled=reporter.is_cancelled)
    reporter.progress(30)
    return predict_probability(model, stack, rows, cols, card["normalisation"]["mean"],
                               card["normalisation"]["std"])
