"""Tiles and stride geometry of the susceptibility map (numpy only).

The output grid is cut into tiles (:func:`plan_tiles`); each tile's window is
read with a halo of half a patch (see the engine's stack reader, which uses
:func:`reflect_index` to complete it at the raster edges), and every output
pixel's patch is a strided view of that window (:func:`patch_view`).

With STRIDE ``s > 1`` the model runs only on every ``s``-th row and column plus
the last (:func:`grid_nodes`); :func:`prepare_tile` picks those nodes inside a
tile, and the valid pixels next to a nodata node, which are predicted directly;
:func:`assemble` fills the rest by bilinear interpolation of the four
surrounding nodes, so no value leaks in from outside the valid area.
"""

from dataclasses import dataclass

import numpy as np


def reflect_index(index, size):
    """Source index of ``index`` under ``np.pad(mode="reflect")`` of a ``size`` axis."""
    index = np.asarray(index)
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    index = np.mod(index, period)
    return np.where(index >= size, period - index, index)


def patch_view(window, patch_size):
    """Read-only view ``(rows, cols, p, p, bands)``: ``view[r, c]`` is the patch of
    output pixel ``(r, c)`` of the window (no copy)."""
    p = patch_size
    rows, cols = window.shape[0] - p + 1, window.shape[1] - p + 1
    s0, s1, s2 = window.strides
    return np.lib.stride_tricks.as_strided(window, (rows, cols, p, p, window.shape[2]),
                                           (s0, s1, s0, s1, s2), writeable=False)


def check_bounds(shape, rows, cols, need_r, need_c):
    """Raise when windows of ``need_r x need_c`` at ``(rows, cols)`` overrun ``shape``."""
    if len(rows) and (rows.max() + need_r > shape[0] or cols.max() + need_c > shape[1]):
        raise RuntimeError(f"dense maps {shape} too small for rows up to {rows.max()} + "
                           f"{need_r}, columns up to {cols.max()} + {need_c}")


def grid_nodes(size, stride):
    """Rows (or columns) where the model runs for ``stride``: every ``stride``-th and the last."""
    return np.unique(np.r_[np.arange(0, size, stride), size - 1])


@dataclass
class Tile:
    """One output tile and what is evaluated for it (window-local coordinates)."""

    index: int
    row0: int
    col0: int
    rows: int
    cols: int
    eval_rows: int = 0
    eval_cols: int = 0
    window: np.ndarray = None
    valid: np.ndarray = None      # (eval_rows, eval_cols)
    pixel_rows: np.ndarray = None  # pixels to evaluate
    pixel_cols: np.ndarray = None
    interpolation: dict = None    # stride > 1: node grid and weights
    results: np.ndarray = None
    filled: int = 0


