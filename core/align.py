"""Align factor rasters into one factor stack (the paper's "Preprocessing of data").

Inputs may differ in CRS, resolution and extent. Each is warped with GDAL onto
the reference grid (CRS, resolution, origin): bilinear for continuous factors
(the paper), nearest neighbour for categorical ones, or mode when the output
cell is at least 1.5 times coarser than the input cell. The output extent is
the reference's (or the given extent, snapped to the reference grid), clipped
to where all factors have data. A pixel invalid in any factor is nodata in all
bands. Z-score statistics (mean, std over the valid pixels) are recorded in the
stack's metadata, not applied; see :mod:`.stack`.
"""

import os
import tempfile
from dataclasses import dataclass

import numpy as np
from osgeo import gdal

from .align_grid import (
    as_named,
    common_area,
    fmt_bounds,
    open_factor,
    reference_grid,
    resampling_for,
    snap_to_grid,
    transform_bounds,  # noqa: F401  (public here too)
    unique_names,
)
from .errors import InputError
from .files import atomic_output, ensure_writable_dir
from .progress import check_cancelled, gdal_callback, never_cancelled, no_progress, scaled
from .raster_io import gtiff_options
from .running_stats import RunningStats
from .stack import (
    DEFAULT_NODATA,
    BandInfo,
    band_valid,
    rows_per_block,
    write_stack_metadata,
)

MANY_CLASSES = 50  # a categorical factor with more classes is likely continuous: warn
MAX_CLASSES = 1000  # classes listed per categorical factor (the stack's CLASSES) at most
OUTPUT_WHAT = "factor stack (OUTPUT)"
MEM_LIMIT_VALUES = 64_000_000  # warped factors kept in memory below this many values


@dataclass
class ValidScan:
    """What the first pass over the warped factors found: valid pixels per factor,
    a non-integer value per categorical factor that has one, and the rows and
    columns holding a pixel valid in every factor."""

    valid_counts: np.ndarray
    bad_values: dict
    rows: np.ndarray
    cols: np.ndarray


def _check_request(factors, output):
    if not factors:
        raise InputError("No factors given: add at least one continuous or categorical "
                         "factor raster.")
    if os.path.splitext(str(output))[1].lower() not in (".tif", ".tiff"):
        raise InputError(f"The factor stack must be a GeoTIFF (.tif) so that it can carry "
                         f"its metadata; '{output}' is not.")


def _source_nodata(band):
    nodata = band.GetNoDataValue()
    if nodata is not None:
        return nodata
    if band.DataType in (gdal.GDT_Float32, gdal.GDT_Float64):
        return float("nan")
    return None


# --- warping -------------------------------------------------------------------

def _warp(factor, algorithm, grid, nodata, path, callback, is_cancelled):
    """The factor's band 1 warped onto ``grid`` (float32, filled with ``nodata``):
    in memory when ``path`` is None, else a GeoTIFF at ``path``."""
    driver = "MEM" if path is None else "GTiff"
    target = gdal.GetDriverByName(driver).Create(path or "", grid.width, grid.height, 1,
                                                 gdal.GDT_Float32)
    target.SetGeoTransform(grid.geotransform)
    target.SetProjection(grid.wkt)
    target.GetRasterBand(1).SetNoDataValue(nodata)
    target.GetRasterBand(1).Fill(nodata)
    options = gdal.WarpOptions(
        resampleAlg=algorithm, srcNodata=_source_nodata(factor.dataset.GetRasterBand(1)),
        dstNodata=nodata, callback=callback)
    source = factor.dataset
    if source.RasterCount > 1:  # GDAL < 3.7 has no srcBands: a one-band view
        source = gdal.Translate("", source, format="VRT", bandList=[1])
    done = gdal.Warp(target, source, options=options)
    check_cancelled(is_cancelled)
    if done is None:
        raise InputError(f"Warping the {factor.what} failed: {gdal.GetLastErrorMsg()}")
    target.FlushCache()
    return target


def _warp_factors(factors, resampling, grid, nodata, folder, progress, is_cancelled):
    """Every factor warped onto ``grid`` (see :func:`_warp`); in memory when
    ``folder`` is None, else as GeoTIFFs in ``folder``."""
    warped = []
    for number, factor in enumerate(factors):
        check_cancelled(is_cancelled)
        path = None if folder is None else os.path.join(folder, f"factor_{number}.tif")
        part = scaled(progress, 100.0 * number / len(factors),
                      100.0 * (number + 1) / len(factors))
        warped.append(_warp(factor, resampling[factor.name], grid, nodata, path,
                            gdal_callback(part, is_cancelled), is_cancelled))
    return warped


# --- the common valid window -----------------------------------------------------

def _non_integer(values):
    """A non-integer value among ``values``, or None."""
    wrong = values[values != np.round(values)]
    return float(wrong[0]) if wrong.size else None


