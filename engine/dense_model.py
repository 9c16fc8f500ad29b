"""Dense (shift-and-stitch) evaluation of a :class:`.dense_plan.DensePlan`.

The plan's stem runs once over a whole normalised window. After each ``k x k``
pooling layer the ``k x k`` pooling phases go into the batch dimension, so every
patch finds its pooled features as a contiguous window of one phase map
(:meth:`DenseModel.phase_index`). Then the head convolution gives the
probabilities directly, or each patch gathers its tokens / feature window and
the plan's tail runs per patch. With a pixel skip (:class:`.dense_plan.PixelSkip`)
the stage also returns the encoded window (``"embed"``, ``"gather"``: each patch's
centre cell is the tail's second input) or its per-cell logits through the
classifier's centre rows (``"head"``: added to the head's logits of each pixel
before the activation). Before use the dense path is checked against
the per-patch path on random data (:func:`check_dense`, tolerance
:data:`DENSE_TOLERANCE`).
"""

import numpy as np

from ..core.tiling import check_bounds, patch_view
from .model_batches import MODEL_WORKERS, run_batches
from .runners import PatchModel, with_precision

DENSE_TOLERANCE = 1e-4
BF16_TOLERANCE = 0.05        # bfloat16 (8-bit mantissa) against float32, probabilities
TOLERANCES = {"float32": DENSE_TOLERANCE, "bfloat16": BF16_TOLERANCE}
DENSE_CHECK_PIXELS = 24


def _phase_split(layer, x, k):
    """``layer`` (k x k pooling) on each of the ``k x k`` phases, stacked in the batch."""
    import tensorflow as tf

    parts = [layer(x[:, py:, px:, :]) for py in range(k) for px in range(k)]
    size = tf.shape(parts[-1])  # the last phase is the smallest
    parts = [part[:, :size[1], :size[2], :] for part in parts]
    return tf.reshape(tf.stack(parts, axis=0), [-1, size[1], size[2], parts[0].shape[-1]])


def _conv(x, weights, activate=True):
    """A 'valid' stride-1 convolution with ``(kernel, bias, activation, ...)``;
    ``activate=False``: without the activation."""
    import tensorflow as tf

    kernel, bias, activation = weights[:3]
    y = tf.nn.conv2d(x, tf.constant(kernel), strides=1, padding="VALID")
    if bias is not None:
        y = y + tf.constant(bias)
    return activation(y) if activate else y


def _centre_logits(encoded, kernel):
    """``(rows, cols, units)``: each cell of the encoded window ``(rows, cols, C)``
    through the classifier's rows of the centre cell (``kernel (C, units)``)."""
    import tensorflow as tf

    return tf.tensordot(encoded, tf.constant(kernel), axes=1)