def plan_tiles(height, width, tile_size, stride):
    """``(tiles, tile_size)``: tiles in row-major order; with a stride, tile sides
    are multiples of it."""
    if stride > 1:
        tile_size = max(stride, tile_size // stride * stride)
    tiles = []
    for row0 in range(0, height, tile_size):
        for col0 in range(0, width, tile_size):
            tiles.append(Tile(len(tiles), row0, col0, min(tile_size, height - row0),
                              min(tile_size, width - col0)))
    return tiles, tile_size


def prepare_tile(tile, reader, stride, row_nodes, col_nodes):
    """Read the tile's window (``reader.read(row0, col0, rows, cols)`` ->
    ``(window, valid)``) and decide which pixels the model runs on."""
    if stride == 1:
        tile.eval_rows, tile.eval_cols = tile.rows, tile.cols
        tile.window, tile.valid = reader.read(tile.row0, tile.col0, tile.rows, tile.cols)
        tile.pixel_rows, tile.pixel_cols = np.nonzero(tile.valid)
        return tile
    nodes_r = _tile_nodes(row_nodes, tile.row0, tile.rows)
    nodes_c = _tile_nodes(col_nodes, tile.col0, tile.cols)
    tile.eval_rows, tile.eval_cols = int(nodes_r[-1]) + 1, int(nodes_c[-1]) + 1
    tile.window, tile.valid = reader.read(tile.row0, tile.col0, tile.eval_rows,
                                          tile.eval_cols)
    interp = _interpolation(tile, nodes_r, nodes_c)
    tile.interpolation = interp
    direct_r, direct_c = interp["direct"]
    tile.pixel_rows = np.r_[nodes_r[interp["node_r"]], direct_r].astype(np.int64)
    tile.pixel_cols = np.r_[nodes_c[interp["node_c"]], direct_c].astype(np.int64)
    return tile


def _interpolation(tile, nodes_r, nodes_c):
    """The node grid and bilinear weights of a strided tile; ``ok`` marks pixels
    whose needed nodes are all valid, ``direct`` the valid pixels that are not."""
    node_valid = tile.valid[np.ix_(nodes_r, nodes_c)]
    iy, wy = _cells(nodes_r, tile.rows)
    ix, wx = _cells(nodes_c, tile.cols)
    ok = np.ones((tile.rows, tile.cols), dtype=bool)
    for dy, wr in ((0, 1 - wy), (1, wy)):
        for dx, wc in ((0, 1 - wx), (1, wx)):
            corner = node_valid[np.ix_(np.minimum(iy + dy, len(nodes_r) - 1),
                                       np.minimum(ix + dx, len(nodes_c) - 1))]
            ok &= corner | (wr[:, None] * wc[None, :] == 0)
    valid_out = tile.valid[:tile.rows, :tile.cols]
    direct_r, direct_c = np.nonzero(valid_out & ~ok)
    node_r, node_c = np.nonzero(node_valid)
    return {"nodes_r": nodes_r, "nodes_c": nodes_c, "node_valid": node_valid,
            "node_r": node_r, "node_c": node_c, "iy": iy, "wy": wy, "ix": ix,
            "wx": wx, "ok": ok, "direct": (direct_r, direct_c)}


def _tile_nodes(nodes, start, count):
    """Tile-local node positions covering ``start .. start + count - 1``."""
    last = nodes[np.searchsorted(nodes, start + count - 1)]
    inside = nodes[(nodes >= start) & (nodes <= last)]
    return (inside - start).astype(np.int64)


def _cells(nodes, count):
    """For positions 0..count-1: index of the node at or before, and the weight
    of the node after."""
    position = np.arange(count)
    index = np.clip(np.searchsorted(nodes, position, side="right") - 1, 0,
                    max(len(nodes) - 2, 0))
    low = nodes[index]
    high = nodes[np.minimum(index + 1, len(nodes) - 1)]
    span = np.maximum(high - low, 1)
    weight = np.where(high > low, (position - low) / span, 0.0)
    return index, weight


def assemble(tile, values, nodata):
    """The finished output tile (float32, ``nodata`` outside the valid area)
    from the model's ``values`` on the tile's pixels."""
    out = np.full((tile.rows, tile.cols), nodata, dtype=np.float32)
    if tile.interpolation is None:
        out[tile.pixel_rows, tile.pixel_cols] = values
        return out
    interp = tile.interpolation
    count = len(interp["node_r"])
    value = _bilinear(interp, values[:count])
    keep = interp["ok"] & tile.valid[:tile.rows, :tile.cols]
    out[keep] = value[keep].astype(np.float32)
    direct_r, direct_c = interp["direct"]
    out[direct_r, direct_c] = values[count:]
    return out


def _bilinear(interp, node_results):
    """Every tile pixel interpolated from the valid nodes' results (float64)."""
    node_values = np.zeros(interp["node_valid"].shape, dtype=np.float64)
    node_values[interp["node_r"], interp["node_c"]] = node_results
    iy, wy, ix, wx = interp["iy"], interp["wy"], interp["ix"], interp["wx"]
    last_r, last_c = node_values.shape[0] - 1, node_values.shape[1] - 1
    iy1, ix1 = np.minimum(iy + 1, last_r), np.minimum(ix + 1, last_c)
    wy, wx = wy[:, None], wx[None, :]
    return ((1 - wy) * (1 - wx) * node_values[np.ix_(iy, ix)]
            + (1 - wy) * wx * node_values[np.ix_(iy, ix1)]
            + wy * (1 - wx) * node_values[np.ix_(iy1, ix)]
            + wy * wx * node_values[np.ix_(iy1, ix1)])
