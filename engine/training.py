"""Train one model on a samples layer + stack, the paper's way.

Cross-entropy with label smoothing on a 2-class softmax; SGD (lr 0.001, batch
16, 100 epochs) by default; the best model by validation accuracy is the one
kept. Normalisation statistics come from the training split and travel with
the model in its card. Cancel stops within a batch and keeps the best model so
far; the output appears only when complete (temp file + rename).
"""

import os
import platform
import time

import numpy as np

from ..core import model_card
from ..core.errors import InputError
from ..core.files import atomic_output, ensure_writable_dir
from ..core.sample_layer import select_split, validate_samples
from . import metrics
from .patches import PaddedStack, batches, tf_dataset, training_statistics

OPTIMIZERS = ("sgd", "adam", "adamw")


def plugin_version():
    """The plugin's version, from metadata.txt (the one place it is written)."""
    import configparser

    metadata = configparser.ConfigParser()
    metadata.read(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "metadata.txt"))
    return metadata.get("general", "version", fallback="unknown")


def configure_determinism(seed):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def make_optimizer(name, learning_rate):
    import keras

    name = name.lower()
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=1e-4)
    raise InputError(f"OPTIMIZER must be one of {', '.join(OPTIMIZERS)}, not '{name}'.")


def predict_probability(model, stack, rows, cols, mean, std, batch_size=256):
    """Landslide probability (softmax index 1) for the patches at (rows, cols)."""
    out = []
    dummy = np.zeros(len(rows), dtype=int)
    for x, _ in batches(stack, rows, cols, dummy, mean, std, batch_size, False, 0):
        out.append(model(x, training=False).numpy()[:, 1])
    return np.concatenate(out) if out else np.empty(0)


