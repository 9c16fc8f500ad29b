"""The model card: what a trained model needs to be used correctly.

Stored inside the model file (a zip: the ``.keras`` file of a network, the
``.skops`` file of a classical model) as ``landslide_model_card.json`` and
readable without TensorFlow or scikit-learn, so the QGIS side can check a stack against a model
before starting the engine. Holds factor names and order, categorical flags,
normalisation statistics of the training split, patch size, model type and
hyper-parameters, seed, data summary, device, timings and versions.
"""

import json
import numbers
import zipfile
import zlib

from .errors import InputError
from .specs.maps import PredictSpec

CARD_NAME = "landslide_model_card.json"
CARD_VERSION = 1
MODEL_LABEL = PredictSpec.param_for_key("MODEL")[1].label  # "Trained model (.keras or .skops)"
# How files that run code when loaded begin: pickle (protocol 2-5), and joblib's
# compressed pickles (zlib, gzip, bz2, xz, lzma, lz4).
PICKLE_STARTS = (b"\x80", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda",
                 b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")


def write_card(keras_path, card):
    """Add the card to a saved model file (``.keras`` or ``.skops``, both zips)."""
    card = dict(card, card_version=CARD_VERSION)
    with zipfile.ZipFile(keras_path, "a") as archive:
        archive.writestr(CARD_NAME, json.dumps(card, indent=2))


def damaged_model(keras_path, detail):
    """The error for a model file that cannot be used: names the input, says what to do."""
    return InputError(f"{MODEL_LABEL} '{keras_path}' is damaged or not a model saved by "
                      f"this plugin ({detail}); train it again with 'Train landslide model'.")


def read_card(keras_path):
    """The model card of ``keras_path``, checked: the one place that decides whether
    a card can be used (readable JSON object, a version this plugin reads, every
    key the plugin relies on present and well-formed)."""
    card = _load_card(keras_path)
    if not isinstance(card, dict):
        raise damaged_model(keras_path, "its model card is not a JSON object")
    version = card.get("card_version", 0)
    if isinstance(version, numbers.Number) and version > CARD_VERSION:
        raise InputError(
            f"{MODEL_LABEL} '{keras_path}' was made by a newer version of the plugin "
            f"(model card v{card.get('card_version')}, this plugin reads v{CARD_VERSION}, "
            f"plugin {card.get('plugin_version', '?')}). Update the plugin.")
    problem = card_problem(card)
    if problem:
        raise damaged_model(keras_path, f"its model card {problem}")
    if card.get("kind") == "pretrained_encoder":
        from .specs.training import TrainSpec

        raise InputError(f"{MODEL_LABEL} '{keras_path}' is a pretrained encoder, not a trained "
                         f"model: give it to 'Train landslide model' as "
                         f"{TrainSpec.label_of('pretrained_encoder')}, and map with the "
                         f"trained model.")
    return card


def _load_card(keras_path):
    """The card's parsed JSON; :class:`InputError` when it cannot be read."""
    try:
        with zipfile.ZipFile(keras_path) as archive:
            if CARD_NAME not in archive.namelist():
                raise InputError(
                    f"{MODEL_LABEL} '{keras_path}' has no landslide model card: it was not "
                    "trained with 'Train landslide model'. Train it with this plugin.")
            text = archive.read(CARD_NAME)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise InputError(f"Cannot read {MODEL_LABEL} '{keras_path}': {exc.strerror}. "
                         "Choose the .keras or .skops file saved by 'Train landslide "
                         "model'.") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        if _is_pickle(keras_path):
            raise InputError(
                f"{MODEL_LABEL} '{keras_path}' is refused: it is a pickle or joblib file, "
                "which can run any code when loaded. Use a model saved by 'Train landslide "
                "model' (a .keras network or a .skops classical model), or train it "
                "again.") from exc
        raise damaged_model(keras_path, f"not a readable model archive: {exc}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise damaged_model(keras_path, f"its model card is not valid JSON: {exc}") from exc


# What every reader of a card relies on: key -> (check, what it must be).
REQUIRED_KEYS = {
    "model": (lambda v: isinstance(v, str) and bool(v), "a model name"),
    "patch_size": (lambda v: _is_int(v) and v >= 1, "a positive whole number"),
    "factors": (lambda v: _is_list(v, str) and bool(v), "a list of factor names"),
    "categorical": (lambda v: _is_list(v, bool), "a list of true/false flags"),
    "normalisation": (lambda v: isinstance(v, dict) and _is_list(v.get("mean"), numbers.Real)
                      and _is_list(v.get("std"), numbers.Real),
                      "mean and std lists of numbers"),
}


def _is_pickle(path):
    try:
        with open(path, "rb") as handle:
            start = handle.read(8)
    except OSError:
        return False
    return start.startswith(PICKLE_STARTS)


def card_problem(card):
    """What is wrong with ``card`` (``"lacks …"``, ``"has …"``), or ``""``."""
    missing = [key for key in REQUIRED_KEYS if key not in card]
    if missing:
        return f"lacks {', '.join(repr(key) for key in missing)}"
    for key, (check, what) in REQUIRED_KEYS.items():
        if not check(card[key]):
            return f"has a bad {key!r} (it must be {what})"
    count = len(card["factors"])
    lengths = {"categorical": len(card["categorical"]),
               "normalisation mean": len(card["normalisation"]["mean"]),
               "normalisation std": len(card["normalisation"]["std"])}
    wrong = [f"{name} {length}" for name, length in lengths.items() if length != count]
    if wrong:
        return f"has {count} factors but {', '.join(wrong)} values"
    return ""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_list(value, kind):
    return isinstance(value, list) and all(
        isinstance(item, kind) and (kind is bool or not isinstance(item, bool))
        for item in value)


def check_stack_matches(card, names, categorical, source="STACK"):
    """Refuse a stack whose factors differ from the model's (names, order, flags)."""
    expected = list(zip(card["factors"], card["categorical"], strict=True))
    actual = list(zip(names, categorical, strict=True))
    if expected != actual:
        def describe(pairs):
            return ", ".join(f"{n}{' (categorical)' if c else ''}" for n, c in pairs)

        raise InputError(
            f"The {source} does not match the model's factors.\n"
            f"  model ({len(expected)}): {describe(expected)}\n"
            f"  stack ({len(actual)}): {describe(actual)}\n"
            "Use the stack the model was trained on (same factors in the same order), "
            "or train a model on this stack.")


def averages_views(card, choice="model"):
    """Whether the model's probability is the mean over the eight flips and turns
    of its patch: ``choice`` ``"model"``: as the card's training setting (*Average
    over flips and turns*) says; ``"on"``/``"off"``: as *Predict*'s *Flips and turns*
    asks (:data:`.specs.maps.VIEW_CHOICES`)."""
    if choice != "model":
        return choice == "on"
    return bool((card.get("training") or {}).get("average_views", False))
