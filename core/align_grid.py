"""The factors and the grid of the factor stack: the first phases of
:func:`.align.align_factors`.

Each factor is opened and its CRS read; the reference grid (CRS, origin, cell
size) comes from the reference raster or the first factor; the study area (the
reference's extent, or the given one) is clipped to every factor's footprint
and snapped inward to the reference grid. Categorical factors are resampled by
nearest neighbour, or by mode when the output cell is at least
:data:`MODE_RATIO` times coarser than the input cell.
"""

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, osr

from .errors import InputError
from .raster_io import dataset_srs
from .stack import open_raster

MODE_RATIO = 1.5  # categorical: mode instead of nearest when cells grow this much


@dataclass
class Factor:
    """One input factor: its (unique) name, source path and kind; once opened, its
    dataset, CRS (x/y order) and class names (categorical factors)."""

    name: str
    path: str
    categorical: bool
    dataset: gdal.Dataset | None = None
    srs: osr.SpatialReference | None = None
    class_names: dict = field(default_factory=dict)

    @property
    def what(self):
        kind = "categorical" if self.categorical else "continuous"
        return f"{kind} factor '{self.name}' ({self.path})"


@dataclass(frozen=True)
class Grid:
    """A north-up grid: geotransform ``(x0, dx, 0, y0, 0, -dy)``, size and CRS WKT."""

    geotransform: tuple
    width: int
    height: int
    wkt: str

    def window(self, left, top, width, height):
        """The sub-grid of ``width`` x ``height`` cells from column ``left``, row ``top``."""
        gt = self.geotransform
        dx, dy = gt[1], -gt[5]
        return Grid((gt[0] + left * dx, dx, 0.0, gt[3] - top * dy, 0.0, -dy),
                    width, height, self.wkt)


@dataclass(frozen=True)
class Reference:
    """The reference grid's CRS, origin and cell size, and the study area
    ``(xmin, ymin, xmax, ymax)`` (its extent, or the given one)."""

    srs: osr.SpatialReference
    x0: float
    dx: float
    y0: float
    dy: float
    area: tuple


def as_named(items, categorical):
    named = []
    for item in items or []:
        if isinstance(item, tuple | list):
            name, path = item
        else:
            path = item
            name = os.path.splitext(os.path.basename(str(path)))[0]
        named.append(Factor(str(name), str(path), categorical))
    return named


def _srs(dataset, what):
    return dataset_srs(dataset, f"The {what} has no coordinate reference system. Assign one "
                                "(Layer Properties > Source, or 'Assign projection') and run "
                                "again.")


def _bounds(dataset):
    gt = dataset.GetGeoTransform()
    xs = [gt[0], gt[0] + gt[1] * dataset.RasterXSize]
    ys = [gt[3], gt[3] + gt[5] * dataset.RasterYSize]
    return min(xs), min(ys), max(xs), max(ys)


def transform_bounds(bounds, src_srs, dst_srs, densify=21):
    """Bounding box of ``bounds`` (xmin, ymin, xmax, ymax) in ``dst_srs``."""
    if src_srs.IsSame(dst_srs):
        return tuple(bounds)
    xmin, ymin, xmax, ymax = bounds
    steps = np.linspace(0.0, 1.0, densify)
    xs = np.concatenate([xmin + (xmax - xmin) * steps, np.full(densify, xmax),
                         xmin + (xmax - xmin) * steps, np.full(densify, xmin)])
    ys = np.concatenate([np.full(densify, ymin), ymin + (ymax - ymin) * steps,
                         np.full(densify, ymax), ymin + (ymax - ymin) * steps])
    transform = osr.CoordinateTransformation(src_srs, dst_srs)
    points = transform.TransformPoints(list(zip(xs.tolist(), ys.tolist(), strict=True)))
    px = np.array([p[0] for p in points], dtype=float)
    py = np.array([p[1] for p in points], dtype=float)
    ok = np.isfinite(px) & np.isfinite(py)
    if not ok.any():
        return None
    return float(px[ok].min()), float(py[ok].min()), float(px[ok].max()), float(py[ok].max())


def _intersect(a, b):
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def fmt_bounds(b):
    return f"({b[0]:.6g}, {b[1]:.6g}) – ({b[2]:.6g}, {b[3]:.6g})"


def _class_names(band):
    """Class names of a categorical band: its ``CLASS_NAMES`` metadata item (``"0=flat,1=N"``
    or JSON ``{"0": "flat"}``, as written by this plugin) or GDAL category names."""
    text = (band.GetMetadataItem("CLASS_NAMES") or "").strip()
    names = {}
    if text.startswith("{"):
        try:
            names = {int(k): str(v) for k, v in json.loads(text).items()}
        except (ValueError, AttributeError):
            names = {}
    elif text:
        for item in text.split(","):
            value, _, name = item.partition("=")
            if value.strip().lstrip("-").isdigit() and name.strip():
                names[int(value)] = name.strip()
    if not names:
        for value, name in enumerate(band.GetCategoryNames() or []):
            if name:
                names[value] = name
    return names


