"""Self-supervised pretraining of a network's encoder, and fine-tuning from it.

:func:`pretrain` (the ``pretrain`` command): masked-patch reconstruction on
unlabelled patches of the factor stack. Patch centres are drawn at random over the
stack's valid cells (:func:`draw_centres`, the same for a seed); the patches are
Z-scored with their own statistics; in every patch a share of the area is hidden
in random square blocks (:func:`block_masks`; hidden cells are set to 0, the band
mean after the Z-score). The network of ``spec.model`` is built as training builds
it; the tensor feeding its classifier (the final Dense, :data:`HEAD`) is the
encoder's output, and a small decoder (Dense, Dense to patch x patch x bands,
reshape) reconstructs the patch from it. The loss is the mean squared error over
the hidden valid cells only (:func:`masked_mse`). The file written is the whole
network without the decoder (its classifier untrained), with a card
(:func:`encoder_card`, ``kind`` ``"pretrained_encoder"``) in the ``.keras`` zip, as
trained models carry theirs (:func:`..core.model_card.write_card`).

:func:`load_pretrained_encoder` (called by :func:`.training.build` when
*Pretrained encoder (networks)* is set): checks the card against the training run
(model, factors and their order, patch size, hyper-parameters, network options)
and copies the weights of every layer but the classifier into the freshly built
network. The normalisation of the fine-tuning stays the training split's.
"""

import json
import os
import platform
import time
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from ..core import model_card
from ..core.errors import InputError
from ..core.files import atomic_output, ensure_writable_dir
from ..core.specs.pretraining import PretrainOutcome, PretrainSpec
from ..core.specs.training import PAPER_SETTINGS, TrainSpec
from ..core.stack import read_stack_info, sample_pixels
from .model_cards import plugin_version
from .patches import PaddedStack, normalise, training_statistics

KIND = "pretrained_encoder"  # the card's "kind"
HEAD = "predictions"  # the classifier Dense of every network (models.blocks.classifier)
DECODER_WIDTH = 256  # units of the decoder's hidden Dense
MASK_GRID = 8  # the masked squares' side: the patch size / MASK_GRID (at least 2 cells)
STATISTICS_SOURCE = "unlabelled patches (pretraining)"
ENCODER_LABEL = TrainSpec.label_of("pretrained_encoder")
PRETRAIN_ALGORITHM = "'Pretrain network encoder'"
# The training settings the card records and fine-tuning must match: name -> the value
# of an encoder whose card lacks it (written before the option existed: the paper's).
NETWORK_OPTIONS = {name: PAPER_SETTINGS[name]
                   for name in ("categorical_encoding", "continuous_encoding", "pixel_skip")}


@dataclass
class Unlabelled:
    """The data of one pretraining run: patch centres, stack and normalisation."""

    stack: PaddedStack
    rows: np.ndarray
    cols: np.ndarray
    mean: list
    std: list
    patch_size: int
    batch_size: int  # the spec's, clamped to the number of patches
    hparams: dict  # the model's hyper-parameters, defaults resolved
    edges: list | None = None  # per band, its bin edges (continuous factors in bins)


@dataclass
class PretrainLog:
    """What the epoch loop did."""

    losses: list
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def epochs_run(self):
        return len(self.losses)


# --- pretraining ------------------------------------------------------------

def pretrain(spec, stack_info, reporter, progress_range=(0, 100)):
    """Pretrain the encoder of ``spec`` (a validated :class:`..core.specs.pretraining.
    PretrainSpec`) on ``stack_info``'s stack and write it with its card; return a
    :class:`..core.specs.pretraining.PretrainOutcome` (``encoder`` None when cancelled
    before the first epoch finished)."""
    from .training import configure_training, precision_copy, synced

    ensure_writable_dir(os.path.dirname(os.path.abspath(spec.output_encoder)),
                        f"folder of {spec.label_of('output_encoder')}")
    configure_training(spec.seed)
    data = prepare(spec, stack_info, reporter)
    network = build_network(spec, stack_info, data, reporter)
    stepping = precision_copy(spec, network, reporter)
    log = run_epochs(spec, reconstruction_model(stepping), data, reporter, progress_range)
    synced(network, stepping)
    if not log.epochs_run:
        reporter.warning("Cancelled before the first epoch finished: no encoder was written.")
        return PretrainOutcome(cancelled=True)
    card = encoder_card(spec, stack_info, data, network, log)
    with atomic_output(spec.output_encoder) as tmp:
        network.save(tmp)
        model_card.write_card(tmp, card)
    if log.cancelled:
        reporter.warning(f"Cancelled after {log.epochs_run} epochs: the encoder as it was "
                         f"then was written to {spec.output_encoder}.")
    reporter.info(f"Pretrained encoder written: {spec.output_encoder}")
    return PretrainOutcome(encoder=spec.output_encoder, final_loss=log.losses[-1],
                           losses=log.losses, epochs_run=log.epochs_run,
                           seconds=round(log.seconds, 2), cancelled=log.cancelled,
                           card=card)


