"""The per-pixel tail of a class-token network (ViT) with its last encoder layer
computed for the class token alone.

The classifier reads only the class token after the last encoder layer and its norm
(``TakeToken(index=0)``). In that last pre-norm layer, ``x + MHA(LN(x))`` then
``x + MLP(LN(x))``, the class token's output needs the keys and values of every
token, but the query, the attention row, the residuals and the MLP of the class
token only. The tail built here computes just that, with the model's own layers
(dropout is the identity at inference): at ViT's defaults (82 tokens of 128, 8
layers) about three quarters of the last layer's work, a tenth of the per-pixel
part. The numbers are the same up to float rounding; the dense path is checked
against per-patch prediction before use, as always (:func:`.dense_model.check_dense`).
"""

import re

_ENCODER = re.compile(r"encoder(\d+)_mha")
_CHAIN = ("ln1", "mha", "add1", "ln2", "mlp_fc1", "mlp_fc2", "add2")


def class_token_tail(model, inputs):
    """The per-pixel tail of ``model`` from ``inputs`` (its tokens, and with a pixel
    skip the centre cell: tensors of ``model``'s graph) to its probabilities, with
    the last attention layer for the class token alone; None when ``model`` does not
    end in that pattern (CTLGNet's SeqPool, FrIT's Fourier mixing). Built on the
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
    attended = layer["mha"](tokens[:, :1, :], tokens)
    x = layer["add1"]([x[:, :1, :], attended])
    x = layer["add2"]([x, layer["mlp_fc2"](layer["mlp_fc1"](layer["ln2"](x)))])
    token = taken(norm(x))
    return keras.Model(inputs if others else inputs[0],
                       rest([token] + others) if others else rest(token),
                       name=f"{model.name}_class_token_tail")


def _last_encoder(model):
    """``(layers of the last encoder by role, the TakeToken, the final norm)`` when
    ``model`` ends in ``encoderN`` -> ``encoder_norm`` -> ``TakeToken(0)`` with
    multi-head attention, else None."""
    by_name = {layer.name: layer for layer in model.layers}
    taken, norm = by_name.get("class_token_out"), by_name.get("encoder_norm")
    numbers = [int(m.group(1)) for name in by_name if (m := _ENCODER.fullmatch(name))]
    if taken is None or norm is None or not numbers \
            or type(taken).__name__ != "TakeToken" or taken.index != 0:
        return None
    prefix = f"encoder{max(numbers)}_"
    layer = {role: by_name.get(prefix + role) for role in _CHAIN}
    if any(value is None for value in layer.values()):
        return None
    chained = taken.input is norm.output and norm.input is layer["add2"].output
    return (layer, taken, norm) if chained else None
