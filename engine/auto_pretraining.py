"""The *Pretrain on the stack (networks)* training setting: an encoder pretrained on
the training stack with the defaults of 'Pretrain network encoder', cached.

The cache key holds everything the encoder depends on (the stack file, its size and
time, the model, patch size, hyper-parameters, network options and seed), so the
folds of a comparison and later runs on the same stack reuse one encoder; the
pretraining sees no landslide label.
"""

import hashlib
import json
import os

from ..core.specs import default_of
from ..core.specs.pretraining import PretrainSpec
from .patches import default_cache_dir
from .pretraining import pretrain

ENCODER_FOLDER = "encoders"
# The pretraining settings taken at their defaults (the others follow the training).
PRETRAINING_DEFAULTS = ("patches", "mask_ratio", "epochs", "batch_size", "learning_rate")


def pretraining_settings(training_epochs=None):
    """The settings of the pretraining that are not the training's: the defaults of
    'Pretrain network encoder', but never more epochs than the training runs."""
    settings = {name: default_of(PretrainSpec, name) for name in PRETRAINING_DEFAULTS}
    if training_epochs:
        settings["epochs"] = min(settings["epochs"], int(training_epochs))
    return settings


def encoder_cache_path(spec, patch_size, hparams):
    """Where the encoder of training ``spec`` (a TrainSpec) is cached."""
    stat = os.stat(spec.stack)
    key = json.dumps({"stack": os.path.abspath(spec.stack), "size": stat.st_size,
                      "mtime": stat.st_mtime_ns, "model": spec.model,
                      "patch_size": int(patch_size), "hparams": hparams,
                      "categorical_encoding": spec.categorical_encoding,
                      "continuous_encoding": spec.continuous_encoding,
                      "pixel_skip": bool(spec.pixel_skip), "seed": spec.seed,
                      # float32 leaves the key as it was before the setting existed
                      **({} if spec.precision == "float32" else {"precision": spec.precision}),
                      "pretraining": pretraining_settings(spec.epochs)},
                     sort_keys=True, default=str)
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
    folder = os.path.join(spec.cache_dir or default_cache_dir(), ENCODER_FOLDER)
    return os.path.join(folder, f"{spec.model}_{digest}.keras")


def pretrained_for(spec, stack_info, patch_size, hparams, reporter, progress_range):
    """The encoder file to fine-tune from: pretrained now (or found in the cache)
    for training ``spec``; None when cancelled before one pretraining epoch."""
    path = encoder_cache_path(spec, patch_size, hparams)
    if os.path.exists(path):
        reporter.info(f"{spec.label_of('pretrain')}: reusing the encoder pretrained on this "
                      f"stack earlier ({path}).")
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    reporter.info(f"{spec.label_of('pretrain')}: pretraining the network on unlabelled "
                  "patches of the stack first (no landslide label is used).")
    pretraining = PretrainSpec(stack=spec.stack, model=spec.model, patch_size=int(patch_size),
                               hparams=dict(spec.hparams or {}), seed=spec.seed,
                               categorical_encoding=spec.categorical_encoding,
                               continuous_encoding=spec.continuous_encoding,
                               pixel_skip=spec.pixel_skip, precision=spec.precision,
                               cache_dir=spec.cache_dir,
                               **pretraining_settings(spec.epochs),
                               output_encoder=path).validate()
    outcome = pretrain(pretraining, stack_info, reporter, progress_range)
    if outcome.cancelled:
        if outcome.encoder and os.path.exists(outcome.encoder):
            os.remove(outcome.encoder)  # a partial encoder must not be cached
        return None
    return outcome.encoder
