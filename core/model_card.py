"""The model card: what a trained model needs to be used correctly.

Stored inside the ``.keras`` file (a zip) as ``landslide_model_card.json`` and
readable without TensorFlow, so the QGIS side can check a stack against a model
before starting the engine. Holds factor names and order, categorical flags,
normalisation statistics of the training split, patch size, model type and
hyper-parameters, seed, data summary, device, timings and versions.
"""

import json
import zipfile

from .errors import InputError

CARD_NAME = "landslide_model_card.json"
CARD_VERSION = 1


def write_card(keras_path, card):
    """Add the card to a saved ``.keras`` file."""
    card = dict(card, card_version=CARD_VERSION)
    with zipfile.ZipFile(keras_path, "a") as archive:
        archive.writestr(CARD_NAME, json.dumps(card, indent=2))


def read_card(keras_path):
    try:
        with zipfile.ZipFile(keras_path) as archive:
            if CARD_NAME not in archive.namelist():
                raise InputError(
                    f"The MODEL '{keras_path}' has no landslide model card: it was not "
                    "trained with 'Train landslide model'. Train it with this plugin.")
            card = json.loads(archive.read(CARD_NAME))
    except (zipfile.BadZipFile, FileNotFoundError, IsADirectoryError) as exc:
        raise InputError(f"The MODEL '{keras_path}' is not a .keras model file: {exc}.") \
            from exc
    if card.get("card_version", 0) > CARD_VERSION:
        raise InputError(
            f"The MODEL '{keras_path}' was made by a newer version of the plugin "
            f"(model card v{card.get('card_version')}, this plugin reads v{CARD_VERSION}, "
            f"plugin {card.get('plugin_version', '?')}). Update the plugin.")
    return card


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
