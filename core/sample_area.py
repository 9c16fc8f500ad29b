"""A deterministic synthetic landslide study area that looks like real input.

:func:`create_sample_area` writes a DEM, rivers, faults, lithology, land use,
NDVI (in another CRS), precipitation (on a coarse grid), the known per-pixel
landslide probability and a landslide inventory drawn from it. The same seed
gives the same files (identical arrays and geometries).

How the truth is built: the nine conditioning factors of the CTLGNet paper
(elevation, aspect, slope, lithology, distance to faults, distance to rivers,
precipitation, land use, NDVI) are brought onto the main grid the way a user
would (slope/aspect with ``gdaldem``'s Horn method, distances with GDAL
proximity on rasterised lines, NDVI and precipitation resampled bilinearly),
standardised (z-scores) and combined as ``p = sigmoid(b0 + sum(b_i * z_i) +
lithology effect + land-use effect)``. Landslide initiation cells are drawn
with probability proportional to ``p`` (weighted sampling without
replacement) and grown into small ellipses elongated downslope.

TRUTH ``"context"`` replaces the continuous factors in that sum by what the
terrain around a cell looks like (local relief within 150 m, flow convergence,
distance to a slope break: :mod:`.synthetic_context`), which no single-pixel
factor carries; the files are the same nine factors either way, so a patch
model can see the context while a pixel model cannot. The truth used is
recorded in the metadata and in the true-probability raster.

Only numpy and GDAL/OGR are used. Everything is written into a hidden
temporary folder inside the output folder and moved into place at the end,
so a cancel or an error leaves nothing behind.
"""

import json
import math
import os
import shutil
import tempfile

import numpy as np
from osgeo import gdal, ogr

from .errors import InputError
from .files import atomic_output, ensure_writable_dir
from .progress import check_cancelled, never_cancelled, no_progress
from .raster_io import GTIFF_OPTIONS, proximity, rasterize, write_raster, write_vector
from .roc import auc
from .synthetic_context import CONTEXT_COEFFICIENTS, CONTEXT_DESCRIPTION, context_factors
from .synthetic_factors import (
    fault_curves,
    fault_features,
    landuse,
    lithology,
    ndvi,
    precipitation,
)
from .synthetic_geometry import geometry_layer, line
from .synthetic_grid import CRS, NODATA, ORIGIN
from .synthetic_landslides import aspect_factor, describe_truth, landslides, true_probability
from .synthetic_terrain import (
    carve_channels,
    fractal_terrain,
    incise,
    river_lines,
    slope_aspect,
)

GENERATOR = "landslide_susceptibility.core.sample_area"
FORMAT_VERSION = 1
TRUTHS = (("pixel", "Pixel factors (each pixel's own values)"),
          ("context", "Neighbourhood context (relief, convergence, slope breaks)"))
DEFAULT_TRUTH = "pixel"
MIN_SIZE, MAX_SIZE = 64, 8000  # 8000² needs about 4 GB; 20000² would not fit in 24 GB
DEFAULT_SEED, DEFAULT_SIZE = 42, 400

FILE_NAMES = {
    "dem": "dem.tif",
    "rivers": "rivers.gpkg",
    "faults": "faults.gpkg",
    "lithology": "lithology.gpkg",
    "landuse": "landuse.tif",
    "ndvi": "ndvi.tif",
    "precipitation": "precipitation.tif",
    "true_probability": "true_probability.tif",
    "landslides": "landslides.gpkg",
    "metadata": "sample_area.json",
}


