"""The model zoo: the six architectures the paper compares, then the classical
models (logistic regression, random forest, gradient boosting, frequency ratio,
weights of evidence).

This module (and the modules it reads defaults from) imports neither
TensorFlow, Keras nor scikit-learn, so the Processing UI can list the models
cheaply. The network builders import Keras when :func:`build_model` calls them;
the classical models are fitted by ``engine.classical``.

Registry: ``MODELS[name] = (module name, display name, defaults, description)``,
the networks in the paper's order, then the classical models (module
``classical``). Every network takes an ``(H, W, C)`` float32 patch (already
normalised), ``H, W >= 16``, any ``C``, and ends in a 2-class softmax
(index 1 = landslide). Two network options are built into the graph
(:func:`build_model`'s ``encoding`` and ``pixel_skip``), so prediction, saving and
loading need nothing else.

>>> available_models()
['cnn', 'resnet18', 'densenet', 'vit', 'frit', 'ctlgnet', 'logistic', 'random_forest', \
'gradient_boosting', 'frequency_ratio', 'weights_of_evidence']
>>> available_models("network")
['cnn', 'resnet18', 'densenet', 'vit', 'frit', 'ctlgnet']
>>> is_classical("random_forest"), is_classical("cnn")
(True, False)
"""

import copy
import importlib
import zipfile

from . import classical, cnn, ctlgnet, densenet, frit, resnet18, vit

NUM_CLASSES = 2
MIN_SIZE = 16
# Names of the layers the network options add (models.blocks.model_input, .head).
ONE_HOT_LAYER = "one_hot"
BINS_LAYER = "factor_bins"
SKIP_LAYERS = ("centre_crop", "centre_flatten", "skip_concat")

MODELS = {
    module.__name__.rsplit(".", 1)[-1]: (module.__name__.rsplit(".", 1)[-1],
                                         module.DISPLAY_NAME, module.DEFAULTS,
                                         module.DESCRIPTION)
    for module in (cnn, resnet18, densenet, vit, frit, ctlgnet)
}
NETWORKS = tuple(MODELS)
CLASSICAL = tuple(classical.ENTRIES)
MODELS.update({name: ("classical", display, defaults, description)
               for name, (display, defaults, description) in classical.ENTRIES.items()})


def available_models(kind=None):
    """Model names: the networks in the paper's order, then the classical models;
    ``kind`` ``"network"`` or ``"classical"`` keeps those alone."""
    if kind is None:
        return list(MODELS)
    if kind not in ("network", "classical"):
        raise ValueError(f"kind must be 'network' or 'classical', not {kind!r}")
    return list(NETWORKS if kind == "network" else CLASSICAL)


def is_classical(name):
    """Whether ``name`` is a classical (scikit-learn or statistical) model."""
    return name in CLASSICAL


def display_name(name):
    return _entry(name)[1]


def display_names(codes):
    """``{code: display name}`` of the models (the code when the registry lacks it)."""
    names = {}
    for code in codes:
        try:
            names[code] = display_name(code)
        except (KeyError, ValueError):
            names[code] = code
    return names


def default_hparams(name):
    """A (deep) copy of the default hyper-parameters of model ``name``."""
    return copy.deepcopy(_entry(name)[2])


def resolve_hparams(name, **hparams):
    """Defaults of ``name`` overridden by ``hparams``; unknown keys raise ValueError."""
    defaults = default_hparams(name)
    unknown = sorted(set(hparams) - set(defaults))
    if unknown:
        raise ValueError(f"Unknown hyper-parameter(s) for model '{name}': "
                         f"{', '.join(unknown)}. Known: {', '.join(defaults)}.")
    defaults.update(copy.deepcopy(hparams))
    return defaults


def build_model(name, input_shape, *, encoding=None, bins=None, pixel_skip=False,
                **hparams):
    """Build model ``name`` (a ``keras.Model``, not compiled) for ``input_shape``
    ``(H, W, C)``; ``hparams`` override the defaults of that model's module.

    The network options: ``encoding`` (from :func:`one_hot_encoding`; None: the
    bands as they come) one-hot encodes the categorical bands right after the
    input; ``bins`` (from :func:`bin_encoding`) then encodes the continuous bands
    in piecewise-linear bins; ``pixel_skip`` gives the classifier the centre cell's
    (encoded) factors beside the learnt features. With the defaults the graph is the plain one.
    """
    entry = _entry(name)
    if is_classical(name):
        raise ValueError(f"'{name}' is a classical model: it is fitted, not built "
                         "(engine.classical).")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (height, width, bands), got {tuple(input_shape)}")
    if min(shape[:2]) < MIN_SIZE:
        raise ValueError(f"Patch size {shape[0]}x{shape[1]} is too small: the models need at "
                         f"least {MIN_SIZE}x{MIN_SIZE} pixels.")
    resolved = resolve_hparams(name, **hparams)
    _layers()  # register the custom layers before building
    module = importlib.import_module(f"{__name__}.{entry[0]}")
    return module.build(shape, encoding=input_encoding(encoding, bins),
                        pixel_skip=bool(pixel_skip), **resolved)


