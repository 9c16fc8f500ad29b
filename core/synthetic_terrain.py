"""Terrain of the synthetic study area: fractal relief, flow routing, incision, rivers.

Flow is routed on the DEM block-averaged to at most :data:`MAX_ROUTING_CELLS`
a side, with a priority-flood from the grid's edge (so closed basins drain
over their lowest sill). Slope and aspect are computed as ``gdaldem`` does.
"""

import heapq
import math

import numpy as np
from osgeo import gdal

from .errors import InputError
from .progress import check_cancelled
from .raster_io import mem_raster
from .synthetic_arrays import block_mean, box_blur, upsample
from .synthetic_geometry import chaikin
from .synthetic_grid import CRS, NODATA

MAX_ROUTING_CELLS = 300  # flow routing runs on a grid of at most this many cells a side

_D8 = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


# ---------------------------------------------------------------- relief


def fractal_terrain(rng, size, cell):
    """Fractal relief (spectral synthesis) on a regional valley: (float32 metres, base)."""
    field = _fractal_field(rng, size, cell)
    structure, base = _regional_valley(rng, size, cell)
    dem = field + structure
    del field, structure
    return dem.astype(np.float32), base


def _fractal_field(rng, size, cell):
    """Zero-mean relief with a power-law spectrum and an RMS slope of 24 degrees."""
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
    return field


def _regional_valley(rng, size, cell):
    """A regional valley crossing the area, draining towards one side: (relief, base)."""
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
    return structure, base


def slope_aspect(dem, gt):
    """Slope (degrees, >= 0) and aspect (-9999 on flat cells) as gdaldem computes them."""
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
    return slope, aspect


# ---------------------------------------------------------------- valleys


def incise(dem, cell, is_cancelled):
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
    dem -= upsample(box_blur(depth).astype(np.float32), factor, dem.shape)
    return dem


def carve_channels(dem, dist_river, cell):
    """The DEM 3 m deeper in the river channels, fading out over two cells (float32)."""
    dem -= np.float32(3.0) * np.clip(1.0 - dist_river / np.float32(2.0 * cell), 0.0, 1.0)
    return dem.astype(np.float32)


# ---------------------------------------------------------------- rivers


def river_lines(dem, cell, gt, is_cancelled):
    """River polylines ``[(points, {"accumulation", "area_km2", "strahler"}), ...]``."""
    factor, n, _, _, down, order, acc = _routing(dem, is_cancelled)
    coarse_cell = factor * cell
    threshold = max(8, round(0.2e6 / coarse_cell ** 2))
    if (acc >= threshold).sum() < 0.02 * n * n:  # small areas: keep a few channels
        threshold = max(4, int(np.quantile(acc, 0.98)))
    channel = acc >= threshold
    down_list = down.tolist()
    strahler = _strahler_orders(channel, down_list, order[::-1])
    check_cancelled(is_cancelled)

    size = dem.shape[0]
    x0, y0 = gt[0], gt[3]
    x_max, y_min = x0 + size * cell, y0 - size * cell
    features = []
    for cells, body in _reaches(channel, down, down_list):
        rows, cols = np.divmod(np.asarray(cells), n)
        xs = np.clip(x0 + (cols + 0.5) * coarse_cell, x0, x_max)
        ys = np.clip(y0 - (rows + 0.5) * coarse_cell, y_min, y0)
        points = chaikin(np.column_stack([xs, ys]), 2)
        cells_up = int(acc[body].max()) * factor * factor
        features.append((points, {"accumulation": cells_up,
                                  "area_km2": round(cells_up * cell * cell / 1e6, 4),
                                  "strahler": int(strahler[cells[0]])}))
    return features


def _strahler_orders(channel, down_list, upstream_first):
    """Strahler order of each channel cell (0 off the channels)."""
    strahler = np.zeros(channel.size, dtype=np.int64)
    best = np.zeros(channel.size, dtype=np.int64)
    best_count = np.zeros(channel.size, dtype=np.int64)
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
    return strahler


def _reaches(channel, down, down_list):
    """Channel reaches from each source or junction down to the next junction.

    Returns ``[(cells, body), ...]``: ``cells`` includes the junction the reach
    ends on, ``body`` leaves it out.
    """
    upstream = np.zeros(channel.size, dtype=np.int64)
    np.add.at(upstream, down[channel & (down >= 0)], 1)
    junction = channel & (upstream >= 2)
    starts = np.flatnonzero(channel & ((upstream == 0) | junction))
    channel_list = channel.tolist()
    reaches = []
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
        reaches.append((cells, cells[:-1] if junction[cells[-1]] else cells))
    return reaches


# ---------------------------------------------------------------- routing


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
    coarse = block_mean(dem, factor, n)
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