def create_sample_area(output_folder, seed=DEFAULT_SEED, size=DEFAULT_SIZE, cell_size=10.0,
                       truth=DEFAULT_TRUTH, progress=no_progress, is_cancelled=never_cancelled):
    """Write a synthetic study area into ``output_folder`` and describe it.

    ``size`` x ``size`` cells of ``cell_size`` metres in EPSG:32617; ``truth``
    one of :data:`TRUTHS` (``"pixel"`` or ``"context"``). Returns ``{"files":
    {key: absolute path}, "crs", "size", "cell_size", "origin", "geotransform",
    "landslide_count", "true_auc", "mean_probability", "truth", "coefficients",
    "seed"}``; the same is saved as ``sample_area.json``.
    """
    seed, size, cell_size = _validate(seed, size, cell_size)
    truth = _validate_truth(truth)
    output_folder = os.path.abspath(str(output_folder))
    ensure_writable_dir(output_folder)
    _check_no_foreign_files(output_folder)
    check_cancelled(is_cancelled)
    progress(0)

    work = tempfile.mkdtemp(prefix=".sample_area.partial.", dir=output_folder)
    try:
        info = _build(work, seed, size, cell_size, truth, progress, is_cancelled)
        check_cancelled(is_cancelled)
        files = {}
        for key, name in FILE_NAMES.items():
            target = os.path.join(output_folder, name)
            for suffix in (".aux.xml", ".ovr"):
                if os.path.exists(target + suffix):
                    os.remove(target + suffix)
            os.replace(os.path.join(work, name), target)
            files[key] = target
        info["files"] = files
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(100)
    return info


# ---------------------------------------------------------------- checks


def _validate(seed, size, cell_size):
    try:
        size_int = int(size)
    except (TypeError, ValueError):
        raise InputError(f"SIZE must be a whole number of cells, got {size!r}.") from None
    if size_int != size or not MIN_SIZE <= size_int <= MAX_SIZE:
        raise InputError(f"SIZE must be a whole number between {MIN_SIZE} and {MAX_SIZE} "
                         f"cells, got {size!r}.")
    try:
        seed_int = int(seed)
    except (TypeError, ValueError):
        raise InputError(f"SEED must be a whole number, got {seed!r}.") from None
    if seed_int != seed or seed_int < 0:
        raise InputError(f"SEED must be a whole number >= 0, got {seed!r}.")
    try:
        cell = float(cell_size)
    except (TypeError, ValueError):
        raise InputError(f"CELL_SIZE must be a number of metres, got {cell_size!r}.") from None
    if not (math.isfinite(cell) and 0.1 <= cell <= 1000.0):
        raise InputError(f"CELL_SIZE must be between 0.1 and 1000 metres, got {cell_size!r}.")
    return seed_int, size_int, cell


def _validate_truth(truth):
    codes = [code for code, _ in TRUTHS]
    if truth not in codes:
        raise InputError(f"TRUTH must be one of {', '.join(codes)}, got {truth!r}.")
    return truth


def _check_no_foreign_files(folder):
    """Refuse to replace files of ours' names that an earlier sample area did not write."""
    ours = set()
    meta = os.path.join(folder, FILE_NAMES["metadata"])
    if os.path.exists(meta):
        try:
            with open(meta, encoding="utf-8") as handle:
                data = json.load(handle)
            if data.get("generator") == GENERATOR:
                ours = {os.path.basename(p) for p in data.get("files", {}).values()}
        except (OSError, ValueError, AttributeError):
            ours = set()
    foreign = [name for name in FILE_NAMES.values()
               if os.path.exists(os.path.join(folder, name)) and name not in ours]
    if foreign:
        raise InputError(f"The output folder '{folder}' already holds {', '.join(foreign)}, "
                         "not written by an earlier sample area. Choose an empty folder.")


# ---------------------------------------------------------------- the build


