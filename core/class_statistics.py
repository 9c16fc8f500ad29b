"""Susceptibility classes: their names, the methods and breaks, and the
statistics of the classes against a landslide inventory.

numpy only (no GDAL: the engine command ``classify`` imports the choice lists
from here). Class ``i`` holds the values in ``(b[i-1], b[i]]`` (upper bounds
inclusive, as in mapclassify): class 1 is ``<= b1``, class 5 ``> b4``.

Definitions (all from cell counts, only cells where the susceptibility is valid):

- area share = cells of the class / valid cells;
- landslide share = landslide cells of the class / landslide cells;
- LD, landslide density = landslide cells of the class / cells of the class
  (the fraction of the class's area that is landslide);
- FR, frequency ratio = landslide share / area share (> 1: more landslides
  than the class's size explains);
- SCAI, seed cell area index = area share / landslide share (= 1 / FR; small
  in the high classes of a good map).

A ratio whose denominator is 0 is NaN (NULL in the table), with a note.
"""

import math

import numpy as np

from .errors import InputError
from .specs.maps import BREAK_METHODS, CLASS_COUNT, CLASS_METHODS

CLASS_NAMES = ("Very low", "Low", "Moderate", "High", "Very high")
CLASS_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")
METHODS = tuple(code for code, _ in CLASS_METHODS)
AUTOMATIC_METHODS = tuple(code for code, _ in BREAK_METHODS)
METHOD_LABELS = dict(CLASS_METHODS)
TABLE_COLUMNS = [("class", int), ("name", str), ("cells", int), ("area_km2", float),
                 ("area_share", float), ("landslide_cells", int),
                 ("landslide_share", float), ("ld", float), ("fr", float), ("scai", float)]


# ----------------------------------------------------------------- breaks


def parse_breaks(text):
    """Four strictly increasing inner breaks from ``"0.2,0.4,0.6,0.8"`` (commas,
    semicolons or spaces)."""
    if text is None or not str(text).strip():
        raise InputError("METHOD is 'Manual breaks' but BREAKS is empty: give the four inner "
                         "class breaks, e.g. '0.2,0.4,0.6,0.8'.")
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        breaks = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"BREAKS '{text}' is not a list of numbers; give four inner class "
                         "breaks, e.g. '0.2,0.4,0.6,0.8'.") from None
    return check_breaks(breaks, f"BREAKS '{text}'")


def check_breaks(breaks, what="The class breaks"):
    """``breaks`` as a list of four finite, strictly increasing floats, or an error."""
    breaks = [float(b) for b in breaks]
    if len(breaks) != CLASS_COUNT - 1:
        raise InputError(f"{what} must be {CLASS_COUNT - 1} values (the inner breaks between "
                         f"the {CLASS_COUNT} classes, e.g. '0.2,0.4,0.6,0.8'); got "
                         f"{len(breaks)}.")
    if not all(math.isfinite(b) for b in breaks):
        raise InputError(f"{what} must be finite numbers.")
    if any(low >= high for low, high in zip(breaks, breaks[1:], strict=False)):
        raise InputError(f"{what} must be strictly increasing, e.g. '0.2,0.4,0.6,0.8'; got "
                         f"{', '.join(f'{b:g}' for b in breaks)}.")
    return breaks


def breaks_range(summary):
    """``(low, high)`` allowed for breaks: [0, 1] for a probability raster (so one set
    of breaks can classify several maps alike, with a class left empty on some),
    else the raster's values."""
    if 0.0 <= summary.minimum and summary.maximum <= 1.0:
        return 0.0, 1.0
    return summary.minimum, summary.maximum


def check_breaks_range(breaks, summary, what="The class breaks"):
    """Refuse breaks outside :func:`breaks_range` (``-4,-3,-2,-1`` on probabilities
    put every cell in 'Very high'). Compared as float32, the precision of the rasters
    classified."""
    low, high = (np.float32(v) for v in breaks_range(summary))
    outside = [b for b in breaks if not low <= np.float32(b) <= high]
    if outside:
        example = ",".join(f"{summary.minimum + (summary.maximum - summary.minimum) * i / 5:.4g}"
                           for i in range(1, CLASS_COUNT))
        raise InputError(
            f"{what}: {', '.join(f'{b:g}' for b in outside)} "
            f"{'is' if len(outside) == 1 else 'are'} outside {low:g} … {high:g} (the values of "
            f"the susceptibility raster are {summary.minimum:.6g} … {summary.maximum:.6g}); "
            f"classes beyond them would be empty. Give four breaks within the values, e.g. "
            f"'{example}', or choose an automatic method.")
    return breaks


def breaks_warnings(breaks, summary):
    """Notes on breaks that leave the lowest or highest class empty (allowed within
    :func:`breaks_range`; :func:`check_breaks_range` refuses the others)."""
    notes = []
    if breaks[0] < summary.minimum:
        notes.append(f"The lowest break {breaks[0]:g} is below the smallest value "
                     f"{summary.minimum:g}: class 'Very low' is empty.")
    if breaks[-1] >= summary.maximum:
        notes.append(f"The highest break {breaks[-1]:g} is at or above the largest value "
                     f"{summary.maximum:g}: class 'Very high' is empty.")
    return notes


