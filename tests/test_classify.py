"""Susceptibility classes: core/class_*.py, the engine command ``classify``
(mapclassify) and landslide:classifysusceptibility."""

import math
import os
import re

import mapclassify
import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from landslide_susceptibility.core.class_counts import cell_area_km2
from landslide_susceptibility.core.class_raster import (
    classify_raster,
    summarize_raster,
    write_sample,
)
from landslide_susceptibility.core.class_report import write_report
from landslide_susceptibility.core.class_statistics import (
    CLASS_COLOURS,
    CLASS_NAMES,
    TABLE_COLUMNS,
    class_statistics,
    class_table,
    classify_values,
    parse_breaks,
    success_rate_curve,
    table_rows,
)
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.raster_io import read_raster, write_raster, write_vector
from landslide_susceptibility.engine.commands import classify as command
from landslide_susceptibility.engine.commands import run_command

pytestmark = pytest.mark.filterwarnings("ignore:Numba not installed")

GT = (500000.0, 10.0, 0.0, 4200000.0, 0.0, -10.0)
NODATA = -9999.0


def small_raster(path, array, nodata=NODATA, crs=32617, gt=GT, dtype=np.float32):
    return write_raster(str(path), np.asarray(array, dtype=dtype), gt, crs, nodata=nodata)


def random_raster(tmp_path, shape=(30, 30), seed=0, name="p.tif"):
    rng = np.random.default_rng(seed)
    values = rng.beta(2, 5, size=shape).astype(np.float32)
    values[0, :3] = NODATA
    return small_raster(tmp_path / name, values), values


# ------------------------------------------------------------------ statistics


def test_class_table_hand_computed():
    cells = [500, 200, 150, 100, 50]
    slides = [1, 2, 3, 4, 10]
    rows, stats = class_table(cells, slides, area_km2=[c * 1e-4 for c in cells])
    assert [r["name"] for r in rows] == ["Very low", "Low", "Moderate", "High", "Very high"]
    expect = {  # area share, landslide share, LD, FR, SCAI
        "area_share": [0.5, 0.2, 0.15, 0.1, 0.05],
        "landslide_share": [0.05, 0.1, 0.15, 0.2, 0.5],
        "ld": [0.002, 0.01, 0.02, 0.04, 0.2],
        "fr": [0.1, 0.5, 1.0, 2.0, 10.0],
        "scai": [10.0, 2.0, 1.0, 0.5, 0.1]}
    for key, values in expect.items():
        assert [r[key] for r in rows] == pytest.approx(values), key
    assert [r["area_km2"] for r in rows] == pytest.approx([0.05, 0.02, 0.015, 0.01, 0.005])
    assert stats["high_landslide_share"] == pytest.approx(0.7)
    assert stats["high_area_share"] == pytest.approx(0.15)
    assert stats["landslide_density"] == pytest.approx(0.02)
    assert stats["notes"] == []
    assert table_rows(rows)[4] == [5, "Very high", 50, pytest.approx(0.005), 0.05, 10,
                                   0.5, 0.2, 10.0, pytest.approx(0.1)]


def test_class_table_divisions_by_zero():
    rows, stats = class_table([10, 0, 5, 5, 0], [0, 0, 1, 3, 0])
    assert math.isnan(rows[1]["ld"]) and math.isnan(rows[1]["fr"])  # empty class
    assert math.isnan(rows[0]["scai"]) and rows[0]["fr"] == 0.0  # no landslides
    assert rows[3]["scai"] == pytest.approx(0.25 / 0.75)
    assert any("Empty classes (Low, Very high)" in note for note in stats["notes"])
    assert any("without landslides (Very low)" in note for note in stats["notes"])
    rows, stats = class_table([1, 2, 3, 4, 5])  # no inventory
    assert rows[0]["landslide_cells"] is None and math.isnan(rows[0]["fr"])
    assert math.isnan(stats["high_landslide_share"])