def _build(work, seed, size, cell, truth, progress, is_cancelled):
    rng = np.random.default_rng(seed)
    gt = (ORIGIN[0], cell, 0.0, ORIGIN[1], 0.0, -cell)

    def step(value):
        check_cancelled(is_cancelled)
        progress(value)

    dem, rivers, dist_river = _make_terrain(work, rng, gt, size, step, is_cancelled)
    faults, dist_fault = _make_faults(work, rng, gt, dem.shape)
    step(33)
    slope, aspect = slope_aspect(dem, gt)
    step(38)
    lith, lith_names = _make_lithology(work, rng, dem, dist_river, faults, gt, is_cancelled)
    step(48)
    classes = _make_landuse(work, rng, dem, slope, dist_river, rivers, gt)
    step(55)
    ndvi_main = _make_ndvi(work, rng, classes, dem, gt)
    step(63)
    precip_main = _make_precipitation(work, rng, dem, gt)
    step(70)
    factors = {"slope": slope, "distance_to_river": dist_river,
               "distance_to_fault": dist_fault, "ndvi": ndvi_main,
               "precipitation": precip_main, "elevation": dem,
               "aspect": aspect_factor(aspect)}
    del dist_fault, ndvi_main, precip_main
    if truth == "context":  # the terrain around each cell in place of its factors
        del factors
        factors = context_factors(dem, slope, gt)
        step(74)
    probability, model = _make_truth(work, truth, factors, lith, lith_names, classes, gt)
    del factors, lith
    step(80)
    slides = _make_landslides(work, rng, probability, aspect, gt, is_cancelled)
    step(92)
    info = _describe(work, seed, gt, probability, len(slides), model)
    _write_metadata(work, info)
    return info


# ---------------------------------------------------------------- the phases


def _make_terrain(work, rng, gt, size, step, is_cancelled):
    """The DEM (incised, then carved along the rivers), the rivers and the distance
    to them; writes the DEM and the rivers. Returns ``(dem, rivers, dist_river)``."""
    cell = gt[1]
    dem, base = fractal_terrain(rng, size, cell)
    step(6)
    dem = incise(dem, cell, is_cancelled)
    dem += np.float32(base) - dem.min()  # lowest point (an outlet) at 200-500 m
    step(12)
    # rivers from 8-neighbour flow accumulation on a coarsened DEM
    rivers = river_lines(dem, cell, gt, is_cancelled)
    write_vector(os.path.join(work, FILE_NAMES["rivers"]), "rivers", ogr.wkbLineString, CRS,
                 [("accumulation", ogr.OFTInteger), ("area_km2", ogr.OFTReal),
                  ("strahler", ogr.OFTInteger)],
                 [(line(points), values) for points, values in rivers])
    river_mask = rasterize(geometry_layer([line(points) for points, _ in rivers]), dem.shape,
                           gt, CRS, all_touched=True)
    dist_river = proximity(river_mask, gt, CRS)
    dem = carve_channels(dem, dist_river, cell)
    write_raster(os.path.join(work, FILE_NAMES["dem"]), dem, gt, CRS, nodata=NODATA)
    step(28)
    return dem, rivers, dist_river


def _make_faults(work, rng, gt, shape):
    """Writes the faults; returns ``(fault curves, distance to the faults)``."""
    faults = fault_curves(rng, shape[0] * gt[1], gt[0], gt[3])
    features = fault_features(faults, gt, shape)
    write_vector(os.path.join(work, FILE_NAMES["faults"]), "faults", ogr.wkbLineString, CRS,
                 [("id", ogr.OFTInteger), ("name", ogr.OFTString)], features)
    fault_mask = rasterize(geometry_layer([g for g, _ in features]), shape, gt, CRS,
                           all_touched=True)
    return faults, proximity(fault_mask, gt, CRS)


def _make_lithology(work, rng, dem, dist_river, faults, gt, is_cancelled):
    """Writes the lithology polygons; returns ``(main-grid units, unit names)``."""
    features, units, names = lithology(rng, dem, dist_river, faults, gt, is_cancelled)
    write_vector(os.path.join(work, FILE_NAMES["lithology"]), "lithology", ogr.wkbPolygon, CRS,
                 [("unit", ogr.OFTInteger), ("name", ogr.OFTString)], features)
    return units, names