def _scan_valid(warped, factors, grid, nodata, progress, is_cancelled):
    """First pass over the warped factors, block by block (see :class:`ValidScan`)."""
    width, height = grid.width, grid.height
    scan = ValidScan(np.zeros(len(factors), dtype=np.int64), {},
                     np.zeros(height, dtype=bool), np.zeros(width, dtype=bool))
    step = rows_per_block(width, len(factors))
    for row in range(0, height, step):
        check_cancelled(is_cancelled)
        rows = min(step, height - row)
        combined = np.ones((rows, width), dtype=bool)
        for slot, (factor, dataset) in enumerate(zip(factors, warped, strict=True)):
            values = dataset.GetRasterBand(1).ReadAsArray(0, row, width, rows)
            valid = band_valid(values, nodata)
            scan.valid_counts[slot] += int(valid.sum())
            combined &= valid
            if factor.categorical and factor.name not in scan.bad_values:
                wrong = _non_integer(values[valid])
                if wrong is not None:
                    scan.bad_values[factor.name] = wrong
        scan.rows[row:row + rows] = combined.any(axis=1)
        scan.cols |= combined.any(axis=0)
        progress(100.0 * (row + rows) / height)
    return scan


def _check_scan(scan, factors, area):
    """:class:`InputError` for an all-nodata factor, a non-integer categorical
    factor, or no pixel valid in all factors."""
    for slot, factor in enumerate(factors):
        if scan.valid_counts[slot] == 0:
            raise InputError(
                f"The {factor.what} has no valid pixels inside the common extent "
                f"{fmt_bounds(area)}: it is all nodata there. Check its nodata value "
                "and that it covers the study area.")
        if factor.name in scan.bad_values:
            raise InputError(
                f"The {factor.what} has non-integer values (e.g. "
                f"{scan.bad_values[factor.name]:g}); categorical factors need integer "
                "class codes. Reclassify it, or add it as a continuous factor.")
    if not scan.rows.any():
        raise InputError(
            "No common overlap: no pixel has valid data in all factors ("
            + ", ".join(f"{f.name}: {int(c)} valid"
                        for f, c in zip(factors, scan.valid_counts, strict=True))
            + "). Check the factors' extents and nodata.")


def _valid_window(scan, grid):
    """``((left, top), window)``: the smallest window of ``grid`` holding every
    pixel valid in all factors."""
    r_idx = np.nonzero(scan.rows)[0]
    c_idx = np.nonzero(scan.cols)[0]
    top, bottom = int(r_idx[0]), int(r_idx[-1]) + 1
    left, right = int(c_idx[0]), int(c_idx[-1]) + 1
    return (left, top), grid.window(left, top, right - left, bottom - top)


# --- the stack -------------------------------------------------------------------

def _copy_blocks(out, warped, factors, offset, nodata, progress, is_cancelled):
    """Copy the window at ``offset`` of the warped factors into ``out``, nodata
    wherever any factor is invalid. Returns per factor the statistics of the
    valid pixels (:class:`RunningStats`) and the classes seen (categorical
    factors, collected while there are at most :data:`MAX_CLASSES`)."""
    left, top = offset
    width, height = out.RasterXSize, out.RasterYSize
    stats = [RunningStats(1) for _ in factors]
    classes = [set() for _ in factors]
    step = rows_per_block(width, len(factors))
    for row in range(0, height, step):
        check_cancelled(is_cancelled)
        rows = min(step, height - row)
        block = np.empty((len(factors), rows, width), dtype=np.float32)
        combined = np.ones((rows, width), dtype=bool)
        for slot, dataset in enumerate(warped):
            block[slot] = dataset.GetRasterBand(1).ReadAsArray(left, top + row, width, rows)
            combined &= band_valid(block[slot], nodata)
        for slot, factor in enumerate(factors):
            values = block[slot][combined]
            stats[slot].add_flat(values)
            if values.size and factor.categorical and len(classes[slot]) <= MAX_CLASSES:
                classes[slot].update(np.unique(values).astype(np.int64).tolist())
            block[slot][~combined] = nodata
            out.GetRasterBand(slot + 1).WriteArray(block[slot], 0, row)
        progress(100.0 * (row + rows) / height)
    return stats, classes


def _band_infos(factors, stats, classes, nodata):
    """The stack's :class:`BandInfo` per factor."""
    bands = []
    for slot, factor in enumerate(factors):
        stat, found = stats[slot], classes[slot]
        std = float(stat.std[0]) if stat.count[0] else None
        bands.append(BandInfo(
            index=slot + 1, name=factor.name, categorical=factor.categorical,
            classes=sorted(found) if factor.categorical else [],
            class_names={k: v for k, v in factor.class_names.items() if k in found},
            mean=float(stat.mean[0]), std=std, valid_pixels=int(stat.count[0]),
            source=factor.path, nodata=nodata))
    return bands


