"""Why a model decides (``landslide:explainmodel``): permutation importance on the sample
area ranks the factor the synthetic truth weighs most first and gives about 0 to a
factor the truth ignores; the occlusion map finds the pixels a model looks at; the
engine command explains a classical and a network model; the report's pictures."""

import base64
import re

import numpy as np
import pytest
from osgeo import gdal

from landslide_susceptibility.core.align import align_factors
from landslide_susceptibility.core.build_samples import build_samples
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.explain import (
    occlusion_map,
    permutation_importance,
    square_positions,
)
from landslide_susceptibility.core.explain_report import write_explain_report
from landslide_susceptibility.core.raster_io import write_raster
from landslide_susceptibility.core.sample_layer import read_sample_layer
from landslide_susceptibility.core.specs import ExplainOutcome
from landslide_susceptibility.core.synthetic_landslides import COEFFICIENTS
from landslide_susceptibility.core.terrain import derive_terrain
from landslide_susceptibility.engine.patches import PaddedStack

FACTORS = ["elevation", "noise", "slope"]  # slope first in the truth, noise not in it


@pytest.fixture(scope="module")
def explained_area(sample_area, tmp_path_factory):
    """Stack (elevation, noise, slope) of the small sample area and its samples."""
    folder = tmp_path_factory.mktemp("explain")
    files = sample_area["files"]
    derive_terrain(files["dem"], str(folder / "slope.tif"), str(folder / "aspect.tif"))
    dem = gdal.Open(files["dem"])
    noise = np.random.default_rng(0).random((dem.RasterYSize, dem.RasterXSize))
    write_raster(str(folder / "noise.tif"), noise.astype(np.float32), dem.GetGeoTransform(),
                 sample_area["crs"], nodata=-9999.0)
    stack = str(folder / "stack.tif")
    align_factors([("elevation", files["dem"]), ("noise", str(folder / "noise.tif")),
                   ("slope", str(folder / "slope.tif"))], [], stack)
    samples = str(folder / "samples.gpkg")
    build_samples(stack, files["landslides"], samples, patch_size=16, samples_per_class=300,
                  seed=0)
    return {"stack": stack, "samples": samples, "cache": str(folder / "cache")}


