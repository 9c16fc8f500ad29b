"""Classical models on the prediction's tile loop (:mod:`..tile_loop`).

The tiles are read as for the networks (:class:`..stack_reader.StackReader`:
tile + halo of half a patch, reflect-completed, normalised with the card's
statistics), so grid, nodata rule, writer and styling are the same.

* :class:`ClassicalPatches`: the per-patch runner (normalised patches ->
  features -> probability), the reference;
* :class:`ClassicalDense`: every pixel of a tile at once, vectorised: the
  centre values are a slice of the window, the neighbourhood statistics come
  from summed-area tables and running min/max over the window
  (:class:`.features.WindowFeatures`); the estimator runs on chunks of pixels
  (bounded memory, progress and cancel between chunks).
"""

from dataclasses import dataclass

import numpy as np

from ...core.errors import CancelledError
from ...core.map_writer import CANCEL_MESSAGE
from .features import WindowFeatures, normalised_patch_features

CHUNK = 65536  # pixels per estimator call
TILE = 256  # output tile side (the neighbourhood statistics of a tile are held at once)


@dataclass
class FeaturePlan:
    """What :mod:`..predict` reads of a dense plan."""

    mode: str = "features"
    description: str = ""
    summary: str = "per pixel, vectorised (a classical model), checked"
    worthwhile: bool = True


class ClassicalPatches:
    """Per-patch runner: ``(x)`` normalised patches ``(N, p, p, C)`` -> ``(N,)``."""

    def __init__(self, model, batch_size):
        self.model, self.batch_size = model, int(batch_size)

    def __call__(self, x):
        if len(x) == 0:
            return np.empty(0, np.float32)
        features = normalised_patch_features(x, self.model.layout)
        return self.model.probability_of_features(features).astype(np.float32)

    def predict(self, x):
        return self(x)


class ClassicalDense:
    """Dense runner: the pixels (rows, cols) of a normalised tile window."""

    def __init__(self, model):
        self.model = model
        extra = " and the neighbourhood statistics (summed-area tables, running " \
                "min/max)" if model.layout.neighbourhood else ""
        self.plan = FeaturePlan(description=f"per pixel, vectorised: the centre values"
                                            f"{extra} of every pixel of a tile at once")

    def predict(self, window, rows, cols, is_cancelled=None, progress=None):
        rows, cols = np.asarray(rows), np.asarray(cols)
        features = WindowFeatures(window, self.model.layout)
        out = np.empty(len(rows), np.float32)
        for start in range(0, len(rows), CHUNK):
            if is_cancelled is not None and is_cancelled():
                raise CancelledError(CANCEL_MESSAGE)
            part = slice(start, start + CHUNK)
            out[part] = self.model.probability_of_features(features.at(rows[part],
                                                                       cols[part]))
            if progress is not None:
                progress(min(start + CHUNK, len(rows)) / max(len(rows), 1))
        return out