def _format_time(seconds):
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def train(stack_info, samples, model_name, output_model, reporter, epochs=100, batch_size=16,
          learning_rate=0.001, optimizer="sgd", label_smoothing=0.1, augment=True,
          patience=0, seed=0, hparams=None, cache_dir=None, progress_range=(0, 100),
          samples_summary=None):
    """Train and save the best model; return a dict of history, metrics and card.

    ``samples`` is ``(rows, cols, labels, splits)``. ``reporter`` has progress,
    info, warning and is_cancelled (the engine protocol's Reporter).
    """
    import keras

    from ..models import build_model, resolve_hparams

    if not str(output_model).lower().endswith(".keras"):
        raise InputError(f"OUTPUT_MODEL must be a .keras file, not '{output_model}'.")
    ensure_writable_dir(os.path.dirname(os.path.abspath(output_model)),
                        "folder of OUTPUT_MODEL")
    rows, cols, labels, splits = validate_samples(*samples, shape=stack_info.shape)
    train_rows, train_cols, train_labels = select_split(rows, cols, labels, splits, "train")
    val_rows, val_cols, val_labels = select_split(rows, cols, labels, splits, "validation")
    if batch_size > len(train_rows):
        reporter.warning(f"BATCH_SIZE {batch_size} is larger than the training set "
                         f"({len(train_rows)} samples); using {len(train_rows)}.")
        batch_size = len(train_rows)
    try:
        hparams = resolve_hparams(model_name, **(hparams or {}))
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    patch_size = int(samples_summary.get("patch_size")) if samples_summary and \
        samples_summary.get("patch_size") else None
    patch_size = patch_size or int(hparams.pop("patch", 0) or 0) or 72
    start, end = progress_range
    span = end - start

    configure_determinism(seed)
    reporter.info(f"Preparing patches ({patch_size} x {patch_size} x {stack_info.count})")
    stack = PaddedStack(stack_info.path, patch_size, cache_dir=cache_dir,
                        is_cancelled=reporter.is_cancelled)
    mean, std = training_statistics(stack, train_rows, train_cols, seed=seed)
    try:
        model = build_model(model_name, (patch_size, patch_size, stack_info.count), **hparams)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    model.compile(optimizer=make_optimizer(optimizer, learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
                  metrics=["accuracy"])
    reporter.info(f"Model {model_name}: {model.count_params():,} parameters; "
                  f"{len(train_rows)} training and {len(val_rows)} validation samples; "
                  f"batch {batch_size}, {optimizer.upper()} lr {learning_rate}, "
                  f"label smoothing {label_smoothing}, augmentation "
                  f"{'on' if augment else 'off'}")

    steps_per_epoch = -(-len(train_rows) // batch_size)
    cancel = _CancelCallback(reporter, start, span, epochs, steps_per_epoch)
    history = {key: [] for key in ("loss", "accuracy", "val_loss", "val_accuracy", "val_auc")}
    best = {"val_accuracy": -1.0, "epoch": 0}
    tmp_dir = os.path.dirname(os.path.abspath(output_model))
    best_path = os.path.join(tmp_dir, f".{os.path.basename(output_model)}.best.keras")
    started = time.monotonic()
    epochs_run = 0
    try:
        for epoch in range(epochs):
            cancel.epoch = epoch
            dataset = tf_dataset(stack, train_rows, train_cols, train_labels, mean, std,
                                 batch_size, True, seed, epoch, augment_batches=augment)
            fit = model.fit(dataset, epochs=1, verbose=0, callbacks=[cancel], shuffle=False)
            if cancel.stopped and not fit.history.get("loss"):
                break
            val_p = predict_probability(model, stack, val_rows, val_cols, mean, std)
            val = metrics.evaluate(val_labels, val_p)
            val_loss = _smoothed_cross_entropy(val_labels, val_p, label_smoothing)
            history["loss"].append(float(fit.history["loss"][-1]))
            history["accuracy"].append(float(fit.history["accuracy"][-1]))
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val["oa"])
            history["val_auc"].append(val["auc"])
            epochs_run = epoch + 1
            elapsed = time.monotonic() - started
            improved = val["oa"] > best["val_accuracy"]
            if improved:
                best = {"val_accuracy": val["oa"], "epoch": epochs_run}
                model.save(best_path)
            remaining = elapsed / epochs_run * (epochs - epochs_run)
            reporter.info(
                f"epoch {epochs_run}/{epochs}: loss {history['loss'][-1]:.4f} "
                f"acc {history['accuracy'][-1]:.4f} | val loss {val_loss:.4f} "
                f"acc {val['oa']:.4f} auc {val['auc']:.4f}"
                f"{' (best)' if improved else ''} | {_format_time(elapsed)} elapsed, "
                f"~{_format_time(remaining)} left")
            reporter.progress(start + span * epochs_run / epochs)
            if cancel.stopped:
                break
            if patience and epochs_run - best["epoch"] >= patience:
                reporter.info(f"Early stopping: no better validation accuracy for "
                              f"{patience} epochs.")
                break
        if best["epoch"] == 0:
            if os.path.exists(best_path):
                os.remove(best_path)
            return {"cancelled": True, "model": None, "epochs_run": 0}
        training_seconds = time.monotonic() - started
        best_model = keras.saving.load_model(best_path)
        card = _card(stack_info, model_name, hparams, patch_size, mean, std, seed, epochs,
                     batch_size, learning_rate, optimizer, label_smoothing, augment, patience,
                     best, epochs_run, training_seconds, samples_summary,
                     len(train_rows), len(val_rows), best_model.count_params())
        with atomic_output(output_model) as tmp:
            os.replace(best_path, tmp)
            model_card.write_card(tmp, card)
    finally:
        if os.path.exists(best_path):
            os.remove(best_path)
    return {"cancelled": cancel.stopped, "model": output_model, "history": history,
            "best_epoch": best["epoch"], "epochs_run": epochs_run, "card": card,
            "keras_model": best_model, "stack": stack, "mean": mean, "std": std,
            "training_seconds": training_seconds}


def _smoothed_cross_entropy(labels, probability, smoothing):
    p = np.clip(np.stack([1 - probability, probability], axis=1), 1e-7, 1.0)
    target = np.eye(2)[np.asarray(labels).astype(int)] * (1 - smoothing) + smoothing / 2
    return float(-np.mean(np.sum(target * np.log(p), axis=1)))


def _card(stack_info, model_name, hparams, patch_size, mean, std, seed, epochs, batch_size,
          learning_rate, optimizer, label_smoothing, augment, patience, best, epochs_run,
          training_seconds, samples_summary, n_train, n_val, parameters):
    import keras
    import tensorflow as tf

    from .device import describe

    device = describe()
    return {
        "plugin_version": plugin_version(),
        "model": model_name,
        "hparams": hparams,
        "parameters": int(parameters),
        "patch_size": patch_size,
        "factors": stack_info.names,
        "categorical": stack_info.categorical,
        "classes": {band.name: band.classes for band in stack_info.bands if band.categorical},
        "normalisation": {"mean": mean, "std": std, "source": "training split patches"},
        "border_rule": "reflect padding of half a patch at the raster edge; nodata -> 0 "
                       "after normalisation",
        "training": {"epochs": epochs, "epochs_run": epochs_run, "best_epoch": best["epoch"],
                     "best_val_accuracy": best["val_accuracy"], "batch_size": batch_size,
                     "learning_rate": learning_rate, "optimizer": optimizer,
                     "label_smoothing": label_smoothing, "augment": augment,
                     "early_stopping_patience": patience, "seed": seed,
                     "seconds": round(training_seconds, 2)},
        "data": {"stack": os.path.abspath(stack_info.path), "train_samples": n_train,
                 "validation_samples": n_val, "samples_summary": samples_summary},
        "device": device["device"],
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "python": platform.python_version(), "numpy": np.__version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


class _CancelCallback:
    """Keras callback: progress within an epoch, and stop on cancel."""

    def __new__(cls, *args, **kwargs):
        import keras

        class Callback(keras.callbacks.Callback):
            def __init__(self, reporter, start, span, epochs, steps):
                super().__init__()
                self.reporter, self.start, self.span = reporter, start, span
                self.epochs, self.steps = epochs, max(1, steps)
                self.epoch = 0
                self.stopped = False

            def on_train_batch_end(self, batch, logs=None):
                fraction = (self.epoch + (batch + 1) / self.steps) / self.epochs
                self.reporter.progress(self.start + self.span * min(fraction, 1.0))
                if self.reporter.is_cancelled():
                    self.stopped = True
                    self.model.stop_training = True

        return Callback(*args, **kwargs)


