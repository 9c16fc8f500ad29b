"""The classical models: registry, features, frequency ratio / weights of
evidence, training, the model file (safety, round trip), evaluation and the map.

References computed here independently: scikit-learn on features built with
numpy, frequency ratios written out by hand, per-patch probabilities against
the vectorised map.
"""

import doctest
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from osgeo import gdal, osr
from reporters import FakeReporter as Reporter

from landslide_susceptibility import models
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.model_card import CARD_NAME, read_card
from landslide_susceptibility.core.specs import EvaluateSpec, PredictSpec, TrainSpec
from landslide_susceptibility.core.specs.training import model_extension
from landslide_susceptibility.core.stack import BandInfo, write_stack_metadata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSICAL = ["logistic", "random_forest", "gradient_boosting", "frequency_ratio",
             "weights_of_evidence"]
NAMES = ["elevation", "slope", "lithology"]
CATEGORICAL = [False, False, True]
CLASSES = [1, 2, 3]
SHAPE = (40, 40)
PATCH = 8


# --- data ------------------------------------------------------------------------

def write_stack(path, data, names=NAMES, categorical=CATEGORICAL, nodata=-9999.0):
    """A factor stack GeoTIFF with the plugin's metadata; ``data`` (bands, rows, cols)."""
    bands, rows, cols = data.shape
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, bands,
                                                   gdal.GDT_Float32)
    dataset.SetGeoTransform((500000.0, 30.0, 0.0, 9800000.0, 0.0, -30.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    dataset.SetProjection(srs.ExportToWkt())
    for index in range(bands):
        band = dataset.GetRasterBand(index + 1)
        band.WriteArray(data[index])
        band.SetNoDataValue(nodata)
    write_stack_metadata(dataset, [
        BandInfo(index=i + 1, name=name, categorical=flag, classes=CLASSES if flag else [])
        for i, (name, flag) in enumerate(zip(names, categorical, strict=True))], nodata)
    dataset = None
    return str(path)


def factor_data(shape=SHAPE, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    return np.stack([1500 + 3 * y + 2 * x + rng.normal(0, 20, shape),
                     np.abs(rng.normal(20, 8, shape)),
                     rng.integers(1, 4, shape).astype(float)]).astype(np.float32)


def samples_of(data, count=360, seed=1):
    """Distinct random pixels; the label follows slope and lithology (noisy);
    splits 60/20/20."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(data.shape[1] * data.shape[2], size=count, replace=False)
    rows, cols = np.divmod(flat, data.shape[2])
    score = (data[1, rows, cols] - 20) / 8 + (data[2, rows, cols] == 3) * 1.5
    labels = (score + rng.normal(0, 0.7, count) > 0.5).astype(np.int64)
    splits = np.array(["train"] * count, dtype="<U10")
    splits[int(0.6 * count):int(0.8 * count)] = "validation"
    splits[int(0.8 * count):] = "test"
    return rows.astype(np.int64), cols.astype(np.int64), labels, splits


def write_samples(path, samples):
    rows, cols, labels, splits = samples
    np.savez(path, rows=rows, cols=cols, labels=labels, splits=splits,
             summary=json.dumps({"patch_size": PATCH}))
    return str(path)


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classical")
    data = factor_data()
    samples = samples_of(data)
    return {"folder": folder, "data": data, "samples": samples,
            "stack": write_stack(folder / "stack.tif", data),
            "samples_path": write_samples(folder / "samples.npz", samples),
            "cache": str(folder / "cache")}


def train_spec(area, model, name=None, **settings):
    output = str(area["folder"] / f"{name or model}{model_extension(model)}")
    return TrainSpec(stack=area["stack"], samples=area["samples_path"], model=model,
                     output_model=output, cache_dir=area["cache"], **settings).validate()


def train(area, model, name=None, **settings):
    from landslide_susceptibility.engine.commands import train as command

    spec = train_spec(area, model, name, **settings)
    return command.run(spec, Reporter()), spec


@pytest.fixture(scope="module")
def trained(area):
    """Every classical model trained on the area (the forest kept small)."""
    out = {}
    for model in CLASSICAL:
        hparams = {"n_estimators": 20} if model == "random_forest" else {}
        out[model] = train(area, model, hparams=hparams, neighbourhood=False)[0]
    return out


def centre_features(data, samples, mean, std, categorical=CATEGORICAL):
    """The centre-value features built here with numpy: Z-scores of the continuous
    factors (float32 as the patches), codes of the categorical one."""
    rows, cols = samples[0], samples[1]
    values = data[:, rows, cols].T.astype(np.float32)
    z = (values - np.float32(mean)) * (np.float32(1) / np.float32(std))
    return np.where(np.asarray(categorical)[None, :], values, z).astype(np.float64)


# --- registry -----------------------------------------------------------------------

def test_registry_lists_networks_then_classical_models_without_importing_them():
    code = textwrap.dedent("""
        import runpy, sys
        runpy.run_path(sys.argv[1])["register_package"](sys.argv[2])
        import landslide_susceptibility.models as models
        from landslide_susceptibility.core.specs.training import model_choices
        print(models.available_models())
        print([label for _, label in model_choices()][6:])
        print(sorted(m for m in ("tensorflow", "keras", "sklearn", "skops")
                     if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code, os.path.join(REPO, "engine",
                                                                     "launcher.py"), REPO],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    names, labels, imported = done.stdout.strip().splitlines()
    assert eval(names) == models.available_models("network") + CLASSICAL  # noqa: S307
    assert eval(labels) == ["Logistic regression", "Random forest",  # noqa: S307
                            "Gradient boosting", "Frequency ratio", "Weights of evidence"]
    assert imported == "[]"
    assert [models.is_classical(n) for n in ("cnn", "ctlgnet", "logistic")] == \
        [False, False, True]
    assert doctest.testmod(models).failed == 0
    with pytest.raises(ValueError, match="classical model"):
        models.build_model("random_forest", (16, 16, 3))


def test_model_files_per_model_kind(tmp_path):
    assert TrainSpec(stack="s.tif", samples="p.gpkg", model="logistic",
                     output_model="m.skops").validate()
    with pytest.raises(InputError, match=r"must be a \.skops file for Logistic regression.*"
                                         r"use 'm\.skops'"):
        TrainSpec(stack="s.tif", samples="p.gpkg", model="logistic",
                  output_model="m.keras").validate()
    with pytest.raises(InputError, match=r"must be a \.keras file for CNN"):
        TrainSpec(stack="s.tif", samples="p.gpkg", model="cnn",
                  output_model="m.skops").validate()
    for spec in (EvaluateSpec, PredictSpec):
        assert spec.param_for_key("MODEL")[1].file_filter == "Trained model (*.keras *.skops)"


# --- training, evaluation, files -------------------------------------------------------

def test_every_classical_model_trains_and_round_trips(area, trained):
    import skops.io

    from landslide_susceptibility.engine.classical.model_file import TRUSTED_TYPES
    from landslide_susceptibility.engine.loaded_model import load_trained

    rows, cols, labels, splits = area["samples"]
    needed = set()
    for model, outcome in trained.items():
        assert outcome.model.endswith(".skops") and os.path.exists(outcome.model)
        needed |= set(skops.io.get_untrusted_types(file=outcome.model))
        assert 0.5 < outcome.metrics["auc"] <= 1.0, (model, outcome.metrics)
        card = read_card(outcome.model)
        assert card["model"] == model and card["factors"] == NAMES
        assert card["categorical"] == CATEGORICAL and card["classes"] == {"lithology": CLASSES}
        assert card["parameters"] > 0 and card["versions"]["scikit-learn"]
        loaded = load_trained(outcome.model)
        again = load_trained(outcome.model)
        stack = loaded.padded_stack(area["stack"], cache_dir=area["cache"])
        first = loaded.probability(stack, rows, cols)
        # (the forest's threads may add its trees' votes in another order)
        assert np.allclose(first, again.probability(stack, rows, cols), rtol=0, atol=1e-12)
        assert np.all((first >= 0) & (first <= 1))
        patches = stack.patches(rows[:50], cols[:50])
        assert np.allclose(loaded.probability_of_patches(patches), first[:50], atol=1e-12)
    assert needed == set(TRUSTED_TYPES)  # trust no more than the models need


def _standardised_onehot(x, train, categorical=CATEGORICAL, classes=CLASSES):
    """Continuous columns standardised by the training rows, categorical one-hot."""
    flags = np.asarray(categorical)
    cont = x[:, ~flags]
    mean, std = cont[train].mean(axis=0), cont[train].std(axis=0)
    onehot = [(x[:, j][:, None] == np.asarray(classes)[None, :]).astype(float)
              for j in np.flatnonzero(flags)]
    return np.concatenate([(cont - mean) / std] + onehot, axis=1)


def test_baselines_equal_scikit_learn_on_features_built_here(area, trained):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rows, cols, labels, splits = area["samples"]
    train, test = splits == "train", splits == "test"
    card = read_card(trained["logistic"].model)
    x = centre_features(area["data"], area["samples"], card["normalisation"]["mean"],
                        card["normalisation"]["std"])
    # logistic regression: standardisation is affine, so the raw values do as well
    raw = area["data"][:, rows, cols].T.astype(np.float64)
    logistic = LogisticRegression(C=1.0, max_iter=1000, random_state=0)
    logistic.fit(_standardised_onehot(raw, train)[train], labels[train])
    p = logistic.predict_proba(_standardised_onehot(raw, train)[test])[:, 1]
    assert trained["logistic"].metrics["auc"] == pytest.approx(roc_auc_score(labels[test], p),
                                                               abs=1e-12)
    # random forest: the Z-scores and one-hot codes, the same seed
    onehot = (x[:, 2][:, None] == np.asarray(CLASSES)[None, :]).astype(float)
    features = np.concatenate([x[:, :2], onehot], axis=1)
    forest = RandomForestClassifier(n_estimators=20, min_samples_leaf=2, max_features="sqrt",
                                    random_state=0).fit(features[train], labels[train])
    p = forest.predict_proba(features[test])[:, 1]
    assert trained["random_forest"].metrics["auc"] == pytest.approx(
        roc_auc_score(labels[test], p), abs=1e-12)


def test_frequency_ratio_and_weights_of_evidence_by_hand(tmp_path):
    """A 4 x 5 raster; training samples: rows 0 (landslides, but the last) and 1;
    test: two pixels of row 2."""
    from landslide_susceptibility.engine.classical.model_file import read_recipe
    from landslide_susceptibility.engine.commands import train as command
    from landslide_susceptibility.engine.loaded_model import load_trained

    slope = [[30, 35, 25, 40, 5], [10, 12, 8, 20, 15], [1, 2, 3, 4, 50], [6, 7, 9, 11, 13]]
    lithology = [[1, 1, 2, 3, 1], [2, 2, 3, 3, 2], [1, 2, 3, 1, 2], [3, 3, 3, 1, 1]]
    names, flags = ["slope", "lithology"], [False, True]
    stack = write_stack(tmp_path / "s.tif", np.array([slope, lithology], np.float32), names,
                        flags)
    rows = np.array([0] * 5 + [1] * 5 + [2, 2, 3, 3])
    cols = np.array(list(range(5)) * 2 + [4, 0, 0, 1])
    labels = np.array([1, 1, 1, 1, 0] + [0] * 5 + [1, 0, 1, 0])
    splits = np.array(["train"] * 10 + ["test"] * 2 + ["validation"] * 2)
    samples = str(tmp_path / "samples.npz")
    np.savez(samples, rows=rows, cols=cols, labels=labels, splits=splits,
             summary=json.dumps({"patch_size": 3}))
    # slope, 2 quantile bins of the ten training values: edge (15 + 20) / 2 = 17.5;
    # bin 0: S 0, N 5; bin 1: S 4, N 1. Lithology 1: S 2, N 1; 2: S 1, N 3; 3: S 1, N 2.
    # With 0.5 added to every count, e.g. slope bin 1: FR = (4.5 / 5) / (1.5 / 7) = 4.2.
    expected = {
        "slope": {"fr": [0.127273, 4.2], "w_plus": [-2.061423, 1.435085],
                  "w_minus": [1.435085, -2.061423], "contrast": [-3.496508, 3.496508]},
        "lithology": {"fr": [2.272727, 0.584416, 0.818182],
                      "w_plus": [0.820981, -0.537143, -0.200671],
                      "w_minus": [-0.382992, 0.310155, 0.087011],
                      "contrast": [1.203973, -0.847298, -0.287682]}}
    index = {"frequency_ratio": (4.2 + 0.584416, 0.127273 + 2.272727),  # test pixels
             "weights_of_evidence": (3.496508 - 0.847298, -3.496508 + 1.203973)}
    for model in ("frequency_ratio", "weights_of_evidence"):
        spec = TrainSpec(stack=stack, samples=samples, model=model, cache_dir=str(tmp_path),
                         output_model=str(tmp_path / f"{model}.skops"),
                         hparams={"bins": 2, "smoothing": 0.5}, neighbourhood=False).validate()
        command.run(spec, Reporter())
        recipe = read_recipe(spec.output_model)
        assert recipe["tables"][0]["edges"] == pytest.approx([17.5], abs=1e-4)
        assert recipe["tables"][1]["classes"] == CLASSES
        for table in recipe["tables"]:
            for key, values in expected[table["name"]].items():
                assert table[key] == pytest.approx(values, abs=1e-6), (table["name"], key)
        loaded = load_trained(spec.output_model)
        a, b = recipe["calibration"]
        got = loaded.probability(loaded.padded_stack(stack, cache_dir=str(tmp_path)),
                                 rows[10:12], cols[10:12])
        assert got == pytest.approx(1 / (1 + np.exp(-(a * np.array(index[model]) + b))),
                                    abs=1e-5)
        assert a > 0  # a higher index, a higher probability


def test_calibration_is_the_logistic_fit_of_the_index():
    from sklearn.linear_model import LogisticRegression

    from landslide_susceptibility.engine.classical.frequency_ratio import calibrate

    rng = np.random.default_rng(0)
    index = rng.normal(3, 2, 400)
    y = (index + rng.normal(0, 2, 400) > 3).astype(int)
    a, b = calibrate(index, y)
    reference = LogisticRegression(C=1e12, max_iter=10000).fit(index[:, None], y)
    assert (a, b) == pytest.approx((reference.coef_[0, 0], reference.intercept_[0]), rel=1e-4)


def test_untrusted_model_files_are_refused(area, trained, tmp_path):
    import skops.io

    from landslide_susceptibility.engine.classical.model_file import RECIPE_NAME
    from landslide_susceptibility.engine.loaded_model import load_trained

    # a pickle (or joblib file) named .skops
    unsafe = tmp_path / "pickled.skops"
    unsafe.write_bytes(pickle.dumps({"model": "random_forest"}))
    with pytest.raises(InputError, match=r"Trained model \(\.keras or \.skops\) "
                                         r"'.*pickled\.skops' is refused: it is a pickle"):
        load_trained(str(unsafe))
    # a skops file whose content would call a function of the system on load
    good = trained["random_forest"].model
    with zipfile.ZipFile(good) as archive:
        card, recipe = archive.read(CARD_NAME), archive.read(RECIPE_NAME)
    payload = io.BytesIO(skops.io.dumps({"f": os.system}))
    with zipfile.ZipFile(payload, "a") as archive:
        archive.writestr(CARD_NAME, card)
        archive.writestr(RECIPE_NAME, recipe)
    hostile = tmp_path / "hostile.skops"
    hostile.write_bytes(payload.getvalue())
    with pytest.raises(InputError, match=r"'.*hostile\.skops' is refused: it holds types "
                                         r"that could run code when loaded: .*system.*"
                                         r"Train landslide model"):
        load_trained(str(hostile))


def test_a_stack_with_other_factors_is_refused(area, trained, tmp_path):
    from landslide_susceptibility.core.stack import read_stack_info
    from landslide_susceptibility.engine.loaded_model import load_trained

    other = write_stack(tmp_path / "other.tif", area["data"][:2], NAMES[:2], CATEGORICAL[:2])
    for model in ("logistic", "frequency_ratio"):
        with pytest.raises(InputError, match=r"(?s)does not match the model's factors.*"
                                             r"model \(3\): elevation, slope, lithology "
                                             r"\(categorical\).*stack \(2\): elevation, slope"):
            load_trained(trained[model].model, read_stack_info(other))


def test_window_features_equal_patch_features():
    """Summed-area tables and running min/max over a window == per-patch numpy."""
    from landslide_susceptibility.engine.classical.features import (
        FeatureLayout,
        normalised_patch_features,
        window_features,
    )
    from landslide_susceptibility.engine.dense_model import patch_view

    rng = np.random.default_rng(3)
    for p in (5, 8):
        layout = FeatureLayout(["a", "b", "c"], [False, True, False], {"b": CLASSES},
                               [100.0, 2.0, -3.0], [10.0, 0.8, 2.0], p, neighbourhood=True)
        window = rng.standard_normal((21 + p - 1, 17 + p - 1, 3)).astype(np.float32)
        window[..., 0] += 50  # far from 0: the sums of squares must not cancel
        rows, cols = np.divmod(np.arange(21 * 17), 17)
        expected = normalised_patch_features(patch_view(window, p)[rows, cols], layout)
        got = window_features(window, rows, cols, layout)
        assert got.shape == expected.shape == (21 * 17, 3 + 2 * 4)
        assert np.allclose(got, expected, rtol=0, atol=1e-9)


def _read_map(path):
    dataset = gdal.Open(path)
    return dataset.GetRasterBand(1).ReadAsArray(), dataset.GetRasterBand(1).GetNoDataValue()


def test_train_evaluate_and_map_through_the_engine(area, tmp_path):
    """trainmodel -> evaluatemodel -> predictsusceptibility (the engine commands, JSON
    specs) with neighbourhood statistics: the map equals the per-patch probabilities
    at the samples (on a stack with nodata holes, across tile borders), per pixel
    and per patch alike; nodata pixels are nodata."""
    from landslide_susceptibility.engine.commands import evaluate, predict
    from landslide_susceptibility.engine.loaded_model import load_trained
    from landslide_susceptibility.engine.patches import PaddedStack

    rows, cols, labels, splits = area["samples"]
    holed = area["data"].copy()
    holed[:, 0:3, 5:9] = -9999.0
    holed[:, 20, 20] = -9999.0
    holed_stack = write_stack(tmp_path / "holed.tif", holed)
    keep = holed[0, rows, cols] != -9999.0
    for model, hparams in (("random_forest", {"n_estimators": 20}), ("logistic", {})):
        report = str(tmp_path / f"{model}.html") if model == "random_forest" else ""
        outcome, spec = train(area, model, name=f"{model}_nb", neighbourhood=True,
                              hparams=hparams, output_report=report)
        if report:
            with open(report, encoding="utf-8") as handle:
                text = handle.read()
            assert "Training report: Random forest" in text and "Number of trees" in text
        spec_json = TrainSpec.from_json(json.loads(json.dumps(spec.to_json())))
        assert spec_json.neighbourhood and outcome.card["hparams"]["neighbourhood"]
        evaluated = evaluate.run(EvaluateSpec.from_json(json.loads(json.dumps(EvaluateSpec(
            model=outcome.model, stack=area["stack"], samples=area["samples_path"],
            cache_dir=area["cache"]).to_json()))), Reporter())
        assert evaluated.metrics["auc"] == pytest.approx(outcome.metrics["auc"], abs=1e-12)
        assert evaluated.model == model
        loaded = load_trained(outcome.model)
        expected = loaded.probability(PaddedStack(holed_stack, PATCH, cache_dir=area["cache"]),
                                      rows[keep], cols[keep])
        maps = []
        for method in ("auto", "patch"):
            out = str(tmp_path / f"{model}_{method}.tif")
            result = predict.run(PredictSpec(model=outcome.model, stack=holed_stack,
                                             output=out, tile_size=16, method=method),
                                 Reporter())
            assert result.evaluation == ("dense" if method == "auto" else "patch")
            values, nodata = _read_map(out)
            assert np.allclose(values[rows[keep], cols[keep]], expected, rtol=0, atol=1e-6)
            assert np.all(values[0:3, 5:9] == nodata) and values[20, 20] == nodata
            maps.append(values)
        assert np.allclose(maps[0], maps[1], rtol=0, atol=1e-6)


def test_cancel_between_stages_writes_nothing(area):
    from landslide_susceptibility.engine.commands import train as command
    from landslide_susceptibility.engine.patches import PaddedStack

    PaddedStack(area["stack"], PATCH, cache_dir=area["cache"])  # cached: no cancel there
    spec = train_spec(area, "logistic", name="cancelled")
    for cancel_at in (1, 2, 3):  # features, fit, write
        outcome = command.run(spec, Reporter(cancel_at=cancel_at))
        assert outcome.cancelled and not outcome.written
        assert not os.path.exists(spec.output_model)
    assert command.run(spec, Reporter(cancel_at=4)).written
    assert os.path.exists(spec.output_model)


def test_model_report_of_classical_models():
    from landslide_susceptibility.core.specs import ModelReportSpec
    from landslide_susceptibility.engine.commands import model_report

    spec = ModelReportSpec(models=["logistic", "frequency_ratio", "random_forest"],
                           input_shape=[8, 8, 3], batch_size=64, repeats=1,
                           hparams={"random_forest": {"n_estimators": 5}})
    result = model_report.run(spec, Reporter())
    rows = {row["name"]: row for row in result["models"]}
    assert rows["logistic"]["params"] == 3 + 1  # three coefficients and the intercept
    assert rows["frequency_ratio"]["params"] == 3 * 10 + 2  # ten classes a factor, a, b
    assert rows["random_forest"]["params"] > 5
    assert all(row["flops_per_patch"] is None and row["patches_per_s"] > 0
               for row in rows.values())
    assert "| Logistic regression | 4 | - |" in result["table"]
