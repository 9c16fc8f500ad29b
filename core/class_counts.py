"""What :func:`.class_raster.classify_raster` counts, block by block: per class
the cells, their area and the landslide cells, histograms of the values of all
cells and of landslide cells (for the success-rate curve) and a decimated
preview of the classes (for the report). numpy + GDAL only.
"""

import math
from dataclasses import dataclass, field

import numpy as np
from osgeo import osr

from .class_statistics import CLASS_COUNT
from .errors import InputError

CURVE_BINS = 10_000  # value bins of the success-rate curve
PREVIEW_SIZE = 500  # largest side of the report's map picture, in cells
EARTH_RADIUS_KM = 6371.0088


@dataclass
class ClassCounts:
    """What :func:`.class_raster.classify_raster` counted; index 0 of the arrays is class 1."""

    cells: np.ndarray
    area_km2: np.ndarray
    landslide_cells: np.ndarray | None
    landslide_on_nodata: int
    histogram: np.ndarray  # all valid cells, CURVE_BINS bins over [minimum, maximum]
    landslide_histogram: np.ndarray | None
    preview: np.ndarray  # decimated classes (0 = nodata)
    preview_step: int
    area_note: str = ""
    warnings: list = field(default_factory=list)


def cell_area_km2(geotransform, crs_wkt, row, rows):
    """``(areas [rows] in km², note)``: the area of one cell in each row.

    Projected CRS: the cell size times the unit in metres. Geographic CRS: the
    spherical area of the cell (radius 6371.0088 km), which changes with the
    latitude. No CRS: map units are taken as metres.
    """
    gt = geotransform
    cell = abs(gt[1] * gt[5] - gt[2] * gt[4])
    if not crs_wkt:
        return np.full(rows, cell / 1e6), "no CRS: map units taken as metres"
    srs = osr.SpatialReference()
    if srs.ImportFromWkt(crs_wkt) != 0:
        return np.full(rows, cell / 1e6), "unreadable CRS: map units taken as metres"
    if srs.IsGeographic():
        tops = np.clip(gt[3] + np.arange(row, row + rows) * gt[5], -90, 90)
        bottoms = np.clip(tops + gt[5], -90, 90)
        band = np.abs(np.sin(np.radians(tops)) - np.sin(np.radians(bottoms)))
        return (EARTH_RADIUS_KM ** 2 * abs(math.radians(gt[1])) * band,
                "geographic CRS: spherical cell areas")
    metres = srs.GetLinearUnits() or 1.0
    return np.full(rows, cell * metres * metres / 1e6), ""


class ClassTally:
    """The running counts of one classified raster; :meth:`add` each block of
    rows, then :meth:`result`. ``summary``: the raster's
    :class:`.class_raster.RasterSummary`; ``with_landslides``: count landslide
    cells too; ``area``: a boolean mask on the raster's grid (the mapped area):
    only the cells inside it are counted (the preview keeps every cell)."""

    def __init__(self, summary, with_landslides, area=None):
        self.summary = summary
        self.with_landslides = with_landslides
        self.mapped_area = area
        self.cells = np.zeros(CLASS_COUNT + 1, np.int64)
        self.area = np.zeros(CLASS_COUNT + 1)
        self.landslide_cells = np.zeros(CLASS_COUNT + 1, np.int64)
        self.on_nodata = 0
        self.histogram = np.zeros(CURVE_BINS, np.int64)
        self.landslide_histogram = np.zeros(CURVE_BINS, np.int64)
        self.scale = CURVE_BINS / (summary.maximum - summary.minimum)
        self.preview_step = max(1, math.ceil(max(summary.width, summary.height) / PREVIEW_SIZE))
        self.preview = []
        self.area_note = ""

    def add(self, row, classes, values, valid, landslides=None):
        """Count the block starting at ``row``: its ``classes`` (0 = nodata),
        the ``values`` of its ``valid`` cells and its ``landslides`` (boolean)."""
        preview = classes
        if self.mapped_area is not None:
            inside = self.mapped_area[row:row + classes.shape[0]]
            classes = np.where(inside, classes, 0)
            values = values[inside[valid]]
            valid = valid & inside
            landslides = None if landslides is None else landslides & inside
        self._add_areas(row, classes)
        bins = np.clip(((values - self.summary.minimum) * self.scale).astype(np.int64), 0,
                       CURVE_BINS - 1)
        self.histogram += np.bincount(bins, minlength=CURVE_BINS)
        if landslides is not None:
            self.on_nodata += int((landslides & ~valid).sum())
            self.landslide_cells += np.bincount(classes[landslides & valid],
                                                minlength=CLASS_COUNT + 1)
            self.landslide_histogram += np.bincount(bins[landslides[valid]],
                                                    minlength=CURVE_BINS)
        picked = np.arange(row, row + classes.shape[0])
        picked = picked[picked % self.preview_step == 0] - row
        self.preview.append(preview[picked, ::self.preview_step])

    def _add_areas(self, row, classes):
        self.cells += np.bincount(classes.ravel(), minlength=CLASS_COUNT + 1)
        row_area, self.area_note = cell_area_km2(self.summary.geotransform,
                                                 self.summary.crs_wkt, row, classes.shape[0])
        if np.ptp(row_area) == 0:
            self.area += np.bincount(classes.ravel(), minlength=CLASS_COUNT + 1) * row_area[0]
        else:
            weights = np.broadcast_to(row_area[:, None], classes.shape).ravel()
            self.area += np.bincount(classes.ravel(), weights=weights,
                                     minlength=CLASS_COUNT + 1)

    def result(self):
        """The :class:`ClassCounts`; an error when no landslide is on a valid cell."""
        warnings = []
        if self.mapped_area is not None and self.cells[1:].sum() == 0:
            raise InputError("The Mapped area covers no valid cell of the susceptibility "
                             "raster (its cells there are nodata); check the mapped area's "
                             "location and CRS, or leave Mapped area empty.")
        if self.with_landslides:
            if self.on_nodata:
                warnings.append(f"{self.on_nodata} landslide cells fall on nodata cells of "
                                "the susceptibility raster and are not counted.")
            if self.landslide_cells[1:].sum() == 0:
                where = " inside the Mapped area" if self.mapped_area is not None else ""
                raise InputError("No landslide of the inventory falls on a valid cell of the "
                                 f"susceptibility raster{where}; check the inventory's "
                                 "location.")
        landslides = self.with_landslides
        return ClassCounts(
            cells=self.cells[1:], area_km2=self.area[1:],
            landslide_cells=self.landslide_cells[1:] if landslides else None,
            landslide_on_nodata=self.on_nodata, histogram=self.histogram,
            landslide_histogram=self.landslide_histogram if landslides else None,
            preview=(np.concatenate(self.preview) if self.preview
                     else np.zeros((0, 0), np.uint8)),
            preview_step=self.preview_step, area_note=self.area_note, warnings=warnings)
