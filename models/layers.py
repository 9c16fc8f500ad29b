"""Custom Keras layers shared by the models.

Every layer here is registered with
``keras.saving.register_keras_serializable(package="landslide")`` and its
``get_config`` returns its constructor arguments, so a saved ``.keras`` file
reloads without ``custom_objects`` once this module has been imported
(:func:`landslide_susceptibility.models.load_model` does that).

* :class:`ClassToken` -- prepends a learnable class token (ViT, FrIT).
* :class:`TakeToken` -- selects the class token after the encoder.
* :class:`PositionEmbedding` -- adds a learnable position embedding.
* :class:`FractionalFourierMixing` -- FrIT's token mixer: real part of the 2-D
  discrete fractional Fourier transform over the token and hidden axes.
* :class:`SeqPool` -- CTLGNet's attention-based sequence pooling (CCT).
* :class:`CategoricalOneHot` -- the network option "one-hot categorical
  factors": one channel per class of each categorical band of the input.
* :class:`FactorBins` -- the network option "continuous factors in bins": a
  piecewise-linear encoding of each continuous band of the input.
"""

import math

import keras
import numpy as np
from keras import ops

from .frft import hermite_gauss_basis

PACKAGE = "landslide"


def _with_initializers(config, **initializers):
    """``config`` (a layer's ``get_config()``) with the Keras ``initializers``
    serialized under their constructor argument names."""
    config.update({name: keras.initializers.serialize(initializer)
                   for name, initializer in initializers.items()})
    return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClassToken(keras.layers.Layer):
    """Prepend a learnable class token: ``(B, n, d) -> (B, n + 1, d)``.

    Initialised to zeros, as in the original ViT.
    """

    def __init__(self, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        self.token = self.add_weight(name="token", shape=(1, 1, int(input_shape[-1])),
                                     initializer=self.initializer)

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        token = ops.cast(self.token, inputs.dtype)
        token = ops.broadcast_to(token, (batch, 1, ops.shape(inputs)[-1]))
        return ops.concatenate([token, inputs], axis=1)

    def compute_output_shape(self, input_shape):
        n = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], n, input_shape[2])

    def get_config(self):
        return _with_initializers(super().get_config(), initializer=self.initializer)


