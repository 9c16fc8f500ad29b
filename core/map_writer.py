"""The susceptibility map GeoTIFF: created with its metadata, written tile by
tile with running statistics, finished with average overviews (numpy + GDAL).

A pixel invalid in any factor gets :data:`OUTPUT_NODATA`. The GDAL block cache
is kept small while writing and while building overviews
(:func:`gdal_cache_limit`), so memory does not depend on the raster size.
"""

import contextlib
import os

from osgeo import gdal

from .errors import CancelledError, InputError
from .raster_io import gtiff_options
from .running_stats import RunningStats

OUTPUT_NODATA = -9999.0
BAND_NAME = "landslide_probability"
BLOCK_SIZE = 256            # GeoTIFF tile side of the map
OVERVIEW_MIN_SIZE = 64      # overviews halve the map until it is about this small
OVERVIEW_CACHE_BYTES = 16 << 20  # GDAL block cache while building overviews
CANCEL_MESSAGE = ("Cancelled: no susceptibility map was written (an existing OUTPUT was "
                  "left as it was).")


@contextlib.contextmanager
def gdal_cache_limit(max_bytes):
    """Lower the GDAL block cache to at most ``max_bytes``; restore it after."""
    old_cache = gdal.GetCacheMax()
    gdal.SetCacheMax(min(old_cache, max_bytes))
    try:
        yield
    finally:
        gdal.SetCacheMax(old_cache)


def create_map(path, info, model_name, model_path, patch_size, stride):
    """An empty 1-band Float32 GeoTIFF on the stack's grid, with the map's metadata."""
    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(path, info.width, info.height, 1, gdal.GDT_Float32,
                            gtiff_options(float_data=True, block_size=BLOCK_SIZE))
    if dataset is None:
        raise InputError(f"Cannot create the susceptibility map '{path}': "
                         f"{gdal.GetLastErrorMsg()}")
    dataset.SetGeoTransform(info.geotransform)
    if info.crs_wkt:
        dataset.SetProjection(info.crs_wkt)
    dataset.SetMetadata({"LANDSLIDE_MAP": "susceptibility", "MODEL": str(model_name),
                         "MODEL_FILE": os.path.basename(str(model_path)),
                         "PATCH_SIZE": str(patch_size), "STRIDE": str(stride),
                         "FACTORS": ",".join(info.names),
                         "NODATA": repr(OUTPUT_NODATA)})
    band = dataset.GetRasterBand(1)
    band.SetDescription(BAND_NAME)
    band.SetNoDataValue(OUTPUT_NODATA)
    band.SetMetadata({"QUANTITY": "landslide probability (softmax output, 0..1)",
                      "MODEL": str(model_name)})
    return dataset


class MapWriter:
    """Writes finished tiles in order; keeps statistics; flushes per tile row."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.band = dataset.GetRasterBand(1)
        self.stats = RunningStats(1)
        self.last_row0 = 0

    def write(self, row0, col0, out):
        """Write the float32 block ``out`` at ``(row0, col0)``."""
        if row0 != self.last_row0:
            self.dataset.FlushCache()
            self.last_row0 = row0
        if self.band.WriteArray(out, col0, row0) != 0:
            raise InputError(f"Cannot write the susceptibility map: {gdal.GetLastErrorMsg()}")
        self.stats.add_flat(out[out != OUTPUT_NODATA])

    def statistics(self):
        """``{"min", "max", "mean", "std", "valid_pixels"}`` of the valid pixels
        written so far, or None when there was none."""
        count = int(self.stats.count[0])
        if not count:
            return None
        return {"min": float(self.stats.minimum[0]), "max": float(self.stats.maximum[0]),
                "mean": float(self.stats.mean[0]), "std": float(self.stats.std[0]),
                "valid_pixels": count}

    def store_statistics(self):
        """Record :meth:`statistics` in the band (when any) and return them."""
        stats = self.statistics()
        if stats:
            self.band.SetStatistics(stats["min"], stats["max"], stats["mean"], stats["std"])
        return stats


def overview_levels(width, height):
    """Halving factors 2, 4, ... until the map is about :data:`OVERVIEW_MIN_SIZE`."""
    levels, level = [], 2
    while max(width, height) / level >= OVERVIEW_MIN_SIZE:
        levels.append(level)
        level *= 2
    return levels or ([2] if min(width, height) >= 2 else [])


def build_overviews(dataset, levels, progress, is_cancelled):
    """Average overviews at ``levels``; ``progress`` gets 0..100."""
    def report(complete, _message, _data):
        progress(100.0 * complete)
        return 0 if is_cancelled() else 1

    dataset.FlushCache()
    with gdal_cache_limit(OVERVIEW_CACHE_BYTES):
        status = dataset.BuildOverviews("AVERAGE", levels, report)
    if status != 0:
        if is_cancelled():
            raise CancelledError(CANCEL_MESSAGE)
        raise InputError(f"Cannot build the overviews of the susceptibility map: "
                         f"{gdal.GetLastErrorMsg()}")
