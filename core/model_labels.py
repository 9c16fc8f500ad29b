"""Readable labels and values for the model reports (:mod:`.model_reports`):
settings by the labels of the specs' fields and the display names of their
choices, and the model card's entries (training facts, hyper-parameters,
software versions) as rows of small tables. Keys without a label are
humanised (``"max_iter"`` -> ``"Max iter"``), never shown raw.
"""

import numbers

from .metric_names import format_number
from .report import format_value, humanise

# Card entries of ``card["training"]`` that are fields of TrainingSettings by another name.
_TRAINING_FIELDS = {"kept_by": "selection", "early_stopping_patience": "patience"}
# Card entries without a spec field: label and kind of number (None: as it is).
_TRAINING_EXTRA = {"epochs_run": ("Epochs run", "count"),
                   "best_epoch": ("Epoch kept", "count"),
                   "best_val_accuracy": ("Validation accuracy of the epoch kept", "score"),
                   "best_val_auc": ("Validation AUC of the model kept", "score"),
                   "seconds": ("Training time (s)", "seconds")}
HPARAM_LABELS = {
    "filters": "Convolution filters", "conv_filters": "Convolution filters",
    "dropout": "Dropout", "patch_size": "Token patch size (pixels)",
    "hidden_dim": "Token width", "num_layers": "Encoder layers",
    "num_heads": "Attention heads", "mlp_dim": "Encoder MLP units",
    "representation_size": "Pre-logits units", "growth_rate": "Growth rate",
    "n_estimators": "Number of trees", "max_depth": "Maximum depth",
    "min_samples_leaf": "Minimum samples per leaf", "max_features": "Features per split",
    "max_iter": "Maximum iterations", "learning_rate": "Learning rate",
    "max_leaf_nodes": "Maximum leaves per tree", "l2_regularization": "L2 regularisation",
    "C": "Inverse regularisation strength (C)", "bins": "Classes per continuous factor",
    "smoothing": "Smoothing (added counts)",
    "neighbourhood": "Neighbourhood statistics of the patch"}
SOFTWARE_NAMES = {"tensorflow": "TensorFlow", "keras": "Keras", "python": "Python",
                  "numpy": "NumPy", "sklearn": "scikit-learn", "scikit-learn": "scikit-learn",
                  "scikit_learn": "scikit-learn", "gdal": "GDAL", "scipy": "SciPy",
                  "skops": "skops", "plugin": "Plugin"}


BLEND_JOIN = " & "  # joins the two model codes of a blend (Compare's blend row)


def blend_code(network, classical):
    """The code of the blend of two models in *Compare landslide models*."""
    return f"{network}{BLEND_JOIN}{classical}"


def model_display_name(code):
    """``"ctlgnet"`` -> ``"CTLGNet"``; a blend's code -> ``"CNN (10 layers) + Random
    forest (mean)"``; an unknown code as it is."""
    from ..models import MODELS

    parts = str(code).split(BLEND_JOIN)
    if len(parts) == 2 and all(part in MODELS for part in parts):
        return f"{MODELS[parts[0]][1]} + {MODELS[parts[1]][1]} (mean)"
    entry = MODELS.get(code)
    return entry[1] if entry else str(code)


def display_value(p, value):
    """``value`` of the spec field ``p`` (a :class:`.specs.Param`, or None) as text:
    choices by their display names, true/false as yes/no, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if p is not None and p.kind in ("enum", "enum_multi"):
        names = dict(p.options())
        codes = value if isinstance(value, list | tuple) else (
            [v.strip() for v in str(value).split(",")] if p.kind == "enum_multi" else [value])
        return ", ".join(str(names.get(code, code)) for code in codes)
    return plain(value)


def plain(value):
    """Any value as text without Python syntax (dicts as ``Label: value; …``)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{humanise(k)}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return format_value(value)


def labelled_settings(settings, spec_class):
    """``[(label, text)]`` of a settings dict whose keys are field names of
    ``spec_class`` (or free text, kept; or other code names, humanised)."""
    from .specs import TrainingSettings

    params = dict(TrainingSettings.params())
    params.update(spec_class.params())
    rows = []
    for name, value in (settings or {}).items():
        p = params.get(name)
        label = p.label if p is not None and p.label else humanise(name)
        rows.append((label, display_value(p, value)))
    return rows


def training_rows(training):
    """``[(label, text)]`` of the card's ``training`` entry."""
    from .specs import TrainingSettings

    params = dict(TrainingSettings.params())
    rows = []
    for key, value in (training or {}).items():
        if key in _TRAINING_EXTRA:
            label, kind = _TRAINING_EXTRA[key]
            text = format_number(value, kind) if isinstance(value, numbers.Real) \
                and not isinstance(value, bool) else plain(value)
            rows.append((label, text))
            continue
        p = params.get(_TRAINING_FIELDS.get(key, key))
        rows.append((p.label if p is not None else humanise(key), display_value(p, value)))
    return rows


def hparam_rows(hparams):
    """``[(label, text)]`` of the model's hyper-parameters."""
    return [(HPARAM_LABELS.get(key, humanise(key)), plain(value))
            for key, value in (hparams or {}).items()]


def version_rows(versions):
    """``[(software, version)]`` of the card's ``versions``."""
    return [(SOFTWARE_NAMES.get(str(key).lower(), humanise(key)), plain(value))
            for key, value in (versions or {}).items()]


def card_facts(card):
    """``[(label, text)]``: the model, its size and inputs, where and when it was made."""
    data = card.get("data") or {}
    factors = card.get("factors") or []
    categorical = card.get("categorical") or [False] * len(factors)
    facts = [("Model", model_display_name(card.get("model"))),
             ("Trainable parameters", card.get("parameters")),
             ("Patch size (cells)", card.get("patch_size")),
             ("Factors", ", ".join(f"{n}{' (categorical)' if c else ''}"
                                   for n, c in zip(factors, categorical, strict=False))),
             ("Training samples", data.get("train_samples")),
             ("Validation samples", data.get("validation_samples")),
             ("Device", card.get("device")), ("Created", card.get("created")),
             ("Plugin version", card.get("plugin_version"))]
    return [(label, plain(value)) for label, value in facts if value not in (None, "")]
