"""The ``.skops`` file of a classical model: safe to open, card readable anywhere.

The file is a skops archive (a zip) of the scikit-learn estimator (an empty
dict for frequency ratio / weights of evidence) with two more members: the
model card ``landslide_model_card.json`` (:mod:`...core.model_card`, readable
without scikit-learn, as in the ``.keras`` files) and the recipe
``landslide_classical.json`` (:mod:`.model`). Never pickle or joblib.

Loading refuses a file whose skops content holds a type outside
:data:`TRUSTED_TYPES` (and those skops trusts by default: scikit-learn
estimators, numpy, builtins): such a file could run code when loaded.
"""

import json
import zipfile

from ...core.errors import InputError
from ...core.files import atomic_output
from ...core.model_card import MODEL_LABEL, damaged_model, write_card
from .estimators import SKLEARN_MODELS
from .model import RECIPE_FORMAT, ClassicalModel

RECIPE_NAME = "landslide_classical.json"
# Types the classical models need beyond skops's defaults (found with
# skops.io.get_untrusted_types on each fitted model; tests/test_classical.py).
TRUSTED_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
    "functools.partial",
)


def _skops_io():
    try:
        import skops.io
    except ImportError as exc:
        raise InputError("The classical models need the package skops in the engine's "
                         "environment: run Set up engine (or 'make install').") from exc
    return skops.io


def skops_version():
    _skops_io()
    import skops

    return skops.__version__


def write_classical(path, card, recipe, estimator=None):
    """Write the model to ``path`` atomically (temp file + rename)."""
    skops_io = _skops_io()

    with atomic_output(path) as tmp:
        skops_io.dump(estimator if estimator is not None else {}, tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(RECIPE_NAME, json.dumps(dict(recipe, format=RECIPE_FORMAT),
                                                     indent=1))
        write_card(tmp, card)
    return path


def read_recipe(path):
    """The recipe of the model file ``path`` (:class:`InputError` when absent)."""
    try:
        with zipfile.ZipFile(path) as archive:
            if RECIPE_NAME not in archive.namelist():
                raise damaged_model(path, f"it has no {RECIPE_NAME}")
            recipe = json.loads(archive.read(RECIPE_NAME))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise damaged_model(path, f"its classical model cannot be read: {exc}") from exc
    if not isinstance(recipe, dict) or recipe.get("format", 0) > RECIPE_FORMAT:
        raise damaged_model(path, "its classical model is of an unknown format")
    return recipe


def load_classical(path, card):
    """The :class:`.model.ClassicalModel` of ``path`` (whose card is ``card``)."""
    recipe = read_recipe(path)
    if recipe.get("model") != card["model"]:
        raise damaged_model(path, f"its classical model is '{recipe.get('model')}', its "
                                  f"card says '{card['model']}'")
    estimator = None
    if card["model"] in SKLEARN_MODELS:
        estimator = load_estimator(path)
        expected = SKLEARN_MODELS[card["model"]]
        if type(estimator).__name__ != expected:
            raise damaged_model(path, f"it holds a {type(estimator).__name__}, not the "
                                      f"{expected} of a {card['model']} model")
    return ClassicalModel(path, card, recipe, estimator)


def load_estimator(path):
    """The skops content of ``path``, refused when it holds an untrusted type (skops
    checks every type before it builds anything)."""
    skops_io = _skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return skops_io.loads(data, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise unsafe_model(path, f"it holds types that could run code when loaded: "
                                 f"{_short(exc).split(': ', 1)[-1]}") from exc
    except Exception as exc:  # noqa: BLE001 (a damaged archive raises anything)
        raise damaged_model(path, f"skops cannot load it: {type(exc).__name__}: "
                                  f"{_short(exc)}") from exc


def unsafe_model(path, detail):
    """The error for a model file that could run code when opened."""
    return InputError(f"{MODEL_LABEL} '{path}' is refused: {detail}. Model files are "
                      "never allowed to run code. Use a model saved by 'Train landslide "
                      "model' (a .keras network or a .skops classical model), or train it "
                      "again.")


def _short(exc):
    detail = " ".join(str(exc).split())
    return detail if len(detail) <= 200 else detail[:200] + "…"