def _make_landuse(work, rng, dem, slope, dist_river, rivers, gt):
    """Writes and returns the land-use classes."""
    classes = landuse(rng, dem, slope, dist_river, rivers, gt)
    write_raster(os.path.join(work, FILE_NAMES["landuse"]), classes, gt, CRS, nodata=0)
    return classes


def _make_ndvi(work, rng, classes, dem, gt):
    """Writes the NDVI in EPSG:4326; returns it resampled back onto the main grid."""
    geographic, main = ndvi(rng, classes, dem, gt)
    path = os.path.join(work, FILE_NAMES["ndvi"])
    with atomic_output(path) as tmp:
        out = gdal.GetDriverByName("GTiff").CreateCopy(tmp, geographic, 0,
                                                       list(GTIFF_OPTIONS))
        if out is None:
            raise InputError(f"Cannot write '{path}': {gdal.GetLastErrorMsg()}")
        out = None
    return main


def _make_precipitation(work, rng, dem, gt):
    """Writes the precipitation on its coarse grid; returns it on the main grid."""
    rain, rain_gt, main = precipitation(rng, dem, gt)
    write_raster(os.path.join(work, FILE_NAMES["precipitation"]), rain, rain_gt, CRS,
                 nodata=NODATA)
    return main


def _make_truth(work, truth, factors, lith, lith_names, classes, gt):
    """Writes the true probability (the truth named in its metadata); returns it and
    the description of the true model."""
    coefficients = CONTEXT_COEFFICIENTS if truth == "context" else None
    probability, b0, standardisation = true_probability(factors, lith, lith_names, classes,
                                                        coefficients)
    path = os.path.join(work, FILE_NAMES["true_probability"])
    write_raster(path, probability, gt, CRS, nodata=NODATA,
                 band_names=[f"true_probability ({truth} truth)"])
    dataset = gdal.Open(path, gdal.GA_Update)  # in the hidden work folder: still atomic
    dataset.SetMetadataItem("TRUTH", truth)
    dataset.SetMetadataItem("TRUTH_NAME", dict(TRUTHS)[truth])
    dataset = None
    model = {"truth": truth, "truth_name": dict(TRUTHS)[truth],
             **describe_truth(b0, standardisation, lith_names, coefficients)}
    if truth == "context":
        model["context_variables"] = dict(CONTEXT_DESCRIPTION)
    return probability, model


def _make_landslides(work, rng, probability, aspect, gt, is_cancelled):
    """Writes and returns the landslide polygons."""
    slides = landslides(rng, probability, aspect, gt, is_cancelled)
    write_vector(os.path.join(work, FILE_NAMES["landslides"]), "landslides", ogr.wkbPolygon,
                 CRS, [("id", ogr.OFTInteger), ("area_m2", ogr.OFTReal)],
                 [(poly, {"id": i, "area_m2": round(poly.GetArea(), 2)})
                  for i, poly in enumerate(slides, start=1)])
    return slides


def _describe(work, seed, gt, probability, landslide_count, truth):
    """The metadata: grid, counts, the AUC of the truth at the rasterised inventory."""
    inventory = rasterize(os.path.join(work, FILE_NAMES["landslides"]), probability.shape, gt,
                          CRS).astype(bool)
    return {
        "generator": GENERATOR,
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "size": probability.shape[0],
        "cell_size": gt[1],
        "crs": CRS,
        "origin": [gt[0], gt[3]],
        "geotransform": list(gt),
        "landslide_count": landslide_count,
        "landslide_pixels": int(inventory.sum()),
        "true_auc": auc(inventory, probability),
        "mean_probability": float(probability.mean(dtype=np.float64)),
        **truth,
    }


def _write_metadata(work, info):
    """``sample_area.json``: ``info`` and the final paths of the files."""
    meta = dict(info, files={key: os.path.join(os.path.dirname(work), name)
                             for key, name in FILE_NAMES.items()})
    with atomic_output(os.path.join(work, FILE_NAMES["metadata"])) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=2)