@keras.saving.register_keras_serializable(package=PACKAGE)
class TakeToken(keras.layers.Layer):
    """Select one token: ``(B, n, d) -> (B, d)`` (the class token at ``index=0``)."""

    def __init__(self, index=0, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, inputs):
        return inputs[:, self.index, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config["index"] = self.index
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class PositionEmbedding(keras.layers.Layer):
    """Add a learnable position embedding of shape ``(n, d)`` to ``(B, n, d)``."""

    def __init__(self, initializer=None, **kwargs):
        super().__init__(**kwargs)
        if initializer is None:
            initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        if input_shape[-2] is None:
            raise ValueError("PositionEmbedding needs a known sequence length")
        self.embedding = self.add_weight(
            name="embedding", shape=(int(input_shape[-2]), int(input_shape[-1])),
            initializer=self.initializer)

    def call(self, inputs):
        return inputs + ops.cast(self.embedding, inputs.dtype)[None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return _with_initializers(super().get_config(), initializer=self.initializer)


@keras.saving.register_keras_serializable(package=PACKAGE)
class FractionalFourierMixing(keras.layers.Layer):
    """FrIT token mixer: ``Re(F_n^a X F_d^b)`` for ``X`` of shape ``(B, n, d)``.

    ``F_n^a`` is the ``n``-point discrete fractional Fourier transform of order
    ``a`` (:mod:`.frft`, Candan's eigenvector DFrFT), applied along the token
    axis, and ``F_d^b`` the ``d``-point one of order ``b`` along the hidden axis.
    Like FNet, only the real part is kept. With
    ``F^a = V diag(exp(-i pi/2 a k)) V^T`` (``V`` real orthogonal) the real part
    is ``V_n (Z * cos(pi/2 (a k_i + b k_j))) V_d^T`` with ``Z = V_n^T X V_d``,
    so the layer runs in real arithmetic: four real matmuls per sample. The
    eigenvector matrices are constants recomputed (in numpy) from the input
    shape; they are not saved. Only the two orders are weights (stored
    multiplied by the axis length, see :meth:`build`).

    Args:
        order: initial fractional order of both axes (1.0 = Fourier transform,
            as in FNet; 0.0 = identity).
        trainable_order: learn the two orders (token axis, hidden axis) with
            the network; if False they stay at ``order``.
    """

    #: a bfloat16 copy of the model keeps this layer in float32 (its orthogonal
    #: eigenvector matmuls and phases lose too much at bfloat16's 8-bit mantissa)
    KEEP_FLOAT32 = True

    def __init__(self, order=0.5, trainable_order=True, **kwargs):
        super().__init__(**kwargs)
        self.order = float(order)
        self.trainable_order = bool(trainable_order)

    def build(self, input_shape):
        n, d = input_shape[-2], input_shape[-1]
        if n is None or d is None:
            raise ValueError("FractionalFourierMixing needs known token and hidden sizes")
        self._n, self._d = int(n), int(d)
        self._vn, self._kn = (np.asarray(a, dtype="float32") for a in hermite_gauss_basis(n))
        self._vd, self._kd = (np.asarray(a, dtype="float32") for a in hermite_gauss_basis(d))
        # The phase of Hermite-Gauss component k is pi/2 * a * k with k up to N,
        # so the loss is very sensitive to the order on long axes (a step of
        # 0.01 turns the top component of a 128-wide axis by 2 rad). The weights
        # therefore hold N * a (phase per unit of weight at most pi/2, for any
        # N and any optimizer); :attr:`orders` gives the orders themselves.
        self.scaled_order_tokens = self.add_weight(
            name="scaled_order_tokens", shape=(),
            initializer=keras.initializers.Constant(self.order * self._n),
            trainable=self.trainable_order)
        self.scaled_order_hidden = self.add_weight(
            name="scaled_order_hidden", shape=(),
            initializer=keras.initializers.Constant(self.order * self._d),
            trainable=self.trainable_order)

    @property
    def orders(self):
        """The current fractional orders ``(token axis, hidden axis)`` as floats."""
        return (float(ops.convert_to_numpy(self.scaled_order_tokens)) / self._n,
                float(ops.convert_to_numpy(self.scaled_order_hidden)) / self._d)

    def set_orders(self, order_tokens, order_hidden):
        """Set the fractional orders of the token and hidden axes."""
        self.scaled_order_tokens.assign(float(order_tokens) * self._n)
        self.scaled_order_hidden.assign(float(order_hidden) * self._d)

    def call(self, inputs, rows=None):
        """The mixing of ``inputs``; ``rows``: only the first ``rows`` output tokens
        (the class token's row alone for the dense path, ``engine/class_token_tail``)."""
        dtype = inputs.dtype
        vn = ops.convert_to_tensor(self._vn, dtype=dtype)
        vd = ops.convert_to_tensor(self._vd, dtype=dtype)
        order_n = ops.cast(self.scaled_order_tokens, dtype) / self._n
        order_d = ops.cast(self.scaled_order_hidden, dtype) / self._d
        theta_n = order_n * ops.convert_to_tensor(self._kn, dtype)
        theta_d = order_d * ops.convert_to_tensor(self._kd, dtype)
        # F_n^a X F_d^b = V_n (Lambda_n (V_n^T X V_d) Lambda_d) V_d^T, and V is real,
        # so the real part is V_n (Z * cos(theta_i + phi_j)) V_d^T with Z = V_n^T X V_d.
        phase = ops.cos((-0.5 * math.pi) * (theta_n[:, None] + theta_d[None, :]))
        z = ops.matmul(ops.matmul(ops.transpose(vn), inputs), vd)
        out_rows = vn if rows is None else vn[:rows]
        return ops.matmul(ops.matmul(out_rows, z * phase), ops.transpose(vd))

    def flops(self, input_shape):
        """FLOPs per sample of the mixing: four matmuls and the phase product."""
        n, d = int(input_shape[-2]), int(input_shape[-1])
        return 2 * (2 * n * n * d + 2 * n * d * d) + n * d

    def get_config(self):
        config = super().get_config()
        config.update(order=self.order, trainable_order=self.trainable_order)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class SeqPool(keras.layers.Layer):
    """Sequence pooling of Compact Convolutional Transformers (Hassani et al. 2021).

    ``w = softmax(x_L g + b)`` over the tokens and ``z = w^T x_L``:
    ``(B, n, d) -> (B, d)``. Replaces the class token of ViT.
    """

    def __init__(self, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        d = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(d, 1),
                                      initializer=self.kernel_initializer)
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")

    def token_weights(self, inputs):
        """The pooling weights ``w``, shape ``(B, n)``; each row sums to 1."""
        logits = ops.matmul(inputs, ops.cast(self.kernel, inputs.dtype))
        logits = logits + ops.cast(self.bias, inputs.dtype)
        return ops.softmax(logits[..., 0], axis=-1)

    def call(self, inputs):
        weights = self.token_weights(inputs)
        return ops.matmul(weights[:, None, :], inputs)[:, 0, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def flops(self, input_shape):
        """FLOPs per sample: token logits, softmax, weighted sum."""
        n, d = int(input_shape[-2]), int(input_shape[-1])
        return 2 * n * d + n + 5 * n + 2 * n * d

    def get_config(self):
        return _with_initializers(super().get_config(),
                                  kernel_initializer=self.kernel_initializer)


class _BandEncoding(keras.layers.Layer):
    """Base of the input encodings: each listed band of a Z-scored patch is replaced,
    in place, by the channels :meth:`encode` gives it; the other bands pass through
    unchanged. Pointwise: each output cell depends on the same input cell only, so
    a dense evaluator may run it over a whole tile.

    ``per_band`` (named ``argument`` in messages) holds what each listed band is
    encoded with; ``mean`` and ``std`` the Z-score of each listed band.
    """

    #: a bfloat16 copy of the model keeps these layers in float32 (bfloat16 cannot
    #: undo the Z-score to within 0.5 of a class code much above 100, and bin edges
    #: are closer than its resolution on a wide band)
    KEEP_FLOAT32 = True

    def __init__(self, bands, per_band, mean, std, argument, kind, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.bands = [int(band) for band in bands]
        self.mean = [float(value) for value in mean]
        self.std = [float(value) for value in std]
        if not len(self.bands) == len(per_band) == len(self.mean) == len(self.std):
            raise ValueError(f"{name}: 'bands', '{argument}', 'mean' and 'std' must have one "
                             f"entry per {kind} band")
        if sorted(set(self.bands)) != self.bands or (self.bands and self.bands[0] < 0):
            raise ValueError(f"{name}: 'bands' must be increasing band indices")

    def build(self, input_shape):
        name = type(self).__name__
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{name} needs a known number of bands")
        if self.bands and self.bands[-1] >= channels:
            raise ValueError(f"{name}: band index {self.bands[-1]} is beyond the "
                             f"{channels} bands of the input")
        self._channels = int(channels)

    def encode(self, index, value):
        """The channels ``(..., k)`` of listed band ``index`` from its values ``(..., 1)``."""
        raise NotImplementedError

    def encoded_channels(self):
        """How many channels the listed bands become, all together."""
        raise NotImplementedError

    def call(self, inputs):
        parts, start = [], 0
        for index, band in enumerate(self.bands):
            if band > start:
                parts.append(inputs[..., start:band])
            parts.append(self.encode(index, inputs[..., band:band + 1]))
            start = band + 1
        if start < self._channels:
            parts.append(inputs[..., start:])
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1] - len(self.bands) + self.encoded_channels()
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        config = super().get_config()
        config.update(bands=list(self.bands), mean=list(self.mean), std=list(self.std))
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class CategoricalOneHot(_BandEncoding):
    """One channel per class for the categorical bands of a normalised patch.

    The network's input is Z-scored per band (``z = (x - mean) / std`` with the
    training split's statistics). For each categorical band this layer undoes the
    Z-score (``x = z * std + mean``) and replaces the band, in place, by one channel
    per class value ``v``: 1.0 where ``|x - v| < 0.5``, else 0.0 (a cell of no listed
    class, e.g. nodata, which the normalisation turned into the band mean, gets
    zeros unless the mean is within 0.5 of a class). Continuous bands pass through
    unchanged. Pointwise (:class:`_BandEncoding`).

    Args:
        bands: 0-based indices of the categorical bands of the input, increasing.
        classes: for each of ``bands``, its class values (``classes[i]`` of band
            ``bands[i]``).
        mean, std: for each of ``bands``, the mean and standard deviation the
            input was Z-scored with.
    """

    def __init__(self, bands=(), classes=(), mean=(), std=(), **kwargs):
        super().__init__(bands, classes, mean, std, "classes", "categorical", **kwargs)
        self.classes = [[float(value) for value in values] for values in classes]
        if any(not values for values in self.classes):
            raise ValueError("CategoricalOneHot: every categorical band needs class values")

    def encode(self, index, value):
        raw = value * self.std[index] + self.mean[index]
        codes = ops.convert_to_tensor(np.asarray(self.classes[index], "float32"),
                                      dtype=value.dtype)
        return ops.cast(ops.abs(raw - codes) < 0.5, value.dtype)

    def encoded_channels(self):
        return sum(map(len, self.classes))

    def get_config(self):
        config = super().get_config()
        config.update(classes=[list(v) for v in self.classes])
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class FactorBins(_BandEncoding):
    """Piecewise-linear bins for the continuous bands of a normalised patch.

    For each listed band, with bin edges ``e_0 <= e_1 <= ... <= e_T`` in the band's
    own units (quantiles of its training values), the band is replaced, in place,
    by ``T`` channels: channel ``t`` is ``clip((x - e_t) / (e_{t+1} - e_t), 0, 1)``
    for the cell's value ``x`` (the Z-score undone, as :class:`CategoricalOneHot`
    does). A cell in bin ``t`` reads 1 in the channels below, its position within
    the bin in channel ``t`` and 0 above, so the first layer can learn any
    piecewise-linear response to a factor (a steep rise between two slopes, a
    plateau) rather than a line, and a few extreme values (curvatures, catchment
    areas) no longer squeeze all others into one small range. Two equal edges
    make a step (0 at the edge, 1 above it). With ``keep_values`` the band's
    (Z-scored) value stays too, as the first of its channels, so that linear
    differences between cells (relief from elevation) stay one weight away. Other
    bands pass through unchanged. Pointwise (:class:`_BandEncoding`).

    Args:
        bands: 0-based indices of the binned bands of the input, increasing.
        edges: for each of ``bands``, its ``T + 1`` increasing bin edges (the same
            ``T`` for every band).
        mean, std: for each of ``bands``, the mean and standard deviation the
            input was Z-scored with.
        keep_values: keep each binned band's value before its bins.
    """

    def __init__(self, bands=(), edges=(), mean=(), std=(), keep_values=False, **kwargs):
        super().__init__(bands, edges, mean, std, "edges", "binned", **kwargs)
        self.keep_values = bool(keep_values)
        self.edges = [[float(value) for value in values] for values in edges]
        if len({len(values) for values in self.edges}) > 1 or \
                any(len(values) < 2 for values in self.edges):
            raise ValueError("FactorBins: every band needs the same number (2 or more) of "
                             "bin edges")
        if any(np.any(np.diff(values) < 0) for values in self.edges):
            raise ValueError("FactorBins: the bin edges of a band must be increasing")

    def z_bins(self, index):
        """``(lower edges, 1 / widths)`` of band ``bands[index]``'s bins in the
        Z-scored units of the input (a step: a width of 1e-6)."""
        edges = (np.asarray(self.edges[index], np.float64) - self.mean[index]) / \
            self.std[index]
        widths = np.maximum(np.diff(edges), 1e-6)
        return edges[:-1].astype("float32"), (1.0 / widths).astype("float32")

    def encode(self, index, value):
        lower, scale = (ops.convert_to_tensor(v, dtype=value.dtype) for v in self.z_bins(index))
        binned = ops.clip((value - lower) * scale, 0.0, 1.0)
        return ops.concatenate([value, binned], axis=-1) if self.keep_values else binned

    def encoded_channels(self):
        bins = len(self.edges[0]) - 1 if self.edges else 1
        return len(self.bands) * (bins + self.keep_values)

    def get_config(self):
        config = super().get_config()
        config.update(edges=[list(v) for v in self.edges], keep_values=self.keep_values)
        return config

CUSTOM_LAYERS = {cls.__name__: cls for cls in
                 (ClassToken, TakeToken, PositionEmbedding, FractionalFourierMixing,
                  SeqPool, CategoricalOneHot, FactorBins)}
