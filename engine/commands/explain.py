"""``explain``: which factors a trained model relies on, and which parts of the patch.

Spec: :class:`...core.specs.map_comparison.ExplainSpec` (any trained model: a network
``.keras`` or a classical model; the stack; the samples; the split). Result:
:class:`...core.specs.map_comparison.ExplainOutcome`.

The split's samples (at most ``max_samples``, a stratified random subset) are cut
into raw patches once (:class:`..patches.PaddedStack`); the model answers through
:meth:`..loaded_model.LoadedModel.probability_of_patches` in batches, so networks
and classical models are explained alike (:mod:`...core.explain`): permutation
importance of every factor (AUC drop, ``repeats`` shuffles), and for networks the
occlusion map over the split's landslide patches (at most ``occlusion_patches``).
"""

import numpy as np

from ...core.errors import CancelledError
from ...core.explain import default_window, occlusion_map, permutation_importance
from ...core.explain_report import write_explain_report
from ...core.progress import scaled
from ...core.sample_layer import select_split, validate_samples
from ...core.specs.map_comparison import ExplainOutcome
from ...core.stack import read_stack_info
from ..samples_input import load_samples


def run(spec, reporter):
    from ..loaded_model import load_trained

    stack_info = read_stack_info(spec.stack)
    model = load_trained(spec.model, stack_info=stack_info, cache_dir=spec.cache_dir)
    samples, _ = load_samples(spec.samples, stack_info, reporter)
    rows, cols, labels, splits = validate_samples(*samples, shape=stack_info.shape)
    rows, cols, labels = select_split(rows, cols, labels, splits, spec.split)
    rows, cols, labels = stratified_subset(rows, cols, labels, spec.max_samples, spec.seed)
    name = model.card.get("model", "model")
    reporter.info(f"Explaining {name} ({model.kind}) on {len(rows)} {spec.split} samples, "
                  f"{spec.repeats} shuffles per factor")
    try:
        raw = model.padded_stack(stack_info.path, is_cancelled=reporter.is_cancelled)\
            .patches(rows, cols)
    except KeyboardInterrupt:
        raise CancelledError() from None
    reporter.progress(10)
    predict = batched(model.probability_of_patches, spec.batch_size)
    occlude = spec.occlusion and model.kind == "network"
    baseline, drops = permutation_importance(
        predict, raw, labels, spec.repeats, spec.seed,
        progress=scaled(reporter.progress, 10, 60 if occlude else 95),
        is_cancelled=reporter.is_cancelled)
    names = list(model.card.get("factors") or stack_info.names)
    for factor, mean, spread in zip(names, drops.mean(axis=0), _sd(drops), strict=True):
        reporter.info(f"  {factor:24s} AUC drop {mean:+.4f} ± {spread:.4f}")
    outcome = ExplainOutcome(
        names=names, importance=drops.mean(axis=0).tolist(), importance_std=_sd(drops),
        baseline_auc=float(baseline), split=spec.split, count=int(len(rows)),
        repeats=spec.repeats, model=name)
    if occlude:
        _occlusion(spec, model, raw, labels, predict, outcome, reporter)
    elif spec.occlusion:
        reporter.info(f"No occlusion map: {name} is a {model.kind} model that reads the "
                      "factors at the sample's cell, not a picture of the patch.")
    del raw
    if spec.output_report:
        outcome.report = write_explain_report(spec.output_report, outcome, model.card, {
            "Trained model": spec.model, "Factor stack": spec.stack, "Samples": spec.samples,
            "Split": spec.split, "Samples used": len(rows), "Shuffles per factor": spec.repeats,
            "Random seed": spec.seed})
    reporter.progress(100)
    return outcome


def _occlusion(spec, model, raw, labels, predict, outcome, reporter):
    """Fill ``outcome``'s occlusion map from the landslide patches of ``raw``."""
    landslide = raw[labels == 1][:spec.occlusion_patches]
    window = spec.window or default_window(model.patch_size)
    stride = max(1, window // 2)
    fill = np.asarray(model.card["normalisation"]["mean"], np.float32)
    reporter.info(f"Occlusion: a {window}-pixel square moved by {stride} over "
                  f"{len(landslide)} landslide patches")
    found = occlusion_map(predict, landslide, fill, window, stride,
                          progress=scaled(reporter.progress, 60, 95),
                          is_cancelled=reporter.is_cancelled)
    outcome.occlusion = found.tolist()
    outcome.occlusion_window, outcome.occlusion_stride = int(window), int(stride)
    outcome.occlusion_patches = int(len(landslide))


def batched(function, batch_size):
    """``function`` applied to ``batch_size`` patches at a time."""
    def predict(raw):
        parts = [np.asarray(function(raw[start:start + batch_size]), dtype=np.float64)
                 for start in range(0, len(raw), batch_size)]
        return np.concatenate(parts) if parts else np.zeros(0)

    return predict


def stratified_subset(rows, cols, labels, size, seed):
    """At most ``size`` samples, each class keeping its share (at least one sample)."""
    if len(rows) <= size:
        return rows, cols, labels
    rng = np.random.default_rng(seed)
    keep = []
    for label in (0, 1):
        where = np.flatnonzero(labels == label)
        count = max(1, int(round(size * where.size / len(labels))))
        keep.append(rng.choice(where, size=min(count, where.size), replace=False))
    keep = np.sort(np.concatenate(keep))
    return rows[keep], cols[keep], labels[keep]


def _sd(drops):
    return (drops.std(axis=0, ddof=1) if drops.shape[0] > 1
            else np.zeros(drops.shape[1])).tolist()
