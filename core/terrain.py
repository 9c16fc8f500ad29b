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
from .progress import check_cancelled, never_cancelled, no_progress, scaled
from .raster_io import GTIFF_OPTIONS
from .stack import open_raster, raster_driver_for, raster_output, rows_per_block

ASPECT_CLASSES = ["flat", "N", "NE", "E", "SE", "S", "SW", "W", "NW"]
ASPECT_NODATA = 255
SLOPE_NODATA = -9999.0
DEGREE_SCALE = 111120.0  # metres per degree of latitude, gdaldem's suggestion
ASPECT_COLOURS = [(200, 200, 200), (230, 0, 0), (255, 160, 0), (255, 255, 0), (0, 200, 0),
                  (0, 220, 220), (0, 120, 255), (0, 0, 200), (200, 0, 200)]


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


def derive_terrain(dem, slope_path, aspect_path, flat_threshold=1.0,
                   progress=no_progress, is_cancelled=never_cancelled):
    """Write slope (degrees, float32) and aspect classes (Byte) from ``dem``.

    Both outputs are written atomically: when anything fails, neither output
    path is touched. Returns a dict with the paths, class counts and warnings.
    """
    if flat_threshold < 0 or not math.isfinite(flat_threshold):
        raise InputError(f"The flat threshold must be 0 degrees or more (got {flat_threshold}).")
    source = open_raster(dem, "DEM")
    if source.GetGeoTransform(can_return_null=True) is None:
        raise InputError(f"The DEM '{dem}' has no georeferencing; slope needs the cell size.")
    warnings = []
    if source.RasterCount > 1:
        warnings.append(f"The DEM '{dem}' has {source.RasterCount} bands; band 1 is used.")
    scale = _dem_scale(source, warnings)
    band = source.GetRasterBand(1)
    if band.GetNoDataValue() is None and band.DataType in (gdal.GDT_Float32, gdal.GDT_Float64):
        # NaN cells count as nodata for gdaldem only when declared.
        source = gdal.Translate("", source, format="VRT", bandList=[1], noData="nan")
    raster_driver_for(slope_path)  # fail early on an unknown extension
    raster_driver_for(aspect_path)
    folder = os.path.dirname(os.path.abspath(str(aspect_path))) or "."

    def step(start, end):
        part = scaled(progress, start, end)

        def callback(complete, _message, _data):
            part(100.0 * complete)
            return 0 if is_cancelled() else 1

        return callback

    with raster_output(slope_path) as slope_tmp, \
            raster_output(aspect_path) as aspect_tmp, \
            tempfile.TemporaryDirectory(prefix=".terrain_", dir=folder) as scratch:
        slope_ds = gdal.DEMProcessing(
            slope_tmp, source, "slope", options=gdal.DEMProcessingOptions(
                format="GTiff", creationOptions=list(GTIFF_OPTIONS),
                computeEdges=True, alg="Horn", slopeFormat="degree", scale=scale,
                callback=step(0, 45)))
        check_cancelled(is_cancelled)
        if slope_ds is None:
            raise InputError(f"Slope from the DEM '{dem}' failed: {gdal.GetLastErrorMsg()}")
        raw_aspect_path = os.path.join(scratch, "aspect.tif")
        aspect_raw = gdal.DEMProcessing(
            raw_aspect_path, source, "aspect", options=gdal.DEMProcessingOptions(
                format="GTiff", computeEdges=True, alg="Horn", callback=step(45, 80)))
        check_cancelled(is_cancelled)
        if aspect_raw is None:
            raise InputError(f"Aspect from the DEM '{dem}' failed: {gdal.GetLastErrorMsg()}")

        width, height = slope_ds.RasterXSize, slope_ds.RasterYSize
        out = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Byte)
        out.SetGeoTransform(slope_ds.GetGeoTransform())
        out.SetProjection(slope_ds.GetProjection())
        slope_band = slope_ds.GetRasterBand(1)
        aspect_band = aspect_raw.GetRasterBand(1)
        counts = np.zeros(len(ASPECT_CLASSES), dtype=np.int64)
        rows_step = rows_per_block(width, 3)
        classify_progress = scaled(progress, 80, 95)
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
            classify_progress(100.0 * (row + rows) / height)
        out_band = out.GetRasterBand(1)
        out_band.SetNoDataValue(ASPECT_NODATA)
        out_band.SetCategoryNames(ASPECT_CLASSES)
        table = gdal.ColorTable()
        for value, colour in enumerate(ASPECT_COLOURS):
            table.SetColorEntry(value, (*colour, 255))
        table.SetColorEntry(ASPECT_NODATA, (0, 0, 0, 0))
        out_band.SetColorTable(table)
        out_band.SetDescription("aspect")
        out_band.SetMetadata({"CLASS_NAMES": ",".join(f"{v}={n}" for v, n in
                                                      enumerate(ASPECT_CLASSES)),
                              "FLAT_THRESHOLD": repr(float(flat_threshold))})
        written = gdal.GetDriverByName("GTiff").CreateCopy(aspect_tmp, out, 0,
                                                           list(GTIFF_OPTIONS))
        if written is None:
            raise InputError(f"Cannot write the aspect raster '{aspect_path}': "
                             f"{gdal.GetLastErrorMsg()}")
        written = None
        slope_band.SetDescription("slope")
        stats = slope_band.ComputeStatistics(False)
        slope_ds.FlushCache()
        slope_ds = None
        aspect_raw = None
    progress(100)
    return {"slope": str(slope_path), "aspect": str(aspect_path),
            "slope_min": stats[0], "slope_max": stats[1], "slope_mean": stats[2],
            "aspect_counts": {name: int(count) for name, count in zip(ASPECT_CLASSES, counts,
                                                                      strict=True)},
            "flat_threshold": float(flat_threshold), "warnings": warnings}
