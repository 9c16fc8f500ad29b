"""Reports that read well (issue 18, item 8): the HTML reports and their figures
rendered from small synthetic inputs, checked for readable labels, units, the
rounding rule, and figure texts that neither overlap nor leave the axes."""

import base64
import html
import itertools
import math
import re
import types

import numpy as np
import pytest
from osgeo import osr

from landslide_susceptibility.core import class_figures, map_furniture
from landslide_susceptibility.core.class_counts import ClassCounts
from landslide_susceptibility.core.class_report import write_report as class_report
from landslide_susceptibility.core.class_statistics import class_points, class_statistics
from landslide_susceptibility.core.metric_names import (
    DECIMALS,
    METRIC_LONG_LABELS,
    format_number,
    metrics_table_rows,
    rounded,
)
from landslide_susceptibility.core.model_reports import (
    comparison_report,
    evaluation_report,
    training_report,
)
from landslide_susceptibility.core.report import bar_chart, renderer_of
from landslide_susceptibility.core.specs import ComparisonRow
from landslide_susceptibility.models import display_name

GT = (700000.0, 30.0, 0.0, 9800000.0, 0.0, -30.0)
METRICS = {"oa": 0.83125, "precision": 0.8, "recall": 0.875, "f1": 0.8358208955,
           "mcc": 0.6651, "kappa": 0.65999999999, "auc": 0.9123456, "rmse": 0.35,
           "mae": 0.2449, "brier": 0.1225}
RAW_KEYS = ("batch_size", "learning_rate", "label_smoothing", "best_epoch", "kept_by",
            "early_stopping_patience", "epochs_run", "hidden_dim", "n_estimators",
            "tensorflow", "samples_summary", "'adam'")


def utm_wkt():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    return srs.ExportToWkt()