def test_success_rate_curve_hand_computed():
    # low bin: 2 cells, no landslide; high bin: 2 cells, both landslides.
    x, y, auc = success_rate_curve([2, 2], [0, 2])
    assert x.tolist() == [0.0, 0.5, 1.0] and y.tolist() == [0.0, 1.0, 1.0]
    assert auc == pytest.approx(0.75)
    _x, _y, auc = success_rate_curve([5, 5, 5, 5], [1, 1, 1, 1])
    assert auc == pytest.approx(0.5)
    _x, _y, auc = success_rate_curve([3, 0, 1], [0, 0, 1])
    assert auc == pytest.approx(0.5 * 0.25 + 0.75 * 1.0)  # empty bins are skipped
    assert math.isnan(success_rate_curve([1, 1], [0, 0])[2])


def test_classify_values_has_mapclassify_semantics():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.random(500), [0.2, 0.4, 0.6, 0.8]])
    classifier = mapclassify.UserDefined(values, [0.2, 0.4, 0.6, 0.8, 1.0])
    classes = classify_values(values, [0.2, 0.4, 0.6, 0.8])
    assert classes.dtype == np.uint8
    assert np.array_equal(classes - 1, classifier.yb)
    assert classify_values([0.2, 0.2000001, 0.8, 0.9], [0.2, 0.4, 0.6, 0.8]).tolist() == \
        [1, 2, 4, 5]


def test_cell_area_projected_and_geographic():
    areas, note = cell_area_km2(GT, _wkt(32617), 0, 3)
    assert areas.tolist() == pytest.approx([1e-4] * 3) and note == ""
    areas, note = cell_area_km2((0.0, 1.0, 0.0, 1.0, 0.0, -1.0), _wkt(4326), 0, 2)
    assert areas[0] == pytest.approx(12364, rel=2e-3)  # 1° x 1° at the equator
    assert areas[1] == pytest.approx(areas[0], rel=1e-3) and "geographic" in note


def _wkt(epsg):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    return srs.ExportToWkt()


# ------------------------------------------------------------------ breaks


def test_parse_breaks():
    assert parse_breaks("0.2,0.4,0.6,0.8") == [0.2, 0.4, 0.6, 0.8]
    assert parse_breaks(" 0.1; 0.2 0.3,0.9 ") == [0.1, 0.2, 0.3, 0.9]
    for text, message in [("", "BREAKS is empty"), ("0.2,0.4,0.6", "got 3"),
                          ("0.2,0.4,0.6,0.8,0.9", "got 5"),
                          ("0.2,0.6,0.4,0.8", "strictly increasing"),
                          ("0.2,0.4,0.4,0.8", "strictly increasing"),
                          ("a,b,c,d", "not a list of numbers"), ("0.1,0.2,0.3,nan", "finite")]:
        with pytest.raises(InputError, match=message):
            parse_breaks(text)


def test_summarize_raster_sample(tmp_path):
    path, values = random_raster(tmp_path, shape=(40, 50))
    valid = values[values != NODATA].astype(np.float64)
    summary = summarize_raster(path)
    assert summary.valid == valid.size and summary.sample_is_complete
    assert np.array_equal(np.sort(summary.sample), np.sort(valid))
    assert (summary.minimum, summary.maximum) == (valid.min(), valid.max())
    small = summarize_raster(path, sample_size=100, seed=4)
    again = summarize_raster(path, sample_size=100, seed=4)
    assert small.sample.size == 100 and not small.sample_is_complete
    assert np.array_equal(small.sample, again.sample)
    assert small.sample[0] == valid.min() and small.sample[-1] == valid.max()
    assert np.isin(small.sample, valid).all()
    assert not np.array_equal(summarize_raster(path, 100, seed=5).sample, small.sample)


def test_empty_and_constant_rasters(tmp_path):
    empty = small_raster(tmp_path / "empty.tif", np.full((5, 5), NODATA))
    with pytest.raises(InputError, match="is empty"):
        summarize_raster(empty)
    constant = small_raster(tmp_path / "constant.tif", np.full((5, 5), 0.3))
    with pytest.raises(InputError, match="one value only"):
        summarize_raster(constant)


@pytest.mark.parametrize("method, classifier", [
    ("quantile", mapclassify.Quantiles), ("equal_interval", mapclassify.EqualInterval),
    ("natural_breaks", mapclassify.FisherJenks)])
