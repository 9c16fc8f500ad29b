"""Functional building blocks shared by the builders (Keras imported here).

Every block takes a Keras tensor and a ``name`` prefix and returns a tensor;
all layers get stable names (``{name}_conv1``...), keras-hub style, so weights
and per-layer reports are readable.
"""

import keras
from keras import layers

from . import BINS_LAYER, ONE_HOT_LAYER, SKIP_LAYERS
from .layers import CategoricalOneHot, FactorBins, FractionalFourierMixing

BN_EPSILON = 1e-5
BN_MOMENTUM = 0.99


def batch_norm(x, name):
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)(x)


def conv_bn_relu(x, filters, kernel_size, name, strides=1, padding="valid", bn=True):
    """Conv (no bias when followed by BN) -> [BN] -> ReLU."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=not bn, kernel_initializer="he_normal", name=f"{name}_conv")(x)
    if bn:
        x = batch_norm(x, f"{name}_bn")
    return layers.ReLU(name=f"{name}_relu")(x)


# --- ResNet -----------------------------------------------------------------
def resnet_basic_block(x, filters, strides, name):
    """ResNet v1 basic block: 3x3-BN-ReLU-3x3-BN + shortcut, then ReLU.

    The shortcut is the identity, or a 1x1 strided projection with BN when the
    shape changes (option B of He et al. 2016). 'same' padding, as the residual
    sum requires.
    """
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                                 kernel_initializer="he_normal", name=f"{name}_proj_conv")(x)
        shortcut = batch_norm(shortcut, f"{name}_proj_bn")
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=f"{name}_conv1")(x)
    y = batch_norm(y, f"{name}_bn1")
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=f"{name}_conv2")(y)
    y = batch_norm(y, f"{name}_bn2")
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ReLU(name=f"{name}_out")(y)


# --- DenseNet ---------------------------------------------------------------
def densenet_layer(x, growth_rate, bottleneck_width, dropout, name):
    """DenseNet-BC composite layer: BN-ReLU-Conv1x1(4k)-BN-ReLU-Conv3x3(k), concat."""
    y = batch_norm(x, f"{name}_bn1")
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(bottleneck_width * growth_rate, 1, use_bias=False,
                      kernel_initializer="he_normal", name=f"{name}_conv1")(y)
    if dropout:
        y = layers.Dropout(dropout, name=f"{name}_drop1")(y)
    y = batch_norm(y, f"{name}_bn2")
    y = layers.ReLU(name=f"{name}_relu2")(y)
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=f"{name}_conv2")(y)
    if dropout:
        y = layers.Dropout(dropout, name=f"{name}_drop2")(y)
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def densenet_transition(x, compression, name):
    """BN-ReLU-Conv1x1(floor(compression * c))-AvgPool2x2."""
    filters = max(1, int(x.shape[-1] * compression))
    x = batch_norm(x, f"{name}_bn")
    x = layers.ReLU(name=f"{name}_relu")(x)
    x = layers.Conv2D(filters, 1, use_bias=False, kernel_initializer="he_normal",
                      name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, name=f"{name}_pool")(x)


# --- Transformers ----------------------------------------------------------
def patch_embedding(x, hidden_dim, patch_size, name):
    """Linear projection of non-overlapping ``p x p`` patches (a strided, valid
    convolution), flattened to a ``(B, n, d)`` sequence in row-major order.
    Pixels beyond the last whole patch are dropped."""
    h, w = x.shape[1], x.shape[2]
    if h < patch_size or w < patch_size:
        raise ValueError(f"feature map {h}x{w} is smaller than the patch size {patch_size}")
    x = layers.Conv2D(hidden_dim, patch_size, strides=patch_size, padding="valid",
                      name=f"{name}_proj")(x)
    return layers.Reshape(((h // patch_size) * (w // patch_size), hidden_dim),
                          name=f"{name}_flatten")(x)


def mlp(x, hidden_units, out_units, dropout, name):
    """Transformer MLP: Dense-GELU-Dropout-Dense-Dropout."""
    x = layers.Dense(hidden_units, activation="gelu", name=f"{name}_fc1")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_drop1")(x)
    x = layers.Dense(out_units, name=f"{name}_fc2")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_drop2")(x)
    return x


def transformer_encoder(x, mlp_dim, dropout, name, num_heads=None, attention_dropout=0.0,
                        mixer="attention", frft_order=0.5, trainable_order=True):
    """Pre-norm encoder layer (ViT): ``x + Mix(LN(x))`` then ``x + MLP(LN(x))``.

    ``mixer="attention"``: multi-head self-attention with ``num_heads`` heads;
    ``mixer="frft"``: :class:`FractionalFourierMixing` (FrIT).
    """
    hidden = x.shape[-1]
    y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ln1")(x)
    if mixer == "attention":
        if hidden % num_heads:
            raise ValueError(f"hidden_dim {hidden} is not divisible by num_heads {num_heads}")
        y = layers.MultiHeadAttention(num_heads=num_heads, key_dim=hidden // num_heads,
                                      dropout=attention_dropout, name=f"{name}_mha")(y, y)
    elif mixer == "frft":
        y = FractionalFourierMixing(order=frft_order, trainable_order=trainable_order,
                                    name=f"{name}_frft")(y)
    else:
        raise ValueError(f"unknown mixer {mixer!r}")
    if dropout:
        y = layers.Dropout(dropout, name=f"{name}_drop")(y)
    x = layers.Add(name=f"{name}_add1")([x, y])
    y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ln2")(x)
    y = mlp(y, mlp_dim, hidden, dropout, f"{name}_mlp")
    return layers.Add(name=f"{name}_add2")([x, y])


def classifier(x, num_classes, name="predictions"):
    """The paper's output layer: a dense softmax over the classes (float32)."""
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name=name)(x)


