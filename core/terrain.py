"""Slope and aspect classes from a DEM (two of the paper's LCFs).

Slope is GDAL's own ``gdaldem slope`` (Horn's method, degrees, edges
computed), so it equals ``gdaldem slope -compute_edges`` and QGIS's
``native:slope`` away from the edges. Aspect is ``gdaldem aspect`` (azimuth,
clockwise from north) classified into the paper's nine classes:

=====  =====  ==================================
value  class  rule
=====  =====  ==================================
0      flat   slope < flat threshold
1      N      aspect in [337.5, 360) or [0, 22.5)
2      NE     [22.5, 67.5)
3      E      [67.5, 112.5)
4      SE     [112.5, 157.5)
5      S      [157.5, 202.5)
6      SW     [202.5, 247.5)
7      W      [247.5, 292.5)
8      NW     [292.5, 337.5)
=====  =====  ==================================

The aspect raster is Byte with nodata 255, class names as GDAL category
names (and a colour table), so :mod:`.align` carries the names into the stack.
"""

import math
import os
import tempfile

import numpy as np
from osgeo import gdal

from .errors import InputError
from .progress import check_cancelled, gdal_callback, never_cancelled, no_progress, scaled
from .raster_io import GTIFF_OPTIONS
from .stack import open_raster, raster_driver_for, raster_output, rows_per_block

ASPECT_CLASSES = ["flat", "N", "NE", "E", "SE", "S", "SW", "W", "NW"]
ASPECT_NODATA = 255
SLOPE_NODATA = -9999.0
DEGREE_SCALE = 111120.0  # metres per degree of latitude, gdaldem's suggestion
ASPECT_COLOURS = [(200, 200, 200), (230, 0, 0), (255, 160, 0), (255, 255, 0), (0, 200, 0),
                  (0, 220, 220), (0, 120, 255), (0, 0, 200), (200, 0, 200)]
FLAT_THRESHOLD = 1.0  # degrees: a gentler slope has no aspect (class 'flat')


def classify_aspect(aspect, slope, flat_threshold, aspect_nodata=None, slope_nodata=None):
    """Class codes (uint8, see the module table) from aspect and slope arrays."""
    aspect = np.asarray(aspect, dtype=np.float64)
    slope = np.asarray(slope, dtype=np.float64)
    valid = np.isfinite(slope)
    if slope_nodata is not None:
        valid &= slope != slope_nodata
    codes = np.full(slope.shape, ASPECT_NODATA, dtype=np.uint8)
    direction = np.isfinite(aspect) & (aspect >= 0)
    if aspect_nodata is not None:
        direction &= aspect != aspect_nodata
    sector = (np.floor((np.where(direction, aspect, 0.0) + 22.5) / 45.0).astype(np.int64) % 8) + 1
    flat = valid & ((slope < flat_threshold) | ~direction)
    codes[valid] = sector[valid]
    codes[flat] = 0
    return codes


def _dem_scale(dataset, warnings):
    srs = dataset.GetSpatialRef()
    if srs is None:
        warnings.append("The DEM has no coordinate reference system; its horizontal and "
                        "vertical units are assumed to be the same (e.g. metres).")
        return 1.0
    if srs.IsGeographic():
        warnings.append("The DEM is in a geographic CRS (degrees); slope uses gdaldem's "
                        f"scale {DEGREE_SCALE:g} m per degree, which is approximate away "
                        "from the equator. Reproject the DEM to a projected CRS for "
                        "exact slopes.")
        return DEGREE_SCALE
    return 1.0


def _open_dem(dem, warnings):
    """``(dataset, scale)``: the DEM's band 1 ready for ``gdaldem`` (float NaN
    declared as nodata) and the horizontal-to-vertical unit scale."""
    source = open_raster(dem, "DEM")
    if source.GetGeoTransform(can_return_null=True) is None:
        raise InputError(f"The DEM '{dem}' has no georeferencing; slope needs the cell size.")
    if source.RasterCount > 1:
        warnings.append(f"The DEM '{dem}' has {source.RasterCount} bands; band 1 is used.")
    scale = _dem_scale(source, warnings)
    band = source.GetRasterBand(1)
    if band.GetNoDataValue() is None and band.DataType in (gdal.GDT_Float32, gdal.GDT_Float64):
        # NaN cells count as nodata for gdaldem only when declared.
        source = gdal.Translate("", source, format="VRT", bandList=[1], noData="nan")
    return source, scale


def _dem_processing(path, source, processing, failure, is_cancelled, **options):
    """``gdal.DEMProcessing`` (Horn, edges computed) writing a GeoTIFF at ``path``;
    :class:`InputError` starting with ``failure`` when it fails."""
    dataset = gdal.DEMProcessing(path, source, processing, options=gdal.DEMProcessingOptions(
        format="GTiff", computeEdges=True, alg="Horn", **options))
    check_cancelled(is_cancelled)
    if dataset is None:
        raise InputError(f"{failure}: {gdal.GetLastErrorMsg()}")
    return dataset