def test_engine_breaks_equal_mapclassify(tmp_path, method, classifier, fake_reporter):
    path, values = random_raster(tmp_path, shape=(25, 30))
    sample = write_sample(summarize_raster(path), str(tmp_path / "sample.npz"))
    result = run_command("classify", {"sample": sample, "method": method},
                         fake_reporter).to_json()
    expected = classifier(values[values != NODATA].astype(np.float64), k=5).bins
    assert result["breaks"] == pytest.approx(expected[:-1].tolist(), rel=1e-12)
    assert result["bins"][-1] == pytest.approx(float(values.max()))
    assert sum(result["counts"]) == values.size - 3


def test_engine_sampled_jenks_is_repeatable():
    values = np.random.default_rng(1).gamma(2.0, size=1500)
    breaks, classifier = command.compute_breaks(values, "natural_breaks", seed=3,
                                                jenks_sample=150)
    assert type(classifier).__name__ == "FisherJenksSampled" and classifier.yr_n == 150
    np.random.seed(3)
    direct = mapclassify.FisherJenksSampled(values, k=5, pct=0.1, truncate=False)
    assert breaks == pytest.approx(direct.bins[:-1].tolist())
    assert command.compute_breaks(values, "natural_breaks", seed=3, jenks_sample=150)[0] == \
        breaks


def test_engine_too_few_values():
    with pytest.raises(InputError, match="only 3 distinct values"):
        command.compute_breaks([0.1, 0.2, 0.3, 0.1, 0.2, 0.3], "quantile")
    with pytest.raises(InputError, match="instead of 5"):  # ties swallow quantiles
        command.compute_breaks([0.0] * 90 + [0.1, 0.2, 0.3, 0.4, 0.5], "quantile")


# ------------------------------------------------------------------ classification


def test_classify_raster_small_case(tmp_path):
    array = np.array([[0.05, 0.15, 0.35, NODATA],
                      [0.2, 0.45, 0.65, 0.85],
                      [0.9, 0.95, 0.1, 0.6]])
    # Float64: values equal to a break (0.2, 0.6) fall in the class below it.
    path = small_raster(tmp_path / "p.tif", array, dtype=np.float64)
    landslides = np.zeros(array.shape, bool)
    landslides[[0, 1, 2, 2], [3, 3, 0, 1]] = True  # one on nodata
    summary = summarize_raster(path)
    output = str(tmp_path / "classes.tif")
    counts = classify_raster(path, [0.2, 0.4, 0.6, 0.8], output, summary=summary,
                             landslides=landslides, method="manual")
    classes, gt, _wkt_text, nodata = read_raster(output)
    assert classes.tolist() == [[1, 1, 2, 0], [1, 3, 4, 5], [5, 5, 1, 3]]
    assert nodata == 0 and gt == GT
    assert counts.cells.tolist() == [4, 1, 2, 1, 3]
    assert counts.landslide_cells.tolist() == [0, 0, 0, 0, 3]
    assert counts.landslide_on_nodata == 1 and "1 landslide cells fall on nodata" in \
        counts.warnings[0]
    assert counts.area_km2.tolist() == pytest.approx([4e-4, 1e-4, 2e-4, 1e-4, 3e-4])
    assert counts.histogram.sum() == 11 and counts.landslide_histogram.sum() == 3
    dataset = gdal.Open(output)
    band = dataset.GetRasterBand(1)
    assert band.DataType == gdal.GDT_Byte
    # (GDAL 3.6 reads the .aux.xml on the first PAM access, not on GetCategoryNames.)
    assert band.GetDescription() == "susceptibility class"
    assert band.GetCategoryNames()[1:6] == list(CLASS_NAMES)
    table = band.GetRasterColorTable()
    assert table.GetColorEntry(1) == (0x1a, 0x98, 0x50, 255)
    assert table.GetColorEntry(5) == (0xd7, 0x30, 0x27, 255)
    assert table.GetColorEntry(0)[3] == 0
    assert dataset.GetMetadataItem("BREAKS") == "0.2,0.4,0.6,0.8"
    rows, stats = class_statistics(counts)
    assert rows[4]["ld"] == pytest.approx(1.0) and stats["high_landslide_share"] == 1.0
    assert stats["auc"] > 0.8
    assert [name for name in os.listdir(tmp_path) if "partial" in name] == []