def input_encoding(one_hot=None, bins=None):
    """The modules' ``encoding`` (:func:`.blocks.model_input`): ``{"one_hot": ...,
    "bins": ...}``, the bins' band indices moved past the channels the one-hot
    encoding adds before them; None when neither is given."""
    if not one_hot and not bins:
        return None
    if bins and one_hot:
        added = [(band, len(values) - 1)
                 for band, values in zip(one_hot["bands"], one_hot["classes"], strict=True)]
        bins = dict(bins, bands=[band + sum(n for other, n in added if other < band)
                                 for band in bins["bands"]])
    return {"one_hot": one_hot or None, "bins": bins or None}


def bin_encoding(bands, mean, std, edges, keep_values=False):
    """The ``bins`` of :func:`build_model` for a stack's ``bands`` (objects with
    ``categorical``) Z-scored with the per-band ``mean`` and ``std``: the continuous
    bands with their bin ``edges`` (one list per band of the stack), their values
    kept beside the bins with ``keep_values``; None when there is none."""
    chosen = [index for index, band in enumerate(bands) if not band.categorical]
    if not chosen:
        return None
    return {"bands": chosen, "edges": [[float(v) for v in edges[index]] for index in chosen],
            "mean": [float(mean[index]) for index in chosen],
            "std": [float(std[index]) for index in chosen], "keep_values": bool(keep_values)}


def one_hot_encoding(bands, mean, std):
    """The ``encoding`` of :func:`build_model` for a stack's ``bands`` (objects with
    ``categorical`` and ``classes``, e.g. :class:`..core.stack.BandInfo`) Z-scored
    with the per-band ``mean`` and ``std``: the categorical bands that list their
    classes, or None when there is none."""
    chosen = [index for index, band in enumerate(bands)
              if band.categorical and band.classes]
    if not chosen:
        return None
    return {"bands": chosen,
            "classes": [sorted(float(value) for value in bands[index].classes)
                        for index in chosen],
            "mean": [float(mean[index]) for index in chosen],
            "std": [float(std[index]) for index in chosen]}


# What Keras raises on a file it cannot turn into a model (truncated weights: OSError
# from h5py; broken config: ValueError "KerasSaveable", TypeError; bad JSON: ValueError).
LOAD_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OSError,
               EOFError, zipfile.BadZipFile)


def load_model(path, compile=True, input_shape=None):  # noqa: A002 (Keras's name)
    """Load a ``.keras`` file saved from a model of this zoo.

    Imports the custom layers first (their registration with
    ``register_keras_serializable(package="landslide")`` happens on import), so
    no ``custom_objects`` are needed. A file Keras cannot load, or whose input is
    not ``input_shape`` ``(H, W, C)`` when given (its model card's), raises
    :class:`..core.errors.InputError` naming it (:func:`..core.model_card.damaged_model`).
    """
    _layers()
    import keras

    from ..core.model_card import damaged_model

    try:
        model = keras.saving.load_model(str(path), compile=compile)
    except LOAD_ERRORS as exc:
        detail = " ".join(str(exc).split())
        detail = detail if len(detail) <= 200 else detail[:200] + "…"
        raise damaged_model(path, f"Keras cannot load it: {type(exc).__name__}: {detail}") \
            from exc
    found = tuple(model.input_shape[1:])
    if input_shape is not None and found != tuple(input_shape):
        raise damaged_model(path, f"its input {' x '.join(map(str, found))} is not the "
                                  f"{' x '.join(map(str, input_shape))} of its model card")
    return model


def custom_objects():
    """``{registered name: class}`` of the custom layers (imports Keras)."""
    layers = _layers()
    return {f"{layers.PACKAGE}>{name}": cls for name, cls in layers.CUSTOM_LAYERS.items()}


def _layers():
    """Import (and so register) the custom layers; returns the module."""
    return importlib.import_module(f"{__name__}.layers")


def _entry(name):
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model '{name}'. Known: {', '.join(MODELS)}.") from None


# When Keras is already loaded (the engine, tests), register the custom layers
# now, so that a plain keras.saving.load_model() works too. Without Keras
# loaded, importing this package stays free of TensorFlow.
if "keras" in __import__("sys").modules:
    _layers()
