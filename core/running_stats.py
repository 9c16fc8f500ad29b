"""Running per-band statistics over data seen in blocks (numpy only).

One implementation for every place that needs mean, standard deviation,
minimum and maximum of values that do not fit in memory at once: the factor
stack's statistics (align), the training split's normalisation (engine) and
the susceptibility map's summary (predict). Blocks are merged with Chan et
al.'s parallel update of the mean and the sum of squared deviations, which
stays accurate where ``E[x²] - E[x]²`` cancels.
"""

import numpy as np


class RunningStats:
    """Per-band count, mean, population std, min and max; NaN values are ignored.

    ``add(values)`` takes an array whose last axis is the band (``[..., bands]``);
    a 1-band statistic takes any shape with ``bands=1`` and a trailing axis of 1
    added by :meth:`add_flat`.
    """

    def __init__(self, bands):
        self.bands = int(bands)
        self.count = np.zeros(self.bands, dtype=np.int64)
        self.mean = np.zeros(self.bands)
        self._m2 = np.zeros(self.bands)
        self.minimum = np.full(self.bands, np.inf)
        self.maximum = np.full(self.bands, -np.inf)

    def add(self, values):
        """Merge ``values`` (``[..., bands]``, NaN = missing) into the statistics."""
        values = np.asarray(values, dtype=np.float64).reshape(-1, self.bands)
        finite = np.isfinite(values)
        n = finite.sum(0)
        seen = n > 0
        if not seen.any():
            return self
        filled = np.where(finite, values, 0.0)
        block_mean = np.divide(filled.sum(0), n, out=np.zeros(self.bands), where=seen)
        deviation = np.where(finite, values - block_mean, 0.0)
        block_m2 = np.square(deviation).sum(0)
        total = self.count + n
        delta = block_mean - self.mean
        weight = np.divide(n, total, out=np.zeros(self.bands), where=total > 0)
        self.mean = np.where(seen, self.mean + delta * weight, self.mean)
        self._m2 = np.where(seen, self._m2 + block_m2 + delta * delta * self.count * weight,
                            self._m2)
        self.count = total
        self.minimum = np.where(seen, np.minimum(self.minimum, np.where(
            finite, values, np.inf).min(0)), self.minimum)
        self.maximum = np.where(seen, np.maximum(self.maximum, np.where(
            finite, values, -np.inf).max(0)), self.maximum)
        return self

    def add_flat(self, values):
        """Merge a 1-band block of any shape (only for ``bands == 1``)."""
        return self.add(np.asarray(values).reshape(-1, 1))

    @property
    def std(self):
        """Population standard deviation per band (0 where nothing was seen)."""
        return np.sqrt(np.divide(self._m2, self.count, out=np.zeros(self.bands),
                                 where=self.count > 0))

    def normalisation(self, floor=1e-12):
        """``(mean, std)`` as lists for a Z-score; a constant band gets std 1."""
        std = self.std
        std[std < floor] = 1.0
        return self.mean.tolist(), std.tolist()
