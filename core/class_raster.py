"""Susceptibility classes, the raster side (``landslide:classifysusceptibility``).

numpy + GDAL only. The class breaks of the automatic methods come from
mapclassify, which runs in the engine process (``engine/commands/classify.py``);
this module prepares its input and classifies the raster, block by block:

1. :func:`summarize_raster` (one pass): valid cells, minimum, maximum, and a
   uniform random sample of at most ``sample_size`` valid values (every valid
   cell gets a random key from ``seed``; the smallest keys win, so the sample
   depends only on the seed and the data). When the sample is not the whole
   raster its first and last values are replaced by the raster's minimum and
   maximum (as ``mapclassify.FisherJenksSampled`` does), so equal interval and
   the outer classes span the full range. :func:`write_sample` saves it for
   the engine.
2. The four inner breaks ``b1 < b2 < b3 < b4``: from the engine, or manual
   (:func:`.class_statistics.parse_breaks`).
3. :func:`classify_raster` (one pass): writes the Byte GeoTIFF (0 = nodata,
   1..5 = "Very low" … "Very high", with a colour table and category names so
   that any GIS shows the colours) atomically, and counts the classes
   (:class:`.class_counts.ClassTally`).

The statistics are in :mod:`.class_statistics`, the report in :mod:`.class_report`.
"""

import math
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal

from .class_counts import ClassTally
from .class_statistics import (
    CLASS_COLOURS,
    CLASS_NAMES,
    check_breaks,
    classify_values,
)
from .errors import InputError
from .files import atomic_output
from .progress import check_cancelled, never_cancelled, no_progress
from .raster_io import GTIFF_OPTIONS
from .specs.maps import CLASS_SAMPLE_SEED as SAMPLE_SEED
from .specs.maps import CLASS_SAMPLE_SIZE as SAMPLE_SIZE
from .stack import RasterGrid, band_valid, open_raster

BLOCK_CELLS = 4_000_000  # cells read per block


# ----------------------------------------------------------------- raster summary


@dataclass
class RasterSummary(RasterGrid):
    """What :func:`summarize_raster` found; also a grid for
    :func:`.inventory.inventory_mask`."""

    valid: int
    minimum: float
    maximum: float
    sample: np.ndarray
    sample_is_complete: bool
    warnings: list = field(default_factory=list)


class _RandomSample:
    """A uniform random sample of at most ``size`` values: every value gets a
    random key from ``seed``; the smallest keys win."""

    def __init__(self, size, seed):
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.keys = np.empty(0)
        self.values = np.empty(0)

    def add(self, found):
        new_keys = self.rng.random(found.size)
        if self.keys.size >= self.size:  # only keys below the current cut can win
            wins = new_keys < self.keys.max()
            new_keys, found = new_keys[wins], found[wins]
        self.keys = np.concatenate([self.keys, new_keys])
        self.values = np.concatenate([self.values, found])
        if self.keys.size > 2 * self.size:
            self._keep_smallest()

    def _keep_smallest(self):
        keep = np.argpartition(self.keys, self.size - 1)[:self.size]
        self.keys, self.values = self.keys[keep], self.values[keep]

    def result(self):
        """The sampled values in the order of their keys."""
        if self.keys.size > self.size:
            self._keep_smallest()
        return self.values[np.argsort(self.keys, kind="stable")]


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


def summarize_raster(path, sample_size=SAMPLE_SIZE, seed=SAMPLE_SEED, progress=no_progress,
                     is_cancelled=never_cancelled):
    """Count, range and a random sample of the valid values of band 1 (one pass).

    Raises :class:`InputError` when the raster has no valid cell or one value only.
    """
    dataset, band = open_susceptibility(path)
    width, height = dataset.RasterXSize, dataset.RasterYSize
    nodata = band.GetNoDataValue()
    sample = _RandomSample(sample_size, seed)
    valid_count = 0
    minimum, maximum = math.inf, -math.inf
    step = _block_rows(width)
    for row in range(0, height, step):
        check_cancelled(is_cancelled)
        rows = min(step, height - row)
        block = _read(band, path, row, rows, width)
        found = block[band_valid(block, nodata)]
        valid_count += found.size
        if found.size:
            minimum = min(minimum, float(found.min()))
            maximum = max(maximum, float(found.max()))
            sample.add(found)
        progress(100.0 * (row + rows) / height)
    _check_values(path, valid_count, minimum, maximum)
    values = sample.result()
    complete = values.size == valid_count
    if not complete and values.size >= 2:
        values[0], values[-1] = minimum, maximum
    return RasterSummary(path=str(path), width=width, height=height,
                         geotransform=tuple(dataset.GetGeoTransform()),
                         crs_wkt=dataset.GetProjection() or "", nodata=nodata,
                         valid=int(valid_count), minimum=minimum, maximum=maximum,
                         sample=values, sample_is_complete=complete,
                         warnings=_summary_warnings(dataset, minimum, maximum))


def _check_values(path, valid_count, minimum, maximum):
    if valid_count == 0:
        raise InputError(f"The susceptibility raster '{path}' is empty: it has no valid cell "
                         "(all cells are nodata or not finite).")
    if minimum == maximum:
        raise InputError(f"The susceptibility raster '{path}' has one value only "
                         f"({minimum:g}) in its {valid_count} valid cells; there is nothing "
                         "to classify.")


def _summary_warnings(dataset, minimum, maximum):
    warnings = []
    if dataset.RasterCount > 1:
        warnings.append(f"The susceptibility raster has {dataset.RasterCount} bands; only "
                        "band 1 is classified.")
    if minimum < 0 or maximum > 1:
        warnings.append(f"The susceptibility values span {minimum:g} … {maximum:g}, not "
                        "0 … 1: they are classified as they are (not as probabilities).")
    return warnings


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


# ----------------------------------------------------------------- classification


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


def _check_classify_inputs(output, landslides, summary):
    if not str(output).lower().endswith((".tif", ".tiff")):
        raise InputError(f"The classes raster '{output}' must be a GeoTIFF (.tif).")
    if landslides is not None and landslides.shape != summary.shape:
        raise InputError("The landslide mask does not match the susceptibility raster's grid.")


def classify_raster(path, breaks, output, summary=None, landslides=None, method="manual",
                    area=None, progress=no_progress, is_cancelled=never_cancelled):
    """Write the classes of ``path`` to the GeoTIFF ``output`` and count them.

    ``landslides``: optional boolean array on the raster's grid (e.g.
    :func:`.inventory.inventory_mask`'s ``mask``); ``area``: optional boolean
    array, the mapped area (only its cells are counted). Returns
    :class:`.class_counts.ClassCounts`.
    """
    breaks = check_breaks(breaks)
    if summary is None:
        summary = summarize_raster(path, sample_size=1)
    _check_classify_inputs(output, landslides, summary)
    dataset, band = open_susceptibility(path)
    width, height = summary.width, summary.height
    tally = ClassTally(summary, with_landslides=landslides is not None, area=area)
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
            tally.add(row, classes, values, valid,
                      None if landslides is None else landslides[row:row + rows])
            progress(100.0 * (row + rows) / height)
        check_cancelled(is_cancelled)
        out.FlushCache()
        out_band = out = None
    return tally.result()
