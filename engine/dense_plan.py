"""Reading a Keras model's graph for the dense (shift-and-stitch) path: which
leading layers can run once over a whole tile, and what follows them.

The shareable stem is the chain of leading layers whose output for a pixel does
not depend on where the patch border falls: 'valid' stride-1 convolutions,
batch norm, activations, dropout (identity at inference) and ``k x k``/stride
``k`` pooling. After it, either the classifier head (Flatten -> Dense) is itself
a convolution (``"head"``: fully dense, CNN), or a non-overlapping patch
embedding is evaluated densely and each patch gathers its tokens with step
``k`` (``"embed"``: CTLGNet, ViT), or each patch gathers its feature window
(``"gather"``: ResNet, DenseNet stems); the rest runs per patch
(:class:`.dense_model.DenseModel`).

The one-hot encoding of categorical bands (``CategoricalOneHot``) is pointwise,
so it joins the shared stem. A model whose classifier also takes the centre
cell's factors (the pixel skip, :data:`..models.SKIP_LAYERS`) branches off the
input: it has no dense plan and is evaluated per patch.
"""

from dataclasses import dataclass, field

from ..models import SKIP_LAYERS

_SKIPPED = ("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise")
_POINTWISE = ("BatchNormalization", "ReLU", "Activation", "LeakyReLU", "ELU",
              "PReLU", "CategoricalOneHot") + _SKIPPED


def _has_conv(prefix):
    return any(type(layer).__name__ == "Conv2D" for _, layer in prefix)


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
        return _has_conv(self.prefix)

    @property
    def compiled_tail(self):
        """The per-patch tail runs XLA-compiled: it has no convolution (transformer
        layers, where XLA's fusion of the element-wise work wins; XLA's CPU
        convolutions are slower than TensorFlow's own)."""
        return self.tail is not None and not any(
            type(layer).__name__ == "Conv2D" for layer in self.tail.layers)

    @property
    def chosen_by_auto(self):
        """``method="auto"`` takes the dense path: a shared convolutional stem, or a
        compiled tail (ViT, FrIT: faster than the plain per-patch path)."""
        return self.worthwhile or self.compiled_tail


@dataclass
class _Stem:
    """The shareable leading chain of a model and the layers after it."""

    last: object                 # the stem's last layer (the input layer if empty)
    prefix: list                 # [(kind, layer)], dropout left out
    strides: list                # pooling strides, in order
    rest: list                   # the layers after the stem

    @property
    def shared(self):
        return [layer.name for _, layer in self.prefix]


def _classify(layer):
    """``"layer"`` (evaluate densely as is), ``"skip"`` (identity at inference),
    ``"pool"`` or None (not border-independent)."""
    kind = type(layer).__name__
    if kind in _SKIPPED:
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
    """``(plan, None)`` with a :class:`DensePlan` for ``model``, or ``(None, reason)``."""
    layers = model.layers
    if not layers or type(layers[0]).__name__ != "InputLayer" or len(model.inputs) != 1:
        return None, "the model does not start with a single image input"
    shape = model.input_shape[1:]
    if len(shape) != 3 or shape[0] != shape[1]:
        return None, "the model input is not a square patch"
    if any(layer.name == SKIP_LAYERS[-1] for layer in layers):
        return None, "the classifier also takes the centre cell's factors (pixel skip)"
    consumers = _consumers(model)
    stem = _stem(layers, consumers)
    if _ends_in_dense_head(model, stem, consumers):
        return _head_plan(stem)
    return _tail_plan(model, stem, consumers)


def _stem(layers, consumers):
    """The longest chain of border-independent layers after the input."""
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
    return _Stem(previous, prefix, strides, layers[index:])


def _ends_in_dense_head(model, stem, consumers):
    """The rest is a chain Flatten, dropout(s), Dense giving the model output."""
    rest = stem.rest
    names = [type(layer).__name__ for layer in rest]
    return bool(names and names[0] == "Flatten" and names[-1] == "Dense"
                and set(names[1:-1]) <= {"Dropout"}
                and all(_chained(b, a, consumers)
                        for a, b in zip([stem.last] + rest[:-1], rest, strict=True))
                and rest[-1].output is model.outputs[0])


def _head_plan(stem):
    """Fully dense: Flatten, dropout(s), Dense = a convolution over the final map."""
    if not _has_conv(stem.prefix):
        return None, "no convolution before the classifier"
    flatten, dense = stem.rest[0], stem.rest[-1]
    hf, wf, channels = (int(s) for s in flatten.input.shape[1:])
    weights = dense.get_weights()
    kernel = weights[0].reshape(hf, wf, channels, -1)
    bias = weights[1] if len(weights) > 1 else None
    shared = stem.shared
    return DensePlan("head", stem.prefix, stem.strides,
                     f"fully dense ({', '.join(shared)}, classifier as a convolution)",
                     head=(kernel, bias, dense.activation),
                     shared_layers=shared + [dense.name]), None


def _embedding(stem, consumers):
    """``(kernel, bias, activation, k)`` of a non-overlapping ``k x k``/stride ``k``
    patch embedding right after the stem (dense stride-1 convolution, tokens
    every ``k``), or None."""
    rest = stem.rest
    if not rest or type(rest[0]).__name__ != "Conv2D" \
            or not _chained(rest[0], stem.last, consumers):
        return None
    config = rest[0].get_config()
    k = tuple(config["kernel_size"])
    if tuple(config["strides"]) == k and k[0] == k[1] and k[0] > 1 \
            and config["padding"] == "valid" and config.get("groups", 1) == 1 \
            and tuple(config["dilation_rate"]) == (1, 1):
        weights = rest[0].get_weights()
        return (weights[0], weights[1] if len(weights) > 1 else None,
                rest[0].activation, int(k[0]))
    return None


def _tail_plan(model, stem, consumers):
    """A dense stem (plus a patch embedding, if any); the rest runs per patch."""
    import keras

    embed = _embedding(stem, consumers)
    if embed is None and not _has_conv(stem.prefix):
        return None, "the model has no border-independent convolutional stem"
    start = stem.rest[0] if embed is not None else stem.last
    try:
        tail = keras.Model(start.output, model.outputs[0])
    except Exception as exc:  # a branch that bypasses the shared part
        return None, f"the rest of the model is not a chain after the stem ({exc})"
    token_shape = tuple(int(s) for s in start.output.shape[1:])
    shared = stem.shared
    if embed is not None:
        shared.append(stem.rest[0].name)
        return DensePlan("embed", stem.prefix, stem.strides,
                         f"dense stem + patch embedding ({', '.join(shared)}), "
                         "the rest per patch", embed=embed, tail=tail,
                         token_shape=token_shape, shared_layers=shared), None
    return DensePlan("gather", stem.prefix, stem.strides,
                     f"dense stem ({', '.join(shared)}), the rest per patch", tail=tail,
                     token_shape=token_shape, shared_layers=shared), None
