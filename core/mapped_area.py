"""The *Mapped area*: the part of a region where the landslide inventory was mapped.

Inventories often cover part of the region that the factor stack covers (a
survey area, the reach of field work). Non-landslide samples drawn outside it
teach a model where someone looked, not where slopes fail, and statistics over
the whole map count unmapped landslides as misses. With a mapped area,
``buildsamples`` draws every centre (both classes) and every spatial block
inside it, and ``classifysusceptibility`` computes its statistics inside it.

The area is polygons (any CRS, reprojected; a cell is inside when its centre
is in a polygon) or a raster mask (any CRS and grid, warped nearest; non-zero,
non-nodata cells are inside), put on the grid by the inventory's
rasterisation (:func:`.inventory.rasterise`). numpy + GDAL only.
"""

from dataclasses import dataclass, field

import numpy as np

from .class_counts import cell_area_km2
from .errors import InputError
from .inventory import MaskRole, rasterise
from .progress import never_cancelled, no_progress

AREA_NAME = "Mapped area"
FEW_LANDSLIDE_CELLS = 50  # fewer landslide cells inside: a warning
OUTSIDE_SHARE = 0.1  # more of the inventory's landslide cells outside: a warning
AREA_ROLE = MaskRole(AREA_NAME, "inside", "polygon",
                     "Check the mapped area's location and CRS, or leave Mapped area empty "
                     "to use the whole area.",
                     resample="near", point_on_surface=False, polygons_only=True)
_LEAVE_EMPTY = "or leave Mapped area empty to use the whole area"


@dataclass
class MappedArea:
    """The mapped area on a grid and what it holds."""

    mask: np.ndarray  # inside and valid
    source: str
    kind: str  # "vector" or "raster"
    cells: int  # valid cells inside
    area_km2: float
    share: float  # of the grid's valid cells
    landslide_cells: int | None = None  # inventory cells inside (None: no inventory)
    landslide_cells_outside: int | None = None
    warnings: list = field(default_factory=list)

    def summary(self):
        """The JSON-ready record for layer metadata and reports."""
        return {"source": self.source, "kind": self.kind, "cells": self.cells,
                "area_km2": self.area_km2, "share": self.share,
                "landslide_cells": self.landslide_cells,
                "landslide_cells_outside": self.landslide_cells_outside}


def area_text(summary, whole="the stack"):
    """One line for logs and reports from :meth:`MappedArea.summary`."""
    km2 = summary["area_km2"]
    km2 = f"{km2:,.0f}" if km2 >= 100 else f"{km2:.3g}"
    text = (f"Mapped area: {km2} km² ({summary['share']:.1%} of "
            f"{whole}'s valid area, {summary['cells']:,} cells) from {summary['source']}")
    if summary.get("landslide_cells") is not None:
        text += (f"; {summary['landslide_cells']:,} landslide cells inside, "
                 f"{summary['landslide_cells_outside']:,} outside (not used)")
    return text


def area_km2(mask, grid):
    """The area of the True cells of ``mask`` on ``grid``, in km² (spherical cell
    areas in a geographic CRS)."""
    per_row = np.count_nonzero(mask, axis=1)
    rows, _ = cell_area_km2(grid.geotransform, grid.crs_wkt, 0, mask.shape[0])
    return float(np.sum(per_row * rows))


def read_mapped_area(source, grid, valid=None, landslides=None, layer_name=None, kind=None,
                     grid_name="factor stack", progress=no_progress,
                     is_cancelled=never_cancelled):
    """The :class:`MappedArea` of ``source`` on ``grid``.

    ``valid``: the grid's valid cells (None: all); ``landslides``: the inventory's
    mask on the grid (None: no inventory). Raises :class:`InputError`, naming the
    Mapped area and the fix, when it misses the grid or its valid cells, or holds
    no landslide; warns when it holds few, or misses many.
    """
    found = rasterise(source, grid, AREA_ROLE, layer_name=layer_name, kind=kind,
                      grid_name=grid_name, progress=progress, is_cancelled=is_cancelled)
    valid = np.ones(found.mask.shape, bool) if valid is None else np.asarray(valid, bool)
    inside = found.mask & valid
    if not inside.any():
        raise InputError(f"The {AREA_NAME} '{source}' covers {found.pixels:,} cells of the "
                         f"{grid_name}, all of them nodata: no valid cell is inside. Check "
                         f"its location and CRS, {_LEAVE_EMPTY}.")
    area = MappedArea(mask=inside, source=str(source), kind=found.kind,
                      cells=int(inside.sum()), area_km2=area_km2(inside, grid),
                      share=float(inside.sum() / max(1, valid.sum())),
                      warnings=list(found.warnings))
    if landslides is not None:
        _count_landslides(area, np.asarray(landslides, bool) & valid, grid_name)
    return area


def _count_landslides(area, landslides, grid_name):
    """Set the landslide counts of ``area``; refuse none inside, warn on few."""
    inside = int((landslides & area.mask).sum())
    outside = int(landslides.sum()) - inside
    area.landslide_cells, area.landslide_cells_outside = inside, outside
    if inside == 0:
        raise InputError(
            f"The {AREA_NAME} '{area.source}' holds no landslide: all {outside:,} landslide "
            f"cells of the inventory on valid cells of the {grid_name} lie outside it. Use "
            f"the area where this inventory was mapped (check its location and CRS), "
            f"{_LEAVE_EMPTY}.")
    if inside < FEW_LANDSLIDE_CELLS:
        area.warnings.append(
            f"The {AREA_NAME} holds only {inside} landslide cells of the inventory (fewer "
            f"than {FEW_LANDSLIDE_CELLS}): scores and statistics inside it rest on very few "
            "landslides. Check that it is the area where the inventory was mapped.")
    if outside > OUTSIDE_SHARE * (inside + outside):
        area.warnings.append(
            f"{outside:,} of the {inside + outside:,} landslide cells of the inventory "
            f"({outside / (inside + outside):.0%}) lie outside the {AREA_NAME} and are not "
            "used. Check that it is the area where the inventory was mapped.")
