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

import json
import math
import os
import tempfile

import numpy as np
from osgeo import gdal, osr

from .errors import InputError
from .files import atomic_output
from .progress import check_cancelled, never_cancelled, no_progress, scaled
from .raster_io import gtiff_options
from .stack import (
    DEFAULT_NODATA,
    BandInfo,
    band_valid,
    open_raster,
    rows_per_block,
    write_stack_metadata,
)

MODE_RATIO = 1.5  # categorical: mode instead of nearest when cells grow this much
MAX_CLASSES = 1000
MEM_LIMIT_VALUES = 64_000_000  # warped factors kept in memory below this many values


def _as_named(items, categorical):
    named = []
    for item in items or []:
        if isinstance(item, tuple | list):
            name, path = item
        else:
            path = item
            name = os.path.splitext(os.path.basename(str(path)))[0]
        named.append({"name": str(name), "path": str(path), "categorical": categorical})
    return named


def _srs(dataset, what):
    srs = dataset.GetSpatialRef()
    if srs is None:
        raise InputError(f"The {what} has no coordinate reference system. Assign one "
                         "(Layer Properties > Source, or 'Assign projection') and run again.")
    srs = srs.Clone()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


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


def _fmt_bounds(b):
    return f"({b[0]:.6g}, {b[1]:.6g}) – ({b[2]:.6g}, {b[3]:.6g})"


