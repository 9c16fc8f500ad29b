"""Cross-validation of the accuracy bench: the engine's ``compare`` command run in
this process, its outcomes pooled over comparisons (the paired tests against the best
model on the folds both ran: ``engine.significance``)."""

import contextlib
import math
import os
import sys
import time

CV = {"validation": "repeated_spatial_kfold", "folds": 5, "block_size": 1000.0, "seed": 0,
      "refit": False}
# The networks' training settings: small, so that 6 networks x 5 folds fit on a CPU.
# The network options of issue 19 are pinned off (the paper's way), whatever the
# product's defaults: variants turn them on one by one.
NETWORK_SETTINGS = {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 16,
                    "label_smoothing": 0.1, "augment": True, "selection": "val_auc",
                    "categorical_encoding": "codes", "continuous_encoding": "values",
                    "pixel_skip": False, "pretrain": False,
                    "schedule": "constant", "weight_average": False, "mixup": 0.0,
                    "average_views": False}
# Variants of a network (issue 19): ``NETWORK+VARIANT[+VARIANT...]`` in the tables;
# each is the training settings above overlaid with the variant's, except
# "defaults": the product's own training settings (the dialogs' defaults, the
# epochs capped at 40), what a user who changes nothing trains.
VARIANTS = {
    "defaults": ("product defaults", {}),
    "skip": ("centre cell to the classifier", {"pixel_skip": True}),
    "onehot": ("one-hot classes", {"categorical_encoding": "one_hot"}),
    "bins": ("continuous factors in bins", {"continuous_encoding": "bins"}),
    "valuesbins": ("continuous factors as values and in bins",
                   {"continuous_encoding": "values_bins"}),
    # the product defaults before the bins were on by default (rows measured then)
    "values": ("continuous factors as values", {"continuous_encoding": "values"}),
    "cosine": ("cosine schedule", {"schedule": "cosine"}),
    "adamw": ("AdamW", {"optimizer": "adamw"}),
    "accuracy": ("kept by validation accuracy", {"selection": "val_accuracy"}),
    "average": ("weights averaged", {"weight_average": True}),
    "mixup": ("mixup 0.2", {"mixup": 0.2}),
    # test-time augmentation: the probability is the mean over the patch's 8 flips and turns
    "views": ("8 flips and turns averaged", {"average_views": True}),
    # the product defaults before the views were on by default (rows measured then)
    "noviews": ("without flips and turns", {"average_views": False}),
    # the encoder pretrained on the whole stack (no labels) by 'Pretrain network
    # encoder' with its defaults, then fine-tuned in every fold
    "pretrained": ("self-supervised pretraining", {"pretrain": True}),
    # the same on four times the unlabelled patches (16,000 rather than 4,000)
    "pretrain16k": ("pretrained on 16,000 patches", {"pretrain": True,
                                                     "pretraining": {"patches": 16000}}),
    # a deep ensemble (Compare's *Seeds per network*): every fold trained with seeds
    # s, s+1, s+2 on the same split, scored on the mean of their test probabilities
    "ensemble": ("3 seeds averaged", {"ensemble_seeds": 3}),
    "ensemble5": ("5 seeds averaged", {"ensemble_seeds": 5}),
    # *Training precision*: the steps in mixed bfloat16, the model kept in float32
    "bf16": ("trained in mixed bfloat16", {"precision": "bfloat16"}),
    # classical models (``--classical-variants``)
    "patchstats": ("patch statistics", {"neighbourhood": True}),
}
RUN_ORDER = ("cnn", "ctlgnet", "frit", "vit", "resnet18", "densenet")


def log(message):
    print(message, file=sys.stderr, flush=True)


# Log lines left out unless --verbose: per-epoch lines and the per-fold metrics but AUC.
QUIET = ("epoch ", "Epoch ", "pretraining epoch ", "test ", "Preparing patches")


def make_reporter(verbose):
    from landslide_susceptibility.engine.protocol import Reporter

    class BenchReporter(Reporter):
        """Human lines on stderr; no progress lines, epoch lines only if verbose."""

        def progress(self, value):
            pass

        def info(self, message):
            text = str(message)
            quiet = text.startswith(QUIET) and not text.startswith("test AUC")
            if verbose or not quiet:
                super().info("    " + text)

    return BenchReporter(sys.stderr, human=True)


def select_models(names):
    """``(classical, networks)`` of the registry, filtered by ``names`` (model codes,
    or ``all`` / ``classical`` / ``network``); unknown names raise SystemExit."""
    from landslide_susceptibility.models import available_models

    classical, networks = available_models("classical"), available_models("network")
    chosen = set()
    for name in names:
        group = {"all": classical + networks, "classical": classical, "network": networks,
                 "networks": networks}.get(name)
        if group is None and name not in classical + networks:
            raise SystemExit(f"unknown model {name!r}; known: "
                             f"{', '.join(classical + networks)}, all, classical, network")
        chosen.update(group or [name])
    return ([m for m in classical if m in chosen],
            sorted((m for m in networks if m in chosen), key=_run_order))


