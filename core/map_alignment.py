"""Susceptibility maps put on one grid, the first map's (``landslide:comparemaps``).

A map on the first map's grid (same size, geotransform and CRS) is read as it is.
A map on another grid (other cell size, extent or CRS) is resampled onto the
first map's grid through a warped GDAL VRT in memory (bilinear, nodata -9999):
nothing is written to disk and the map is read block by block as before. A map
that cannot be put there is refused with the reason: no georeferencing, a
rotated grid, or no valid cell inside the first map's extent.

numpy + GDAL only.
"""

import uuid
from dataclasses import dataclass

from osgeo import gdal, osr

from .errors import InputError
from .stack import north_up_geotransform, open_raster

RESAMPLING = "bilinear"
WARP_NODATA = -9999.0
_GT_TOLERANCE = 1e-6  # of a cell: geotransforms closer than this are the same grid


@dataclass
class MapRaster:
    """One map: its ``name``, the ``source`` file, the ``path`` read (the source, or
    a warped VRT in ``/vsimem`` when ``resampled``)."""

    name: str
    source: str
    path: str
    resampled: bool = False

    def release(self):
        """Remove the in-memory VRT of a resampled map."""
        if self.resampled:
            gdal.Unlink(self.path)


@dataclass(frozen=True)
class Grid:
    width: int
    height: int
    geotransform: tuple
    crs_wkt: str

    def describe(self):
        gt = self.geotransform
        return (f"{self.width} x {self.height} cells of {abs(gt[1]):.6g} x {abs(gt[5]):.6g}, "
                f"origin ({gt[0]:.6g}, {gt[3]:.6g})"
                + ("" if self.crs_wkt else ", no CRS"))


def raster_grid(path, what):
    """The :class:`Grid` of ``path``; refuses rasters without georeferencing, band or
    with a rotated grid (the message names ``what``)."""
    dataset = open_raster(path, what)
    gt = north_up_geotransform(dataset, path, what, "Only georeferenced, north-up rasters "
                               "can be compared: warp it to a north-up grid first.")
    if dataset.RasterCount < 1:
        raise InputError(f"The {what} '{path}' has no band.")
    return Grid(dataset.RasterXSize, dataset.RasterYSize, tuple(gt),
                dataset.GetProjection() or "")


def same_crs(first, second):
    """Whether two WKT strings are the same CRS (both empty counts as the same)."""
    if not first or not second:
        return first == second
    a, b = osr.SpatialReference(), osr.SpatialReference()
    a.ImportFromWkt(first)
    b.ImportFromWkt(second)
    return bool(a.IsSame(b))


def same_grid(first, second):
    """Same size, geotransform (within a millionth of a cell) and CRS."""
    if (first.width, first.height) != (second.width, second.height):
        return False
    cell = max(abs(first.geotransform[1]), abs(first.geotransform[5]))
    close = all(abs(a - b) <= _GT_TOLERANCE * cell
                for a, b in zip(first.geotransform, second.geotransform, strict=True))
    return close and same_crs(first.crs_wkt, second.crs_wkt)


def align_maps(paths, names, log=None):
    """``[MapRaster]`` of ``paths`` (named ``names``) on the first one's grid, and that
    :class:`Grid`. ``log(message)`` is told which maps were resampled. Call
    :meth:`MapRaster.release` on each when done."""
    log = log or (lambda _message: None)
    reference = raster_grid(paths[0], f"susceptibility map '{names[0]}'")
    maps = [MapRaster(names[0], str(paths[0]), str(paths[0]))]
    try:
        for path, name in zip(paths[1:], names[1:], strict=True):
            maps.append(_on_grid(str(path), name, reference, names[0], log))
    except BaseException:
        for found in maps:
            found.release()
        raise
    return maps, reference


def _on_grid(path, name, reference, reference_name, log):
    what = f"susceptibility map '{name}'"
    grid = raster_grid(path, what)
    if same_grid(grid, reference):
        return MapRaster(name, path, path)
    if bool(grid.crs_wkt) != bool(reference.crs_wkt):
        log(f"The {what} or the first map has no CRS: both are taken to be in the same "
            "CRS.")
    target = f"/vsimem/landslide_compare_{uuid.uuid4().hex}.vrt"
    gt = reference.geotransform
    bounds = (gt[0], gt[3] + gt[5] * reference.height, gt[0] + gt[1] * reference.width, gt[3])
    options = gdal.WarpOptions(
        format="VRT", outputBounds=bounds, width=reference.width, height=reference.height,
        dstSRS=reference.crs_wkt or None,
        srcSRS=None if grid.crs_wkt else (reference.crs_wkt or None),
        resampleAlg=RESAMPLING, dstNodata=WARP_NODATA, outputType=gdal.GDT_Float32)
    if gdal.Warp(target, path, options=options) is None:
        raise InputError(f"The {what} '{path}' is on another grid and could not be "
                         f"resampled onto the first map's ({gdal.GetLastErrorMsg()}); warp it "
                         f"to the grid of '{reference_name}' first.")
    log(f"The {what} is on another grid ({grid.describe()}); it is resampled "
        f"({RESAMPLING}) onto the grid of the first map '{reference_name}' "
        f"({reference.describe()}).")
    return MapRaster(name, path, target, resampled=True)
