"""Train one model on a samples layer + stack, the paper's way.

Cross-entropy with label smoothing on a 2-class softmax; the settings and their
defaults (the paper's: SGD, lr 0.001, batch 16, 100 epochs) are those of
:class:`..core.specs.TrainSpec`. The best model by validation accuracy is the
one kept. Normalisation statistics come from the training split and travel
with the model in its card. Cancel stops within a batch and keeps the best
model so far; the output appears only when complete (temp file + rename).

Phases of :func:`train`: :func:`prepare` (samples, patches, statistics),
:func:`build` (model + optimizer), :func:`run_epochs` (one :func:`fit_epoch`
and the keep-best rule per epoch) and :func:`save_best` (model + card).
"""

import contextlib
import math
import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np

from ..core import model_card
from ..core.errors import InputError
from ..core.files import atomic_output, ensure_writable_dir
from ..core.sample_layer import select_split, validate_samples
from ..core.specs import TrainOutcome
from ..core.specs.samples import DEFAULT_PATCH_SIZE
from ..core.specs.training import (
    BINNED_ENCODINGS,
    FACTOR_BINS,
    OPTIMIZERS,
    SELECTIONS,
    WEIGHT_AVERAGE_MOMENTUM,
)
from . import metrics
from .loaded_model import wrap_network
from .model_cards import model_card_of, plugin_version  # noqa: F401 (plugin_version: API)
from .patches import (
    PaddedStack,
    batches,
    bin_edges,
    mean_over_views,
    stack_for_views,
    tf_dataset,
    training_statistics,
)
from .schedules import rate_function

# the log's words for Average over flips and turns (validation, evaluation, map)
VIEWS_NOTE = "; scored as the mean over 8 flips and turns"

# Optimizer code (``core.specs.training.OPTIMIZERS``) -> Keras class and options.
KERAS_OPTIMIZERS = {"sgd": ("SGD", {"momentum": 0.9}), "adam": ("Adam", {}),
                    "adamw": ("AdamW", {"weight_decay": 1e-4})}
PRETRAINING_SHARE = 0.3  # of the progress bar, when the training pretrains first
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_auc")


@dataclass
class Prepared:
    """The data of one training run: patches, splits and normalisation."""

    stack: PaddedStack
    train: tuple  # (rows, cols, labels) of the training split
    validation: tuple  # the same of the validation split
    mean: list
    std: list
    patch_size: int
    batch_size: int  # the spec's, clamped to the training set
    hparams: dict  # the model's hyper-parameters, defaults resolved
    summary: dict | None  # the samples' summary (patch size as used)
    edges: list | None = None  # per band, its bin edges (continuous factors in bins)


@dataclass
class EpochLog:
    """What the epoch loop did: history and the best (kept) epoch."""

    selection: str = "val_accuracy"  # the history key whose best epoch is kept
    history: dict = field(default_factory=lambda: {key: [] for key in HISTORY_KEYS})
    best_epoch: int = 0
    best_score: float = -math.inf
    epochs_run: int = 0
    seconds: float = 0.0
    cancelled: bool = False

    def add(self, scores):
        for key in HISTORY_KEYS:
            self.history[key].append(scores[key])
        self.epochs_run += 1

    def keep_if_best(self, model, path):
        """Save the model when its ``selection`` score is the best so far (the paper's
        rule: validation accuracy); the first epoch is always kept, so a score that
        is undefined (AUC of a one-class validation split) cannot lose the model."""
        score = self.history[self.selection][-1]
        score = score if math.isfinite(score) else -math.inf
        if score <= self.best_score and self.best_epoch:
            return False
        self.best_score, self.best_epoch = score, self.epochs_run
        model.save(path)
        return True

    @property
    def best_val_accuracy(self):
        return self.history["val_accuracy"][self.best_epoch - 1] if self.best_epoch else None


@dataclass
class RunFacts:
    """What the model card records beyond the spec."""

    stack_info: object
    data: Prepared
    log: EpochLog
    parameters: int


