"""The per-pixel tail of a class-token network (ViT, FrIT) with its last encoder
layer computed for the class token alone.

The classifier reads only the class token after the last encoder layer and its norm
(``TakeToken(index=0)``). In that last pre-norm layer, ``x + Mix(LN(x))`` then
``x + MLP(LN(x))``, the class token's output needs every token in the mixing (the
keys and values of ViT's attention; FrIT's Fourier transform of the whole sequence),
but only the class token's row of the mixing output, and the residuals and MLP of
the class token alone. The tail built here computes just that, with the model's own
layers (dropout is the identity at inference): at the defaults (82 tokens of 128, 8
layers) about a tenth of the per-pixel part. The numbers are the same up to float
rounding; the dense path is checked against per-patch prediction before use, as
always (:func:`.dense_model.check_dense`).
"""

import re

_ENCODER = re.compile(r"encoder(\d+)_(mha|frft)")
_CHAIN = ("ln1", "add1", "ln2", "mlp_fc1", "mlp_fc2", "add2")


def class_token_tail(model, inputs):
    """The per-pixel tail of ``model`` from ``inputs`` (its tokens, and with a pixel
    skip the centre cell: tensors of ``model``'s graph) to its probabilities, with
    the last encoder layer for the class token alone; None when ``model`` does not
    end in that pattern (CTLGNet's SeqPool reads every token). Built on the
    tensors of ``model``'s own graph: a sub-model (``keras.Model`` from intermediate
    tensors) calls its layers again, so its tensors are not the layers' first ones."""
    import keras

    found = _last_encoder(model)
    if found is None:
        return None
    layer, taken, norm = found
    inputs = inputs if isinstance(inputs, list) else [inputs]
    others = inputs[1:]
    # what follows the class token, built before the layers are called again
    rest = keras.Model([taken.output] + others, model.outputs[0])
    x = layer["ln1"].input
    tokens = layer["ln1"](x)
    if "mha" in layer:
        mixed = layer["mha"](tokens[:, :1, :], tokens)
    else:  # FrIT: the class token's row of the Fourier mixing
        mixed = layer["frft"](tokens, rows=1)
    x = layer["add1"]([x[:, :1, :], mixed])
    x = layer["add2"]([x, layer["mlp_fc2"](layer["mlp_fc1"](layer["ln2"](x)))])
    token = taken(norm(x))
    return keras.Model(inputs if others else inputs[0],
                       rest([token] + others) if others else rest(token),
                       name=f"{model.name}_class_token_tail")


def _last_encoder(model):
    """``(layers of the last encoder by role, the TakeToken, the final norm)`` when
    ``model`` ends in ``encoderN`` (attention or Fourier mixing) -> ``encoder_norm``
    -> ``TakeToken(0)``, else None."""
    by_name = {layer.name: layer for layer in model.layers}
    taken, norm = by_name.get("class_token_out"), by_name.get("encoder_norm")
    mixers = {int(m.group(1)): m.group(2) for name in by_name if (m := _ENCODER.fullmatch(name))}
    if taken is None or norm is None or not mixers \
            or type(taken).__name__ != "TakeToken" or taken.index != 0:
        return None
    last = max(mixers)
    prefix = f"encoder{last}_"
    layer = {role: by_name.get(prefix + role) for role in _CHAIN + (mixers[last],)}
    if any(value is None for value in layer.values()):
        return None
    chained = taken.input is norm.output and norm.input is layer["add2"].output
    return (layer, taken, norm) if chained else None
