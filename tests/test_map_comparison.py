"""Map-level comparison (``landslide:comparemaps``): the statistics inside historical
landslides against numpy written here, LD and success rate against an independent
computation, Spearman against scipy, maps on other grids, bad inventories, and the
report's pictures."""

import base64
import re

import numpy as np
import pytest
from osgeo import gdal, ogr

from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.map_comparison import (
    TABLE_COLUMNS,
    compare_maps,
    raster_in_landslide_statistics,
    spearman_matrix,
)
from landslide_susceptibility.core.raster_io import write_raster, write_vector

GT = (500000.0, 10.0, 0.0, 4200000.0, 0.0, -10.0)
CRS = 32617
NODATA = -9999.0
BREAKS = [0.2, 0.4, 0.6, 0.8]


def manual(_summary, _name):
    return BREAKS


def _raster(path, array, gt=GT, nodata=NODATA):
    write_raster(str(path), np.asarray(array, np.float32), gt, CRS, nodata=nodata)
    return str(path)


def _field(seed=1, shape=(30, 40)):
    """Random values with a nodata border row and one nodata cell."""
    values = np.random.default_rng(seed).random(shape).astype(np.float32)
    values[0:2] = NODATA
    values[4, 6] = NODATA
    return values


def _slides():
    """Three landslides apart (8-neighbourhood), and a fourth on nodata only."""
    slides = np.zeros((30, 40), np.int64)
    slides[3:7, 4:9] = 1
    slides[15:18, 20:26] = 2
    slides[25, 30] = 3
    slides[1, 10] = 4
    return slides


def _describe(values):
    values = np.asarray(values, np.float64)
    median = np.median(values)
    return {"mean": values.mean(), "median": median, "sd": values.std(),
            "mad": np.median(np.abs(values - median))}


def test_in_landslide_statistics_equal_numpy(tmp_path):
    values, slides = _field(), _slides()
    path = _raster(tmp_path / "a.tif", values)
    inventory = _raster(tmp_path / "slides.tif", (slides > 0).astype(np.float32), nodata=None)
    found = compare_maps([path], ["a"], inventory, manual).maps[0].inside

    valid = (slides > 0) & (values != NODATA)
    means = [values[(slides == k) & valid].astype(np.float64).mean() for k in (1, 2, 3)]
    assert found["cells"] == valid.sum()
    assert found["landslides"] == 3  # the one on nodata has no value
    for key, expected in _describe(values[valid]).items():
        assert found["cell"][key] == pytest.approx(expected, rel=1e-6)
    for key, expected in _describe(means).items():
        assert found["slide"][key] == pytest.approx(expected, rel=1e-6)
    alone = raster_in_landslide_statistics(path, slides > 0)
    assert alone["cell"] == pytest.approx(found["cell"]) and alone["landslides"] is None


def test_polygons_are_the_landslides(tmp_path):
    """Two touching polygons are two landslides (connected cells would be one)."""
    values = _field(seed=2)
    path = _raster(tmp_path / "a.tif", values)
    boxes = [(3, 7, 4, 9), (3, 7, 9, 12)]  # rows, cols (end exclusive): they touch
    features = []
    for index, (r0, r1, c0, c1) in enumerate(boxes, start=1):
        x0, x1 = GT[0] + c0 * GT[1], GT[0] + c1 * GT[1]
        y0, y1 = GT[3] + r0 * GT[5], GT[3] + r1 * GT[5]
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)):
            ring.AddPoint_2D(x, y)
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        features.append((polygon, {"id": index}))
    inventory = str(tmp_path / "slides.gpkg")
    write_vector(inventory, "slides", ogr.wkbPolygon, CRS, [("id", ogr.OFTInteger)], features)
    comparison = compare_maps([path], ["a"], inventory, manual)
    assert comparison.landslides == 2 and comparison.landslides_are == "polygons"
    means = []
    for r0, r1, c0, c1 in boxes:
        box = values[r0:r1, c0:c1]
        means.append(box[box != NODATA].astype(np.float64).mean())
    assert comparison.maps[0].inside["slide"]["mean"] == pytest.approx(np.mean(means))