@dataclass
class Trained:
    """What :func:`train` returns, the same shape whether cancelled or not:
    ``outcome`` (the command's result, without the test metrics) and the live
    objects the test-split evaluation needs: ``loaded``, the model written (a
    :class:`.loaded_model.LoadedModel`; None when cancelled before anything was
    written), ``keras_model`` (the network's Keras model; None for a classical
    model or when nothing was written), the padded stack and the normalisation."""

    outcome: TrainOutcome
    keras_model: object = None
    stack: PaddedStack | None = None
    mean: list | None = None
    std: list | None = None
    loaded: object = None

    @property
    def has_model(self):
        """Whether a model was written (and :attr:`loaded` is set)."""
        return self.loaded is not None


def configure_training(seed):
    """The seed, deterministic ops, and on a CPU the faster convolution input
    gradient (:mod:`.conv_gradient`)."""
    import keras
    import tensorflow as tf

    from .conv_gradient import install_on_cpu

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
    install_on_cpu()


def make_optimizer(code, learning_rate):
    """The Keras optimizer of ``code`` (one of ``core.specs.training.OPTIMIZERS``)."""
    if code not in KERAS_OPTIMIZERS:
        raise InputError(f"Optimizer must be one of "
                         f"{', '.join(c for c, _ in OPTIMIZERS)}, not '{code}'.")
    import keras

    name, options = KERAS_OPTIMIZERS[code]
    return getattr(keras.optimizers, name)(learning_rate=learning_rate, **options)


def predict_probability(model, stack, rows, cols, mean, std, batch_size=256, average_views=False):
    """Landslide probability (softmax index 1) for the patches at (rows, cols);
    with ``average_views`` the mean over every patch's eight flips and turns
    (:func:`.patches.mean_over_views`)."""
    out = []
    dummy = np.zeros(len(rows), dtype=int)
    size = stack.patch_size
    source = stack_for_views(stack) if average_views else stack

    def probability(x):
        return model(x, training=False).numpy()[:, 1]

    for x, _ in batches(source, rows, cols, dummy, mean, std, batch_size, False, 0):
        out.append(mean_over_views(probability, x, size) if average_views else probability(x))
    return np.concatenate(out) if out else np.empty(0)


def format_time(seconds):
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def train(spec, stack_info, samples, reporter, samples_summary=None, progress_range=(0, 100)):
    """Train the model of ``spec`` (a validated :class:`..core.specs.TrainSpec`) and
    save the best epoch's model with its card; return a :class:`Trained`.

    ``samples`` is ``(rows, cols, labels, splits)``. ``reporter`` has progress,
    info, warning and is_cancelled (the engine protocol's Reporter). A classical
    model (:func:`..models.is_classical`) is fitted by :mod:`.classical.train`.
    """
    from ..models import is_classical

    data = prepare(spec, stack_info, samples, reporter, samples_summary)
    if is_classical(spec.model):
        from .classical.train import train_classical

        return train_classical(spec, stack_info, data, reporter, progress_range)
    if getattr(spec, "pretrain", False) and not getattr(spec, "pretrained_encoder", ""):
        progress_range, spec = _pretrained_first(spec, stack_info, data, reporter,
                                                 progress_range)
        if spec is None:
            return Trained(TrainOutcome(cancelled=True), None, data.stack, data.mean,
                           data.std)
    model = build(spec, data, stack_info, reporter)
    stepping = stepping_model(spec, model, reporter)
    best_path = _best_path(spec.output_model)
    try:
        log = run_epochs(spec, model, data, best_path, reporter, progress_range, stepping)
        if log.best_epoch == 0:
            return Trained(TrainOutcome(cancelled=True), None, data.stack, data.mean,
                           data.std)
        return save_best(spec, stack_info, data, log, best_path)
    finally:
        if os.path.exists(best_path):
            os.remove(best_path)


def _pretrained_first(spec, stack_info, data, reporter, progress_range):
    """*Pretrain on the stack*: ``(the training's share of the progress, the spec
    with its encoder)``, the spec None when cancelled during the pretraining. The
    random state is set again afterwards, so that the training is the same whether
    the encoder was pretrained now or found in the cache."""
    import dataclasses

    from .auto_pretraining import pretrained_for

    start, end = progress_range
    middle = start + (end - start) * PRETRAINING_SHARE
    encoder = pretrained_for(spec, stack_info, data.patch_size, data.hparams, reporter,
                             (start, middle))
    if encoder is None:
        return progress_range, None
    configure_training(spec.seed)
    return (middle, end), dataclasses.replace(spec, pretrained_encoder=encoder)


