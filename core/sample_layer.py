"""The samples point layer: patch centres with ``label``, ``split``, ``row``, ``col``.

``landslide:buildsamples`` writes it (GeoPackage by default); training and
evaluation read it back. The dataset is this layer plus the stack: users see
and may edit their samples on the map. Given the stack's grid, points whose
geometry no longer lies in their ``row``/``col`` cell (moved by the user) are
re-gridded from the geometry; when most points disagree, the samples belong to
another grid and are refused.
"""

import json
import os

import numpy as np
from osgeo import gdal, ogr, osr

from .errors import InputError
from .files import atomic_output
from .specs.samples import SAMPLE_SPLITS

FIELDS = ("label", "split", "row", "col")
SPLITS = SAMPLE_SPLITS
_DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON",
            ".json": "GeoJSON", ".fgb": "FlatGeobuf", ".sqlite": "SQLite"}


def cell_centres(rows, cols, geotransform):
    x0, dx, rx, y0, ry, dy = geotransform
    x = x0 + (np.asarray(cols) + 0.5) * dx + (np.asarray(rows) + 0.5) * rx
    y = y0 + (np.asarray(cols) + 0.5) * ry + (np.asarray(rows) + 0.5) * dy
    return x, y


def write_sample_layer(path, rows, cols, labels, splits, geotransform, crs_wkt,
                       summary=None, layer_name="samples"):
    """Write the samples as points at cell centres; ``summary`` goes to the layer
    metadata (``LANDSLIDE_SAMPLES`` item, JSON). The file is replaced as a whole,
    so a GeoPackage that holds other layers is refused
    (:func:`check_geopackage_output`)."""
    check_geopackage_output(path, "The samples layer")
    ext = os.path.splitext(path)[1].lower()
    driver = ogr.GetDriverByName(_DRIVERS.get(ext, "GPKG"))
    xs, ys = cell_centres(rows, cols, geotransform)
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs_wkt)
    with atomic_output(path) as tmp:
        dataset = driver.CreateDataSource(tmp)
        if dataset is None:
            raise InputError(f"Cannot create the samples layer '{path}'.")
        layer = dataset.CreateLayer(layer_name, srs, ogr.wkbPoint)
        layer.CreateField(ogr.FieldDefn("label", ogr.OFTInteger))
        split_field = ogr.FieldDefn("split", ogr.OFTString)
        split_field.SetWidth(10)
        layer.CreateField(split_field)
        layer.CreateField(ogr.FieldDefn("row", ogr.OFTInteger))
        layer.CreateField(ogr.FieldDefn("col", ogr.OFTInteger))
        if summary is not None:
            layer.SetMetadataItem("LANDSLIDE_SAMPLES", json.dumps(summary))
        definition = layer.GetLayerDefn()
        layer.StartTransaction()
        for x, y, row, col, label, split in zip(xs, ys, rows, cols, labels, splits,
                                                strict=True):
            feature = ogr.Feature(definition)
            feature.SetField("label", int(label))
            feature.SetField("split", str(split))
            feature.SetField("row", int(row))
            feature.SetField("col", int(col))
            point = ogr.Geometry(ogr.wkbPoint)
            point.AddPoint_2D(float(x), float(y))
            feature.SetGeometry(point)
            layer.CreateFeature(feature)
        layer.CommitTransaction()
        dataset = None
    return path


def geopackage_tables(path):
    """The tables (vector, attribute and raster layers) of the GeoPackage at
    ``path``; ``[]`` when there is no such file or it is not a GeoPackage."""
    if os.path.splitext(path)[1].lower() != ".gpkg" or not os.path.isfile(path):
        return []
    try:
        dataset = gdal.OpenEx(path, gdal.OF_VECTOR | gdal.OF_RASTER | gdal.OF_READONLY,
                              allowed_drivers=["GPKG"])
    except RuntimeError:
        return []
    if dataset is None:
        return []
    result = dataset.ExecuteSQL("SELECT table_name FROM gpkg_contents ORDER BY table_name")
    if result is None:
        return []
    tables = [feature.GetField(0) for feature in result]
    dataset.ReleaseResultSet(result)
    return tables


def check_geopackage_output(path, what="The output"):
    """Refuse an output GeoPackage that exists and holds more than one layer.

    Outputs replace their file as a whole (temporary file, then rename; QGIS's
    feature sinks recreate the file too), so its other layers would be lost.
    One layer (e.g. the previous run's output) is replaced as any output file.
    """
    tables = geopackage_tables(path)
    if len(tables) > 1:
        raise InputError(f"{what} '{path}' is an existing GeoPackage with {len(tables)} "
                         f"layers ({', '.join(tables)}); writing the output replaces the "
                         "whole file and they would be lost. Choose a new file.")