def unique_names(factors):
    """Rename repeated factor names (``name_2``, ``name_3``…); returns the warnings."""
    warnings = []
    seen = {}
    for factor in factors:
        base = factor.name
        if base in seen:
            seen[base] += 1
            factor.name = f"{base}_{seen[base]}"
            warnings.append(f"Two factors are named '{base}'; the second is called "
                            f"'{factor.name}'.")
        else:
            seen[base] = 1
    return warnings


def open_factor(factor, warnings):
    """Open the factor's raster and read its CRS (and class names when categorical)."""
    what = factor.what
    factor.dataset = open_raster(factor.path, what)
    if factor.dataset.GetGeoTransform(can_return_null=True) is None:
        raise InputError(f"The {what} has no georeferencing; it cannot be aligned.")
    factor.srs = _srs(factor.dataset, what)
    if factor.dataset.RasterCount > 1:
        warnings.append(f"The {what} has {factor.dataset.RasterCount} bands; only band 1 "
                        "is used.")
    if factor.categorical:
        factor.class_names = _class_names(factor.dataset.GetRasterBand(1))


def reference_grid(reference, first, extent):
    """The reference grid (the ``reference`` raster's, else the ``first`` factor's)
    and the study area: ``extent`` if given, else the reference's extent."""
    if reference:
        ref_ds = open_raster(reference, "reference raster")
        ref_what = f"reference raster '{reference}'"
    else:
        ref_ds = first.dataset
        ref_what = f"reference raster (the first factor, '{first.name}')"
    if ref_ds.GetGeoTransform(can_return_null=True) is None:
        raise InputError(f"The {ref_what} has no georeferencing.")
    srs = _srs(ref_ds, ref_what)
    gt = ref_ds.GetGeoTransform()
    if gt[2] != 0 or gt[4] != 0:
        raise InputError(f"The {ref_what} is rotated; choose a north-up reference raster.")
    x0, dx, y0, dy = gt[0], gt[1], gt[3], -gt[5]
    if dx <= 0 or dy <= 0:
        raise InputError(f"The {ref_what} has an unusual orientation (pixel size "
                         f"{gt[1]}, {gt[5]}); choose a north-up reference raster.")
    area = _bounds(ref_ds)
    if extent is not None:
        xmin, ymin, xmax, ymax = (float(v) for v in extent)
        if not (xmin < xmax and ymin < ymax):
            raise InputError(f"The extent {extent} is empty.")
        area = (xmin, ymin, xmax, ymax)
    return Reference(srs, x0, dx, y0, dy, area)


def common_area(ref, factors, extent_given):
    """``(area, footprints)``: the study area clipped to every factor's footprint,
    and each factor's footprint in the reference CRS."""
    area = ref.area
    footprints = []
    for factor in factors:
        box = transform_bounds(_bounds(factor.dataset), factor.srs, ref.srs)
        footprints.append(box)
        common = _intersect(area, box) if box else None
        if common is None:
            raise InputError(
                f"No common overlap: the {factor.what} does not overlap the "
                f"{'extent' if extent_given else 'reference extent'} "
                f"{fmt_bounds(area)} (its extent there: "
                f"{fmt_bounds(box) if box else 'not transformable'}). Check its location "
                "and coordinate reference system.")
        area = common
    return area, footprints


def snap_to_grid(area, ref):
    """The cells of the reference grid inside ``area`` (snapped inward)."""
    eps = 1e-6
    col0 = math.ceil((area[0] - ref.x0) / ref.dx - eps)
    col1 = math.floor((area[2] - ref.x0) / ref.dx + eps)
    row0 = math.ceil((ref.y0 - area[3]) / ref.dy - eps)
    row1 = math.floor((ref.y0 - area[1]) / ref.dy + eps)
    if col1 <= col0 or row1 <= row0:
        raise InputError("No common overlap: the factors overlap in less than one cell of "
                         f"the reference grid ({fmt_bounds(area)}).")
    return Grid((ref.x0 + col0 * ref.dx, ref.dx, 0.0, ref.y0 - row0 * ref.dy, 0.0, -ref.dy),
                col1 - col0, row1 - row0, ref.srs.ExportToWkt())


def resampling_for(factor, footprint, ref):
    """GDAL resampling for a factor: bilinear for continuous factors; nearest for
    categorical ones, or mode when cells grow by :data:`MODE_RATIO` or more."""
    if not factor.categorical:
        return "bilinear"
    src_dx = (footprint[2] - footprint[0]) / factor.dataset.RasterXSize
    src_dy = (footprint[3] - footprint[1]) / factor.dataset.RasterYSize
    ratio = math.sqrt((ref.dx * ref.dy) / max(src_dx * src_dy, 1e-300))
    return "mode" if ratio >= MODE_RATIO else "near"