def prepare(spec, stack_info, samples, reporter, samples_summary=None):
    """Check the samples and output; split, patch size, hyper-parameters, the
    padded stack and the training split's normalisation statistics. For a
    classical model neither TensorFlow is set up nor the batch size checked."""
    from ..models import is_classical

    network = not is_classical(spec.model)
    ensure_writable_dir(os.path.dirname(os.path.abspath(spec.output_model)),
                        f"folder of {spec.label_of('output_model')}")
    rows, cols, labels, splits = validate_samples(*samples, shape=stack_info.shape)
    if not (splits == "test").any():
        reporter.warning("The samples have no test split (built with Test ratio 0): no test "
                         "metrics will be computed, the metrics table stays empty. Evaluate "
                         "the model with 'Evaluate landslide model' on other samples, or "
                         "build samples with a test ratio above 0.")
    train_split = select_split(rows, cols, labels, splits, "train")
    validation = select_split(rows, cols, labels, splits, "validation")
    batch_size = spec.batch_size
    if network and batch_size > len(train_split[0]):
        reporter.warning(f"{spec.label_of('batch_size')} {batch_size} is larger than the "
                         f"training set "
                         f"({len(train_split[0])} samples); using {len(train_split[0])}.")
        batch_size = len(train_split[0])
    hparams = resolve_model_hparams(spec.model, spec.hparams)
    if not network and getattr(spec, "neighbourhood", False):
        hparams["neighbourhood"] = True  # the setting turns it on for every classical model
    summary = samples_summary
    if spec.patch_size:
        summary = dict(summary or {}, patch_size=spec.patch_size)
    patch_size = int((summary or {}).get("patch_size") or DEFAULT_PATCH_SIZE)

    if network:
        configure_training(spec.seed)
    reporter.info(f"Preparing patches ({patch_size} x {patch_size} x {stack_info.count})")
    stack = PaddedStack(stack_info.path, patch_size, cache_dir=spec.cache_dir,
                        is_cancelled=reporter.is_cancelled)
    mean, std = training_statistics(stack, train_split[0], train_split[1], seed=spec.seed)
    edges = factor_bin_edges(spec, stack, *train_split[:2]) if network else None
    return Prepared(stack, train_split, validation, mean, std, patch_size, batch_size,
                    hparams, summary, edges)


def factor_bin_edges(spec, stack, rows, cols):
    """The bin edges of every band (:func:`.patches.bin_edges` over the patches of
    (rows, cols)) when ``spec`` puts the continuous factors in bins, else None."""
    if getattr(spec, "continuous_encoding", "values") not in BINNED_ENCODINGS:
        return None
    return bin_edges(stack, rows, cols, FACTOR_BINS, seed=spec.seed)


def network_options(spec, bands, mean, std, edges=None):
    """``build_model``'s network options of ``spec``'s settings: ``encoding`` (one-hot
    categorical factors of ``bands``, Z-scored with ``mean`` and ``std``), ``bins``
    (the continuous factors in bins of ``edges``, when given) and ``pixel_skip``."""
    from ..models import bin_encoding, one_hot_encoding

    encoding = None
    if spec.categorical_encoding == "one_hot":
        encoding = one_hot_encoding(bands, mean, std)
    bins = bin_encoding(bands, mean, std, edges, keeps_values(spec)) if edges else None
    return {"encoding": encoding, "bins": bins, "pixel_skip": bool(spec.pixel_skip)}


def keeps_values(spec):
    """Whether ``spec``'s binned continuous factors keep their values beside the bins."""
    return getattr(spec, "continuous_encoding", "values") == "values_bins"


def _continuous_note(bins):
    if not bins:
        return "continuous factors as values"
    kept = " and as values" if bins.get("keep_values") else ""
    return f"continuous factors in {len(bins['edges'][0]) - 1} bins{kept}"