class DenseModel:
    """Dense evaluation of a :class:`.dense_plan.DensePlan` over normalised windows."""

    compile_tails = True  # False: the plain tail everywhere (benchmarks time the old path)
    workers = MODEL_WORKERS  # tail batches in flight at once (:mod:`.model_batches`)

    def __init__(self, plan, patch_size, bands, batch_size, precision="float32", compiled=None):
        """``precision``: the tail's (:func:`.runners.with_precision`); ``compiled``:
        XLA for the tail (None: the plan's choice, :attr:`DensePlan.compiled_tail`)."""
        import tensorflow as tf

        self.plan = plan
        self.precision = precision
        self.patch_size = int(patch_size)
        self.batch_size = int(batch_size)
        self.multiple = int(np.prod(plan.strides)) if plan.strides else 1
        self.step = plan.embed[3] if plan.embed is not None else 1
        spec = tf.TensorSpec((None, None, bands), tf.float32)
        self._dense = tf.function(self._stage, input_signature=[spec])
        if plan.mode == "head" and plan.skip is not None:
            units = plan.head[0].shape[-1]
            self._activate = tf.function(lambda z: plan.head[2](z)[:, 1], input_signature=[
                tf.TensorSpec((None, units), tf.float32)])
        if plan.tail is not None:
            if compiled is None:
                compiled = plan.compiled_tail and self.compile_tails
            self._tail = PatchModel(with_precision(plan.tail, precision), batch_size, compiled)

    @property
    def description(self):
        """The plan's description, with how the per-patch part runs."""
        if self.plan.tail is None:
            return self.plan.description
        how = "XLA-compiled" if self._tail.compiled else "plain TensorFlow"
        return f"{self.plan.description} ({how}, {self.precision})"

    def _stage(self, window):
        """The dense part of the model on one window (traced once): the dense maps,
        and with a pixel skip the encoded window (its logits in ``"head"``)."""
        plan, x = self.plan, window[None]
        skip = plan.skip
        encoded = x
        pairs = zip(plan.prefix, self._pool_strides(), strict=True)
        for position, ((kind, layer), k) in enumerate(pairs, start=1):
            x = _phase_split(layer, x, k) if kind == "pool" else layer(x, training=False)
            if skip is not None and position == skip.after:
                encoded = x
        if plan.mode == "head":
            if skip is None:
                return _conv(x, plan.head)[..., 1]
            return _conv(x, plan.head, activate=False), _centre_logits(encoded[0], skip.kernel)
        if plan.mode == "embed":
            x = _conv(x, plan.embed)
        return x if skip is None else (x, encoded[0])

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
        padded to a multiple of the pooling strides, run once. ``(maps, centres)``:
        the dense maps, and with a pixel skip the encoded window (``"head"``: its
        logits) that patch centres are read from (:meth:`centres_of`), else None."""
        p = self.patch_size
        rows, cols = window.shape[0] - p + 1, window.shape[1] - p + 1
        extra_r = -rows % self.multiple
        extra_c = -cols % self.multiple
        if extra_r or extra_c:
            window = np.pad(window, ((0, extra_r), (0, extra_c), (0, 0)))
        out = self._dense(window)
        if self.plan.skip is None:
            return out.numpy(), None
        return out[0].numpy(), out[1].numpy()

    def centres_of(self, centres, rows, cols):
        """The values of ``centres`` (from :meth:`features`) at the centre cell of
        the patches of window pixels ``(rows, cols)``."""
        row, col = self.plan.skip.cell
        rows, cols = np.asarray(rows, np.int64) + row, np.asarray(cols, np.int64) + col
        check_bounds(centres.shape[:2], rows, cols, 1, 1)
        return centres[rows, cols]

    def _token_view(self, feats, rows, cols):
        """Read-only view ``(phase, row, col, ta, tb, channels)``: the tail's input
        of every position of the dense maps (no copy)."""
        ta, tb, _ = self.plan.token_shape
        step = self.step
        check_bounds(feats.shape[1:3], rows, cols, (ta - 1) * step + 1, (tb - 1) * step + 1)
        s0, s1, s2, s3 = feats.strides
        return np.lib.stride_tricks.as_strided(
            feats, (feats.shape[0], feats.shape[1] - (ta - 1) * step,
                    feats.shape[2] - (tb - 1) * step, ta, tb, feats.shape[3]),
            (s0, s1, s2, s1 * step, s2 * step, s3), writeable=False)

    def predict(self, window, rows, cols, is_cancelled=None, progress=None):
        """Probabilities of window pixels ``(rows, cols)``; ``progress(fraction)``
        is called after each batch of the per-patch part, whose batches run
        :attr:`workers` at a time."""
        feats, centres = self.features(window)
        index, r, c = self.phase_index(rows, cols)
        if self.plan.mode == "head":
            check_bounds(feats.shape[1:3], r, c, 1, 1)
            if centres is None:
                return feats[index, r, c].astype(np.float32)
            logits = feats[index, r, c] + self.centres_of(centres, rows, cols)
            return self._activate(logits).numpy().astype(np.float32)
        view = self._token_view(feats, r, c)
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)

        def tail(chunk):
            tokens = view[index[chunk], r[chunk], c[chunk]]
            if centres is None:
                return self._tail(tokens)
            return self._tail(tokens, self.centres_of(centres, rows[chunk], cols[chunk]))

        return run_batches(tail, len(rows), self.batch_size, self.workers, is_cancelled,
                           progress)

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


def low_precision_patches(model, reference, precision, seed=0, count=DENSE_CHECK_PIXELS):
    """A per-patch runner of ``model`` in ``precision`` and its largest difference
    from ``reference`` (the float32 :class:`.runners.PatchModel`) on random patches."""
    runner = PatchModel(with_precision(model, precision), reference.batch_size)
    x = np.random.default_rng(seed).standard_normal((count,) + reference.shape)
    x = x.astype(np.float32)
    return runner, float(np.max(np.abs(runner.predict(x) - reference.predict(x))))
