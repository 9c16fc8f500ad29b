"""The susceptibility map: a trained model's landslide probability for every
valid pixel of a factor stack (``landslide:predictsusceptibility``).

Rule (the same as training and evaluation): a pixel's value is the model's
output (softmax index 1) on the ``p x p`` patch centred on it (the centre at
offset ``p // 2``), Z-score normalised with the model card's statistics, nodata
-> NaN -> 0 after normalisation (:func:`.patches.normalise`); patches reaching
past the raster edge are completed by reflect padding (:func:`..core.samples.
pad_width`, :class:`.patches.PaddedStack`). A pixel invalid in any band gets
the output nodata, :data:`OUTPUT_NODATA` (-9999).

Streaming: the output grid is cut into tiles; each tile is read with a halo
of half a patch by a windowed GDAL read (reflect-completed at the raster
edges), normalised, and predicted; the finished tile is written at once and
the GDAL block cache is kept small, so memory does not depend on the raster
size. Reading, normalising and patch cutting run in a background thread that
stays a few batches ahead of the model (:class:`Prefetcher`).

Two evaluation paths give the same numbers:

* per patch (every model): patches are strided views of the normalised tile
  (no per-pixel Python loop), gathered into fixed-shape batches and run
  through ``model(x, training=False)`` in one ``tf.function``;
* dense (shift-and-stitch, where the model allows it): the leading layers whose
  output for a pixel does not depend on where the patch border falls ('valid'
  stride-1 convolutions, batch norm, activations, dropout, ``k x k``/stride
  ``k`` pooling) run once over the whole tile. After each pooling layer the
  ``k x k`` pooling phases go into the batch dimension, so every patch finds
  its pooled features as a contiguous window of one phase map. Then either
  the classifier head (Flatten -> Dense) is itself applied as a convolution
  (fully dense: CNN), or a non-overlapping patch embedding (a ``k x k``/stride
  ``k`` convolution) is evaluated densely and each patch gathers its tokens
  with step ``k`` (CTLGNet), or each patch gathers its feature window (ResNet,
  DenseNet stems); the rest of the model runs per patch on those features.
  Before use the dense path is checked against the per-patch path on random
  data (tolerance :data:`DENSE_TOLERANCE`); on failure the per-patch path is
  used and the log says why.

STRIDE ``s > 1`` evaluates the model only on every ``s``-th row and column
(plus the last row and column) and fills the pixels between by bilinear
interpolation of the four surrounding nodes; valid pixels next to a nodata
node are predicted directly, so no value leaks in from outside the valid area.
"""

import math
import os
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal

from ..core.errors import CancelledError, InputError
from ..core.model_card import check_stack_matches, read_card
from ..core.raster_io import gtiff_options
from ..core.samples import pad_width
from ..core.stack import band_valid, open_raster, raster_output, read_stack_info
from .patches import normalise

OUTPUT_NODATA = -9999.0
BAND_NAME = "landslide_probability"
DEFAULT_TILE = 256          # output tile side, per-patch path
DEFAULT_DENSE_TILE = 512    # output tile side, dense path (less halo overhead)

OVERVIEW_MIN_SIZE = 64      # overviews halve the map until it is about this small
READ_CACHE_BYTES = 64 << 20  # GDAL block cache while predicting (restored after)
OVERVIEW_CACHE_BYTES = 16 << 20  # ... and while building overviews (bounds their memory)
PREFETCH_DEPTH = 3          # batches (or tiles) prepared ahead of the model
DENSE_TOLERANCE = 1e-4
DENSE_CHECK_PIXELS = 24
METHODS = ("auto", "dense", "patch")


# --- reading -------------------------------------------------------------------

def reflect_index(index, size):
    """Source index of ``index`` under ``np.pad(mode="reflect")`` of a ``size`` axis."""
    index = np.asarray(index)
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    index = np.mod(index, period)
    return np.where(index >= size, period - index, index)