def read_sample_layer(path, layer_name=None, grid=None, warnings=None):
    """Read ``(rows, cols, labels, splits)`` numpy arrays from a samples layer.

    ``path`` may carry ``|layername=NAME`` (a QGIS source string). With ``grid``
    (``(geotransform, (rows, cols))`` of the stack) the points are checked
    against it (see the module's doc); messages go to ``warnings``.
    """
    if "|layername=" in path:
        path, layer_name = path.split("|layername=", 1)
        layer_name = layer_name.split("|")[0]
    dataset = ogr.Open(path)
    if dataset is None:
        raise InputError(f"Cannot open the SAMPLES layer '{path}'. Choose the output of "
                         "'Build landslide samples'.")
    layer = dataset.GetLayerByName(layer_name) if layer_name else dataset.GetLayer(0)
    if layer is None:
        raise InputError(f"The SAMPLES file '{path}' has no layer '{layer_name}'.")
    definition = layer.GetLayerDefn()
    names = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    missing = [name for name in FIELDS if name not in names]
    if missing:
        raise InputError(f"The SAMPLES layer '{path}' lacks the field(s) {', '.join(missing)}; "
                         "it must come from 'Build landslide samples' (fields label, split, "
                         "row, col).")
    rows, cols, labels, splits, xs, ys = [], [], [], [], [], []
    for feature in layer:
        rows.append(feature.GetField("row"))
        cols.append(feature.GetField("col"))
        labels.append(feature.GetField("label"))
        splits.append(feature.GetField("split"))
        geometry = feature.GetGeometryRef()
        xs.append(geometry.GetX() if geometry is not None else np.nan)
        ys.append(geometry.GetY() if geometry is not None else np.nan)
    rows, cols = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
    if grid is not None and len(rows):
        rows, cols = _regrid(rows, cols, np.array(xs), np.array(ys), grid, path, warnings)
    return validate_samples(rows, cols, np.array(labels, dtype=np.int64),
                            np.array(splits, dtype=str), source=path)


def _regrid(rows, cols, xs, ys, grid, source, warnings):
    geotransform, shape = grid
    x0, dx, _, y0, _, dy = geotransform
    geo_cols = np.floor((xs - x0) / dx).astype(np.int64)
    geo_rows = np.floor((ys - y0) / dy).astype(np.int64)
    moved = (geo_rows != rows) | (geo_cols != cols)
    if not moved.any():
        return rows, cols
    if moved.mean() > 0.5:
        raise InputError(
            f"{int(moved.sum())} of {len(rows)} points of the SAMPLES layer '{source}' do not "
            "lie in their row/col cell of the STACK: the samples were built on another stack "
            "or grid. Build samples on this stack.")
    inside = (geo_rows >= 0) & (geo_cols >= 0) & (geo_rows < shape[0]) & (geo_cols < shape[1])
    if not inside[moved].all():
        raise InputError(f"Some points of the SAMPLES layer '{source}' were moved outside the "
                         "STACK. Move them back or delete them.")
    if warnings is not None:
        warnings.append(f"{int(moved.sum())} sample points were moved on the map; their "
                        "patches are cut where the points are now.")
    return np.where(moved, geo_rows, rows), np.where(moved, geo_cols, cols)


def validate_samples(rows, cols, labels, splits, source="SAMPLES", shape=None):
    """Check values; with ``shape`` (rows, cols of the stack) also the grid."""
    if len(rows) == 0:
        raise InputError(f"The SAMPLES layer '{source}' has no features.")
    if np.any(np.isin(labels, (0, 1), invert=True)):
        raise InputError(f"The SAMPLES layer '{source}' has labels other than 0 and 1.")
    bad = sorted(set(splits) - set(SPLITS))
    if bad:
        raise InputError(f"The SAMPLES layer '{source}' has unknown split values "
                         f"{', '.join(bad)}; use train, validation or test.")
    if shape is not None and (rows.min() < 0 or cols.min() < 0 or rows.max() >= shape[0]
                              or cols.max() >= shape[1]):
        raise InputError(f"The SAMPLES layer '{source}' has row/col values outside the STACK "
                         f"grid ({shape[0]} x {shape[1]}): the samples were built on another "
                         "stack. Build samples on this stack.")
    return rows, cols, labels, splits


def select_split(rows, cols, labels, splits, split, source="SAMPLES"):
    """The samples of one split (or ``all``); refuses empty or one-class splits."""
    chosen = np.ones(len(rows), dtype=bool) if split == "all" else splits == split
    if not chosen.any():
        raise InputError(f"The '{split}' split of '{source}' has no samples.")
    present = set(np.unique(labels[chosen]).tolist())
    if present != {0, 1}:
        only = "landslide" if present == {1} else "non-landslide"
        raise InputError(f"The '{split}' split of '{source}' has only {only} samples; "
                         "both classes are needed.")
    return rows[chosen], cols[chosen], labels[chosen]