def _band_warnings(factors, bands, classes):
    """Warnings about too many classes and constant factors."""
    warnings = []
    for factor, info, found in zip(factors, bands, classes, strict=True):
        if factor.categorical and len(found) > MANY_CLASSES:
            count = f"more than {MAX_CLASSES}" if len(found) > MAX_CLASSES else len(found)
            warnings.append(
                f"The categorical factor '{factor.name}' has {count} classes: is it "
                f"continuous? Categorical factors (land use, lithology) usually have a few "
                f"classes (more than {MANY_CLASSES} is unusual); each class is a category "
                "with no order. If its values are measurements (e.g. an integer DEM), add "
                "it to the continuous factors instead.")
        if info.std == 0:
            warnings.append(f"The factor '{factor.name}' is constant over the "
                            "stack; it carries no information.")
    return warnings


def _write_stack(output, warped, factors, offset, grid, nodata, progress, is_cancelled):
    """Write the factor stack GeoTIFF (data, nodata, metadata, band statistics) at
    ``output``; returns its bands (:class:`BandInfo`) and each factor's classes."""
    with atomic_output(str(output)) as tmp_out:
        out = gdal.GetDriverByName("GTiff").Create(
            tmp_out, grid.width, grid.height, len(factors), gdal.GDT_Float32,
            gtiff_options(float_data=True))
        if out is None:
            raise InputError(f"Cannot write the factor stack '{output}': "
                             f"{gdal.GetLastErrorMsg()}")
        out.SetGeoTransform(grid.geotransform)
        out.SetProjection(grid.wkt)
        stats, classes = _copy_blocks(out, warped, factors, offset, nodata, progress,
                                      is_cancelled)
        for slot in range(len(factors)):
            out.GetRasterBand(slot + 1).SetNoDataValue(nodata)
        bands = _band_infos(factors, stats, classes, nodata)
        write_stack_metadata(out, bands, nodata)
        for info, stat in zip(bands, stats, strict=True):  # after the metadata it extends
            out.GetRasterBand(info.index).SetStatistics(
                float(stat.minimum[0]), float(stat.maximum[0]), float(stat.mean[0]),
                float(info.std or 0))
        out.FlushCache()
        out = None
    return bands, classes


def align_factors(continuous, categorical, output, reference=None, extent=None,
                  nodata=DEFAULT_NODATA, progress=no_progress, is_cancelled=never_cancelled):
    """Warp the factors onto one grid and write the factor stack at ``output``.

    ``continuous``/``categorical``: lists of paths or ``(name, path)`` pairs.
    ``reference``: raster whose grid (CRS, origin, resolution, extent) is used;
    default the first continuous factor (else the first categorical one).
    ``extent``: optional ``(xmin, ymin, xmax, ymax)`` in the reference's CRS.
    Returns a dict describing the stack (``bands`` as :class:`BandInfo` dicts,
    ``warnings``, ``resampling`` per factor, grid and pixel counts).
    """
    factors = as_named(continuous, False) + as_named(categorical, True)
    _check_request(factors, output)
    folder = ensure_writable_dir(os.path.dirname(os.path.abspath(str(output))) or ".",
                                 f"folder of the {OUTPUT_WHAT}")  # before any work
    warnings = unique_names(factors)
    for factor in factors:
        open_factor(factor, warnings)
    ref = reference_grid(reference, factors[0], extent)
    area, footprints = common_area(ref, factors, extent is not None)
    grid = snap_to_grid(area, ref)
    resampling = {factor.name: resampling_for(factor, box, ref)
                  for factor, box in zip(factors, footprints, strict=True)}
    use_mem = grid.width * grid.height * len(factors) <= MEM_LIMIT_VALUES
    with tempfile.TemporaryDirectory(prefix=".align_", dir=None if use_mem else folder) as tmp:
        warped = _warp_factors(factors, resampling, grid, nodata, None if use_mem else tmp,
                               scaled(progress, 0, 60), is_cancelled)
        scan = _scan_valid(warped, factors, grid, nodata, scaled(progress, 60, 75),
                           is_cancelled)
        _check_scan(scan, factors, area)
        offset, stack_grid = _valid_window(scan, grid)
        bands, classes = _write_stack(output, warped, factors, offset, stack_grid, nodata,
                                      scaled(progress, 75, 100), is_cancelled)
        warnings += _band_warnings(factors, bands, classes)
        warped = None
    for factor in factors:
        factor.dataset = None
    progress(100)
    return {"output": str(output), "width": stack_grid.width, "height": stack_grid.height,
            "geotransform": stack_grid.geotransform, "crs_wkt": stack_grid.wkt,
            "nodata": nodata, "valid_pixels": bands[0].valid_pixels,
            "bands": [band.as_dict() for band in bands], "resampling": resampling,
            "warnings": warnings}
