"""The network options of issue 19: one-hot categorical factors (a layer right after
the input) and the centre cell's factors to the classifier (pixel skip), for the six
networks; saved and reloaded with the model, and evaluated by the dense prediction
path (the one-hot layer in the shared stem, the centre cell read per pixel from the
encoded window) exactly as per patch."""

import types

import numpy as np
import pytest
from osgeo import gdal, osr

from landslide_susceptibility.core.model_card import write_card
from landslide_susceptibility.core.specs import PredictSpec, TrainSpec
from landslide_susceptibility.core.stack import BandInfo, read_stack_info, write_stack_metadata

PATCH, BANDS = 16, 4
CLASSES = [1, 2, 5]  # of the categorical band, the last one
CATEGORICAL = [False, False, False, True]
TINY = {
    "cnn": {"filters": [4, 6]},
    "resnet18": {"widths": [4, 4], "blocks": [1, 1], "stem_filters": 4},
    "densenet": {"growth_rate": 4, "block_layers": [1, 1], "stem_filters": 4},
    "vit": {"patch_size": 4, "hidden_dim": 8, "num_layers": 1, "num_heads": 2, "mlp_dim": 8,
            "representation_size": 4},
    "frit": {"patch_size": 4, "hidden_dim": 8, "num_layers": 1, "mlp_dim": 8,
             "representation_size": 0},
    "ctlgnet": {"conv_filters": [4, 4, 4], "hidden_dim": 8, "num_layers": 1, "num_heads": 2,
                "mlp_dim": 8},
}
ENCODING = {"bands": [3], "classes": [[float(v) for v in CLASSES]], "mean": [2.5],
            "std": [1.5]}
CNN_LAYERS = ["patch", "conv1", "bn1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten",
              "dropout", "predictions"]


def seeded(name, seed=0, **options):
    import keras

    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(seed)
    return build_model(name, (PATCH, PATCH, BANDS), **options, **TINY[name])


def softened(model):
    """``model`` with its classifier's weights of the learnt features scaled down:
    untrained, the tiny CNN's softmax saturates, and a map of ones would hide
    differences. The centre cell's (pixel skip, the last rows) keep their weight, so
    a wrong centre cell would show."""
    head = model.get_layer("predictions")
    kernel, bias = head.get_weights()
    features = kernel.shape[0]
    if "skip_concat" in [layer.name for layer in model.layers]:
        features -= model.get_layer("centre_flatten").output.shape[-1]
    kernel = kernel.copy()
    kernel[:features] *= 0.1
    head.set_weights([kernel, bias])
    return model


