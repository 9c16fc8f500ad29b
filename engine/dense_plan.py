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

The one-hot encoding of categorical bands (``CategoricalOneHot``) and the bins
of continuous ones (``FactorBins``) are pointwise, so they join the shared stem.
A model whose classifier also takes the centre cell's factors (the pixel skip,
:data:`..models.SKIP_LAYERS`: a crop of the encoded input's centre cell,
flattened and concatenated with the learnt features right before the classifier)
keeps its plan: the crop branch is left out of the stem, the encoded window is
kept (:class:`PixelSkip`), and each pixel reads its patch's centre cell from it.
In ``"head"`` the classifier is split: its rows of the learnt features are the
head convolution, its rows of the centre cell a per-pixel linear map added to
the logits before the activation; in ``"embed"`` and ``"gather"`` the tail takes
the centre cell as a second input.
"""

from dataclasses import dataclass, field

from ..models import SKIP_LAYERS
from .class_token_tail import class_token_tail

_SKIPPED = ("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise")
_POINTWISE = ("BatchNormalization", "ReLU", "Activation", "LeakyReLU", "ELU",
              "PReLU", "CategoricalOneHot", "FactorBins") + _SKIPPED


def _has_conv(prefix):
    return any(type(layer).__name__ == "Conv2D" for _, layer in prefix)


@dataclass
class PixelSkip:
    """The pixel skip of a plan: the classifier also takes the centre cell of the
    (encoded) input patch."""

    after: int                   # the encoded input is the output of the first `after`
                                 # prefix layers (0: the input itself)
    cell: tuple                  # (row, col) of the centre cell in the patch
    kernel: object = None        # "head": the classifier's rows of the centre cell
                                 # (channels, units); tails take the cell as an input


@dataclass
class DensePlan:
    """How a model is evaluated densely; see the module docstring."""

    mode: str                    # "head", "embed" or "gather"
    prefix: list                 # [(kind, layer)]: kind "layer" or "pool"
    strides: list                # pooling strides of the prefix, in order
    description: str
    head: tuple = None           # (kernel (hf, wf, c, units), bias, activation)
    embed: tuple = None          # (kernel, bias, activation, step)
    tail: object = None          # keras.Model: per-patch rest of the model (with a
                                 # pixel skip: inputs [tokens, centre cell])
    token_shape: tuple = ()      # per-patch (rows, cols, channels) the tail takes
    shared_layers: list = field(default_factory=list)
    skip: PixelSkip = None       # the centre cell to the classifier, if the model has it

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


@dataclass
class _Branch:
    """The pixel-skip layers of a model (:data:`..models.SKIP_LAYERS`) and the
    tensors they join."""

    crop: object                 # Cropping2D to the centre cell
    flatten: object              # its Flatten: the centre cell's vector
    concat: object               # Concatenate([features, centre]) before the classifier
    source: object               # the layer whose output the crop reads
    cell: tuple                  # (row, col) of the cell in the patch
    features: object             # the concatenation's other input (the learnt features)

    @property
    def side_layers(self):
        """The layers off the main chain."""
        return (self.crop, self.flatten)


def _skip_branch(model):
    """``(branch, None)``: the model's pixel skip as a :class:`_Branch`, ``(None,
    None)`` when it has none, or ``(None, reason)`` when it is not a crop of one
    cell concatenated with the features. (The concatenation is in the tail of an
    earlier plan, whose inputs then gave it a second node: its first is the model's.)"""
    named = {layer.name: layer for layer in model.layers}
    if SKIP_LAYERS[-1] not in named:
        return None, None
    crop, flatten, concat = (named.get(name) for name in SKIP_LAYERS)
    kinds = [type(layer).__name__ for layer in (crop, flatten, concat)]
    reason = "the pixel skip is not a crop of the centre cell joined with the features"
    if kinds != ["Cropping2D", "Flatten", "Concatenate"] \
            or any(len(layer._inbound_nodes) != 1 for layer in (crop, flatten)) \
            or flatten.input is not crop.output or not isinstance(concat.input, list) \
            or len(concat.input) != 2 or tuple(crop.output.shape[1:3]) != (1, 1) \
            or crop.get_config().get("data_format", "channels_last") != "channels_last":
        return None, reason
    position = [tensor is flatten.output for tensor in concat.input]
    source = [layer for layer in model.layers if layer.output is crop.input]
    if sum(position) != 1 or len(source) != 1:
        return None, reason
    (top, _), (left, _) = crop.get_config()["cropping"]
    return _Branch(crop, flatten, concat, source[0], (int(top), int(left)),
                   concat.input[position.index(False)]), None


def _consumers(model, left_out=()):
    """``{id(tensor): number of layer calls that take it}`` over the model, the
    layers ``left_out`` not counted."""
    counts = {}
    for layer in model.layers:
        if any(layer is other for other in left_out):
            continue
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
    branch, reason = _skip_branch(model)
    if reason:
        return None, reason
    left_out = branch.side_layers if branch is not None else ()
    consumers = _consumers(model, left_out)
    stem = _stem([layer for layer in layers if all(layer is not o for o in left_out)],
                 consumers)
    skip = None
    if branch is not None:
        skip, reason = _pixel_skip(stem, branch, layers[0])
        if reason:
            return None, reason
    if _ends_in_dense_head(model, stem, consumers, branch):
        return _head_plan(stem, branch, skip)
    return _tail_plan(model, stem, consumers, branch, skip)


def _pixel_skip(stem, branch, input_layer):
    """``(PixelSkip, None)``, or ``(None, reason)`` when the crop reads a layer the
    stem does not hold at the input's resolution (only pointwise layers before it)."""
    if branch.source is input_layer:
        return PixelSkip(0, branch.cell), None
    for after, (_, layer) in enumerate(stem.prefix, start=1):
        if type(layer).__name__ not in _POINTWISE:
            break
        if layer is branch.source:
            return PixelSkip(after, branch.cell), None
    return None, (f"the pixel skip reads {branch.source.name}, which the dense stem does "
                  "not hold at the input's resolution")


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


def _ends_in_dense_head(model, stem, consumers, branch=None):
    """The rest is a chain Flatten, dropout(s), Dense giving the model output; with
    a pixel skip, the concatenation with the centre cell right before the Dense."""
    rest = list(stem.rest)
    if branch is not None:
        if len(rest) < 3 or rest[-2] is not branch.concat:
            return False
        del rest[-2]
    names = [type(layer).__name__ for layer in rest]
    if not (names and names[0] == "Flatten" and names[-1] == "Dense"
            and set(names[1:-1]) <= {"Dropout"} and rest[-1].output is model.outputs[0]):
        return False
    links = list(zip([stem.last] + rest[:-1], rest, strict=True))
    *chain, (last, dense) = links
    if not all(_chained(b, a, consumers) for a, b in chain):
        return False
    if branch is None:
        return _chained(dense, last, consumers)
    return branch.features is last.output and consumers.get(id(last.output), 0) == 1 \
        and _chained(dense, branch.concat, consumers)


def _head_plan(stem, branch=None, skip=None):
    """Fully dense: Flatten, dropout(s), Dense = a convolution over the final map;
    with a pixel skip the Dense's rows of the centre cell go to ``skip.kernel``."""
    if not _has_conv(stem.prefix):
        return None, "no convolution before the classifier"
    flatten, dense = stem.rest[0], stem.rest[-1]
    hf, wf, channels = (int(s) for s in flatten.input.shape[1:])
    weights = dense.get_weights()
    kernel = weights[0]
    description = "classifier as a convolution"
    if branch is not None:
        widths = [int(tensor.shape[-1]) for tensor in branch.concat.input]
        first = branch.concat.input[0] is branch.features
        split = widths[0]
        features, centre = (kernel[:split], kernel[split:]) if first else \
            (kernel[split:], kernel[:split])
        kernel, skip.kernel = features, centre
        description += " plus the centre cell (pixel skip) per pixel"
    kernel = kernel.reshape(hf, wf, channels, -1)
    bias = weights[1] if len(weights) > 1 else None
    shared = stem.shared
    return DensePlan("head", stem.prefix, stem.strides,
                     f"fully dense ({', '.join(shared)}, {description})",
                     head=(kernel, bias, dense.activation),
                     shared_layers=shared + [dense.name], skip=skip), None


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


def _tail_plan(model, stem, consumers, branch=None, skip=None):
    """A dense stem (plus a patch embedding, if any); the rest runs per patch (with a
    pixel skip, on the tokens and the centre cell)."""
    import keras

    embed = _embedding(stem, consumers)
    if embed is None and not _has_conv(stem.prefix):
        return None, "the model has no border-independent convolutional stem"
    start = stem.rest[0] if embed is not None else stem.last
    inputs = start.output if branch is None else [start.output, branch.flatten.output]
    try:
        tail = keras.Model(inputs, model.outputs[0])
    except Exception as exc:  # a branch that bypasses the shared part
        return None, f"the rest of the model is not a chain after the stem ({exc})"
    token_shape = tuple(int(s) for s in start.output.shape[1:])
    shared = stem.shared
    rest = "the rest per patch"
    short = class_token_tail(model, inputs)
    if short is not None:
        tail, rest = short, rest + ", the last encoder layer for the class token alone"
    if skip is not None:
        rest += " (with the centre cell: pixel skip)"
    if embed is not None:
        shared.append(stem.rest[0].name)
        return DensePlan("embed", stem.prefix, stem.strides,
                         f"dense stem + patch embedding ({', '.join(shared)}), {rest}",
                         embed=embed, tail=tail, token_shape=token_shape,
                         shared_layers=shared, skip=skip), None
    return DensePlan("gather", stem.prefix, stem.strides,
                     f"dense stem ({', '.join(shared)}), {rest}", tail=tail,
                     token_shape=token_shape, shared_layers=shared, skip=skip), None
