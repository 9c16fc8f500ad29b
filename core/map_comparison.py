"""Susceptibility maps compared against one landslide inventory (``landslide:comparemaps``),
and the susceptibility inside historical landslides (also in the classification report).

numpy + GDAL only; runs in the QGIS process. Each map is read block by block
(:data:`.class_raster.BLOCK_CELLS` cells at a time) on the first map's grid
(:mod:`.map_alignment`). Per map, with one class method applied to every map:

- the susceptibility inside historical landslides: mean, median, SD (population,
  ``ddof = 0``) and MAD (median absolute deviation from the median, unscaled) over
  the landslide cells, and the same over the landslides' mean values (one value per
  landslide: :mod:`.landslide_labels`). The paper's best map has the highest mean
  and the lowest SD and MAD there. The values at landslide cells are kept
  (memory grows with the landslide cells, not with the grid);
- the classes (:mod:`.class_statistics`, :class:`.class_counts.ClassTally`): LD per
  class, the landslide share in High + Very high, the area share of Very high;
- the success-rate curve and AUC, and with an independent validation inventory the
  prediction-rate curve and AUC, on quantile bins (:mod:`.rate_curves`);
- the Spearman rank correlation between every two maps, on a uniform random sample
  of cells valid in all maps (``sample_size`` cells drawn from the grid, seed
  ``seed``), not on every cell.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from .class_counts import PREVIEW_SIZE, ClassTally
from .class_raster import BLOCK_CELLS, landslide_mask, open_susceptibility, summarize_raster
from .class_statistics import CLASS_NAMES, class_statistics
from .errors import InputError
from .landslide_labels import landslide_labels
from .map_alignment import align_maps
from .progress import check_cancelled, never_cancelled, no_progress, scaled
from .rate_curves import RateCurves
from .specs.map_comparison import SPEARMAN_SAMPLE, SPEARMAN_SEED
from .specs.maps import CLASS_SAMPLE_SEED, CLASS_SAMPLE_SIZE
from .stack import band_valid

STATISTICS = ("mean", "median", "sd", "mad")
MAP_PREVIEW_SIZE = min(PREVIEW_SIZE, 400)  # largest side of a map in the report, in cells
TABLE_COLUMNS = (
    [("map", str), ("landslide_cells", int), ("landslides", int)]
    + [(f"cell_{name}", float) for name in STATISTICS]
    + [(f"slide_{name}", float) for name in STATISTICS]
    + [("success_auc", float), ("prediction_auc", float), ("high_landslide_share", float),
       ("very_high_area_share", float)]
    + [(f"ld_{name.lower().replace(' ', '_')}", float) for name in CLASS_NAMES])


# ----------------------------------------------------------------- statistics


def describe(values):
    """``{"mean", "median", "sd", "mad"}`` of ``values`` (NaN when empty); SD with
    ``ddof = 0``, MAD = median(|x - median(x)|)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        return dict.fromkeys(STATISTICS, math.nan)
    median = float(np.median(values))
    return {"mean": float(values.mean()), "median": median, "sd": float(values.std()),
            "mad": float(np.median(np.abs(values - median)))}


def landslide_means(values, labels):
    """The mean of ``values`` per landslide (``labels`` numbered from 0; landslides
    without a value are left out)."""
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size == 0:
        return np.zeros(0)
    sums = np.bincount(labels, weights=np.asarray(values, dtype=np.float64))
    counts = np.bincount(labels)
    return sums[counts > 0] / counts[counts > 0]


