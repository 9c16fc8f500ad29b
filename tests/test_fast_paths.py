"""The fast prediction paths (issue 14) agree with the reference per-patch path:
XLA-compiled tails of the dense path (CTLGNet, ViT, FrIT) within 1e-4 on random
patches and on every pixel of a small stack, and bfloat16 within its bound."""

import numpy as np
import pytest

from landslide_susceptibility.engine.dense_model import BF16_TOLERANCE, DENSE_TOLERANCE

TINY = {
    "ctlgnet": {"conv_filters": [4, 4, 8], "hidden_dim": 16, "num_layers": 1, "num_heads": 2,
                "mlp_dim": 16},
    "vit": {"patch_size": 4, "hidden_dim": 16, "num_layers": 1, "num_heads": 2, "mlp_dim": 16,
            "representation_size": 8},
    "frit": {"patch_size": 4, "hidden_dim": 16, "num_layers": 1, "mlp_dim": 16,
             "representation_size": 0},
}
PATCH, BANDS = 16, 3


def tiny(name, seed=0):
    import keras

    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(name, (PATCH, PATCH, BANDS), **TINY[name])
    head = model.get_layer("predictions")  # spread the outputs away from 0.5
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 8.0, bias])
    return model


@pytest.mark.parametrize("name", [
    "frit",  # tests/test_predict.py::test_dense_equals_per_patch covers the others quickly
    pytest.param("ctlgnet", marks=pytest.mark.slow), pytest.param("vit", marks=pytest.mark.slow)])
def test_compiled_dense_path_equals_per_patch(name):
    """The dense path with an XLA-compiled tail, chosen by "auto", on every pixel of
    a random window, equals the plain per-patch path."""
    from landslide_susceptibility.core.tiling import patch_view
    from landslide_susceptibility.engine.dense_model import DenseModel
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.engine.runners import PatchModel

    model = tiny(name)
    plan, reason = dense_plan(model)
    assert plan is not None, reason
    assert plan.mode == "embed" and plan.compiled_tail and plan.chosen_by_auto
    dense = DenseModel(plan, PATCH, BANDS, batch_size=16)
    assert dense._tail.compiled and "XLA-compiled" in dense.description
    reference = PatchModel(model, 16)
    rng = np.random.default_rng(1)
    rows, cols = 7, 11
    window = rng.standard_normal((rows + PATCH - 1, cols + PATCH - 1, BANDS)).astype("f4")
    r, c = np.divmod(np.arange(rows * cols), cols)
    expected = reference.predict(patch_view(window, PATCH)[r, c])
    assert expected.std() > 0.01  # the outputs differ between pixels
    got = dense.predict(window, r, c)  # 5 batches, two in flight at once
    np.testing.assert_allclose(got, expected, atol=DENSE_TOLERANCE, rtol=0)
    dense.workers = 1
    np.testing.assert_array_equal(dense.predict(window, r, c), got)


def test_convolutional_tails_stay_plain():
    """ResNet-like tails (convolutions) are not compiled: XLA's CPU convolutions
    are slower and DenseNet's compile takes a minute."""
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.models import build_model

    model = build_model("resnet18", (PATCH, PATCH, BANDS), widths=[4, 4], blocks=[1, 1],
                        stem_filters=4)
    plan, reason = dense_plan(model)
    assert plan is not None, reason
    assert plan.mode == "gather" and not plan.compiled_tail and plan.chosen_by_auto


@pytest.mark.parametrize("name", ["ctlgnet", "frit"])
def test_bfloat16_within_its_bound(name):
    """bfloat16 copies compute in bfloat16 (the classifier in float32), keep the
    weights, and stay within BF16_TOLERANCE of float32 (but are not float32)."""
    from landslide_susceptibility.engine.dense_model import low_precision_patches
    from landslide_susceptibility.engine.runners import PatchModel, with_precision

    model = tiny(name)
    copy = with_precision(model, "bfloat16")
    assert with_precision(model, "float32") is model
    policies = {layer.name: layer.dtype_policy.name for layer in copy.layers[1:]}
    assert policies.pop("predictions") == "float32"
    if name == "frit":  # the Fourier mixing stays float32
        assert policies.pop("encoder1_frft") == "float32"
    assert set(policies.values()) == {"mixed_bfloat16"}
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    _, error = low_precision_patches(model, PatchModel(model, 8), "bfloat16", count=16)
    assert 1e-6 < error <= BF16_TOLERANCE
    with pytest.raises(ValueError, match="precision"):
        with_precision(model, "float16")


def test_cpu_bfloat16_flags(tmp_path):
    from landslide_susceptibility.engine.runners import cpu_has_bfloat16

    with_bf16 = tmp_path / "a"
    with_bf16.write_text("processor : 0\nflags : fpu avx2 avx512f avx512_bf16 amx_tile\n")
    without = tmp_path / "b"
    without.write_text("processor : 0\nflags : fpu avx2 avx512f avx512_vnni\n")
    assert cpu_has_bfloat16(str(with_bf16))
    assert not cpu_has_bfloat16(str(without))
    assert not cpu_has_bfloat16(str(tmp_path / "missing"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_dense_map_equals_per_patch_map(name, tmp_path):
    """predictsusceptibility on a small stack: "auto" (dense, compiled tail) gives
    the per-patch map within 1e-4; bfloat16 within its bound, and says so."""
    from test_predict import make_model, predict, read, synthetic_data, write_stack

    data = synthetic_data()
    stack = write_stack(tmp_path / "stack.tif", data)
    model = make_model(tmp_path / f"{name}.keras", name, data, patch=PATCH, **TINY[name])
    fast = predict(model, stack, tmp_path / "auto.tif", tile_size=24)
    assert predict(model, stack, tmp_path / "patch.tif", method="patch")["evaluation"] == "patch"
    assert fast["evaluation"] == "dense" and "XLA-compiled" in fast["evaluation_note"]
    expected = read(tmp_path / "patch.tif")
    np.testing.assert_allclose(read(tmp_path / "auto.tif"), expected, atol=DENSE_TOLERANCE,
                               rtol=0)
    half = predict(model, stack, tmp_path / "bf16.tif", precision="bfloat16")
    assert "bfloat16" in half["evaluation_note"]
    assert half["dense_check_max_difference"] <= BF16_TOLERANCE
    got = read(tmp_path / "bf16.tif")
    valid = expected != -9999.0
    np.testing.assert_array_equal(got == -9999.0, ~valid)
    assert np.abs(got[valid] - expected[valid]).max() <= 2 * BF16_TOLERANCE
