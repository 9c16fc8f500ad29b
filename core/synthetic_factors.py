"""Conditioning factors of the synthetic study area besides the terrain.

Faults (gently curved lines), lithology (folded, faulted bands plus
Quaternary valley fill, polygonised), land use (from elevation, slope and
rivers), NDVI (from land use, delivered in EPSG:4326) and precipitation (on
a grid :data:`PRECIPITATION_FACTOR` times coarser). Each function returns
arrays and features; the caller writes them.
"""

import math

import numpy as np
from osgeo import gdal, ogr

from .errors import InputError
from .progress import check_cancelled
from .raster_io import (
    empty_mem_raster,
    mem_raster,
    rasterize,
    srs_from_epsg,
    warp_array,
)
from .synthetic_arrays import block_mean, box_blur, box_filter, fill_nodata, rank01, smooth_noise
from .synthetic_geometry import extent_polygon, geometry_layer, geometry_parts, line, to_lonlat
from .synthetic_grid import CRS, EPSG, NODATA

MAX_LITHOLOGY_CELLS = 1000  # lithology is drawn (and polygonised) on at most this a side
PRECIPITATION_FACTOR = 10  # precipitation cell = 10 x cell_size

LITHOLOGY_NAMES = ("Quaternary", "Neogene", "Triassic", "Permian", "Carboniferous", "Devonian")
LANDUSE_CLASSES = {1: "cropland", 2: "forest", 3: "shrub", 4: "grassland", 5: "water",
                   7: "barren", 8: "impervious"}
LANDUSE_NDVI = {1: 0.55, 2: 0.78, 3: 0.58, 4: 0.45, 5: -0.25, 7: 0.08, 8: 0.12}


# ---------------------------------------------------------------- faults


def fault_curves(rng, extent, x0, y0):
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


def fault_features(faults, gt, shape):
    """The fault curves clipped to the grid: ``[(line, {"id", "name"}), ...]``."""
    area = extent_polygon(gt, shape)
    features = []
    for number, fault in enumerate(faults, start=1):
        clipped = line(fault["points"]).Intersection(area)
        for part in geometry_parts(clipped, ogr.wkbLineString):
            features.append((part, {"id": number, "name": f"F{number}"}))
    return features


def _fault_side(fault, x, y):
    """+1 / -1 on either side of a fault curve (broadcast over x, y)."""
    dx, dy = x - fault["centre"][0], y - fault["centre"][1]
    t = dx * fault["direction"][0] + dy * fault["direction"][1]
    s = dx * fault["normal"][0] + dy * fault["normal"][1]
    curve = fault["amplitude"] * np.sin(2 * math.pi * t / fault["wavelength"] + fault["phase"])
    return np.where(s > curve, 1.0, -1.0)


# ---------------------------------------------------------------- lithology


def lithology(rng, dem, dist_river, faults, gt, is_cancelled):
    """Folded, faulted bands plus Quaternary valley fill.

    Returns ``(features, units, names)``: polygons ``[(polygon, {"unit",
    "name"}), ...]``, the unit numbers (uint8, 1-based) on the main grid and
    the unit names in order.
    """
    size = dem.shape[0]
    cell = gt[1]
    factor = max(1, math.ceil(size / MAX_LITHOLOGY_CELLS))
    n = math.ceil(size / factor)
    lcell = factor * cell
    units = int(rng.integers(4, 7))
    names = LITHOLOGY_NAMES[:units]
    w = _folded_strata(rng, faults, gt, n, lcell, size * cell)

    # bedrock bands: units 2..k in stratigraphic order, random proportions
    shares = rng.dirichlet(np.full(units - 1, 3.0))
    cuts = np.quantile(w, np.cumsum(shares)[:-1])
    lith = (2 + np.searchsorted(cuts, w)).astype(np.uint8)

    # Quaternary: low ground near rivers (lowest 8 % by elevation rank + distance rank)
    score = rank01(block_mean(dem, factor, n)) + rank01(block_mean(dist_river, factor, n))
    lith[score <= np.quantile(score, 0.08)] = 1
    check_cancelled(is_cancelled)

    lgt = (gt[0], lcell, 0.0, gt[3], 0.0, -lcell)
    clip = extent_polygon(gt, dem.shape) if n * factor != size else None
    lith, features = _polygonise(lith, lgt, names, clip)
    main = np.repeat(np.repeat(lith, factor, axis=0), factor, axis=1)[:size, :size]
    return features, np.ascontiguousarray(main), names


def _folded_strata(rng, faults, gt, n, lcell, extent):
    """Stratigraphic height on the ``n`` x ``n`` lithology grid: folded, faulted, noisy."""
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
    w += 0.03 * extent * smooth_noise(rng, (n, n), max(2.0, 0.05 * extent / lcell))
    for fault in faults:
        w += fault["throw"] * extent * _fault_side(fault, xx, yy)
    return w


def _polygonise(lith, lgt, names, clip):
    """Remove specks, then polygonise: ``(sieved units, [(polygon, {"unit", "name"})])``.

    ``clip``: a polygon to cut the features to, or None.
    """
    lcell = lgt[1]
    src = mem_raster(lith, lgt, CRS)
    band = src.GetRasterBand(1)
    gdal.SieveFilter(band, None, band, max(4, round(0.02e6 / lcell ** 2)), 4)
    lith = band.ReadAsArray()
    memory = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = memory.CreateLayer("units", srs_from_epsg(EPSG), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("unit", ogr.OFTInteger))
    if gdal.Polygonize(band, None, layer, 0, []) != 0:
        raise InputError(f"Polygonising the lithology failed: {gdal.GetLastErrorMsg()}")
    features = []
    for feature in layer:
        unit = feature.GetField("unit")
        geometry = feature.GetGeometryRef().Clone()
        if clip is not None:
            geometry = geometry.Intersection(clip)
        for part in geometry_parts(geometry, ogr.wkbPolygon):
            features.append((part, {"unit": unit, "name": names[unit - 1]}))
    return lith, features