def test_classify_raster_refuses_bad_output_and_keeps_old_file(tmp_path):
    path, _values = random_raster(tmp_path)
    with pytest.raises(InputError, match="GeoTIFF"):
        classify_raster(path, [0.2, 0.4, 0.6, 0.8], str(tmp_path / "c.img"))
    output = tmp_path / "c.tif"
    output.write_bytes(b"old")
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1

    from landslide_susceptibility.core.errors import CancelledError

    with pytest.raises(CancelledError):
        classify_raster(path, [0.2, 0.4, 0.6, 0.8], str(output), is_cancelled=cancel)
    assert output.read_bytes() == b"old"


def test_report_without_inventory(tmp_path):
    path, _values = random_raster(tmp_path)
    summary = summarize_raster(path)
    counts = classify_raster(path, [0.1, 0.2, 0.3, 0.4], str(tmp_path / "c.tif"),
                             summary=summary)
    rows, stats = class_statistics(counts)
    assert counts.landslide_cells is None and math.isnan(stats["auc"])
    report = write_report(str(tmp_path / "r.html"), rows, stats, counts, summary,
                          [0.1, 0.2, 0.3, 0.4], {"Method": "manual"})
    text = open(report, encoding="utf-8").read()
    assert "No landslide inventory" in text and "Success-rate curve" not in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 2  # histogram, map


# ------------------------------------------------------------------ Processing


def _read_table(path):
    dataset = ogr.Open(path.split("|")[0])
    layer = dataset.GetLayer(0)
    return [{name: feature.GetField(name) for name, _kind in TABLE_COLUMNS}
            for feature in layer]


def test_processing_quantile_on_sample_area(run_alg, sample_area, tmp_path):
    from qgis.core import (
        QgsPalettedRasterRenderer,
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProcessingOutputLayerDefinition,
        QgsProject,
        QgsRasterLayer,
    )

    files = sample_area["files"]
    output = str(tmp_path / "classes.tif")
    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    result = run_alg("landslide:classifysusceptibility", {
        "SUSCEPTIBILITY": files["true_probability"], "INVENTORY": files["landslides"],
        "METHOD": 1, "OUTPUT": QgsProcessingOutputLayerDefinition(output, project),
        "OUTPUT_TABLE": str(tmp_path / "classes.gpkg"),
        "OUTPUT_REPORT": str(tmp_path / "classes.html")}, context=context)
    probability, _gt, _wkt_text, nodata = read_raster(files["true_probability"])
    values = probability[probability != nodata].astype(np.float64)
    expected = mapclassify.Quantiles(values, k=5).bins[:-1]
    breaks = [float(b) for b in result["BREAKS_USED"].split(",")]
    assert breaks == pytest.approx(expected.tolist(), rel=1e-5)

    table = _read_table(result["OUTPUT_TABLE"])
    assert [row["class"] for row in table] == [1, 2, 3, 4, 5]
    assert sum(row["cells"] for row in table) == values.size
    assert [row["cells"] for row in table] == pytest.approx([values.size / 5] * 5, abs=2)
    lds = [row["ld"] for row in table]
    assert lds == sorted(lds) and lds[4] > 5 * lds[0]  # the true map ranks landslides
    assert sum(row["landslide_share"] for row in table) == pytest.approx(1.0)
    for row in table:
        assert row["fr"] == pytest.approx(row["landslide_share"] / row["area_share"])
        assert row["area_km2"] == pytest.approx(row["cells"] * 1e-4)
    assert result["HIGH_LANDSLIDE_SHARE"] == pytest.approx(
        (table[3]["landslide_cells"] + table[4]["landslide_cells"])
        / sum(row["landslide_cells"] for row in table))
    assert 0.8 < result["SUCCESS_AUC"] < 1.0
    text = open(result["OUTPUT_REPORT"], encoding="utf-8").read()
    assert "Success-rate curve" in text and "AUC" in text and "Very high" in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 4

    # The classes are styled when Processing loads the output ...
    assert context.willLoadLayerOnCompletion(output)
    details = context.layerToLoadOnCompletionDetails(output)
    assert details.postProcessor() is not None
    layer = QgsRasterLayer(output, "classes", "gdal")
    details.postProcessor().postProcessLayer(layer, context, QgsProcessingFeedback())
    _assert_classes_style(layer.renderer(), QgsPalettedRasterRenderer)
    # ... and by the .qml beside the file when a user opens it by hand.
    assert os.path.exists(str(tmp_path / "classes.qml"))
    by_hand = QgsRasterLayer(output, "by hand", "gdal")
    _assert_classes_style(by_hand.renderer(), QgsPalettedRasterRenderer)


