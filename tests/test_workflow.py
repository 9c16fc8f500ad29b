"""The workflow models shipped with the provider (resources/models/*.model3):
registration, help, up-to-date generated files, runs from qgis_process.bin and
as the graphical modeler runs a model file, styled outputs; and bad input (an
inventory in another CRS, a model file from a newer plugin version)."""

import filecmp
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from osgeo import gdal, ogr

from landslide_susceptibility.core.model_card import CARD_NAME, CARD_VERSION, read_card
from landslide_susceptibility.core.stack import read_stack_info

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(REPO, "resources", "models")
WORKFLOW = "landslide:susceptibilityworkflow"
COMPARE = "landslide:compareworkflow"
FACTORS = ["dem", "slope", "distance_to_faults", "distance_to_rivers", "precipitation", "ndvi",
           "aspect", "lithology", "landuse"]
TINY = {"MODEL": 5, "PATCH_SIZE": 16, "SAMPLES_PER_CLASS": 60, "EPOCHS": 1, "SEED": 0,
        "SPLIT_METHOD": 0}


def _inputs(files, inventory=None):
    return {"DEM": files["dem"], "FAULTS": files["faults"], "RIVERS": files["rivers"],
            "LITHOLOGY": files["lithology"], "LITHOLOGY_FIELD": "unit",
            "LITHOLOGY_CELL_SIZE": 10.0, "LANDUSE": files["landuse"], "NDVI": files["ndvi"],
            "PRECIPITATION": files["precipitation"],
            "INVENTORY": inventory or files["landslides"]}


def _engine_or_skip():
    from landslide_susceptibility.algorithms.engine_runner import engine_problem, engine_python

    problem = engine_problem(engine_python())
    if problem:
        pytest.skip(problem)


def _reprojected(source, target, epsg=4326):
    gdal.VectorTranslate(str(target), str(source), dstSRS=f"EPSG:{epsg}", reproject=True,
                         format="GPKG")
    return str(target)


def _check_classes(path):
    data = gdal.Open(path).ReadAsArray()
    values = set(np.unique(data).tolist()) - {0}
    assert values <= {1, 2, 3, 4, 5} and len(values) >= 3, values


# -- registration, help, files --------------------------------------------------
def test_models_are_registered_under_the_provider(provider):
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    for algorithm_id, name in ((WORKFLOW, "Susceptibility workflow (factors to classes)"),
                               (COMPARE, "Compare all six architectures (workflow)")):
        model = registry.algorithmById(algorithm_id)
        assert model is not None, algorithm_id
        assert model.provider().id() == "landslide"
        assert model.displayName() == name
        assert model.group() == "0 · Workflows" and model.groupId() == "workflows"
        assert not model.icon().isNull()
        assert model.canExecute()[0], model.canExecute()
        for child in model.childAlgorithms().values():
            assert registry.algorithmById(child.algorithmId()) is not None, child.algorithmId()
        help_text = model.shortHelpString()
        for definition in model.parameterDefinitions():
            assert definition.description() in help_text, (algorithm_id, definition.name())
        assert model.helpUrl().startswith("file://") and \
            os.path.exists(model.helpUrl()[len("file://"):])
        instance = model.create()
        assert instance.id() == algorithm_id
        assert len(instance.destinationParameterDefinitions()) == \
            len(model.destinationParameterDefinitions()) > 0


