"""Windowed reads of the factor stack for prediction: a tile plus a halo of
half a patch, reflect-completed at the raster edges (the training rule of
:class:`.patches.PaddedStack`), Z-score normalised (:func:`.patches.normalise`)."""

import numpy as np
from osgeo import gdal

from ..core.errors import InputError
from ..core.samples import pad_width
from ..core.stack import band_valid, open_raster
from ..core.tiling import reflect_index
from .patches import normalise


class StackReader:
    """Windowed reads of the stack: normalised, reflect-completed tiles + halo."""

    def __init__(self, info, patch_size, mean, std):
        self.info = info
        self.dataset = open_raster(info.path, "factor stack")
        self.before, self.after = pad_width(patch_size)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        # The training rule (PaddedStack): band 1's nodata marks nodata in every band.
        self.value_nodata = self.dataset.GetRasterBand(1).GetNoDataValue()
        self.band_nodata = [band.nodata if band.nodata is not None else info.nodata
                            for band in info.bands]

    def read(self, row0, col0, rows, cols):
        """``(window, valid)`` for output rows ``row0..row0+rows-1`` and columns
        ``col0..``: ``window`` float32 ``(rows + p - 1, cols + p - 1, bands)``,
        normalised; ``valid`` bool ``(rows, cols)``: valid in every band."""
        info = self.info
        r_idx = reflect_index(np.arange(row0 - self.before, row0 + rows + self.after),
                              info.height)
        c_idx = reflect_index(np.arange(col0 - self.before, col0 + cols + self.after),
                              info.width)
        r_lo, c_lo = int(r_idx.min()), int(c_idx.min())
        raw = self._read_block(r_lo, int(r_idx.max()) + 1, c_lo, int(c_idx.max()) + 1)
        centre = raw[:, row0 - r_lo:row0 - r_lo + rows, col0 - c_lo:col0 - c_lo + cols]
        valid = np.ones((rows, cols), dtype=bool)
        for band, nodata in enumerate(self.band_nodata):
            valid &= band_valid(centre[band], nodata)
        if not _is_range(r_idx - r_lo):
            raw = raw[:, r_idx - r_lo]
        if not _is_range(c_idx - c_lo):
            raw = raw[:, :, c_idx - c_lo]
        window = raw.transpose(1, 2, 0).astype(np.float32)
        if self.value_nodata is not None:
            window[window == np.float32(self.value_nodata)] = np.nan
        return normalise(window, self.mean, self.std), valid

    def _read_block(self, r_lo, r_hi, c_lo, c_hi):
        """Raw ``(bands, rows, cols)`` of rows ``r_lo..r_hi-1``, columns ``c_lo..c_hi-1``."""
        info = self.info
        raw = self.dataset.ReadAsArray(c_lo, r_lo, c_hi - c_lo, r_hi - r_lo)
        if raw is None:
            raise InputError(f"Cannot read the factor stack '{info.path}' at rows "
                             f"{r_lo}-{r_hi}, columns {c_lo}-{c_hi}: {gdal.GetLastErrorMsg()}")
        return raw.reshape(info.count, r_hi - r_lo, c_hi - c_lo)


def _is_range(index):
    return bool(index[0] == 0 and np.all(np.diff(index) == 1))