# ---------------------------------------------------------------- land use, NDVI, rain


def landuse(rng, dem, slope, dist_river, rivers, gt):
    """Land-use classes (uint8, :data:`LANDUSE_CLASSES`) from elevation, slope and rivers."""
    shape = dem.shape
    cell = gt[1]
    low, high = np.percentile(dem[::4, ::4], [1, 99])
    e = np.clip((dem - np.float32(low)) / np.float32(max(high - low, 1.0)), 0.0, 1.0)
    s = box_filter(slope, max(1, round(20.0 / cell)))  # slope of the land parcel
    corr = max(3.0, 250.0 / cell)
    n1 = smooth_noise(rng, shape, corr)
    n2 = smooth_noise(rng, shape, corr)
    n3 = smooth_noise(rng, shape, corr * 0.6)
    classes = np.full(shape, 2, dtype=np.uint8)  # forest
    cropland = (s < 15 + 4 * n1) & (e < 0.5 + 0.08 * n2)
    classes[cropland] = 1
    classes[(e > 0.65 + 0.06 * n2) | ((s > 36 + 4 * n3) & ~cropland)] = 3  # shrub
    classes[e > 0.78 + 0.06 * n1] = 4  # grassland
    classes[(s > 48 + 4 * n1) | (e > 0.95 + 0.03 * n3)] = 7  # barren
    classes[(s < 10) & (e < 0.45) & (n3 > 1.2) & (dist_river < 400)] = 8  # settlements
    del n1, n2, n3, e, s
    # water: channels of order >= 2, wider for bigger rivers
    water = []
    for points, values in rivers:
        order = values["strahler"]
        if order >= 2:
            river = line(points)
            water.append(river.Buffer(0.6 * (order - 2) * cell, 4) if order >= 3 else river)
    if water:
        mask = rasterize(geometry_layer(water), shape, gt, CRS, all_touched=True)
        classes[mask > 0] = 5
    return classes


def ndvi(rng, classes, dem, gt):
    """NDVI from land use ``classes``, reprojected to EPSG:4326.

    Returns ``(geographic, main)``: the EPSG:4326 grid (an in-memory GDAL
    dataset, the file to deliver) and it resampled back onto the main grid
    (bilinear, float32).
    """
    shape = classes.shape
    cell = gt[1]
    lut = np.zeros(256, dtype=np.float32)
    for code, value in LANDUSE_NDVI.items():
        lut[code] = value
    values = lut[classes]
    values += np.float32(0.06) * smooth_noise(rng, shape, max(3.0, 150.0 / cell))
    values += rng.normal(0.0, 0.03, size=shape).astype(np.float32)
    low, high = float(dem.min()), float(dem.max())
    values -= np.float32(0.12 / max(high - low, 1.0)) * (dem - np.float32((low + high) / 2))
    values = np.clip(values, -1.0, 1.0).astype(np.float32)
    geographic = _to_geographic(values, gt)
    back = empty_mem_raster(shape, gt, CRS, np.float32, fill=NODATA, nodata=NODATA)
    gdal.Warp(back, geographic, options=gdal.WarpOptions(
        resampleAlg="bilinear", srcNodata=NODATA, dstNodata=NODATA))
    return geographic, fill_nodata(back.GetRasterBand(1).ReadAsArray(), NODATA)


def _to_geographic(values, gt):
    """``values`` on the main grid warped (bilinear) to EPSG:4326 at about the same
    ground resolution: an in-memory GDAL dataset."""
    shape = values.shape
    cell = gt[1]
    src = mem_raster(values, gt, CRS, nodata=NODATA)
    centre = to_lonlat(gt[0] + shape[1] * cell / 2, gt[3] - shape[0] * cell / 2)
    x_res = cell / (111320.0 * math.cos(math.radians(centre[1])))
    y_res = cell / 110574.0
    geographic = gdal.Warp("", src, options=gdal.WarpOptions(
        format="MEM", dstSRS="EPSG:4326", xRes=x_res, yRes=y_res, resampleAlg="bilinear",
        srcNodata=NODATA, dstNodata=NODATA, outputType=gdal.GDT_Float32))
    if geographic is None:
        raise InputError(f"Reprojecting the NDVI failed: {gdal.GetLastErrorMsg()}")
    return geographic


def precipitation(rng, dem, gt):
    """Smooth mm/yr on a grid 10x coarser with a 2-cell margin.

    Returns ``(rain, rain_geotransform, main)``: the coarse float32 grid, its
    geotransform and it resampled onto the main grid (bilinear).
    """
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
        elevation = box_blur(elevation)
    low, high = elevation.min(), elevation.max()
    relative = (elevation - low) / max(high - low, 1.0)
    angle = rng.uniform(0.0, 2 * math.pi)
    ramp = np.cos(angle) * np.linspace(-0.5, 0.5, n)[None, :] + np.sin(angle) * np.linspace(
        -0.5, 0.5, n)[:, None]
    rain = 1000.0 + 320.0 * relative + 60.0 * ramp
    rain += 15.0 * smooth_noise(rng, (n, n), 3.0)
    rain = np.round(rain, 1).astype(np.float32)
    pcell = f * gt[1]
    pgt = (gt[0] - margin * pcell, pcell, 0.0, gt[3] + margin * pcell, 0.0, -pcell)
    main = warp_array(rain, pgt, CRS, dem.shape, gt, resample="bilinear", nodata=NODATA)
    return rain, pgt, fill_nodata(main, NODATA)
