"""ResNet-18 (He et al. 2016) with basic blocks (2-2-2-2), adapted to small patches.

Stem: the ImageNet stem (7x7/2 convolution + 3x3/2 max-pool, /4) would shrink
a 72 x 72 patch to 18 x 18 before the first stage and a 16 x 16 patch to
4 x 4, and its 'same' padding makes features depend on the patch border. We
use a CIFAR-style stem instead: one 3x3 convolution (64 filters, 'valid'
padding) - BN - ReLU, then a 2x2 max-pool (/2). At 72 x 72 the four stages
then run at 35, 18, 9 and 5 pixels (16 x 16: 7, 4, 2, 1), close to the
32-16-8-4 of the CIFAR ResNets, at about a quarter of the cost of an
unpooled stem. Layer count: 1 stem conv + 16 block convs + 1 dense = 18.

Padding: the stem is border-independent ('valid'), so a dense evaluator can
share it between overlapping patches; the residual stages use 'same' padding
(the residual sums need equal shapes), so from the first stage on features
depend on the patch border and are computed per patch.
Blocks: ResNet v1 (post-activation), projection shortcuts (1x1/2 conv + BN)
where the shape changes, global average pooling, Dense(2, softmax).
"""

DISPLAY_NAME = "ResNet-18"
DESCRIPTION = "Basic-block ResNet-18 (2-2-2-2), 3x3 valid stem + max-pool for small patches."

#: Default hyper-parameters.
DEFAULTS = {
    "widths": [64, 128, 256, 512],   # channels of the four stages
    "blocks": [2, 2, 2, 2],          # basic blocks per stage (ResNet-18)
    "stem_filters": 64,              # channels of the 3x3 stem convolution
    "stem_pool": True,               # 2x2 max-pool after the stem
    "dropout": 0.0,                  # dropout before the classifier
}


def build(input_shape, widths, blocks, stem_filters, stem_pool, dropout, encoding=None,
          pixel_skip=False):
    import keras
    from keras import layers

    from . import blocks as b

    if len(widths) != len(blocks):
        raise ValueError("resnet18: 'widths' and 'blocks' must have the same length")
    inputs, encoded = b.model_input(input_shape, encoding)
    x = b.conv_bn_relu(encoded, int(stem_filters), 3, "stem", padding="valid")
    if stem_pool:
        x = layers.MaxPooling2D(2, name="stem_pool")(x)
    b.check_spatial("resnet18", "the stem output", min(x.shape[1], x.shape[2]))
    for stage, (width, count) in enumerate(zip(widths, blocks, strict=True), start=1):
        for block in range(1, int(count) + 1):
            strides = 2 if stage > 1 and block == 1 else 1
            x = b.resnet_basic_block(x, int(width), strides, f"stage{stage}_block{block}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(float(dropout), name="dropout")(x)
    outputs = b.head(x, encoded, pixel_skip)
    return keras.Model(inputs, outputs, name="resnet18")