def draw_centres(stack_info, count, seed, is_cancelled=None):
    """``(rows, cols)`` of ``count`` cells drawn at random over the stack's valid
    cells (every valid cell when there are fewer); the same for a seed and stack."""
    options = {"is_cancelled": is_cancelled} if is_cancelled is not None else {}
    drawn = sample_pixels(stack_info, int(count), seed=seed, **options)
    if not drawn.available:
        raise InputError(f"The {PretrainSpec.label_of('stack')} '{stack_info.path}' has no "
                         "valid cell (a cell valid in every band): choose the stack made by "
                         "'Align factors'.")
    return drawn.rows, drawn.cols, drawn.available


def prepare(spec, stack_info, reporter):
    """Patch centres, the padded stack, their normalisation and the hyper-parameters."""
    from .training import factor_bin_edges, resolve_model_hparams

    hparams = resolve_model_hparams(spec.model, spec.hparams)
    rows, cols, available = draw_centres(stack_info, spec.patches, spec.seed,
                                         reporter.is_cancelled)
    if available < spec.patches:
        reporter.warning(f"The stack has {available} valid cells, fewer than "
                         f"{spec.label_of('patches')} {spec.patches}: every one is used.")
    batch_size = min(spec.batch_size, len(rows))
    if batch_size < spec.batch_size:
        reporter.warning(f"{spec.label_of('batch_size')} {spec.batch_size} is larger than the "
                         f"{len(rows)} patches; using {batch_size}.")
    patch = spec.patch_size
    reporter.info(f"Preparing {len(rows)} unlabelled patches ({patch} x {patch} x "
                  f"{stack_info.count})")
    stack = PaddedStack(stack_info.path, patch, cache_dir=spec.cache_dir,
                        is_cancelled=reporter.is_cancelled)
    mean, std = training_statistics(stack, rows, cols, seed=spec.seed)
    edges = factor_bin_edges(spec, stack, rows, cols)
    return Unlabelled(stack, rows, cols, mean, std, patch, batch_size, hparams, edges)


def build_network(spec, stack_info, data, reporter):
    """The network of ``spec`` (not compiled), built as training builds it."""
    from ..models import build_model
    from .training import network_options

    try:
        network = build_model(spec.model, (data.patch_size, data.patch_size, stack_info.count),
                              **network_options(spec, stack_info.bands, data.mean, data.std,
                                                 data.edges),
                              **data.hparams)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    reporter.info(f"Model {spec.model}: {network.count_params():,} parameters; masked-patch "
                  f"reconstruction of {len(data.rows)} patches, {100 * spec.mask_ratio:.0f}% "
                  f"hidden; batch {data.batch_size}, Adam lr {spec.learning_rate}")
    return network


def reconstruction_model(network):
    """``network``'s encoder (everything up to its classifier) with a decoder that
    reconstructs the input patch; shares the network's layers (and weights)."""
    import keras
    from keras import layers

    size, _, bands = network.input_shape[1:]
    features = network.get_layer(HEAD).input
    if len(features.shape) > 2:
        features = layers.Flatten(name="pretrain_flatten")(features)
    x = layers.Dense(DECODER_WIDTH, activation="relu", name="pretrain_decoder")(features)
    x = layers.Dense(size * size * bands, name="pretrain_pixels")(x)
    outputs = layers.Reshape((size, size, bands), name="pretrain_reconstruction")(x)
    return keras.Model(network.input, outputs, name=f"{network.name}_pretraining")