def _run_order(network):
    """Cheapest networks first, so a run stopped early still holds the main ones."""
    return RUN_ORDER.index(network) if network in RUN_ORDER else len(RUN_ORDER)


# ------------------------------------------------------------------ cross-validation

def run_compare(stack, samples, models, repeats, settings, folder, reporter, first_repeat=0):
    """The engine's ``compare`` (repeated spatial 5-fold) of ``models``; its outcome
    as JSON, with the wall time. ``first_repeat`` > 0 leaves out the repeats before it
    (0-based), e.g. to add repeats to an earlier run: the folds kept are the same as
    in a full run."""
    from landslide_susceptibility.engine.commands import run_command

    started = time.monotonic()
    settings = dict(settings)
    # the bench pretrains once per stack and model (``pretrained_folds``), never
    # in every fold through the product's own setting
    pretrain = settings.pop("pretrain", False)
    pretraining = settings.pop("pretraining", {})  # the pretrain command's own settings
    params = dict(CV, **settings, pretrain=False, stack=stack, samples=samples,
                  models=list(models),
                  repeats=repeats, output_folder=os.path.join(folder, "compare"),
                  output_report="")
    with contextlib.ExitStack() as stack_of_contexts:
        if first_repeat:
            stack_of_contexts.enter_context(repeats_from(first_repeat))
        if pretrain:
            stack_of_contexts.enter_context(
                pretrained_folds(stack, samples, models, settings, folder, reporter,
                                 pretraining))
        outcome = run_command("compare", params, reporter).to_json()
    outcome["wall_seconds"] = round(time.monotonic() - started, 1)
    log(f"   {outcome['verdict']}")
    return outcome


@contextlib.contextmanager
def repeats_from(first):
    """The compare command's fold plan without the repeats before ``first``."""
    from landslide_susceptibility.engine.commands import compare

    plan_folds = compare.plan_folds

    def later_repeats(*args, **kwargs):
        plan = plan_folds(*args, **kwargs)
        plan.splits = [split for split in plan.splits if split[0] >= first]
        return plan

    compare.plan_folds = later_repeats
    try:
        yield
    finally:
        compare.plan_folds = plan_folds


@contextlib.contextmanager
def pretrained_folds(stack, samples, models, settings, folder, reporter, pretraining=None):
    """Within it, every fold of ``compare`` fine-tunes from an encoder pretrained
    once on the whole stack (unlabelled patches: no label of any fold is seen);
    ``pretraining``: settings of the ``pretrain`` command other than its defaults."""
    from landslide_susceptibility.core.specs.training import CompareSpec
    from landslide_susceptibility.engine.commands import run_command
    from landslide_susceptibility.engine.pretraining import NETWORK_OPTIONS
    from landslide_susceptibility.engine.samples_input import load_samples

    (model,) = models
    encoder = os.path.join(folder, f"{model}_encoder.keras")
    options = {key: settings[key] for key in NETWORK_OPTIONS if key in settings}
    log(f"   pretraining the {model} encoder on the stack")
    run_command("pretrain", dict(options, **(pretraining or {}), stack=stack, model=model,
                                 output_encoder=encoder,
                                 patch_size=int(load_samples(samples)[1]["patch_size"]),
                                 seed=CV["seed"],
                                 precision=settings.get("precision", "float32")),
                reporter)
    plain = CompareSpec.train_spec

    def with_encoder(self, name):
        spec = plain(self, name)
        spec.pretrained_encoder = encoder
        return spec

    CompareSpec.train_spec = with_encoder
    try:
        yield encoder
    finally:
        CompareSpec.train_spec = plain


def _renamed(outcome, title, models):
    """A variant's comparison (title ``cnn+skip``) with its model rows named after
    the variant, so its folds pool apart from the plain network's."""
    if "+" not in title or len(models) != 1:
        return outcome
    for row in outcome["rows"] + outcome["fold_rows"]:
        row["model"] = title
    outcome["best_model"] = title
    return outcome


