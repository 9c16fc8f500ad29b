"""The landslide inventory as a boolean mask on a factor stack's grid.

An inventory is polygons, points (or lines) in a vector layer, or a raster mask
(non-zero valid cells are landslides). Vectors in another CRS are reprojected
with OGR/OSR; rasters on another grid are warped with GDAL (``max``, so a
landslide cell is kept when cells grow).

Vector rule: a cell is a landslide when its centre lies in a polygon, or a
point falls in it, or a line passes through it (``gdal.RasterizeLayer``
defaults); every polygon also burns the cell under its point-on-surface, so
polygons smaller than a cell are not lost.

The same rasterisation serves the *Mapped area* (:mod:`.mapped_area`): one
function, :func:`rasterise`, with a :class:`MaskRole` naming the input in its
messages and choosing its rules (a raster mask is warped ``near`` there, and
polygons burn only the cells whose centre they hold).

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


@dataclass(frozen=True)
class MaskRole:
    """What a rasterised layer is for: its name in messages and its rules."""

    name: str  # "landslide inventory", "Mapped area"
    item: str  # what a cell of the mask is: "landslide", "inside"
    needs: str  # what the layer needs at least one of
    check: str  # the fix when it misses the grid
    resample: str = "max"  # GDAL warp of a raster mask onto the grid
    point_on_surface: bool = True  # polygons also burn the cell under a point on them
    polygons_only: bool = False


INVENTORY = MaskRole("landslide inventory", "landslide", "landslide",
                     "Check the inventory's location and CRS.")


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
    return rasterise(inventory, grid, INVENTORY, layer_name=layer_name, kind=kind,
                     progress=progress, is_cancelled=is_cancelled)


def rasterise(source, grid, role, layer_name=None, kind=None, grid_name="factor stack",
              progress=no_progress, is_cancelled=never_cancelled):
    """The vector layer or raster mask ``source`` as a boolean mask on ``grid``,
    by the rules of ``role`` (:class:`MaskRole`); ``grid_name`` names the grid in
    messages. Returns an :class:`InventoryMask`."""
    kind = kind or detect_kind(source)
    if kind == "vector":
        result = _vector_mask(source, grid, role, layer_name, grid_name, progress,
                              is_cancelled)
    else:
        result = _raster_mask(source, grid, role, grid_name, progress, is_cancelled)
    progress(100)
    return result


def _open_features(path, grid, role, layer_name, warnings):
    """``(handles, layer in the grid's CRS, what, feature count)``; refuses empty
    layers and, for ``role.polygons_only``, point and line layers."""
    what = f"{role.name} '{path}'" + (f" (layer {layer_name})" if layer_name else "")
    source, layer = open_vector(path, layer_name, what)
    total = layer.GetFeatureCount()
    if total == 0:
        raise InputError(f"The {what} has no features; it needs at least one {role.needs}.")
    flat = ogr.GT_Flatten(layer.GetGeomType())
    if role.polygons_only and flat not in (ogr.wkbUnknown, ogr.wkbPolygon,
                                           ogr.wkbMultiPolygon, ogr.wkbGeometryCollection):
        raise InputError(f"The {what} holds {ogr.GeometryTypeToName(flat).lower()} "
                         f"features; it must be polygons (the area that was mapped) or a "
                         "raster mask (non-zero cells inside).")
    srs = _grid_srs(grid)
    keep = None
    if srs is not None:
        keep, layer = reprojected_layer(layer, srs, what, warnings)
    return (source, keep, srs), layer, what, total


def _vector_mask(path, grid, role, layer_name, grid_name, progress, is_cancelled):
    warnings = []
    handles, layer, what, total = _open_features(path, grid, role, layer_name, warnings)
    check_cancelled(is_cancelled)
    xmin, ymin, xmax, ymax = _grid_bounds(grid)
    layer.SetSpatialFilterRect(xmin, ymin, xmax, ymax)
    inside = layer.GetFeatureCount()
    layer.SetSpatialFilter(None)
    if inside == 0:
        lx0, lx1, ly0, ly1 = layer.GetExtent()
        raise InputError(
            f"The {what} lies outside the {grid_name}: none of its {total} features "
            f"touches the {grid_name}'s extent ({xmin:.6g}, {ymin:.6g}) – ({xmax:.6g}, "
            f"{ymax:.6g}); the features span ({lx0:.6g}, {ly0:.6g}) – ({lx1:.6g}, "
            f"{ly1:.6g}) in the {grid_name}'s CRS. {role.check}")
    target = _mem_grid(grid)
    if gdal.RasterizeLayer(target, [1], layer, burn_values=[1],
                           callback=gdal_callback(scaled(progress, 0, 60), is_cancelled)) != 0:
        check_cancelled(is_cancelled)
        raise InputError(f"Rasterising the {what} failed: {gdal.GetLastErrorMsg()}")
    check_cancelled(is_cancelled)
    if role.point_on_surface:
        _burn_points_on_surface(target, layer, handles[2])
    mask = target.GetRasterBand(1).ReadAsArray().astype(bool)
    handles = layer = None  # release OGR handles
    if not mask.any():
        raise InputError(f"No feature of the {what} covers a cell of the {grid_name}; "
                         f"{role.check[0].lower()}{role.check[1:]}")
    if inside < total:
        warnings.append(f"{total - inside} of the {total} features of the {role.name} lie "
                        f"outside the {grid_name} and are ignored.")
    return InventoryMask(mask=mask, kind="vector", features=total, features_in_grid=inside,
                         pixels=int(mask.sum()), warnings=warnings)


def _burn_points_on_surface(target, layer, srs):
    """Every polygon also burns the cell under its point-on-surface (polygons
    smaller than a cell are not lost)."""
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


def _binary_source(path, grid, role, grid_name, warnings):
    """``(binary MEM dataset of the non-zero valid cells, their count, what)``."""
    what = f"{role.name} raster '{path}'"
    source = open_raster(path, what)
    if source.GetGeoTransform(can_return_null=True) is None:
        raise InputError(f"The {what} has no georeferencing.")
    band = source.GetRasterBand(1)
    values = band.ReadAsArray()
    cells = band_valid(values.astype(np.float64), band.GetNoDataValue()) & (values != 0)
    total = int(cells.sum())
    if total == 0:
        raise InputError(f"The {what} has no {role.item} cells (no valid non-zero value).")
    binary = gdal.GetDriverByName("MEM").Create("", source.RasterXSize, source.RasterYSize, 1,
                                                gdal.GDT_Byte)
    binary.SetGeoTransform(source.GetGeoTransform())
    if source.GetSpatialRef() is None:
        if _grid_srs(grid) is not None:
            warnings.append(f"The {what} has no CRS; it is assumed to be in the "
                            f"{grid_name}'s.")
            binary.SetProjection(grid.crs_wkt)
    else:
        binary.SetProjection(source.GetProjection())
    binary.GetRasterBand(1).WriteArray(cells.astype(np.uint8))
    return binary, total, what


def _raster_mask(path, grid, role, grid_name, progress, is_cancelled):
    warnings = []
    binary, total, what = _binary_source(path, grid, role, grid_name, warnings)
    check_cancelled(is_cancelled)
    target = _mem_grid(grid)
    options = gdal.WarpOptions(resampleAlg=role.resample,
                               callback=gdal_callback(scaled(progress, 0, 90), is_cancelled))
    if gdal.Warp(target, binary, options=options) is None:
        check_cancelled(is_cancelled)
        raise InputError(f"Warping the {what} onto the {grid_name} failed: "
                         f"{gdal.GetLastErrorMsg()}")
    mask = target.GetRasterBand(1).ReadAsArray() > 0
    if not mask.any():
        raise InputError(f"The {what} lies outside the {grid_name}: none of its {total} "
                         f"{role.item} cells falls on the {grid_name}. {role.check}")
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
