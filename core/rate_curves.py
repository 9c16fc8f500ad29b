"""Success-rate and prediction-rate curves on quantile bins, block by block.

:class:`.class_counts.ClassTally` bins the values on equal intervals between the
minimum and the maximum; a map whose values crowd near 0 (most susceptibility
maps: a few cells are high) then has most cells in a few bins, whose order is
lost, and its AUC is biased low (a squared map, which ranks the cells alike, lost
0.025 of AUC on the sample area). Here the bin edges are quantiles of a random
sample of the map's values (:attr:`.class_raster.RasterSummary.sample`), so every
bin holds about the same number of cells and the curve and its AUC are as exact
as the ranking allows, whatever the distribution. numpy only.
"""

import math

import numpy as np

from .class_statistics import success_rate_curve

BINS = 10_000


def quantile_edges(sample, bins=BINS):
    """The inner bin edges: distinct quantiles of ``sample``."""
    sample = np.asarray(sample, dtype=np.float64)
    if sample.size == 0:
        return np.zeros(0)
    return np.unique(np.quantile(sample, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


class RateCurves:
    """Counts of all valid cells and of the cells of each landslide set (the
    inventory, the validation inventory) per quantile bin."""

    def __init__(self, sample, sets=1, bins=BINS):
        self.edges = quantile_edges(sample, bins)
        size = self.edges.size + 1
        self.cells = np.zeros(size, np.int64)
        self.slides = [np.zeros(size, np.int64) for _ in range(sets)]

    def add(self, values, *landslides):
        """``values`` of valid cells and, per set, a boolean of the same length."""
        bins = np.searchsorted(self.edges, values, side="left")
        size = self.cells.size
        self.cells += np.bincount(bins, minlength=size)
        for counts, flags in zip(self.slides, landslides, strict=True):
            counts += np.bincount(bins[flags], minlength=size)

    def curve(self, which=0):
        """``{"curve": (x, y), "auc"}`` of set ``which``; NaN without landslides."""
        if self.slides[which].sum() == 0:
            return {"curve": None, "auc": math.nan}
        x, y, auc = success_rate_curve(self.cells, self.slides[which])
        return {"curve": (x, y), "auc": auc}