def in_landslide_statistics(values, labels=None):
    """The susceptibility inside landslides: ``{"cells", "cell": describe(values),
    "landslides", "slide": describe(per-landslide means)}`` (``labels`` None: no
    per-landslide figures)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    means = landslide_means(values, labels) if labels is not None else np.zeros(0)
    return {"cells": int(values.size), "cell": describe(values),
            "landslides": int(means.size) if labels is not None else None,
            "slide": describe(means)}


def spearman_matrix(samples):
    """Spearman rank correlations (mid-ranks for ties) between the columns of
    ``samples`` [n, maps]; NaN where a column is constant."""
    samples = np.asarray(samples, dtype=np.float64)
    ranks = np.column_stack([_mid_ranks(column) for column in samples.T]) \
        if samples.size else np.zeros((0, samples.shape[1]))
    count = samples.shape[1]
    matrix = np.eye(count)
    for i in range(count):
        for j in range(i + 1, count):
            a, b = ranks[:, i] - ranks[:, i].mean(), ranks[:, j] - ranks[:, j].mean()
            scale = math.sqrt(float(a @ a) * float(b @ b))
            matrix[i, j] = matrix[j, i] = float(a @ b) / scale if scale > 0 else math.nan
    return matrix


def _mid_ranks(values):
    ordered = np.sort(values, kind="stable")
    left = np.searchsorted(ordered, values, side="left")
    right = np.searchsorted(ordered, values, side="right")
    return (left + right + 1) / 2.0


# ----------------------------------------------------------------- one map


@dataclass
class MapResult:
    """What :func:`compare_maps` found for one map."""

    name: str
    source: str
    resampled: bool
    summary: object  # .class_raster.RasterSummary
    breaks: list
    rows: list  # .class_statistics.class_table rows
    stats: dict  # its summary, with "curve" and "auc"
    inside: dict  # in_landslide_statistics
    prediction: dict | None  # {"curve", "auc"} of the validation inventory
    preview: np.ndarray  # decimated values (NaN = nodata)
    warnings: list = field(default_factory=list)

    def table_row(self):
        """The values of :data:`TABLE_COLUMNS`."""
        inside, rows = self.inside, self.rows
        very_high = rows[-1]["area_share"] if rows else math.nan
        return ([self.name, inside["cells"], inside["landslides"]]
                + [inside["cell"][name] for name in STATISTICS]
                + [inside["slide"][name] for name in STATISTICS]
                + [self.stats.get("auc", math.nan),
                   self.prediction["auc"] if self.prediction else math.nan,
                   self.stats.get("high_landslide_share", math.nan), very_high]
                + [row["ld"] for row in rows])


@dataclass
class _Inventory:
    mask: np.ndarray
    labels: np.ndarray  # landslide number of each mask cell, row-major
    validation: np.ndarray | None
    sample: np.ndarray  # flat cell indexes of the Spearman sample, sorted


class _Scan:
    """The running figures of one map over its blocks of rows."""

    def __init__(self, summary, inventory):
        self.inventory = inventory
        self.tally = ClassTally(summary, with_landslides=True)
        self.check = None if inventory.validation is None else ClassTally(summary, True)
        self.rates = RateCurves(summary.sample, sets=1 if self.check is None else 2)
        self.values, self.labels, self.sampled = [], [], []
        self.offset = 0
        self.step = max(1, math.ceil(max(summary.width, summary.height) / MAP_PREVIEW_SIZE))
        self.preview = []

    def add(self, row, block, valid, classes):
        inv = self.inventory
        slides = inv.mask[row:row + block.shape[0]]
        values = block[valid]
        self.tally.add(row, classes, values, valid, slides)
        flags = [slides[valid]]
        if self.check is not None:
            checked = inv.validation[row:row + block.shape[0]]
            self.check.add(row, classes, values, valid, checked)
            flags.append(checked[valid])
        self.rates.add(values, *flags)
        count = int(slides.sum())
        labels = inv.labels[self.offset:self.offset + count]
        self.offset += count
        inside = valid[slides]
        self.values.append(block[slides][inside].astype(np.float32))
        self.labels.append(labels[inside])
        self._sample(row, block, valid)
        picked = np.arange(row, row + block.shape[0])
        picked = picked[picked % self.step == 0] - row
        self.preview.append(np.where(valid, block, np.nan)[picked, ::self.step]
                            .astype(np.float32))

    def _sample(self, row, block, valid):
        width = block.shape[1]
        start, stop = np.searchsorted(self.inventory.sample,
                                      [row * width, (row + block.shape[0]) * width])
        cells = self.inventory.sample[start:stop] - row * width
        self.sampled.append(np.where(valid.ravel()[cells], block.ravel()[cells], np.nan))

    def result(self, raster, summary, breaks):
        """The :class:`MapResult`; a map without a landslide on its valid cells gets
        NaN figures and a warning."""
        warnings = []
        try:
            counts = self.tally.result()
            rows, stats = class_statistics(counts)
            stats.update(self.rates.curve(0))  # quantile bins: see .rate_curves
            warnings += counts.warnings
        except InputError:
            rows, stats = [], {"auc": math.nan, "high_landslide_share": math.nan,
                               "curve": None}
            warnings.append(f"No landslide falls on a valid cell of the map '{raster.name}': "
                            "its landslide figures are empty.")
        prediction = None
        if self.check is not None:
            try:
                self.check.result()
                prediction = self.rates.curve(1)
            except InputError:
                warnings.append(f"No landslide of the validation inventory falls on a valid "
                                f"cell of the map '{raster.name}': no prediction rate.")
        values = np.concatenate(self.values) if self.values else np.zeros(0, np.float32)
        labels = np.concatenate(self.labels) if self.labels else np.zeros(0, np.int64)
        return MapResult(name=raster.name, source=raster.source, resampled=raster.resampled,
                         summary=summary, breaks=list(breaks), rows=rows, stats=stats,
                         inside=in_landslide_statistics(values, labels),
                         prediction=prediction, preview=np.concatenate(self.preview),
                         warnings=warnings)


def scan_map(raster, summary, breaks, inventory, progress=no_progress,
             is_cancelled=never_cancelled):
    """One pass over ``raster`` (a :class:`.map_alignment.MapRaster`): its
    :class:`MapResult` and its values at the Spearman sample."""
    from .class_statistics import classify_values

    _dataset, band = open_susceptibility(raster.path)
    scan = _Scan(summary, inventory)
    width, height = summary.width, summary.height
    step = max(1, BLOCK_CELLS // max(1, width))
    for row in range(0, height, step):
        check_cancelled(is_cancelled)
        rows = min(step, height - row)
        block = band.ReadAsArray(0, row, width, rows)
        if block is None:
            raise InputError(f"Cannot read rows {row}–{row + rows} of the map "
                             f"'{raster.name}' ({raster.source}).")
        block = block.astype(np.float64, copy=False)
        valid = band_valid(block, summary.nodata)
        classes = np.zeros(block.shape, np.uint8)
        classes[valid] = classify_values(block[valid], breaks)
        scan.add(row, block, valid, classes)
        progress(100.0 * (row + rows) / height)
    sampled = np.concatenate(scan.sampled) if scan.sampled else np.zeros(0)
    return scan.result(raster, summary, breaks), sampled


# ----------------------------------------------------------------- all maps


@dataclass
class Comparison:
    """What :func:`compare_maps` found."""

    maps: list  # MapResult, in the order given
    grid: object  # .map_alignment.Grid of the first map
    spearman: np.ndarray
    spearman_cells: int
    landslide_cells: int
    landslides: int
    landslides_are: str  # "polygons", "connected cells"
    validation_cells: int | None
    inventory_preview: np.ndarray
    validation_preview: np.ndarray | None
    preview_step: int
    warnings: list = field(default_factory=list)

    def table_rows(self):
        return [result.table_row() for result in self.maps]


def compare_maps(paths, names, inventory, breaks_of, validation=None, layer_name=None,
                 kind=None, validation_layer=None, validation_kind=None,
                 sample_size=SPEARMAN_SAMPLE, seed=SPEARMAN_SEED, log=None,
                 progress=no_progress, is_cancelled=never_cancelled):
    """Compare the susceptibility maps ``paths`` (named ``names``) against the
    ``inventory`` (and an independent ``validation`` inventory).

    ``breaks_of(summary, name)``: the four inner class breaks of a map from its
    :class:`.class_raster.RasterSummary` (one class method for every map).
    ``log(message)``: notes as they come (maps resampled). Returns :class:`Comparison`.
    """
    log = log or (lambda _message: None)
    maps, grid = align_maps(paths, names, log)
    try:
        summaries = [_summary(raster, names[0]) for raster in maps]
        progress(10)
        check_cancelled(is_cancelled)
        inv, found = _inventory(summaries[0], inventory, layer_name, kind, validation,
                                validation_layer, validation_kind, sample_size, seed)
        progress(20)
        results, sampled = [], []
        for index, (raster, summary) in enumerate(zip(maps, summaries, strict=True)):
            part = scaled(progress, 20 + 80 * index / len(maps),
                          20 + 80 * (index + 1) / len(maps))
            result, values = scan_map(raster, summary, breaks_of(summary, raster.name), inv,
                                      progress=part, is_cancelled=is_cancelled)
            results.append(result)
            sampled.append(values)
    finally:
        for raster in maps:
            raster.release()
    return _comparison(results, grid, sampled, inv, found)


def _summary(raster, first_name):
    """:func:`.class_raster.summarize_raster` of one map; a resampled map without a
    valid cell lies outside the first map."""
    try:
        return summarize_raster(raster.path, sample_size=CLASS_SAMPLE_SIZE,
                                seed=CLASS_SAMPLE_SEED)
    except InputError as exc:
        if raster.resampled and "no valid cell" in str(exc):
            raise InputError(f"The susceptibility map '{raster.name}' ({raster.source}) has "
                             f"no valid cell inside the extent of the first map "
                             f"'{first_name}': it covers another area and cannot be "
                             "compared. Choose maps of the same area.") from exc
        raise InputError(str(exc).replace(raster.path, raster.source)) from exc


def _inventory(grid, inventory, layer_name, kind, validation, validation_layer,
               validation_kind, sample_size, seed):
    """The landslide cells, their landslide numbers, the validation cells and the
    Spearman sample on ``grid``; ``(_Inventory, facts)``."""
    found = landslide_mask(inventory, grid, layer_name=layer_name, kind=kind)
    labels, count, how = landslide_labels(inventory, grid, found.mask, layer_name, kind)
    checked = None
    if validation:
        checked = landslide_mask(validation, grid, layer_name=validation_layer,
                                 kind=validation_kind).mask
    total = grid.width * grid.height
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(total, size=min(int(sample_size), total), replace=False))
    facts = {"cells": found.pixels, "landslides": count, "how": how,
             "warnings": list(found.warnings),
             "validation_cells": None if checked is None else int(checked.sum())}
    return _Inventory(found.mask, labels, checked, sample), facts


def pooled(mask, step):
    """``mask`` decimated by ``step`` keeping a cell when any cell of its block is set."""
    if step <= 1:
        return mask.copy()
    rows, cols = -(-mask.shape[0] // step), -(-mask.shape[1] // step)
    padded = np.zeros((rows * step, cols * step), bool)
    padded[:mask.shape[0], :mask.shape[1]] = mask
    return padded.reshape(rows, step, cols, step).any(axis=(1, 3))


def _comparison(results, grid, sampled, inv, found):
    if all(not result.rows for result in results):
        raise InputError("No landslide of the inventory falls on a valid cell of any of the "
                         "susceptibility maps: check the inventory's location and CRS, and "
                         "that the maps cover the landslides.")
    samples = np.column_stack(sampled)
    samples = samples[np.all(np.isfinite(samples), axis=1)]
    step = max(1, math.ceil(max(grid.width, grid.height) / MAP_PREVIEW_SIZE))
    warnings = list(found["warnings"])
    for result in results:
        warnings += result.warnings
    if samples.shape[0] < 3 and len(results) > 1:
        warnings.append("Fewer than 3 sampled cells are valid in every map: no Spearman "
                        "correlation.")
    return Comparison(
        maps=results, grid=grid, spearman=spearman_matrix(samples) if samples.shape[0] >= 3
        else np.full((len(results),) * 2, math.nan), spearman_cells=int(samples.shape[0]),
        landslide_cells=found["cells"], landslides=found["landslides"],
        landslides_are=found["how"], validation_cells=found["validation_cells"],
        inventory_preview=pooled(inv.mask, step),
        validation_preview=None if inv.validation is None else pooled(inv.validation, step),
        preview_step=step, warnings=warnings)


def raster_in_landslide_statistics(path, mask, labels=None, progress=no_progress,
                                   is_cancelled=never_cancelled):
    """:func:`in_landslide_statistics` of band 1 of the raster ``path`` at the cells of
    ``mask`` (boolean, the raster's grid; ``labels``: the landslide of each mask cell,
    row-major, or None), read block by block (the classification report)."""
    dataset, band = open_susceptibility(path)
    width, height = dataset.RasterXSize, dataset.RasterYSize
    nodata = band.GetNoDataValue()
    step = max(1, BLOCK_CELLS // max(1, width))
    values, kept, offset = [], [], 0
    for row in range(0, height, step):
        check_cancelled(is_cancelled)
        rows = min(step, height - row)
        slides = mask[row:row + rows]
        count = int(slides.sum())
        if count:
            found = band.ReadAsArray(0, row, width, rows)[slides].astype(np.float64)
            valid = band_valid(found, nodata)
            values.append(found[valid])
            if labels is not None:
                kept.append(labels[offset:offset + count][valid])
        offset += count
        progress(100.0 * (row + rows) / height)
    values = np.concatenate(values) if values else np.zeros(0)
    return in_landslide_statistics(values, None if labels is None else
                                   (np.concatenate(kept) if kept else np.zeros(0, np.int64)))
