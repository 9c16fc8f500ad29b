"""The landslide inventory as a boolean mask on a factor stack's grid.

An inventory is polygons, points (or lines) in a vector layer, or a raster mask
(non-zero valid cells are landslides). Vectors in another CRS are reprojected
with OGR/OSR; rasters on another grid are warped with GDAL (``max``, so a
landslide cell is kept when cells grow).

Vector rule: a cell is a landslide when its centre lies in a polygon, or a
point falls in it, or a line passes through it (``gdal.RasterizeLayer``
defaults); every polygon also burns the cell under its point-on-surface, so
polygons smaller than a cell are not lost.

Later steps reuse :func:`inventory_mask` and :func:`balanced_samples`.
"""

from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, ogr, osr

from .distance import open_vector, reprojected_layer
from .errors import InputError
from .progress import check_cancelled, gdal_callback, never_cancelled, no_progress, scaled
from .raster_io import gis_order
from .stack import band_valid, open_raster, sample_pixels


@dataclass
class InventoryMask:
    """``mask`` (bool, the grid's shape) and what was found."""

    mask: np.ndarray
    kind: str  # "vector" or "raster"
    features: int = 0  # vector: all features; raster: landslide cells of the source
    features_in_grid: int = 0
    pixels: int = 0
    warnings: list = field(default_factory=list)


def _grid_srs(grid):
    if not grid.crs_wkt:
        return None
    srs = osr.SpatialReference()
    srs.ImportFromWkt(grid.crs_wkt)
    return gis_order(srs)


def _mem_grid(grid, data_type=gdal.GDT_Byte):
    dataset = gdal.GetDriverByName("MEM").Create("", grid.width, grid.height, 1, data_type)
    dataset.SetGeoTransform(tuple(grid.geotransform))
    if grid.crs_wkt:
        dataset.SetProjection(grid.crs_wkt)
    dataset.GetRasterBand(1).Fill(0)
    return dataset


def _grid_bounds(grid):
    gt = grid.geotransform
    x1 = gt[0] + gt[1] * grid.width
    y1 = gt[3] + gt[5] * grid.height
    return min(gt[0], x1), min(gt[3], y1), max(gt[0], x1), max(gt[3], y1)


def detect_kind(path):
    """``"vector"`` when OGR finds layers in ``path``, else ``"raster"``."""
    dataset = gdal.OpenEx(str(path), gdal.OF_VECTOR)
    if dataset is not None and dataset.GetLayerCount() > 0:
        return "vector"
    return "raster"


def inventory_mask(inventory, grid, layer_name=None, kind=None, progress=no_progress,
                   is_cancelled=never_cancelled):
    """Rasterise the inventory onto ``grid`` (a :class:`.stack.StackInfo` or any
    object with ``width``, ``height``, ``geotransform``, ``crs_wkt``).

    Raises :class:`InputError` when the inventory has no features or none of
    them falls on the grid.
    """
    kind = kind or detect_kind(inventory)
    if kind == "vector":
        result = _vector_mask(inventory, grid, layer_name, progress, is_cancelled)
    else:
        result = _raster_mask(inventory, grid, progress, is_cancelled)
    progress(100)
    return result


def _vector_mask(path, grid, layer_name, progress, is_cancelled):
    what = f"landslide inventory '{path}'" + (f" (layer {layer_name})" if layer_name else "")
    warnings = []
    source, layer = open_vector(path, layer_name, what)
    total = layer.GetFeatureCount()
    if total == 0:
        raise InputError(f"The {what} has no features; it needs at least one landslide.")
    srs = _grid_srs(grid)
    keep = None
    if srs is not None:
        keep, layer = reprojected_layer(layer, srs, what, warnings)
    check_cancelled(is_cancelled)
    xmin, ymin, xmax, ymax = _grid_bounds(grid)
    layer.SetSpatialFilterRect(xmin, ymin, xmax, ymax)
    inside = layer.GetFeatureCount()
    layer.SetSpatialFilter(None)
    if inside == 0:
        lx0, lx1, ly0, ly1 = layer.GetExtent()
        raise InputError(
            f"The {what} lies outside the factor stack: none of its {total} features "
            f"touches the stack's extent ({xmin:.6g}, {ymin:.6g}) – ({xmax:.6g}, {ymax:.6g}); "
            f"the features span ({lx0:.6g}, {ly0:.6g}) – ({lx1:.6g}, {ly1:.6g}) in the "
            "stack's CRS. Check the inventory's location and CRS.")
    target = _mem_grid(grid)
    if gdal.RasterizeLayer(target, [1], layer, burn_values=[1],
                           callback=gdal_callback(scaled(progress, 0, 60), is_cancelled)) != 0:
        check_cancelled(is_cancelled)
        raise InputError(f"Rasterising the {what} failed: {gdal.GetLastErrorMsg()}")
    check_cancelled(is_cancelled)
    # Every polygon also burns the cell under its point-on-surface.
    points = ogr.GetDriverByName("Memory").CreateDataSource("points")
    point_layer = points.CreateLayer("points", srs, ogr.wkbPoint)
    definition = point_layer.GetLayerDefn()
    layer.ResetReading()
    for feature in layer:
        geometry = feature.GetGeometryRef()
        if geometry is None:
            continue
        if ogr.GT_Flatten(geometry.GetGeometryType()) in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
            point = geometry.PointOnSurface()
            if point is not None and not point.IsEmpty():
                copy = ogr.Feature(definition)
                copy.SetGeometry(point)
                point_layer.CreateFeature(copy)
    layer.ResetReading()
    if point_layer.GetFeatureCount():
        gdal.RasterizeLayer(target, [1], point_layer, burn_values=[1])
    mask = target.GetRasterBand(1).ReadAsArray().astype(bool)
    keep = source = None  # noqa: F841  (release OGR handles)
    if not mask.any():
        raise InputError(f"No feature of the {what} covers a cell of the factor stack; "
                         "check the inventory's location.")
    if inside < total:
        warnings.append(f"{total - inside} of the {total} inventory features lie outside "
                        "the factor stack and are ignored.")
    return InventoryMask(mask=mask, kind="vector", features=total, features_in_grid=inside,
                         pixels=int(mask.sum()), warnings=warnings)