class StackReader:
    """Windowed reads of the stack: normalised, reflect-completed tiles + halo."""

    def __init__(self, info, patch_size, mean, std):
        self.info = info
        self.dataset = open_raster(info.path, "factor stack")
        self.before, self.after = pad_width(patch_size)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        # The training rule (PaddedStack): band 1's nodata marks nodata in every band.
        self.value_nodata = self.dataset.GetRasterBand(1).GetNoDataValue()
        self.band_nodata = [band.nodata if band.nodata is not None else info.nodata
                            for band in info.bands]

    def read(self, row0, col0, rows, cols):
        """``(window, valid)`` for output rows ``row0..row0+rows-1`` and columns
        ``col0..``: ``window`` float32 ``(rows + p - 1, cols + p - 1, bands)``,
        normalised; ``valid`` bool ``(rows, cols)``: valid in every band."""
        info = self.info
        r_idx = reflect_index(np.arange(row0 - self.before, row0 + rows + self.after),
                              info.height)
        c_idx = reflect_index(np.arange(col0 - self.before, col0 + cols + self.after),
                              info.width)
        r_lo, r_hi = int(r_idx.min()), int(r_idx.max()) + 1
        c_lo, c_hi = int(c_idx.min()), int(c_idx.max()) + 1
        raw = self.dataset.ReadAsArray(c_lo, r_lo, c_hi - c_lo, r_hi - r_lo)
        if raw is None:
            raise InputError(f"Cannot read the factor stack '{info.path}' at rows "
                             f"{r_lo}-{r_hi}, columns {c_lo}-{c_hi}: {gdal.GetLastErrorMsg()}")
        raw = raw.reshape(info.count, r_hi - r_lo, c_hi - c_lo)
        centre = raw[:, row0 - r_lo:row0 - r_lo + rows, col0 - c_lo:col0 - c_lo + cols]
        valid = np.ones((rows, cols), dtype=bool)
        for band, nodata in enumerate(self.band_nodata):
            valid &= band_valid(centre[band], nodata)
        if not _is_range(r_idx - r_lo):
            raw = raw[:, r_idx - r_lo]
        if not _is_range(c_idx - c_lo):
            raw = raw[:, :, c_idx - c_lo]
        window = raw.transpose(1, 2, 0).astype(np.float32)
        if self.value_nodata is not None:
            window[window == np.float32(self.value_nodata)] = np.nan
        return normalise(window, self.mean, self.std), valid


def _is_range(index):
    return bool(index[0] == 0 and np.all(np.diff(index) == 1))


def patch_view(window, patch_size):
    """Read-only view ``(rows, cols, p, p, bands)``: ``view[r, c]`` is the patch of
    output pixel ``(r, c)`` of the window (no copy)."""
    p = patch_size
    rows, cols = window.shape[0] - p + 1, window.shape[1] - p + 1
    s0, s1, s2 = window.strides
    return np.lib.stride_tricks.as_strided(window, (rows, cols, p, p, window.shape[2]),
                                           (s0, s1, s0, s1, s2), writeable=False)


# --- the per-patch path ---------------------------------------------------------

