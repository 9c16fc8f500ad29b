"""Deep ensembles (issue 19): the streaming mean and standard deviation of the
members (core/ensemble.py) equal numpy's; the ensemble map and its uncertainty
map (engine/ensemble_predict.py) equal numpy on the members' single-model maps;
members that do not fit are refused by name."""

import os
import sys

import numpy as np
import pytest
from osgeo import gdal

from landslide_susceptibility.core.ensemble import (
    EnsembleStats,
    check_ensemble_paths,
    check_members,
    ensemble_mean_std,
)
from landslide_susceptibility.core.errors import CancelledError, InputError
from landslide_susceptibility.core.specs import PredictSpec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_predict import (  # noqa: E402
    CATEGORICAL,
    NAMES,
    Reporter,
    make_model,
    predict,
    synthetic_data,
    write_stack,
)

NODATA = -9999.0


# --- core: the statistics ----------------------------------------------------------

def _members(count=4, shape=(23, 31), seed=0):
    rng = np.random.default_rng(seed)
    members = rng.random((count, *shape)).astype(np.float32)
    members[0, :3, :5] = np.nan               # missing in one member only
    members[1, 10, :] = NODATA
    members[:, -2:, -4:] = NODATA             # missing in all
    return members


def _numpy_reference(members):
    data = np.where(members == NODATA, np.nan, members.astype(np.float64))
    missing = np.isnan(data).any(axis=0)
    return missing, data.mean(axis=0), data.std(axis=0)  # population sd (ddof=0)


def test_streaming_mean_and_sd_equal_numpy_tile_by_tile():
    members = _members()
    missing, mean, sd = _numpy_reference(members)
    out_mean = np.full(mean.shape, np.nan, np.float32)
    out_sd = np.full(mean.shape, np.nan, np.float32)
    for r0, c0 in ((0, 0), (0, 16), (12, 0), (12, 16)):  # tiles of at most 12 x 16
        window = (slice(r0, r0 + 12), slice(c0, c0 + 16))
        stats = EnsembleStats(members[0][window].shape)
        for member in members:
            stats.add(member[window], nodata=NODATA)
        out_mean[window], out_sd[window] = stats.mean(NODATA), stats.std(NODATA)
    assert np.array_equal(out_mean == NODATA, missing)
    assert np.array_equal(out_sd == NODATA, missing)
    np.testing.assert_allclose(out_mean[~missing], mean[~missing], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out_sd[~missing], sd[~missing], rtol=0, atol=1e-6)
    assert out_mean.dtype == np.float32


def test_ensemble_mean_std_of_a_sequence():
    members = _members(count=3, seed=1)
    missing, mean, sd = _numpy_reference(members)
    got_mean, got_sd = ensemble_mean_std(iter(members), nodata=NODATA)
    assert np.array_equal(np.isnan(ensemble_mean_std(members)[0]), np.isnan(members).any(0))
    np.testing.assert_allclose(got_mean[~missing], mean[~missing], atol=1e-6)
    np.testing.assert_allclose(got_sd[~missing], sd[~missing], atol=1e-6)
    one_mean, one_sd = ensemble_mean_std([members[2]])
    assert np.array_equal(one_mean, members[2]) and not one_sd.any()
    with pytest.raises(InputError):
        ensemble_mean_std([])
    with pytest.raises(InputError, match="tile"):
        EnsembleStats((2, 2)).add(np.zeros((2, 3)))


# --- the members' rules ------------------------------------------------------------

def test_paths_rules(tmp_path):
    a, b = str(tmp_path / "a.keras"), str(tmp_path / "b.keras")
    check_ensemble_paths(a, [b], "map.tif", "sd.tif")
    check_ensemble_paths(a, [], "map.tif", "")
    with pytest.raises(InputError, match="listed twice"):
        check_ensemble_paths(a, [b, str(tmp_path / "." / "b.keras")], "map.tif", "")
    with pytest.raises(InputError, match="needs Additional models"):
        check_ensemble_paths(a, [], "map.tif", "sd.tif")
    with pytest.raises(InputError, match="another file"):
        check_ensemble_paths(a, [b], "map.tif", "map.tif")
    spec = PredictSpec.from_json({"model": a, "stack": "s.tif", "output": "m.tif",
                                  "models": [b], "uncertainty": "sd.tif"}).validate()
    assert spec.models == [b]
    assert PredictSpec.from_json({"model": a, "stack": "s.tif", "output": "m.tif",
                                  "models": b}).models == [b]
    with pytest.raises(InputError, match="listed twice"):
        PredictSpec.from_json({"model": a, "stack": "s.tif", "output": "m.tif",
                               "models": [a]}).validate()