def _raster_mask(path, grid, progress, is_cancelled):
    what = f"landslide inventory raster '{path}'"
    warnings = []
    source = open_raster(path, what)
    if source.GetGeoTransform(can_return_null=True) is None:
        raise InputError(f"The {what} has no georeferencing.")
    band = source.GetRasterBand(1)
    values = band.ReadAsArray()
    landslide = band_valid(values.astype(np.float64), band.GetNoDataValue()) & (values != 0)
    total = int(landslide.sum())
    if total == 0:
        raise InputError(f"The {what} has no landslide cells (no valid non-zero value).")
    binary = gdal.GetDriverByName("MEM").Create("", source.RasterXSize, source.RasterYSize, 1,
                                                gdal.GDT_Byte)
    binary.SetGeoTransform(source.GetGeoTransform())
    srs = source.GetSpatialRef()
    grid_srs = _grid_srs(grid)
    if srs is None:
        if grid_srs is not None:
            warnings.append(f"The {what} has no CRS; it is assumed to be in the stack's.")
            binary.SetProjection(grid.crs_wkt)
    else:
        binary.SetProjection(source.GetProjection())
    binary.GetRasterBand(1).WriteArray(landslide.astype(np.uint8))
    check_cancelled(is_cancelled)
    target = _mem_grid(grid)
    options = gdal.WarpOptions(resampleAlg="max",
                               callback=gdal_callback(scaled(progress, 0, 90), is_cancelled))
    if gdal.Warp(target, binary, options=options) is None:
        check_cancelled(is_cancelled)
        raise InputError(f"Warping the {what} onto the stack failed: {gdal.GetLastErrorMsg()}")
    mask = target.GetRasterBand(1).ReadAsArray() > 0
    if not mask.any():
        raise InputError(f"The {what} lies outside the factor stack: none of its {total} "
                         "landslide cells falls on the stack. Check its location and CRS.")
    return InventoryMask(mask=mask, kind="raster", features=total,
                         features_in_grid=int(mask.sum()), pixels=int(mask.sum()),
                         warnings=warnings)


def balanced_samples(info, mask, size, seed=0, progress=no_progress,
                     is_cancelled=never_cancelled):
    """Landslide pixels vs an equal number of non-landslide pixels of the stack.

    At most ``size`` landslide pixels (all when fewer; a uniform random subset
    otherwise) and as many random valid non-landslide pixels. Returns
    ``(values [n, bands], labels uint8 [n], details dict)``.
    """
    if mask.shape != info.shape:
        raise InputError("The landslide mask does not match the stack's grid.")
    positives = sample_pixels(info, size, seed=seed, select=mask,
                              progress=scaled(progress, 0, 50), is_cancelled=is_cancelled)
    if positives.values.shape[0] == 0:
        raise InputError("No landslide of the inventory falls on a valid pixel of the stack "
                         "(all landslide cells are nodata in some factor).")
    count = positives.values.shape[0]
    negatives = sample_pixels(info, count, seed=seed + 1, select=~mask,
                              progress=scaled(progress, 50, 100), is_cancelled=is_cancelled)
    if negatives.values.shape[0] == 0:
        raise InputError("The stack has no valid non-landslide pixel to compare with.")
    values = np.concatenate([positives.values, negatives.values])
    labels = np.concatenate([np.ones(count, np.uint8),
                             np.zeros(negatives.values.shape[0], np.uint8)])
    details = {"landslide_pixels_available": positives.available,
               "landslide_pixels": count,
               "non_landslide_pixels_available": negatives.available,
               "non_landslide_pixels": int(negatives.values.shape[0])}
    return values, labels, details