def check_spatial(name, what, size):
    """Raise a ValueError naming the model when a feature map collapsed to zero."""
    if size < 1:
        raise ValueError(f"{name}: input too small, {what} would be empty")


def keras_input(input_shape):
    return keras.Input(shape=tuple(int(s) for s in input_shape), dtype="float32", name="patch")


# --- Network options (build_model's encoding and pixel_skip) ----------------
def model_input(input_shape, encoding=None):
    """``(inputs, x)``: the model's input and the tensor the network starts from,
    the input itself, or with ``encoding`` (:func:`..input_encoding`) its
    categorical bands one-hot encoded (:class:`.layers.CategoricalOneHot`, the
    arguments under ``"one_hot"``), then its continuous bands in bins
    (:class:`.layers.FactorBins`, under ``"bins"``)."""
    inputs = keras_input(input_shape)
    encoding = encoding or {}
    x = inputs
    if encoding.get("one_hot"):
        x = CategoricalOneHot(**encoding["one_hot"], name=ONE_HOT_LAYER)(x)
    if encoding.get("bins"):
        x = FactorBins(**encoding["bins"], name=BINS_LAYER)(x)
    return inputs, x


def centre_cell(x):
    """The factor vector ``(B, C)`` of the patch's centre cell, row and column
    ``size // 2`` (the sample's cell, :func:`..core.samples.pad_width`)."""
    crop_name, flatten_name, _ = SKIP_LAYERS
    rows, cols = int(x.shape[1]), int(x.shape[2])
    row, col = rows // 2, cols // 2
    x = layers.Cropping2D(((row, rows - row - 1), (col, cols - col - 1)), name=crop_name)(x)
    return layers.Flatten(name=flatten_name)(x)


def head(x, encoded, pixel_skip=False, num_classes=2):
    """The classifier on the learnt features ``x``; with ``pixel_skip`` the centre
    cell's factors (of ``encoded``, the network's input after any encoding) are
    concatenated with them first."""
    if pixel_skip:
        x = layers.Concatenate(name=SKIP_LAYERS[-1])([x, centre_cell(encoded)])
    return classifier(x, num_classes)
