"""``compare``: train and test several models on the same samples, the same folds
and the same settings; which model is best for this data, and is it really better.

Spec: :class:`...core.specs.CompareSpec`. The validation method:

- ``samples``: the samples' own train/validation/test split, one training per
  model (the paper's Table 2); the models are saved as ``NAME.keras`` with their
  ``NAME.html`` training report;
- ``spatial_kfold`` (the default): blocks of the map dealt to k folds
  (:mod:`...core.folds`), each fold the test set once, training centres within a
  patch of a test centre dropped, the validation split (model selection) cut from
  the training folds by blocks;
- ``repeated_spatial_kfold``: the same, repeated with other block offsets.

Every (fold, model) is a task run by an executor (:mod:`..executors`); with
``refit`` every model is then trained once more on all samples and saved in the
output folder. Result: :class:`...core.specs.CompareOutcome`: per model the
metrics' mean and sd over the folds and the paired tests against the best model
by mean AUC (:mod:`..significance`), one row per fold, the verdict in plain
words; the report (:mod:`...core.cv_report`) adds per-fold AUC box plots and the
pooled ROC curves. Cancel stops within the current training and skips the rest;
the statistics then hold the folds that finished.
"""

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from ...core import folds
from ...core.cv_report import write_cv_report
from ...core.ensemble import MEMBERS_LABEL
from ...core.metric_names import METRIC_KIND, METRIC_LABELS, METRIC_ORDER, format_number
from ...core.model_labels import model_display_name
from ...core.sample_layer import validate_samples
from ...core.specs import CompareOutcome, CompareSpec, ComparisonRow
from ...core.specs.samples import DEFAULT_PATCH_SIZE
from ...core.specs.training import MODEL_FILE_LABEL, VALIDATION_METHODS
from ...core.stack import read_stack_info
from ...models import display_names, is_classical
from .. import metrics, significance
from ..blend import blend_results
from ..executors import executor_for
from ..samples_input import load_samples

DROPPED_WARNING = 0.3  # warn when the buffer drops more than this share of a fold's training


@dataclass
class Plan:
    """The folds of a comparison: ``splits`` ``[(repeat, fold, description)]``
    (repeat and fold None for the samples' own split), ``refit`` the description
    of the refit on all samples (None: no refit)."""

    method: str
    splits: list
    refit: dict | None = None
    block_cells: int | None = None
    patch_size: int = DEFAULT_PATCH_SIZE
    notes: list = field(default_factory=list)


def run(spec, reporter, executor=None):
    os.makedirs(spec.output_folder, exist_ok=True)
    stack_info = read_stack_info(spec.stack)
    samples, summary = load_samples(spec.samples, stack_info, reporter)
    samples = validate_samples(*samples, shape=stack_info.shape)
    plan = plan_folds(spec, stack_info, samples, summary, reporter)
    # The folds' models go to a hidden folder of the output folder (which a cluster's
    # workers share with this computer), removed at the end.
    with tempfile.TemporaryDirectory(prefix=".folds_", dir=spec.output_folder) as work:
        tasks = make_tasks(spec, plan, work)
        results = {task["id"]: result for task, result
                   in (executor or executor_for(spec)).map_unordered(tasks, reporter)}
    cancelled = reporter.is_cancelled() or any(r["cancelled"] for r in results.values())
    if cancelled:
        finished = sum(not result["cancelled"] for result in results.values())
        reporter.warning(f"Cancelled: {finished} of {len(tasks)} trainings finished; "
                         "the statistics hold the folds that finished.")
    outcome = summarise(spec, plan, tasks, results, cancelled)
    for line in _log_lines(outcome):
        reporter.info(line)
    reporter.info(outcome.verdict)
    for line in _ensemble_lines(results):
        reporter.info(line)
    if spec.output_report and outcome.rows:
        outcome.report = write_cv_report(spec.output_report, outcome,
                                         pooled_curves(spec.models, results),
                                         report_settings(spec, plan), plan.notes)
    return outcome


def plan_folds(spec, stack_info, samples, summary, reporter):
    """The :class:`Plan` of ``spec``; every fold checked (both classes in its
    training, validation and test parts), its sizes logged."""
    rows, cols, labels, splits = samples
    if spec.validation == "samples":
        if spec.refit:
            reporter.info("The samples' own split: each model is trained once on it and "
                          "saved; there is nothing to refit.")
        return Plan("samples", [(None, None, {"method": "samples"})])
    patch = int(spec.train_spec(spec.models[0]).patch_size or (summary or {}).get("patch_size")
                or DEFAULT_PATCH_SIZE)
    block = folds.block_cells_of(spec.block_size, stack_info.pixel_size, summary)
    repeats = spec.repeats if spec.validation == "repeated_spatial_kfold" else 1
    plan = Plan(spec.validation, [], block_cells=block, patch_size=patch)
    cell = max(stack_info.pixel_size)
    plan.notes.append(
        f"{dict(VALIDATION_METHODS)[spec.validation]}: {spec.folds} folds"
        f"{f' x {repeats} repeats' if repeats > 1 else ''}; blocks of {block} x {block} "
        f"pixels ({block * cell:g} map units); training and validation centres closer than "
        f"{patch} pixels (one patch) to a test centre are dropped, so no test patch overlaps "
        "them; validation: "
        + ("the next fold." if spec.folds >= 3 else "a quarter of the training fold's blocks."))
    for repeat in range(repeats):
        for fold in range(spec.folds):
            description = folds.kfold_split(block, spec.folds, repeat, fold, spec.seed, patch)
            _check_fold(plan, repeat, fold, description, samples, reporter)
            plan.splits.append((repeat, fold, description))
    if spec.refit:
        plan.refit = folds.all_split(block, spec.seed)
        folds.check_split(labels, folds.split_of(rows, cols, labels, splits, plan.refit),
                          "The refit on all samples", ("train", "validation"))
    return plan