def body_text(path):
    """The report's visible text: no style sheet, images as [IMG], cells as ' | '."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
    text = re.sub(r"<img[^>]*>", "[IMG]", text)
    text = re.sub(r"</t[dh]>", " | ", text)
    text = re.sub(r"</tr>|</p>|</h\d>|</figure>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def images(path):
    """The embedded PNGs of a report, decoded."""
    text = open(path, encoding="utf-8").read()
    return [base64.b64decode(data) for data in
            re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def table_row(text, first):
    """The cells of the table row that starts with ``first``."""
    line = next(line for line in text.splitlines() if line.startswith(f"{first} | "))
    return [cell.strip() for cell in line.split(" | ")]


def assert_readable(text):
    assert "{" not in text and "}" not in text, "a Python dict in the report"
    for key in RAW_KEYS:
        assert key not in text, f"raw key {key!r} in the report"


def overlap(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def inside(extent, box, slack=0.5):
    return (extent.x0 >= box.x0 - slack and extent.x1 <= box.x1 + slack
            and extent.y0 >= box.y0 - slack and extent.y1 <= box.y1 + slack)


# --- the rounding rule and the metrics tables -------------------------------------------

def test_one_rounding_rule_per_kind():
    assert DECIMALS["score"] == 3
    assert format_number(0.65999999, "score") == "0.660"
    assert format_number(-0.00001, "score") == "0.000"  # no "-0.000"
    assert format_number(12.3456, "percent") == f"{12.3456:.{DECIMALS['percent']}f}"
    assert format_number(1024.4, "count") == "1024"
    assert format_number(float("nan"), "ratio") == "–" and format_number(None, "ratio") == ""
    assert format_number(math.inf, "ratio") == "∞"
    assert rounded(0.65999999, "score") == 0.66 and rounded(7.6, "count") == 8
    assert math.isnan(rounded(math.nan, "score")) and rounded(None, "score") is None


def test_metrics_table_rows_have_display_names_rounded_values_and_codes():
    rows = metrics_table_rows(METRICS)
    assert [row[2] for row in rows] == list(METRICS)  # codes, in the registry's order
    names = {code: name for name, _value, code in rows}
    assert names["kappa"] == "Cohen's kappa" and names["oa"] == "Overall accuracy"
    values = {code: value for _name, value, code in rows}
    assert values["kappa"] == 0.66 and values["auc"] == 0.912
    assert all(value == round(value, 3) for value in values.values())


def test_processing_metrics_table_written_with_names(tmp_path):
    """``write_metrics_table`` (the Test metrics / Metrics outputs) through a stub
    sink: fields name, value, metric."""
    from landslide_susceptibility.algorithms.outputs import write_metrics_table

    written = []

    class Sink:
        def addFeature(self, feature, flags=None):  # noqa: N802 (QGIS's name)
            written.append(dict(zip(feature.fields().names(), feature.attributes(),
                                    strict=True)))
            return True

    class Algorithm:
        def parameterAsSink(self, parameters, key, context, fields, *args):  # noqa: N802
            return Sink(), "table-id"

    assert write_metrics_table(Algorithm(), {}, "OUTPUT_METRICS", None, METRICS) == "table-id"
    kappa = next(row for row in written if row["metric"] == "kappa")
    assert kappa == {"name": "Cohen's kappa", "value": 0.66, "metric": "kappa"}
    assert [row["name"] for row in written] == [METRIC_LONG_LABELS[c] for c in METRICS]


# --- model reports -------------------------------------------------------------------------

def network_card():
    return {
        "model": "ctlgnet", "parameters": 123456, "patch_size": 16,
        "factors": ["dem", "slope", "landuse"], "categorical": [False, False, True],
        "hparams": {"conv_filters": [16, 16, 32], "hidden_dim": 64, "num_heads": 4,
                    "dropout": 0.1},
        "training": {"epochs": 3, "epochs_run": 3, "best_epoch": 2,
                     "best_val_accuracy": 0.81234567, "kept_by": "val_accuracy",
                     "batch_size": 16, "learning_rate": 0.001, "optimizer": "adam",
                     "label_smoothing": 0.1, "augment": True, "early_stopping_patience": 0,
                     "seed": 3, "seconds": 12.3456},
        "data": {"train_samples": 200, "validation_samples": 50,
                 "samples_summary": {"leakage": 0.125}},
        "device": "CPU", "versions": {"tensorflow": "2.16.1", "keras": "3.3.3",
                                      "python": "3.11.2", "numpy": "1.26.4"},
        "created": "2025-01-01T10:00:00+0000", "plugin_version": "1.0"}


def test_training_report_reads_well(tmp_path):
    card = network_card()
    history = {"loss": [0.7, 0.6, 0.55], "val_loss": [0.72, 0.65, 0.66],
               "accuracy": [0.6, 0.7, 0.75], "val_accuracy": [0.6, 0.81, 0.8]}
    settings = {"stack": "/data/stack.tif", "samples": "/data/samples.gpkg",
                "model": "ctlgnet", "epochs": 3, "batch_size": 16, "learning_rate": 0.001,
                "optimizer": "adam", "label_smoothing": 0.1, "augment": True, "patience": 0,
                "selection": "val_accuracy", "seed": 3}
    path = training_report(str(tmp_path / "t.html"), card, history, METRICS,
                           ([0, 0.2, 1], [0, 0.8, 1]), [[40, 10], [7, 43]], settings)
    text = body_text(path)
    assert_readable(text)
    assert text.startswith("\nTraining report: CTLGNet")
    assert table_row(text, "Batch size")[1] == "16"
    assert table_row(text, "Optimizer")[1] == "Adam"
    assert table_row(text, "Model kept")[1] == "Best validation accuracy (paper)"
    assert table_row(text, "Model")[1] == "CTLGNet"
    assert table_row(text, "Validation accuracy of the epoch kept")[1] == "0.812"
    assert table_row(text, "Training time (s)")[1] == "12.3"
    assert table_row(text, "Convolution filters")[1] == "16, 16, 32"
    assert table_row(text, "TensorFlow")[1] == "2.16.1"
    for heading in ("Training curves", "Model card", "Hyper-parameters", "Versions",
                    "Data leakage"):
        assert f"{heading}\n" in text
    assert table_row(text, "Cohen's kappa")[1] == "0.660"
    assert table_row(text, "AUC (ROC)")[1] == "0.912"
    assert "12.50 % of test patches" in text
    pictures = images(path)
    assert len(pictures) == 3  # curves, ROC, confusion
    assert all(p.startswith(b"\x89PNG") and len(p) > 2000 for p in pictures)


def test_training_report_of_a_card_without_history(tmp_path):
    """A classical model: no epochs, no history; what the card holds is shown."""
    card = {"model": "random_forest", "factors": ["dem", "landuse"],
            "categorical": [False, True],
            "hparams": {"n_estimators": 300, "max_depth": None, "max_features": "sqrt",
                        "neighbourhood": False},
            "training": {"seed": 0, "seconds": 1.25},
            "versions": {"sklearn": "1.4.2", "python": "3.11.2"}}
    path = training_report(str(tmp_path / "rf.html"), card, None, METRICS, None, None,
                           {"model": "random_forest", "seed": 0})
    text = body_text(path)
    assert_readable(text)
    assert "Training curves" not in text and "Training report: Random forest" in text
    assert table_row(text, "Number of trees")[1] == "300"
    assert table_row(text, "Maximum depth")[1] == "none"
    assert table_row(text, "scikit-learn")[1] == "1.4.2"
    assert table_row(text, "Random seed")[1] == "0"
    assert images(path) == []


def test_evaluation_and_comparison_reports_read_well(tmp_path):
    path = evaluation_report(str(tmp_path / "e.html"), network_card(), METRICS,
                             ([0, 1], [0, 1]), [[1, 2], [3, 4]], "test",
                             {"model": "/m/ctlgnet.keras", "split": "test",
                              "samples evaluated": 100})
    text = body_text(path)
    assert_readable(text)
    assert table_row(text, "Split")[1] == "Test"
    assert table_row(text, "Samples evaluated")[1] == "100"
    rows = [ComparisonRow(model="cnn", metrics=METRICS, parameters=1000, flops=2_000_000,
                          seconds=3.21),
            ComparisonRow(model="ctlgnet", metrics=dict(METRICS, auc=0.95), parameters=2000,
                          flops=None, seconds=4.0)]
    path = comparison_report(str(tmp_path / "c.html"), rows, [], {"models": "cnn, ctlgnet",
                                                                 "epochs": 2})
    text = body_text(path)
    assert_readable(text)
    cnn_name = display_name("cnn")  # the registry's display name
    assert table_row(text, "Models")[1] == f"{cnn_name}, CTLGNet"
    cnn = table_row(text, cnn_name)
    assert cnn[1] == "0.831 ★"  # a tie: both starred
    assert cnn[7] == "0.912" and cnn[-4:-1] == ["1000", "2000000", "3.2"]
    assert table_row(text, "CTLGNet")[7] == "0.950 ★"


# --- figures --------------------------------------------------------------------------------

def test_success_rate_class_labels_do_not_overlap_and_stay_inside():
    """Classes of very different sizes: Low and Moderate limits close together,
    Very low at (1, 1), where labels next to the dots collided or left the plot."""
    x = np.linspace(0, 1, 101)
    y = 1 - (1 - x) ** 6
    points = ([0.01, 0.05, 0.90, 0.93, 1.0], [0.2, 0.5, 0.999, 0.9996, 1.0])
    fig = class_figures.curve_figure(x, y, 0.86, points)
    axes = fig.axes[0]
    renderer = renderer_of(fig)
    box = axes.get_window_extent(renderer)
    legend = axes.get_legend()
    texts = [t for t in legend.get_texts()] + [legend.get_title()]
    labels = [t.get_text() for t in legend.get_texts()]
    for name in ("Very high", "High", "Moderate", "Low", "Very low"):
        assert any(label.startswith(f"{name}: ") for label in labels), name
    assert "Very low: 100.00 % / 100.00 %" in labels and "success rate (AUC 0.860)" in labels
    extents = [t.get_window_extent(renderer) for t in texts]
    for a, b in itertools.combinations(extents, 2):
        assert not overlap(a, b)
    assert inside(legend.get_window_extent(renderer), box)
    for text in axes.texts:  # no free labels either, or inside the axes
        assert inside(text.get_window_extent(renderer), box)


@pytest.mark.parametrize("values, threshold", [
    ([0.05, 0.092, 0.099, 0.5, 0.97], 0.1),  # tolerance: short bars end at the line
    ([20.0, 10.8, 9.7, 2.0, 1.03], 10.0),  # VIF
])
def test_bar_value_labels_clear_the_threshold_line(values, threshold):
    fig = bar_chart(list("abcde"), values, threshold=threshold, kind="score",
                    threshold_label=f"TOL = {threshold:g}", flagged=[0, 1])
    axes = fig.axes[0]
    renderer = renderer_of(fig)
    box = axes.get_window_extent(renderer)
    line = axes.transData.transform((threshold, 0))[0]
    shown = {format_number(v, "score") for v in values}
    notes = [t for t in axes.texts if t.get_text() in shown]
    assert len(notes) == len(values)
    for note in notes:
        extent = note.get_window_extent(renderer)
        assert not extent.x0 - 1 < line < extent.x1 + 1, note.get_text()
        assert inside(extent, box), note.get_text()
    label = next(t for t in axes.texts if t.get_text().startswith("TOL ="))
    assert label.get_window_extent(renderer).y0 >= box.y1 - 1  # above the plot


def test_scale_bar_and_north_arrow():
    preview = np.tile(np.arange(6, dtype=np.uint8), (40, 7))[:, :40]
    fig = class_figures.map_figure(preview, 3, GT, utm_wkt())
    axes = fig.axes[0]
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert "N" in texts
    assert "CRS: WGS 84 / UTM zone 17S (EPSG:32717)" in texts
    # 40 columns of 3 cells of 30 m: 3600 m wide; a quarter is 900 m -> 500 m
    assert "500 m" in texts
    assert axes.get_xlim() == (700000.0, 703600.0) and axes.get_ylim() == (9796400.0, 9800000.0)
    assert axes.get_xlabel() == "easting (m)" and axes.get_ylabel() == "northing (m)"


def test_map_frame_and_round_lengths():
    assert [map_furniture.nice_length(v) for v in (0.7, 9, 999, 1000, 4999, 25000)] == \
        [0.5, 5, 500, 1000, 2000, 20000]
    assert map_furniture.length_text(2000) == "2 km" and map_furniture.length_text(500) == "500 m"
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    frame = map_furniture.map_frame((-80.0, 0.001, 0, 0.0, 0, -0.001), srs.ExportToWkt(),
                                    100, 200)
    assert frame.geographic and frame.extent == pytest.approx((-80.0, -79.8, -0.1, 0.0))
    assert frame.metres_per_unit == pytest.approx(111_320 * math.cos(math.radians(-0.05)))
    assert map_furniture.map_frame((0, 1, 0.5, 0, 0.5, -1), "", 10, 10) is None  # rotated
    assert map_furniture.map_frame(GT, "", 10, 10).crs_name.startswith("no CRS")


# --- the classes report ---------------------------------------------------------------------

def synthetic_counts():
    """Counts of 20,000 cells whose landslides favour high values, a 40 x 40 preview."""
    rng = np.random.default_rng(0)
    values = rng.beta(1.2, 6, 20_000)
    slides = rng.random(values.size) < values ** 2 * 0.5
    histogram = np.histogram(values, 10_000, (0, 1))[0]
    landslide_histogram = np.histogram(values[slides], 10_000, (0, 1))[0]
    classes = np.searchsorted([0.1, 0.2, 0.3, 0.5], values) + 1
    cells = np.bincount(classes, minlength=6)[1:]
    return ClassCounts(cells=cells, area_km2=cells * 0.0009,
                       landslide_cells=np.bincount(classes[slides], minlength=6)[1:],
                       landslide_on_nodata=0, histogram=histogram,
                       landslide_histogram=landslide_histogram,
                       preview=classes[:1600].reshape(40, 40).astype(np.uint8),
                       preview_step=1)


def test_classes_report_units_and_pictures(tmp_path):
    counts = synthetic_counts()
    rows, stats = class_statistics(counts)
    raster = types.SimpleNamespace(minimum=0.0, maximum=1.0, valid=20_000, geotransform=GT,
                                   crs_wkt=utm_wkt())
    path = class_report(str(tmp_path / "classes.html"), rows, stats, counts, raster,
                        [0.1, 0.2, 0.3, 0.5], {"Method": "Manual breaks"})
    text = body_text(path)
    header = table_row(text, "Class")
    assert "LD (% of class area)" in header and "Area share (%)" in header
    ld_column = header.index("LD (% of class area)")
    for row in rows:
        cells = table_row(text, str(row["class"]))
        expected = 100 * row["landslide_cells"] / row["cells"]
        assert cells[ld_column] == format_number(expected, "percent")
        assert cells[header.index("FR")] == format_number(row["fr"], "ratio")
        assert cells[header.index("Cells")] == str(row["cells"])
    assert "as the paper defines it: landslide area of the class / area of the class" in text
    assert f"Area under the success-rate curve (AUC): {format_number(stats['auc'], 'score')}." \
        in text
    pictures = images(path)
    assert len(pictures) == 4  # LD, success rate, histogram, map
    assert all(p.startswith(b"\x89PNG") and len(p) > 3000 for p in pictures)
    points = class_points(rows)
    assert len(points[0]) == 5