def masked_mse(y_true, y_pred):
    """Mean squared error over the hidden valid cells: ``y_true`` is the patch with
    one more channel, 1 where the cell counts (hidden and valid), else 0."""
    from keras import ops

    target, weight = y_true[..., :-1], y_true[..., -1:]
    squared = ops.sum(ops.square(y_pred - target) * weight)
    return squared / ops.maximum(ops.sum(weight) * ops.cast(ops.shape(target)[-1],
                                                            squared.dtype), 1.0)


def block_masks(count, patch_size, ratio, rng):
    """``(count, patch, patch)`` booleans, True where hidden: in every patch
    ``round(ratio * blocks)`` of its square blocks (side ``patch // MASK_GRID``, at
    least 2 cells) chosen at random."""
    side = max(2, patch_size // MASK_GRID)
    grid = -(-patch_size // side)
    blocks = grid * grid
    hidden = min(blocks, max(1, round(ratio * blocks)))
    chosen = np.argsort(rng.random((count, blocks)), axis=1)[:, :hidden]
    mask = np.zeros((count, blocks), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    mask = mask.reshape(count, grid, grid).repeat(side, axis=1).repeat(side, axis=2)
    return mask[:, :patch_size, :patch_size]


def masked_batches(data, ratio, seed, epoch):
    """Yield ``(x, y)``: ``x`` the Z-scored patches with their hidden blocks at 0,
    ``y`` the whole patches with the loss weight as last channel (:func:`masked_mse`).
    The order and the masks depend only on ``seed`` and ``epoch``."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(data.rows))
    for start in range(0, len(order), data.batch_size):
        index = order[start:start + data.batch_size]
        raw = data.stack.patches(data.rows[index], data.cols[index])
        valid = ~np.isnan(raw).any(axis=-1)
        target = normalise(raw, data.mean, data.std)
        hidden = block_masks(len(index), data.patch_size, ratio, rng)
        x = np.where(hidden[..., None], np.float32(0.0), target)
        weight = (hidden & valid)[..., None].astype(np.float32)
        yield x, np.concatenate([target, weight], axis=-1)


def masked_dataset(data, ratio, seed, epoch):
    """:func:`masked_batches` as a prefetching ``tf.data.Dataset``."""
    import tensorflow as tf

    p, bands = data.patch_size, data.stack.bands
    signature = (tf.TensorSpec((None, p, p, bands), tf.float32),
                 tf.TensorSpec((None, p, p, bands + 1), tf.float32))
    steps = -(-len(data.rows) // data.batch_size)
    return tf.data.Dataset.from_generator(
        lambda: masked_batches(data, ratio, seed, epoch), output_signature=signature) \
        .apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)


def run_epochs(spec, model, data, reporter, progress_range):
    """Fit the reconstruction epoch by epoch; stop on cancel (between batches)."""
    import keras

    from .training import CancelCallback, format_time

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=spec.learning_rate),
                  loss=masked_mse)
    start, end = progress_range
    steps = -(-len(data.rows) // data.batch_size)
    cancel = CancelCallback(reporter, start, end - start, spec.epochs, steps)
    log = PretrainLog(losses=[])
    started = time.monotonic()
    for epoch in range(spec.epochs):
        cancel.epoch = epoch
        fit = model.fit(masked_dataset(data, spec.mask_ratio, spec.seed, epoch), epochs=1,
                        verbose=0, callbacks=[cancel], shuffle=False)
        if not fit.history.get("loss"):
            break
        log.losses.append(float(fit.history["loss"][-1]))
        elapsed = time.monotonic() - started
        left = elapsed / log.epochs_run * (spec.epochs - log.epochs_run)
        reporter.info(f"pretraining epoch {log.epochs_run}/{spec.epochs}: masked "
                      f"reconstruction loss {log.losses[-1]:.4f} | {format_time(elapsed)} elapsed, "
                      f"~{format_time(left)} left")
        reporter.progress(start + (end - start) * log.epochs_run / spec.epochs)
        if cancel.stopped:
            break
    log.seconds = time.monotonic() - started
    log.cancelled = cancel.stopped
    return log


def encoder_card(spec, stack_info, data, network, log):
    """The card of a pretrained encoder: what fine-tuning checks (model, factors,
    patch size, hyper-parameters, network options) and how it was made."""
    import keras
    import tensorflow as tf

    from .device import describe

    return {
        "kind": KIND,
        "plugin_version": plugin_version(),
        "model": spec.model,
        "hparams": _plain(data.hparams),
        "parameters": int(network.count_params()),
        "patch_size": data.patch_size,
        "factors": stack_info.names,
        "categorical": stack_info.categorical,
        "classes": _classes(stack_info),
        **{name: getattr(spec, name) for name in NETWORK_OPTIONS},
        "normalisation": {"mean": [float(v) for v in data.mean],
                          "std": [float(v) for v in data.std], "source": STATISTICS_SOURCE},
        "pretraining": {"task": "masked-patch reconstruction", "patches": len(data.rows),
                        "mask_ratio": spec.mask_ratio,
                        "mask_block": max(2, data.patch_size // MASK_GRID),
                        "epochs": spec.epochs, "epochs_run": log.epochs_run,
                        "losses": log.losses, "final_loss": log.losses[-1],
                        "batch_size": data.batch_size, "optimizer": "adam",
                        "learning_rate": spec.learning_rate, "seed": spec.seed,
                        "precision": spec.precision,
                        "cancelled": log.cancelled, "seconds": round(log.seconds, 2)},
        "data": {"stack": os.path.abspath(stack_info.path)},
        "device": describe()["device"],
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "python": platform.python_version(), "numpy": np.__version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _classes(stack_info):
    """``{factor: class values}`` of the categorical factors (the model card's)."""
    return {band.name: band.classes for band in stack_info.bands if band.categorical}


def _plain(value):
    """``value`` as JSON gives it back (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value))


# --- fine-tuning ------------------------------------------------------------

def load_pretrained_encoder(spec, model, data, reporter, stack_info=None):
    """When ``spec.pretrained_encoder`` is set, check its card against this training
    run and copy the weights of every layer but the classifier into ``model`` (built
    for ``data``, a :class:`.training.Prepared`); returns how many layers were copied
    (0 without an encoder). ``stack_info`` defaults to ``spec.stack``'s."""
    path = getattr(spec, "pretrained_encoder", "") or ""
    if not path:
        return 0
    card = read_encoder_card(path)
    stack_info = stack_info or read_stack_info(spec.stack)
    check_encoder_card(card, path, spec, data.patch_size, data.hparams, stack_info)
    copied = copy_encoder_weights(open_encoder(path), model, path)
    epochs = (card.get("pretraining") or {}).get("epochs_run", "?")
    reporter.info(f"Pretrained encoder: the weights of {copied} layers (all but the "
                  f"classifier) come from '{path}' ({epochs} epochs of masked-patch "
                  "reconstruction); the classifier starts from random weights.")
    return copied


def _refused(path, problem, fix):
    return InputError(f"{ENCODER_LABEL} '{path}' {problem}. {fix}")


def read_encoder_card(path):
    """The card of the pretrained encoder ``path``; InputError naming the input when
    it is not one."""
    remake = f"Choose the .keras file written by {PRETRAIN_ALGORITHM}, or make one with it."
    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read(model_card.CARD_NAME) \
                if model_card.CARD_NAME in archive.namelist() else None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise _refused(path, f"cannot be read ({exc.strerror})", remake) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _refused(path, "is not a .keras model file", remake) from exc
    if text is None:
        raise _refused(path, "has no card: it was not made by this plugin", remake)
    try:
        card = json.loads(text)
    except ValueError as exc:
        raise _refused(path, "has a damaged card", remake) from exc
    if not isinstance(card, dict) or card.get("kind") != KIND:
        raise _refused(path, "is not a pretrained encoder (a trained model, or another "
                             "file)", remake)
    problem = model_card.card_problem(card)
    if problem:
        raise _refused(path, f"has a damaged card (it {problem})", remake)
    return card


def check_encoder_card(card, path, spec, patch_size, hparams, stack_info):
    """Refuse an encoder made for another model, stack, patch size, hyper-parameters
    or network options than the training run of ``spec``."""
    from ..models import display_name

    if card["model"] != spec.model:
        raise _refused(path, f"was pretrained for {display_name(card['model'])}, not "
                             f"{display_name(spec.model)}",
                       f"Choose {display_name(card['model'])} as {spec.label_of('model')}, or "
                       f"pretrain an encoder for {display_name(spec.model)} with "
                       f"{PRETRAIN_ALGORITHM}.")
    expected = list(zip(card["factors"], card["categorical"], strict=True))
    actual = list(zip(stack_info.names, stack_info.categorical, strict=True))
    if expected != actual:
        raise _refused(path, f"was pretrained on other factors ({_factors(expected)}) than "
                             f"the {spec.label_of('stack')}'s ({_factors(actual)})",
                       f"Pretrain the encoder on this stack with {PRETRAIN_ALGORITHM}, or "
                       "train on the stack it was pretrained on.")
    if card["patch_size"] != patch_size:
        size = card["patch_size"]
        raise _refused(path, f"was pretrained for {size} x {size} patches, not the "
                             f"{patch_size} x {patch_size} of this training",
                       f"Pretrain with {PretrainSpec.label_of('patch_size')} {patch_size}, "
                       f"or train on {size} x {size} patches.")
    if _plain(card.get("hparams")) != _plain(hparams):
        raise _refused(path, f"was pretrained with other model hyper-parameters "
                             f"({_differences(card.get('hparams') or {}, hparams)})",
                       f"Pretrain with the hyper-parameters of this training with "
                       f"{PRETRAIN_ALGORITHM}.")
    if getattr(spec, "categorical_encoding", None) == "one_hot" and \
            _plain(card.get("classes")) != _plain(_classes(stack_info)):
        raise _refused(path, "was pretrained on other classes of the categorical factors "
                             f"than the {spec.label_of('stack')}'s",
                       f"Pretrain the encoder on this stack with {PRETRAIN_ALGORITHM}.")
    for name, default in NETWORK_OPTIONS.items():
        made, wanted = card.get(name, default), getattr(spec, name, default)
        if made != wanted:
            raise _refused(path, f"was pretrained with {spec.label_of(name)} "
                                 f"{_option(spec, name, made)}, not "
                                 f"{_option(spec, name, wanted)}",
                           f"Set {spec.label_of(name)} as the encoder had it, or pretrain "
                           f"with {PRETRAIN_ALGORITHM} and the same setting.")


def _factors(pairs):
    return ", ".join(f"{name}{' (categorical)' if categorical else ''}"
                     for name, categorical in pairs)


def _differences(made, wanted):
    keys = sorted(set(made) | set(wanted))
    return "; ".join(f"{key}: {made.get(key)!r} there, {wanted.get(key)!r} here"
                     for key in keys if _plain(made.get(key)) != _plain(wanted.get(key)))


def _option(spec, name, value):
    p = dict(spec.params())[name]
    if p.kind == "enum":
        return f"'{dict(p.options()).get(value, value)}'"
    if p.kind == "bool":
        return "on" if value else "off"
    return repr(value)


def open_encoder(path):
    """The network stored in the encoder file (``safe_mode``: no code runs)."""
    import keras

    from ..models import LOAD_ERRORS, custom_objects

    try:
        return keras.saving.load_model(str(path), custom_objects=custom_objects(),
                                       compile=False, safe_mode=True)
    except LOAD_ERRORS as exc:
        detail = " ".join(str(exc).split())[:200]
        raise _refused(path, f"cannot be loaded ({type(exc).__name__}: {detail})",
                       f"Pretrain it again with {PRETRAIN_ALGORITHM}.") from exc


def copy_encoder_weights(encoder, model, path="encoder"):
    """Copy into ``model`` the weights of every layer of ``encoder`` with the same
    name, all but the classifier (:data:`HEAD`); shapes must match. Returns how
    many layers were copied."""
    copied = 0
    for layer in model.layers:
        if layer.name == HEAD or not layer.weights:
            continue
        try:
            source = encoder.get_layer(layer.name)
        except ValueError:
            raise _refused(path, f"has no layer '{layer.name}' (another architecture)",
                           f"Pretrain it again with {PRETRAIN_ALGORITHM}.") from None
        weights = source.get_weights()
        found = [tuple(np.shape(w)) for w in weights]
        wanted = [tuple(v.shape) for v in layer.weights]
        if found != wanted:
            raise _refused(path, f"has weights of shapes {found} in layer '{layer.name}', "
                                 f"the model needs {wanted}",
                           f"Pretrain it again with {PRETRAIN_ALGORITHM} on this stack "
                           "with the same settings.")
        layer.set_weights(weights)
        copied += 1
    return copied
