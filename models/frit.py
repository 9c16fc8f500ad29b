"""FrIT: the ViT structure with self-attention replaced by a 2-D discrete
fractional Fourier transform (Zhao et al., "Fractional Fourier Image
Transformer", ref. [24] of the paper).

Each encoder layer is ``x + FrFT(LN(x))`` then ``x + MLP(LN(x))``, where
FrFT is :class:`~.layers.FractionalFourierMixing`: the real part of the 2-D
DFrFT of the token sequence (class token included) over the token axis and
the hidden axis. The DFrFT is Candan's eigenvector DFrFT (:mod:`.frft`), a true
fractional-order transform: order 0 is the identity, order 1 the unitary DFT
(FNet's Fourier mixing), orders add. Each layer learns its own two orders
(token axis, hidden axis), initialised at ``order``; with
``trainable_order=False`` they stay fixed.

Everything else (patch embedding, class token, position embedding, pre-norm,
MLP head) and the sizes are ViT's (:mod:`.vit`), so the two differ only in the
mixer. The mixer has no weights besides the orders, so FrIT has about half of
ViT's parameters. Padding: as ViT (no convolutional stem).
"""

DISPLAY_NAME = "FrIT"
DESCRIPTION = "ViT with self-attention replaced by 2-D fractional Fourier transform mixing."

#: Default hyper-parameters.
DEFAULTS = {
    "patch_size": 8,            # p: tokens are p x p pixel patches
    "hidden_dim": 128,          # d: token width
    "num_layers": 8,            # encoder layers (as ViT)
    "mlp_dim": 256,             # hidden units of each encoder MLP
    "representation_size": 128,  # tanh pre-logits layer of the MLP head (0: none)
    "dropout": 0.1,             # dropout after embeddings, mixing output, MLP
    "order": 0.5,               # initial fractional order of both axes
    "trainable_order": True,    # learn the orders (False: fixed at 'order')
}


def build(input_shape, order, trainable_order, **skeleton):
    """FrIT: the ViT skeleton (``skeleton``: the DEFAULTS above other than the
    orders, see :func:`.vit.build_vit_like`) with a fractional Fourier mixer."""
    from .vit import build_vit_like

    return build_vit_like("frit", input_shape, mixer_args={
        "mixer": "frft", "frft_order": float(order),
        "trainable_order": bool(trainable_order)}, **skeleton)