def _centre_logistic(x, y, steps=25):
    """Logistic regression (Newton's method, numpy) on standardised features."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    z = np.column_stack([np.ones(len(x)), (x - mean) / std])
    beta = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ beta))
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + 1e-6 * np.eye(z.shape[1])
        beta += np.linalg.solve(hessian, z.T @ (y - p))
    return mean, std, beta


def test_truth_weighs_slope_most():
    assert max(COEFFICIENTS, key=lambda name: abs(COEFFICIENTS[name])) == "slope"
    assert "noise" not in COEFFICIENTS


def test_permutation_importance_ranks_the_truth(explained_area):
    rows, cols, labels, splits = read_sample_layer(explained_area["samples"])
    stack = PaddedStack(explained_area["stack"], 16, cache_dir=explained_area["cache"])
    raw = stack.patches(rows, cols)
    centre = raw[:, 8, 8, :].astype(np.float64)
    train = splits != "test"
    mean, std, beta = _centre_logistic(centre[train], labels[train])

    def predict(patches):
        x = (patches[:, 8, 8, :] - mean) / std
        return 1 / (1 + np.exp(-(beta[0] + x @ beta[1:])))

    test = np.ascontiguousarray(raw[~train])
    before = test.copy()
    baseline, drops = permutation_importance(predict, test, labels[~train], repeats=5)
    np.testing.assert_array_equal(test, before)  # restored
    importance = dict(zip(FACTORS, drops.mean(axis=0), strict=True))
    assert baseline > 0.75
    assert max(importance, key=importance.get) == "slope"
    assert importance["slope"] > 0.1
    assert abs(importance["noise"]) < 0.02


def test_occlusion_map_finds_the_pixels_a_model_reads():
    rng = np.random.default_rng(1)
    raw = rng.normal(1.0, 0.1, (20, 16, 16, 2)).astype(np.float32)

    def predict(patches):  # reads band 0 at pixel (5, 10) only
        return 1 / (1 + np.exp(-4 * patches[:, 5, 10, 0]))

    found = occlusion_map(predict, raw, fill=[0.0, 0.0], window=4, stride=2)
    assert found.shape == (16, 16)
    covering = np.zeros((16, 16), bool)
    for top in square_positions(16, 4, 2):
        for left in square_positions(16, 4, 2):
            if top <= 5 < top + 4 and left <= 10 < left + 4:
                covering[top:top + 4, left:left + 4] = True
    assert np.all(found[~covering] == 0)
    assert found[5, 10] == pytest.approx(np.mean(predict(raw) - 0.5))
    with pytest.raises(InputError, match="must fit"):
        occlusion_map(predict, raw, fill=[0.0, 0.0], window=17)


def _images(path):
    html = open(path, encoding="utf-8").read()
    return [base64.b64decode(data) for data in
            re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_report_pictures(tmp_path):
    occlusion = np.outer(np.hanning(16), np.hanning(16)) * 0.2
    outcome = ExplainOutcome(names=FACTORS, importance=[0.01, 0.0, 0.3],
                             importance_std=[0.01, 0.005, 0.05], baseline_auc=0.9, count=100,
                             repeats=5, model="cnn", occlusion=occlusion.tolist(),
                             occlusion_window=3, occlusion_stride=1, occlusion_patches=50)
    path = write_explain_report(tmp_path / "explain.html", outcome, {"model": "cnn"},
                                {"Split": "test"})
    images = _images(path)
    assert len(images) == 2  # importance bars, occlusion map
    assert all(image.startswith(b"\x89PNG") and len(image) > 5000 for image in images)
    text = open(path, encoding="utf-8").read()
    assert text.index("slope") < text.index("elevation")  # largest drop first
    assert "flips and turns" not in text
    views = write_explain_report(tmp_path / "views.html", outcome,
                                 {"model": "cnn", "patch_size": 15}, {"Split": "test"})
    text = open(views, encoding="utf-8").read()
    assert "The map is 16 x 16 pixels, one more than the model" in text
    assert "15 x 15 patch: the model averages over the patch" in text


def _engine(command, params, reporter):
    from landslide_susceptibility.engine.commands import run_command

    return run_command(command, params, reporter)


def test_explain_command_on_a_logistic_model(explained_area, tmp_path, fake_reporter):
    area = explained_area
    common = {"stack": area["stack"], "samples": area["samples"], "cache_dir": area["cache"]}
    # centre values only: with Patch statistics the spread of elevation around a cell
    # (relief) carries much of what slope says, and the ranking is no longer the truth's
    _engine("train", dict(common, model="logistic", output_model=str(tmp_path / "m.skops"),
                          neighbourhood=False), fake_reporter)
    result = _engine("explain", dict(common, model=str(tmp_path / "m.skops"), repeats=3,
                                     output_report=str(tmp_path / "explain.html")),
                     fake_reporter)
    assert result.names == FACTORS and result.occlusion is None
    assert int(np.argmax(result.importance)) == FACTORS.index("slope")
    assert abs(result.importance[FACTORS.index("noise")]) < 0.02
    assert len(_images(result.report)) == 1


@pytest.mark.slow
def test_explain_a_network_through_processing(run_alg, explained_area, tmp_path,
                                              fake_reporter):
    area = explained_area
    model = str(tmp_path / "cnn.keras")
    _engine("train", {"stack": area["stack"], "samples": area["samples"], "model": "cnn",
                      "output_model": model, "epochs": 2, "cache_dir": area["cache"]},
            fake_reporter)
    result = run_alg("landslide:explainmodel", {
        "MODEL": model, "STACK": area["stack"], "SAMPLES": area["samples"], "REPEATS": 2,
        "OCCLUSION_PATCHES": 10, "OUTPUT_TABLE": str(tmp_path / "importance.csv"),
        "OUTPUT_REPORT": str(tmp_path / "explain.html")})
    assert result["TOP_FACTOR"] in FACTORS
    images = _images(result["OUTPUT_REPORT"])
    assert len(images) == 2 and all(len(image) > 5000 for image in images)
