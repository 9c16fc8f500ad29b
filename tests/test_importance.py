"""Landslide inventory masks (core/inventory.py), random-forest importance (engine
command ``importance``, core/importance.py) and landslide:factorimportance."""

import os
import re

import numpy as np
import pytest
from osgeo import gdal, ogr

from landslide_susceptibility.core.align import align_factors
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.importance import prepare_samples
from landslide_susceptibility.core.inventory import balanced_samples, inventory_mask
from landslide_susceptibility.core.raster_io import write_raster, write_vector
from landslide_susceptibility.core.specs import ImportanceSpec
from landslide_susceptibility.core.stack import read_stack_info, valid_mask
from landslide_susceptibility.engine.commands import importance as command
from landslide_susceptibility.engine.commands import run_command

ECUADOR_FACTORS = ["elev", "slope", "cplan", "cprof", "log10_carea"]


def synthetic(n=600, seed=0):
    """Factor 0 decides the label, factor 1 is noise with many values, factor 2 a
    weak categorical signal."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([1, 0], n // 2)
    values = np.column_stack([
        labels * 1.5 + rng.normal(size=n),
        rng.normal(size=n),
        np.where(rng.random(n) < 0.2 + 0.2 * labels, 1, 2),
    ]).astype(np.float64)
    return values, labels


def test_gini_and_permutation_equal_sklearn():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    values, labels = synthetic()
    _forest, result = command.fit_importance(
        values, labels, ImportanceSpec(samples="", seed=5, trees=60, repeats=4))
    x_train, x_test, y_train, y_test = train_test_split(
        values, labels, test_size=0.25, random_state=5, stratify=labels)
    forest = RandomForestClassifier(n_estimators=60, oob_score=True, random_state=5)
    forest.fit(x_train, y_train)
    assert np.allclose(result["gini"], forest.feature_importances_, atol=1e-12)
    assert sum(result["gini"]) == pytest.approx(1.0)
    expected = permutation_importance(forest, x_test, y_test, scoring="roc_auc", n_repeats=4,
                                      random_state=5)
    assert np.allclose(result["permutation"], expected.importances_mean, atol=1e-12)
    assert result["oob_score"] == pytest.approx(forest.oob_score_)
    assert np.argmax(result["gini"]) == 0 and np.argmax(result["permutation"]) == 0
    assert result["n_train"] + result["n_test"] == labels.size


def test_engine_command_reads_npz(tmp_path, fake_reporter):
    values, labels = synthetic(200)
    path = tmp_path / "samples.npz"
    np.savez(path, values=values, labels=labels, names=np.array(["a", "b", "c"]))
    result = run_command("importance", {"samples": str(path), "seed": 1, "trees": 30,
                                        "repeats": 2}, fake_reporter).to_json()
    assert result["names"] == ["a", "b", "c"]
    assert sum(result["gini"]) == pytest.approx(1.0)
    with pytest.raises(InputError, match="at least 4 of each"):
        command.fit_importance(values[:50], np.ones(50), ImportanceSpec(samples=""))
    with pytest.raises(InputError, match="Cannot read the samples"):
        run_command("importance", {"samples": str(tmp_path / "missing.npz")}, fake_reporter)


# --- inventory masks ---------------------------------------------------------------

@pytest.fixture(scope="module")
def ecuador_stack(ecuador, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ecuador_importance")
    return align_factors([str(ecuador / f"{name}.tif") for name in ECUADOR_FACTORS], [],
                         str(folder / "stack.tif"))["output"]


@pytest.fixture(scope="module")
def sample_stack(sample_area, tmp_path_factory):
    files = sample_area["files"]
    folder = tmp_path_factory.mktemp("sample_importance")
    return align_factors([files["dem"], files["ndvi"], files["precipitation"]],
                         [files["landuse"]], str(folder / "stack.tif"))["output"]


def test_points_inventory_mask(ecuador, ecuador_stack):
    info = read_stack_info(ecuador_stack)
    result = inventory_mask(str(ecuador / "landslides.gpkg"), info)
    assert result.kind == "vector" and result.features == 175
    assert result.mask.shape == info.shape
    assert 150 <= result.pixels <= 175  # a few points can share a cell
    assert result.features_in_grid == 175


def test_polygon_inventory_and_reprojection(sample_area, sample_stack, tmp_path):
    info = read_stack_info(sample_stack)
    path = sample_area["files"]["landslides"]
    result = inventory_mask(path, info)
    assert result.features == sample_area["landslide_count"]
    assert result.pixels >= result.features  # every polygon burns at least one cell
    # The same polygons in EPSG:4326 give (almost) the same mask.
    moved = str(tmp_path / "ll.gpkg")
    gdal.VectorTranslate(moved, path, dstSRS="EPSG:4326", format="GPKG")
    again = inventory_mask(moved, info)
    assert (again.mask != result.mask).sum() <= 0.05 * result.pixels


def test_raster_inventory(sample_area, sample_stack, tmp_path):
    info = read_stack_info(sample_stack)
    vector = inventory_mask(sample_area["files"]["landslides"], info)
    raster = str(tmp_path / "mask.tif")
    write_raster(raster, vector.mask.astype(np.uint8), info.geotransform, info.crs_wkt,
                 nodata=255)
    result = inventory_mask(raster, info)
    assert result.kind == "raster"
    assert (result.mask == vector.mask).all()


def test_inventory_errors(sample_stack, tmp_path):
    info = read_stack_info(sample_stack)
    empty = write_vector(str(tmp_path / "empty.gpkg"), "slides", ogr.wkbPolygon, 32617, [], [])
    with pytest.raises(InputError, match="empty.gpkg.*no features"):
        inventory_mask(empty, info)
    point = ogr.Geometry(ogr.wkbPoint)
    point.AddPoint_2D(100.0, 100.0)
    far = write_vector(str(tmp_path / "far.gpkg"), "slides", ogr.wkbPoint, 32617, [],
                       [(point, {})])
    with pytest.raises(InputError, match="far.gpkg.*outside the factor stack"):
        inventory_mask(far, info)
    blank = str(tmp_path / "blank.tif")
    write_raster(blank, np.zeros(info.shape, np.uint8), info.geotransform, info.crs_wkt)
    with pytest.raises(InputError, match="blank.tif.*no landslide cells"):
        inventory_mask(blank, info)


def test_balanced_samples(ecuador, ecuador_stack):
    info = read_stack_info(ecuador_stack)
    mask = inventory_mask(str(ecuador / "landslides.gpkg"), info).mask
    values, labels, details = balanced_samples(info, mask, 100, seed=3)
    assert labels.sum() == 100 and (labels == 0).sum() == 100
    assert values.shape == (200, 5)
    assert details["landslide_pixels_available"] == (mask & valid_mask(info)).sum()
    again, _, _ = balanced_samples(info, mask, 100, seed=3)
    assert np.array_equal(values, again)


def test_prepare_samples_writes_npz(ecuador, ecuador_stack, tmp_path):
    result = prepare_samples(ecuador_stack, str(ecuador / "landslides.gpkg"),
                             str(tmp_path / "s.npz"), sample_size=1000, seed=0)
    data = np.load(result["samples"])
    assert list(data["names"]) == ECUADOR_FACTORS
    assert data["values"].shape[0] == data["labels"].size == 2 * result["landslide_pixels"]


# --- Processing (the forest runs in the engine process) ----------------------------

def _read_table(path):
    dataset = ogr.Open(path.split("|")[0])
    return [{"factor": f.GetField("factor"), "gini": f.GetField("gini"),
             "permutation": f.GetField("permutation")} for f in dataset.GetLayer(0)]


def test_processing_on_sample_area(run_alg, sample_area, sample_stack, tmp_path):
    result = run_alg("landslide:factorimportance", {
        "STACK": sample_stack, "INVENTORY": sample_area["files"]["landslides"],
        "SAMPLE_SIZE": 2000, "SEED": 0, "TREES": 100,
        "OUTPUT_TABLE": str(tmp_path / "importance.gpkg"),
        "OUTPUT_REPORT": str(tmp_path / "importance.html")})
    table = _read_table(result["OUTPUT_TABLE"])
    assert {row["factor"] for row in table} == set(read_stack_info(sample_stack).names)
    assert sum(row["gini"] for row in table) == pytest.approx(1.0, abs=1e-6)
    assert [row["gini"] for row in table] == sorted((row["gini"] for row in table),
                                                    reverse=True)
    text = open(result["OUTPUT_REPORT"], encoding="utf-8").read()
    assert "Out-of-bag accuracy" in text and "Permutation" in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 2
    assert 0.5 < result["OOB_SCORE"] <= 1.0


def test_processing_on_ecuador_points(run_alg, ecuador, ecuador_stack, tmp_path):
    result = run_alg("landslide:factorimportance", {
        "STACK": ecuador_stack, "INVENTORY": str(ecuador / "landslides.gpkg"),
        "SEED": 1, "TREES": 200, "OUTPUT_TABLE": str(tmp_path / "importance.csv"),
        "OUTPUT_REPORT": str(tmp_path / "importance.html")})
    table = _read_table(result["OUTPUT_TABLE"])
    assert len(table) == 5
    assert sum(float(row["gini"]) for row in table) == pytest.approx(1.0, abs=1e-6)
    assert result["TEST_AUC"] > 0.6  # the published GLM reaches about 0.8


def test_processing_inventory_outside_the_stack(run_alg, ecuador_stack, tmp_path):
    from qgis.core import QgsProcessingException

    point = ogr.Geometry(ogr.wkbPoint)
    point.AddPoint_2D(0.0, 0.0)
    far = write_vector(str(tmp_path / "far.gpkg"), "slides", ogr.wkbPoint, 32717, [],
                       [(point, {})])
    report = tmp_path / "r.html"
    report.write_text("old report")
    with pytest.raises(QgsProcessingException, match="outside the factor stack"):
        run_alg("landslide:factorimportance", {
            "STACK": ecuador_stack, "INVENTORY": far, "OUTPUT_TABLE": "TEMPORARY_OUTPUT",
            "OUTPUT_REPORT": str(report)})
    assert report.read_text() == "old report"
    assert os.path.exists(ecuador_stack)
