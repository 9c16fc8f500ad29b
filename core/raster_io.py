"""Small GDAL/OGR I/O helpers shared by core modules (numpy + GDAL only).

Rasters are written atomically (temporary sibling, then rename, see
:func:`.files.atomic_output`). A grid is described by a GDAL geotransform
``(x0, dx, 0, y0, 0, -dy)``, a shape ``(rows, cols)`` and a CRS given as WKT,
``"EPSG:n"``, an int EPSG code or an :class:`osr.SpatialReference`.

GDAL's global exception mode is never changed (QGIS shares the process): the
helpers check return values and turn failures into :class:`.errors.InputError`.
"""

import numpy as np
from osgeo import gdal, ogr, osr

from .errors import InputError
from .files import atomic_output

# GeoTIFF creation options of every raster this plugin writes (the one definition).
GTIFF_OPTIONS = ("TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER")


def gtiff_options(float_data=False, block_size=None):
    """:data:`GTIFF_OPTIONS` as a list, with the floating-point predictor for
    float data (smaller files) and square tiles of ``block_size`` when given."""
    options = list(GTIFF_OPTIONS)
    if float_data:
        options.append("PREDICTOR=3")
    if block_size:
        options += [f"BLOCKXSIZE={int(block_size)}", f"BLOCKYSIZE={int(block_size)}"]
    return options

_GDAL_TYPES = {
    np.dtype(np.uint8): gdal.GDT_Byte,
    np.dtype(np.int8): gdal.GDT_Int16,  # GDT_Int8 is GDAL >= 3.7
    np.dtype(np.uint16): gdal.GDT_UInt16,
    np.dtype(np.int16): gdal.GDT_Int16,
    np.dtype(np.uint32): gdal.GDT_UInt32,
    np.dtype(np.int32): gdal.GDT_Int32,
    np.dtype(np.float32): gdal.GDT_Float32,
    np.dtype(np.float64): gdal.GDT_Float64,
}


def gis_order(srs):
    """A copy of ``srs`` in x/y (easting/northing, lon/lat) axis order."""
    srs = srs.Clone()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def dataset_srs(dataset, missing):
    """The CRS of a GDAL dataset in x/y axis order; :class:`InputError` with the
    message ``missing`` when it has none."""
    srs = dataset.GetSpatialRef()
    if srs is None:
        raise InputError(missing)
    return gis_order(srs)


def srs_from_epsg(code):
    """An :class:`osr.SpatialReference` for an EPSG code, in x/y (lon/lat) axis order."""
    srs = osr.SpatialReference()
    if srs.ImportFromEPSG(int(code)) != 0:
        raise InputError(f"Unknown EPSG code {code}.")
    return gis_order(srs)


def to_srs(crs):
    """An :class:`osr.SpatialReference` from WKT, ``"EPSG:n"``, an int or an SRS."""
    if isinstance(crs, osr.SpatialReference):
        return crs
    if isinstance(crs, int | np.integer):
        return srs_from_epsg(crs)
    text = str(crs).strip()
    if text.upper().startswith("EPSG:"):
        return srs_from_epsg(text.split(":", 1)[1])
    srs = osr.SpatialReference()
    if srs.SetFromUserInput(text) != 0:
        raise InputError(f"Unrecognised coordinate reference system: {text[:80]}")
    return gis_order(srs)


def to_wkt(crs):
    """The WKT of any CRS accepted by :func:`to_srs`."""
    return to_srs(crs).ExportToWkt()


def gdal_type(dtype):
    """The GDAL data type for a numpy dtype."""
    try:
        return _GDAL_TYPES[np.dtype(dtype)]
    except KeyError:
        raise InputError(f"Unsupported raster data type {np.dtype(dtype)}.") from None


def mem_raster(array, geotransform, crs, nodata=None):
    """An in-memory GDAL dataset holding ``array`` (2-D, or 3-D band-first)."""
    array = np.asarray(array)
    bands = array[None] if array.ndim == 2 else array
    rows, cols = bands.shape[1:]
    ds = gdal.GetDriverByName("MEM").Create("", cols, rows, bands.shape[0],
                                            gdal_type(bands.dtype))
    ds.SetGeoTransform(tuple(float(v) for v in geotransform))
    ds.SetProjection(to_wkt(crs))
    for index, band_array in enumerate(bands, start=1):
        band = ds.GetRasterBand(index)
        if nodata is not None:
            band.SetNoDataValue(float(nodata))
        band.WriteArray(band_array)
    return ds


def empty_mem_raster(shape, geotransform, crs, dtype=np.float32, fill=0, nodata=None):
    """An in-memory single-band dataset of ``shape`` filled with ``fill``."""
    rows, cols = shape
    ds = gdal.GetDriverByName("MEM").Create("", int(cols), int(rows), 1, gdal_type(dtype))
    ds.SetGeoTransform(tuple(float(v) for v in geotransform))
    ds.SetProjection(to_wkt(crs))
    band = ds.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(float(nodata))
    band.Fill(fill)
    return ds