def zscored(shape, seed=1):
    """Z-scored cells ``shape + (BANDS,)`` whose categorical band holds the classes,
    a code of no class (3) and the band mean (0, as nodata becomes)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape + (BANDS,)).astype(np.float32)
    raw = rng.choice(CLASSES + [3], size=shape).astype(np.float32)
    x[..., 3] = (raw - ENCODING["mean"][0]) / ENCODING["std"][0]
    x[..., 3][rng.random(shape) < 0.05] = 0.0
    return x


def random_patches(count, seed=1):
    return zscored((count, PATCH, PATCH), seed)


# --- the one-hot layer ----------------------------------------------------------

def test_one_hot_layer_equals_numpy():
    from landslide_susceptibility.models import one_hot_encoding
    from landslide_susceptibility.models.layers import CategoricalOneHot

    raw = np.array([[1, 2, 5, 3, 1.4, 4.6, 0.0, 5.49]], np.float32)
    mean, std = [0.3, 2.5, -1.0], [2.0, 1.5, 0.5]
    bands = [BandInfo(1, "dem"), BandInfo(2, "geology", True, CLASSES),
             BandInfo(3, "ndvi"), BandInfo(4, "no_classes", True, [])]
    encoding = one_hot_encoding(bands, mean + [0.0], std + [1.0])
    assert encoding == {"bands": [1], "classes": [[1.0, 2.0, 5.0]], "mean": [2.5],
                        "std": [1.5]}
    assert one_hot_encoding(bands[:1], mean, std) is None
    rng = np.random.default_rng(0)
    x = np.stack([rng.standard_normal(raw.shape), (raw - 2.5) / 1.5,
                  rng.standard_normal(raw.shape)], axis=-1).astype(np.float32)[..., None, :]
    layer = CategoricalOneHot(**encoding, name="one_hot")
    out = np.asarray(layer(x))
    hot = (np.abs(raw[..., None] - np.array(CLASSES, np.float32)) < 0.5).astype(np.float32)
    expected = np.concatenate([x[..., :1], hot[..., None, :], x[..., 2:]], axis=-1)
    assert out.shape == (1, 8, 1, 5) == layer.compute_output_shape(x.shape)
    np.testing.assert_array_equal(out, expected)
    assert out[0, :, 0, 1:4].sum(axis=1).tolist() == [1, 1, 1, 0, 1, 1, 0, 1]
    assert CategoricalOneHot.from_config(layer.get_config()).get_config() == layer.get_config()


# --- the six networks with both options ---------------------------------------

@pytest.mark.parametrize("name", list(TINY))
def test_every_network_builds_with_both_options(name):
    model = seeded(name, encoding=ENCODING, pixel_skip=True)
    names = [layer.name for layer in model.layers]
    assert names[:2] == ["patch", "one_hot"]
    assert {"centre_crop", "centre_flatten", "skip_concat"} <= set(names)
    assert model.get_layer("one_hot").output.shape[-1] == BANDS - 1 + len(CLASSES)
    assert model.get_layer("centre_flatten").output.shape[-1] == BANDS - 1 + len(CLASSES)
    assert model.get_layer("predictions").input is model.get_layer("skip_concat").output
    out = np.asarray(model(random_patches(3), training=False))
    assert out.shape == (3, 2) and np.isfinite(out).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_skip_takes_the_samples_cell():
    """The skip sees the cell a sample is centred on (row and column p // 2)."""
    import keras

    model = seeded("cnn", pixel_skip=True)
    crop = model.get_layer("centre_flatten")
    probe = keras.Model(model.inputs[0], crop.output)
    x = random_patches(2)
    np.testing.assert_array_equal(np.asarray(probe(x)), x[:, PATCH // 2, PATCH // 2, :])


def test_defaults_leave_the_graph_unchanged():
    plain = seeded("cnn")
    explicit = seeded("cnn", encoding=None, pixel_skip=False)
    assert [layer.name for layer in plain.layers] == CNN_LAYERS
    assert [layer.name for layer in explicit.layers] == CNN_LAYERS
    assert len(plain.weights) == len(explicit.weights) == 9
    for a, b in zip(plain.get_weights(), explicit.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_save_and_safe_load_give_identical_predictions(tmp_path):
    import keras

    from landslide_susceptibility.engine.runners import with_precision
    from landslide_susceptibility.models import load_model

    model = seeded("ctlgnet", encoding=ENCODING, pixel_skip=True)
    path = str(tmp_path / "options.keras")
    model.save(path)
    x = random_patches(4)
    expected = np.asarray(model(x, training=False))
    for loaded in (load_model(path, compile=False),
                   keras.saving.load_model(path, compile=False, safe_mode=True)):
        np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), expected)
        assert loaded.get_layer("one_hot").get_config() == \
            model.get_layer("one_hot").get_config()
    copy = with_precision(model, "bfloat16")  # the encoding stays float32
    assert copy.get_layer("one_hot").dtype_policy.name == "float32"


# --- dense prediction -------------------------------------------------------------

OPTIONS = {"one-hot": {"encoding": ENCODING}, "skip": {"pixel_skip": True},
           "both": {"encoding": ENCODING, "pixel_skip": True}}


def window_pixels(rows=9, cols=7, seed=5):
    """A z-scored window of ``rows x cols`` patches and its pixels, all of them."""
    window = zscored((rows + PATCH - 1, cols + PATCH - 1), seed=seed)
    r, c = np.divmod(np.arange(rows * cols), cols)
    return window, r, c


def auto_evaluation(model, name, reporter, batch=32):
    from landslide_susceptibility.engine.predict import _try_dense
    from landslide_susceptibility.engine.runners import PatchModel

    per_patch = PatchModel(model, batch)
    inputs = types.SimpleNamespace(patch_size=PATCH, info=types.SimpleNamespace(count=BANDS),
                                   card={"model": name})
    return _try_dense(model, per_patch, inputs, "auto", 0, reporter)


@pytest.mark.parametrize("options", list(OPTIONS))
def test_auto_equals_per_patch(options, fake_reporter):
    """"auto" evaluates a one-hot, pixel-skip, or one-hot + pixel-skip CNN fully
    densely (the encoding in the shared stem, the centre cell's logits added per
    pixel); on every pixel of a window it equals per patch."""
    from landslide_susceptibility.core.tiling import patch_view

    model = softened(seeded("cnn", **OPTIONS[options]))
    evaluation = auto_evaluation(model, "cnn", fake_reporter)
    assert evaluation.dense is not None, evaluation.note
    plan = evaluation.dense.plan
    assert plan.mode == "head"
    assert ("one_hot" in plan.shared_layers) == (options != "skip")
    if options == "one-hot":
        assert plan.skip is None
    else:
        assert plan.skip.cell == (PATCH // 2, PATCH // 2) and "pixel skip" in evaluation.note
        assert plan.skip.after == (1 if options == "both" else 0)  # after the encoding
    window, r, c = window_pixels()
    expected = evaluation.patch_model.predict(patch_view(window, PATCH)[r, c])
    assert expected.std() > 0.01, expected.std()
    np.testing.assert_allclose(evaluation.dense.predict(window, r, c), expected, atol=1e-4,
                               rtol=0)


def test_pixel_skip_ctlgnet_dense_equals_per_patch(fake_reporter):
    """A one-hot + pixel-skip CTLGNet: "auto" shares the stem and the patch
    embedding, and the per-patch tail (XLA-compiled) takes each patch's encoded
    centre cell as its second input; equal to per patch on every pixel."""
    from landslide_susceptibility.core.tiling import patch_view
    from landslide_susceptibility.engine.dense_plan import dense_plan

    model = seeded("ctlgnet", **OPTIONS["both"])
    head = model.get_layer("predictions")  # spread the outputs away from 0.5
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 4.0, bias])
    evaluation = auto_evaluation(model, "ctlgnet", fake_reporter, batch=16)
    assert evaluation.dense is not None, evaluation.note
    plan = evaluation.dense.plan
    assert plan.mode == "embed" and plan.skip.after == 1 and plan.skip.kernel is None
    assert len(plan.tail.inputs) == 2 and "pixel skip" in evaluation.note
    assert evaluation.dense._tail.compiled
    assert dense_plan(model)[0].mode == "embed"  # planned again: the same
    window, r, c = window_pixels(7, 5)
    expected = evaluation.patch_model.predict(patch_view(window, PATCH)[r, c])
    assert expected.std() > 0.01, expected.std()
    np.testing.assert_allclose(evaluation.dense.predict(window, r, c), expected, atol=1e-4,
                               rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "densenet", "vit", "frit"])
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_pixel_skip_tails_equal_per_patch(name, precision):
    """The other networks with both options: their dense plans (gather, embed) take
    the centre cell too, within 1e-4 of per patch (bfloat16: within its bound)."""
    from landslide_susceptibility.engine.dense_model import TOLERANCES, DenseModel, check_dense
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.engine.runners import PatchModel

    model = seeded(name, **OPTIONS["both"])
    plan, reason = dense_plan(model)
    assert plan is not None, reason
    assert plan.skip is not None and len(plan.tail.inputs) == 2
    dense = DenseModel(plan, PATCH, BANDS, 16, precision)
    assert check_dense(dense, PatchModel(model, 16), PATCH, BANDS) <= TOLERANCES[precision]


