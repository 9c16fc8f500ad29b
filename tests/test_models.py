"""The model zoo: registry, builds, save/reload, training, custom layers, cost.

Small shapes keep the default run fast; the full-size (72 x 72 x 9) checks are
marked slow.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from landslide_susceptibility.models import (
    MODELS,
    available_models,
    build_model,
    default_hparams,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER_ORDER = ["cnn", "resnet18", "densenet", "vit", "frit", "ctlgnet"]
SMALL = (24, 24, 5)
TINY = (16, 16, 3)
FULL = (72, 72, 9)
TRANSFORMERS = ["vit", "frit", "ctlgnet"]


def run_python(code, timeout=300):
    """Run ``code`` in a fresh interpreter that has the plugin registered as
    ``landslide_susceptibility`` (as the engine's launcher does)."""
    prelude = (f"import runpy; runpy.run_path({os.path.join(REPO, 'engine', 'launcher.py')!r})"
               f"['register_package']({REPO!r})\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONNOUSERSITE="1")
    done = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def seeded_build(name, shape, seed=0, **hparams):
    import keras

    keras.utils.set_random_seed(seed)
    return build_model(name, shape, **hparams)


def batch(shape, n=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype("float32")


def no_dropout(name):
    return {key: 0.0 for key in default_hparams(name) if "dropout" in key}


# --- registry (no TensorFlow) ------------------------------------------------
def test_registry_lists_the_paper_models_in_order():
    assert available_models("network") == PAPER_ORDER  # the classical models follow
    for name in PAPER_ORDER:
        module, display, defaults, description = MODELS[name]
        assert module == name and display and description
        assert defaults == default_hparams(name)
        assert default_hparams(name) is not defaults  # a copy


def test_registry_does_not_import_tensorflow():
    out = run_python("""
        import sys
        import landslide_susceptibility.models as models
        from landslide_susceptibility.models import frft
        print(models.available_models(), models.default_hparams("ctlgnet")["patch_size"])
        frft.dfrft_matrix(8, 0.5)
        print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
    """)
    lines = out.strip().splitlines()
    assert lines[0].startswith("['cnn', 'resnet18'")
    assert lines[-1] == "[]"


def test_bad_names_and_hparams_are_rejected():
    with pytest.raises(ValueError, match="Unknown model 'lenet'"):
        build_model("lenet", SMALL)
    with pytest.raises(ValueError, match="num_haeds"):
        build_model("vit", SMALL, num_haeds=2)
    with pytest.raises(ValueError, match="at least 16"):
        build_model("cnn", (12, 12, 3))
    with pytest.raises(ValueError, match="input_shape"):
        build_model("cnn", (24, 24))


# --- builds ---------------------------------------------------------------
@pytest.mark.parametrize("shape", [SMALL, TINY, (20, 17, 1)], ids=str)
@pytest.mark.parametrize("name", PAPER_ORDER)
def test_builds_and_outputs_a_two_class_softmax(name, shape):
    model = seeded_build(name, shape)
    assert model.name == name
    assert model.input_shape == (None, *shape)
    assert model.output_shape == (None, 2)
    out = np.asarray(model(batch(shape, n=3), training=False))
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(out >= 0.0)
    assert model.layers[-1].name == "predictions"


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_ORDER)
def test_builds_at_full_size(name):
    model = seeded_build(name, FULL)
    out = np.asarray(model(batch(FULL, n=2), training=False))
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", PAPER_ORDER)
def test_builder_is_deterministic_given_the_seed(name):
    first = seeded_build(name, TINY, seed=3).get_weights()
    second = seeded_build(name, TINY, seed=3).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_builder_depends_on_the_seed():
    first = seeded_build("ctlgnet", TINY, seed=3).get_weights()
    other = seeded_build("ctlgnet", TINY, seed=4).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_hparams_override_defaults():
    small = seeded_build("ctlgnet", SMALL, hidden_dim=32, num_layers=1, conv_filters=[4, 4, 8])
    assert small.count_params() < seeded_build("ctlgnet", SMALL).count_params() / 4
    assert small.get_layer("patch_embed_proj").filters == 32
    assert seeded_build("vit", SMALL, num_layers=2).get_layer("encoder2_mha").num_heads == 4
    with pytest.raises(ValueError):
        seeded_build("vit", SMALL, hidden_dim=30)  # not divisible by 4 heads


def test_architecture_details():
    cnn = seeded_build("cnn", FULL)
    kinds = [type(layer).__name__ for layer in cnn.layers[1:]]
    assert kinds == ["Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D", "Conv2D", "ReLU",
                     "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    assert all(layer.padding == "valid" for layer in cnn.layers if hasattr(layer, "padding"))
    resnet = seeded_build("resnet18", TINY)
    convs = [layer for layer in resnet.layers if type(layer).__name__ == "Conv2D"
             and "proj" not in layer.name]
    assert len(convs) == 17  # stem + 8 basic blocks x 2 (+ the classifier = 18 layers)
    assert resnet.get_layer("stem_conv").padding == "valid"
    dense = seeded_build("densenet", TINY)
    assert dense.get_layer("transition1_conv").filters == \
        dense.get_layer("transition1_bn").input.shape[-1] // 2
    assert dense.get_layer("block1_layer1_conv1").filters == 4 * 12
    vit = seeded_build("vit", TINY)
    assert len([la for la in vit.layers if la.name.endswith("_mha")]) == 8
    assert vit.get_layer("encoder1_mha").num_heads == 4
    ctlg = seeded_build("ctlgnet", SMALL)
    assert [ctlg.get_layer(f"llf{i}_conv").padding for i in (1, 2, 3)] == ["valid"] * 3
    assert ctlg.get_layer("seq_pool") is not None
    assert not any("class_token" in layer.name for layer in ctlg.layers)
    assert ctlg.get_layer("pos_embed").output.shape[1] == 9  # (24-6)/2 = 9 -> 3 x 3 tokens
    assert seeded_build("ctlgnet", TINY).get_layer("pos_embed").output.shape[1] == 4


def test_convolution_stem_is_independent_of_the_patch_border():
    """CTLGNet's LLF module is 'valid': the features of a window cut from a larger
    patch equal the corresponding window of the larger patch's features."""
    import keras

    model = seeded_build("ctlgnet", (32, 32, 3))
    big = batch((40, 40, 3), n=1)
    stem = keras.Sequential([model.get_layer(f"llf{i}_{kind}")
                             for i in (1, 2, 3) for kind in ("conv", "bn", "relu")
                             if not (i == 3 and kind == "bn")])
    whole = np.asarray(stem(big, training=False))
    part = np.asarray(stem(big[:, 4:36, 6:38], training=False))
    np.testing.assert_allclose(part, whole[:, 4:30, 6:32], atol=1e-5)


# --- save / reload in a fresh process ------------------------------------------
@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved_models")
    x = batch(SMALL, n=4, seed=11)
    np.save(folder / "x.npy", x)
    expected = {}
    for name in PAPER_ORDER:
        model = seeded_build(name, SMALL, seed=5)
        # move the BN statistics and fractional orders off their initial values
        for weight in model.non_trainable_weights + model.trainable_weights:
            if "order" in weight.path or "moving" in weight.path:
                weight.assign(np.asarray(weight) + 0.1)
        model.save(folder / f"{name}.keras")
        expected[name] = np.asarray(model(x, training=False))
    out = run_python(f"""
        import json, sys
        import numpy as np
        from landslide_susceptibility import models
        x = np.load({str(folder / "x.npy")!r})
        outputs = {{}}
        for name in {PAPER_ORDER!r}:
            model = models.load_model({str(folder)!r} + "/" + name + ".keras")
            outputs[name] = np.asarray(model(x, training=False)).tolist()
        print(json.dumps(outputs))
    """)
    return expected, json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("name", PAPER_ORDER)
def test_reloads_in_a_fresh_process_with_identical_outputs(saved_models, name):
    expected, reloaded = saved_models
    np.testing.assert_allclose(np.asarray(reloaded[name]), expected[name], rtol=0, atol=1e-6)


def test_plain_keras_load_after_importing_the_package(tmp_path):
    import keras

    model = seeded_build("frit", TINY, num_layers=1)
    path = tmp_path / "frit.keras"
    model.save(path)
    x = batch(TINY, n=2)
    np.save(tmp_path / "x.npy", x)
    out = run_python(f"""
        import keras, numpy as np
        import landslide_susceptibility.models
        model = keras.saving.load_model({str(path)!r})
        print(np.asarray(model(np.load({str(tmp_path / "x.npy")!r}))).tolist())
    """)
    np.testing.assert_allclose(json.loads(out.strip().splitlines()[-1]),
                               np.asarray(model(x)), atol=1e-6)
    assert keras.saving.get_registered_object("landslide>FractionalFourierMixing") is not None


# --- training -------------------------------------------------------------
@pytest.mark.parametrize("name", PAPER_ORDER)
def test_one_training_step_lowers_the_loss(name):
    import keras
    import tensorflow as tf

    model = seeded_build(name, SMALL, seed=2, **no_dropout(name))
    x = batch(SMALL, n=8, seed=1)
    y = keras.utils.to_categorical(np.array([0, 1] * 4), 2)
    loss_fn = keras.losses.CategoricalCrossentropy()
    optimizer = keras.optimizers.SGD(learning_rate=0.001)  # the paper's optimizer

    def loss():
        return float(loss_fn(y, model(x, training=True)))

    before = loss()
    with tf.GradientTape() as tape:
        value = loss_fn(y, model(x, training=True))
    grads = tape.gradient(value, model.trainable_variables)
    assert all(g is not None for g in grads), "every trainable weight gets a gradient"
    optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    after = loss()
    assert after < before


# --- custom layers ----------------------------------------------------------
def test_seqpool_weights_sum_to_one_and_pool():
    from landslide_susceptibility.models.layers import SeqPool

    layer = SeqPool()
    x = batch((7, 8), n=3)
    z = np.asarray(layer(x))
    w = np.asarray(layer.token_weights(x))
    assert w.shape == (3, 7) and z.shape == (3, 8)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(w > 0)
    np.testing.assert_allclose(z, np.einsum("bn,bnd->bd", w, x), atol=1e-5)
    kernel, bias = (np.asarray(v) for v in layer.weights)
    logits = x @ kernel[:, 0] + bias
    soft = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(w, soft / soft.sum(1, keepdims=True), atol=1e-6)


def test_ctlgnet_seqpool_weights_sum_to_one():
    import keras

    model = seeded_build("ctlgnet", SMALL)
    tokens = keras.Model(model.input, model.get_layer("encoder_norm").output)(batch(SMALL))
    weights = np.asarray(model.get_layer("seq_pool").token_weights(tokens))
    assert weights.shape == (4, 9)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("order_tokens,order_hidden", [(0.0, 0.0), (1.0, 1.0), (0.5, 0.3),
                                                       (1.7, -0.4)])
def test_frft_mixing_layer_is_the_real_part_of_the_2d_dfrft(order_tokens, order_hidden):
    from landslide_susceptibility.models.frft import dfrft2
    from landslide_susceptibility.models.layers import FractionalFourierMixing

    x = batch((10, 12), n=2)
    layer = FractionalFourierMixing(order=0.5)
    layer.build(x.shape)
    layer.set_orders(order_tokens, order_hidden)
    assert layer.orders == pytest.approx((order_tokens, order_hidden))
    expected = np.real(dfrft2(x.astype("float64"), order_tokens, order_hidden))
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)
    if order_tokens == order_hidden == 0.0:
        np.testing.assert_allclose(np.asarray(layer(x)), x, atol=1e-5)
    if order_tokens == order_hidden == 1.0:
        np.testing.assert_allclose(np.asarray(layer(x)),
                                   np.real(np.fft.fft2(x, norm="ortho")), atol=1e-5)


def test_frft_orders_are_trainable_or_fixed():
    def mixers(model):
        return [layer for layer in model.layers if layer.name.endswith("_frft")]

    model = seeded_build("frit", TINY, num_layers=2)
    assert len(mixers(model)) == 2
    assert all(layer.orders == pytest.approx((0.5, 0.5)) for layer in mixers(model))
    assert len([w for w in model.trainable_weights if "order" in w.path]) == 4
    fixed = seeded_build("frit", TINY, num_layers=2, order=0.25, trainable_order=False)
    assert not [w for w in fixed.trainable_weights if "order" in w.path]
    assert all(layer.orders == pytest.approx((0.25, 0.25)) for layer in mixers(fixed))


@pytest.mark.parametrize("cls_name", ["ClassToken", "TakeToken", "PositionEmbedding",
                                      "FractionalFourierMixing", "SeqPool"])
def test_custom_layers_round_trip_their_config(cls_name):
    import keras

    from landslide_susceptibility.models import custom_objects, layers

    cls = layers.CUSTOM_LAYERS[cls_name]
    layer = cls(name="probe")
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_name(cls) == f"landslide>{cls_name}"
    assert custom_objects()[f"landslide>{cls_name}"] is cls


# --- cost -----------------------------------------------------------------
def test_flop_counts_agree_on_a_small_shape():
    from landslide_susceptibility.models.flops import analytic_flops, profile_flops

    for name in ("cnn", "frit", "ctlgnet"):
        model = seeded_build(name, SMALL)
        counted, analytic = profile_flops(model), analytic_flops(model)
        assert 0.95 * counted <= analytic <= counted, (name, counted, analytic)


@pytest.mark.slow
def test_ctlgnet_is_the_cheapest_transformer_at_full_size():
    from landslide_susceptibility.models.flops import analytic_flops, profile_flops

    cost = {}
    for name in TRANSFORMERS:
        model = seeded_build(name, FULL)
        counted, analytic = profile_flops(model), analytic_flops(model)
        assert 0.95 * counted <= analytic <= counted, (name, counted, analytic)
        cost[name] = (model.count_params(), counted)
    for other in ("vit", "frit"):
        assert cost["ctlgnet"][0] < cost[other][0], cost
        assert cost["ctlgnet"][1] < cost[other][1], cost


def test_model_report_command():
    from landslide_susceptibility.engine.commands import COMMANDS, run_command

    class Reporter:
        def __init__(self):
            self.lines, self.progress_values = [], []

        def progress(self, value):
            self.progress_values.append(value)

        def info(self, message):
            self.lines.append(message)

        warning = info

        def is_cancelled(self):
            return False

    assert "model_report" in COMMANDS
    reporter = Reporter()
    result = run_command("model_report", {"models": ["cnn", "ctlgnet"],
                                          "input_shape": [16, 16, 3], "batch_size": 4,
                                          "repeats": 1}, reporter)
    rows = {row["name"]: row for row in result["models"]}
    assert list(rows) == ["cnn", "ctlgnet"]
    for row in rows.values():
        assert row["params"] > 0 and row["flops_per_patch"] > 0 and row["patches_per_s"] > 0
    assert "| CTLGNet |" in result["table"]
    assert reporter.progress_values[-1] == 100 and len(reporter.lines) == 2
