"""QGIS desktop under Xvfb with the plugin enabled (tools/screenshot.py): it
opens the results styled, shows the plugin's menu and toolbox group, and saves
a screenshot of the canvas with the five-class map and of the Train and workflow
dialogs (Advanced parameters folded)."""

import importlib.util
import os
import shutil

import numpy as np
import pytest
from osgeo import gdal

from landslide_susceptibility.core.class_statistics import CLASS_COLOURS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("xvfb-run") is None or shutil.which("qgis") is None,
                       reason="QGIS desktop and Xvfb are needed"),
]


def quantile_breaks(path):
    data = gdal.Open(path).ReadAsArray().astype(float)
    return ",".join(f"{v:.6f}" for v in np.quantile(data[data >= 0], [0.2, 0.4, 0.6, 0.8]))


def test_desktop_screenshot_of_the_five_classes(run_alg, sample_area, tmp_path):
    from qgis.PyQt.QtGui import QImage

    from landslide_susceptibility.gui.menu import ENTRIES

    spec = importlib.util.spec_from_file_location(
        "landslide_screenshot", os.path.join(REPO, "tools", "screenshot.py"))
    screenshot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshot)

    out = tmp_path / "demo_output"
    (out / "sample_area").mkdir(parents=True)
    probability = sample_area["files"]["true_probability"]
    classes = str(out / "susceptibility_classes.tif")
    run_alg("landslide:classifysusceptibility", {
        "SUSCEPTIBILITY": probability, "METHOD": 3,
        "BREAKS": quantile_breaks(probability), "OUTPUT": classes,
        "OUTPUT_TABLE": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": str(out / "classes.html")})
    outputs = {"classes": classes, "inventory": sample_area["files"]["landslides"]}
    folder = str(out / "screenshots")
    status = screenshot.desktop(outputs, folder, width=1280, height=800, timeout=240)

    assert status["plugin_loaded"], status
    assert status["menu"] == [entry[1] for entry in ENTRIES]
    toolbox = [line.strip() for line in status["toolbox"]]
    assert toolbox[0] == "Landslide susceptibility"
    assert {"0 · Workflows", "Susceptibility workflow (factors to classes)",
            "4 · Susceptibility maps", "4.2 Classify susceptibility", "Check engine"} <= \
        set(toolbox)
    assert set(status["layers"]) == {"Susceptibility classes", "Landslide inventory"}
    for name in ("qgis_canvas.png", "qgis_window.png"):
        image = QImage(os.path.join(folder, name))
        assert not image.isNull() and image.width() > 400, name
        counts = screenshot.colour_counts(image, CLASS_COLOURS)
        area = image.width() * image.height()
        assert all(count > 0.01 * area for count in counts.values()), (name, counts)
    train = status["dialogs"]["landslide:trainmodel"]
    assert train["title"] == "3.1 Train landslide model" and train["advanced_collapsed"]
    assert {"LEARNING_RATE", "OPTIMIZER", "SEED"} <= set(train["advanced"])
    assert {"STACK", "SAMPLES", "MODEL", "EPOCHS", "OUTPUT_MODEL"} <= set(train["shown"])
    workflow = status["dialogs"]["landslide:susceptibilityworkflow"]
    assert {"DEM", "INVENTORY", "OUTPUT_CLASSES"} <= set(workflow["shown"])
    for dialog in (train, workflow):
        image = QImage(dialog["image"])
        assert (image.width(), image.height()) == tuple(dialog["size"]), dialog