def _classify(slope_ds, aspect_ds, flat_threshold, progress, is_cancelled):
    """``(dataset, counts)``: the aspect classes as an in-memory Byte raster and the
    number of cells per class."""
    width, height = slope_ds.RasterXSize, slope_ds.RasterYSize
    out = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Byte)
    out.SetGeoTransform(slope_ds.GetGeoTransform())
    out.SetProjection(slope_ds.GetProjection())
    slope_band = slope_ds.GetRasterBand(1)
    aspect_band = aspect_ds.GetRasterBand(1)
    counts = np.zeros(len(ASPECT_CLASSES), dtype=np.int64)
    rows_step = rows_per_block(width, 3)
    for row in range(0, height, rows_step):
        check_cancelled(is_cancelled)
        rows = min(rows_step, height - row)
        codes = classify_aspect(aspect_band.ReadAsArray(0, row, width, rows),
                                slope_band.ReadAsArray(0, row, width, rows),
                                flat_threshold, aspect_band.GetNoDataValue(),
                                slope_band.GetNoDataValue())
        counts += np.bincount(codes[codes != ASPECT_NODATA].ravel(),
                              minlength=len(ASPECT_CLASSES))[:len(ASPECT_CLASSES)]
        out.GetRasterBand(1).WriteArray(codes, 0, row)
        progress(100.0 * (row + rows) / height)
    return out, counts


def _describe_aspect_band(band, flat_threshold):
    """Nodata, class names (categories and ``CLASS_NAMES``), colours and the flat
    threshold of the aspect-class band."""
    band.SetNoDataValue(ASPECT_NODATA)
    band.SetCategoryNames(ASPECT_CLASSES)
    table = gdal.ColorTable()
    for value, colour in enumerate(ASPECT_COLOURS):
        table.SetColorEntry(value, (*colour, 255))
    table.SetColorEntry(ASPECT_NODATA, (0, 0, 0, 0))
    band.SetColorTable(table)
    band.SetDescription("aspect")
    band.SetMetadata({"CLASS_NAMES": ",".join(f"{v}={n}" for v, n in enumerate(ASPECT_CLASSES)),
                      "FLAT_THRESHOLD": repr(float(flat_threshold))})


def _write_aspect(path, classes, aspect_path):
    """Copy the in-memory aspect classes to the GeoTIFF ``path``."""
    written = gdal.GetDriverByName("GTiff").CreateCopy(path, classes, 0, list(GTIFF_OPTIONS))
    if written is None:
        raise InputError(f"Cannot write the aspect raster '{aspect_path}': "
                         f"{gdal.GetLastErrorMsg()}")
    written = None


def _finish_slope(slope_ds):
    """Name the slope band, compute its statistics and close it; returns
    ``(min, max, mean, std)``."""
    slope_band = slope_ds.GetRasterBand(1)
    slope_band.SetDescription("slope")
    stats = slope_band.ComputeStatistics(False)
    slope_ds.FlushCache()
    return stats


def derive_terrain(dem, slope_path, aspect_path, flat_threshold=FLAT_THRESHOLD,
                   progress=no_progress, is_cancelled=never_cancelled):
    """Write slope (degrees, float32) and aspect classes (Byte) from ``dem``.

    Both outputs are written atomically: when anything fails, neither output
    path is touched. Returns a dict with the paths, class counts and warnings.
    """
    if flat_threshold < 0 or not math.isfinite(flat_threshold):
        raise InputError(f"The flat threshold must be 0 degrees or more (got {flat_threshold}).")
    warnings = []
    source, scale = _open_dem(dem, warnings)
    raster_driver_for(slope_path)  # fail early on an unknown extension
    raster_driver_for(aspect_path)
    folder = os.path.dirname(os.path.abspath(str(aspect_path))) or "."

    def callback(start, end):
        return gdal_callback(scaled(progress, start, end), is_cancelled)

    with raster_output(slope_path) as slope_tmp, \
            raster_output(aspect_path) as aspect_tmp, \
            tempfile.TemporaryDirectory(prefix=".terrain_", dir=folder) as scratch:
        slope_ds = _dem_processing(
            slope_tmp, source, "slope", f"Slope from the DEM '{dem}' failed", is_cancelled,
            creationOptions=list(GTIFF_OPTIONS), slopeFormat="degree", scale=scale,
            callback=callback(0, 45))
        aspect_raw = _dem_processing(
            os.path.join(scratch, "aspect.tif"), source, "aspect",
            f"Aspect from the DEM '{dem}' failed", is_cancelled, callback=callback(45, 80))
        classes, counts = _classify(slope_ds, aspect_raw, flat_threshold,
                                    scaled(progress, 80, 95), is_cancelled)
        _describe_aspect_band(classes.GetRasterBand(1), flat_threshold)
        _write_aspect(aspect_tmp, classes, aspect_path)
        stats = _finish_slope(slope_ds)
        slope_ds = aspect_raw = classes = None
    progress(100)
    return {"slope": str(slope_path), "aspect": str(aspect_path),
            "slope_min": stats[0], "slope_max": stats[1], "slope_mean": stats[2],
            "aspect_counts": {name: int(count) for name, count in zip(ASPECT_CLASSES, counts,
                                                                      strict=True)},
            "flat_threshold": float(flat_threshold), "warnings": warnings}
