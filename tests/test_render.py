"""Results on the map, headless: the classified layer styled by the algorithm's
layer post-processor when Processing loads it, rendered with
QgsMapRendererParallelJob (tools/screenshot.py) to a PNG that shows the five
class colours; the probability ramp likewise."""

import importlib.util
import os

import numpy as np
import pytest
from osgeo import gdal

from landslide_susceptibility.core.class_statistics import CLASS_COLOURS, CLASS_NAMES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _screenshot_module():
    spec = importlib.util.spec_from_file_location(
        "landslide_screenshot", os.path.join(REPO, "tools", "screenshot.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def screenshot():
    return _screenshot_module()


def quantile_breaks(path):
    data = gdal.Open(path).ReadAsArray().astype(float)
    valid = data[np.isfinite(data) & (data >= 0)]
    return ",".join(f"{value:.6f}" for value in np.quantile(valid, [0.2, 0.4, 0.6, 0.8]))


@pytest.fixture
def loaded_classes(run_alg, sample_area, tmp_path):
    """Classify the true probability (manual quantile breaks: five full classes)
    with the output loaded on completion, as the toolbox does; return the layer
    Processing put into the project."""
    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import (
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProcessingOutputLayerDefinition,
        QgsProject,
    )

    project = QgsProject.instance()
    project.removeAllMapLayers()
    probability = sample_area["files"]["true_probability"]
    target = str(tmp_path / "classes.tif")
    params = {"SUSCEPTIBILITY": probability, "INVENTORY": sample_area["files"]["landslides"],
              "METHOD": 3, "BREAKS": quantile_breaks(probability),
              "OUTPUT": QgsProcessingOutputLayerDefinition(target, project),
              "OUTPUT_TABLE": "TEMPORARY_OUTPUT",
              "OUTPUT_REPORT": str(tmp_path / "classes.html")}
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    algorithm_id = "landslide:classifysusceptibility"
    run_alg(algorithm_id, params, feedback=feedback, context=context)
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    assert handleAlgorithmResults(algorithm, context, feedback, False, params)
    layers = [layer for layer in project.mapLayers().values() if layer.source() == target]
    assert len(layers) == 1
    yield layers[0]
    project.removeAllMapLayers()


def test_classes_load_styled(loaded_classes):
    from qgis.core import QgsPalettedRasterRenderer

    renderer = loaded_classes.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    labels = [c.label for c in renderer.classes()]  # 'Very low (≤ 0.2)': the name, then its range
    assert [label.split(' (')[0] for label in labels] == list(CLASS_NAMES)
    assert all('(' in label for label in labels)
    assert [c.color.name() for c in renderer.classes()] == list(CLASS_COLOURS)


def test_render_five_classes_to_png(loaded_classes, screenshot, tmp_path, sample_area):
    from qgis.PyQt.QtGui import QImage

    path = str(tmp_path / "classes_map.png")
    inventory = screenshot.styled_layer(sample_area["files"]["landslides"], "inventory")
    image = screenshot.render_layers([inventory, loaded_classes], path, width=480)
    assert os.path.getsize(path) > 1000
    reloaded = QImage(path)
    assert reloaded.width() == 480 and reloaded.height() == image.height() > 0
    counts = screenshot.colour_counts(reloaded, CLASS_COLOURS)
    total = reloaded.width() * reloaded.height()
    for colour, count in counts.items():  # quantile breaks: about a fifth each
        assert count > 0.08 * total, (colour, count, total)
    assert sum(counts.values()) > 0.85 * total  # the rest: landslide outlines
    black = screenshot.colour_counts(reloaded, ["#000000"])["#000000"]
    assert black > 0  # the inventory's outlines are drawn on top


def test_render_probability_ramp(screenshot, sample_area, tmp_path):
    from qgis.PyQt.QtGui import QColor, QImage

    layer = screenshot.styled_layer(sample_area["files"]["true_probability"], "probability")
    path = str(tmp_path / "probability_map.png")
    screenshot.render_layers([layer], path, width=320)
    image = QImage(path)
    data = gdal.Open(sample_area["files"]["true_probability"]).ReadAsArray()
    rows, cols = data.shape
    low = np.unravel_index(np.argmin(data), data.shape)
    high = np.unravel_index(np.argmax(data), data.shape)

    def pixel(cell):
        x = int((cell[1] + 0.5) * image.width() / cols)
        y = int((cell[0] + 0.5) * image.height() / rows)
        return QColor(image.pixel(x, y))

    low_colour, high_colour = pixel(low), pixel(high)
    assert low_colour.green() > low_colour.red()  # low probability: green
    assert high_colour.red() > high_colour.green()  # high probability: red
    colours = {image.pixel(x, y) for x in range(0, image.width(), 4)
               for y in range(0, image.height(), 4)}
    assert len(colours) > 50  # a continuous ramp, not five classes


def test_headless_screenshots_of_a_demo_folder(screenshot, sample_area, tmp_path, run_alg):
    """tools/screenshot.py finds the results in an output folder and writes the
    headless images (make demo runs it)."""
    out = tmp_path / "demo"
    (out / "sample_area").mkdir(parents=True)
    probability = sample_area["files"]["true_probability"]
    gdal.Translate(str(out / "susceptibility.tif"), probability)
    run_alg("landslide:classifysusceptibility", {
        "SUSCEPTIBILITY": str(out / "susceptibility.tif"), "METHOD": 3,
        "BREAKS": quantile_breaks(probability), "OUTPUT": str(out / "susceptibility_classes.tif"),
        "OUTPUT_TABLE": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": str(out / "classes.html")})
    found = screenshot.find_outputs(str(out))
    assert found["classes"] == str(out / "susceptibility_classes.tif")
    assert found["probability"] == str(out / "susceptibility.tif")
    assert screenshot.main(["--output", str(out), "--no-desktop"]) == 0
    for name in ("classes_map.png", "probability_map.png"):
        assert os.path.getsize(out / "screenshots" / name) > 1000
