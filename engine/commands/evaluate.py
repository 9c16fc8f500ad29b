"""``evaluate``: metrics of a trained model on one split of the samples.

Spec: :class:`...core.specs.EvaluateSpec` (the model: a .keras network or a
.skops classical model, with a model card; stack, samples, split, optional report). Result:
:class:`...core.specs.EvaluateOutcome`.
"""

from ...core.model_card import read_card
from ...core.model_reports import evaluation_report
from ...core.sample_layer import select_split, validate_samples
from ...core.specs import EvaluateOutcome
from ...core.stack import read_stack_info
from .. import metrics
from ..loaded_model import load_trained
from ..samples_input import load_samples


def run(spec, reporter):
    read_card(spec.model)  # a bad model file is reported before a bad stack
    stack_info = read_stack_info(spec.stack)
    model = load_trained(spec.model, stack_info, cache_dir=spec.cache_dir)
    card = model.card
    samples, _ = load_samples(spec.samples, stack_info, reporter)
    rows, cols, labels, splits = validate_samples(*samples, shape=stack_info.shape)
    rows, cols, labels = select_split(rows, cols, labels, splits, spec.split)
    reporter.info(f"Evaluating {card['model']} on {len(rows)} {spec.split} samples")
    reporter.progress(10)
    stack = model.padded_stack(stack_info.path, is_cancelled=reporter.is_cancelled)
    reporter.progress(30)
    probability = model.probability(stack, rows, cols)
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
