"""``compare``: train and evaluate several architectures on the same samples with
the same settings; the paper's Table 2 for this data.

Spec: :class:`...core.specs.CompareSpec` (the models, the training settings of
``train``, the output folder that gets one ``NAME.keras`` and ``NAME.html`` per
model, the comparison report with all ROC curves). Result:
:class:`...core.specs.CompareOutcome`, one ``ComparisonRow`` per model. Cancel
stops within the current model (keeping its best so far) and skips the rest.
"""

import os

from ...core.model_reports import comparison_report
from ...core.specs import CompareOutcome, ComparisonRow
from ...core.stack import read_stack_info
from ..samples_input import load_samples
from ..training import train
from .train import finish


def run(spec, reporter):
    names = spec.models
    os.makedirs(spec.output_folder, exist_ok=True)
    stack_info = read_stack_info(spec.stack)
    samples, summary = load_samples(spec.samples, stack_info, reporter)
    rows, curves = [], []
    share = 100.0 / len(names)
    for index, name in enumerate(names):
        if reporter.is_cancelled():
            reporter.warning(f"Cancelled: skipped {', '.join(names[index:])}.")
            break
        reporter.info(f"== {name} ({index + 1}/{len(names)})")
        row, curve = compare_one(spec.train_spec(name), stack_info, samples, summary,
                                 reporter, (index * share, (index + 1) * share))
        if row is None:
            break
        rows.append(row)
        if curve:
            curves.append(curve)
    report = spec.output_report or None
    if report and rows:
        comparison_report(report, rows, curves,
                          dict(spec.settings(), stack=spec.stack, samples=spec.samples,
                               models=", ".join(names)))
    return CompareOutcome(rows=rows, report=report, cancelled=reporter.is_cancelled())


def compare_one(spec, stack_info, samples, summary, reporter, progress_range):
    """Train and test one model (``spec``: its TrainSpec): its ``ComparisonRow``
    and ROC curve, or ``(None, None)`` when cancelled before its first epoch."""
    trained = train(spec, stack_info, samples, reporter, samples_summary=summary,
                    progress_range=progress_range)
    if trained.keras_model is None:
        return None, None
    done = finish(trained, spec, samples, reporter)
    patch = done.card["patch_size"]
    row = ComparisonRow(model=spec.model, metrics=done.metrics,
                        parameters=done.card["parameters"],
                        flops=_flops(trained.keras_model, (patch, patch, stack_info.count)),
                        seconds=round(done.training_seconds, 1), model_path=done.model,
                        cancelled=done.cancelled)
    curve = (spec.model, done.roc[0], done.roc[1], done.metrics["auc"]) if done.roc else None
    return row, curve


def _flops(model, shape):
    try:
        from ...models.flops import profile_flops

        return int(profile_flops(model, shape))
    except Exception:  # FLOP counting is informative only
        return None
