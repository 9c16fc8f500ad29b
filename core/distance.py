"""Distance to features (faults, rivers, roads…) on a reference grid: the paper's
DTF and DTR factors.

The vector layer (lines, points or polygons; reprojected with OGR/OSR when its
CRS differs from the grid's) is burnt with ``gdal.RasterizeLayer``
(``ALL_TOUCHED``, so thin lines stay connected) and ``gdal.ComputeProximity``
gives each cell's distance, in map units, from its centre to the centre of the
nearest burnt cell. The grid is padded on every side (by up to half its larger
side, limited by the layer's extent) so that features just outside the
reference extent still count.
"""

import math
import os
import tempfile
from dataclasses import dataclass

from osgeo import gdal, ogr, osr

from .errors import InputError
from .progress import check_cancelled, gdal_callback, never_cancelled, no_progress, scaled
from .raster_io import dataset_srs, gis_order, gtiff_options
from .stack import open_raster, raster_driver_for, raster_output

DISTANCE_NODATA = -9999.0
MEM_LIMIT_PIXELS = 50_000_000


def open_vector(path, layer_name=None, what="vector layer"):
    """``(datasource, layer)``; :class:`InputError` naming ``what`` on failure."""
    source = ogr.Open(str(path)) if path else None
    if source is None:
        raise InputError(f"Cannot open the {what} '{path}'. Check that the file exists "
                         "and is a vector format OGR can read.")
    layer = source.GetLayerByName(layer_name) if layer_name else source.GetLayer(0)
    if layer is None:
        raise InputError(f"The {what} '{path}' has no layer "
                         f"{repr(layer_name) if layer_name else ''}.")
    return source, layer


def reprojected_layer(layer, target_srs, what, warnings):
    """``layer``, or an in-memory copy of it in ``target_srs`` when the CRS differs.

    Returns ``(datasource_or_None, layer)``; keep the datasource alive while
    the layer is used.
    """
    layer_srs = layer.GetSpatialRef()
    if layer_srs is None:
        warnings.append(f"The {what} has no coordinate reference system; it is assumed "
                        "to be in the grid's.")
        return None, layer
    layer_srs = gis_order(layer_srs)
    if layer_srs.IsSame(target_srs):
        return None, layer
    transform = osr.CoordinateTransformation(layer_srs, target_srs)
    memory = ogr.GetDriverByName("Memory").CreateDataSource("reprojected")
    out = memory.CreateLayer("reprojected", target_srs, layer.GetGeomType())
    definition = out.GetLayerDefn()
    layer.ResetReading()
    failed = 0
    for feature in layer:
        geometry = feature.GetGeometryRef()
        if geometry is None:
            continue
        geometry = geometry.Clone()
        if geometry.Transform(transform) != 0:
            failed += 1
            continue
        copy = ogr.Feature(definition)
        copy.SetGeometry(geometry)
        out.CreateFeature(copy)
    layer.ResetReading()
    if failed:
        warnings.append(f"{failed} feature(s) of the {what} could not be reprojected and "
                        "were skipped.")
    return memory, out


@dataclass(frozen=True)
class _Grid:
    """The reference raster's grid: north-up geotransform, size and CRS (x/y order)."""
    geotransform: tuple
    width: int
    height: int
    srs: osr.SpatialReference


@dataclass(frozen=True)
class _PaddedGrid:
    """The reference grid grown by ``left``/``right``/``top``/``bottom`` cells, each
    at most ``limit`` (half the grid's larger side)."""
    geotransform: tuple
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    limit: int