def test_workflow_steps_and_outputs(provider):
    from qgis.core import QgsApplication

    model = QgsApplication.processingRegistry().algorithmById(WORKFLOW)
    steps = {child.algorithmId() for child in model.childAlgorithms().values()}
    assert {"landslide:deriveterrainfactors", "landslide:distancetofeatures", "gdal:rasterize",
            "landslide:alignfactors", "landslide:multicollinearity",
            "landslide:factorimportance", "landslide:buildsamples", "landslide:trainmodel",
            "landslide:predictsusceptibility", "landslide:classifysusceptibility"} <= steps
    inputs = {d.name() for d in model.parameterDefinitions() if not d.isDestination()}
    assert {"DEM", "FAULTS", "RIVERS", "LITHOLOGY", "LANDUSE", "NDVI", "PRECIPITATION",
            "INVENTORY", "MODEL", "PATCH_SIZE", "SAMPLES_PER_CLASS", "EPOCHS"} <= inputs
    model_choice = model.parameterDefinition("MODEL")
    assert model_choice.options()[model_choice.defaultValue()] == "CTLGNet"
    outputs = {d.name() for d in model.destinationParameterDefinitions()}
    assert outputs == {"ALIGN:STACK", "VIF:VIF_REPORT", "IMPORTANCE:IMPORTANCE_REPORT",
                       "SAMPLES:SAMPLES", "TRAIN:MODEL_FILE", "TRAIN:TEST_METRICS",
                       "TRAIN:TRAINING_REPORT", "PREDICT:PROBABILITY", "CLASSIFY:CLASSES",
                       "CLASSIFY:CLASS_TABLE", "CLASSIFY:CLASS_REPORT"}
    compare = QgsApplication.processingRegistry().algorithmById(COMPARE)
    steps = {child.algorithmId() for child in compare.childAlgorithms().values()}
    assert "landslide:comparemodels" in steps
    models = compare.parameterDefinition("MODELS")
    assert models.allowMultiple() and sorted(models.defaultValue()) == list(range(6))


@pytest.mark.parametrize("name", ["susceptibilityworkflow", "compareworkflow"])
def test_models_open_valid_in_the_modeler(provider, qgis_iface, monkeypatch, name):
    """The graphical modeler opens the file; the model validates (every step's
    required inputs connected) and its steps are drawn."""
    from processing.modeler.ModelerDialog import ModelerDialog
    from qgis.gui import QgsModelChildAlgorithmGraphicItem
    from qgis.PyQt.QtCore import QSize

    # The test iface's iconSize() wants an argument QGIS's does not.
    monkeypatch.setattr(qgis_iface, "iconSize", lambda docked=False: QSize(24, 24),
                        raising=False)

    dialog = ModelerDialog.create()
    try:
        assert dialog.loadModel(os.path.join(MODELS, f"{name}.model3")) is not False
        model = dialog.model()
        valid, errors = model.validate()
        assert valid, errors
        items = [item for item in dialog.view().scene().items()
                 if isinstance(item, QgsModelChildAlgorithmGraphicItem)]
        assert len(items) == len(model.childAlgorithms())
    finally:
        dialog.close()


