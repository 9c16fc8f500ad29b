"""The paper's ten-layer CNN (LeNet-5 style).

Layers: Conv3x3 - BN - ReLU - MaxPool - Conv3x3 - ReLU - MaxPool - Flatten -
Dropout - Dense(2, softmax): the paper's two 3x3 convolutions, two max-pooling
layers, two ReLU layers, one batch normalisation and one fully connected
layer, plus flatten, dropout and the softmax output.

Padding: every convolution is 'valid' and every pooling window lies inside
the patch, so each feature depends only on pixels inside its receptive field
and never on where the patch border falls. A dense evaluator can therefore
compute the convolutions once for a whole tile and read each patch's features
from it (per pooling phase), exactly.

At 72 x 72: 72 -conv-> 70 -pool-> 35 -conv-> 33 -pool-> 16, so the fully
connected layer sees 16 x 16 x 64 features.
"""

DISPLAY_NAME = "CNN (10 layers)"
DESCRIPTION = "Paper's ten-layer CNN: 2 conv 3x3, 2 max-pool, BN, dense softmax."

#: Default hyper-parameters.
DEFAULTS = {
    "filters": [32, 64],   # output channels of the two 3x3 convolutions
    "dropout": 0.5,        # dropout before the fully connected layer
}


def build(input_shape, filters, dropout, encoding=None, pixel_skip=False):
    import keras
    from keras import layers

    from . import blocks

    if len(filters) != 2:
        raise ValueError("cnn: 'filters' must list two channel counts")
    inputs, encoded = blocks.model_input(input_shape, encoding)
    x = layers.Conv2D(int(filters[0]), 3, padding="valid", use_bias=False,
                      kernel_initializer="he_normal", name="conv1")(encoded)
    x = blocks.batch_norm(x, "bn1")
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(int(filters[1]), 3, padding="valid", kernel_initializer="he_normal",
                      name="conv2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    blocks.check_spatial("cnn", "the second pooling output", min(x.shape[1], x.shape[2]))
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(float(dropout), name="dropout")(x)
    outputs = blocks.head(x, encoded, pixel_skip)
    return keras.Model(inputs, outputs, name="cnn")
