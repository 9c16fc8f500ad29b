"""Counting a model's cost: parameters and FLOPs per patch.

Two independent counts (FLOP = one multiply or one add, so a multiply-add is 2):

* :func:`profile_flops` -- TensorFlow's graph profiler on the model's frozen
  inference graph at batch 1: it sums the registered ``flops`` statistics of
  every op (convolutions, matmuls, bias adds, batch-norm and layer-norm
  arithmetic, softmax, pooling...). TensorFlow registers none for ``Einsum``
  (used by Keras' attention layers for some shapes), so one is registered here.
* :func:`analytic_flops` -- a per-layer count of the multiply-adds of the
  convolution, dense, attention and mixing layers (plus their bias adds),
  i.e. the arithmetic that dominates; the cheap element-wise work (norms,
  activations, pooling) is left out. Tests check that it is within a few
  percent below the profiler's count.
"""

import numpy as np

_EINSUM_REGISTERED = False


def _register_einsum_flops():
    """Give ``Einsum`` a flops statistic: 2 x product of all index sizes
    (a contraction), or the output size when nothing is contracted."""
    global _EINSUM_REGISTERED
    if _EINSUM_REGISTERED:
        return
    from tensorflow.python.framework import graph_util, ops

    def _einsum_flops(graph, node):
        equation = node.attr["equation"].s.decode()
        inputs, output = equation.replace(" ", "").split("->")
        sizes = {}
        for operand, name in zip(inputs.split(","), node.input, strict=False):
            shape = graph_util.tensor_shape_from_node_def_name(graph, name)
            shape.assert_is_fully_defined()
            for label, size in zip(operand, shape.as_list(), strict=True):
                sizes[label] = size
        total = int(np.prod([sizes[label] for label in sizes], dtype=np.int64))
        contracted = set(sizes) - set(output)
        return ops.OpStats("flops", 2 * total if contracted else total)

    try:
        ops.RegisterStatistics("Einsum", "flops")(_einsum_flops)
    except KeyError:  # already registered (by TensorFlow or an earlier import)
        pass
    _EINSUM_REGISTERED = True


def profile_flops(model, input_shape=None):
    """FLOPs of one forward pass of one patch, counted by TensorFlow's profiler."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2_as_graph,
    )

    _register_einsum_flops()
    shape = tuple(input_shape or model.input_shape[1:])
    spec = tf.TensorSpec((1,) + shape, tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    _, graph_def = convert_variables_to_constants_v2_as_graph(concrete)
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        options = (tf.compat.v1.profiler.ProfileOptionBuilder(
            tf.compat.v1.profiler.ProfileOptionBuilder.float_operation())
            .with_empty_output().build())
        stats = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(),
                                              cmd="op", options=options)
    return int(stats.total_float_ops)


def _shape(tensor_shape):
    return [int(s) for s in tensor_shape[1:]]


def layer_flops(layer):
    """Multiply-add FLOPs per sample of one built layer of a functional model."""
    from keras import layers

    from .layers import FractionalFourierMixing, SeqPool

    def out_shape():
        return _shape(layer.output.shape)

    def in_shape():
        return _shape(layer.input.shape)

    if isinstance(layer, (FractionalFourierMixing, SeqPool)):
        return layer.flops(in_shape())
    if isinstance(layer, layers.Conv2D):
        kh, kw = layer.kernel_size
        cin = layer.input.shape[-1] // layer.groups
        out = out_shape()
        flops = 2 * kh * kw * cin * int(np.prod(out))
        return flops + (int(np.prod(out)) if layer.use_bias else 0)
    if isinstance(layer, layers.Dense):
        out = out_shape()
        fan_in = layer.input.shape[-1]
        return 2 * fan_in * int(np.prod(out)) + (int(np.prod(out)) if layer.use_bias else 0)
    if isinstance(layer, layers.MultiHeadAttention):
        tensors = layer._inbound_nodes[0].input_tensors
        query = _shape(tensors[0].shape)
        value = _shape(tensors[1].shape) if len(tensors) > 1 else query
        key = _shape(tensors[2].shape) if len(tensors) > 2 else value
        heads, key_dim = layer.num_heads, layer.key_dim
        value_dim = layer.value_dim or key_dim
        n_q, n_k = int(np.prod(query[:-1])), int(np.prod(key[:-1]))
        d_out = out_shape()[-1]
        bias = 1 if layer.use_bias else 0
        projections = (n_q * heads * key_dim * (2 * query[-1] + bias)
                       + n_k * heads * key_dim * (2 * key[-1] + bias)
                       + n_k * heads * value_dim * (2 * value[-1] + bias))
        scores = 2 * heads * n_q * n_k * key_dim
        weighted_sum = 2 * heads * n_q * n_k * value_dim
        output = n_q * d_out * (2 * heads * value_dim + bias)
        return projections + scores + weighted_sum + output
    return 0


def analytic_flops(model):
    """Sum of :func:`layer_flops` over the model's layers (per sample)."""
    return int(sum(layer_flops(layer) for layer in model.layers))


def per_layer_flops(model):
    """``[(layer name, class name, flops)]`` for layers with nonzero count."""
    rows = []
    for layer in model.layers:
        flops = layer_flops(layer)
        if flops:
            rows.append((layer.name, type(layer).__name__, flops))
    return rows
