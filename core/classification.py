"""Susceptibility classes: five classes from a probability raster, their
statistics against a landslide inventory, and the report (``landslide:classifysusceptibility``).

numpy + GDAL only. The class breaks of the automatic methods come from
mapclassify, which runs in the engine process (``engine/commands/classify.py``);
this module prepares its input and does everything else, block by block:

1. :func:`summarize_raster` (one pass): valid cells, minimum, maximum, and a
   uniform random sample of at most ``sample_size`` valid values (every valid
   cell gets a random key from ``seed``; the smallest keys win, so the sample
   depends only on the seed and the data). When the sample is not the whole
   raster its first and last values are replaced by the raster's minimum and
   maximum (as ``mapclassify.FisherJenksSampled`` does), so equal interval and
   the outer classes span the full range. :func:`write_sample` saves it for
   the engine.
2. The four inner breaks ``b1 < b2 < b3 < b4``: from the engine, or manual
   (:func:`parse_breaks`).
3. :func:`classify_raster` (one pass): writes the Byte GeoTIFF (0 = nodata,
   1..5 = "Very low" … "Very high", with a colour table and category names so
   that any GIS shows the colours) atomically, and counts per class the cells,
   their area and the landslide cells, plus histograms of the values of all
   cells and of landslide cells for the success-rate curve, and a decimated
   preview for the report. Class ``i`` holds the values in ``(b[i-1], b[i]]``
   (upper bounds inclusive, as in mapclassify): class 1 is ``<= b1``, class 5
   ``> b4``.
4. :func:`class_table` (pure): shares, LD, FR, SCAI; :func:`success_rate_curve`:
   the curve and its AUC; :func:`write_report`: the HTML report.

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
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, osr

from .errors import InputError
from .files import atomic_output
from .progress import check_cancelled, never_cancelled, no_progress
from .raster_io import GTIFF_OPTIONS
from .stack import band_valid, open_raster

CLASS_NAMES = ("Very low", "Low", "Moderate", "High", "Very high")
CLASS_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")
CLASS_COUNT = 5
METHODS = ("natural_breaks", "quantile", "equal_interval", "manual")
METHOD_LABELS = {
    "natural_breaks": "Natural breaks (Fisher-Jenks, mapclassify)",
    "quantile": "Quantile (equal number of cells per class)",
    "equal_interval": "Equal interval",
    "manual": "Manual breaks",
}
SAMPLE_SIZE = 100_000
BLOCK_CELLS = 4_000_000  # cells read per block
CURVE_BINS = 10_000  # value bins of the success-rate curve
PREVIEW_SIZE = 500  # largest side of the report's map picture, in cells
EARTH_RADIUS_KM = 6371.0088
TABLE_COLUMNS = [("class", int), ("name", str), ("cells", int), ("area_km2", float),
                 ("area_share", float), ("landslide_cells", int),
                 ("landslide_share", float), ("ld", float), ("fr", float), ("scai", float)]


# ----------------------------------------------------------------- raster summary


@dataclass
class RasterSummary:
    """What :func:`summarize_raster` found; also a grid for
    :func:`.inventory.inventory_mask` (``width``, ``height``, ``geotransform``, ``crs_wkt``)."""

    path: str
    width: int
    height: int
    geotransform: tuple
    crs_wkt: str
    nodata: float | None
    valid: int
    minimum: float
    maximum: float
    sample: np.ndarray
    sample_is_complete: bool
    warnings: list = field(default_factory=list)

    @property
    def shape(self):
        return self.height, self.width


def _block_rows(width):
    return max(1, BLOCK_CELLS // max(1, width))


def open_susceptibility(path):
    """``(dataset, band)`` of the susceptibility raster, or a clear error."""
    dataset = open_raster(path, "susceptibility raster")
    if dataset.GetGeoTransform(can_return_null=True) is None:
        raise InputError(f"The susceptibility raster '{path}' has no georeferencing.")
    if dataset.RasterCount < 1:
        raise InputError(f"The susceptibility raster '{path}' has no band.")
    return dataset, dataset.GetRasterBand(1)


def summarize_raster(path, sample_size=SAMPLE_SIZE, seed=0, progress=no_progress,
                     is_cancelled=never_cancelled):
    """Count, range and a random sample of the valid values of band 1 (one pass).

    Raises :class:`InputError` when the raster has no valid cell or one value only.
    """
    dataset, band = open_susceptibility(path)
    width, height = dataset.RasterXSize, dataset.RasterYSize
    nodata = band.GetNoDataValue()
    warnings = []
    if dataset.RasterCount > 1:
        warnings.append(f"The susceptibility raster has {dataset.RasterCount} bands; only "
                        "band 1 is classified.")
    rng = np.random.default_rng(seed)
    keys = np.empty(0)
    values = np.empty(0)
    valid_count = 0
    minimum, maximum = math.inf, -math.inf
    step = _block_rows(width)
    for row in range(0, height, step):
        check_cancelled(is_cancelled)
        rows = min(step, height - row)
        block = _read(band, path, row, rows, width)
        valid = band_valid(block, nodata)
        found = block[valid]
        valid_count += found.size
        if found.size:
            minimum = min(minimum, float(found.min()))
            maximum = max(maximum, float(found.max()))
            new_keys = rng.random(found.size)
            if keys.size >= sample_size:  # only keys below the current cut can win
                wins = new_keys < keys.max()
                new_keys, found = new_keys[wins], found[wins]
            keys = np.concatenate([keys, new_keys])
            values = np.concatenate([values, found])
            if keys.size > 2 * sample_size:
                keys, values = _smallest(keys, values, sample_size)
        progress(100.0 * (row + rows) / height)
    if valid_count == 0:
        raise InputError(f"The susceptibility raster '{path}' is empty: it has no valid cell "
                         "(all cells are nodata or not finite).")
    if minimum == maximum:
        raise InputError(f"The susceptibility raster '{path}' has one value only "
                         f"({minimum:g}) in its {valid_count} valid cells; there is nothing "
                         "to classify.")
    if keys.size > sample_size:
        keys, values = _smallest(keys, values, sample_size)
    values = values[np.argsort(keys, kind="stable")]
    complete = values.size == valid_count
    if not complete and values.size >= 2:
        values[0], values[-1] = minimum, maximum
    if minimum < 0 or maximum > 1:
        warnings.append(f"The susceptibility values span {minimum:g} … {maximum:g}, not "
                        "0 … 1: they are classified as they are (not as probabilities).")
    gt = dataset.GetGeoTransform()
    return RasterSummary(path=str(path), width=width, height=height, geotransform=tuple(gt),
                         crs_wkt=dataset.GetProjection() or "", nodata=nodata,
                         valid=int(valid_count), minimum=minimum, maximum=maximum,
                         sample=values, sample_is_complete=complete, warnings=warnings)


def _smallest(keys, values, count):
    keep = np.argpartition(keys, count - 1)[:count]
    return keys[keep], values[keep]


def _read(band, path, row, rows, width):
    block = band.ReadAsArray(0, row, width, rows)
    if block is None:
        raise InputError(f"Cannot read rows {row}–{row + rows} of '{path}': "
                         f"{gdal.GetLastErrorMsg()}")
    return block.astype(np.float64, copy=False)


def write_sample(summary, path):
    """Save the sample for the engine: ``values`` (float64), ``minimum``,
    ``maximum``, ``valid`` (cells), ``complete`` (the sample is every valid cell)."""
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, values=summary.sample.astype(np.float64),
                 minimum=summary.minimum, maximum=summary.maximum, valid=summary.valid,
                 complete=summary.sample_is_complete)
    return path


def landslide_mask(inventory, summary, layer_name=None, kind=None, progress=no_progress,
                   is_cancelled=never_cancelled):
    """:func:`.inventory.inventory_mask` on the susceptibility raster's grid, its
    messages naming the susceptibility raster instead of the factor stack."""
    from .inventory import inventory_mask

    try:
        return inventory_mask(inventory, summary, layer_name=layer_name, kind=kind,
                              progress=progress, is_cancelled=is_cancelled)
    except InputError as exc:
        text = str(exc).replace("the factor stack", "the susceptibility raster")
        text = text.replace("the stack's", "the susceptibility raster's")
        raise InputError(text) from exc


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


def breaks_warnings(breaks, summary):
    """Notes on breaks that leave classes empty (outside the values' range)."""
    notes = []
    if breaks[0] < summary.minimum:
        notes.append(f"The lowest break {breaks[0]:g} is below the smallest value "
                     f"{summary.minimum:g}: class 'Very low' is empty.")
    if breaks[-1] >= summary.maximum:
        notes.append(f"The highest break {breaks[-1]:g} is not below the largest value "
                     f"{summary.maximum:g}: class 'Very high' is empty.")
    return notes


def classify_values(values, breaks):
    """Classes 1..5 (uint8) of ``values``; class ``i`` is ``(b[i-1], b[i]]``."""
    return (np.searchsorted(np.asarray(breaks, dtype=np.float64),
                            np.asarray(values, dtype=np.float64), side="left") + 1
            ).astype(np.uint8)


# ----------------------------------------------------------------- classification


@dataclass
class ClassCounts:
    """What :func:`classify_raster` counted; index 0 of the arrays is class 1."""

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


def _output_dataset(tmp, summary, breaks, method):
    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(tmp, summary.width, summary.height, 1, gdal.GDT_Byte,
                            list(GTIFF_OPTIONS))
    if dataset is None:
        raise InputError(f"Cannot create the classes raster: {gdal.GetLastErrorMsg()}")
    dataset.SetGeoTransform(summary.geotransform)
    if summary.crs_wkt:
        dataset.SetProjection(summary.crs_wkt)
    dataset.SetMetadata({"LANDSLIDE_CLASSES": ",".join(CLASS_NAMES),
                         "BREAKS": ",".join(repr(float(b)) for b in breaks),
                         "METHOD": method, "SOURCE": summary.path})
    band = dataset.GetRasterBand(1)
    band.SetNoDataValue(0)
    band.SetDescription("susceptibility class")
    table = gdal.ColorTable()
    table.SetColorEntry(0, (0, 0, 0, 0))
    for value, colour in enumerate(CLASS_COLOURS, start=1):
        table.SetColorEntry(value, hex_to_rgb(colour) + (255,))
    band.SetRasterColorTable(table)
    band.SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
    band.SetCategoryNames(["nodata", *CLASS_NAMES])
    return dataset, band


def hex_to_rgb(colour):
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def classify_raster(path, breaks, output, summary=None, landslides=None, method="manual",
                    progress=no_progress, is_cancelled=never_cancelled):
    """Write the classes of ``path`` to the GeoTIFF ``output`` and count them.

    ``landslides``: optional boolean array on the raster's grid (e.g.
    :func:`.inventory.inventory_mask`'s ``mask``). Returns :class:`ClassCounts`.
    """
    breaks = check_breaks(breaks)
    if summary is None:
        summary = summarize_raster(path, sample_size=1)
    if not str(output).lower().endswith((".tif", ".tiff")):
        raise InputError(f"The classes raster '{output}' must be a GeoTIFF (.tif).")
    if landslides is not None and landslides.shape != summary.shape:
        raise InputError("The landslide mask does not match the susceptibility raster's grid.")
    dataset, band = open_susceptibility(path)
    width, height = summary.width, summary.height
    cells = np.zeros(CLASS_COUNT + 1, np.int64)
    area = np.zeros(CLASS_COUNT + 1)
    landslide_cells = np.zeros(CLASS_COUNT + 1, np.int64)
    on_nodata = 0
    histogram = np.zeros(CURVE_BINS, np.int64)
    landslide_histogram = np.zeros(CURVE_BINS, np.int64)
    scale = CURVE_BINS / (summary.maximum - summary.minimum)
    preview_step = max(1, math.ceil(max(width, height) / PREVIEW_SIZE))
    preview = []
    area_note = ""
    step = _block_rows(width)
    with atomic_output(output) as tmp:
        out, out_band = _output_dataset(tmp, summary, breaks, method)
        for row in range(0, height, step):
            check_cancelled(is_cancelled)
            rows = min(step, height - row)
            block = _read(band, path, row, rows, width)
            valid = band_valid(block, summary.nodata)
            classes = np.zeros(block.shape, np.uint8)
            values = block[valid]
            classes[valid] = classify_values(values, breaks)
            if out_band.WriteArray(classes, 0, row) != 0:
                raise InputError(f"Cannot write the classes raster '{output}': "
                                 f"{gdal.GetLastErrorMsg()}")
            cells += np.bincount(classes.ravel(), minlength=CLASS_COUNT + 1)
            row_area, area_note = cell_area_km2(summary.geotransform, summary.crs_wkt,
                                                row, rows)
            if np.ptp(row_area) == 0:
                area += np.bincount(classes.ravel(), minlength=CLASS_COUNT + 1) * row_area[0]
            else:
                weights = np.broadcast_to(row_area[:, None], classes.shape).ravel()
                area += np.bincount(classes.ravel(), weights=weights,
                                    minlength=CLASS_COUNT + 1)
            bins = np.clip(((values - summary.minimum) * scale).astype(np.int64), 0,
                           CURVE_BINS - 1)
            histogram += np.bincount(bins, minlength=CURVE_BINS)
            if landslides is not None:
                hit = landslides[row:row + rows]
                on_nodata += int((hit & ~valid).sum())
                landslide_cells += np.bincount(classes[hit & valid],
                                               minlength=CLASS_COUNT + 1)
                landslide_histogram += np.bincount(bins[hit[valid]], minlength=CURVE_BINS)
            picked = np.arange(row, row + rows)
            picked = picked[picked % preview_step == 0] - row
            preview.append(classes[picked, ::preview_step])
            progress(100.0 * (row + rows) / height)
        check_cancelled(is_cancelled)
        out.FlushCache()
        out_band = out = None
    warnings = []
    if landslides is not None:
        if on_nodata:
            warnings.append(f"{on_nodata} landslide cells fall on nodata cells of the "
                            "susceptibility raster and are not counted.")
        if landslide_cells[1:].sum() == 0:
            raise InputError("No landslide of the inventory falls on a valid cell of the "
                             "susceptibility raster; check the inventory's location.")
    return ClassCounts(
        cells=cells[1:], area_km2=area[1:],
        landslide_cells=landslide_cells[1:] if landslides is not None else None,
        landslide_on_nodata=on_nodata, histogram=histogram,
        landslide_histogram=landslide_histogram if landslides is not None else None,
        preview=np.concatenate(preview) if preview else np.zeros((0, 0), np.uint8),
        preview_step=preview_step, area_note=area_note, warnings=warnings)


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
    rows = []
    for index, name in enumerate(CLASS_NAMES):
        area_share = _ratio(cells[index], total)
        row = {"class": index + 1, "name": name, "cells": int(cells[index]),
               "area_km2": float(area_km2[index]), "area_share": area_share,
               "landslide_cells": None, "landslide_share": math.nan, "ld": math.nan,
               "fr": math.nan, "scai": math.nan}
        if has_inventory:
            share = _ratio(landslides[index], landslide_total)
            row.update(landslide_cells=int(landslides[index]), landslide_share=share,
                       ld=_ratio(landslides[index], cells[index]),
                       fr=share / area_share if area_share > 0 else math.nan,
                       scai=area_share / share if share > 0 else math.nan)
        rows.append(row)
    notes = []
    if has_inventory:
        empty = [r["name"] for r in rows if r["cells"] == 0]
        if empty:
            notes.append(f"Empty classes ({', '.join(empty)}): LD and FR are NULL "
                         "(no area to divide by).")
        without = [r["name"] for r in rows if r["cells"] > 0 and r["landslide_cells"] == 0]
        if without:
            notes.append(f"Classes without landslides ({', '.join(without)}): SCAI is NULL "
                         "(area share / 0 is infinite).")
    high = landslides[3:].sum()
    summary = {
        "cells": total, "area_km2": float(np.nansum(area_km2)),
        "landslide_cells": landslide_total if has_inventory else None,
        "landslide_density": _ratio(landslide_total, total) if has_inventory else math.nan,
        "high_landslide_share": _ratio(high, landslide_total) if has_inventory else math.nan,
        "high_area_share": _ratio(cells[3:].sum(), total), "notes": notes}
    return rows, summary


def class_statistics(counts):
    """:func:`class_table` of :class:`ClassCounts`, with the success-rate curve
    (``stats["curve"]`` = ``(x, y)``) and its AUC (``stats["auc"]``, NaN without
    an inventory)."""
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


# ----------------------------------------------------------------- report


def _ld_figure(rows):
    from .report import new_figure

    fig = new_figure(6.0, 3.4)
    axes = fig.add_subplot()
    values = [100.0 * r["ld"] if math.isfinite(r["ld"]) else 0.0 for r in rows]
    positions = range(len(rows))
    axes.bar(positions, values, color=CLASS_COLOURS, edgecolor="#333333", linewidth=0.5)
    for position, value, row in zip(positions, values, rows, strict=True):
        text = "–" if not math.isfinite(row["ld"]) else f"{value:.3g} %"
        axes.annotate(text, (position, value), xytext=(0, 3), textcoords="offset points",
                      ha="center", fontsize=8)
    axes.set_xticks(list(positions))
    axes.set_xticklabels([r["name"] for r in rows])
    axes.set_ylabel("landslide density (% of the class's area)")
    axes.set_ylim(0, max(values + [0.0]) * 1.2 or 1)
    axes.set_title("Landslide density per class")
    axes.grid(axis="y", alpha=0.3)
    return fig


def _curve_figure(x, y, auc, points):
    from .report import new_figure

    fig = new_figure(4.8, 4.4)
    axes = fig.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="chance")
    axes.plot(x, y, color="#b2182b", linewidth=1.8, label=f"success rate (AUC {auc:.3f})")
    if points[0]:
        names = list(CLASS_NAMES)[::-1]
        colours = list(CLASS_COLOURS)[::-1]
        for px, py, name, colour in zip(points[0], points[1], names, colours, strict=True):
            axes.scatter([px], [py], color=colour, edgecolor="#333333", zorder=3, s=30)
            axes.annotate(f"…{name}", (px, py), xytext=(5, -10), textcoords="offset points",
                          fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("cumulative share of the study area (highest susceptibility first)")
    axes.set_ylabel("cumulative share of landslide area")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    return fig


def _histogram_figure(histogram, minimum, maximum, breaks):
    from .report import new_figure

    fig = new_figure(6.0, 3.0)
    axes = fig.add_subplot()
    counts = np.asarray(histogram, dtype=np.float64)
    group = max(1, counts.size // 100)
    counts = counts[: counts.size // group * group].reshape(-1, group).sum(axis=1)
    edges = np.linspace(minimum, maximum, counts.size + 1)
    classes = classify_values((edges[:-1] + edges[1:]) / 2, breaks)
    axes.bar(edges[:-1], counts, width=np.diff(edges), align="edge",
             color=[CLASS_COLOURS[c - 1] for c in classes], linewidth=0)
    for b in breaks:
        axes.axvline(b, color="#333333", linewidth=0.8, linestyle=":")
    axes.set_xlabel("susceptibility value")
    axes.set_ylabel("cells")
    axes.set_title("Distribution of values and class breaks")
    return fig


def _map_figure(preview):
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from .report import new_figure

    rows, cols = preview.shape
    width = 5.5
    fig = new_figure(width + 1.6, max(2.0, width * rows / max(cols, 1)))
    axes = fig.add_subplot()
    cmap = ListedColormap(["#ffffff", *CLASS_COLOURS])
    axes.imshow(preview, cmap=cmap, vmin=-0.5, vmax=CLASS_COUNT + 0.5,
                interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    handles = [Patch(facecolor=c, edgecolor="#333333", label=n)
               for n, c in zip(CLASS_NAMES[::-1], CLASS_COLOURS[::-1], strict=True)]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8,
                frameon=False)
    return fig


def write_report(path, rows, summary_stats, counts, raster, breaks, settings,
                 warnings=None):
    """The HTML report: settings, the class table, LD per class, the success-rate
    curve and its AUC, the distribution of values and a picture of the map."""
    from .report import Report

    report = Report("Susceptibility classes")
    report.settings(list(settings.items()) + [
        ("Class breaks", ", ".join(f"{b:.6g}" for b in breaks)),
        ("Value range", f"{raster.minimum:.6g} … {raster.maximum:.6g}"),
        ("Valid cells", raster.valid),
        ("Area", f"{summary_stats['area_km2']:.6g} km²"
                 + (f" ({counts.area_note})" if counts.area_note else ""))])
    report.warnings(warnings)
    has_inventory = counts.landslide_cells is not None
    report.heading("Classes")
    report.table(["class", "name", "cells", "area (km²)", "area share", "landslide cells",
                  "landslide share", "LD", "FR", "SCAI"],
                 [[r["class"], r["name"], r["cells"], r["area_km2"], r["area_share"],
                   r["landslide_cells"], r["landslide_share"], r["ld"], r["fr"], r["scai"]]
                  for r in rows], digits=4)
    report.note("Shares are fractions of the valid cells (area share) and of the landslide "
                "cells on valid cells (landslide share). LD (landslide density) = landslide "
                "cells / cells of the class, the fraction of the class that is landslide. "
                "FR (frequency ratio) = landslide share / area share. SCAI (seed cell area "
                "index) = area share / landslide share = 1 / FR. A class holds the values "
                "above the break below it and up to (including) the break above it.")
    for note in summary_stats["notes"]:
        report.note(note)
    if has_inventory:
        report.paragraph(
            f"{summary_stats['high_landslide_share']:.1%} of the landslide area lies in the "
            f"High and Very high classes, which cover {summary_stats['high_area_share']:.1%} "
            f"of the area. Landslide cells: {summary_stats['landslide_cells']} "
            f"(overall density {summary_stats['landslide_density']:.3%}).")
        report.figure(_ld_figure(rows), caption="Landslide density (LD) per class; a good "
                      "map has LD rising from Very low to Very high.")
        x, y = summary_stats["curve"]
        auc = summary_stats["auc"]
        report.heading("Success-rate curve")
        report.paragraph(f"Area under the success-rate curve (AUC): {auc:.4f}.")
        report.note("The success-rate AUC counts landslide cells in the area too, so it is "
                    "a little below the ROC AUC of the same map (AUC_success = AUC_ROC × "
                    "(1 − p) + p / 2, p the landslide share of the area).")
        report.figure(_curve_figure(x, y, auc, class_points(rows)),
                      caption="Cells ranked from the highest susceptibility down: share of "
                              "the study area against the share of landslide area it holds. "
                              "Dots mark the class limits. With the inventory used for "
                              "training this is a success rate; with an independent "
                              "inventory it is a prediction rate.")
    else:
        report.note("No landslide inventory was given: no landslide statistics and no "
                    "success-rate curve.")
    report.heading("Values and map")
    report.figure(_histogram_figure(counts.histogram, raster.minimum, raster.maximum, breaks),
                  caption="Histogram of the susceptibility values coloured by class; dotted "
                          "lines are the breaks.")
    if counts.preview.size:
        step = counts.preview_step
        report.figure(_map_figure(counts.preview),
                      caption="The classified map" + (f" (every {step}th cell)"
                                                      if step > 1 else "") + ".")
    return report.write(path)
