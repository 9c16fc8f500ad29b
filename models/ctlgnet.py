"""CTLGNet: the paper's local-global hybrid (CNN local features + transformer).

1. LLF module (local features), three blocks:
   Conv3x3-BN-ReLU, Conv3x3-BN-ReLU, Conv3x3-ReLU-MaxPool2x2,
   all 'valid', so the module's output for a pixel does not depend on where
   the patch border falls: a dense evaluator can run it once per tile and
   share it between overlapping patches exactly (per pooling phase).
   72 x 72 -> 70 -> 68 -> 66 -> 33 x 33 (16 x 16 -> 5 x 5).
2. Patch embedding: non-overlapping p x p patches of the LLF map, linearly
   projected to d ('valid' p/p convolution, so also shareable per phase) and
   flattened to a 1-D sequence;
   p = 3 gives 11 x 11 = 121 tokens at 72 x 72 (24 x 24: 3 x 3). When the
   LLF map is smaller than 2p x 2p (patches under 18 x 18 pixels), p shrinks
   to floor(map / 2) so there are still at least 2 x 2 tokens (16 x 16: p = 2).
3. Learnable position embedding, then L pre-norm transformer encoders:
   ``x' = MSA(LN(x)) + x``, ``x'' = MLP(LN(x')) + x'`` with GELU.
4. SeqPool instead of a class token (Hassani et al. 2021, CCT):
   ``w = softmax(Linear(LN(x_L)))`` over tokens, ``z = w^T x_L``.
5. Dense(2, softmax).

Sizes: the paper reports that CTLGNet has the fewest parameters and FLOPs of
the three transformer models, and a compact model suits ~12 000 training
patches. The LLF module is narrow (16, 16, 32 channels: full-resolution
convolutions dominate the cost), and the transformer is small: d = 64,
4 heads, 4 layers, MLP 128. At 72 x 72 x 9 this is ~0.17 M parameters
and ~128 MFLOPs per patch against ~0.63 M / ~171 MFLOPs (FrIT) and
~1.16 M / ~216 MFLOPs (ViT) (tests/test_models.py checks the order). On a
CPU its full-resolution 16-channel convolutions run below peak, so per-patch
speed is below FrIT's; in dense evaluation the LLF module is shared.
"""

DISPLAY_NAME = "CTLGNet"
DESCRIPTION = "Paper's CNN-transformer hybrid: valid conv LLF module, transformer, SeqPool."

#: Default hyper-parameters.
DEFAULTS = {
    "conv_filters": [16, 16, 32],  # channels of the three LLF blocks
    "patch_size": 3,               # p: tokens are p x p patches of the LLF map
                                   # (shrunk for tiny inputs, see above)
    "hidden_dim": 64,              # d: token width
    "num_layers": 4,               # transformer encoders
    "num_heads": 4,                # attention heads
    "mlp_dim": 128,                # hidden units of each encoder MLP
    "dropout": 0.1,                # dropout after embeddings, attention output, MLP
    "attention_dropout": 0.1,      # dropout on the attention weights
}


def build(input_shape, conv_filters, patch_size, hidden_dim, num_layers, num_heads, mlp_dim,
          dropout, attention_dropout, encoding=None, pixel_skip=False):
    import keras
    from keras import layers

    from . import blocks
    from .layers import PositionEmbedding, SeqPool

    if len(conv_filters) != 3:
        raise ValueError("ctlgnet: 'conv_filters' must list three channel counts")
    inputs, encoded = blocks.model_input(input_shape, encoding)
    # LLF extraction module.
    x = blocks.conv_bn_relu(encoded, int(conv_filters[0]), 3, "llf1", padding="valid")
    x = blocks.conv_bn_relu(x, int(conv_filters[1]), 3, "llf2", padding="valid")
    x = blocks.conv_bn_relu(x, int(conv_filters[2]), 3, "llf3", padding="valid", bn=False)
    x = layers.MaxPooling2D(2, name="llf3_pool")(x)
    blocks.check_spatial("ctlgnet", "the LLF output", min(x.shape[1], x.shape[2]))
    # LGF extraction module.
    patch_size = max(1, min(int(patch_size), min(x.shape[1], x.shape[2]) // 2))
    x = blocks.patch_embedding(x, int(hidden_dim), int(patch_size), "patch_embed")
    x = PositionEmbedding(name="pos_embed")(x)
    if dropout:
        x = layers.Dropout(float(dropout), name="embed_drop")(x)
    for index in range(1, int(num_layers) + 1):
        x = blocks.transformer_encoder(x, int(mlp_dim), float(dropout), f"encoder{index}",
                                       num_heads=int(num_heads),
                                       attention_dropout=float(attention_dropout))
    x = layers.LayerNormalization(epsilon=1e-6, name="encoder_norm")(x)
    x = SeqPool(name="seq_pool")(x)
    outputs = blocks.head(x, encoded, pixel_skip)
    return keras.Model(inputs, outputs, name="ctlgnet")