def write_raster(path, array, geotransform, crs, nodata=None, band_names=None,
                 creation_options=GTIFF_OPTIONS):
    """Write ``array`` (2-D, or 3-D band-first) as a GeoTIFF at ``path``, atomically."""
    src = mem_raster(array, geotransform, crs, nodata)
    if band_names:
        for index, name in enumerate(band_names, start=1):
            src.GetRasterBand(index).SetDescription(str(name))
    with atomic_output(path) as tmp:
        out = gdal.GetDriverByName("GTiff").CreateCopy(tmp, src, 0, list(creation_options))
        if out is None:
            raise InputError(f"Cannot write the raster '{path}': {gdal.GetLastErrorMsg()}")
        out.FlushCache()
        out = None
    return path


def read_raster(path, band=1):
    """``(array, geotransform, wkt, nodata)`` of one band of the raster at ``path``."""
    ds = gdal.Open(str(path))
    if ds is None:
        raise InputError(f"Cannot open the raster '{path}': {gdal.GetLastErrorMsg()}")
    raster_band = ds.GetRasterBand(band)
    return (raster_band.ReadAsArray(), ds.GetGeoTransform(), ds.GetProjection(),
            raster_band.GetNoDataValue())


def warp_array(array, geotransform, crs, dst_shape, dst_geotransform, dst_crs=None,
               resample="bilinear", nodata=None, dtype=np.float32):
    """Resample ``array`` onto another grid (in memory); cells without data are ``nodata``.

    ``nodata`` (if given) is both the source's nodata and the fill of the result.
    """
    src = mem_raster(np.asarray(array, dtype=dtype), geotransform, crs, nodata)
    dst = empty_mem_raster(dst_shape, dst_geotransform, dst_crs if dst_crs is not None else crs,
                           dtype, fill=nodata if nodata is not None else 0, nodata=nodata)
    options = gdal.WarpOptions(resampleAlg=resample, srcNodata=nodata, dstNodata=nodata)
    if gdal.Warp(dst, src, options=options) is None:
        raise InputError(f"Resampling failed: {gdal.GetLastErrorMsg()}")
    return dst.GetRasterBand(1).ReadAsArray()


def write_vector(path, layer_name, geometry_type, crs, fields, features):
    """Write a GeoPackage layer at ``path``, atomically.

    ``fields``: ``[(name, ogr.OFTInteger | ogr.OFTReal | ogr.OFTString), ...]``;
    ``features``: iterable of ``(ogr.Geometry, {field: value})``.
    """
    with atomic_output(path) as tmp:
        ds = ogr.GetDriverByName("GPKG").CreateDataSource(tmp)
        if ds is None:
            raise InputError(f"Cannot write the layer '{path}': {gdal.GetLastErrorMsg()}")
        layer = ds.CreateLayer(layer_name, to_srs(crs), geometry_type)
        for name, field_type in fields:
            layer.CreateField(ogr.FieldDefn(name, field_type))
        definition = layer.GetLayerDefn()
        layer.StartTransaction()
        for geometry, values in features:
            feature = ogr.Feature(definition)
            for name, value in values.items():
                feature.SetField(name, value)
            feature.SetGeometry(geometry)
            if layer.CreateFeature(feature) != 0:
                raise InputError(f"Cannot write a feature to '{path}': "
                                 f"{gdal.GetLastErrorMsg()}")
        layer.CommitTransaction()
        ds = None
    return path


def rasterize(vector, shape, geotransform, crs, burn_value=1, attribute=None,
              all_touched=False, dtype=np.uint8, fill=0, layer=None):
    """Burn a vector layer (path or ``ogr.DataSource``) onto a grid; returns the array."""
    ds = ogr.Open(str(vector)) if isinstance(vector, str | bytes) else vector
    if ds is None:
        raise InputError(f"Cannot open the vector '{vector}': {gdal.GetLastErrorMsg()}")
    source_layer = ds.GetLayer(0) if layer is None else ds.GetLayer(layer)
    target = empty_mem_raster(shape, geotransform, crs, dtype, fill=fill)
    options = ["ALL_TOUCHED=TRUE"] if all_touched else []
    if attribute:
        options.append(f"ATTRIBUTE={attribute}")
        result = gdal.RasterizeLayer(target, [1], source_layer, options=options)
    else:
        result = gdal.RasterizeLayer(target, [1], source_layer, burn_values=[burn_value],
                                     options=options)
    if result != 0:
        raise InputError(f"Rasterising '{vector}' failed: {gdal.GetLastErrorMsg()}")
    return target.GetRasterBand(1).ReadAsArray()


def proximity(mask, geotransform, crs):
    """Distance (map units, float32) from every cell to the nearest nonzero cell of ``mask``.

    Where ``mask`` has no nonzero cell, the result is all ``inf``.
    """
    mask = np.asarray(mask)
    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    src = mem_raster(mask.astype(np.uint8), geotransform, crs)
    dst = empty_mem_raster(mask.shape, geotransform, crs, np.float32)
    if gdal.ComputeProximity(src.GetRasterBand(1), dst.GetRasterBand(1),
                             ["VALUES=1", "DISTUNITS=GEO"]) != 0:
        raise InputError(f"Distance computation failed: {gdal.GetLastErrorMsg()}")
    return dst.GetRasterBand(1).ReadAsArray()
