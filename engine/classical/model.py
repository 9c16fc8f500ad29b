"""A fitted classical model: its recipe (plain JSON) and its estimator.

The recipe says how features become a probability: the feature layout
(``neighbourhood``), the ``columns``, and either the ``encoding`` of a
scikit-learn ``estimator`` or the class ``tables`` and ``calibration`` of
frequency ratio / weights of evidence (:mod:`.frequency_ratio`).
"""

import numpy as np

from ..loaded_model import LoadedModel
from . import frequency_ratio
from .estimators import estimator_probability, estimator_size
from .features import FeatureLayout, in_factor_units, patch_features

RECIPE_FORMAT = 1


class ClassicalModel(LoadedModel):
    """A classical model ready to give landslide probabilities."""

    kind = "classical"

    def __init__(self, path, card, recipe, estimator=None):
        super().__init__(path, card)
        self.recipe = recipe
        self.estimator = estimator
        self.layout = FeatureLayout.from_card(card, recipe.get("neighbourhood", False))

    @property
    def name(self):
        return self.recipe["model"]

    def probability_of_features(self, x):
        """Landslide probability ``(N,)`` of the feature matrix ``x`` ``(N, F)``."""
        recipe = self.recipe
        if recipe.get("tables") is not None:
            return frequency_ratio.probability(in_factor_units(x, self.layout),
                                               recipe["tables"], recipe["model"],
                                               recipe["calibration"])
        return estimator_probability(self.estimator, x, recipe["encoding"])

    def probability_of_patches(self, raw):
        if len(raw) == 0:
            return np.empty(0)
        return self.probability_of_features(patch_features(raw, self.layout))

    @property
    def parameters(self):
        """Fitted numbers: coefficients, tree nodes, or class weights."""
        if self.recipe.get("tables") is not None:
            return int(sum(len(table["fr"]) for table in self.recipe["tables"]) + 2)
        return estimator_size(self.estimator)