def _reference_grid(reference):
    """The grid of the ``reference`` raster; it must be north-up and projected."""
    ref = open_raster(reference, "reference raster")
    gt = ref.GetGeoTransform(can_return_null=True)
    if gt is None:
        raise InputError(f"The reference raster '{reference}' has no georeferencing.")
    if gt[2] != 0 or gt[4] != 0:
        raise InputError(f"The reference raster '{reference}' is rotated; choose a north-up "
                         "raster.")
    srs = dataset_srs(ref, f"The reference raster '{reference}' has no coordinate reference "
                           "system; assign one and run again.")
    if srs.IsGeographic():
        raise InputError(f"The reference raster '{reference}' is in a geographic CRS "
                         "(degrees); distances need a projected CRS in metres. Reproject it.")
    return _Grid(tuple(gt), ref.RasterXSize, ref.RasterYSize, srs)


def _features_in(vector, layer_name, what, srs, warnings):
    """``(handles, layer)``: the vector's layer in ``srs``; keep ``handles`` (the OGR
    datasources) alive while the layer is used."""
    source, layer = open_vector(vector, layer_name, what)
    if layer.GetFeatureCount() == 0:
        raise InputError(f"The {what} has no features; distances need at least one.")
    keep, layer = reprojected_layer(layer, srs, what, warnings)
    if layer.GetFeatureCount() == 0:
        raise InputError(f"No feature of the {what} could be placed in the reference CRS.")
    return (source, keep), layer


def _padded_grid(grid, extent):
    """``grid`` padded towards the features' ``extent`` (OGR order xmin, xmax, ymin,
    ymax), at most half the grid's larger side on each side."""
    xmin, xmax, ymin, ymax = extent
    gt = grid.geotransform
    dx, dy = gt[1], -gt[5]
    limit = max(grid.width, grid.height) // 2
    left = min(limit, max(0, math.ceil((gt[0] - xmin) / dx)))
    right = min(limit, max(0, math.ceil((xmax - (gt[0] + grid.width * dx)) / dx)))
    top = min(limit, max(0, math.ceil((ymax - gt[3]) / dy)))
    bottom = min(limit, max(0, math.ceil(((gt[3] - grid.height * dy) - ymin) / dy)))
    return _PaddedGrid(geotransform=(gt[0] - left * dx, dx, 0.0, gt[3] + top * dy, 0.0, -dy),
                       width=grid.width + left + right, height=grid.height + top + bottom,
                       left=left, right=right, top=top, bottom=bottom, limit=limit)


def _scratch_raster(padded, wkt, folder, name, data_type):
    """A one-band raster on the padded grid: in memory when ``folder`` is None,
    else a tiled GeoTIFF ``name`` in ``folder``."""
    if folder is None:
        dataset = gdal.GetDriverByName("MEM").Create("", padded.width, padded.height, 1,
                                                     data_type)
    else:
        dataset = gdal.GetDriverByName("GTiff").Create(
            os.path.join(folder, name), padded.width, padded.height, 1, data_type,
            ["TILED=YES", "BIGTIFF=IF_SAFER"])
    dataset.SetGeoTransform(padded.geotransform)
    dataset.SetProjection(wkt)
    return dataset


def _burn(layer, burnt, what, callback, is_cancelled):
    """Burn the layer's features as 1 into ``burnt`` (all touched cells)."""
    burnt.GetRasterBand(1).Fill(0)
    if gdal.RasterizeLayer(burnt, [1], layer, burn_values=[1],
                           options=["ALL_TOUCHED=TRUE"], callback=callback) != 0:
        check_cancelled(is_cancelled)
        raise InputError(f"Rasterising the {what} failed: {gdal.GetLastErrorMsg()}")
    check_cancelled(is_cancelled)


def _check_burnt(burnt, what, extent, grid, limit):
    """:class:`InputError` when no feature fell on the padded grid."""
    if burnt.GetRasterBand(1).ComputeRasterMinMax(False)[1] >= 1:
        return
    xmin, xmax, ymin, ymax = extent
    gt = grid.geotransform
    dx, dy = gt[1], -gt[5]
    grid_xmax = gt[0] + grid.width * dx
    grid_ymin = gt[3] - grid.height * dy
    raise InputError(
        f"The {what} lies outside the reference raster's extent (and its margin of "
        f"{limit} cells): its features span ({xmin:.6g}, {ymin:.6g}) – "
        f"({xmax:.6g}, {ymax:.6g}) in the reference CRS, the grid "
        f"({gt[0]:.6g}, {grid_ymin:.6g}) – ({grid_xmax:.6g}, {gt[3]:.6g}). "
        "Check its location and CRS.")