def _check_fold(plan, repeat, fold, description, samples, reporter):
    rows, cols, labels, splits = samples
    split = folds.split_of(rows, cols, labels, splits, description)
    name = fold_name(repeat, fold, description["folds"], plan.method)
    counts = folds.check_split(labels, split, f"Fold {name}")
    dropped = int((split == "").sum())
    kept = sum(sum(counts[part]) for part in ("train", "validation"))
    reporter.info(f"Fold {name}: " + ", ".join(
        f"{part} {sum(counts[part])} ({counts[part][1]} landslides)"
        for part in ("train", "validation", "test")) + f"; {dropped} dropped by the buffer")
    if dropped > DROPPED_WARNING * (kept + dropped):
        reporter.warning(
            f"Fold {name}: the buffer around the test patches dropped {dropped} of "
            f"{kept + dropped} training and validation samples: blocks of "
            f"{description['block_cells']} pixels are small for patches of "
            f"{description['patch_size']}. Choose a larger "
            f"{CompareSpec.label_of('block_size')}.")


def fold_name(repeat, fold, k, method):
    """``"2/5"``, or ``"2/5 of repeat 3"`` with repeated k-fold."""
    return f"{fold + 1}/{k}" + (f" of repeat {repeat + 1}"
                                if method == "repeated_spatial_kfold" else "")


def make_tasks(spec, plan, work):
    """The executor's tasks: every fold of every model (fold by fold, so that all
    models have the same folds when cancelled), then the refits."""
    def members(name):
        return 1 if is_classical(name) else spec.ensemble_seeds

    tasks = []
    for index, (repeat, fold, description) in enumerate(plan.splits):
        for name in spec.models:
            one = spec.train_spec(name)
            own = description["method"] == "samples"
            if not own:
                model = os.path.join(work, f"r{repeat}f{fold}_" +
                                     os.path.basename(one.output_model))
                one = one.replace(output_model=model, output_report="")
            title = "the samples' own split" if own else \
                f"fold {fold_name(repeat, fold, spec.folds, plan.method)}"
            tasks.append({"id": f"{name}/{'split' if own else f'r{repeat}f{fold}'}",
                          "model": name, "kind": "split" if own else "fold",
                          "title": f"{name}, {title}", "repeat": repeat, "fold": fold,
                          "train_spec": one.to_json(), "split": description,
                          "keep_model": own, "measure": index == 0,
                          "members": members(name)})
    if plan.refit is not None:
        tasks += [{"id": f"{name}/refit", "model": name, "kind": "refit",
                   "title": f"{name}, refit on all samples", "repeat": None, "fold": None,
                   "train_spec": spec.train_spec(name).to_json(),
                   "split": plan.refit,
                   "keep_model": True, "measure": False, "members": members(name)}
                  for name in spec.models]
    return tasks


def summarise(spec, plan, tasks, results, cancelled):
    """The :class:`CompareOutcome` of the tasks' results."""
    scored = [results[t["id"]] for t in tasks if t["id"] in results and t["kind"] != "refit"
              and results[t["id"]]["metrics"]
              and (t["kind"] == "split" or not results[t["id"]]["cancelled"])]
    by_model = {name: [r for r in scored if r["model"] == name] for name in spec.models}
    scores = {name: {(r["repeat"], r["fold"]): r["metrics"].get("auc", np.nan) for r in rs}
              for name, rs in by_model.items()}
    sizes = {(r["repeat"], r["fold"]): (r["counts"]["train"], r["counts"]["test"])
             for r in scored}
    best, comparisons = significance.compare_with_best(scores, sizes, spec.models)
    planned = len(plan.splits)
    rows = [_row(name, rs, results, comparisons.get(name), cancelled and len(rs) < planned)
            for name, rs in by_model.items() if rs]
    means = {row.model: row.metrics.get("auc", np.nan) for row in rows}
    sds = {row.model: (row.metrics_sd or {}).get("auc", np.nan) for row in rows}
    names = display_names(spec.models)
    verdict = significance.verdict(
        best, comparisons, means, sds, names, len(scores.get(best) or ()),
        one_split="the samples' own split" if plan.method == "samples" else
        "the only fold that finished")
    blend = blend_results(by_model, is_classical) if spec.blend else None
    if blend:
        row, line = _blend_row(*blend, scores.get(best, {}), sizes, names.get(best, best))
        rows.append(row)
        scored += blend[1]
        verdict += " " + line
    fold_rows = [{"model": r["model"], "repeat": r["repeat"], "fold": r["fold"],
                  **r["counts"], "seconds": round(r["seconds"], 1), "metrics": r["metrics"],
                  **({"member_auc": r["member_auc"]} if "member_auc" in r else {})}
                 for r in scored if r["kind"] == "fold"]
    return CompareOutcome(rows=rows, fold_rows=fold_rows, validation=plan.method,
                          best_model=best, verdict=verdict, cancelled=cancelled)


