"""The original Vision Transformer (Dosovitskiy et al. 2021), sized for 72 x 72 patches.

Structure: patch embedding (linear projection of non-overlapping p x p
patches, i.e. a p/p 'valid' convolution), a learnable class token, a learnable
position embedding, dropout, L pre-norm encoder layers (LN - multi-head
self-attention - residual, LN - MLP with GELU - residual), a final LayerNorm,
and the MLP head on the class token: a tanh pre-logits layer (the original
ViT's "representation" layer) and Dense(2, softmax).

Sizes: the paper fixes 4 heads and 8 layers. Patch 8 turns a 72 x 72 patch into
9 x 9 = 81 tokens (+1 class token) and a 16 x 16 patch into 4; hidden size 128
(head dimension 32) with MLP ratio 2, as the small "ViT-Lite" models of
Hassani et al. use for 32 x 32 images. Pixels beyond the last whole patch are
dropped (e.g. 4 columns of a 20-pixel patch).
Padding: no convolutional stem; the embedding itself is 'valid' but the
encoder is global, so nothing past the embedding is shared between patches.
"""

DISPLAY_NAME = "ViT"
DESCRIPTION = "Original ViT: patch embedding, class token, 8 layers x 4 heads, MLP head."

#: Default hyper-parameters.
DEFAULTS = {
    "patch_size": 8,            # p: tokens are p x p pixel patches
    "hidden_dim": 128,          # d: token width
    "num_layers": 8,            # encoder layers (paper: 8)
    "num_heads": 4,             # attention heads (paper: 4)
    "mlp_dim": 256,             # hidden units of each encoder MLP
    "representation_size": 128,  # tanh pre-logits layer of the MLP head (0: none)
    "dropout": 0.1,             # dropout after embeddings, attention output, MLP
    "attention_dropout": 0.0,   # dropout on the attention weights
}


def build(input_shape, num_heads, attention_dropout, **skeleton):
    """ViT: the skeleton (``skeleton``: the DEFAULTS above other than the attention's,
    see :func:`build_vit_like`) with multi-head self-attention as the mixer."""
    return build_vit_like("vit", input_shape, mixer_args={
        "mixer": "attention", "num_heads": int(num_heads),
        "attention_dropout": float(attention_dropout)}, **skeleton)


def build_vit_like(name, input_shape, patch_size, hidden_dim, num_layers, mlp_dim,
                   representation_size, dropout, mixer_args, encoding=None, pixel_skip=False):
    """ViT skeleton shared by ViT and FrIT; ``mixer_args`` go to the encoder layers;
    ``encoding`` and ``pixel_skip``: the network options (:func:`.build_model`)."""
    import keras
    from keras import layers

    from . import blocks
    from .layers import ClassToken, PositionEmbedding, TakeToken

    inputs, encoded = blocks.model_input(input_shape, encoding)
    x = blocks.patch_embedding(encoded, int(hidden_dim), int(patch_size), "patch_embed")
    x = ClassToken(name="class_token")(x)
    x = PositionEmbedding(name="pos_embed")(x)
    if dropout:
        x = layers.Dropout(float(dropout), name="embed_drop")(x)
    for index in range(1, int(num_layers) + 1):
        x = blocks.transformer_encoder(x, int(mlp_dim), float(dropout), f"encoder{index}",
                                       **mixer_args)
    x = layers.LayerNormalization(epsilon=1e-6, name="encoder_norm")(x)
    x = TakeToken(index=0, name="class_token_out")(x)
    if representation_size:
        x = layers.Dense(int(representation_size), activation="tanh", name="pre_logits")(x)
    outputs = blocks.head(x, encoded, pixel_skip)
    return keras.Model(inputs, outputs, name=name)

