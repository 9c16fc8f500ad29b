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

Only numpy and GDAL/OGR are used. Everything is written into a hidden
temporary folder inside the output folder and moved into place at the end,
so a cancel or an error leaves nothing behind.
"""

import heapq
import json
import math
import os
import shutil
import tempfile

import numpy as np
from osgeo import gdal, ogr, osr

from .errors import InputError
from .files import atomic_output, ensure_writable_dir
from .progress import check_cancelled, never_cancelled, no_progress
from .raster_io import (
    GTIFF_OPTIONS,
    empty_mem_raster,
    mem_raster,
    proximity,
    rasterize,
    srs_from_epsg,
    warp_array,
    write_raster,
    write_vector,
)

GENERATOR = "landslide_susceptibility.core.sample_area"
FORMAT_VERSION = 1
EPSG = 32617
CRS = f"EPSG:{EPSG}"
ORIGIN = (500000.0, 4200000.0)  # top-left corner: WGS 84 / UTM 17N, about 37.9 N 81 W
NODATA = -9999.0
MIN_SIZE, MAX_SIZE = 64, 8000  # 8000² needs about 4 GB; 20000² would not fit in 24 GB
MAX_ROUTING_CELLS = 300  # flow routing runs on a grid of at most this many cells a side
MAX_LITHOLOGY_CELLS = 1000  # lithology is drawn (and polygonised) on at most this a side
PRECIPITATION_FACTOR = 10  # precipitation cell = 10 x cell_size
MEAN_PROBABILITY = 0.02  # b0 is solved so that the mean true probability is this

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

LITHOLOGY_NAMES = ("Quaternary", "Neogene", "Triassic", "Permian", "Carboniferous", "Devonian")
LITHOLOGY_EFFECTS = {"Quaternary": 0.4, "Neogene": 0.8, "Triassic": 0.3, "Permian": -0.2,
                     "Carboniferous": -0.5, "Devonian": -0.8}

LANDUSE_CLASSES = {1: "cropland", 2: "forest", 3: "shrub", 4: "grassland", 5: "water",
                   7: "barren", 8: "impervious"}
LANDUSE_EFFECTS = {"cropland": 0.3, "forest": -0.4, "shrub": 0.1, "grassland": 0.2,
                   "water": -4.0, "barren": 0.5, "impervious": -0.6}
LANDUSE_NDVI = {1: 0.55, 2: 0.78, 3: 0.58, 4: 0.45, 5: -0.25, 7: 0.08, 8: 0.12}

# Coefficients of the true model on z-scored continuous factors.
COEFFICIENTS = {"slope": 2.2, "distance_to_river": -1.0, "distance_to_fault": -0.7,
                "ndvi": -0.55, "precipitation": 0.5, "elevation": -0.35, "aspect": 0.3}
ASPECT_PEAK = 200.0  # degrees: the aspect factor is cos(aspect - 200), 0 on flats

_D8 = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def create_sample_area(output_folder, seed=42, size=400, cell_size=10.0,
                       progress=no_progress, is_cancelled=never_cancelled):
    """Write a synthetic study area into ``output_folder`` and describe it.

    ``size`` x ``size`` cells of ``cell_size`` metres in EPSG:32617. Returns
    ``{"files": {key: absolute path}, "crs", "size", "cell_size", "origin",
    "geotransform", "landslide_count", "true_auc", "mean_probability",
    "coefficients", "seed"}``; the same is saved as ``sample_area.json``.
    """
    seed, size, cell_size = _validate(seed, size, cell_size)
    output_folder = os.path.abspath(str(output_folder))
    ensure_writable_dir(output_folder)
    _check_no_foreign_files(output_folder)
    check_cancelled(is_cancelled)
    progress(0)

    work = tempfile.mkdtemp(prefix=".sample_area.partial.", dir=output_folder)
    try:
        info = _build(work, seed, size, cell_size, progress, is_cancelled)
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


def _build(work, seed, size, cell, progress, is_cancelled):
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    gt = (x0, cell, 0.0, y0, 0.0, -cell)
    shape = (size, size)
    extent_m = size * cell

    def step(value):
        check_cancelled(is_cancelled)
        progress(value)

    # 1. terrain (before carving)
    dem, base = _terrain(rng, size, cell)
    step(6)
    dem = _incise(dem, cell, is_cancelled)
    dem += np.float32(base) - dem.min()  # lowest point (an outlet) at 200-500 m
    step(12)

    # 2. rivers from 8-neighbour flow accumulation on a coarsened DEM
    rivers = _rivers(dem, cell, gt, is_cancelled)
    write_vector(os.path.join(work, FILE_NAMES["rivers"]), "rivers", ogr.wkbLineString, CRS,
                 [("accumulation", ogr.OFTInteger), ("area_km2", ogr.OFTReal),
                  ("strahler", ogr.OFTInteger)],
                 [(_line(points), values) for points, values in rivers])
    river_lines = _memory_layer(rivers)
    river_mask = rasterize(river_lines, shape, gt, CRS, all_touched=True)
    dist_river = proximity(river_mask, gt, CRS)
    # carve: 3 m deep in the channel, fading out over two cells
    dem -= np.float32(3.0) * np.clip(1.0 - dist_river / np.float32(2.0 * cell), 0.0, 1.0)
    dem = dem.astype(np.float32)
    write_raster(os.path.join(work, FILE_NAMES["dem"]), dem, gt, CRS, nodata=NODATA)
    step(28)

    # 3. faults
    faults = _faults(rng, extent_m, x0, y0)
    fault_features = []
    for number, fault in enumerate(faults, start=1):
        clipped = _line(fault["points"]).Intersection(_extent_polygon(gt, shape))
        for part in _line_parts(clipped):
            fault_features.append((part, {"id": number, "name": f"F{number}"}))
    write_vector(os.path.join(work, FILE_NAMES["faults"]), "faults", ogr.wkbLineString, CRS,
                 [("id", ogr.OFTInteger), ("name", ogr.OFTString)], fault_features)
    fault_mask = rasterize(_geometry_layer([g for g, _ in fault_features]), shape, gt, CRS,
                           all_touched=True)
    dist_fault = proximity(fault_mask, gt, CRS)
    del fault_mask
    step(33)

    # slope and aspect as gdaldem computes them
    slope, aspect = _slope_aspect(dem, gt)
    step(38)

    # 4. lithology
    lith, lith_names = _lithology(rng, work, dem, dist_river, faults, gt, is_cancelled)
    step(48)

    # 5. land use
    landuse = _landuse(rng, dem, slope, dist_river, rivers, gt, shape)
    write_raster(os.path.join(work, FILE_NAMES["landuse"]), landuse, gt, CRS, nodata=0)
    step(55)

    # 6. NDVI, delivered in EPSG:4326
    ndvi_main = _ndvi(rng, work, landuse, dem, gt, cell)
    step(63)

    # 7. precipitation on a coarse grid
    precip_main = _precipitation(rng, work, dem, gt, cell)
    step(70)

    # 8. the true probability
    factors = {
        "slope": slope,
        "distance_to_river": dist_river,
        "distance_to_fault": dist_fault,
        "ndvi": ndvi_main,
        "precipitation": precip_main,
        "elevation": dem,
        "aspect": np.where(aspect >= 0, np.cos(np.radians(aspect - ASPECT_PEAK)),
                           0.0).astype(np.float32),
    }
    eta = np.zeros(shape, dtype=np.float32)
    standardisation = {}
    for name, coefficient in COEFFICIENTS.items():
        values = factors[name]
        mean, std = float(values.mean(dtype=np.float64)), float(values.std(dtype=np.float64))
        standardisation[name] = {"mean": mean, "std": std}
        if std > 0:
            eta += np.float32(coefficient / std) * (values - np.float32(mean))
    del factors, dist_fault, ndvi_main, precip_main
    lith_lut = np.zeros(len(LITHOLOGY_NAMES) + 1, dtype=np.float32)
    for unit, name in enumerate(lith_names, start=1):
        lith_lut[unit] = LITHOLOGY_EFFECTS[name]
    eta += lith_lut[lith]
    landuse_lut = np.zeros(256, dtype=np.float32)
    for code, name in LANDUSE_CLASSES.items():
        landuse_lut[code] = LANDUSE_EFFECTS[name]
    eta += landuse_lut[landuse]
    del lith
    b0 = _solve_intercept(eta, MEAN_PROBABILITY)
    eta += np.float32(b0)
    probability = (1.0 / (1.0 + np.exp(-eta))).astype(np.float32)
    del eta
    write_raster(os.path.join(work, FILE_NAMES["true_probability"]), probability, gt, CRS,
                 nodata=NODATA)
    step(80)

    # 9. the landslide inventory
    slides = _landslides(rng, probability, aspect, gt, is_cancelled)
    landslide_path = os.path.join(work, FILE_NAMES["landslides"])
    write_vector(landslide_path, "landslides", ogr.wkbPolygon, CRS,
                 [("id", ogr.OFTInteger), ("area_m2", ogr.OFTReal)],
                 [(poly, {"id": i, "area_m2": round(poly.GetArea(), 2)})
                  for i, poly in enumerate(slides, start=1)])
    step(92)

    # 10. AUC of the truth at the rasterised inventory, and the metadata
    inventory = rasterize(landslide_path, shape, gt, CRS).astype(bool)
    true_auc = auc(probability, inventory)
    coefficients = {"intercept": b0, **COEFFICIENTS,
                    "lithology": {name: LITHOLOGY_EFFECTS[name] for name in lith_names},
                    "landuse": {LANDUSE_CLASSES[c]: LANDUSE_EFFECTS[LANDUSE_CLASSES[c]]
                                for c in sorted(LANDUSE_CLASSES)}}
    info = {
        "generator": GENERATOR,
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "size": size,
        "cell_size": cell,
        "crs": CRS,
        "origin": [x0, y0],
        "geotransform": list(gt),
        "landslide_count": len(slides),
        "landslide_pixels": int(inventory.sum()),
        "true_auc": true_auc,
        "mean_probability": float(probability.mean(dtype=np.float64)),
        "coefficients": coefficients,
        "aspect_factor": f"cos(aspect - {ASPECT_PEAK:g} deg), 0 on flat cells",
        "standardisation": standardisation,
        "lithology_units": {str(unit): name for unit, name in enumerate(lith_names, start=1)},
        "landuse_classes": {str(code): name for code, name in LANDUSE_CLASSES.items()},
    }
    meta = dict(info, files={key: os.path.join(os.path.dirname(work), name)
                             for key, name in FILE_NAMES.items()})
    with atomic_output(os.path.join(work, FILE_NAMES["metadata"])) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=2)
    return info


# ---------------------------------------------------------------- terrain


def _terrain(rng, size, cell):
    """Fractal relief (spectral synthesis) on a regional valley: (float32 metres, base)."""
    pad = max(16, size // 8)
    n = size + 2 * pad
    white = rng.standard_normal((n, n), dtype=np.float32)
    spectrum = np.fft.rfft2(white)
    del white
    ky = np.fft.fftfreq(n, d=cell).astype(np.float32)[:, None]
    kx = np.fft.rfftfreq(n, d=cell).astype(np.float32)[None, :]
    k2 = ky * ky + kx * kx
    beta = 3.6  # power-spectrum exponent of the relief
    k0 = np.float32(1.0 / 3000.0)  # spectrum flattens above ~3 km
    kh = np.float32(1.0 / 1500.0)  # and fades above ~1.5 km: the regional valley drains
    kc = np.float32(1.0 / max(150.0, 4.0 * cell))  # smooth below ~150 m
    spectrum *= ((k2 + k0 * k0) ** np.float32(-beta / 4.0) * np.exp(-k2 / (kc * kc))
                 * (1.0 - np.exp(-k2 / (kh * kh))))
    del k2
    field = np.fft.irfft2(spectrum, s=(n, n))[pad:pad + size, pad:pad + size]
    del spectrum
    field = field.astype(np.float32)
    field -= field.mean()
    gy, gx = np.gradient(field, cell)
    rms = float(np.sqrt(np.mean(gx * gx + gy * gy, dtype=np.float64)))
    del gx, gy
    field *= np.float32(math.tan(math.radians(24.0)) / max(rms, 1e-12))

    # a regional valley crossing the area, draining towards one side
    extent = size * cell
    angle = rng.uniform(0.0, 2.0 * math.pi)
    phase = rng.uniform(0.0, 2.0 * math.pi)
    wavenumber = rng.uniform(0.4, 0.9)
    relief = float(np.clip(0.1 * extent, 100.0, 1200.0))
    base = rng.uniform(200.0, 500.0)
    coords = ((np.arange(size, dtype=np.float32) + 0.5) / size - 0.5)
    u = coords[None, :] * np.float32(math.cos(angle)) - coords[:, None] * np.float32(
        math.sin(angle))
    v = coords[None, :] * np.float32(math.sin(angle)) + coords[:, None] * np.float32(
        math.cos(angle))
    centre = np.float32(0.12) * np.sin(np.float32(2 * math.pi * wavenumber) * u
                                       + np.float32(phase))
    across = np.abs(v - centre) / np.float32(0.5)
    structure = np.float32(relief) * across ** np.float32(0.85)
    structure += np.float32(0.3 * relief) * (u + np.float32(0.5))
    del u, v, centre, across
    dem = field + structure
    del field, structure
    return dem.astype(np.float32), base


# ---------------------------------------------------------------- rivers


def _routing(dem, is_cancelled):
    """Flow routing on the DEM block-averaged to at most MAX_ROUTING_CELLS a side.

    Returns ``(factor, n, coarse, carved, down, order, acc)`` over the ``n`` x
    ``n`` routing grid (flat arrays): ``down`` is each cell's downstream cell
    (-1 at the outlets, the grid's edge), ``order`` lists cells from the
    outlets upstream, ``acc`` counts upstream cells (itself included), and
    ``carved`` is the DEM with channels breached out of closed basins.
    """
    size = dem.shape[0]
    factor = max(1, math.ceil(size / MAX_ROUTING_CELLS))
    n = math.ceil(size / factor)
    coarse = _block_mean(dem, factor, n)
    down, order = _flood_tree(coarse, is_cancelled)
    acc = np.ones(n * n, dtype=np.int64)
    carved = coarse.ravel().tolist()
    down_list = down.tolist()
    eps = 1e-3
    for index in reversed(order):  # upstream cells first
        target = down_list[index]
        if target >= 0:
            acc[target] += acc[index]
            if carved[target] > carved[index] - eps:
                carved[target] = carved[index] - eps
    carved = np.asarray(carved).reshape(n, n)
    return factor, n, coarse, carved, down, order, acc


def _incise(dem, cell, is_cancelled):
    """Breach closed basins and cut valleys along the flow paths, so that valleys drain.

    Channel incision grows with upstream area (about 25 m at 1 km2, 65 m at
    16 km2, 400 m at 2500 km2) and spreads sideways as a V with 15 degree
    walls (a grey-level dilation). It is computed on the routing grid and
    interpolated bilinearly onto the DEM.
    """
    factor, n, coarse, carved, _, _, acc = _routing(dem, is_cancelled)
    coarse_cell = factor * cell
    area_km2 = acc.reshape(n, n) * coarse_cell ** 2 / 1e6
    depth = (coarse - carved) + 25.0 * area_km2 ** 0.35
    wall = math.tan(math.radians(15.0)) * coarse_cell
    for _ in range(int(math.ceil(depth.max() / wall))):
        padded = np.pad(depth, 1, mode="edge")
        spread = depth.copy()
        for dr, dc in _D8:
            neighbour = padded[1 + dr:1 + dr + n, 1 + dc:1 + dc + n]
            np.maximum(spread, neighbour - wall * math.hypot(dr, dc), out=spread)
        if np.array_equal(spread, depth):
            break
        depth = spread
    dem -= _upsample(_box_blur(depth).astype(np.float32), factor, dem.shape)
    return dem


def _rivers(dem, cell, gt, is_cancelled):
    """River polylines ``[(points, {"accumulation", "area_km2", "strahler"}), ...]``."""
    size = dem.shape[0]
    factor, n, _, _, down, order, acc = _routing(dem, is_cancelled)
    down_list = down.tolist()
    upstream_first = order[::-1]
    coarse_cell = factor * cell
    threshold = max(8, round(0.2e6 / coarse_cell ** 2))
    if (acc >= threshold).sum() < 0.02 * n * n:  # small areas: keep a few channels
        threshold = max(4, int(np.quantile(acc, 0.98)))
    channel = acc >= threshold
    upstream = np.zeros(n * n, dtype=np.int64)
    np.add.at(upstream, down[channel & (down >= 0)], 1)
    strahler = np.zeros(n * n, dtype=np.int64)
    best = np.zeros(n * n, dtype=np.int64)
    best_count = np.zeros(n * n, dtype=np.int64)
    channel_list = channel.tolist()
    for index in upstream_first:
        if not channel_list[index]:
            continue
        if best[index] == 0:
            strahler[index] = 1
        else:
            strahler[index] = best[index] + (1 if best_count[index] > 1 else 0)
        target = down_list[index]
        if target >= 0:
            if strahler[index] > best[target]:
                best[target], best_count[target] = strahler[index], 1
            elif strahler[index] == best[target]:
                best_count[target] += 1
    check_cancelled(is_cancelled)

    junction = channel & (upstream >= 2)
    starts = np.flatnonzero(channel & ((upstream == 0) | junction))
    x0, y0 = gt[0], gt[3]
    x_max, y_min = x0 + size * cell, y0 - size * cell
    features = []
    for start in starts.tolist():
        cells = [start]
        current = down_list[start]
        while current >= 0 and channel_list[current]:
            cells.append(current)
            if junction[current]:
                break
            current = down_list[current]
        if len(cells) < 2:
            continue
        body = cells[:-1] if junction[cells[-1]] else cells
        rows, cols = np.divmod(np.asarray(cells), n)
        xs = np.clip(x0 + (cols + 0.5) * coarse_cell, x0, x_max)
        ys = np.clip(y0 - (rows + 0.5) * coarse_cell, y_min, y0)
        points = _chaikin(np.column_stack([xs, ys]), 2)
        cells_up = int(acc[body].max()) * factor * factor
        features.append((points, {"accumulation": cells_up,
                                  "area_km2": round(cells_up * cell * cell / 1e6, 4),
                                  "strahler": int(strahler[cells[0]])}))
    return features


def _flood_tree(z, is_cancelled):
    """Priority-flood from the grid's edge (Barnes et al. 2014), used for breaching.

    Cells are visited lowest first, starting at the edge; each cell drains to
    the neighbour it was reached from. Outside closed basins that is its
    lowest neighbour; inside one it is the way out over the lowest sill, and
    the path follows the basin's floor. Returns ``(down, order)``: flat
    downstream indices (-1 on the edge) and the visiting order.
    """
    rows, cols = z.shape
    width = cols + 2
    padded = np.zeros((rows + 2, width))
    padded[1:-1, 1:-1] = z
    flat = padded.ravel().tolist()
    closed = np.ones((rows + 2, width), dtype=bool)
    closed[1:-1, 1:-1] = False
    closed_flat = closed.ravel().tolist()
    parent = [-1] * ((rows + 2) * width)
    heap = []
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            if r in (1, rows) or c in (1, cols):
                index = r * width + c
                heap.append((flat[index], index))
                closed_flat[index] = True
    heapq.heapify(heap)
    offsets = [dr * width + dc for dr, dc in _D8]
    order = []
    while heap:
        _, index = heapq.heappop(heap)
        order.append(index)
        if len(order) % 20000 == 0:
            check_cancelled(is_cancelled)
        for offset in offsets:
            neighbour = index + offset
            if not closed_flat[neighbour]:
                closed_flat[neighbour] = True
                parent[neighbour] = index
                heapq.heappush(heap, (flat[neighbour], neighbour))
    # padded flat index -> routing-grid flat index
    padded_index = np.asarray(order)
    order = ((padded_index // width - 1) * cols + padded_index % width - 1).tolist()
    parents = np.asarray(parent).reshape(rows + 2, width)[1:-1, 1:-1].ravel()
    down = np.where(parents >= 0, (parents // width - 1) * cols + parents % width - 1, -1)
    return down, order


def _chaikin(points, iterations):
    """Corner cutting that keeps both end points (junctions stay connected)."""
    for _ in range(iterations):
        if len(points) < 3:
            return points
        a, b = points[:-1], points[1:]
        q = 0.75 * a + 0.25 * b
        r = 0.25 * a + 0.75 * b
        middle = np.empty((2 * len(a), 2))
        middle[0::2], middle[1::2] = q, r
        points = np.vstack([points[:1], middle[1:-1], points[-1:]])
    return points


# ---------------------------------------------------------------- faults


def _faults(rng, extent, x0, y0):
    """2-5 gently curved lines crossing the area, as parametric curves."""
    faults = []
    cx, cy = x0 + extent / 2.0, y0 - extent / 2.0
    for _ in range(int(rng.integers(2, 6))):
        angle = rng.uniform(0.0, math.pi)
        centre = (cx + rng.uniform(-0.3, 0.3) * extent, cy + rng.uniform(-0.3, 0.3) * extent)
        amplitude = rng.uniform(0.02, 0.06) * extent
        wavelength = rng.uniform(0.8, 2.0) * extent
        phase = rng.uniform(0.0, 2.0 * math.pi)
        throw = rng.uniform(0.03, 0.08) * rng.choice([-1.0, 1.0])
        d = (math.cos(angle), math.sin(angle))
        normal = (-d[1], d[0])
        t = np.linspace(-1.6 * extent, 1.6 * extent, 321)
        offset = amplitude * np.sin(2 * math.pi * t / wavelength + phase)
        points = np.column_stack([centre[0] + t * d[0] + offset * normal[0],
                                  centre[1] + t * d[1] + offset * normal[1]])
        faults.append({"points": points, "centre": centre, "direction": d, "normal": normal,
                       "amplitude": amplitude, "wavelength": wavelength, "phase": phase,
                       "throw": throw})
    return faults


def _fault_side(fault, x, y):
    """+1 / -1 on either side of a fault curve (broadcast over x, y)."""
    dx, dy = x - fault["centre"][0], y - fault["centre"][1]
    t = dx * fault["direction"][0] + dy * fault["direction"][1]
    s = dx * fault["normal"][0] + dy * fault["normal"][1]
    curve = fault["amplitude"] * np.sin(2 * math.pi * t / fault["wavelength"] + fault["phase"])
    return np.where(s > curve, 1.0, -1.0)


# ---------------------------------------------------------------- lithology


def _lithology(rng, work, dem, dist_river, faults, gt, is_cancelled):
    """Folded, faulted bands plus Quaternary valley fill; polygonised; main-grid units."""
    size = dem.shape[0]
    cell = gt[1]
    factor = max(1, math.ceil(size / MAX_LITHOLOGY_CELLS))
    n = math.ceil(size / factor)
    lcell = factor * cell
    units = int(rng.integers(4, 7))
    names = LITHOLOGY_NAMES[:units]
    extent = size * cell

    x = gt[0] + (np.arange(n) + 0.5) * lcell
    y = gt[3] - (np.arange(n) + 0.5) * lcell
    xx, yy = np.meshgrid(x, y)
    strike = rng.uniform(0.0, math.pi)
    fold_wavelength = rng.uniform(0.4, 1.0) * extent
    fold_amplitude = rng.uniform(0.05, 0.12) * extent
    fold_phase = rng.uniform(0.0, 2 * math.pi)
    along = ((xx - gt[0]) * math.cos(strike) + (yy - gt[3]) * math.sin(strike))
    across = (-(xx - gt[0]) * math.sin(strike) + (yy - gt[3]) * math.cos(strike))
    w = across + fold_amplitude * np.sin(2 * math.pi * along / fold_wavelength + fold_phase)
    w += 0.03 * extent * _smooth_noise(rng, (n, n), max(2.0, 0.05 * extent / lcell))
    for fault in faults:
        w += fault["throw"] * extent * _fault_side(fault, xx, yy)
    del xx, yy, along, across

    # bedrock bands: units 2..k in stratigraphic order, random proportions
    shares = rng.dirichlet(np.full(units - 1, 3.0))
    cuts = np.quantile(w, np.cumsum(shares)[:-1])
    lith = (2 + np.searchsorted(cuts, w)).astype(np.uint8)

    # Quaternary: low ground near rivers (lowest 8 % by elevation rank + distance rank)
    dem_c = _block_mean(dem, factor, n)
    river_c = _block_mean(dist_river, factor, n)
    score = _rank01(dem_c) + _rank01(river_c)
    lith[score <= np.quantile(score, 0.08)] = 1
    check_cancelled(is_cancelled)

    # remove specks, then polygonise
    lgt = (gt[0], lcell, 0.0, gt[3], 0.0, -lcell)
    src = mem_raster(lith, lgt, CRS)
    band = src.GetRasterBand(1)
    gdal.SieveFilter(band, None, band, max(4, round(0.02e6 / lcell ** 2)), 4)
    lith = band.ReadAsArray()
    memory = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = memory.CreateLayer("units", srs_from_epsg(EPSG), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("unit", ogr.OFTInteger))
    if gdal.Polygonize(band, None, layer, 0, []) != 0:
        raise InputError(f"Polygonising the lithology failed: {gdal.GetLastErrorMsg()}")
    clip = _extent_polygon(gt, dem.shape) if n * factor != size else None
    features = []
    for feature in layer:
        unit = feature.GetField("unit")
        geometry = feature.GetGeometryRef().Clone()
        if clip is not None:
            geometry = geometry.Intersection(clip)
        for part in _polygon_parts(geometry):
            features.append((part, {"unit": unit, "name": names[unit - 1]}))
    write_vector(os.path.join(work, FILE_NAMES["lithology"]), "lithology", ogr.wkbPolygon, CRS,
                 [("unit", ogr.OFTInteger), ("name", ogr.OFTString)], features)
    main = np.repeat(np.repeat(lith, factor, axis=0), factor, axis=1)[:size, :size]
    return np.ascontiguousarray(main), names


# ---------------------------------------------------------------- land use, NDVI, rain


def _landuse(rng, dem, slope, dist_river, rivers, gt, shape):
    cell = gt[1]
    low, high = np.percentile(dem[::4, ::4], [1, 99])
    e = np.clip((dem - np.float32(low)) / np.float32(max(high - low, 1.0)), 0.0, 1.0)
    s = _box_filter(slope, max(1, round(20.0 / cell)))  # slope of the land parcel
    corr = max(3.0, 250.0 / cell)
    n1 = _smooth_noise(rng, shape, corr)
    n2 = _smooth_noise(rng, shape, corr)
    n3 = _smooth_noise(rng, shape, corr * 0.6)
    landuse = np.full(shape, 2, dtype=np.uint8)  # forest
    cropland = (s < 15 + 4 * n1) & (e < 0.5 + 0.08 * n2)
    landuse[cropland] = 1
    landuse[(e > 0.65 + 0.06 * n2) | ((s > 36 + 4 * n3) & ~cropland)] = 3  # shrub
    landuse[e > 0.78 + 0.06 * n1] = 4  # grassland
    landuse[(s > 48 + 4 * n1) | (e > 0.95 + 0.03 * n3)] = 7  # barren
    landuse[(s < 10) & (e < 0.45) & (n3 > 1.2) & (dist_river < 400)] = 8  # settlements
    del n1, n2, n3, e, s
    # water: channels of order >= 2, wider for bigger rivers
    water = []
    for points, values in rivers:
        order = values["strahler"]
        if order >= 2:
            line = _line(points)
            water.append(line.Buffer(0.6 * (order - 2) * cell, 4) if order >= 3 else line)
    if water:
        mask = rasterize(_geometry_layer(water), shape, gt, CRS, all_touched=True)
        landuse[mask > 0] = 5
    return landuse


def _ndvi(rng, work, landuse, dem, gt, cell):
    """NDVI from land use, written in EPSG:4326; returns it resampled back (bilinear)."""
    shape = landuse.shape
    lut = np.zeros(256, dtype=np.float32)
    for code, value in LANDUSE_NDVI.items():
        lut[code] = value
    ndvi = lut[landuse]
    ndvi += np.float32(0.06) * _smooth_noise(rng, shape, max(3.0, 150.0 / cell))
    ndvi += rng.normal(0.0, 0.03, size=shape).astype(np.float32)
    low, high = float(dem.min()), float(dem.max())
    ndvi -= np.float32(0.12 / max(high - low, 1.0)) * (dem - np.float32((low + high) / 2))
    ndvi = np.clip(ndvi, -1.0, 1.0).astype(np.float32)

    src = mem_raster(ndvi, gt, CRS, nodata=NODATA)
    del ndvi
    centre = _to_lonlat(gt[0] + shape[1] * cell / 2, gt[3] - shape[0] * cell / 2)
    x_res = cell / (111320.0 * math.cos(math.radians(centre[1])))
    y_res = cell / 110574.0
    geographic = gdal.Warp("", src, options=gdal.WarpOptions(
        format="MEM", dstSRS="EPSG:4326", xRes=x_res, yRes=y_res, resampleAlg="bilinear",
        srcNodata=NODATA, dstNodata=NODATA, outputType=gdal.GDT_Float32))
    if geographic is None:
        raise InputError(f"Reprojecting the NDVI failed: {gdal.GetLastErrorMsg()}")
    path = os.path.join(work, FILE_NAMES["ndvi"])
    with atomic_output(path) as tmp:
        out = gdal.GetDriverByName("GTiff").CreateCopy(tmp, geographic, 0,
                                                       list(GTIFF_OPTIONS))
        if out is None:
            raise InputError(f"Cannot write '{path}': {gdal.GetLastErrorMsg()}")
        out = None
    back = empty_mem_raster(shape, gt, CRS, np.float32, fill=NODATA, nodata=NODATA)
    gdal.Warp(back, geographic, options=gdal.WarpOptions(
        resampleAlg="bilinear", srcNodata=NODATA, dstNodata=NODATA))
    return _fill_nodata(back.GetRasterBand(1).ReadAsArray())


def _precipitation(rng, work, dem, gt, cell):
    """Smooth mm/yr on a grid 10x coarser with a 2-cell margin; returns it on the main grid."""
    size = dem.shape[0]
    f = PRECIPITATION_FACTOR
    margin = 2
    n = math.ceil(size / f) + 2 * margin
    before = margin * f
    after = n * f - size - before
    padded = np.pad(dem, ((before, after), (before, after)), mode="edge")
    elevation = padded.reshape(n, f, n, f).mean(axis=(1, 3), dtype=np.float64)
    del padded
    for _ in range(3):
        elevation = _box_blur(elevation)
    low, high = elevation.min(), elevation.max()
    relative = (elevation - low) / max(high - low, 1.0)
    angle = rng.uniform(0.0, 2 * math.pi)
    ramp = np.cos(angle) * np.linspace(-0.5, 0.5, n)[None, :] + np.sin(angle) * np.linspace(
        -0.5, 0.5, n)[:, None]
    rain = 1000.0 + 320.0 * relative + 60.0 * ramp
    rain += 15.0 * _smooth_noise(rng, (n, n), 3.0)
    rain = np.round(rain, 1).astype(np.float32)
    pcell = f * cell
    pgt = (gt[0] - margin * pcell, pcell, 0.0, gt[3] + margin * pcell, 0.0, -pcell)
    write_raster(os.path.join(work, FILE_NAMES["precipitation"]), rain, pgt, CRS,
                 nodata=NODATA)
    main = warp_array(rain, pgt, CRS, dem.shape, gt, resample="bilinear", nodata=NODATA)
    return _fill_nodata(main)


# ---------------------------------------------------------------- truth and inventory


def _slope_aspect(dem, gt):
    src = mem_raster(dem, gt, CRS, nodata=NODATA)
    results = []
    for mode in ("slope", "aspect"):
        out = gdal.DEMProcessing("", src, mode, options=gdal.DEMProcessingOptions(
            format="MEM", computeEdges=True))
        if out is None:
            raise InputError(f"Computing the {mode} failed: {gdal.GetLastErrorMsg()}")
        results.append(out.GetRasterBand(1).ReadAsArray().astype(np.float32))
    slope, aspect = results
    slope[slope < 0] = 0.0
    return slope, aspect  # aspect: -9999 on flat cells


def _solve_intercept(eta, target):
    """b0 such that mean(sigmoid(b0 + eta)) == target (bisection on a subsample)."""
    step = max(1, int(math.sqrt(eta.size / 1e6)))
    sample = eta[::step, ::step].astype(np.float64).ravel()
    low, high = -30.0, 10.0
    for _ in range(60):
        middle = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(sample + middle)))) > target:
            high = middle
        else:
            low = middle
    return round((low + high) / 2, 6)


def _landslides(rng, probability, aspect, gt, is_cancelled):
    """Ellipses elongated downslope from initiation cells drawn proportionally to p."""
    rows, cols = probability.shape
    cell = gt[1]
    wanted = int(min(5000, max(20, round(rows * cols / 1600))))
    candidates = min(rows * cols, 6 * wanted)
    # weighted sampling without replacement (Efraimidis & Spirakis): top keys log(u) / p
    keys = np.log(rng.random(rows * cols)) / np.maximum(probability.ravel(), 1e-12)
    top = np.argpartition(-keys, candidates - 1)[:candidates]
    top = top[np.argsort(-keys[top], kind="stable")]
    del keys
    semi_major = cell * rng.uniform(2.0, 5.5, candidates)
    ratio = rng.uniform(0.35, 0.7, candidates)
    random_direction = rng.uniform(0.0, 360.0, candidates)
    acceptance = rng.random(candidates)
    occupied = np.zeros((rows, cols), dtype=bool)
    polygons = []
    for k, index in enumerate(top.tolist()):
        if k % 500 == 0:
            check_cancelled(is_cancelled)
        if len(polygons) >= wanted:
            break
        r, c = divmod(index, cols)
        direction = float(aspect[r, c])
        if direction < 0:
            direction = float(random_direction[k])
        dx, dy = math.sin(math.radians(direction)), math.cos(math.radians(direction))
        a, b = float(semi_major[k]), float(semi_major[k] * ratio[k])
        x_start = gt[0] + (c + 0.5) * cell
        y_start = gt[3] - (r + 0.5) * cell
        xc, yc = x_start + 0.3 * a * dx, y_start + 0.3 * a * dy
        reach = a + cell
        c_lo, c_hi = math.floor((xc - reach - gt[0]) / cell), math.ceil((xc + reach - gt[0]) / cell)
        r_lo, r_hi = math.floor((gt[3] - yc - reach) / cell), math.ceil((gt[3] - yc + reach) / cell)
        if r_lo < 0 or c_lo < 0 or r_hi > rows or c_hi > cols:
            continue
        wy = gt[3] - (np.arange(r_lo, r_hi) + 0.5) * cell - yc
        wx = gt[0] + (np.arange(c_lo, c_hi) + 0.5) * cell - xc
        along = wx[None, :] * dx + wy[:, None] * dy
        across = -wx[None, :] * dy + wy[:, None] * dx
        inside = (along / a) ** 2 + (across / b) ** 2 <= 1.0
        if inside.sum() < 3:
            continue
        halo = (along / (a + cell)) ** 2 + (across / (b + cell)) ** 2 <= 1.0
        window = occupied[r_lo:r_hi, c_lo:c_hi]
        if (window & halo).any():
            continue
        # keep bodies where the truth is high too: accept with mean(p body) / p(start)
        body_p = float(probability[r_lo:r_hi, c_lo:c_hi][inside].mean())
        if acceptance[k] * float(probability[r, c]) > body_p:
            continue
        window |= inside
        theta = np.linspace(0.0, 2 * math.pi, 25)[:-1]
        px = xc + a * np.cos(theta) * dx - b * np.sin(theta) * dy
        py = yc + a * np.cos(theta) * dy + b * np.sin(theta) * dx
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in zip(np.round(px, 3).tolist() + [round(float(px[0]), 3)],
                        np.round(py, 3).tolist() + [round(float(py[0]), 3)], strict=True):
            ring.AddPoint_2D(x, y)
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        polygons.append(polygon)
    return polygons


def auc(scores, labels):
    """Area under the ROC curve of ``scores`` for boolean ``labels`` (mid-ranks for ties)."""
    scores = np.asarray(scores).ravel()
    labels = np.asarray(labels, dtype=bool).ravel()
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ordered = np.sort(scores, kind="stable")
    hits = scores[labels]
    left = np.searchsorted(ordered, hits, side="left")
    right = np.searchsorted(ordered, hits, side="right")
    rank_sum = float(np.sum((left + right + 1) / 2.0))  # 1-based mid-ranks
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


# ---------------------------------------------------------------- small helpers


def _smooth_noise(rng, shape, correlation):
    """Gaussian-correlated noise (std 1, float32) with a correlation length in cells."""
    rows, cols = shape
    factor = max(1, int(correlation // 4))
    sigma = correlation / factor
    pad = int(math.ceil(3 * sigma))
    m_rows, m_cols = rows // factor + 2 + 2 * pad, cols // factor + 2 + 2 * pad
    white = rng.standard_normal((m_rows, m_cols))
    ky = np.fft.fftfreq(m_rows)[:, None]
    kx = np.fft.rfftfreq(m_cols)[None, :]
    kernel = np.exp(-2.0 * math.pi ** 2 * sigma ** 2 * (ky * ky + kx * kx))
    smooth = np.fft.irfft2(np.fft.rfft2(white) * kernel, s=(m_rows, m_cols))
    smooth = smooth[pad:m_rows - pad, pad:m_cols - pad]
    smooth = (smooth - smooth.mean()) / max(smooth.std(), 1e-12)
    return _upsample(smooth.astype(np.float32), factor, shape)


def _upsample(coarse, factor, shape):
    """Bilinear upsampling of a grid whose cells are ``factor`` target cells wide."""
    if factor == 1:
        return np.ascontiguousarray(coarse[:shape[0], :shape[1]])

    def axis_weights(count, length):
        position = np.clip((np.arange(count) + 0.5) / factor - 0.5, 0, length - 1)
        lower = np.minimum(position.astype(np.int64), length - 2)
        return lower, (position - lower).astype(np.float32)

    r0, wr = axis_weights(shape[0], coarse.shape[0])
    c0, wc = axis_weights(shape[1], coarse.shape[1])
    rows = coarse[r0] * (1 - wr)[:, None] + coarse[r0 + 1] * wr[:, None]
    return rows[:, c0] * (1 - wc)[None, :] + rows[:, c0 + 1] * wc[None, :]


def _block_mean(array, factor, n):
    if factor == 1:
        return array[:n, :n].astype(np.float64)
    size = array.shape[0]
    padded = np.pad(array, ((0, n * factor - size), (0, n * factor - size)), mode="edge")
    return padded.reshape(n, factor, n, factor).mean(axis=(1, 3), dtype=np.float64)


def _box_blur(a):
    padded = np.pad(a, 1, mode="edge")
    return sum(padded[1 + dr:1 + dr + a.shape[0], 1 + dc:1 + dc + a.shape[1]]
               for dr in (-1, 0, 1) for dc in (-1, 0, 1)) / 9.0


def _box_filter(a, radius):
    """Mean over a (2 radius + 1) square window (edges replicated), float32."""
    width = 2 * radius + 1
    out = np.asarray(a, dtype=np.float32)
    for axis in (0, 1):
        padded = np.pad(out, [(radius + 1, radius) if ax == axis else (0, 0) for ax in (0, 1)],
                        mode="edge")
        padded[(slice(0, 1) if axis == 0 else (slice(None), slice(0, 1)))] = 0
        total = np.cumsum(padded, axis=axis, dtype=np.float64)
        if axis == 0:
            out = ((total[width:] - total[:-width]) / width).astype(np.float32)
        else:
            out = ((total[:, width:] - total[:, :-width]) / width).astype(np.float32)
    return out


def _rank01(a):
    flat = a.ravel()
    ranks = np.empty(flat.size)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (ranks / max(flat.size - 1, 1)).reshape(a.shape)


def _fill_nodata(array):
    bad = ~np.isfinite(array) | (array == NODATA)
    if bad.any():
        array = array.copy()
        array[bad] = array[~bad].mean() if (~bad).any() else 0.0
    return array.astype(np.float32)


def _to_lonlat(x, y):
    transform = osr.CoordinateTransformation(srs_from_epsg(EPSG), srs_from_epsg(4326))
    lon, lat, _ = transform.TransformPoint(x, y)
    return lon, lat


def _line(points):
    line = ogr.Geometry(ogr.wkbLineString)
    for x, y in np.round(np.asarray(points, dtype=np.float64), 3).tolist():
        line.AddPoint_2D(x, y)
    return line


def _line_parts(geometry):
    if geometry is None or geometry.IsEmpty():
        return []
    flat = ogr.GT_Flatten(geometry.GetGeometryType())
    if flat == ogr.wkbLineString:
        return [geometry.Clone()]
    if flat in (ogr.wkbMultiLineString, ogr.wkbGeometryCollection):
        parts = []
        for i in range(geometry.GetGeometryCount()):
            parts.extend(_line_parts(geometry.GetGeometryRef(i)))
        return parts
    return []


def _polygon_parts(geometry):
    if geometry is None or geometry.IsEmpty():
        return []
    flat = ogr.GT_Flatten(geometry.GetGeometryType())
    if flat == ogr.wkbPolygon:
        return [geometry.Clone()]
    if flat in (ogr.wkbMultiPolygon, ogr.wkbGeometryCollection):
        parts = []
        for i in range(geometry.GetGeometryCount()):
            parts.extend(_polygon_parts(geometry.GetGeometryRef(i)))
        return parts
    return []


def _extent_polygon(gt, shape):
    x0, y0 = gt[0], gt[3]
    x1, y1 = x0 + shape[1] * gt[1], y0 + shape[0] * gt[5]
    return ogr.CreateGeometryFromWkt(
        f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))")


def _geometry_layer(geometries):
    """An in-memory OGR data source with one layer holding ``geometries``."""
    memory = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = memory.CreateLayer("lines", srs_from_epsg(EPSG), ogr.wkbUnknown)
    definition = layer.GetLayerDefn()
    for geometry in geometries:
        feature = ogr.Feature(definition)
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    return memory


def _memory_layer(rivers):
    return _geometry_layer([_line(points) for points, _ in rivers])