class PatchModel:
    """``model(x, training=False)[:, 1]`` on fixed-shape batches (one trace)."""

    def __init__(self, model, batch_size):
        import tensorflow as tf

        self.batch_size = int(batch_size)
        self.shape = tuple(int(s) for s in model.input_shape[1:])
        spec = tf.TensorSpec((self.batch_size,) + self.shape, tf.float32)
        self._fn = tf.function(lambda x: model(x, training=False)[:, 1],
                               input_signature=[spec])

    def __call__(self, x):
        n = len(x)
        if n == 0:
            return np.empty(0, np.float32)
        if n < self.batch_size:
            padded = np.zeros((self.batch_size,) + self.shape, np.float32)
            padded[:n] = x
            x = padded
        return self._fn(x).numpy()[:n]

    def predict(self, x):
        """Any number of patches, in batches."""
        out = [self(x[i:i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return np.concatenate(out) if out else np.empty(0, np.float32)


# --- the dense (shift-and-stitch) path -------------------------------------------

@dataclass
class DensePlan:
    """How a model is evaluated densely; see the module docstring."""

    mode: str                    # "head", "embed" or "gather"
    prefix: list                 # [(kind, layer)]: kind "layer" or "pool"
    strides: list                # pooling strides of the prefix, in order
    description: str
    head: tuple = None           # (kernel (hf, wf, c, units), bias, activation)
    embed: tuple = None          # (kernel, bias, activation, step)
    tail: object = None          # keras.Model: per-patch rest of the model
    token_shape: tuple = ()      # per-patch (rows, cols, channels) the tail takes
    shared_layers: list = field(default_factory=list)

    @property
    def worthwhile(self):
        """A convolutional stem is shared (not just an input patch embedding, whose
        sharing saves little and costs a gather: ViT, FrIT)."""
        return any(type(layer).__name__ == "Conv2D" for _, layer in self.prefix)


_POINTWISE = ("BatchNormalization", "ReLU", "Activation", "LeakyReLU", "ELU", "PReLU",
              "Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise")


def _classify(layer):
    """``"layer"`` (evaluate densely as is), ``"skip"`` (identity at inference),
    ``"pool"`` or None (not border-independent)."""
    kind = type(layer).__name__
    if kind in ("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise"):
        return "skip"
    if kind == "BatchNormalization" and layer.get_config().get("axis") not in (-1, 3, [-1],
                                                                            [3]):
        return None
    if kind in _POINTWISE:
        return "layer"
    if kind == "Conv2D":
        config = layer.get_config()
        if tuple(config["strides"]) == (1, 1) and tuple(config["dilation_rate"]) == (1, 1) \
                and (config["padding"] == "valid" or tuple(config["kernel_size"]) == (1, 1)):
            return "layer"
        return None
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        config = layer.get_config()
        pool = tuple(config["pool_size"])
        strides = tuple(config["strides"] or pool)
        if pool == strides and pool[0] == pool[1] and config["padding"] == "valid":
            return "pool"
    return None


def _consumers(model):
    """``{id(tensor): number of layer calls that take it}`` over the model."""
    counts = {}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                counts[id(tensor)] = counts.get(id(tensor), 0) + 1
    return counts


def _chained(layer, previous, consumers):
    """``layer`` is the only layer fed by ``previous``, and is fed only by it."""
    return len(layer._inbound_nodes) == 1 and layer.input is previous.output \
        and consumers.get(id(previous.output), 0) == 1


def dense_plan(model):
    """A :class:`DensePlan` for ``model``, or ``(None, reason)``."""
    import keras

    layers = model.layers
    if not layers or type(layers[0]).__name__ != "InputLayer" or len(model.inputs) != 1:
        return None, "the model does not start with a single image input"
    shape = model.input_shape[1:]
    if len(shape) != 3 or shape[0] != shape[1]:
        return None, "the model input is not a square patch"
    consumers = _consumers(model)
    previous, prefix, strides = layers[0], [], []
    index = 1
    while index < len(layers):
        layer = layers[index]
        kind = _classify(layer) if _chained(layer, previous, consumers) else None
        if kind is None:
            break
        if kind != "skip":
            prefix.append((kind, layer))
        if kind == "pool":
            strides.append(int(layer.get_config()["pool_size"][0]))
        previous = layer
        index += 1
    rest = layers[index:]
    convs = [layer for kind, layer in prefix if type(layer).__name__ == "Conv2D"]
    shared = [layer.name for _, layer in prefix]
    names = [type(layer).__name__ for layer in rest]

    # Fully dense: Flatten, dropout(s), Dense = a convolution over the final map.
    if names and names[0] == "Flatten" and names[-1] == "Dense" \
            and set(names[1:-1]) <= {"Dropout"} \
            and all(_chained(b, a, consumers)
                    for a, b in zip([previous] + rest[:-1], rest, strict=True)) \
            and rest[-1].output is model.outputs[0]:
        if not convs:
            return None, "no convolution before the classifier"
        hf, wf, channels = (int(s) for s in rest[0].input.shape[1:])
        weights = rest[-1].get_weights()
        kernel = weights[0].reshape(hf, wf, channels, -1)
        bias = weights[1] if len(weights) > 1 else None
        return DensePlan("head", prefix, strides,
                         f"fully dense ({', '.join(shared)}, classifier as a convolution)",
                         head=(kernel, bias, rest[-1].activation),
                         shared_layers=shared + [rest[-1].name]), None

    # A non-overlapping patch embedding: dense stride-1 convolution, tokens every k.
    embed = None
    if rest and names[0] == "Conv2D" and _chained(rest[0], previous, consumers):
        config = rest[0].get_config()
        k = tuple(config["kernel_size"])
        if tuple(config["strides"]) == k and k[0] == k[1] and k[0] > 1 \
                and config["padding"] == "valid" and config.get("groups", 1) == 1 \
                and tuple(config["dilation_rate"]) == (1, 1):
            weights = rest[0].get_weights()
            embed = (weights[0], weights[1] if len(weights) > 1 else None,
                     rest[0].activation, int(k[0]))
    if embed is None and not convs:
        return None, "the model has no border-independent convolutional stem"
    start = rest[0] if embed is not None else previous
    try:
        tail = keras.Model(start.output, model.outputs[0])
    except Exception as exc:  # a branch that bypasses the shared part
        return None, f"the rest of the model is not a chain after the stem ({exc})"
    token_shape = tuple(int(s) for s in start.output.shape[1:])
    if embed is not None:
        shared.append(rest[0].name)
        return DensePlan("embed", prefix, strides,
                         f"dense stem + patch embedding ({', '.join(shared)}), "
                         "the rest per patch", embed=embed, tail=tail,
                         token_shape=token_shape, shared_layers=shared), None
    return DensePlan("gather", prefix, strides,
                     f"dense stem ({', '.join(shared)}), the rest per patch", tail=tail,
                     token_shape=token_shape, shared_layers=shared), None


class DenseModel:
    """Dense evaluation of a :class:`DensePlan` over normalised windows."""

    def __init__(self, plan, patch_size, bands, batch_size):
        import tensorflow as tf

        self.plan = plan
        self.patch_size = int(patch_size)
        self.batch_size = int(batch_size)
        self.multiple = int(np.prod(plan.strides)) if plan.strides else 1
        self.step = plan.embed[3] if plan.embed is not None else 1

        def phase_split(layer, x, k):
            parts = [layer(x[:, py:, px:, :]) for py in range(k) for px in range(k)]
            size = tf.shape(parts[-1])  # the last phase is the smallest
            parts = [part[:, :size[1], :size[2], :] for part in parts]
            return tf.reshape(tf.stack(parts, axis=0),
                              [-1, size[1], size[2], parts[0].shape[-1]])

        def conv(x, kernel, bias, activation):
            y = tf.nn.conv2d(x, kernel, strides=1, padding="VALID")
            if bias is not None:
                y = y + bias
            return activation(y)

        def dense(window):
            x = window[None]
            for (kind, layer), k in zip(plan.prefix, self._pool_strides(), strict=True):
                x = phase_split(layer, x, k) if kind == "pool" else layer(x, training=False)
            if plan.mode == "head":
                kernel, bias, activation = plan.head
                return conv(x, tf.constant(kernel), None if bias is None else
                            tf.constant(bias), activation)[..., 1]
            if plan.mode == "embed":
                kernel, bias, activation, _ = plan.embed
                x = conv(x, tf.constant(kernel),
                         None if bias is None else tf.constant(bias), activation)
            return x

        spec = tf.TensorSpec((None, None, bands), tf.float32)
        self._dense = tf.function(dense, input_signature=[spec])
        if plan.tail is not None:
            tail = plan.tail
            tail_spec = tf.TensorSpec((self.batch_size,) + plan.token_shape, tf.float32)
            self._tail = tf.function(lambda x: tail(x, training=False)[:, 1],
                                     input_signature=[tail_spec])

    def _pool_strides(self):
        out, pools = [], iter(self.plan.strides)
        for kind, _ in self.plan.prefix:
            out.append(next(pools) if kind == "pool" else 0)
        return out

    def phase_index(self, rows, cols):
        """``(phase map index, row, col)`` in the dense maps of window pixels."""
        index = np.zeros(len(rows), dtype=np.int64)
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        multiplier = 1
        for k in self.plan.strides:
            index += ((rows % k) * k + cols % k) * multiplier
            multiplier *= k * k
            rows, cols = rows // k, cols // k
        return index, rows, cols

    def features(self, window):
        """The dense stage over a normalised window (rows + p - 1, cols + p - 1, C):
        padded to a multiple of the pooling strides, run once."""
        p = self.patch_size
        rows, cols = window.shape[0] - p + 1, window.shape[1] - p + 1
        extra_r = -rows % self.multiple
        extra_c = -cols % self.multiple
        if extra_r or extra_c:
            window = np.pad(window, ((0, extra_r), (0, extra_c), (0, 0)))
        return self._dense(window).numpy()

    def predict(self, window, rows, cols, is_cancelled=None, progress=None):
        """Probabilities of window pixels ``(rows, cols)``; ``progress(fraction)``
        is called after each batch of the per-patch part."""
        feats = self.features(window)
        index, r, c = self.phase_index(rows, cols)
        if self.plan.mode == "head":
            _check_bounds(feats.shape[1:3], r, c, 1, 1)
            return feats[index, r, c].astype(np.float32)
        ta, tb, _ = self.plan.token_shape
        step = self.step
        _check_bounds(feats.shape[1:3], r, c, (ta - 1) * step + 1, (tb - 1) * step + 1)
        s0, s1, s2, s3 = feats.strides
        view = np.lib.stride_tricks.as_strided(
            feats, (feats.shape[0], feats.shape[1] - (ta - 1) * step,
                    feats.shape[2] - (tb - 1) * step, ta, tb, feats.shape[3]),
            (s0, s1, s2, s1 * step, s2 * step, s3), writeable=False)
        out = np.empty(len(rows), np.float32)
        batch = self.batch_size
        for start in range(0, len(rows), batch):
            if is_cancelled is not None and is_cancelled():
                raise CancelledError(CANCEL_MESSAGE)
            chunk = slice(start, start + batch)
            tokens = view[index[chunk], r[chunk], c[chunk]]
            n = len(tokens)
            if n < batch:
                tokens = np.concatenate([tokens, np.zeros((batch - n,) + tokens.shape[1:],
                                                          np.float32)])
            out[chunk] = self._tail(tokens).numpy()[:n]
            if progress is not None:
                progress(min(start + batch, len(rows)) / len(rows))
        return out


def _check_bounds(shape, rows, cols, need_r, need_c):
    if len(rows) and (rows.max() + need_r > shape[0] or cols.max() + need_c > shape[1]):
        raise RuntimeError(f"dense maps {shape} too small for rows up to {rows.max()} + "
                           f"{need_r}, columns up to {cols.max()} + {need_c}")


def check_dense(dense, patch_model, patch_size, bands, seed=0, rows=13, cols=11):
    """Largest difference between the dense and the per-patch path on random data."""
    p = patch_size
    rng = np.random.default_rng(seed)
    window = rng.standard_normal((rows + p - 1, cols + p - 1, bands)).astype(np.float32)
    pick = rng.choice(rows * cols, size=min(DENSE_CHECK_PIXELS, rows * cols), replace=False)
    pick = np.unique(np.r_[pick, 0, rows * cols - 1])
    r, c = np.divmod(pick, cols)
    view = patch_view(window, p)
    expected = patch_model.predict(view[r, c])
    got = dense.predict(window, r, c)
    return float(np.max(np.abs(expected - got)))


# --- tiling and stride ----------------------------------------------------------

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


def plan_tiles(info, tile_size, stride):
    """Tiles in row-major order; with a stride, tile sides are multiples of it."""
    if stride > 1:
        tile_size = max(stride, tile_size // stride * stride)
    tiles = []
    for row0 in range(0, info.height, tile_size):
        for col0 in range(0, info.width, tile_size):
            tiles.append(Tile(len(tiles), row0, col0, min(tile_size, info.height - row0),
                              min(tile_size, info.width - col0)))
    return tiles, tile_size


def prepare_tile(tile, reader, stride, row_nodes, col_nodes):
    """Read the tile's window and decide which pixels the model runs on."""
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
    tile.interpolation = {"nodes_r": nodes_r, "nodes_c": nodes_c, "node_valid": node_valid,
                          "node_r": node_r, "node_c": node_c, "iy": iy, "wy": wy, "ix": ix,
                          "wx": wx, "ok": ok, "direct": (direct_r, direct_c)}
    tile.pixel_rows = np.r_[nodes_r[node_r], direct_r].astype(np.int64)
    tile.pixel_cols = np.r_[nodes_c[node_c], direct_c].astype(np.int64)
    return tile


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


def assemble(tile, values):
    """The finished output tile (float32, nodata outside the valid area)."""
    out = np.full((tile.rows, tile.cols), OUTPUT_NODATA, dtype=np.float32)
    if tile.interpolation is None:
        out[tile.pixel_rows, tile.pixel_cols] = values
        return out
    interp = tile.interpolation
    node_values = np.zeros(interp["node_valid"].shape, dtype=np.float64)
    count = len(interp["node_r"])
    node_values[interp["node_r"], interp["node_c"]] = values[:count]
    iy, wy, ix, wx = interp["iy"], interp["wy"], interp["ix"], interp["wx"]
    last_r, last_c = node_values.shape[0] - 1, node_values.shape[1] - 1
    iy1, ix1 = np.minimum(iy + 1, last_r), np.minimum(ix + 1, last_c)
    wy, wx = wy[:, None], wx[None, :]
    value = ((1 - wy) * (1 - wx) * node_values[np.ix_(iy, ix)]
             + (1 - wy) * wx * node_values[np.ix_(iy, ix1)]
             + wy * (1 - wx) * node_values[np.ix_(iy1, ix)]
             + wy * wx * node_values[np.ix_(iy1, ix1)])
    keep = interp["ok"] & tile.valid[:tile.rows, :tile.cols]
    out[keep] = value[keep].astype(np.float32)
    direct_r, direct_c = interp["direct"]
    out[direct_r, direct_c] = values[count:]
    return out


# --- the pipeline ----------------------------------------------------------------

class Prefetcher:
    """Run a generator in a background thread, ``depth`` items ahead."""

    _DONE = object()

    def __init__(self, generator, depth=PREFETCH_DEPTH):
        self._generator = generator
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="landslide-predict-reader",
                                        daemon=True)
        self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self):
        try:
            for item in self._generator:
                if not self._put((None, item)):
                    return
            self._put((None, self._DONE))
        except BaseException as exc:  # handed to the consumer
            self._put((exc, None))

    def __iter__(self):
        while True:
            error, item = self._queue.get()
            if error is not None:
                raise error
            if item is self._DONE:
                return
            yield item

    def close(self):
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._generator.close()


def patch_batches(tiles, make_prepare, patch_size, batch_size):
    """Items for the per-patch path: ``("tile", tile)`` announcing each tile, then
    ``("batch", x, [(tile index, count), ...])`` with full batches packed across
    tiles (only the last one may be short). Runs in the reader thread, which
    gets its own GDAL dataset from ``make_prepare()``."""
    prepare = make_prepare()
    pieces, segments, filled = [], [], 0
    for tile in tiles:
        tile = prepare(tile)
        yield ("tile", tile)
        view = patch_view(tile.window, patch_size)
        total, start = len(tile.pixel_rows), 0
        while start < total:
            take = min(batch_size - filled, total - start)
            pieces.append(view[tile.pixel_rows[start:start + take],
                               tile.pixel_cols[start:start + take]])
            segments.append((tile.index, take))
            filled += take
            start += take
            if filled == batch_size:
                yield ("batch", pieces[0] if len(pieces) == 1 else np.concatenate(pieces),
                       segments)
                pieces, segments, filled = [], [], 0
        tile.window = None
    if filled:
        yield ("batch", pieces[0] if len(pieces) == 1 else np.concatenate(pieces), segments)


def dense_tiles(tiles, make_prepare):
    """Items for the dense path: ``("tile", tile)`` with its window read."""
    prepare = make_prepare()
    for tile in tiles:
        yield ("tile", prepare(tile))


CANCEL_MESSAGE = ("Cancelled: no susceptibility map was written (an existing OUTPUT was "
                  "left as it was).")


class _Writer:
    """Writes finished tiles in order; keeps statistics; flushes per tile row."""

    def __init__(self, dataset, info):
        self.dataset = dataset
        self.band = dataset.GetRasterBand(1)
        self.info = info
        self.count = 0
        self.total = 0.0
        self.total_sq = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf
        self.last_row0 = 0

    def write(self, tile, out):
        if tile.row0 != self.last_row0:
            self.dataset.FlushCache()
            self.last_row0 = tile.row0
        if self.band.WriteArray(out, tile.col0, tile.row0) != 0:
            raise InputError(f"Cannot write the susceptibility map: {gdal.GetLastErrorMsg()}")
        values = out[out != OUTPUT_NODATA].astype(np.float64)
        if values.size:
            self.count += values.size
            self.total += values.sum()
            self.total_sq += np.square(values).sum()
            self.minimum = min(self.minimum, float(values.min()))
            self.maximum = max(self.maximum, float(values.max()))

    def statistics(self):
        if not self.count:
            return None
        mean = self.total / self.count
        std = math.sqrt(max(self.total_sq / self.count - mean * mean, 0.0))
        return {"min": self.minimum, "max": self.maximum, "mean": mean, "std": std,
                "valid_pixels": self.count}


def overview_levels(width, height):
    levels, level = [], 2
    while max(width, height) / level >= OVERVIEW_MIN_SIZE:
        levels.append(level)
        level *= 2
    return levels or ([2] if min(width, height) >= 2 else [])


def predict_map(model_path, stack_path, output, reporter, batch_size=256, stride=1,
                tile_size=None, method="auto", seed=0):
    """Write the susceptibility map of ``stack_path`` with ``model_path`` to ``output``.

    ``method``: ``"auto"`` (dense where the model allows it, else per patch),
    ``"dense"`` (error when the model does not allow it) or ``"patch"``.
    Returns a dict for the engine result. Raises :class:`CancelledError` on cancel
    (nothing written, an existing ``output`` untouched).
    """
    if isinstance(stride, float) and not stride.is_integer():
        raise InputError(f"STRIDE must be a whole number of pixels, not {stride}.")
    stride, batch_size = int(stride), int(batch_size)
    if stride < 1:
        raise InputError(f"STRIDE must be at least 1 (1 = every pixel), not {stride}.")
    if batch_size < 1:
        raise InputError(f"BATCH_SIZE must be at least 1, not {batch_size}.")
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not '{method}'.")
    card = read_card(model_path)
    info = read_stack_info(stack_path)
    for warning in info.warnings:
        reporter.warning(warning)
    check_stack_matches(card, info.names, info.categorical)
    p = int(card["patch_size"])
    before, after = pad_width(p)
    if max(before, after) >= min(info.height, info.width):
        raise InputError(f"The STACK ({info.height} x {info.width} pixels) is smaller than "
                         f"half of the model's {p} x {p} patch; use a larger stack.")
    mean, std = card["normalisation"]["mean"], card["normalisation"]["std"]
    if len(mean) != info.count or len(std) != info.count:
        raise InputError(f"The model card's normalisation has {len(mean)} values for a "
                         f"{info.count}-band stack; the MODEL file is damaged.")

    started = time.monotonic()
    from ..models import load_model

    model = load_model(model_path, compile=False)
    if tuple(model.input_shape[1:]) != (p, p, info.count):
        raise InputError(f"The MODEL's input {tuple(model.input_shape[1:])} does not match "
                         f"its card ({p} x {p} x {info.count}); the file is damaged.")
    patch_model = PatchModel(model, batch_size)
    patch_model(np.zeros((1, p, p, info.count), np.float32))  # trace before timing tiles

    dense, dense_note, dense_error = None, "", None
    if method != "patch":
        plan, reason = dense_plan(model)
        if plan is None:
            dense_note = f"per patch (no dense evaluation: {reason})"
        elif method == "auto" and not plan.worthwhile:
            dense_note = ("per patch (only the input patch embedding could be shared: too "
                          "little to gain)")
        else:
            candidate = DenseModel(plan, p, info.count, batch_size)
            dense_error = check_dense(candidate, patch_model, p, info.count, seed=seed)
            if dense_error <= DENSE_TOLERANCE:
                dense = candidate
                dense_note = (f"{plan.description}; checked against per-patch evaluation: "
                              f"max difference {dense_error:.1e}")
            else:
                dense_note = (f"per patch (the dense evaluation differed by {dense_error:.1e} "
                              f"> {DENSE_TOLERANCE:g} from per-patch on a check)")
                reporter.warning(f"Dense evaluation of {card['model']} is off by "
                                 f"{dense_error:.1e}; using per-patch evaluation.")
        if dense is None and method == "dense":
            raise InputError(f"Dense evaluation is not possible for this model: "
                             f"{dense_note}.")
    else:
        dense_note = "per patch (as asked)"
    tile_size = int(tile_size or (DEFAULT_DENSE_TILE if dense else DEFAULT_TILE))
    if tile_size < 1:
        raise InputError(f"tile_size must be positive, not {tile_size}.")
    tiles, tile_size = plan_tiles(info, tile_size, stride)
    row_nodes, col_nodes = grid_nodes(info.height, stride), grid_nodes(info.width, stride)

    reporter.info(f"Predicting {info.height} x {info.width} pixels with {card['model']} "
                  f"({p} x {p} x {info.count} patches), {len(tiles)} tiles of "
                  f"{tile_size} x {tile_size}; evaluation: {dense_note}.")
    if stride > 1:
        nodes = len(row_nodes) * len(col_nodes)
        share = nodes / (info.height * info.width)
        if dense is not None and dense.plan.mode == "head":
            reporter.warning(
                f"STRIDE {stride}: {card['model']} is evaluated densely, so every pixel "
                "costs about the same whatever the stride: no speed-up is expected, and the "
                "map is interpolated between nodes as asked. Use STRIDE 1 for the exact map.")
        else:
            shared = " (the densely shared stem does not shrink)" if dense is not None else ""
            reporter.info(
                f"STRIDE {stride}: the model runs on every {stride}th row and column "
                f"({100 * share:.1f}% of the pixels, plus valid pixels next to nodata), "
                f"the rest is interpolated bilinearly: expected speed-up about "
                f"{1 / share:.0f}x{shared}, at the cost of detail finer than {stride} pixels.")

    old_cache = gdal.GetCacheMax()
    gdal.SetCacheMax(min(old_cache, READ_CACHE_BYTES))
    try:
        with raster_output(output) as tmp:
            dataset = _create_output(tmp, info, card, model_path, p, stride)
            try:
                counts = _run_tiles(tiles, info, card, p, mean, std, stride, row_nodes,
                                    col_nodes, patch_model, dense, batch_size, dataset,
                                    reporter)
                writer_stats = counts.pop("statistics")
                if writer_stats:
                    dataset.GetRasterBand(1).SetStatistics(
                        writer_stats["min"], writer_stats["max"], writer_stats["mean"],
                        writer_stats["std"])
                else:
                    reporter.warning("The STACK has no valid pixel: the map is all nodata.")
                dataset.FlushCache()
                _build_overviews(dataset, info, reporter)
            finally:
                dataset = None
    finally:
        gdal.SetCacheMax(old_cache)
    seconds = time.monotonic() - started
    valid = writer_stats["valid_pixels"] if writer_stats else 0
    reporter.progress(100)
    reporter.info(f"Wrote {output}: {valid:,} valid pixels in {seconds:.1f} s "
                  f"({valid / max(counts['tiles_seconds'], 1e-9):,.0f} pixels per second "
                  f"over the tiles; the model ran on {counts['evaluated']:,} pixels).")
    return {"output": output, "model": card["model"], "patch_size": p, "stride": stride,
            "tile_size": tile_size, "batch_size": batch_size,
            "evaluation": "dense" if dense else "patch",
            "dense_mode": dense.plan.mode if dense else None, "evaluation_note": dense_note,
            "dense_check_max_difference": dense_error, "valid_pixels": valid,
            "evaluated_pixels": counts["evaluated"], "seconds": round(seconds, 3),
            "model_seconds": round(counts["model_seconds"], 3),
            "tiles_seconds": round(counts["tiles_seconds"], 3),
            "pixels_per_s": valid / max(counts["tiles_seconds"], 1e-9),
            "statistics": writer_stats, "nodata": OUTPUT_NODATA, "cancelled": False}


def _create_output(path, info, card, model_path, patch_size, stride):
    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(path, info.width, info.height, 1, gdal.GDT_Float32,
                            gtiff_options(float_data=True, block_size=256))
    if dataset is None:
        raise InputError(f"Cannot create the susceptibility map '{path}': "
                         f"{gdal.GetLastErrorMsg()}")
    dataset.SetGeoTransform(info.geotransform)
    if info.crs_wkt:
        dataset.SetProjection(info.crs_wkt)
    dataset.SetMetadata({"LANDSLIDE_MAP": "susceptibility", "MODEL": str(card["model"]),
                         "MODEL_FILE": os.path.basename(str(model_path)),
                         "PATCH_SIZE": str(patch_size), "STRIDE": str(stride),
                         "FACTORS": ",".join(info.names),
                         "NODATA": repr(OUTPUT_NODATA)})
    band = dataset.GetRasterBand(1)
    band.SetDescription(BAND_NAME)
    band.SetNoDataValue(OUTPUT_NODATA)
    band.SetMetadata({"QUANTITY": "landslide probability (softmax output, 0..1)",
                      "MODEL": str(card["model"])})
    return dataset


def _run_tiles(tiles, info, card, p, mean, std, stride, row_nodes, col_nodes, patch_model,
               dense, batch_size, dataset, reporter):
    writer = _Writer(dataset, info)
    total = info.width * info.height
    done = [0]
    model_seconds = [0.0]
    evaluated = [0]

    def make_prepare():
        reader = StackReader(info, p, mean, std)
        return lambda tile: prepare_tile(tile, reader, stride, row_nodes, col_nodes)

    def finish(tile):
        writer.write(tile, assemble(tile, tile.results))
        evaluated[0] += len(tile.pixel_rows)
        tile.results = tile.valid = tile.interpolation = tile.window = None
        tile.pixel_rows = tile.pixel_cols = None  # the tile list lives until the end
        done[0] += tile.rows * tile.cols
        reporter.progress(95.0 * done[0] / total)

    def partial(tile, fraction):
        reporter.progress(95.0 * (done[0] + fraction * tile.rows * tile.cols) / total)

    def check():
        if reporter.is_cancelled():
            raise CancelledError(CANCEL_MESSAGE)

    started = time.monotonic()
    if dense is not None:
        items = Prefetcher(dense_tiles(tiles, make_prepare), depth=2)
        try:
            for _, tile in items:
                check()
                clock = time.monotonic()
                tile.results = dense.predict(
                    tile.window, tile.pixel_rows, tile.pixel_cols, reporter.is_cancelled,
                    lambda fraction, tile=tile: partial(tile, fraction)) \
                    if len(tile.pixel_rows) else np.empty(0, np.float32)
                model_seconds[0] += time.monotonic() - clock
                finish(tile)
        finally:
            items.close()
    else:
        pending = {}
        order = []
        items = Prefetcher(patch_batches(tiles, make_prepare, p, batch_size))
        try:
            for item in items:
                check()
                if item[0] == "tile":
                    tile = item[1]
                    tile.results = np.empty(len(tile.pixel_rows), np.float32)
                    pending[tile.index] = tile
                    order.append(tile.index)
                else:
                    _, x, segments = item
                    clock = time.monotonic()
                    probability = patch_model(x)
                    model_seconds[0] += time.monotonic() - clock
                    position = 0
                    for index, count in segments:
                        tile = pending[index]
                        tile.results[tile.filled:tile.filled + count] = \
                            probability[position:position + count]
                        tile.filled += count
                        position += count
                while order and pending[order[0]].filled == len(pending[order[0]].results):
                    finish(pending.pop(order.pop(0)))
                if order:  # within a tile: progress per batch
                    tile = pending[order[0]]
                    partial(tile, tile.filled / max(len(tile.results), 1))
        finally:
            items.close()
        if order:
            raise RuntimeError("prediction ended with unfinished tiles")
    return {"statistics": writer.statistics(), "evaluated": evaluated[0],
            "model_seconds": model_seconds[0], "tiles_seconds": time.monotonic() - started}


def _build_overviews(dataset, info, reporter):
    levels = overview_levels(info.width, info.height)
    if not levels:
        return

    def progress(complete, _message, _data):
        reporter.progress(95.0 + 5.0 * complete)
        return 0 if reporter.is_cancelled() else 1

    reporter.info(f"Building overviews (average) at 1/{', 1/'.join(map(str, levels))}")
    dataset.FlushCache()
    cache = gdal.GetCacheMax()
    gdal.SetCacheMax(min(cache, OVERVIEW_CACHE_BYTES))
    try:
        status = dataset.BuildOverviews("AVERAGE", levels, progress)
    finally:
        gdal.SetCacheMax(cache)
    if status != 0:
        if reporter.is_cancelled():
            raise CancelledError(CANCEL_MESSAGE)
        raise InputError(f"Cannot build the overviews of the susceptibility map: "
                         f"{gdal.GetLastErrorMsg()}")
