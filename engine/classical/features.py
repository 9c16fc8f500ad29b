"""Features of the classical models, per patch and densely over a tile.

The rule (the networks' one): a patch is Z-scored with the model card's
statistics and nodata becomes 0, the band mean (:func:`..patches.normalise`).
The features of the patch centred on a pixel are then

* the centre value (offset ``p // 2``) of every factor: Z-scored for a
  continuous factor, the class code for a categorical one (the Z-score undone
  and rounded);
* with ``neighbourhood`` true, for every continuous factor the mean, standard
  deviation (population), minimum and maximum over the ``p x p`` window.

:func:`patch_features` computes them from patches, :func:`window_features` for
every pixel of a tile window (tile + halo of half a patch, as
:class:`..stack_reader.StackReader` reads it) with summed-area tables (mean,
std, in float64) and separable min/max filters, so that both give the same
numbers (to rounding) at a pixel.
"""

from dataclasses import dataclass

import numpy as np

from ...core.samples import pad_width
from ..patches import normalise

STATS = ("mean", "std", "min", "max")


@dataclass
class FeatureLayout:
    """Which features a classical model reads, from its model card."""

    factors: list
    categorical: list
    classes: dict  # categorical factor name -> its class codes
    mean: list  # the card's normalisation
    std: list
    patch_size: int
    neighbourhood: bool = False

    @classmethod
    def from_card(cls, card, neighbourhood=False):
        return cls(list(card["factors"]), list(card["categorical"]),
                   dict(card.get("classes") or {}), list(card["normalisation"]["mean"]),
                   list(card["normalisation"]["std"]), int(card["patch_size"]),
                   bool(neighbourhood))

    @property
    def continuous(self):
        """Band indices of the continuous factors."""
        return [i for i, flag in enumerate(self.categorical) if not flag]

    def columns(self):
        """``(name, kind, band)`` of every feature column, kind ``"continuous"`` or
        ``"categorical"``, in the order of the feature matrices."""
        out = [(name, "categorical" if flag else "continuous", band)
               for band, (name, flag) in enumerate(zip(self.factors, self.categorical,
                                                       strict=True))]
        if self.neighbourhood:
            out += [(f"{self.factors[band]} {stat}", "continuous", band)
                    for band in self.continuous for stat in STATS]
        return out

    def class_codes(self, band):
        return [int(v) for v in self.classes.get(self.factors[band], [])]


def patch_features(raw, layout):
    """Features ``(N, F)`` float64 of raw patches ``(N, p, p, C)`` (NaN = nodata)."""
    return normalised_patch_features(normalise(np.asarray(raw, np.float32), layout.mean,
                                               layout.std), layout)


def normalised_patch_features(z, layout):
    """Features ``(N, F)`` of patches already normalised (:func:`..patches.normalise`)."""
    centre = layout.patch_size // 2
    columns = [_centre(z[:, centre, centre, :], layout)]
    if layout.neighbourhood and layout.continuous:
        cont = z[..., layout.continuous].astype(np.float64)
        stats = np.stack([cont.mean(axis=(1, 2)), cont.std(axis=(1, 2)),
                          cont.min(axis=(1, 2)), cont.max(axis=(1, 2))], axis=-1)
        columns.append(stats.reshape(len(z), -1))
    return np.concatenate(columns, axis=1)


def in_factor_units(x, layout):
    """The features ``x`` with the Z-scores undone (factor units: readable class
    edges for frequency ratio); class codes as they are."""
    mean, std = np.asarray(layout.mean, np.float64), np.asarray(layout.std, np.float64)
    out = np.array(x, np.float64)
    for band in layout.continuous:
        out[:, band] = out[:, band] * std[band] + mean[band]
    if layout.neighbourhood:
        for position, band in enumerate(layout.continuous):
            first = len(layout.factors) + len(STATS) * position
            for offset, stat in enumerate(STATS):
                column = first + offset
                out[:, column] *= std[band]
                if stat != "std":
                    out[:, column] += mean[band]
    return out


class WindowFeatures:
    """Features of the pixels of a tile window ``(R + p - 1, C + p - 1, bands)``,
    already normalised (:class:`..stack_reader.StackReader`'s): the window
    statistics are computed once, :meth:`at` picks pixels."""

    def __init__(self, window, layout):
        self.window, self.layout = window, layout
        self.stats = None
        if layout.neighbourhood and layout.continuous:
            self.stats = np.stack([_window_stats(window[..., band], layout.patch_size)
                                   for band in layout.continuous], axis=2)

    def at(self, rows, cols):
        """Features ``(len(rows), F)`` of the window pixels (rows, cols)."""
        before, _ = pad_width(self.layout.patch_size)
        rows, cols = np.asarray(rows), np.asarray(cols)
        columns = [_centre(self.window[rows + before, cols + before, :], self.layout)]
        if self.stats is not None:
            columns.append(self.stats[rows, cols].reshape(len(rows), -1))
        return np.concatenate(columns, axis=1)


def window_features(window, rows, cols, layout):
    """Features ``(len(rows), F)`` of the pixels (rows, cols) of a tile window."""
    return WindowFeatures(window, layout).at(rows, cols)


def _centre(z, layout):
    """Centre values ``(N, C)``: Z-scores; class codes for categorical bands."""
    out = z.astype(np.float64)
    for band, flag in enumerate(layout.categorical):
        if flag:
            out[:, band] = np.rint(out[:, band] * np.float64(np.float32(layout.std[band]))
                                   + np.float64(np.float32(layout.mean[band])))
    return out


def _window_stats(band, p):
    """Mean, std, min and max ``(R - p + 1, C - p + 1, 4)`` of the ``p x p``
    windows of one band (a window per pixel it starts at)."""
    x = band.astype(np.float64)
    shift = x.mean()
    x -= shift  # keeps the sums of squares small (no cancellation)
    area = float(p * p)
    mean = _window_sums(x, p) / area
    variance = np.maximum(_window_sums(x * x, p) / area - mean * mean, 0.0)
    lowest, highest = _window_extremes(band, p)
    return np.stack([mean + shift, np.sqrt(variance), lowest, highest], axis=-1)


def _window_sums(x, p):
    """Sums of every ``p x p`` window of ``x`` (summed-area table):
    ``(R - p + 1, C - p + 1)``."""
    table = np.zeros((x.shape[0] + 1, x.shape[1] + 1))
    np.cumsum(np.cumsum(x, axis=0), axis=1, out=table[1:, 1:])
    return table[p:, p:] - table[:-p, p:] - table[p:, :-p] + table[:-p, :-p]


def _window_extremes(band, p):
    """Minimum and maximum of every ``p x p`` window starting at a pixel (exact:
    separable running min/max), ``(R - p + 1, C - p + 1)``."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    # a size-p filter's output at k covers k - p // 2 .. k - p // 2 + p - 1
    rows, cols = band.shape[0] - p + 1, band.shape[1] - p + 1
    keep = (slice(p // 2, p // 2 + rows), slice(p // 2, p // 2 + cols))
    out = []
    for running in (minimum_filter1d, maximum_filter1d):
        extreme = running(running(band, p, axis=0), p, axis=1)
        out.append(extreme[keep].astype(np.float64))
    return out
