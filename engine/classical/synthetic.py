"""A classical model fitted on random patches, for ``model_report`` (size and
speed; its skill means nothing)."""

from types import SimpleNamespace

import numpy as np

from .features import FeatureLayout, patch_features
from .model import ClassicalModel
from .train import fit


class _Quiet:
    def info(self, message):
        pass


def random_card(name, shape, hparams):
    """The card of a model ``name`` on ``(p, p, bands)`` patches of continuous factors."""
    p, _, bands = shape
    return {"model": name, "hparams": hparams, "patch_size": int(p),
            "factors": [f"factor{i + 1}" for i in range(bands)],
            "categorical": [False] * bands, "classes": {},
            "normalisation": {"mean": [0.0] * bands, "std": [1.0] * bands}}


def synthetic_model(name, shape, hparams, seed=0, samples=1000):
    """``name`` fitted on ``samples`` random ``shape`` patches (label: a noisy
    linear rule of the centre values), in memory."""
    from ...models import resolve_hparams

    hparams = resolve_hparams(name, **(hparams or {}))
    card = random_card(name, shape, hparams)
    model = ClassicalModel("", card, {"model": name, "neighbourhood":
                                      bool(hparams.get("neighbourhood"))})
    raw = random_patches(shape, samples, seed)
    x = patch_features(raw, FeatureLayout.from_card(card, model.layout.neighbourhood))
    rng = np.random.default_rng(seed + 1)
    y = (x[:, :shape[2]].sum(axis=1) + rng.standard_normal(samples) > 0).astype(int)
    fit(model, SimpleNamespace(model=name, seed=seed), x, y, _Quiet())
    return model


def random_patches(shape, count, seed=0):
    return np.random.default_rng(seed).standard_normal((count, *shape)).astype(np.float32)
