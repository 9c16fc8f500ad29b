"""*Training precision (networks)*: the steps in mixed bfloat16, the model kept,
validated and written in float32 (engine/training.stepping_model, synced)."""

import types

import numpy as np
import pytest


def _policies(model):
    return {layer.name: layer.dtype_policy.name for layer in model.layers
            if hasattr(layer, "dtype_policy")}


def test_the_stepping_copy_computes_in_bfloat16_and_syncs_back(fake_reporter):
    import keras

    from landslide_susceptibility.core.specs import TrainSpec
    from landslide_susceptibility.engine.training import stepping_model, synced
    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("cnn", (16, 16, 3), filters=[4, 6])
    spec = types.SimpleNamespace(precision="float32", optimizer="adam", learning_rate=0.01,
                                 label_smoothing=0.1, label_of=TrainSpec.label_of)
    assert stepping_model(spec, model, fake_reporter) is model
    spec.precision = "bfloat16"
    copy = stepping_model(spec, model, fake_reporter)
    policies = _policies(copy)
    assert policies.pop(copy.layers[-1].name) == "float32"  # the softmax classifier
    assert "mixed_bfloat16" in set(policies.values())
    assert set(_policies(model).values()) == {"float32"}
    x = np.random.default_rng(0).normal(size=(32, 16, 16, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[np.arange(32) % 2]
    copy.train_on_batch(x, y)
    assert not all(np.array_equal(a, b)
                   for a, b in zip(model.get_weights(), copy.get_weights(), strict=True))
    synced(model, copy)
    for kept, stepped in zip(model.get_weights(), copy.get_weights(), strict=True):
        assert kept.dtype == np.float32
        np.testing.assert_array_equal(kept, stepped)
    # the float32 model and its bfloat16 copy now agree to bfloat16's precision
    np.testing.assert_allclose(model.predict(x, verbose=0), copy.predict(x, verbose=0),
                               atol=0.05)


@pytest.mark.parametrize("weight_average", [False, True])
def test_train_in_bfloat16_writes_a_float32_model(small_stack, small_samples, tmp_path,
                                                  fake_reporter, weight_average):
    from landslide_susceptibility.core.model_card import read_card
    from landslide_susceptibility.engine.commands import run_command
    from landslide_susceptibility.models import load_model

    params = {"stack": small_stack, "samples": small_samples, "model": "cnn", "epochs": 2,
              "hparams": {"filters": [4, 6]}, "pretrain": False, "average_views": False,
              "weight_average": weight_average, "precision": "bfloat16",
              "output_model": str(tmp_path / "bf16.keras")}
    outcome = run_command("train", params, fake_reporter)
    assert set(_policies(load_model(outcome.model)).values()) == {"float32"}
    assert read_card(outcome.model)["training"]["precision"] == "bfloat16"
    assert any("compute in bfloat16" in m for m in fake_reporter.messages)
    assert np.isfinite(outcome.history["loss"]).all()


def test_bfloat16_training_learns_as_float32_does(small_stack, small_samples, tmp_path,
                                                  reporter_class):
    """Same seed and samples: both precisions learn (the sample area's landslides
    follow its factors), to about the same validation and test AUC."""
    from landslide_susceptibility.engine.commands import run_command

    best, test = {}, {}
    for precision in ("float32", "bfloat16"):
        params = {"stack": small_stack, "samples": small_samples, "model": "cnn",
                  "epochs": 8, "patience": 0, "hparams": {"filters": [8, 16]},
                  "pretrain": False, "average_views": False, "precision": precision,
                  "output_model": str(tmp_path / f"{precision}.keras")}
        outcome = run_command("train", params, reporter_class())
        best[precision], test[precision] = max(outcome.history["val_auc"]), outcome.metrics["auc"]
    assert min(best.values()) > 0.7
    assert abs(best["bfloat16"] - best["float32"]) < 0.1
    assert abs(test["bfloat16"] - test["float32"]) < 0.1


def test_pretraining_in_bfloat16_writes_a_float32_encoder_and_a_cache_of_its_own(
        small_stack, small_samples, tmp_path, fake_reporter, monkeypatch):
    """*Pretrain on the stack* with the steps in bfloat16: the encoder is cached under
    a key of its own (float32's key is the one from before the setting existed),
    written in float32, and its card names the precision."""
    from landslide_susceptibility.core.specs import TrainSpec
    from landslide_susceptibility.engine import auto_pretraining
    from landslide_susceptibility.engine.commands import run_command
    from landslide_susceptibility.engine.pretraining import read_encoder_card
    from landslide_susceptibility.models import load_model

    monkeypatch.setattr(auto_pretraining, "pretraining_settings", lambda epochs=None: {
        "patches": 96, "epochs": 2, "batch_size": 32, "mask_ratio": 0.5,
        "learning_rate": 0.003})
    params = {"stack": small_stack, "samples": small_samples, "model": "cnn", "epochs": 1,
              "hparams": {"filters": [4, 6]}, "pretrain": True, "average_views": False,
              "cache_dir": str(tmp_path / "cache"), "precision": "bfloat16",
              "output_model": str(tmp_path / "m.keras")}
    run_command("train", params, fake_reporter)
    (encoder,) = (tmp_path / "cache" / "encoders").glob("cnn_*.keras")
    assert set(_policies(load_model(encoder)).values()) == {"float32"}
    assert read_encoder_card(str(encoder))["pretraining"]["precision"] == "bfloat16"
    keys = {precision: auto_pretraining.encoder_cache_path(
        TrainSpec(**dict(params, precision=precision)), 16, {"filters": [4, 6]})
        for precision in ("float32", "bfloat16")}
    assert keys["float32"] != keys["bfloat16"]


@pytest.mark.parametrize("gpu, capability, cpu_bf16, emulated", [
    (False, None, True, None), (False, None, False, "this CPU has no bfloat16"),
    (True, (7, 5), False, "compute capability 7.5"), (True, (9, 0), False, None)])
def test_bfloat16_is_emulated_on_old_gpus_and_cpus_without_the_instructions(
        monkeypatch, gpu, capability, cpu_bf16, emulated):
    import tensorflow as tf

    from landslide_susceptibility.engine import runners

    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["GPU:0"] if gpu and kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda device: {"compute_capability": capability})
    monkeypatch.setattr(runners, "cpu_has_bfloat16", lambda: cpu_bf16)
    found = runners.bfloat16_emulated()
    assert found is None if emulated is None else emulated in found


def test_training_warns_where_bfloat16_is_emulated(monkeypatch, fake_reporter):
    """The warning names the setting by its label and says why; none for float32."""
    from landslide_susceptibility.core.specs import TrainSpec
    from landslide_susceptibility.engine import runners
    from landslide_susceptibility.engine.training import precision_copy
    from landslide_susceptibility.models import build_model

    monkeypatch.setattr(runners, "bfloat16_emulated",
                        lambda: "this CPU has no bfloat16 instructions (AVX512-BF16 or AMX)")
    model = build_model("cnn", (16, 16, 3), filters=[4, 6])
    spec = types.SimpleNamespace(precision="float32", label_of=TrainSpec.label_of)
    assert precision_copy(spec, model, fake_reporter) is model
    assert not fake_reporter.messages
    spec.precision = "bfloat16"
    precision_copy(spec, model, fake_reporter)
    warning, _ = fake_reporter.messages  # the warning, then what the steps compute in
    assert warning.startswith(TrainSpec.label_of("precision") + ": This CPU has no bfloat16")
    assert "emulated and usually slower than float32" in warning


@pytest.mark.parametrize("precision, why, expected", [
    ("float32", "this CPU has no bfloat16 instructions", None),
    ("bfloat16", None, None),
    ("bfloat16", "this GPU (compute capability 7.5) has no bfloat16 units",
     "This GPU (compute capability 7.5) has no bfloat16 units: bfloat16 is emulated and "
     "usually slower than float32.")])
def test_the_emulation_warning_predict_and_training_give(monkeypatch, precision, why,
                                                         expected):
    from landslide_susceptibility.engine import runners

    monkeypatch.setattr(runners, "bfloat16_emulated", lambda: why)
    assert runners.emulation_warning(precision) == expected
