"""VIF / tolerance (core/collinearity.py), the HTML report machinery (core/report.py)
and landslide:multicollinearity."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from landslide_susceptibility.core.align import align_factors
from landslide_susceptibility.core.collinearity import flags, multicollinearity, vif, write_report
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.raster_io import write_raster
from landslide_susceptibility.core.stack import read_stack_info, sample_pixels

ECUADOR_FACTORS = ["elev", "slope", "cplan", "cprof", "log10_carea"]


def statsmodels_vif(values):
    from statsmodels.stats.outliers_influence import variance_inflation_factor
    from statsmodels.tools.tools import add_constant

    design = add_constant(np.asarray(values, dtype=np.float64), has_constant="add")
    return np.array([variance_inflation_factor(design, j) for j in range(1, design.shape[1])])


def test_vif_equals_statsmodels_on_correlated_data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 5))
    x[:, 3] = 2 * x[:, 0] + x[:, 1] + rng.normal(scale=0.3, size=4000)
    x[:, 4] = 1000 * x[:, 4] + 5e4  # scale and offset do not matter
    ours = vif(x)
    assert np.abs(ours - statsmodels_vif(x)).max() < 1e-6
    assert ours[3] > 10 and flags(ours)[3] == "high"
    assert flags([1.0, 9.99, 10.0, np.nan]) == ["ok", "ok", "high", "constant"]


def test_vif_edge_cases():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    x[:, 2] = 7.0
    result = vif(x)
    assert np.isnan(result[2]) and np.all(np.isfinite(result[:2]))
    x[:, 2] = x[:, 0] - x[:, 1]  # exactly collinear
    assert np.all(np.isinf(vif(x)) | (vif(x) > 1e12))
    assert vif(x[:, :1])[0] == 1.0


@pytest.fixture(scope="module")
def ecuador_stack(ecuador, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ecuador_stack")
    return align_factors([str(ecuador / f"{name}.tif") for name in ECUADOR_FACTORS], [],
                         str(folder / "stack.tif"))["output"]


def test_vif_on_ecuador_equals_statsmodels(ecuador_stack):
    result = multicollinearity(ecuador_stack, sample_size=0, seed=0)
    assert result["factors"] == ECUADOR_FACTORS
    assert result["sample_size"] == result["valid_pixels"]  # 0 = all valid pixels
    info = read_stack_info(ecuador_stack)
    everything = sample_pixels(info, None).values
    assert np.abs(result["vif"] - statsmodels_vif(everything)).max() < 1e-6
    assert np.allclose(result["tol"], 1 / result["vif"])
    assert np.all(result["vif"] >= 1)


def test_sampling_is_reproducible(ecuador_stack):
    first = multicollinearity(ecuador_stack, sample_size=5000, seed=11)
    again = multicollinearity(ecuador_stack, sample_size=5000, seed=11)
    other = multicollinearity(ecuador_stack, sample_size=5000, seed=12)
    assert first["sample_size"] == 5000
    assert np.array_equal(first["vif"], again["vif"])
    assert not np.array_equal(first["vif"], other["vif"])


def test_plain_geotiff_works_with_a_warning(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.normal(size=(3, 20, 20)).astype(np.float32)
    path = str(tmp_path / "plain.tif")
    write_raster(path, data, (0, 10, 0, 200, 0, -10), 32617)
    result = multicollinearity(path, sample_size=0)
    assert result["factors"] == ["band_1", "band_2", "band_3"]
    assert any("no factor-stack metadata" in w for w in result["warnings"])
    report = write_report(result, str(tmp_path / "r.html"))
    assert "no factor-stack metadata" in open(report, encoding="utf-8").read()


def test_stack_errors(tmp_path):
    one = str(tmp_path / "one.tif")
    write_raster(one, np.ones((5, 5), np.float32), (0, 1, 0, 5, 0, -1), 32617)
    with pytest.raises(InputError, match="one.tif.*at least two"):
        multicollinearity(one)
    empty = str(tmp_path / "empty.tif")
    write_raster(empty, np.full((2, 5, 5), -9999, np.float32), (0, 1, 0, 5, 0, -1), 32617,
                 nodata=-9999)
    with pytest.raises(InputError, match="empty.tif.*no valid pixels"):
        multicollinearity(empty)
    with pytest.raises(InputError, match="missing.tif"):
        multicollinearity(str(tmp_path / "missing.tif"))


def test_report_is_self_contained(ecuador_stack, tmp_path):
    result = multicollinearity(ecuador_stack, sample_size=2000, seed=0)
    path = write_report(result, str(tmp_path / "vif.html"))
    text = open(path, encoding="utf-8").read()
    assert text.startswith("<!DOCTYPE html>")
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', text)) == 3
    assert not re.search(r'(src|href)="(?!data:)', text)  # no external files
    for expected in ("VIF ≥ 10", "TOL ≤ 0.1", "Correlation matrix", ecuador_stack,
                     "Inputs and settings", "elev"):
        assert expected in text


def test_report_machinery_does_not_load_qt():
    code = ("import sys, runpy; runpy.run_path(sys.argv[1])['register_package'](sys.argv[2]);"
            "from landslide_susceptibility.core.report import Report, bar_chart, heatmap;"
            "r = Report('t'); r.figure(bar_chart(['a', 'b'], [1.0, 12.0], threshold=10));"
            "r.figure(heatmap([[1, .5], [.5, 1]], ['a', 'b'])); html = r.html();"
            "bad = [m for m in sys.modules if m.startswith(('PyQt', 'matplotlib.pyplot',"
            " 'qgis', 'tensorflow'))]; print(bad); sys.exit(1 if bad else 0)")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code,
                           os.path.join(repo, "engine", "launcher.py"), repo],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_processing_on_sample_area_stack(run_alg, sample_area, tmp_path):
    files = sample_area["files"]
    stack = align_factors([files["dem"], files["precipitation"], files["ndvi"]],
                          [files["landuse"]], str(tmp_path / "stack.tif"))["output"]
    result = run_alg("landslide:multicollinearity", {
        "STACK": stack, "SAMPLE_SIZE": 5000, "SEED": 1,
        "OUTPUT_TABLE": str(tmp_path / "vif.gpkg"),
        "OUTPUT_REPORT": str(tmp_path / "vif.html")})
    assert os.path.exists(result["OUTPUT_REPORT"])
    table = _read_table(result["OUTPUT_TABLE"])
    assert [row["factor"] for row in table] == ["dem", "precipitation", "ndvi", "landuse"]
    for row in table:
        assert row["tol"] == pytest.approx(1 / row["vif"])
        assert row["flag"] == ("high" if row["vif"] >= 10 else "ok")
    assert result["MAX_VIF"] == pytest.approx(max(row["vif"] for row in table))


def test_processing_on_ecuador(run_alg, ecuador_stack, tmp_path):
    result = run_alg("landslide:multicollinearity", {
        "STACK": ecuador_stack, "SAMPLE_SIZE": 0,
        "OUTPUT_TABLE": str(tmp_path / "vif.csv"), "OUTPUT_REPORT": str(tmp_path / "r.html")})
    table = _read_table(result["OUTPUT_TABLE"])
    info = read_stack_info(ecuador_stack)
    expected = statsmodels_vif(sample_pixels(info, None).values)
    assert np.abs(np.array([row["vif"] for row in table]) - expected).max() < 1e-6


def test_processing_plain_geotiff_warns(run_alg, tmp_path):
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        warnings = []

        def pushWarning(self, text):
            self.warnings.append(text)

    rng = np.random.default_rng(2)
    path = str(tmp_path / "plain.tif")
    write_raster(path, rng.normal(size=(2, 10, 10)).astype(np.float32),
                 (0, 10, 0, 100, 0, -10), 32617)
    feedback = Recorder()
    run_alg("landslide:multicollinearity", {
        "STACK": path, "OUTPUT_TABLE": "TEMPORARY_OUTPUT",
        "OUTPUT_REPORT": str(tmp_path / "r.html")}, feedback=feedback)
    assert any("no factor-stack metadata" in w for w in feedback.warnings)


def test_through_qgis_process(qgis_process, ecuador_stack, tmp_path):
    payload = qgis_process("landslide:multicollinearity", {
        "STACK": ecuador_stack, "SAMPLE_SIZE": 3000, "SEED": 0,
        "OUTPUT_TABLE": tmp_path / "vif.gpkg", "OUTPUT_REPORT": tmp_path / "vif.html"})
    results = payload["results"]
    assert os.path.exists(results["OUTPUT_REPORT"])
    assert len(_read_table(results["OUTPUT_TABLE"])) == len(ECUADOR_FACTORS)


def _read_table(source):
    from osgeo import ogr

    path = source.split("|")[0]
    dataset = ogr.Open(path)
    assert dataset is not None, source
    layer = dataset.GetLayer(0)
    rows = []
    for feature in layer:
        row = {}
        for name in ("factor", "vif", "tol", "flag"):
            value = feature.GetField(name)
            row[name] = float(value) if name in ("vif", "tol") else value
        rows.append(row)
    return rows

