"""Average over flips and turns (test-time augmentation): the eight views against
numpy's flips and turns, the map against a numpy reference at every pixel, the
ensemble of a model with views and one without, and a training run whose
validation, evaluation and card agree."""

import numpy as np
import pytest
from osgeo import gdal
from test_predict import NAMES, synthetic_data, write_stack  # noqa: E402
from training_checks import train_then_evaluate

from landslide_susceptibility.core.model_card import read_card, write_card
from landslide_susceptibility.engine import patches

PATCH = 16
NODATA = -9999.0


def test_views_of_odd_patches_are_numpy_flips_and_turns_cut_to_the_patch():
    odd = np.random.default_rng(0).normal(size=(4, 9, 9, 2)).astype(np.float32)
    eight = patches.views(odd, 8)
    assert eight.shape == (8, 4, 8, 8, 2)
    for view, (flip, turns) in zip(eight, patches.VIEWS, strict=True):
        expected = np.rot90(odd[:, :, ::-1] if flip else odd, turns, axes=(1, 2))[:, :8, :8]
        np.testing.assert_array_equal(view, expected)
    np.testing.assert_array_equal(eight[0], odd[:, :8, :8])  # view 0: the patch itself
    np.testing.assert_array_equal(eight[:, :, 4, 4], np.stack([odd[:, 4, 4]] * 8))
    assert [patches.view_size(p) for p in (8, 9, 16)] == [9, 9, 17]


def views_model(path, data, seed=0, views=True):
    """A seeded, untrained CNN (patch 16) whose card asks for the eight views."""
    import keras

    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model("cnn", (PATCH, PATCH, data.shape[0]), filters=[4, 4])
    head = model.get_layer("predictions")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 8.0, bias])
    model.save(str(path))
    valid = np.all(data != NODATA, axis=0)
    write_card(str(path), {
        "model": "cnn", "hparams": {"filters": [4, 4]}, "patch_size": PATCH,
        "factors": NAMES, "categorical": [False, False, False, True],
        "normalisation": {"mean": [float(b[valid].mean()) for b in data],
                          "std": [float(b[valid].std()) or 1.0 for b in data]},
        "training": {"average_views": views}, "plugin_version": "test"})
    return str(path), model


def reference_map(model, data, card):
    """Every pixel's mean over numpy's eight flips and turns of its patch, cut from
    the reflect-padded, normalised stack (nodata -> 0), straight through Keras."""
    mean = np.asarray(card["normalisation"]["mean"], np.float32)[:, None, None]
    std = np.asarray(card["normalisation"]["std"], np.float32)[:, None, None]
    values = np.where(data == NODATA, np.nan, data)
    normal = np.nan_to_num((values - mean) / std).transpose(1, 2, 0)
    half = PATCH // 2
    padded = np.pad(normal, ((half, half), (half, half), (0, 0)), mode="reflect")
    rows, cols = data.shape[1:]
    odd = np.stack([padded[r:r + PATCH + 1, c:c + PATCH + 1]
                    for r in range(rows) for c in range(cols)]).astype(np.float32)
    out = np.zeros(len(odd))
    for flip in (False, True):
        for turns in range(4):
            view = np.rot90(odd[:, :, ::-1] if flip else odd, turns, axes=(1, 2))
            out += np.asarray(model.predict(view[:, :PATCH, :PATCH], batch_size=512,
                                            verbose=0))[:, 1] / 8
    return out.reshape(rows, cols)


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    folder = tmp_path_factory.mktemp("views")
    data = synthetic_data(shape=(30, 34), seed=5)
    stack = write_stack(folder / "stack.tif", data)
    path, model = views_model(folder / "views.keras", data)
    plain, _ = views_model(folder / "plain.keras", data, seed=1, views=False)
    return {"folder": folder, "data": data, "stack": stack, "model": path, "keras": model,
            "plain": plain}


def _read(path):
    dataset = gdal.Open(str(path))  # kept open while the band is read
    return dataset.GetRasterBand(1).ReadAsArray()


@pytest.mark.parametrize("method", ["auto", "patch"])
def test_map_is_the_mean_over_the_views_at_every_pixel(area, tmp_path, method):
    from test_predict import predict

    result = predict(area["model"], area["stack"], tmp_path / "map.tif", tile_size=16,
                     method=method)
    assert "averaged over 8 flips and turns" in result["evaluation_note"]
    assert result["evaluation"] == ("patch" if method == "patch" else "dense")
    got = _read(tmp_path / "map.tif")
    valid = np.all(area["data"] != NODATA, axis=0)
    expected = reference_map(area["keras"], area["data"], read_card(area["model"]))
    np.testing.assert_array_equal(got == NODATA, ~valid)
    np.testing.assert_allclose(got[valid], expected[valid], rtol=0, atol=1e-5)


def test_flips_and_turns_of_predict_override_the_card(area, tmp_path):
    """Off maps a model trained with the views in one pass, On averages the views of
    one trained without: each equals the map of the same weights with the other card."""
    from test_predict import predict

    same, _ = views_model(tmp_path / "same.keras", area["data"], seed=0, views=False)
    maps = {}
    for name, model, views in (("off", area["model"], "off"), ("plain", same, "model"),
                               ("on", same, "on"), ("card", area["model"], "model")):
        result = predict(model, area["stack"], tmp_path / f"{name}.tif", views=views)
        maps[name] = (_read(tmp_path / f"{name}.tif"), result["evaluation_note"])
    np.testing.assert_array_equal(maps["off"][0], maps["plain"][0])
    np.testing.assert_allclose(maps["on"][0], maps["card"][0], rtol=0, atol=1e-6)
    assert "flips and turns" not in maps["off"][1]
    assert "flips and turns" in maps["on"][1]


