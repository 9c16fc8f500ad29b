"""The synthetic study area (core/sample_area.py and the core/synthetic_*.py modules it
uses) and the numpy AUC (core/roc.py): pure numpy + GDAL, no QGIS."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from landslide_susceptibility.core.errors import CancelledError, InputError
from landslide_susceptibility.core.raster_io import rasterize, read_raster
from landslide_susceptibility.core.roc import auc
from landslide_susceptibility.core.sample_area import FILE_NAMES, create_sample_area
from landslide_susceptibility.core.synthetic_factors import LANDUSE_CLASSES, LITHOLOGY_NAMES

RASTERS = ("dem", "landuse", "ndvi", "precipitation", "true_probability")
VECTORS = ("rivers", "faults", "lithology", "landslides")
SIZE = 150


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    return create_sample_area(str(tmp_path_factory.mktemp("area")), seed=5, size=SIZE)


def _epsg(wkt):
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.AutoIdentifyEPSG()
    return int(srs.GetAuthorityCode(None))


def _features(path):
    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    names = [layer.GetLayerDefn().GetFieldDefn(i).GetName()
             for i in range(layer.GetLayerDefn().GetFieldCount())]
    rows = [(f.GetGeometryRef().ExportToWkt(), tuple(f.GetField(n) for n in names))
            for f in layer]
    return layer.GetName(), ogr.GeometryTypeToName(layer.GetGeomType()), names, rows


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path, area):
    again = create_sample_area(str(tmp_path / "again"), seed=5, size=SIZE)
    for key in RASTERS:
        first, gt1, wkt1, nodata1 = read_raster(area["files"][key])
        second, gt2, wkt2, nodata2 = read_raster(again["files"][key])
        assert first.dtype == second.dtype
        assert np.array_equal(first, second), key
        assert (gt1, wkt1, nodata1) == (gt2, wkt2, nodata2), key
    for key in VECTORS:
        assert _features(area["files"][key]) == _features(again["files"][key]), key
    assert again["true_auc"] == area["true_auc"]
    assert again["coefficients"] == area["coefficients"]

    other = create_sample_area(str(tmp_path / "other"), seed=6, size=SIZE)
    assert not np.array_equal(read_raster(area["files"]["dem"])[0],
                              read_raster(other["files"]["dem"])[0])


def test_files_listed_and_nothing_else_left(area):
    files = area["files"]
    assert set(files) == set(FILE_NAMES)
    folder = os.path.dirname(files["dem"])
    for key, path in files.items():
        assert os.path.isabs(path) and os.path.isfile(path), key
    assert sorted(os.listdir(folder)) == sorted(os.path.basename(p) for p in files.values())
    with open(files["metadata"], encoding="utf-8") as handle:
        meta = json.load(handle)
    assert meta["seed"] == 5 and meta["size"] == SIZE and meta["crs"] == "EPSG:32617"
    assert meta["landslide_count"] == area["landslide_count"]
    assert meta["files"] == files
    assert meta["coefficients"]["slope"] > 0 > meta["coefficients"]["distance_to_river"]


def test_main_grid_rasters(area):
    cell = area["cell_size"]
    for key in ("dem", "landuse", "true_probability"):
        array, gt, wkt, _ = read_raster(area["files"][key])
        assert array.shape == (SIZE, SIZE), key
        assert gt == tuple(area["geotransform"]) and gt[1] == cell and gt[5] == -cell, key
        assert _epsg(wkt) == 32617, key

    dem, _, _, nodata = read_raster(area["files"]["dem"])
    assert dem.dtype == np.float32 and nodata == -9999
    assert 150 < np.ptp(dem) < 3000  # hundreds of metres of relief

    landuse, _, _, nodata = read_raster(area["files"]["landuse"])
    assert landuse.dtype == np.uint8 and nodata == 0
    assert set(np.unique(landuse)) <= set(LANDUSE_CLASSES)
    assert {2, 5} <= set(np.unique(landuse))  # forest, and water along rivers

    probability = read_raster(area["files"]["true_probability"])[0]
    assert probability.dtype == np.float32
    assert 0 < probability.min() and probability.max() < 1
    assert 0.005 < probability.mean() < 0.05  # landslides are rare


def test_ndvi_in_geographic_crs(area):
    ndvi, gt, wkt, nodata = read_raster(area["files"]["ndvi"])
    assert _epsg(wkt) == 4326
    assert ndvi.dtype == np.float32
    valid = ndvi[ndvi != nodata]
    assert valid.size > 0.8 * SIZE * SIZE
    assert -1 <= valid.min() and valid.max() <= 1
    # about the same ground resolution as the main grid
    assert gt[1] * 111320 * np.cos(np.radians(gt[3])) == pytest.approx(area["cell_size"],
                                                                       rel=0.1)
    assert -gt[5] * 110574 == pytest.approx(area["cell_size"], rel=0.1)


def test_precipitation_is_coarse_and_rises_with_elevation(area):
    rain, gt, wkt, nodata = read_raster(area["files"]["precipitation"])
    main = area["geotransform"]
    assert _epsg(wkt) == 32617
    assert gt[1] >= 5 * main[1]
    # covers the main extent
    assert gt[0] <= main[0] and gt[3] >= main[3]
    assert gt[0] + rain.shape[1] * gt[1] >= main[0] + SIZE * main[1]
    assert gt[3] + rain.shape[0] * gt[5] <= main[3] + SIZE * main[5]
    assert 800 < rain.min() and rain.max() < 1600
    dem = read_raster(area["files"]["dem"])[0]
    on_main = gdal.Warp("", area["files"]["precipitation"], format="MEM",
                        outputBounds=(main[0], main[3] - SIZE * main[1],
                                      main[0] + SIZE * main[1], main[3]),
                        width=SIZE, height=SIZE, resampleAlg="bilinear").ReadAsArray()
    assert np.corrcoef(on_main.ravel(), dem.ravel())[0, 1] > 0.5


def test_vector_layers(area):
    files = area["files"]
    name, geometry, fields, rows = _features(files["rivers"])
    assert name == "rivers" and geometry == "Line String" and rows
    assert "accumulation" in fields and all(r[1][fields.index("accumulation")] > 0 for r in rows)

    name, geometry, fields, rows = _features(files["faults"])
    assert name == "faults" and geometry == "Line String"
    assert 2 <= len({r[1][fields.index("id")] for r in rows}) <= 5

    name, geometry, fields, rows = _features(files["lithology"])
    assert name == "lithology" and geometry == "Polygon"
    units = {r[1][fields.index("unit")]: r[1][fields.index("name")] for r in rows}
    assert 4 <= len(units) <= 6
    assert sorted(units) == list(range(1, len(units) + 1))
    assert all(units[u] == LITHOLOGY_NAMES[u - 1] for u in units)
    covered = rasterize(files["lithology"], (SIZE, SIZE), area["geotransform"], area["crs"],
                        attribute="unit")
    assert covered.min() >= 1  # the polygons tile the whole area

    name, geometry, fields, rows = _features(files["landslides"])
    assert name == "landslides" and geometry == "Polygon"
    assert len(rows) == area["landslide_count"] >= 10
    for wkt, values in rows:
        polygon = ogr.CreateGeometryFromWkt(wkt)
        assert polygon.IsValid()
        assert values[fields.index("area_m2")] == pytest.approx(polygon.GetArea(), abs=0.01)


def test_landslides_follow_the_truth(area):
    from sklearn.metrics import roc_auc_score

    probability = read_raster(area["files"]["true_probability"])[0]
    inventory = rasterize(area["files"]["landslides"], (SIZE, SIZE), area["geotransform"],
                          area["crs"]).astype(bool)
    assert 0 < inventory.mean() < 0.1
    reference = roc_auc_score(inventory.ravel(), probability.ravel())
    assert reference > 0.8
    assert auc(inventory, probability) == pytest.approx(reference, abs=1e-9)
    assert area["true_auc"] == pytest.approx(reference, abs=1e-9)


def test_auc_handles_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 500).astype(np.float32)
    labels = rng.random(500) < 0.3
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def _calls_in_a_run(folder, **kwargs):
    count = [0]

    def counting():
        count[0] += 1
        return False

    create_sample_area(str(folder), is_cancelled=counting, **kwargs)
    return count[0]


def _cancel_at(stop_at):
    calls = [0]

    def cancel():
        calls[0] += 1
        return calls[0] >= stop_at

    return cancel


def test_cancel_raises_and_leaves_nothing(tmp_path):
    total = _calls_in_a_run(tmp_path / "count", seed=1, size=128)
    assert total >= 8  # checked between steps at least
    for stop_at in sorted({1, 2, total // 2, total - 1, total}):
        folder = tmp_path / f"cancel_{stop_at}"
        folder.mkdir()
        (folder / "keep.txt").write_text("mine")
        with pytest.raises(CancelledError):
            create_sample_area(str(folder), seed=1, size=128, is_cancelled=_cancel_at(stop_at))
        assert sorted(os.listdir(folder)) == ["keep.txt"], stop_at


def test_cancel_at_the_end_keeps_an_earlier_sample_area(tmp_path):
    total = _calls_in_a_run(tmp_path / "count", seed=3, size=96)
    first = create_sample_area(str(tmp_path / "area"), seed=2, size=96)
    before = {key: open(path, "rb").read() for key, path in first["files"].items()}
    with pytest.raises(CancelledError):
        create_sample_area(str(tmp_path / "area"), seed=3, size=96,
                           is_cancelled=_cancel_at(total))
    after = {key: open(path, "rb").read() for key, path in first["files"].items()}
    assert after == before
    assert sorted(os.listdir(tmp_path / "area")) == sorted(FILE_NAMES.values())


def test_rerun_replaces_own_files_but_not_foreign_ones(tmp_path):
    create_sample_area(str(tmp_path / "ours"), seed=2, size=96)
    again = create_sample_area(str(tmp_path / "ours"), seed=3, size=100)
    assert read_raster(again["files"]["dem"])[0].shape == (100, 100)

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "dem.tif").write_bytes(b"not ours")
    with pytest.raises(InputError, match="dem.tif"):
        create_sample_area(str(foreign), seed=2, size=96)
    assert (foreign / "dem.tif").read_bytes() == b"not ours"
    assert os.listdir(foreign) == ["dem.tif"]


@pytest.mark.parametrize("size", [63, 20001, 0, -5, 100.5, "big", None])
def test_bad_size_raises(tmp_path, size):
    with pytest.raises(InputError, match="SIZE"):
        create_sample_area(str(tmp_path), size=size)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"seed": 1.5}, {"cell_size": 0},
                                    {"cell_size": float("nan")}])
def test_bad_seed_or_cell_size_raises(tmp_path, kwargs):
    with pytest.raises(InputError):
        create_sample_area(str(tmp_path), size=64, **kwargs)


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="folder"):
        create_sample_area(str(blocker / "area"), size=64)


def test_other_cell_size(tmp_path):
    info = create_sample_area(str(tmp_path), seed=4, size=96, cell_size=30.0)
    dem, gt, _, _ = read_raster(info["files"]["dem"])
    assert gt[1] == 30.0 and dem.shape == (96, 96)
    assert read_raster(info["files"]["precipitation"])[1][1] == 300.0


@pytest.mark.slow
def test_large_area_time_and_memory(tmp_path):
    """size=2000 (4 M cells) in a child process: time and peak memory stay modest."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = textwrap.dedent(f"""
        import json, resource, runpy, time
        runpy.run_path({os.path.join(repo, "engine", "launcher.py")!r})["register_package"](
            {repo!r})
        from landslide_susceptibility.core.sample_area import create_sample_area
        start = time.perf_counter()
        info = create_sample_area({str(tmp_path)!r}, seed=1, size=2000)
        print(json.dumps({{"seconds": time.perf_counter() - start,
                          "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                          "landslides": info["landslide_count"],
                          "auc": info["true_auc"]}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(result)
    assert result["seconds"] < 120
    assert result["peak_mb"] < 2000
    assert result["landslides"] >= 1000
    assert result["auc"] > 0.8


# ---------------------------------------------------------------- the context truth


@pytest.fixture(scope="module")
def context_area(tmp_path_factory):
    """The area of ``area`` (same seed and size) under the neighbourhood-context truth."""
    return create_sample_area(str(tmp_path_factory.mktemp("context")), seed=5, size=SIZE,
                              truth="context")


def test_context_truth_same_factors_other_truth_recorded(area, context_area):
    for key in ("dem", "landuse", "ndvi", "precipitation"):
        assert np.array_equal(read_raster(area["files"][key])[0],
                              read_raster(context_area["files"][key])[0]), key
    for key in ("rivers", "faults", "lithology"):
        assert _features(area["files"][key]) == _features(context_area["files"][key]), key
    pixel = read_raster(area["files"]["true_probability"])[0]
    context = read_raster(context_area["files"]["true_probability"])[0]
    assert np.corrcoef(pixel.ravel(), context.ravel())[0, 1] < 0.9
    assert 0.005 < context.mean() < 0.05 and 0 < context.min() and context.max() < 1
    assert area["truth"] == "pixel" and context_area["truth"] == "context"
    with open(context_area["files"]["metadata"], encoding="utf-8") as handle:
        meta = json.load(handle)
    assert meta["truth"] == "context"
    assert set(meta["context_variables"]) <= set(meta["coefficients"])
    assert "slope" not in meta["coefficients"]
    dataset = gdal.Open(context_area["files"]["true_probability"])
    assert dataset.GetMetadataItem("TRUTH") == "context"
    assert "context" in dataset.GetRasterBand(1).GetDescription()
    assert gdal.Open(area["files"]["true_probability"]).GetMetadataItem("TRUTH") == "pixel"
    assert context_area["true_auc"] > 0.75  # the landslides follow it


def test_context_truth_is_deterministic_for_a_seed(tmp_path, context_area):
    again = create_sample_area(str(tmp_path), seed=5, size=SIZE, truth="context")
    for key in ("true_probability", "dem"):
        assert np.array_equal(read_raster(context_area["files"][key])[0],
                              read_raster(again["files"][key])[0]), key
    assert _features(context_area["files"]["landslides"]) == \
        _features(again["files"]["landslides"])
    assert again["coefficients"] == context_area["coefficients"]


def test_bad_truth_raises(tmp_path):
    with pytest.raises(InputError, match="TRUTH"):
        create_sample_area(str(tmp_path), size=64, truth="patch")
    assert os.listdir(tmp_path) == []


def _pixel_factors(info):
    """The nine factors on the main grid, as a user would align them (continuous ones
    as a dict, lithology and land use one-hot)."""
    from landslide_susceptibility.core.raster_io import proximity
    from landslide_susceptibility.core.synthetic_terrain import slope_aspect

    files, gt, crs = info["files"], tuple(info["geotransform"]), info["crs"]
    shape = (SIZE, SIZE)
    dem = read_raster(files["dem"])[0].astype(np.float32)
    slope, aspect = slope_aspect(dem, gt)
    bounds = (gt[0], gt[3] - SIZE * gt[1], gt[0] + SIZE * gt[1], gt[3])

    def warped(path):
        return gdal.Warp("", path, format="MEM", outputBounds=bounds, width=SIZE, height=SIZE,
                         dstSRS=crs, resampleAlg="bilinear").ReadAsArray().astype(np.float32)

    def distance(path):
        return proximity(rasterize(path, shape, gt, crs, all_touched=True), gt, crs)

    continuous = {"elevation": dem, "slope": slope, "aspect": np.where(
        aspect >= 0, np.cos(np.radians(aspect - 200)), 0).astype(np.float32),
        "rivers": distance(files["rivers"]), "faults": distance(files["faults"]),
        "ndvi": warped(files["ndvi"]), "precipitation": warped(files["precipitation"])}
    classes = [rasterize(files["lithology"], shape, gt, crs, attribute="unit"),
               read_raster(files["landuse"])[0]]
    one_hot = [(c == value).astype(np.float32) for c in classes for value in np.unique(c)]
    return continuous, one_hot


def _window_statistics(values, radius):
    """Mean and standard deviation over the (2 radius + 1) square window, edges
    replicated (summed-area tables)."""
    width = 2 * radius + 1
    padded = np.pad(values.astype(np.float64), radius, mode="edge")
    padded -= padded.mean()

    def window_mean(a):
        table = np.pad(a.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        return (table[width:, width:] - table[:-width, width:] - table[width:, :-width]
                + table[:-width, :-width]) / width ** 2

    mean = window_mean(padded)
    return mean, np.sqrt(np.maximum(window_mean(padded * padded) - mean * mean, 0))


def _expected_auc(columns, probability):
    """Held-out AUC (a random half of the cells) of a logistic regression on ``columns``
    against labels drawn from ``probability``: each cell counts as a landslide with
    weight p and as none with weight 1 - p, the expectation over all draws."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    x = np.stack([c.ravel() for c in columns], axis=1)
    p = probability.ravel().astype(np.float64)
    half = np.random.default_rng(0).random(p.size) < 0.5

    def doubled(rows):
        return (np.r_[x[rows], x[rows]], np.r_[np.ones(rows.sum()), np.zeros(rows.sum())],
                np.r_[p[rows], 1 - p[rows]])

    (x_fit, y_fit, w_fit), (x_test, y_test, w_test) = doubled(half), doubled(~half)
    scaler = StandardScaler().fit(x_fit)
    model = LogisticRegression(solver="newton-cholesky", max_iter=100)
    model.fit(scaler.transform(x_fit), y_fit, sample_weight=w_fit)
    return roc_auc_score(y_test, model.decision_function(scaler.transform(x_test)),
                         sample_weight=w_test)


def test_context_truth_is_not_recoverable_from_pixel_factors(area, context_area):
    """Under the context truth a logistic regression on the centre pixel's factors
    falls clearly behind one that also sees window statistics (mean and sd within
    150 m); under the pixel truth the windows add nothing."""
    scores = {}
    for name, info in (("pixel", area), ("context", context_area)):
        continuous, one_hot = _pixel_factors(info)
        centre = list(continuous.values()) + one_hot
        windows = [s for v in continuous.values() for s in _window_statistics(v, 15)]
        probability = read_raster(info["files"]["true_probability"])[0]
        scores[name] = (_expected_auc(centre, probability),
                        _expected_auc(centre + windows, probability))
    print(scores)
    pixel_model, window_model = scores["context"]
    assert window_model - pixel_model > 0.03
    assert abs(scores["pixel"][1] - scores["pixel"][0]) < 0.01
    assert scores["pixel"][0] > 0.9