def _success_auc(values, landslide):
    """Cells ranked from the highest value down: area share against landslide share."""
    order = np.argsort(-values, kind="stable")
    x = np.concatenate([[0.0], np.arange(1, values.size + 1) / values.size])
    y = np.concatenate([[0.0], np.cumsum(landslide[order]) / landslide.sum()])
    return np.trapz(y, x)


def test_ld_and_success_rate_equal_an_independent_computation(tmp_path):
    values, slides = _field(seed=3), _slides()
    values[(slides > 0) & (values != NODATA)] **= 0.3  # landslides on higher values
    values[values != NODATA] **= 6  # crowded near 0, as most maps are
    path = _raster(tmp_path / "a.tif", values)
    inventory = _raster(tmp_path / "slides.tif", (slides > 0).astype(np.float32), nodata=None)
    result = compare_maps([path], ["a"], inventory, manual).maps[0]

    valid = values != NODATA
    landslide = (slides > 0)[valid]
    classes = np.searchsorted(BREAKS, values[valid].astype(np.float64), side="left")
    for index, row in enumerate(result.rows):
        cells = classes == index
        assert row["ld"] == pytest.approx(landslide[cells].sum() / cells.sum())
    assert result.stats["auc"] == pytest.approx(_success_auc(values[valid], landslide),
                                                abs=1e-3)
    assert result.table_row()[[n for n, _ in TABLE_COLUMNS].index("very_high_area_share")] \
        == pytest.approx((classes == 4).mean())