def _source_nodata(band):
    nodata = band.GetNoDataValue()
    if nodata is not None:
        return nodata
    if band.DataType in (gdal.GDT_Float32, gdal.GDT_Float64):
        return float("nan")
    return None


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
    factors = _as_named(continuous, False) + _as_named(categorical, True)
    if not factors:
        raise InputError("No factors given: add at least one continuous or categorical "
                         "factor raster.")
    if os.path.splitext(str(output))[1].lower() not in (".tif", ".tiff"):
        raise InputError(f"The factor stack must be a GeoTIFF (.tif) so that it can carry "
                         f"its metadata; '{output}' is not.")
    warnings = []
    seen = {}
    for factor in factors:
        base = factor["name"]
        if base in seen:
            seen[base] += 1
            factor["name"] = f"{base}_{seen[base]}"
            warnings.append(f"Two factors are named '{base}'; the second is called "
                            f"'{factor['name']}'.")
        else:
            seen[base] = 1

    # --- open inputs and the reference grid ----------------------------------
    for factor in factors:
        kind = "categorical" if factor["categorical"] else "continuous"
        what = f"{kind} factor '{factor['name']}' ({factor['path']})"
        factor["what"] = what
        factor["ds"] = open_raster(factor["path"], what)
        if factor["ds"].GetGeoTransform(can_return_null=True) is None:
            raise InputError(f"The {what} has no georeferencing; it cannot be aligned.")
        factor["srs"] = _srs(factor["ds"], what)
        if factor["ds"].RasterCount > 1:
            warnings.append(f"The {what} has {factor['ds'].RasterCount} bands; only band 1 "
                            "is used.")
    if reference:
        ref_ds = open_raster(reference, "reference raster")
        ref_what = f"reference raster '{reference}'"
    else:
        ref_ds = factors[0]["ds"]
        ref_what = f"reference raster (the first factor, '{factors[0]['name']}')"
    if ref_ds.GetGeoTransform(can_return_null=True) is None:
        raise InputError(f"The {ref_what} has no georeferencing.")
    ref_srs = _srs(ref_ds, ref_what)
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

    # --- common overlap of the footprints -------------------------------------
    for factor in factors:
        box = transform_bounds(_bounds(factor["ds"]), factor["srs"], ref_srs)
        factor["bounds"] = box
        common = _intersect(area, box) if box else None
        if common is None:
            raise InputError(
                f"No common overlap: the {factor['what']} does not overlap the "
                f"{'extent' if extent is not None else 'reference extent'} "
                f"{_fmt_bounds(area)} (its extent there: "
                f"{_fmt_bounds(box) if box else 'not transformable'}). Check its location "
                "and coordinate reference system.")
        area = common

    # Snap to the reference grid (inward), as a window relative to the origin.
    eps = 1e-6
    col0 = math.ceil((area[0] - x0) / dx - eps)
    col1 = math.floor((area[2] - x0) / dx + eps)
    row0 = math.ceil((y0 - area[3]) / dy - eps)
    row1 = math.floor((y0 - area[1]) / dy + eps)
    if col1 <= col0 or row1 <= row0:
        raise InputError("No common overlap: the factors overlap in less than one cell of "
                         f"the reference grid ({_fmt_bounds(area)}).")
    width, height = col1 - col0, row1 - row0
    grid_gt = (x0 + col0 * dx, dx, 0.0, y0 - row0 * dy, 0.0, -dy)
    ref_wkt = ref_srs.ExportToWkt()

    # --- warp every factor onto the grid --------------------------------------
    use_mem = width * height * len(factors) <= MEM_LIMIT_VALUES
    warp_progress = scaled(progress, 0, 60)
    folder = os.path.dirname(os.path.abspath(str(output))) or "."
    os.makedirs(folder, exist_ok=True)
    resampling = {}
    with tempfile.TemporaryDirectory(prefix=".align_", dir=None if use_mem else folder) as tmp:
        for number, factor in enumerate(factors):
            check_cancelled(is_cancelled)
            src_band = factor["ds"].GetRasterBand(1)
            algorithm = "bilinear"
            if factor["categorical"]:
                box = factor["bounds"]
                src_dx = (box[2] - box[0]) / factor["ds"].RasterXSize
                src_dy = (box[3] - box[1]) / factor["ds"].RasterYSize
                ratio = math.sqrt((dx * dy) / max(src_dx * src_dy, 1e-300))
                algorithm = "mode" if ratio >= MODE_RATIO else "near"
                factor["class_names"] = _class_names(src_band)
            resampling[factor["name"]] = algorithm
            driver = "MEM" if use_mem else "GTiff"
            path = "" if use_mem else os.path.join(tmp, f"factor_{number}.tif")
            target = gdal.GetDriverByName(driver).Create(path, width, height, 1,
                                                         gdal.GDT_Float32)
            target.SetGeoTransform(grid_gt)
            target.SetProjection(ref_wkt)
            target.GetRasterBand(1).SetNoDataValue(nodata)
            target.GetRasterBand(1).Fill(nodata)
            src_nodata = _source_nodata(src_band)
            part = scaled(warp_progress, 100.0 * number / len(factors),
                          100.0 * (number + 1) / len(factors))

            def callback(complete, _message, _data, part=part):
                part(100.0 * complete)
                return 0 if is_cancelled() else 1

            options = gdal.WarpOptions(
                resampleAlg=algorithm,
                srcNodata=src_nodata, dstNodata=nodata,
                callback=callback)
            source = factor["ds"]
            if source.RasterCount > 1:  # GDAL < 3.7 has no srcBands: a one-band view
                source = gdal.Translate("", source, format="VRT", bandList=[1])
            done = gdal.Warp(target, source, options=options)
            check_cancelled(is_cancelled)
            if done is None:
                raise InputError(f"Warping the {factor['what']} failed: "
                                 f"{gdal.GetLastErrorMsg()}")
            target.FlushCache()
            factor["warped"] = target

        # --- pass 1: common valid area, per-factor checks -------------------------
        check_progress = scaled(progress, 60, 75)
        step = rows_per_block(width, len(factors))
        valid_counts = np.zeros(len(factors), dtype=np.int64)
        bad_values = {}
        any_rows = np.zeros(height, dtype=bool)
        any_cols = np.zeros(width, dtype=bool)
        for row in range(0, height, step):
            check_cancelled(is_cancelled)
            rows = min(step, height - row)
            combined = np.ones((rows, width), dtype=bool)
            for slot, factor in enumerate(factors):
                values = factor["warped"].GetRasterBand(1).ReadAsArray(0, row, width, rows)
                valid = band_valid(values, nodata)
                valid_counts[slot] += int(valid.sum())
                combined &= valid
                if factor["categorical"] and factor["name"] not in bad_values:
                    picked = values[valid]
                    wrong = picked[picked != np.round(picked)]
                    if wrong.size:
                        bad_values[factor["name"]] = float(wrong[0])
            any_rows[row:row + rows] = combined.any(axis=1)
            any_cols |= combined.any(axis=0)
            check_progress(100.0 * (row + rows) / height)
        for slot, factor in enumerate(factors):
            if valid_counts[slot] == 0:
                raise InputError(
                    f"The {factor['what']} has no valid pixels inside the common extent "
                    f"{_fmt_bounds(area)}: it is all nodata there. Check its nodata value "
                    "and that it covers the study area.")
            if factor["name"] in bad_values:
                raise InputError(
                    f"The {factor['what']} has non-integer values (e.g. "
                    f"{bad_values[factor['name']]:g}); categorical factors need integer "
                    "class codes. Reclassify it, or add it as a continuous factor.")
        if not any_rows.any():
            raise InputError(
                "No common overlap: no pixel has valid data in all factors ("
                + ", ".join(f"{f['name']}: {int(c)} valid"
                            for f, c in zip(factors, valid_counts, strict=True))
                + "). Check the factors' extents and nodata.")
        r_idx = np.nonzero(any_rows)[0]
        c_idx = np.nonzero(any_cols)[0]
        top, bottom = int(r_idx[0]), int(r_idx[-1]) + 1
        left, right = int(c_idx[0]), int(c_idx[-1]) + 1
        out_w, out_h = right - left, bottom - top
        out_gt = (grid_gt[0] + left * dx, dx, 0.0, grid_gt[3] - top * dy, 0.0, -dy)

        # --- pass 2: write the stack, statistics ------------------------------
        write_progress = scaled(progress, 75, 100)
        count = np.zeros(len(factors), dtype=np.int64)
        mean = np.zeros(len(factors))
        m2 = np.zeros(len(factors))
        low = np.full(len(factors), np.inf)
        high = np.full(len(factors), -np.inf)
        classes = [set() for _ in factors]
        with atomic_output(str(output)) as tmp_out:
            out = gdal.GetDriverByName("GTiff").Create(
                tmp_out, out_w, out_h, len(factors), gdal.GDT_Float32,
                gtiff_options(float_data=True))
            if out is None:
                raise InputError(f"Cannot write the factor stack '{output}': "
                                 f"{gdal.GetLastErrorMsg()}")
            out.SetGeoTransform(out_gt)
            out.SetProjection(ref_wkt)
            step = rows_per_block(out_w, len(factors))
            for row in range(0, out_h, step):
                check_cancelled(is_cancelled)
                rows = min(step, out_h - row)
                block = np.empty((len(factors), rows, out_w), dtype=np.float32)
                combined = np.ones((rows, out_w), dtype=bool)
                for slot, factor in enumerate(factors):
                    block[slot] = factor["warped"].GetRasterBand(1).ReadAsArray(
                        left, top + row, out_w, rows)
                    combined &= band_valid(block[slot], nodata)
                n = int(combined.sum())
                for slot in range(len(factors)):
                    values = block[slot][combined].astype(np.float64)
                    if n:
                        # Chan et al.'s parallel update of mean and sum of squares.
                        block_mean = values.mean()
                        block_m2 = float(((values - block_mean) ** 2).sum())
                        delta = block_mean - mean[slot]
                        total = count[slot] + n
                        mean[slot] += delta * n / total
                        m2[slot] += block_m2 + delta * delta * count[slot] * n / total
                        count[slot] = total
                        low[slot] = min(low[slot], values.min())
                        high[slot] = max(high[slot], values.max())
                        if factors[slot]["categorical"] and len(classes[slot]) <= MAX_CLASSES:
                            classes[slot].update(np.unique(values).astype(np.int64).tolist())
                    band_values = block[slot]
                    band_values[~combined] = nodata
                    out.GetRasterBand(slot + 1).WriteArray(band_values, 0, row)
                write_progress(100.0 * (row + rows) / out_h)
            bands = []
            for slot, factor in enumerate(factors):
                band = out.GetRasterBand(slot + 1)
                band.SetNoDataValue(nodata)
                std = math.sqrt(m2[slot] / count[slot]) if count[slot] else None
                if factor["categorical"] and len(classes[slot]) > MAX_CLASSES:
                    warnings.append(f"The categorical factor '{factor['name']}' has more than "
                                    f"{MAX_CLASSES} classes; is it really categorical?")
                if std == 0:
                    warnings.append(f"The factor '{factor['name']}' is constant over the "
                                    "stack; it carries no information.")
                names = factor.get("class_names") or {}
                bands.append(BandInfo(
                    index=slot + 1, name=factor["name"], categorical=factor["categorical"],
                    classes=sorted(classes[slot]) if factor["categorical"] else [],
                    class_names={k: v for k, v in names.items() if k in classes[slot]},
                    mean=float(mean[slot]), std=std, valid_pixels=int(count[slot]),
                    source=factor["path"], nodata=nodata))
            write_stack_metadata(out, bands, nodata)
            for slot, info in enumerate(bands):  # after the metadata, which it extends
                out.GetRasterBand(slot + 1).SetStatistics(
                    float(low[slot]), float(high[slot]), float(mean[slot]), float(info.std or 0))
            out.FlushCache()
            out = None
        for factor in factors:
            factor["warped"] = None
            factor["ds"] = None
    progress(100)
    return {"output": str(output), "width": out_w, "height": out_h, "geotransform": out_gt,
            "crs_wkt": ref_wkt, "nodata": nodata, "valid_pixels": int(count[0]),
            "bands": [band.as_dict() for band in bands], "resampling": resampling,
            "warnings": warnings}