def test_generated_files_are_up_to_date(tmp_path):
    """resources/models and resources/help are what tools/make_models.py and
    tools/make_help.py write now (rerun them after changing an algorithm)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for script, folder, committed in (("make_models.py", "models", MODELS),
                                      ("make_help.py", "help",
                                       os.path.join(REPO, "resources", "help"))):
        target = tmp_path / folder
        done = subprocess.run([sys.executable, os.path.join(REPO, "tools", script),
                               "--output", str(target)], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        names = sorted(os.listdir(target))
        assert names == sorted(n for n in os.listdir(committed) if not n.startswith(".")), \
            f"run tools/{script}"
        _match, mismatch, errors = filecmp.cmpfiles(target, committed, names, shallow=False)
        assert not mismatch and not errors, f"out of date: {mismatch + errors}; " \
                                            f"run tools/{script}"


# -- runs -----------------------------------------------------------------------
@pytest.mark.slow
def test_workflow_through_qgis_process(qgis_process, sample_area, tmp_path):
    """The model from qgis_process.bin on the sample area, tiny settings; outputs
    not given are temporary files."""
    _engine_or_skip()
    out = tmp_path
    params = dict(_inputs(sample_area["files"]), **TINY)
    params.update({"ALIGN:STACK": out / "stack.tif", "TRAIN:MODEL_FILE": out / "model.keras",
                   "PREDICT:PROBABILITY": out / "probability.tif",
                   "CLASSIFY:CLASSES": out / "classes.tif",
                   "CLASSIFY:CLASS_REPORT": out / "classes.html"})
    params.pop("LITHOLOGY_CELL_SIZE")  # left out: the model's default (10)
    results = qgis_process(WORKFLOW, params)["results"]
    for key in ("ALIGN:STACK", "TRAIN:MODEL_FILE", "PREDICT:PROBABILITY", "CLASSIFY:CLASSES",
                "CLASSIFY:CLASS_REPORT"):
        assert results[key] == str(params[key]) and os.path.exists(results[key]), key
    for key in ("VIF:VIF_REPORT", "IMPORTANCE:IMPORTANCE_REPORT", "TRAIN:TRAINING_REPORT",
                "SAMPLES:SAMPLES", "TRAIN:TEST_METRICS", "CLASSIFY:CLASS_TABLE"):
        assert results[key], key  # temporary outputs (removed when qgis_process exits)
    info = read_stack_info(str(out / "stack.tif"))
    assert info.names == FACTORS
    assert info.categorical == [False] * 6 + [True] * 3
    card = read_card(str(out / "model.keras"))
    assert card["model"] == "ctlgnet" and card["factors"] == FACTORS
    probability = gdal.Open(str(out / "probability.tif")).ReadAsArray()
    valid = probability[probability != -9999]
    assert valid.size and 0 <= valid.min() and valid.max() <= 1
    _check_classes(str(out / "classes.tif"))


def test_workflow_file_as_the_modeler_runs_it(provider, sample_area, tmp_path):
    """The .model3 file opened like the graphical modeler opens it and run with
    processing.run, the inventory in EPSG:4326 (the stack is in EPSG:32617);
    the outputs load into the project styled by the layer post-processors."""
    import processing
    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import (
        QgsCategorizedSymbolRenderer,
        QgsPalettedRasterRenderer,
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProcessingModelAlgorithm,
        QgsProcessingOutputLayerDefinition,
        QgsProject,
        QgsSingleBandPseudoColorRenderer,
    )

    _engine_or_skip()
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(os.path.join(MODELS, "susceptibilityworkflow.model3"))
    project = QgsProject.instance()
    project.removeAllMapLayers()
    inventory = _reprojected(sample_area["files"]["landslides"], tmp_path / "inventory.gpkg")
    params = dict(_inputs(sample_area["files"], inventory), **TINY)
    for definition in model.destinationParameterDefinitions():
        params[definition.name()] = "TEMPORARY_OUTPUT"
    loaded = {"CLASSIFY:CLASSES": "classes.tif", "PREDICT:PROBABILITY": "probability.tif",
              "SAMPLES:SAMPLES": "samples.gpkg"}
    for key, name in loaded.items():
        params[key] = QgsProcessingOutputLayerDefinition(str(tmp_path / name), project)
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    results = processing.run(model, params, context=context, feedback=feedback)
    _check_classes(results["CLASSIFY:CLASSES"])
    assert read_card(results["TRAIN:MODEL_FILE"])["factors"] == FACTORS
    try:
        assert handleAlgorithmResults(model, context, feedback, False, params)
        layers = {os.path.basename(layer.source().split("|")[0]): layer
                  for layer in project.mapLayers().values()}
        assert set(layers) == set(loaded.values())
        assert isinstance(layers["classes.tif"].renderer(), QgsPalettedRasterRenderer)
        assert [c.label for c in layers["classes.tif"].renderer().classes()] == [
            "Very low", "Low", "Moderate", "High", "Very high"]
        assert isinstance(layers["samples.gpkg"].renderer(), QgsCategorizedSymbolRenderer)
        assert isinstance(layers["probability.tif"].renderer(),
                          QgsSingleBandPseudoColorRenderer)
    finally:
        project.removeAllMapLayers()


def test_compare_workflow_registered_run(run_alg, sample_area, tmp_path):
    """The registered comparison model through processing.run: two architectures,
    tiny settings; inputs left out take their defaults, outputs left out are
    temporary."""
    _engine_or_skip()
    params = dict(_inputs(sample_area["files"]), MODELS=[0, 5], PATCH_SIZE=16,
                  SAMPLES_PER_CLASS=60, EPOCHS=1)
    params.pop("LITHOLOGY_CELL_SIZE")
    params["COMPARE:COMPARISON_REPORT"] = str(tmp_path / "comparison.html")
    params["COMPARE:MODELS_FOLDER"] = str(tmp_path / "models")
    results = run_alg(COMPARE, params)
    assert os.path.exists(tmp_path / "comparison.html")
    assert sorted(os.listdir(tmp_path / "models")) == ["cnn.html", "cnn.keras",
                                                        "ctlgnet.html", "ctlgnet.keras"]
    assert read_card(str(tmp_path / "models" / "ctlgnet.keras"))["factors"] == FACTORS
    assert results["ALIGN:STACK"] and results["COMPARE:COMPARISON_TABLE"]
    assert results["CHILD_RESULTS"]["COMPARE"]["BEST_MODEL"] in ("cnn", "ctlgnet")


# -- bad input ------------------------------------------------------------------
def test_buildsamples_with_inventory_in_another_crs(run_alg, small_stack, sample_area,
                                                    tmp_path):
    """The inventory reprojected to EPSG:4326 gives the samples of the original."""
    original = sample_area["files"]["landslides"]
    reprojected = _reprojected(original, tmp_path / "landslides_4326.gpkg")
    dataset = ogr.Open(reprojected)
    assert dataset.GetLayer(0).GetSpatialRef().GetAuthorityCode(None) == "4326"
    dataset = None
    outputs = {}
    for name, inventory in (("original", original), ("4326", reprojected)):
        target = str(tmp_path / f"samples_{name}.gpkg")
        result = run_alg("landslide:buildsamples", {
            "STACK": small_stack, "INVENTORY": inventory, "PATCH_SIZE": 16,
            "SAMPLES_PER_CLASS": 40, "SEED": 3, "OUTPUT": target})
        assert result["SAMPLE_COUNT"] == 80
        dataset = ogr.Open(target)
        outputs[name] = sorted((f["label"], f["row"], f["col"]) for f in dataset.GetLayer(0))
        dataset = None
    landslides = {(row, col) for label, row, col in outputs["original"] if label == 1}
    moved = {(row, col) for label, row, col in outputs["4326"] if label == 1}
    # Reprojection may move a polygon edge by a fraction of a cell: nearly all the
    # same landslide cells are drawn.
    assert len(landslides & moved) >= 0.8 * len(landslides)


def _newer_model(path):
    card = {"card_version": CARD_VERSION + 1, "plugin_version": "9.9.0", "model": "ctlgnet",
            "factors": ["dem"], "categorical": [False], "patch_size": 16}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr(CARD_NAME, json.dumps(card))
    return str(path)


@pytest.mark.parametrize("algorithm_id", ["landslide:evaluatemodel",
                                          "landslide:predictsusceptibility"])
def test_model_from_a_newer_plugin_version(run_alg, small_stack, small_samples, tmp_path,
                                           algorithm_id):
    from qgis.core import QgsProcessingException

    model = _newer_model(tmp_path / "newer.keras")
    params = {"MODEL": model, "STACK": small_stack}
    if algorithm_id == "landslide:evaluatemodel":
        params.update(SAMPLES=small_samples, OUTPUT_METRICS="TEMPORARY_OUTPUT",
                      OUTPUT_REPORT=str(tmp_path / "report.html"))
    else:
        params.update(OUTPUT=str(tmp_path / "probability.tif"))
    with pytest.raises(QgsProcessingException) as raised:
        run_alg(algorithm_id, params)
    message = str(raised.value)
    assert "newer version of the plugin" in message
    assert f"v{CARD_VERSION + 1}" in message and "9.9.0" in message
    assert "Update the plugin" in message
    assert not os.path.exists(tmp_path / "probability.tif")
    assert not os.path.exists(tmp_path / "report.html")