def resolve_model_hparams(model_name, hparams):
    from ..models import resolve_hparams

    try:
        return resolve_hparams(model_name, **(hparams or {}))
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def build(spec, data, stack_info, reporter):
    """The Keras model of ``spec`` (compiled by :func:`stepping_model`) for
    ``data``'s patches of ``stack_info``'s stack, with the network options of the
    settings (:func:`network_options`): one-hot categorical factors (their classes
    from the stack, the Z-score from ``data``), continuous factors in bins (the
    edges from ``data``) and the centre cell's factors to the classifier."""
    from ..models import build_model

    factors = stack_info.bands
    options = network_options(spec, factors, data.mean, data.std, data.edges)
    encoding, bins, encoded = options["encoding"], options["bins"], "as class codes"
    if spec.categorical_encoding == "one_hot":
        if encoding is None:
            reporter.info(f"{spec.label_of('categorical_encoding')}: the stack has no "
                          "categorical factor with known classes; there is nothing to one-hot "
                          "encode.")
        else:
            encoded = "one-hot (" + ", ".join(
                f"{factors[band].name}: {len(values)} classes"
                for band, values in zip(encoding["bands"], encoding["classes"], strict=True)) + ")"
    pixel_skip = options["pixel_skip"]
    try:
        model = build_model(spec.model, (data.patch_size, data.patch_size, stack_info.count),
                            **options, **data.hparams)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    reporter.info(f"Model {spec.model}: {model.count_params():,} parameters; "
                  f"{len(data.train[0])} training and {len(data.validation[0])} validation "
                  f"samples; batch {data.batch_size}, {spec.optimizer.upper()} lr "
                  f"{spec.learning_rate}, label smoothing {spec.label_smoothing}, "
                  f"augmentation {'on' if spec.augment else 'off'}; categorical factors "
                  f"{encoded}, {_continuous_note(bins)}, centre cell to the classifier "
                  f"{'on' if pixel_skip else 'off'}"
                  f"{VIEWS_NOTE if getattr(spec, 'average_views', False) else ''}")
    if getattr(spec, "pretrained_encoder", ""):  # fine-tuning (engine/pretraining.py)
        from .pretraining import load_pretrained_encoder
        load_pretrained_encoder(spec, model, data, reporter, stack_info)
    return model


