"""OGR geometry helpers of the synthetic study area (lines, parts, extents, layers)."""

import numpy as np
from osgeo import ogr, osr

from .raster_io import srs_from_epsg
from .synthetic_grid import EPSG


def line(points):
    """An OGR line string through ``points`` (rounded to the millimetre)."""
    geometry = ogr.Geometry(ogr.wkbLineString)
    for x, y in np.round(np.asarray(points, dtype=np.float64), 3).tolist():
        geometry.AddPoint_2D(x, y)
    return geometry


def geometry_parts(geometry, kind):
    """Copies of the single ``kind`` parts (``ogr.wkbLineString``, ``ogr.wkbPolygon``)
    of ``geometry``, looking into multi-geometries and collections."""
    if geometry is None or geometry.IsEmpty():
        return []
    flat = ogr.GT_Flatten(geometry.GetGeometryType())
    if flat == kind:
        return [geometry.Clone()]
    if flat in (ogr.GT_GetCollection(kind), ogr.wkbGeometryCollection):
        parts = []
        for i in range(geometry.GetGeometryCount()):
            parts.extend(geometry_parts(geometry.GetGeometryRef(i), kind))
        return parts
    return []


def extent_polygon(gt, shape):
    """The rectangle covered by a grid."""
    x0, y0 = gt[0], gt[3]
    x1, y1 = x0 + shape[1] * gt[1], y0 + shape[0] * gt[5]
    return ogr.CreateGeometryFromWkt(
        f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))")


def geometry_layer(geometries):
    """An in-memory OGR data source with one layer holding ``geometries``."""
    memory = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = memory.CreateLayer("lines", srs_from_epsg(EPSG), ogr.wkbUnknown)
    definition = layer.GetLayerDefn()
    for geometry in geometries:
        feature = ogr.Feature(definition)
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    return memory


def chaikin(points, iterations):
    """Corner cutting that keeps both end points (junctions stay connected)."""
    for _ in range(iterations):
        if len(points) < 3:
            return points
        a, b = points[:-1], points[1:]
        q = 0.75 * a + 0.25 * b
        r = 0.25 * a + 0.75 * b
        middle = np.empty((2 * len(a), 2))
        middle[0::2], middle[1::2] = q, r
        points = np.vstack([points[:1], middle[1:-1], points[-1:]])
    return points


def to_lonlat(x, y):
    """Longitude and latitude of a point of the grid's CRS."""
    transform = osr.CoordinateTransformation(srs_from_epsg(EPSG), srs_from_epsg(4326))
    lon, lat, _ = transform.TransformPoint(x, y)
    return lon, lat
