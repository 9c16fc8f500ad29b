"""Dense evaluation of *Average over flips and turns*: the eight views of every
pixel's patch from eight dense passes over the flipped and turned tile window.

A pixel's views (:func:`.patches.views`) are its odd patch of
:func:`.patches.view_size` ``q`` (centred on the pixel), flipped and turned about
its centre, cut to the model's ``p x p``. Flipping and turning the whole window
the same way moves that odd patch, unchanged in content, to a ``q x q`` block of
the turned window centred where the pixel's centre went; its ``p x p`` view is
the block's top-left ``p x p``, which is exactly what the dense model gives at
that top-left position of the turned window. So each view is one dense pass over
the turned window, read at the turned positions, and the map is their mean.
"""

import numpy as np

from .patches import VIEWS, view_size


def turned(window, flip, turns):
    """``window`` (rows, cols, bands) flipped left-right, then turned ``turns``
    quarter turns (``np.rot90``), as :func:`.patches.views` turns a patch."""
    out = window[:, ::-1] if flip else window
    return np.ascontiguousarray(np.rot90(out, turns, axes=(0, 1)))


def turned_points(rows, cols, shape, flip, turns):
    """Where the cells ``(rows, cols)`` of an array of ``shape`` (rows, cols) are in
    :func:`turned` of it."""
    height, width = shape
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    if flip:
        cols = width - 1 - cols
    for _ in range(turns):  # np.rot90: out[a, b] = in[b, width - 1 - a]
        rows, cols, height, width = width - 1 - cols, rows, width, height
    return rows, cols


class DenseViews:
    """A dense model (:class:`.dense_model.DenseModel`) averaged over the eight
    views: ``predict(window, rows, cols)`` on windows read for patches of
    :func:`.patches.view_size` (the pixel ``(r, c)`` centred at ``(r + q // 2,
    c + q // 2)``), like :class:`.runners.ViewsAveraged` per patch."""

    def __init__(self, dense):
        self.dense = dense
        self.plan = dense.plan
        self.patch_size = view_size(dense.patch_size)  # the patches the window is read for

    @property
    def description(self):
        return f"{self.dense.description}, averaged over 8 flips and turns"

    def predict(self, window, rows, cols, is_cancelled=None, progress=None):
        """Mean probability of window pixels ``(rows, cols)`` over the eight views;
        ``progress(fraction)`` over the eight passes."""
        half = self.patch_size // 2
        centre_rows, centre_cols = np.asarray(rows) + half, np.asarray(cols) + half
        total = np.zeros(len(centre_rows), np.float64)
        for number, (flip, turns) in enumerate(VIEWS):
            r, c = turned_points(centre_rows, centre_cols, window.shape[:2], flip, turns)
            step = None if progress is None else \
                (lambda fraction, number=number: progress((number + fraction) / len(VIEWS)))
            total += self.dense.predict(turned(window, flip, turns), r - half, c - half,
                                        is_cancelled, step)
        return (total / len(VIEWS)).astype(np.float32)
