"""Fit a classical model on the samples, the way the networks are trained.

Same samples, splits, patches and normalisation statistics
(:func:`..training.prepare`); no epochs: the model is fitted once on the
training split's features (:mod:`.features`) and scored on the validation
split (reported, and kept in the card). Stages: features, fit, validation,
write; cancel is checked between them (nothing is written when cancelled).
The file appears only when complete (temp file + rename, :mod:`.model_file`).
"""

import platform
import time

import numpy as np

from ...core.specs import TrainOutcome
from .. import metrics
from . import frequency_ratio
from .estimators import SKLEARN_MODELS, estimator_summary, fit_encoding, fit_estimator
from .features import in_factor_units, patch_features
from .model import ClassicalModel
from .model_file import write_classical

FEATURE_BATCH = 1024  # patches per feature batch


def train_classical(spec, stack_info, data, reporter, progress_range=(0, 100)):
    """Fit ``spec.model`` on ``data`` (a :class:`..training.Prepared`), write it with
    its card to ``spec.output_model``; a :class:`..training.Trained`."""
    from ..training import Trained

    start, end = progress_range
    started = time.monotonic()
    model = ClassicalModel(spec.output_model, _provisional_card(spec, stack_info, data),
                           {"model": spec.model,
                            "neighbourhood": bool(data.hparams.get("neighbourhood"))})
    cancelled = Trained(TrainOutcome(cancelled=True), None, data.stack, data.mean, data.std)
    x = features_of(model.layout, data.stack, data.train, reporter)
    if x is None:
        return cancelled
    reporter.progress(start + 0.3 * (end - start))
    fit(model, spec, x, data.train[2], reporter)
    if reporter.is_cancelled():
        return cancelled
    reporter.progress(start + 0.8 * (end - start))
    validation = _validation_scores(model, data, reporter)
    seconds = time.monotonic() - started
    model.card = _card(spec, stack_info, data, model, validation, seconds)
    if reporter.is_cancelled():
        return cancelled
    write_classical(spec.output_model, model.card, model.recipe, model.estimator)
    reporter.progress(end)
    history = {"val_accuracy": [validation["oa"]], "val_auc": [validation["auc"]]} \
        if validation else {}
    outcome = TrainOutcome(model=spec.output_model, history=history, card=model.card,
                           training_seconds=seconds)
    return Trained(outcome, None, data.stack, data.mean, data.std, model)


def features_of(layout, stack, split, reporter):
    """Features ``(N, F)`` of the patches of ``split`` (rows, cols, ...); None on cancel."""
    rows, cols = np.asarray(split[0]), np.asarray(split[1])
    parts = []
    for begin in range(0, len(rows), FEATURE_BATCH):
        if reporter.is_cancelled():
            return None
        chunk = slice(begin, begin + FEATURE_BATCH)
        parts.append(patch_features(stack.patches(rows[chunk], cols[chunk]), layout))
    return np.concatenate(parts) if parts else np.empty((0, len(layout.columns())))


def fit(model, spec, x, y, reporter):
    """Fit the estimator or the class tables of ``model`` (its recipe filled in)."""
    hparams, recipe, layout = model.card["hparams"], model.recipe, model.layout
    columns = layout.columns()
    codes = {band: layout.class_codes(band) for band, flag in enumerate(layout.categorical)
             if flag}
    recipe["columns"] = [list(column) for column in columns]
    if spec.model in SKLEARN_MODELS:
        recipe["encoding"] = fit_encoding(spec.model, x, columns, codes)
        model.estimator = fit_estimator(spec.model, hparams, spec.seed, recipe["encoding"],
                                        x, y)
        recipe["estimator"] = SKLEARN_MODELS[spec.model]
        summary = estimator_summary(model.estimator)
    else:  # classes in factor units, so the tables read as the factors
        x = in_factor_units(x, layout)
        recipe["tables"] = frequency_ratio.fit_tables(x, y, columns, codes, hparams["bins"],
                                                      hparams["smoothing"])
        index = frequency_ratio.susceptibility_index(x, recipe["tables"], spec.model)
        recipe["calibration"] = list(frequency_ratio.calibrate(index, y))
        summary = f"{sum(len(t['fr']) for t in recipe['tables'])} classes"
    reporter.info(f"Fitted {spec.model} on {len(x)} training samples, {len(columns)} "
                  f"features{' (with neighbourhood statistics)' if layout.neighbourhood else ''}"
                  f": {summary}")


def _validation_scores(model, data, reporter):
    """Validation metrics (logged), or None without validation samples."""
    rows, cols, labels = data.validation
    if not len(rows):
        return None
    probability = model.probability(data.stack, rows, cols)
    scores = metrics.evaluate(labels, probability)
    reporter.info(f"Validation: accuracy {scores['oa']:.4f}, AUC {scores['auc']:.4f}")
    return scores


def _provisional_card(spec, stack_info, data):
    """The card's keys the features need (the full card follows the fit)."""
    return {"model": spec.model, "hparams": data.hparams, "patch_size": data.patch_size,
            "factors": stack_info.names, "categorical": stack_info.categorical,
            "classes": {band.name: band.classes for band in stack_info.bands
                        if band.categorical},
            "normalisation": {"mean": data.mean, "std": data.std}}


def _card(spec, stack_info, data, model, validation, seconds):
    from ..device import cpu_name
    from ..model_cards import model_card_of

    training = {"fitted_on": "training split", "seed": spec.seed,
                "best_val_accuracy": validation["oa"] if validation else None,
                "best_val_auc": validation["auc"] if validation else None,
                "seconds": round(seconds, 2)}
    return model_card_of(spec, stack_info, data, model.parameters, training,
                         f"CPU ({cpu_name()})", _versions())


def _versions():
    import sklearn

    from .model_file import skops_version

    return {"scikit-learn": sklearn.__version__, "skops": skops_version(),
            "python": platform.python_version(), "numpy": np.__version__}