def _assert_classes_style(renderer, kind):
    assert isinstance(renderer, kind)
    classes = renderer.classes()
    assert [c.value for c in classes] == [1, 2, 3, 4, 5]
    labels = [c.label for c in classes]  # 'Very low (≤ 0.2)': the name, then its range
    assert [label.split(' (')[0] for label in labels] == list(CLASS_NAMES)
    assert all('(' in label for label in labels)
    assert [c.color.name() for c in classes] == list(CLASS_COLOURS)


def test_processing_manual_without_inventory(run_alg, sample_area, tmp_path):
    result = run_alg("landslide:classifysusceptibility", {
        "SUSCEPTIBILITY": sample_area["files"]["true_probability"], "METHOD": 3,
        "BREAKS": "0.01, 0.05, 0.2, 0.5", "OUTPUT": str(tmp_path / "c.tif"),
        "OUTPUT_TABLE": str(tmp_path / "c.gpkg"), "OUTPUT_REPORT": str(tmp_path / "c.html")})
    assert result["BREAKS_USED"] == "0.01,0.05,0.2,0.5"
    assert result["SUCCESS_AUC"] is None and result["HIGH_LANDSLIDE_SHARE"] is None
    table = _read_table(result["OUTPUT_TABLE"])
    assert sum(row["cells"] for row in table) == 160 * 160
    assert all(row["landslide_cells"] is None and row["fr"] is None for row in table)


def test_processing_bad_input(run_alg, sample_area, tmp_path):
    from qgis.core import QgsProcessingException

    probability = sample_area["files"]["true_probability"]
    common = {"OUTPUT": str(tmp_path / "c.tif"), "OUTPUT_TABLE": "TEMPORARY_OUTPUT",
              "OUTPUT_REPORT": str(tmp_path / "c.html")}
    for breaks, message in [("0.2,0.4,0.6", "must be 4 values"),
                            ("0.4,0.2,0.6,0.8", "strictly increasing"),
                            ("", "BREAKS is empty")]:
        with pytest.raises(QgsProcessingException, match=message):
            run_alg("landslide:classifysusceptibility", {
                "SUSCEPTIBILITY": probability, "METHOD": 3, "BREAKS": breaks, **common})
    with pytest.raises(QgsProcessingException, match="must be a GeoTIFF"):
        run_alg("landslide:classifysusceptibility", {
            "SUSCEPTIBILITY": probability, "METHOD": 3, "BREAKS": "0.2,0.4,0.6,0.8",
            **common, "OUTPUT": str(tmp_path / "c.img")})
    empty = small_raster(tmp_path / "empty.tif", np.full((6, 6), NODATA))
    with pytest.raises(QgsProcessingException, match="is empty"):
        run_alg("landslide:classifysusceptibility", {
            "SUSCEPTIBILITY": empty, "METHOD": 3, "BREAKS": "1,2,3,4", **common})
    point = ogr.Geometry(ogr.wkbPoint)
    point.AddPoint_2D(0.0, 0.0)
    far = write_vector(str(tmp_path / "far.gpkg"), "slides", ogr.wkbPoint, 32617, [],
                       [(point, {})])
    with pytest.raises(QgsProcessingException, match="outside the susceptibility raster"):
        run_alg("landslide:classifysusceptibility", {
            "SUSCEPTIBILITY": probability, "INVENTORY": far, "METHOD": 3,
            "BREAKS": "0.2,0.4,0.6,0.8", **common})
    assert not os.path.exists(common["OUTPUT"]) and not os.path.exists(common["OUTPUT_REPORT"])
