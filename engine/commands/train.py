"""``train``: train one model on samples + stack, evaluate it on the test split.

Spec: :class:`...core.specs.TrainSpec` (inputs, training settings and their
defaults, model, outputs). Result: :class:`...core.specs.TrainOutcome` (model
path, test metrics, ROC, confusion matrix, history, best epoch, card, cancelled
flag).
"""

import dataclasses
import time

from ...core.model_reports import training_report
from ...core.stack import read_stack_info
from .. import metrics
from ..samples_input import load_samples
from ..training import train


def run(spec, reporter):
    stack_info = read_stack_info(spec.stack)
    for warning in stack_info.warnings:
        reporter.warning(warning)
    samples, summary = load_samples(spec.samples, stack_info, reporter)
    trained = train(spec, stack_info, samples, reporter, samples_summary=summary,
                    progress_range=(0, 95))
    if not trained.has_model:
        reporter.warning("Cancelled before the model was fitted: no model was written."
                         if _is_classical(spec.model) else
                         "Cancelled before the first epoch finished: no model was written.")
        return trained.outcome
    return finish(trained, spec, samples, reporter)


def finish(trained, spec, samples, reporter):
    """Test-split metrics and the report of a trained model (a ``Trained``);
    the ``TrainOutcome`` with them."""
    rows, cols, labels, splits = samples
    test = splits == "test"
    started = time.monotonic()
    probability = trained.loaded.probability(trained.stack, rows[test], cols[test])
    test_metrics = metrics.evaluate(labels[test], probability) if test.any() else {}
    roc = metrics.roc_curve(labels[test], probability) if len(set(labels[test])) == 2 else None
    cm = metrics.confusion(labels[test], probability) if test.any() else None
    outcome = trained.outcome
    outcome.card["evaluation_seconds"] = round(time.monotonic() - started, 2)
    if outcome.cancelled:
        reporter.warning(f"Cancelled after {outcome.epochs_run} epochs: the best model so "
                         f"far (epoch {outcome.best_epoch}) was kept at {outcome.model}.")
    metrics.report_metrics(reporter, test_metrics, "test")
    report = spec.output_report or None
    if report:
        training_report(report, outcome.card, outcome.history, test_metrics, roc, cm,
                        report_settings(spec))
    return dataclasses.replace(outcome, metrics=test_metrics, roc=roc, confusion=cm,
                               report=report)


def _is_classical(model):
    from ...models import is_classical

    return is_classical(model)


def report_settings(spec):
    """The settings table of the training report: data, model, training settings."""
    return {"stack": spec.stack, "samples": spec.samples, "model": spec.model,
            **spec.settings()}