def test_dense_views_that_disagree_with_the_per_patch_views_are_refused(area, tmp_path,
                                                                          monkeypatch):
    """The check before use: dense views read where the unflipped patches went (a
    bug) stop the map with an error rather than writing wrong values."""
    from test_predict import predict

    from landslide_susceptibility.engine import dense_views

    right = dense_views.turned_points
    monkeypatch.setattr(dense_views, "turned_points",
                        lambda rows, cols, shape, flip, turns: right(rows, cols, shape,
                                                                     not flip, turns))
    with pytest.raises(RuntimeError, match="differ by .* from the per-patch views"):
        predict(area["model"], area["stack"], tmp_path / "wrong.tif")
    assert not (tmp_path / "wrong.tif").exists()


def test_turned_points_follow_numpy_flips_and_turns():
    from landslide_susceptibility.engine.dense_views import turned, turned_points

    cells = np.arange(5 * 7).reshape(5, 7, 1)
    rows, cols = np.divmod(np.arange(35), 7)
    for flip, turns in patches.VIEWS:
        moved = turned(cells, flip, turns)
        r, c = turned_points(rows, cols, (5, 7), flip, turns)
        np.testing.assert_array_equal(moved[r, c, 0], cells[rows, cols, 0])


def test_ensemble_of_a_model_with_views_and_one_without(area, tmp_path):
    from test_predict import predict

    singles = []
    for name in ("model", "plain"):
        predict(area[name], area["stack"], tmp_path / f"{name}.tif")
        singles.append(_read(tmp_path / f"{name}.tif"))
    predict(area["model"], area["stack"], tmp_path / "mean.tif", models=[area["plain"]],
            tile_size=16)
    valid = singles[0] != NODATA
    np.testing.assert_allclose(_read(tmp_path / "mean.tif")[valid],
                               np.mean([s[valid] for s in singles], axis=0), atol=1e-6)


def test_training_with_views_validates_evaluates_and_writes_them(small_stack, small_samples,
                                                                 tmp_path, fake_reporter):
    training, auc, best = train_then_evaluate(small_stack, small_samples, tmp_path,
                                              fake_reporter, 2, average_views=True)
    assert training["average_views"] is True
    assert auc == pytest.approx(best, abs=1e-6)


@pytest.mark.slow
def test_cluster_map_with_views_equals_the_local_one(area, tmp_path):
    from distributed import LocalCluster
    from test_predict import predict

    local = predict(area["model"], area["stack"], tmp_path / "local.tif")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        remote = predict(area["model"], area["stack"], tmp_path / "cluster.tif",
                         scheduler=cluster.scheduler_address)
    assert remote["evaluation"] == local["evaluation"] == "dense"
    np.testing.assert_array_equal(_read(tmp_path / "cluster.tif"), _read(tmp_path / "local.tif"))


def test_ensemble_of_a_network_and_a_classical_model_is_their_mean(small_stack, small_samples,
                                                                    tmp_path, fake_reporter):
    """A blend (bench/accuracy_blend.py): a CNN and a random forest of the same stack
    and patch size mapped as an ensemble give the mean of their maps."""
    from test_predict import predict

    from landslide_susceptibility.engine.commands import run_command

    data = {"stack": small_stack, "samples": small_samples, "seed": 1}
    files = [run_command("train", dict(data, model="cnn", epochs=1, batch_size=16,
                                       pretrain=False, average_views=True,
                                       output_model=str(tmp_path / "cnn.keras")),
                         fake_reporter).model,
             run_command("train", dict(data, model="random_forest",
                                       output_model=str(tmp_path / "forest.skops")),
                         fake_reporter).model]
    singles = []
    for number, path in enumerate(files):
        predict(path, small_stack, tmp_path / f"single{number}.tif")
        singles.append(_read(tmp_path / f"single{number}.tif"))
    predict(files[0], small_stack, tmp_path / "blend.tif", models=[files[1]])
    valid = (singles[0] != NODATA) & (singles[1] != NODATA)
    assert valid.any()
    np.testing.assert_allclose(_read(tmp_path / "blend.tif")[valid],
                               np.mean([s[valid] for s in singles], axis=0), atol=1e-6)


@pytest.mark.parametrize("name, size", [("ctlgnet", 16), ("vit", 17), ("resnet18", 16)])
def test_dense_views_of_tail_models_equal_the_per_patch_views(name, size):
    """The models whose dense path runs a tail per patch (tokens or a feature
    window): the eight dense passes give the per-patch views' mean."""
    import keras

    from landslide_susceptibility.engine.dense_model import DenseModel, check_dense
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.engine.dense_views import DenseViews
    from landslide_susceptibility.engine.runners import PatchModel, ViewsAveraged
    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(2)
    model = build_model(name, (size, size, 3), pixel_skip=True)
    plan, reason = dense_plan(model)
    assert plan is not None and plan.mode != "head", reason
    dense = DenseViews(DenseModel(plan, size, 3, 32))
    per_patch = ViewsAveraged(PatchModel(model, 32), size)
    assert dense.patch_size == patches.view_size(size)
    assert check_dense(dense, per_patch, dense.patch_size, 3, seed=3) < 1e-5