def model_stats(comparisons):
    """Every model of the comparisons (JSON outcomes) pooled: mean ± sd AUC over its
    folds, and the paired tests against the best model by mean AUC on the folds
    both ran (``engine.significance``); the verdict in the product's words."""
    import numpy as np

    from landslide_susceptibility.engine import significance
    from landslide_susceptibility.models import display_names

    scores, sizes, order = {}, {}, []
    for outcome in comparisons:
        for row in outcome["fold_rows"]:
            key = (row["repeat"], row["fold"])
            order += [row["model"]] if row["model"] not in order else []
            scores.setdefault(row["model"], {})[key] = row["metrics"]["auc"]
            sizes[key] = (row["train"], row["test"])
    best, tests = significance.compare_with_best(scores, sizes, order)
    common = set.intersection(*(set(folds) for folds in scores.values())) if scores else set()
    stats = {}
    for model in order:
        values = np.array(list(scores[model].values()))
        test = tests.get(model, {})
        stats[model] = {
            "auc_mean": round(float(values.mean()), 4),
            "auc_sd": round(float(values.std(ddof=1)), 4) if len(values) > 1 else None,
            "auc_mean_common_folds": _round(np.mean([scores[model][k] for k in common]))
            if common else None,
            "folds": len(values), "repeats": len({key[0] for key in scores[model]}),
            "auc_difference_to_best": _round(test.get("difference")),
            "common_folds_with_best": test.get("folds"),
            "p_ttest": _round(test.get("p_ttest")), "p_wilcoxon": _round(test.get("p_wilcoxon")),
            "significant": bool(test and math.isfinite(test["p_ttest"])
                                and test["p_ttest"] < significance.ALPHA)}
    means = {m: s["auc_mean"] for m, s in stats.items()}
    sds = {m: s["auc_sd"] or 0.0 for m, s in stats.items()}
    verdict = significance.verdict(best, tests, means, sds, display_names(order),
                                   stats[best]["folds"] if best else 0)
    return {"best_model": best, "verdict": verdict, "models": stats,
            "common_folds": len(common)}


def _round(value, digits=4):
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def cross_validate(stack, samples, groups, folder, reporter, save, out, done=None,
                   first_repeat=0):
    """``groups``: ``[(title, models, repeats, settings)]``, run in order; their
    outcomes and pooled statistics go into ``out``, and ``save()`` is called after
    each. ``done``: comparisons of an earlier run (``--resume``), reused when their
    models, repeats and settings are the same. ``first_repeat`` (0-based): the
    networks' repeats before it are left out (added to an earlier run's by
    ``accuracy_merge.py``)."""
    out.update(cv=dict(CV), comparisons={})
    for title, models, repeats, settings in groups:
        if not models:
            continue
        key = {"models": list(models), "repeats": repeats, "settings": settings}
        # later repeats only (--first-repeat): a comparison of its own, whose folds
        # pool with the earlier repeats' under the same model name
        first = min(first_repeat, repeats) if title != "classical" else 0
        stored = f"{title} (repeats {first + 1}-{repeats})" if first else title
        if first:
            key["first_repeat"] = first
        earlier = (done or {}).get(stored)
        if earlier and all(earlier.get(k) == v for k, v in key.items()):
            log(f"-- {stored}: reused from the earlier run")
            out["comparisons"][stored] = earlier
        else:
            log(f"-- {stored}: {', '.join(models)}; {repeats - first} x 5 folds "
                f"({time.strftime('%H:%M:%S')})")
            outcome = run_compare(stack, samples, models, repeats, settings, folder, reporter,
                                  first)
            out["comparisons"][stored] = dict(_renamed(outcome, title, models), **key)
        out.update(model_stats(list(out["comparisons"].values())))
        save()


def product_settings(max_epochs=40):
    """The product's default training settings (``TrainingSettings``), the epochs
    capped at ``max_epochs``."""
    from landslide_susceptibility.core.specs.training import TrainingSettings

    defaults = TrainingSettings()
    settings = {name: getattr(defaults, name) for name, _ in TrainingSettings.params()}
    settings["epochs"] = min(settings["epochs"], max_epochs)
    return settings


def variant_settings(variant, mode):
    """The training settings of variant ``variant`` (names of :data:`VARIANTS` joined
    by ``+``); unknown names raise SystemExit."""
    names = variant.split("+")
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; known: "
                         f"{', '.join(VARIANTS)}")
    if "defaults" in names:
        settings = product_settings()
    else:
        settings = dict(NETWORK_SETTINGS, epochs=mode["epochs"], patience=mode["patience"])
    for name in names:
        settings.update(VARIANTS[name][1])
    return settings


def variant_label(code):
    """``cnn+skip`` -> ``("cnn", "centre cell to the classifier")``; a plain model
    code -> ``(code, "")``."""
    model, _, variant = code.partition("+")
    return model, " + ".join(VARIANTS[name][0] for name in variant.split("+") if name)


def model_groups(classical, networks, mode):
    """The classical models in one comparison (seconds per fold), then one comparison
    per network (and per network and variant), so each network's folds are saved
    as soon as it finishes."""
    settings = dict(NETWORK_SETTINGS, epochs=mode["epochs"], patience=mode["patience"])
    groups = [("classical", classical, mode["classical_repeats"], {})]
    groups += [(f"{name}+{variant}", [name], mode["classical_repeats"],
                {key: value for label in variant.split("+")
                 for key, value in VARIANTS[label][1].items()})
               for variant in mode.get("classical_variants", ()) for name in classical]
    for name in networks:
        if mode.get("plain_networks", True):
            groups.append((name, [name], mode["network_repeats"], settings))
        groups += [(f"{name}+{variant}", [name], mode["network_repeats"],
                    variant_settings(variant, mode)) for variant in mode.get("variants", ())]
    return groups