# --- training.build: the options from the settings and the stack ---------------

def write_stack(path, categorical):
    rng = np.random.default_rng(0)
    rows, cols = 24, 26
    data = rng.normal(0, 1, (BANDS, rows, cols)).astype(np.float32)
    data[3] = rng.choice(CLASSES, size=(rows, cols))
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, BANDS,
                                                   gdal.GDT_Float32)
    dataset.SetGeoTransform((500000.0, 30.0, 0.0, 9800000.0, 0.0, -30.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    dataset.SetProjection(srs.ExportToWkt())
    for index in range(BANDS):
        dataset.GetRasterBand(index + 1).WriteArray(data[index])
        dataset.GetRasterBand(index + 1).SetNoDataValue(-9999.0)
    names = ["dem", "slope", "ndvi", "landuse"]
    write_stack_metadata(dataset, [
        BandInfo(i + 1, name, flag, CLASSES if flag else [])
        for i, (name, flag) in enumerate(zip(names, categorical, strict=True))], -9999.0)
    dataset = None
    mean = [float(band.mean()) for band in data]
    std = [float(band.std()) for band in data]
    return str(path), mean, std


@pytest.mark.parametrize("categorical", [CATEGORICAL, [False] * 4])
def test_training_build_takes_the_options(tmp_path, fake_reporter, categorical):
    from landslide_susceptibility.engine.training import build

    stack, mean, std = write_stack(tmp_path / "stack.tif", categorical)
    spec = TrainSpec(stack=stack, samples="unused.gpkg", model="cnn",
                     output_model=str(tmp_path / "m.keras"), categorical_encoding="one_hot",
                     pixel_skip=True)
    data = types.SimpleNamespace(patch_size=PATCH, hparams={"filters": [4, 6], "dropout": 0.5},
                                 mean=mean, std=std, train=([0] * 8,), validation=([0] * 4,),
                                 batch_size=4, edges=None)
    from landslide_susceptibility.core.stack import read_stack_info

    model = build(spec, data, read_stack_info(stack), fake_reporter)
    names = [layer.name for layer in model.layers]
    assert "skip_concat" in names
    line = fake_reporter.messages[-1]
    assert "centre cell to the classifier on" in line
    if any(categorical):
        config = model.get_layer("one_hot").get_config()
        assert config["bands"] == [3] and config["classes"] == [[1.0, 2.0, 5.0]]
        assert config["mean"] == [mean[3]] and config["std"] == [std[3]]
        assert "one-hot (landuse: 3 classes)" in line
    else:
        assert "one_hot" not in names
        assert "no categorical factor" in fake_reporter.messages[0]
        assert "CATEGORICAL_ENCODING" in fake_reporter.messages[0]


@pytest.mark.parametrize("pixel_skip", [False, True])
def test_predicted_maps_auto_equal_per_patch(tmp_path, fake_reporter, pixel_skip):
    """Through the engine's predict: the maps of a one-hot CNN (with or without the
    pixel skip) saved with its card, "auto" (fully dense) against "patch"."""
    from landslide_susceptibility.engine.predict import predict_map
    from landslide_susceptibility.models import one_hot_encoding

    stack, mean, std = write_stack(tmp_path / "stack.tif", CATEGORICAL)
    encoding = one_hot_encoding(read_stack_info(stack).bands, mean, std)
    model_path = str(tmp_path / "model.keras")
    softened(seeded("cnn", encoding=encoding, pixel_skip=pixel_skip)).save(model_path)
    write_card(model_path, {"model": "cnn", "hparams": TINY["cnn"], "patch_size": PATCH,
                            "factors": ["dem", "slope", "ndvi", "landuse"],
                            "categorical": CATEGORICAL,
                            "normalisation": {"mean": mean, "std": std},
                            "plugin_version": "test"})
    maps = {}
    for method in ("auto", "patch"):
        output = str(tmp_path / f"{method}.tif")
        spec = PredictSpec.from_json({"model": model_path, "stack": stack, "output": output,
                                      "method": method}).validate()
        result = predict_map(spec, fake_reporter)
        assert result["evaluation"] == ("dense" if method == "auto" else "patch")
        if method == "auto":
            assert result["dense_mode"] == "head"
            assert ("pixel skip" in result["evaluation_note"]) == pixel_skip
        dataset = gdal.Open(output)  # kept while its band is read
        maps[method] = dataset.GetRasterBand(1).ReadAsArray()
    assert np.nanstd(maps["patch"]) > 0.01
    np.testing.assert_allclose(maps["auto"], maps["patch"], atol=1e-4, rtol=0)
