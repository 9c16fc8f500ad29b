"""The dense path's tail of a class-token network (ViT, FrIT) computes its last
encoder layer for the class token alone (engine/class_token_tail.py): the same
numbers as the whole tail, fewer FLOPs; CTLGNet keeps its whole tail."""

import numpy as np
import pytest

TINY = {"vit": {"patch_size": 4, "hidden_dim": 16, "num_layers": 2, "num_heads": 2,
                "mlp_dim": 16, "representation_size": 8},
        "frit": {"patch_size": 4, "hidden_dim": 16, "num_layers": 2, "mlp_dim": 16,
                 "representation_size": 0}}
PATCH, BANDS = 16, 3


def _network(name, pixel_skip=False, seed=0):
    import keras

    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(name, (PATCH, PATCH, BANDS), pixel_skip=pixel_skip, **TINY[name])
    head = model.get_layer("predictions")  # spread the outputs away from 0.5
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 8.0, bias])
    return model


def _random_inputs(model, count, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((count,) + tuple(int(s) for s in tensor.shape[1:]))
            .astype(np.float32) for tensor in model.inputs]


@pytest.mark.parametrize("name, pixel_skip", [("vit", False), ("vit", True),
                                              ("frit", False), ("frit", True)])
def test_the_class_token_tail_equals_the_whole_tail(name, pixel_skip, monkeypatch):
    from landslide_susceptibility.engine import dense_plan as plans
    from landslide_susceptibility.models.flops import profile_flops

    model = _network(name, pixel_skip)
    plan, reason = plans.dense_plan(model)
    assert plan is not None, reason
    assert "the last encoder layer for the class token alone" in plan.description
    assert plan.tail.name.endswith("class_token_tail") and plan.compiled_tail
    with monkeypatch.context() as patched:
        patched.setattr(plans, "class_token_tail", lambda *args: None)
        whole = plans.dense_plan(model)[0].tail
    inputs = _random_inputs(plan.tail, 37)
    inputs = inputs if pixel_skip else inputs[0]
    got = np.asarray(plan.tail(inputs, training=False))
    expected = np.asarray(whole(inputs, training=False))
    assert expected[:, 1].std() > 0.01  # the outputs differ between the inputs
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    if not pixel_skip:
        assert profile_flops(plan.tail) < 0.85 * profile_flops(whole)
    again, _ = plans.dense_plan(model)  # the model's layers were called again: still found
    assert again.tail.name.endswith("class_token_tail")


@pytest.mark.parametrize("name", ["vit", "frit"])
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_dense_path_with_it_equals_per_patch(name, precision):
    """The dense model with the class-token tail (XLA-compiled; in bfloat16 a copy
    of it) against the plain per-patch model, as Predict checks it before use."""
    from landslide_susceptibility.engine.dense_model import (
        BF16_TOLERANCE,
        DENSE_TOLERANCE,
        DenseModel,
        check_dense,
    )
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.engine.runners import PatchModel

    model = _network(name, pixel_skip=True)
    plan, _ = dense_plan(model)
    dense = DenseModel(plan, PATCH, BANDS, batch_size=16, precision=precision)
    error = check_dense(dense, PatchModel(model, 16), PATCH, BANDS)
    bound = DENSE_TOLERANCE if precision == "float32" else BF16_TOLERANCE
    assert error <= bound


def test_ctlgnet_keeps_its_whole_tail():
    """CTLGNet's SeqPool weighs every token of the last layer."""
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.models import build_model

    model = build_model("ctlgnet", (PATCH, PATCH, BANDS), conv_filters=[4, 4, 8],
                        hidden_dim=16, num_layers=1, num_heads=2, mlp_dim=16)
    plan, reason = dense_plan(model)
    assert plan is not None, reason
    assert "class token alone" not in plan.description
    assert not plan.tail.name.endswith("class_token_tail")
