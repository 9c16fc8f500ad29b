"""A faster input gradient for TensorFlow's 2-D convolutions on the CPU (issue 14).

TensorFlow's CPU kernel for the input gradient of a convolution
(``Conv2DBackpropInput``) is slow when there are many channels on a small grid:
for a 3x3 convolution of 512 to 512 channels on a 2 x 2 or 5 x 5 grid (ResNet-18's
last stage at patch 24 or 72) it takes 5-30x the time of the forward convolution,
and it dominated ResNet-18's training step. For stride 1 that gradient *is* a
forward convolution: of the output gradient with the kernel turned by 180 degrees
and its channels swapped (zero-padded by ``k - 1`` first for 'valid' padding). This
module registers a gradient for the ``Conv2D`` op that computes it that way when
it pays (stride and dilation 1, odd kernel, 'same' or 'valid', NHWC, no more
output than input channels, at least :data:`MIN_WORK` multiply-adds per sample)
and leaves every other case to TensorFlow's own gradient function. Same
mathematics, float32 rounding only (tested against TensorFlow's gradient).

Installed in the engine's training processes on a machine without a GPU (cuDNN's
kernels have no such weakness); :func:`install` returns False and changes nothing
when TensorFlow's gradient registry is not where this version keeps it.
"""

#: Multiply-adds per sample (output cells x kernel cells x input x output channels)
#: from which the forward-convolution form is used. Measured on 2 AMD EPYC cores
#: (best of 15): 1.3-2.3x faster from about 5 million on (DenseNet-BC's layers at
#: patch 72: 1.5-2.3x; ResNet-18's last stage: 5-30x), slower below about 1 million
#: (the kernel's turn then costs more than it saves).
#: Only convolutions with no more output than input channels take it: for widening
#: ones the input gradient narrows (e.g. 64 to 32 channels), and there the forward
#: form was no faster (the CNN's second convolution, 32 to 64 on 35 x 35: 1.13x at
#: batch 16, 0.82x at 128; 16 to 32 on 66 x 66: 1.6x and 1.1x) while it was 2.2-3.3x
#: for 48 to 12 on 35 x 35 (DenseNet-BC) and 256 to 256 on 9 x 9 (ResNet-18).
MIN_WORK = 2_000_000
OP_TYPE = "Conv2D"


def _registry_entry():
    """TensorFlow's gradient registry entry of ``Conv2D`` (a dict with the
    function under ``"type"``), or None."""
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    entry = registry.get(OP_TYPE) if isinstance(registry, dict) else None
    return entry if isinstance(entry, dict) and callable(entry.get("type")) else None


def _attr(op, name):
    value = op.get_attr(name)
    return value.decode() if isinstance(value, bytes) else value


def applies(op):
    """Whether the forward-convolution form computes ``op``'s input gradient."""
    image, kernel = op.inputs[0].shape, op.inputs[1].shape
    if kernel.rank != 4 or None in kernel.as_list() or image.rank != 4 \
            or None in image.as_list()[1:3]:
        return False
    kh, kw, channels_in, channels_out = kernel.as_list()
    padding = _attr(op, "padding")
    cells = image[1] * image[2] if padding == "SAME" else \
        max(image[1] - kh + 1, 0) * max(image[2] - kw + 1, 0)
    work = cells * kh * kw * channels_in * channels_out
    return (_attr(op, "data_format") == "NHWC"
            and padding in ("SAME", "VALID")
            and list(op.get_attr("strides")) == [1, 1, 1, 1]
            and list(op.get_attr("dilations")) == [1, 1, 1, 1]
            and kh % 2 == 1 and kw % 2 == 1 and channels_out <= channels_in
            and work >= MIN_WORK)


def input_gradient(kernel, grad, padding):
    """The input gradient of a stride-1 convolution with ``kernel`` (kh, kw, in,
    out) as a forward convolution of ``grad`` (N, H, W, out)."""
    import tensorflow as tf

    turned = tf.transpose(tf.reverse(kernel, axis=[0, 1]), [0, 1, 3, 2])
    if padding == "SAME":
        return tf.nn.conv2d(grad, turned, strides=1, padding="SAME")
    kh, kw = kernel.shape[0], kernel.shape[1]
    padded = tf.pad(grad, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
    return tf.nn.conv2d(padded, turned, strides=1, padding="VALID")


def _filter_gradient(op, grad):
    import tensorflow as tf

    return tf.raw_ops.Conv2DBackpropFilter(
        input=op.inputs[0], filter_sizes=tf.shape(op.inputs[1]), out_backprop=grad,
        strides=op.get_attr("strides"), padding=_attr(op, "padding"),
        explicit_paddings=op.get_attr("explicit_paddings"), data_format="NHWC",
        dilations=op.get_attr("dilations"))


def make_gradient(original):
    """The ``Conv2D`` gradient function: the forward-convolution form where it
    :func:`applies`, else ``original``."""

    def conv2d_gradient(op, grad):
        if not applies(op):
            return original(op, grad)
        return [input_gradient(op.inputs[1], grad, _attr(op, "padding")),
                _filter_gradient(op, grad)]

    conv2d_gradient.original = original
    return conv2d_gradient


def install():
    """Register the faster gradient (once per process); True when it is in place."""
    entry = _registry_entry()
    if entry is None:
        return False
    if not hasattr(entry["type"], "original"):
        entry["type"] = make_gradient(entry["type"])
    return True


def uninstall():
    """TensorFlow's own gradient again (tests and benchmarks)."""
    entry = _registry_entry()
    if entry is not None and hasattr(entry["type"], "original"):
        entry["type"] = entry["type"].original


def install_on_cpu():
    """:func:`install` when TensorFlow sees no GPU; whether it is in place."""
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU") and install()