def _card(factors=NAMES, categorical=CATEGORICAL, patch_size=16):
    return {"model": "cnn", "factors": list(factors), "categorical": list(categorical),
            "patch_size": patch_size}


def test_members_must_share_factors_and_patch_size():
    check_members([_card(), _card()], ["a.keras", "b.keras"], NAMES, CATEGORICAL)
    with pytest.raises(InputError, match=r"Ensemble model 2 of 3 'b.keras'.*does not match"):
        check_members([_card(), _card(NAMES[:3], CATEGORICAL[:3]), _card()],
                      ["a.keras", "b.keras", "c.keras"], NAMES, CATEGORICAL)
    with pytest.raises(InputError, match=r"'c.keras'.*20 x 20 patches.*16 x 16"):
        check_members([_card(), _card(), _card(patch_size=20)],
                      ["a.keras", "b.keras", "c.keras"], NAMES, CATEGORICAL)


# --- the engine: the ensemble map and its uncertainty ---------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two tiny seeded CNNs (patch 16) of a 40 x 44 stack with nodata; the second
    with another normalisation (as if trained on other samples)."""
    folder = tmp_path_factory.mktemp("ensemble")
    data = synthetic_data(shape=(40, 44), seed=3)
    stack = write_stack(folder / "stack.tif", data)
    first = make_model(folder / "a.keras", "cnn", data, patch=16, seed=0, filters=[4, 4])
    shifted = np.where(data == NODATA, NODATA, data * np.float32(1.1) + np.float32(3.0))
    second = make_model(folder / "b.keras", "cnn", shifted, patch=16, seed=1, filters=[4, 4])
    return {"folder": folder, "stack": stack, "models": [first, second]}


def _read(path):
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).ReadAsArray(), dataset


def test_ensemble_maps_equal_numpy_on_the_members_maps(tiny, tmp_path):
    singles = []
    for number, model in enumerate(tiny["models"]):
        path = tmp_path / f"single_{number}.tif"
        predict(model, tiny["stack"], path)
        singles.append(_read(path)[0])
    singles = np.stack(singles)
    missing = (singles == NODATA).any(axis=0)
    assert missing.any() and not missing.all()
    assert np.abs(singles[0] - singles[1])[~missing].max() > 1e-3  # the members differ

    reporter = Reporter()
    output, spread = tmp_path / "mean.tif", tmp_path / "sd.tif"
    result = predict(tiny["models"][0], tiny["stack"], output, reporter=reporter,
                     models=[tiny["models"][1]], uncertainty=str(spread), tile_size=16)
    mean, mean_ds = _read(output)
    sd, sd_ds = _read(spread)
    assert np.array_equal(mean == NODATA, missing) and np.array_equal(sd == NODATA, missing)
    valid = singles[:, ~missing].astype(np.float64)
    np.testing.assert_allclose(mean[~missing], valid.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(sd[~missing], valid.std(axis=0), rtol=0, atol=1e-6)

    assert result["uncertainty"] == str(spread) and len(result["members"]) == 2
    assert result["model"].startswith("ensemble of 2")
    files = ", ".join(os.path.basename(str(model)) for model in tiny["models"])
    assert any(f"ensemble of 2 models: {files} (" in line for line in reporter.infos)
    assert mean_ds.GetMetadataItem("ENSEMBLE_SIZE") == "2"
    assert mean_ds.GetMetadataItem("FACTORS") == ",".join(NAMES)
    assert sd_ds.GetMetadataItem("LANDSLIDE_MAP") == "uncertainty"
    assert sd_ds.GetRasterBand(1).GetDescription() == "landslide_probability_sd"
    assert sd_ds.GetRasterBand(1).GetNoDataValue() == NODATA
    assert reporter.progress_values[-1] == 100


def test_ensemble_without_uncertainty_and_bad_member(tiny, tmp_path):
    output = tmp_path / "mean.tif"
    result = predict(tiny["models"][0], tiny["stack"], output, models=[tiny["models"][1]])
    assert result["uncertainty"] is None and os.listdir(tmp_path) == ["mean.tif"]

    other = make_model(tmp_path / "other.keras", "cnn", synthetic_data(shape=(40, 44))[:3],
                       patch=16, names=NAMES[:3], categorical=CATEGORICAL[:3], filters=[2, 2])
    target = tmp_path / "again.tif"
    with pytest.raises(InputError, match=r"Ensemble model 2 of 2 'other.keras'"):
        predict(tiny["models"][0], tiny["stack"], target, models=[other],
                uncertainty=str(tmp_path / "sd.tif"))
    assert not target.exists() and not (tmp_path / "sd.tif").exists()

    with pytest.raises(CancelledError):
        predict(tiny["models"][0], tiny["stack"], output, reporter=Reporter(cancel_after=1),
                models=[tiny["models"][1]], uncertainty=str(tmp_path / "sd.tif"),
                tile_size=16)
    assert sorted(os.listdir(tmp_path)) == ["mean.tif", "other.keras"]  # left as it was


# --- the QGIS side: styling and the algorithm -----------------------------------------

def test_uncertainty_style(qgis_app, tmp_path):
    from qgis.core import QgsRasterLayer, QgsSingleBandPseudoColorRenderer

    from landslide_susceptibility.algorithms.styling import (
        UNCERTAINTY_COLOURS,
        apply_style,
        sidecar_path,
        uncertainty_maximum,
        write_style_sidecar,
    )
    from landslide_susceptibility.core.raster_io import write_raster

    values = np.linspace(0.0, 0.12, 64, dtype=np.float32).reshape(8, 8)
    path = write_raster(str(tmp_path / "sd.tif"), values, (0, 10, 0, 0, 0, -10), 32617,
                        nodata=NODATA)
    dataset = gdal.Open(path, gdal.GA_Update)
    dataset.GetRasterBand(1).SetStatistics(0.0, 0.12, 0.06, 0.03)  # as the engine records
    dataset = None
    layer = QgsRasterLayer(path, "sd", "gdal")
    assert uncertainty_maximum(layer) == pytest.approx(0.15)
    assert apply_style(layer, "uncertainty")
    renderer = layer.renderer()
    assert isinstance(renderer, QgsSingleBandPseudoColorRenderer)
    assert (renderer.classificationMin(), renderer.classificationMax()) == (0.0, 0.15)
    function = renderer.shader().rasterShaderFunction()
    assert [i.color.name() for i in function.colorRampItemList()] == list(UNCERTAINTY_COLOURS)
    assert function.legendSettings().minimumLabel() == "0 (models agree)"
    assert function.legendSettings().maximumLabel() == "0.15 (models disagree)"
    assert write_style_sidecar(path, "uncertainty") == sidecar_path(path)
    plain = write_raster(str(tmp_path / "plain.tif"), values, (0, 10, 0, 0, 0, -10), 32617)
    assert uncertainty_maximum(QgsRasterLayer(plain, "plain", "gdal")) == 0.25


@pytest.mark.slow
def test_processing_algorithm_writes_both_maps(run_alg, tiny, tmp_path):
    from qgis.core import QgsProcessingException

    output, spread = str(tmp_path / "mean.tif"), str(tmp_path / "sd.tif")
    result = run_alg("landslide:predictsusceptibility",
                     {"MODEL": tiny["models"][0], "MODELS": [tiny["models"][1]],
                      "STACK": tiny["stack"], "OUTPUT": output, "UNCERTAINTY": spread})
    assert result["OUTPUT"] == output and result["UNCERTAINTY"] == spread
    reference = tmp_path / "reference"
    predict(tiny["models"][0], tiny["stack"], reference / "mean.tif",
            models=[tiny["models"][1]], uncertainty=str(reference / "sd.tif"))
    for name in ("mean.tif", "sd.tif"):
        np.testing.assert_allclose(_read(tmp_path / name)[0], _read(reference / name)[0],
                                   atol=1e-6)
    assert os.path.exists(str(tmp_path / "sd.qml"))
    single = run_alg("landslide:predictsusceptibility",
                     {"MODEL": tiny["models"][0], "STACK": tiny["stack"],
                      "OUTPUT": str(tmp_path / "single.tif")})
    assert not single.get("UNCERTAINTY")
    other = make_model(tmp_path / "p20.keras", "cnn", synthetic_data(shape=(40, 44)),
                       patch=20, filters=[2, 2])
    with pytest.raises(QgsProcessingException, match="'p20.keras'.*20 x 20 patches"):
        run_alg("landslide:predictsusceptibility",
                {"MODEL": tiny["models"][0], "MODELS": [other], "STACK": tiny["stack"],
                 "OUTPUT": str(tmp_path / "bad.tif")})