def _blend_row(code, blended, best_scores, sizes, best_name):
    """The blend's :class:`ComparisonRow` (its AUC difference: the best single
    model's minus the blend's) and its sentence for the verdict."""
    comparison = significance.paired(
        best_scores, {(r["repeat"], r["fold"]): r["metrics"]["auc"] for r in blended}, sizes)
    row = _row(code, blended, {r["id"]: r for r in blended}, comparison, False)
    sd = (row.metrics_sd or {}).get("auc", np.nan)
    how = (f"to map it, give 'Predict landslide susceptibility' both models' files (the "
           f"second under '{MEMBERS_LABEL}')")
    return row, significance.blend_line(model_display_name(code), row.metrics["auc"], sd,
                                        len(blended), best_name, comparison, how)


def _row(name, scored, results, comparison, incomplete):
    values = {m: [r["metrics"][m] for r in scored if m in r["metrics"]] for m in METRIC_ORDER}
    mean = {m: _round(np.mean(v)) for m, v in values.items() if v}
    sd = {m: _round(np.std(v, ddof=1)) for m, v in values.items() if len(v) > 1} or None
    kept = results.get(f"{name}/refit") or next(
        (r for r in scored if r["kind"] == "split"), None)
    mine = [r for r in results.values() if r["model"] == name]
    comparison = comparison or {}
    return ComparisonRow(
        model=name, metrics=mean, metrics_sd=sd, folds=len(scored),
        auc_difference=_round(comparison.get("difference")),
        p_ttest=_round(comparison.get("p_ttest")),
        p_wilcoxon=_round(comparison.get("p_wilcoxon")),
        parameters=next((r["parameters"] for r in mine if r["parameters"]), None),
        flops=next((r["flops"] for r in mine if r["flops"]), None),
        seconds=round(float(np.mean([r["seconds"] for r in scored])), 1),
        model_path=(kept or {}).get("model_path"),
        cancelled=bool(incomplete or any(r["cancelled"] for r in mine)))


def _round(value, digits=6):
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def pooled_curves(models, results):
    """``[(model, fpr, tpr, pooled AUC)]``: every fold's test predictions of a model
    pooled into one ROC curve."""
    curves = []
    for name in models:
        mine = [r for r in results.values() if r["model"] == name and r["kind"] != "refit"
                and r["labels"] and not (r["kind"] == "fold" and r["cancelled"])]
        labels = np.concatenate([r["labels"] for r in mine]) if mine else np.empty(0)
        if len(np.unique(labels)) < 2:
            continue
        probability = np.concatenate([r["probability"] for r in mine])
        fpr, tpr = metrics.roc_curve(labels, probability)
        curves.append((name, fpr, tpr, metrics.evaluate(labels, probability)["auc"]))
    return curves


def report_settings(spec, plan):
    """The settings table of the report: data, validation, training settings."""
    settings = {"stack": spec.stack, "samples": spec.samples,
                "models": ", ".join(spec.models),
                "validation": dict(VALIDATION_METHODS)[spec.validation]}
    if plan.method != "samples":
        settings.update(folds=spec.folds, block_cells=plan.block_cells,
                        patch_size=plan.patch_size, refit=spec.refit)
        if plan.method == "repeated_spatial_kfold":
            settings["repeats"] = spec.repeats
    if spec.ensemble_seeds > 1:
        settings["ensemble_seeds"] = spec.ensemble_seeds
    return dict(settings, **spec.settings())


def _ensemble_lines(results):
    """How to map a network's saved deep ensemble (several seeds' models)."""
    for result in results.values():
        paths = result.get("member_paths") or []
        if len(paths) > 1:
            names = ", ".join(os.path.basename(path) for path in paths)
            model = display_names([result["model"]])[result["model"]]
            yield (f"{model}: {len(paths)} models saved, one per seed ({names}); "
                   "to map their deep ensemble, give the first to 'Predict landslide "
                   f"susceptibility' as {MODEL_FILE_LABEL} and the others as "
                   f"{MEMBERS_LABEL}.")


def _log_lines(outcome):
    """One line per model: its main metrics, mean ± sd."""
    for row in outcome.rows:
        sd = row.metrics_sd or {}
        parts = [f"{METRIC_LABELS[name]} {format_number(row.metrics[name], METRIC_KIND)}"
                 + (f" ± {format_number(sd[name], METRIC_KIND)}" if name in sd else "")
                 for name in ("auc", "oa", "f1", "mcc") if name in row.metrics]
        yield (f"{row.model}: {', '.join(parts)} ({row.folds} fold"
               f"{'s' if row.folds != 1 else ''})")