def _average_ranks(values):
    """1-based ranks, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse]


def test_spearman_equals_pearson_of_average_ranks():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 20, 500).astype(float)  # ties
    data = np.column_stack([a, a + rng.normal(0, 5, 500), rng.random(500)])
    expected = np.corrcoef(np.column_stack([_average_ranks(c) for c in data.T]).T)
    assert spearman_matrix(data) == pytest.approx(expected, abs=1e-12)


def test_a_map_on_another_grid_is_resampled_onto_the_first(tmp_path):
    values, slides = _field(seed=5), _slides()
    first = _raster(tmp_path / "a.tif", values)
    wider = np.pad(values, 3, constant_values=0.5)  # 3 more cells on every side
    second = _raster(tmp_path / "b.tif", wider, gt=(GT[0] - 30, 10.0, 0.0, GT[3] + 30, 0.0,
                                                    -10.0))
    inventory = _raster(tmp_path / "slides.tif", (slides > 0).astype(np.float32), nodata=None)
    notes = []
    comparison = compare_maps([first, second], ["a", "b"], inventory, manual, log=notes.append)
    assert any("'b' is on another grid" in note and "resampled" in note for note in notes)
    a, b = comparison.maps
    assert b.resampled and not a.resampled
    assert b.inside["cell"] == pytest.approx(a.inside["cell"], rel=1e-5)
    assert comparison.spearman[0, 1] == pytest.approx(1.0)


def test_maps_that_cannot_be_aligned_are_refused(tmp_path):
    values, slides = _field(seed=6), _slides()
    first = _raster(tmp_path / "a.tif", values)
    inventory = _raster(tmp_path / "slides.tif", (slides > 0).astype(np.float32), nodata=None)
    far = _raster(tmp_path / "far.tif", values, gt=(900000.0, 10.0, 0.0, 100000.0, 0.0, -10.0))
    with pytest.raises(InputError, match="'far'.*another area"):
        compare_maps([first, far], ["a", "far"], inventory, manual)
    bare = str(tmp_path / "bare.tif")
    dataset = gdal.GetDriverByName("GTiff").Create(bare, 40, 30, 1, gdal.GDT_Float32)
    dataset.GetRasterBand(1).WriteArray(values)
    dataset = None
    with pytest.raises(InputError, match="'bare'.*no georeferencing"):
        compare_maps([first, bare], ["a", "bare"], inventory, manual)


def test_an_inventory_with_no_landslide_on_any_map_is_refused(tmp_path):
    values = _field(seed=7)
    first = _raster(tmp_path / "a.tif", values)
    second = _raster(tmp_path / "b.tif", np.where(values == NODATA, NODATA, values ** 2))
    only_nodata = np.zeros(values.shape, np.float32)
    only_nodata[0, 5:9] = 1  # row 0 is nodata in both maps
    inventory = _raster(tmp_path / "slides.tif", only_nodata, nodata=None)
    with pytest.raises(InputError, match="any of the susceptibility maps"):
        compare_maps([first, second], ["a", "b"], inventory, manual)
    outside = _raster(tmp_path / "outside.tif", np.ones((5, 5), np.float32),
                      gt=(900000.0, 10.0, 0.0, 100000.0, 0.0, -10.0), nodata=None)
    with pytest.raises(InputError, match="outside"):
        compare_maps([first], ["a"], outside, manual)


def _images(html):
    return [base64.b64decode(data) for data in
            re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_processing_compares_maps_of_the_sample_area(run_alg, sample_area, tmp_path):
    files = sample_area["files"]
    truth = gdal.Open(files["true_probability"])
    values = truth.GetRasterBand(1).ReadAsArray()
    noisy = np.clip(values + np.random.default_rng(0).normal(0, 0.05, values.shape), 0, 1)
    blurred = _raster(tmp_path / "noisy.tif", noisy, gt=truth.GetGeoTransform())
    check = str(tmp_path / "check.gpkg")  # every second landslide, as a validation inventory
    gdal.VectorTranslate(check, files["landslides"], where="id % 2 = 0")
    result = run_alg("landslide:comparemaps", {
        "MAPS": [files["true_probability"], blurred], "INVENTORY": files["landslides"],
        "VALIDATION_INVENTORY": check, "METHOD": 3, "BREAKS": "0.01,0.02,0.05,0.1",
        "OUTPUT_TABLE": str(tmp_path / "maps.csv"),
        "OUTPUT_REPORT": str(tmp_path / "maps.html")})
    layer = ogr.Open(result["OUTPUT_TABLE"])
    rows = {f.GetField("map"): f for f in layer.GetLayer(0)}
    assert set(rows) == {"true_probability", "noisy"}
    assert int(rows["true_probability"].GetField("landslides")) == \
        sample_area["landslide_count"]
    assert 0.5 < float(rows["noisy"].GetField("prediction_auc")) < 1.0
    assert result["BEST_MAP"] == "true_probability"
    images = _images(open(result["OUTPUT_REPORT"], encoding="utf-8").read())
    assert len(images) == 4  # maps, LD bars, curves, Spearman
    assert all(image.startswith(b"\x89PNG") and len(image) > 5000 for image in images)


def test_classification_report_shows_the_in_landslide_statistics(run_alg, tmp_path):
    values, slides = _field(seed=9), _slides()
    path = _raster(tmp_path / "a.tif", values)
    inventory = _raster(tmp_path / "slides.tif", (slides > 0).astype(np.float32), nodata=None)
    result = run_alg("landslide:classifysusceptibility", {
        "SUSCEPTIBILITY": path, "INVENTORY": inventory, "METHOD": 3,
        "BREAKS": ",".join(map(str, BREAKS)), "OUTPUT": str(tmp_path / "classes.tif"),
        "OUTPUT_TABLE": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": str(tmp_path / "classes.html")})
    text = open(result["OUTPUT_REPORT"], encoding="utf-8").read()
    assert "Susceptibility inside the landslides" in text
    valid = (slides > 0) & (values != NODATA)
    assert f"{values[valid].astype(np.float64).mean():.4g}" in text


@pytest.mark.slow
def test_processing_natural_breaks_for_every_map(run_alg, sample_area, tmp_path):
    """The automatic class method: mapclassify's breaks from the engine, per map."""
    files = sample_area["files"]
    truth = gdal.Open(files["true_probability"])
    squared = _raster(tmp_path / "squared.tif", truth.GetRasterBand(1).ReadAsArray() ** 2,
                      gt=truth.GetGeoTransform())
    result = run_alg("landslide:comparemaps", {
        "MAPS": [files["true_probability"], squared], "INVENTORY": files["landslides"],
        "METHOD": 0, "OUTPUT_TABLE": str(tmp_path / "maps.csv"),
        "OUTPUT_REPORT": str(tmp_path / "maps.html")})
    table = ogr.Open(result["OUTPUT_TABLE"])
    rows = {f.GetField("map"): f for f in table.GetLayer(0)}
    # a monotone transform ranks the cells alike: the same success rate
    assert float(rows["squared"].GetField("success_auc")) == pytest.approx(
        float(rows["true_probability"].GetField("success_auc")), abs=0.01)