def _proximity(burnt, distance, callback, is_cancelled):
    """Distance (map units) from every cell of ``distance`` to the nearest burnt cell."""
    if gdal.ComputeProximity(burnt.GetRasterBand(1), distance.GetRasterBand(1),
                             ["VALUES=1", "DISTUNITS=GEO"], callback=callback) != 0:
        check_cancelled(is_cancelled)
        raise InputError(f"Distance computation failed: {gdal.GetLastErrorMsg()}")
    check_cancelled(is_cancelled)


def _write_window(distance, padded, grid, output, callback, is_cancelled):
    """Write the reference grid's window of ``distance`` to ``output``; returns its
    ``(min, max, mean)``."""
    window = gdal.Translate("", distance, format="VRT",
                            srcWin=[padded.left, padded.top, grid.width, grid.height])
    window.GetRasterBand(1).SetNoDataValue(DISTANCE_NODATA)
    window.GetRasterBand(1).SetDescription("distance")
    with raster_output(output) as tmp:
        written = gdal.GetDriverByName("GTiff").CreateCopy(
            tmp, window, 0, gtiff_options(float_data=True), callback=callback)
        check_cancelled(is_cancelled)
        if written is None:
            raise InputError(f"Cannot write '{output}': {gdal.GetLastErrorMsg()}")
        minimum, maximum, mean, _std = written.GetRasterBand(1).ComputeStatistics(False)
        written = None
    return minimum, maximum, mean


def distance_to_features(vector, reference, output, layer_name=None,
                         progress=no_progress, is_cancelled=never_cancelled):
    """Write the distance (map units, float32) from ``vector``'s features on the grid
    of the ``reference`` raster to ``output``. Returns a dict with statistics."""
    what = f"vector layer '{vector}'" + (f" (layer {layer_name})" if layer_name else "")
    grid = _reference_grid(reference)
    warnings = []
    handles, layer = _features_in(vector, layer_name, what, grid.srs, warnings)
    extent = layer.GetExtent()
    padded = _padded_grid(grid, extent)
    use_mem = padded.width * padded.height <= MEM_LIMIT_PIXELS
    folder = os.path.dirname(os.path.abspath(str(output))) or "."
    raster_driver_for(output)  # fail early on an unknown extension

    def callback(start, end):
        return gdal_callback(scaled(progress, start, end), is_cancelled)

    wkt = grid.srs.ExportToWkt()
    with tempfile.TemporaryDirectory(prefix=".distance_", dir=None if use_mem else folder) \
            as scratch:
        scratch = None if use_mem else scratch
        burnt = _scratch_raster(padded, wkt, scratch, "burnt.tif", gdal.GDT_Byte)
        _burn(layer, burnt, what, callback(0, 20), is_cancelled)
        _check_burnt(burnt, what, extent, grid, padded.limit)
        distance = _scratch_raster(padded, wkt, scratch, "distance.tif", gdal.GDT_Float32)
        _proximity(burnt, distance, callback(20, 90), is_cancelled)
        burnt = None
        minimum, maximum, mean = _write_window(distance, padded, grid, output,
                                               callback(90, 99), is_cancelled)
        distance = None
    layer = handles = None  # noqa: F841  (release the OGR handles)
    progress(100)
    padding = max(padded.left, padded.right, padded.top, padded.bottom)
    return {"output": str(output), "min": minimum, "max": maximum, "mean": mean,
            "padding_cells": padding, "warnings": warnings}