def classify_values(values, breaks):
    """Classes 1..5 (uint8) of ``values``; class ``i`` is ``(b[i-1], b[i]]``."""
    return (np.searchsorted(np.asarray(breaks, dtype=np.float64),
                            np.asarray(values, dtype=np.float64), side="left") + 1
            ).astype(np.uint8)


# ----------------------------------------------------------------- statistics


def _ratio(numerator, denominator):
    return float(numerator) / float(denominator) if denominator else math.nan


def class_table(cells, landslide_cells=None, area_km2=None):
    """Rows (dicts, keys of :data:`TABLE_COLUMNS`) per class and a summary dict.

    ``cells``, ``landslide_cells`` (None: no inventory) and ``area_km2``: one
    value per class, "Very low" first.
    """
    cells = np.asarray(cells, dtype=np.int64)
    total = int(cells.sum())
    area_km2 = np.full(cells.size, math.nan) if area_km2 is None else np.asarray(area_km2)
    has_inventory = landslide_cells is not None
    landslides = np.asarray(landslide_cells if has_inventory else np.zeros_like(cells),
                            dtype=np.int64)
    landslide_total = int(landslides.sum())
    rows = [_class_row(index, cells, area_km2, landslides if has_inventory else None)
            for index in range(len(CLASS_NAMES))]
    high = landslides[3:].sum()
    summary = {
        "cells": total, "area_km2": float(np.nansum(area_km2)),
        "landslide_cells": landslide_total if has_inventory else None,
        "landslide_density": _ratio(landslide_total, total) if has_inventory else math.nan,
        "high_landslide_share": _ratio(high, landslide_total) if has_inventory else math.nan,
        "high_area_share": _ratio(cells[3:].sum(), total),
        "notes": _table_notes(rows) if has_inventory else []}
    return rows, summary


def _class_row(index, cells, area_km2, landslides):
    """The row of class ``index + 1``; ``landslides`` None: no inventory."""
    area_share = _ratio(cells[index], cells.sum())
    row = {"class": index + 1, "name": CLASS_NAMES[index], "cells": int(cells[index]),
           "area_km2": float(area_km2[index]), "area_share": area_share,
           "landslide_cells": None, "landslide_share": math.nan, "ld": math.nan,
           "fr": math.nan, "scai": math.nan}
    if landslides is not None:
        share = _ratio(landslides[index], landslides.sum())
        row.update(landslide_cells=int(landslides[index]), landslide_share=share,
                   ld=_ratio(landslides[index], cells[index]),
                   fr=share / area_share if area_share > 0 else math.nan,
                   scai=area_share / share if share > 0 else math.nan)
    return row


def _table_notes(rows):
    """Why some LD, FR or SCAI are NULL."""
    notes = []
    empty = [r["name"] for r in rows if r["cells"] == 0]
    if empty:
        notes.append(f"Empty classes ({', '.join(empty)}): LD and FR are NULL "
                     "(no area to divide by).")
    without = [r["name"] for r in rows if r["cells"] > 0 and r["landslide_cells"] == 0]
    if without:
        notes.append(f"Classes without landslides ({', '.join(without)}): SCAI is NULL "
                     "(area share / 0 is infinite).")
    return notes


def class_statistics(counts):
    """:func:`class_table` of :class:`.class_counts.ClassCounts`, with the
    success-rate curve (``stats["curve"]`` = ``(x, y)``) and its AUC
    (``stats["auc"]``, NaN without an inventory)."""
    rows, stats = class_table(counts.cells, counts.landslide_cells, counts.area_km2)
    if counts.landslide_histogram is not None:
        x, y, auc = success_rate_curve(counts.histogram, counts.landslide_histogram)
        stats.update(curve=(x, y), auc=auc)
    else:
        stats.update(curve=None, auc=math.nan)
    return rows, stats


def table_rows(rows):
    """The rows as lists in the order of :data:`TABLE_COLUMNS` (for the table sink)."""
    return [[row[name] for name, _kind in TABLE_COLUMNS] for row in rows]


def success_rate_curve(histogram, landslide_histogram):
    """``(area_share, landslide_share, auc)``: cells ranked by descending value.

    ``histogram``/``landslide_histogram``: counts of all and of landslide cells
    per value bin, lowest values first. Within a bin cells are in random order
    (a straight segment). The AUC is 1 when all landslides are on the highest
    values, 0.5 for a map no better than chance.
    """
    everything = np.asarray(histogram, dtype=np.float64)[::-1]
    landslides = np.asarray(landslide_histogram, dtype=np.float64)[::-1]
    if everything.sum() <= 0 or landslides.sum() <= 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0]), math.nan
    keep = everything > 0
    x = np.concatenate([[0.0], np.cumsum(everything[keep]) / everything.sum()])
    y = np.concatenate([[0.0], np.cumsum(landslides[keep]) / landslides.sum()])
    auc = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
    return x, y, auc


def class_points(rows):
    """Cumulative (area share, landslide share) at the class limits, "Very high" first."""
    cells = np.array([r["cells"] for r in rows][::-1], dtype=np.float64)
    slides = np.array([r["landslide_cells"] or 0 for r in rows][::-1], dtype=np.float64)
    if cells.sum() <= 0 or slides.sum() <= 0:
        return [], []
    return (np.cumsum(cells) / cells.sum()).tolist(), (np.cumsum(slides) / slides.sum()).tolist()
