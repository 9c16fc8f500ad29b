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

from osgeo import gdal, ogr, osr

from .errors import InputError
from .progress import check_cancelled, never_cancelled, no_progress, scaled
from .raster_io import gtiff_options
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
    layer_srs = layer_srs.Clone()
    layer_srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
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


def distance_to_features(vector, reference, output, layer_name=None,
                         progress=no_progress, is_cancelled=never_cancelled):
    """Write the distance (map units, float32) from ``vector``'s features on the grid
    of the ``reference`` raster to ``output``. Returns a dict with statistics."""
    what = f"vector layer '{vector}'" + (f" (layer {layer_name})" if layer_name else "")
    ref = open_raster(reference, "reference raster")
    gt = ref.GetGeoTransform(can_return_null=True)
    if gt is None:
        raise InputError(f"The reference raster '{reference}' has no georeferencing.")
    if gt[2] != 0 or gt[4] != 0:
        raise InputError(f"The reference raster '{reference}' is rotated; choose a north-up "
                         "raster.")
    ref_srs = ref.GetSpatialRef()
    if ref_srs is None:
        raise InputError(f"The reference raster '{reference}' has no coordinate reference "
                         "system; assign one and run again.")
    ref_srs = ref_srs.Clone()
    ref_srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    if ref_srs.IsGeographic():
        raise InputError(f"The reference raster '{reference}' is in a geographic CRS "
                         "(degrees); distances need a projected CRS in metres. Reproject it.")
    warnings = []
    source, layer = open_vector(vector, layer_name, what)
    if layer.GetFeatureCount() == 0:
        raise InputError(f"The {what} has no features; distances need at least one.")
    keep, layer = reprojected_layer(layer, ref_srs, what, warnings)
    if layer.GetFeatureCount() == 0:
        raise InputError(f"No feature of the {what} could be placed in the reference CRS.")

    width, height = ref.RasterXSize, ref.RasterYSize
    dx, dy = gt[1], -gt[5]
    # Pad towards the layer's features, at most half the grid's larger side.
    xmin, xmax, ymin, ymax = layer.GetExtent()
    limit = max(width, height) // 2
    grid_xmax = gt[0] + width * dx
    grid_ymin = gt[3] - height * dy
    pad_left = min(limit, max(0, math.ceil((gt[0] - xmin) / dx)))
    pad_right = min(limit, max(0, math.ceil((xmax - grid_xmax) / dx)))
    pad_top = min(limit, max(0, math.ceil((ymax - gt[3]) / dy)))
    pad_bottom = min(limit, max(0, math.ceil((grid_ymin - ymin) / dy)))
    big_w, big_h = width + pad_left + pad_right, height + pad_top + pad_bottom
    big_gt = (gt[0] - pad_left * dx, dx, 0.0, gt[3] + pad_top * dy, 0.0, -dy)
    use_mem = big_w * big_h <= MEM_LIMIT_PIXELS
    folder = os.path.dirname(os.path.abspath(str(output))) or "."
    raster_driver_for(output)  # fail early on an unknown extension

    def callback_for(start, end):
        part = scaled(progress, start, end)

        def callback(complete, _message, _data):
            part(100.0 * complete)
            return 0 if is_cancelled() else 1

        return callback

    with tempfile.TemporaryDirectory(prefix=".distance_", dir=None if use_mem else folder) \
            as scratch:
        def create(name, data_type):
            if use_mem:
                dataset = gdal.GetDriverByName("MEM").Create("", big_w, big_h, 1, data_type)
            else:
                dataset = gdal.GetDriverByName("GTiff").Create(
                    os.path.join(scratch, name), big_w, big_h, 1, data_type,
                    ["TILED=YES", "BIGTIFF=IF_SAFER"])
            dataset.SetGeoTransform(big_gt)
            dataset.SetProjection(ref_srs.ExportToWkt())
            return dataset

        burnt = create("burnt.tif", gdal.GDT_Byte)
        burnt.GetRasterBand(1).Fill(0)
        if gdal.RasterizeLayer(burnt, [1], layer, burn_values=[1],
                               options=["ALL_TOUCHED=TRUE"],
                               callback=callback_for(0, 20)) != 0:
            check_cancelled(is_cancelled)
            raise InputError(f"Rasterising the {what} failed: {gdal.GetLastErrorMsg()}")
        check_cancelled(is_cancelled)
        stats = burnt.GetRasterBand(1).ComputeRasterMinMax(False)
        if stats[1] < 1:
            raise InputError(
                f"The {what} lies outside the reference raster's extent (and its margin of "
                f"{limit} cells): its features span ({xmin:.6g}, {ymin:.6g}) – "
                f"({xmax:.6g}, {ymax:.6g}) in the reference CRS, the grid "
                f"({gt[0]:.6g}, {grid_ymin:.6g}) – ({grid_xmax:.6g}, {gt[3]:.6g}). "
                "Check its location and CRS.")
        distance = create("distance.tif", gdal.GDT_Float32)
        if gdal.ComputeProximity(burnt.GetRasterBand(1), distance.GetRasterBand(1),
                                 ["VALUES=1", "DISTUNITS=GEO"],
                                 callback=callback_for(20, 90)) != 0:
            check_cancelled(is_cancelled)
            raise InputError(f"Distance computation failed: {gdal.GetLastErrorMsg()}")
        check_cancelled(is_cancelled)
        burnt = None
        window = gdal.Translate("", distance, format="VRT",
                                srcWin=[pad_left, pad_top, width, height])
        window.GetRasterBand(1).SetNoDataValue(DISTANCE_NODATA)
        window.GetRasterBand(1).SetDescription("distance")
        with raster_output(output) as tmp:
            written = gdal.GetDriverByName("GTiff").CreateCopy(
                tmp, window, 0, gtiff_options(float_data=True),
                callback=callback_for(90, 99))
            check_cancelled(is_cancelled)
            if written is None:
                raise InputError(f"Cannot write '{output}': {gdal.GetLastErrorMsg()}")
            band = written.GetRasterBand(1)
            minimum, maximum, mean, _std = band.ComputeStatistics(False)
            written = None
        window = distance = None
    keep = source = None  # noqa: F841  (release OGR handles)
    progress(100)
    padding = max(pad_left, pad_right, pad_top, pad_bottom)
    return {"output": str(output), "min": minimum, "max": maximum, "mean": mean,
            "padding_cells": padding, "warnings": warnings}
