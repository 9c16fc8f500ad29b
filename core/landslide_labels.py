"""Individual landslides on a grid: which landslide each landslide cell belongs to.

The landslide cells are those of :func:`.inventory.inventory_mask` (the one
rasterisation of the inventory). Each cell gets the number of its landslide:

- polygon inventories: the polygon whose area holds the cell's centre (where
  polygons overlap, the later one); a cell burnt only by a polygon's
  point-on-surface (a polygon smaller than a cell) is labelled as below;
- points, lines, raster masks (and those leftover cells): connected groups of
  landslide cells (8-neighbourhood), found with GDAL's polygonize.

The labels are computed in a compressed GeoTIFF in ``/vsimem`` and kept only at
the landslide cells, so memory grows with the landslide cells, not the grid.
numpy + GDAL only.
"""

import uuid

import numpy as np
from osgeo import gdal, ogr

from .distance import open_vector, reprojected_layer
from .inventory import _grid_srs, detect_kind

_BLOCK_ROWS = 1024
_POLYGONS = (ogr.wkbPolygon, ogr.wkbMultiPolygon)


def landslide_labels(inventory, grid, mask, layer_name=None, kind=None):
    """``(labels, count, how)``: ``labels`` int64, one per landslide cell of ``mask``
    in row-major order, numbered ``0 .. count - 1``; ``how`` says what a landslide
    is ("polygons", "connected cells" or both)."""
    path = f"/vsimem/landslide_labels_{uuid.uuid4().hex}.tif"
    target = _label_raster(path, grid)
    try:
        polygons = 0
        if (kind or detect_kind(inventory)) == "vector":
            polygons = _burn_polygons(target, inventory, layer_name, grid)
        labels = _labels_at(target, mask)
        leftover = labels == 0
        components = 0
        if leftover.any():
            cells = _cells_mask(target, mask, leftover)
            components = _burn_components(target, cells, polygons)
            labels = _labels_at(target, mask)
        target = None
    finally:
        gdal.Unlink(path)
    _values, labels = np.unique(labels, return_inverse=True)
    how = " and ".join(text for count, text in ((polygons, "polygons"),
                                               (components, "connected cells")) if count)
    return labels.astype(np.int64), int(_values.size), how or "connected cells"


def _label_raster(path, grid):
    options = ["TILED=YES", "COMPRESS=DEFLATE", "SPARSE_OK=TRUE"]
    dataset = gdal.GetDriverByName("GTiff").Create(path, grid.width, grid.height, 1,
                                                   gdal.GDT_Int32, options)
    dataset.SetGeoTransform(tuple(grid.geotransform))
    if grid.crs_wkt:
        dataset.SetProjection(grid.crs_wkt)
    return dataset


def _burn_polygons(target, inventory, layer_name, grid):
    """Burn each polygon's number (1, 2, ...) into ``target``; returns how many."""
    source, layer = open_vector(inventory, layer_name, "landslide inventory")
    srs = _grid_srs(grid)
    keep = None
    if srs is not None:
        keep, layer = reprojected_layer(layer, srs, "landslide inventory", [])
    memory = ogr.GetDriverByName("Memory").CreateDataSource("labels")
    out = memory.CreateLayer("labels", srs, ogr.wkbMultiPolygon)
    out.CreateField(ogr.FieldDefn("lid", ogr.OFTInteger))
    count = 0
    layer.ResetReading()
    for feature in layer:
        geometry = feature.GetGeometryRef()
        if geometry is None or ogr.GT_Flatten(geometry.GetGeometryType()) not in _POLYGONS:
            continue
        count += 1
        copy = ogr.Feature(out.GetLayerDefn())
        copy.SetGeometry(geometry.Clone())
        copy.SetField("lid", count)
        out.CreateFeature(copy)
    if count:
        gdal.RasterizeLayer(target, [1], out, options=["ATTRIBUTE=lid"])
    keep = source = None  # noqa: F841  (release OGR handles)
    return count


def _burn_components(target, cells, offset):
    """Burn connected groups of ``cells`` (a Byte MEM dataset) as ``offset + 1, ...``."""
    memory = ogr.GetDriverByName("Memory").CreateDataSource("components")
    out = memory.CreateLayer("components", cells.GetSpatialRef(), ogr.wkbPolygon)
    out.CreateField(ogr.FieldDefn("lid", ogr.OFTInteger))
    band = cells.GetRasterBand(1)
    gdal.Polygonize(band, band, out, 0, ["8CONNECTED=8"])
    count = 0
    out.ResetReading()
    features = list(out)
    for feature in features:
        count += 1
        feature.SetField("lid", offset + count)
        out.SetFeature(feature)
    if count:
        gdal.RasterizeLayer(target, [1], out, options=["ATTRIBUTE=lid"])
    return count


def _cells_mask(target, mask, leftover):
    """A Byte MEM dataset on ``target``'s grid of the mask cells whose flag in
    ``leftover`` (row-major over the mask's cells) is set."""
    height, width = mask.shape
    dataset = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Byte)
    dataset.SetGeoTransform(target.GetGeoTransform())
    dataset.SetProjection(target.GetProjection())
    cells = np.zeros(mask.shape, np.uint8)
    cells[mask] = leftover
    dataset.GetRasterBand(1).WriteArray(cells)
    return dataset


def _labels_at(target, mask):
    """The labels of ``target`` at the cells of ``mask``, row-major, block by block."""
    band = target.GetRasterBand(1)
    parts = []
    for row in range(0, mask.shape[0], _BLOCK_ROWS):
        rows = min(_BLOCK_ROWS, mask.shape[0] - row)
        block = mask[row:row + rows]
        if block.any():
            parts.append(band.ReadAsArray(0, row, mask.shape[1], rows)[block])
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
