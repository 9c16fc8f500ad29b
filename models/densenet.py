"""DenseNet-BC (Huang et al. 2017): bottleneck layers and compression 0.5.

Size: three dense blocks of 16 bottleneck layers (1x1 conv to 4k channels,
then 3x3 conv to k) with growth rate k = 12, i.e. DenseNet-BC-100 (k = 12):
3 x 16 x 2 convolutions + stem + 2 transitions + classifier = 100 layers.
Why: this is the configuration Huang et al. designed for 32 x 32 inputs,
whose three blocks run at 32, 16 and 8 pixels. After our stem a 72 x 72
patch is 35 x 35, so the blocks run at 35, 17 and 8 pixels -- the same
regime. The ImageNet variant (4 blocks, 7x7/2 stem, k = 32) would reduce a
72 x 72 patch to 2 x 2 and carry ~8 M parameters, far more than ~12 000
training patches per site support; BC-100-12 has ~0.8 M.

Stem: 3x3 convolution with 2k = 24 filters, 'valid' padding, BN, ReLU and a
2x2 max-pool (/2, as the ImageNet variant's stem downsamples), so a 16 x 16
patch still reaches the last block (7 -> 3 -> 1 pixels).
Padding: the stem is border-independent (shareable by a dense evaluator);
the dense blocks use 'same' 3x3 convolutions (concatenation needs equal
shapes), so their features depend on the patch border.
Transitions: BN-ReLU-Conv1x1 (floor(0.5 c))-AvgPool 2x2. Head: BN-ReLU-global
average pooling-Dense(2, softmax).
"""

DISPLAY_NAME = "DenseNet-BC"
DESCRIPTION = "DenseNet-BC-100 (k=12): bottleneck layers, compression 0.5, three dense blocks."

#: Default hyper-parameters.
DEFAULTS = {
    "growth_rate": 12,              # k: channels added by each layer
    "block_layers": [16, 16, 16],   # bottleneck layers per dense block (BC-100)
    "compression": 0.5,             # theta: transition keeps floor(theta * c) channels
    "bottleneck_width": 4,          # 1x1 bottleneck outputs bottleneck_width * k channels
    "stem_filters": 24,             # 2k, as in DenseNet-BC for CIFAR
    "stem_pool": True,              # 2x2 max-pool after the stem
    "dropout": 0.0,                 # dropout after each convolution (0 with augmentation)
}


def build(input_shape, growth_rate, block_layers, compression, bottleneck_width,
          stem_filters, stem_pool, dropout, encoding=None, pixel_skip=False):
    import keras
    from keras import layers

    from . import blocks

    if not 0.0 < float(compression) <= 1.0:
        raise ValueError("densenet: 'compression' must be in (0, 1]")
    inputs, encoded = blocks.model_input(input_shape, encoding)
    x = blocks.conv_bn_relu(encoded, int(stem_filters), 3, "stem", padding="valid")
    if stem_pool:
        x = layers.MaxPooling2D(2, name="stem_pool")(x)
    for index, count in enumerate(block_layers, start=1):
        blocks.check_spatial("densenet", f"dense block {index}", min(x.shape[1], x.shape[2]))
        for layer in range(1, int(count) + 1):
            x = blocks.densenet_layer(x, int(growth_rate), int(bottleneck_width),
                                      float(dropout), f"block{index}_layer{layer}")
        if index < len(block_layers):
            if min(x.shape[1], x.shape[2]) < 2:
                raise ValueError(f"densenet: input too small for transition {index}")
            x = blocks.densenet_transition(x, float(compression), f"transition{index}")
    x = blocks.batch_norm(x, "final_bn")
    x = layers.ReLU(name="final_relu")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = blocks.head(x, encoded, pixel_skip)
    return keras.Model(inputs, outputs, name="densenet")