def compile_for_training(spec, model):
    """Compile ``model`` with the optimizer, loss and metric of ``spec``."""
    import keras

    model.compile(optimizer=make_optimizer(spec.optimizer, spec.learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(
                      label_smoothing=spec.label_smoothing),
                  metrics=["accuracy"])


def stepping_model(spec, model, reporter):
    """The compiled model the training steps run on (:func:`precision_copy`; for
    bfloat16 ``model`` is left uncompiled, so its file carries no unused optimizer).
    The validation, the epoch kept and the file written are ``model``'s, in float32,
    after :func:`synced`."""
    stepping = precision_copy(spec, model, reporter)
    compile_for_training(spec, stepping)
    return stepping


def precision_copy(spec, model, reporter):
    """``model`` itself, or for *Training precision* bfloat16 a copy whose layers
    compute in bfloat16 with the weights in float32 (:func:`.runners.with_precision`),
    with a warning where bfloat16 would be emulated."""
    precision = getattr(spec, "precision", "float32")
    if precision == "float32":
        return model
    from .runners import emulation_warning, with_precision

    label = spec.label_of("precision")
    warning = emulation_warning(precision)
    if warning:
        reporter.warning(f"{label}: {warning}")
    reporter.info(f"{label}: the training steps compute in {precision}; the weights stay "
                  "float32 and are scored and written in float32.")
    return with_precision(model, precision)


def synced(model, stepping):
    """``model`` with the weights of ``stepping``, the model the steps run on."""
    if stepping is not model:
        model.set_weights(stepping.get_weights())
    return model


def _best_path(output_model):
    """The checkpoint of the best epoch, hidden beside the output."""
    folder = os.path.dirname(os.path.abspath(output_model))
    return os.path.join(folder, f".{os.path.basename(output_model)}.best.keras")


def run_epochs(spec, model, data, best_path, reporter, progress_range, stepping=None):
    """The epoch loop: fit (``stepping``, :func:`stepping_model`; by default ``model``
    itself), validate and keep ``model``; stop on cancel or patience."""
    stepping = model if stepping is None else stepping
    start, end = progress_range
    steps_per_epoch = -(-len(data.train[0]) // data.batch_size)
    cancel = CancelCallback(reporter, start, end - start, spec.epochs, steps_per_epoch,
                             rate_function(getattr(spec, "schedule", "constant"),
                                           spec.learning_rate, steps_per_epoch, spec.epochs))
    log = EpochLog(selection=spec.selection)
    average = averaged_weights(spec, stepping)
    extra = [average.callback()] if average else []
    started = time.monotonic()
    for epoch in range(spec.epochs):
        cancel.epoch = epoch
        fitted = fit_epoch(spec, stepping, data, epoch, cancel, extra)
        if fitted is None:
            break
        with average.swapped() if average else contextlib.nullcontext():
            kept = synced(model, stepping)
            log.add(dict(fitted, **validation_scores(spec, kept, data)))
            improved = log.keep_if_best(kept, best_path)
        elapsed = time.monotonic() - started
        reporter.info(_epoch_line(spec.epochs, log, improved, elapsed))
        if log.epochs_run == 1:
            first_epoch = elapsed  # includes the start-up: the next epoch times the rest
        elif log.epochs_run == 2 and spec.epochs > 2:
            epoch_time = elapsed - first_epoch
            reporter.info(
                f"Expected training time: about "
                f"{format_time(elapsed + epoch_time * (spec.epochs - 2))} for {spec.epochs} "
                f"epochs ({format_time(epoch_time)} per epoch)"
                f"{'; early stopping may end it sooner' if spec.patience else ''}.")
        reporter.progress(start + (end - start) * log.epochs_run / spec.epochs)
        if cancel.stopped:
            break
        if spec.patience and log.epochs_run - log.best_epoch >= spec.patience:
            reporter.info(f"Early stopping: {spec.patience} epochs without a better model "
                          f"by '{dict(SELECTIONS)[spec.selection]}'.")
            break
    log.seconds = time.monotonic() - started
    log.cancelled = cancel.stopped
    return log


def averaged_weights(spec, model):
    """The moving average of ``model``'s weights when the settings ask for it
    (*Average the weights*), else None."""
    if not getattr(spec, "weight_average", False):
        return None
    from .weight_average import WeightAverage

    return WeightAverage(model, WEIGHT_AVERAGE_MOMENTUM)


def fit_epoch(spec, model, data, epoch, cancel, extra=()):
    """Fit one epoch with the ``cancel`` callback and the ``extra`` ones: its
    training loss and accuracy, or None when cancel came before a batch finished."""
    rows, cols, labels = data.train
    dataset = tf_dataset(data.stack, rows, cols, labels, data.mean, data.std,
                         data.batch_size, True, spec.seed, epoch, augment_batches=spec.augment,
                         mixup=getattr(spec, "mixup", 0.0))
    fit = model.fit(dataset, epochs=1, verbose=0, callbacks=[cancel, *extra], shuffle=False)
    if cancel.stopped and not fit.history.get("loss"):
        return None
    return {"loss": float(fit.history["loss"][-1]),
            "accuracy": float(fit.history["accuracy"][-1])}


def validation_scores(spec, model, data):
    """The validation split's loss, accuracy and AUC of ``model`` as it is now."""
    val_rows, val_cols, val_labels = data.validation
    val_p = predict_probability(model, data.stack, val_rows, val_cols, data.mean, data.std,
                                average_views=getattr(spec, "average_views", False))
    val = metrics.evaluate(val_labels, val_p)
    return {"val_loss": _smoothed_cross_entropy(val_labels, val_p, spec.label_smoothing),
            "val_accuracy": val["oa"], "val_auc": val["auc"]}


def _epoch_line(epochs, log, improved, elapsed):
    history = log.history
    remaining = elapsed / log.epochs_run * (epochs - log.epochs_run)
    return (f"epoch {log.epochs_run}/{epochs}: loss {history['loss'][-1]:.4f} "
            f"acc {history['accuracy'][-1]:.4f} | val loss {history['val_loss'][-1]:.4f} "
            f"acc {history['val_accuracy'][-1]:.4f} auc {history['val_auc'][-1]:.4f}"
            f"{' (best)' if improved else ''} | {format_time(elapsed)} elapsed, "
            f"~{format_time(remaining)} left")


def save_best(spec, stack_info, data, log, best_path):
    """Write the best epoch's model with its card to the output; the result."""
    import keras

    best_model = keras.saving.load_model(best_path, compile=False)
    card = _card(spec, RunFacts(stack_info, data, log, best_model.count_params()))
    with atomic_output(spec.output_model) as tmp:
        os.replace(best_path, tmp)
        model_card.write_card(tmp, card)
    outcome = TrainOutcome(cancelled=log.cancelled, model=spec.output_model,
                           history=log.history, best_epoch=log.best_epoch,
                           epochs_run=log.epochs_run, card=card,
                           training_seconds=log.seconds)
    loaded = wrap_network(spec.output_model, card, best_model)
    return Trained(outcome, best_model, data.stack, data.mean, data.std, loaded)


def _smoothed_cross_entropy(labels, probability, smoothing):
    p = np.clip(np.stack([1 - probability, probability], axis=1), 1e-7, 1.0)
    target = np.eye(2)[np.asarray(labels).astype(int)] * (1 - smoothing) + smoothing / 2
    return float(-np.mean(np.sum(target * np.log(p), axis=1)))


def _card(spec, facts):
    """The model card of a training run of ``spec`` (:mod:`..core.model_card`)."""
    import keras
    import tensorflow as tf

    from .device import describe

    return model_card_of(
        spec, facts.stack_info, facts.data, facts.parameters,
        training=_training_facts(spec, facts.data, facts.log), device=describe()["device"],
        versions={"tensorflow": tf.__version__, "keras": keras.__version__,
                  "python": platform.python_version(), "numpy": np.__version__})


def _training_facts(spec, data, log):
    return {"epochs": spec.epochs, "epochs_run": log.epochs_run,
            "best_epoch": log.best_epoch, "best_val_accuracy": log.best_val_accuracy,
            "kept_by": spec.selection,
            "batch_size": data.batch_size, "learning_rate": spec.learning_rate,
            "optimizer": spec.optimizer, "label_smoothing": spec.label_smoothing,
            "augment": spec.augment, "early_stopping_patience": spec.patience,
            "schedule": getattr(spec, "schedule", "constant"),
            "categorical_encoding": getattr(spec, "categorical_encoding", "codes"),
            "continuous_encoding": getattr(spec, "continuous_encoding", "values"),
            "pixel_skip": bool(getattr(spec, "pixel_skip", False)),
            "weight_average": bool(getattr(spec, "weight_average", False)),
            "mixup": float(getattr(spec, "mixup", 0.0)),
            "average_views": bool(getattr(spec, "average_views", False)),
            "pretrain": bool(getattr(spec, "pretrain", False)),
            "pretrained_encoder": getattr(spec, "pretrained_encoder", "") or None,
            "precision": getattr(spec, "precision", "float32"),
            "seed": spec.seed, "seconds": round(log.seconds, 2)}


class CancelCallback:
    """Keras callback: progress within an epoch, and stop on cancel."""

    def __new__(cls, *args, **kwargs):
        import keras

        class Callback(keras.callbacks.Callback):
            def __init__(self, reporter, start, span, epochs, steps, rate=None):
                super().__init__()
                self.reporter, self.start, self.span = reporter, start, span
                self.epochs, self.steps = epochs, max(1, steps)
                self.rate = rate  # step -> learning rate, or None (constant)
                self.epoch = 0
                self.stopped = False

            def on_train_batch_begin(self, batch, logs=None):
                if self.rate is not None:
                    self.model.optimizer.learning_rate.assign(
                        self.rate(self.epoch * self.steps + batch))

            def on_train_batch_end(self, batch, logs=None):
                fraction = (self.epoch + (batch + 1) / self.steps) / self.epochs
                self.reporter.progress(self.start + self.span * min(fraction, 1.0))
                if self.reporter.is_cancelled():
                    self.stopped = True
                    self.model.stop_training = True

        return Callback(*args, **kwargs)


