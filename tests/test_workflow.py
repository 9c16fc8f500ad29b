"""The workflows: ``landslide:susceptibilityworkflow`` (a Python algorithm that
runs the provider's steps with the factors the user has) and the models shipped
with the provider (resources/models/*.model3: the paper's nine-factor layout to
edit in the graphical modeler, and the comparison of the six architectures):
parameters, registration, help, the modeler's view, up-to-date generated
files, runs from qgis_process.bin and through Processing with styled outputs;
and bad input (an inventory in another CRS, a model file from a newer plugin
version)."""

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
PAPER = "landslide:paperworkflow"
COMPARE = "landslide:compareworkflow"
FACTORS = ["dem", "slope", "distance_to_faults", "distance_to_rivers", "precipitation", "ndvi",
           "aspect", "lithology", "landuse"]
TINY = {"MODEL": 5, "PATCH_SIZE": 16, "SAMPLES_PER_CLASS": 60, "EPOCHS": 1, "SEED": 0,
        "SPLIT_METHOD": 0}
# The Python workflow's outputs, in the order it writes them.
WORKFLOW_OUTPUTS = [
    ("OUTPUT_STACK", "Factor stack"), ("OUTPUT_VIF_REPORT", "Multicollinearity report"),
    ("OUTPUT_IMPORTANCE_REPORT", "Factor importance report"), ("OUTPUT_SAMPLES", "Samples"),
    ("OUTPUT_MODEL", "Trained model"), ("OUTPUT_METRICS", "Test metrics"),
    ("OUTPUT_TRAINING_REPORT", "Training report"),
    ("OUTPUT_PROBABILITY", "Susceptibility (probability)"),
    ("OUTPUT_CLASSES", "Susceptibility classes"), ("OUTPUT_CLASS_TABLE", "Class statistics"),
    ("OUTPUT_CLASS_REPORT", "Classification report")]
FACTOR_INPUTS = ["DISTANCE_LAYERS", "CONTINUOUS_FACTORS", "CATEGORICAL_FACTORS", "LITHOLOGY",
                 "LITHOLOGY_FIELD", "LITHOLOGY_CELL_SIZE"]
# The settings the workflow shares with its steps: (key, step).
STEP_SETTINGS = [("INVENTORY", "landslide:buildsamples"), ("MODEL", "landslide:trainmodel"),
                 ("PATCH_SIZE", "landslide:buildsamples"),
                 ("SAMPLES_PER_CLASS", "landslide:buildsamples"),
                 ("SPLIT_METHOD", "landslide:buildsamples"),
                 ("BLOCK_SIZE", "landslide:buildsamples"), ("EPOCHS", "landslide:trainmodel"),
                 ("SEED", "landslide:trainmodel"), ("OUTPUT_MODEL", "landslide:trainmodel")]
# The paper's model: outputs named for people, sorted as the steps run
# (QGIS orders a model's outputs by "<step id>:<output name>").
PAPER_OUTPUTS = ["2_ALIGN:Factor stack", "3_VIF:Multicollinearity report",
                 "4_IMPORTANCE:Factor importance report", "5_SAMPLES:Samples",
                 "6_TRAIN:Test metrics", "6_TRAIN:Trained model", "6_TRAIN:Training report",
                 "7_PREDICT:Susceptibility (probability)", "8_CLASSIFY:Class statistics",
                 "8_CLASSIFY:Classification report", "8_CLASSIFY:Susceptibility classes"]


def _inputs(files, inventory=None):
    """The paper model's inputs: the nine factors of the sample area."""
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


def _registry():
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry()


def _optional(definition):
    from qgis.core import QgsProcessingParameterDefinition

    return bool(definition.flags() & QgsProcessingParameterDefinition.FlagOptional)


# -- the Python workflow: parameters ---------------------------------------------
def test_workflow_takes_the_factors_the_user_has(provider):
    """Only the DEM and the inventory are required; any number of distance
    layers, continuous and categorical rasters; lithology polygons optional."""
    from qgis.core import (
        QgsProcessing,
        QgsProcessingModelAlgorithm,
        QgsProcessingParameterMultipleLayers,
    )

    workflow = _registry().algorithmById(WORKFLOW)
    assert workflow is not None and not isinstance(workflow, QgsProcessingModelAlgorithm)
    assert workflow.displayName() == "Susceptibility workflow (factors to classes)"
    assert workflow.group() == "0 · Workflows" and workflow.groupId() == "workflows"
    inputs = [d for d in workflow.parameterDefinitions() if not d.isDestination()]
    required = {d.name() for d in inputs if not _optional(d) and d.defaultValue() is None}
    assert required == {"DEM", "INVENTORY"}
    for key in FACTOR_INPUTS:
        assert _optional(workflow.parameterDefinition(key)), key
    layer_types = {key: workflow.parameterDefinition(key).layerType()
                   for key in FACTOR_INPUTS[:3]}
    assert layer_types == {"DISTANCE_LAYERS": QgsProcessing.TypeVectorAnyGeometry,
                           "CONTINUOUS_FACTORS": QgsProcessing.TypeRaster,
                           "CATEGORICAL_FACTORS": QgsProcessing.TypeRaster}
    assert all(isinstance(workflow.parameterDefinition(key),
                          QgsProcessingParameterMultipleLayers) for key in layer_types)
    assert workflow.parameterDefinition("LITHOLOGY_FIELD").parentLayerParameterName() == \
        "LITHOLOGY"
    for definition in inputs[:len(FACTOR_INPUTS) + 1]:  # DEM and the factors
        assert definition.help(), definition.name()
    assert os.path.isfile(workflow.svgIconPath()) and not workflow.icon().isNull()


def test_workflow_settings_are_the_steps_own(provider):
    """Label, default, range and choices of each setting come from the step that
    uses it (one definition)."""
    from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber

    workflow = _registry().algorithmById(WORKFLOW)
    for key, step_id in STEP_SETTINGS:
        mine = workflow.parameterDefinition(key)
        theirs = _registry().algorithmById(step_id).parameterDefinition(key)
        assert (mine.type(), mine.description(), mine.defaultValue()) == \
            (theirs.type(), theirs.description(), theirs.defaultValue()), key
        if isinstance(theirs, QgsProcessingParameterEnum):
            assert mine.options() == theirs.options(), key
        if isinstance(theirs, QgsProcessingParameterNumber):
            assert (mine.minimum(), mine.maximum()) == (theirs.minimum(), theirs.maximum())
    # the trained model is never silently temporary: Train's visible default
    assert "TEMPORARY" not in str(workflow.parameterDefinition("OUTPUT_MODEL").defaultValue())


def test_workflow_outputs_in_order_named_for_people(provider):
    workflow = _registry().algorithmById(WORKFLOW)
    outputs = workflow.destinationParameterDefinitions()
    assert [(d.name(), d.description()) for d in outputs] == WORKFLOW_OUTPUTS
    # only the factor selection reports may be skipped (their steps are then skipped)
    assert [d.name() for d in outputs if _optional(d)] == ["OUTPUT_VIF_REPORT",
                                                          "OUTPUT_IMPORTANCE_REPORT"]
    assert all(d.help() for d in outputs)
    assert [o.name() for o in workflow.outputDefinitions()][:len(outputs)] == \
        [key for key, _label in WORKFLOW_OUTPUTS]


def test_workflow_checks_its_inputs_before_any_step(run_alg, sample_area, tmp_path):
    """Lithology polygons without their class field: a clear error, nothing run."""
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    files = sample_area["files"]
    feedback = QgsProcessingFeedback()
    with pytest.raises(QgsProcessingException, match=r"Lithology class field"):
        run_alg(WORKFLOW, {"DEM": files["dem"], "INVENTORY": files["landslides"],
                           "LITHOLOGY": files["lithology"],
                           "OUTPUT_STACK": str(tmp_path / "stack.tif")}, feedback=feedback)
    assert "Step 1" not in feedback.textLog() and not os.listdir(tmp_path)


def test_steps_name_themselves_in_errors_progress_and_cancel(provider, sample_area):
    """The step runner: progress across steps, an error names the failed step, a
    cancel stops before the next step."""
    from qgis.core import (
        QgsProcessingContext,
        QgsProcessingException,
        QgsProcessingFeedback,
    )

    from landslide_susceptibility.algorithms.workflow_steps import StepRunner
    from landslide_susceptibility.core.errors import CancelledError

    feedback = QgsProcessingFeedback()
    runner = StepRunner(3, QgsProcessingContext(), feedback)
    runner.run("landslide:deriveterrainfactors", {
        "DEM": sample_area["files"]["dem"], "OUTPUT_SLOPE": "TEMPORARY_OUTPUT",
        "OUTPUT_ASPECT": "TEMPORARY_OUTPUT"}, "Derive slope and aspect",
        keep={"SLOPE": "OUTPUT_SLOPE"})
    assert os.path.exists(runner.results["SLOPE"])
    assert feedback.progress() == pytest.approx(100 / 3, abs=0.5)
    with pytest.raises(QgsProcessingException, match=r"Step 2 of 3 \(Distance to roads\) "
                                                     r"failed: .*REFERENCE"):
        runner.run("landslide:distancetofeatures", {
            "INPUT": sample_area["files"]["faults"], "REFERENCE": "/nowhere/dem.tif",
            "OUTPUT": "TEMPORARY_OUTPUT"}, "Distance to roads")
    feedback.cancel()
    with pytest.raises(CancelledError, match=r"before step 2 of 3 \(Align\)"):
        runner.run("landslide:alignfactors", {}, "Align")


def test_workflow_cancel_keeps_what_was_written(run_alg, sample_area, tmp_path):
    """Cancel during a step: the workflow stops there, says so and returns the
    outputs written so far with CANCELLED = true (no engine step is reached)."""
    from qgis.core import QgsProcessingFeedback

    class CancelAtSamples(QgsProcessingFeedback):
        def pushInfo(self, info):
            super().pushInfo(info)
            if "Build landslide samples" in info:
                self.cancel()

    files = sample_area["files"]
    feedback = CancelAtSamples()
    results = run_alg(WORKFLOW, {
        "DEM": files["dem"], "DISTANCE_LAYERS": [files["rivers"]],
        "INVENTORY": files["landslides"], "OUTPUT_STACK": str(tmp_path / "stack.tif"),
        "OUTPUT_SAMPLES": str(tmp_path / "samples.gpkg")}, feedback=feedback)
    assert results["CANCELLED"] is True
    assert results["OUTPUT_STACK"] == str(tmp_path / "stack.tif")
    assert read_stack_info(results["OUTPUT_STACK"]).names == [
        "elevation", "slope", "distance_to_rivers", "aspect"]
    assert "OUTPUT_SAMPLES" not in results and not os.path.exists(tmp_path / "samples.gpkg")
    assert "Workflow cancelled during step 4 of 7 (Build landslide samples). " \
           "Kept: Factor stack." in feedback.textLog()


def test_factor_names_from_layer_names():
    from landslide_susceptibility.algorithms.workflow_steps import factor_name

    assert factor_name("Faults", "distance_to_") == "distance_to_faults"
    assert factor_name("Main roads (OSM 2023)", "distance_to_") == \
        "distance_to_main_roads_osm_2023"
    assert factor_name("---") == "layer"


# -- the models: registration, help, files ------------------------------------------
def test_models_are_registered_under_the_provider(provider):
    registry = _registry()
    for algorithm_id, name in (
            (PAPER, "Susceptibility workflow (paper's nine factors, editable model)"),
            (COMPARE, "Compare models (workflow)")):
        model = registry.algorithmById(algorithm_id)
        assert model is not None, algorithm_id
        assert model.provider().id() == "landslide"
        assert model.displayName() == name
        assert model.group() == "0 · Workflows" and model.groupId() == "workflows"
        assert not model.icon().isNull() and os.path.isfile(model.svgIconPath())
        assert model.canExecute()[0], model.canExecute()
        for child in model.childAlgorithms().values():
            assert registry.algorithmById(child.algorithmId()) is not None, child.algorithmId()
        help_text = model.shortHelpString()
        for definition in model.parameterDefinitions():
            assert definition.description() in help_text, (algorithm_id, definition.name())
        instance = model.create()
        assert instance.id() == algorithm_id
        assert len(instance.destinationParameterDefinitions()) == \
            len(model.destinationParameterDefinitions()) > 0


def test_paper_model_steps_and_outputs(provider):
    registry = _registry()
    model = registry.algorithmById(PAPER)
    steps = {child.algorithmId() for child in model.childAlgorithms().values()}
    assert {"landslide:deriveterrainfactors", "landslide:distancetofeatures", "gdal:rasterize",
            "landslide:alignfactors", "landslide:multicollinearity",
            "landslide:factorimportance", "landslide:buildsamples", "landslide:trainmodel",
            "landslide:predictsusceptibility", "landslide:classifysusceptibility"} <= steps
    inputs = {d.name() for d in model.parameterDefinitions() if not d.isDestination()}
    assert {"DEM", "FAULTS", "RIVERS", "LITHOLOGY", "LANDUSE", "NDVI", "PRECIPITATION",
            "INVENTORY", "MODEL", "PATCH_SIZE", "SAMPLES_PER_CLASS", "EPOCHS"} <= inputs
    model_choice = model.parameterDefinition("MODEL")
    assert model_choice.options()[model_choice.defaultValue()] == "Random forest"
    for key, step_id in STEP_SETTINGS[2:-1]:  # copies of the steps' definitions
        theirs = registry.algorithmById(step_id).parameterDefinition(key)
        if key in inputs:
            assert model.parameterDefinition(key).defaultValue() == theirs.defaultValue()
    outputs = model.destinationParameterDefinitions()
    assert [d.name() for d in outputs] == PAPER_OUTPUTS
    assert all(d.description() == d.name().split(":")[1] for d in outputs)
    compare = registry.algorithmById(COMPARE)
    steps = {child.algorithmId() for child in compare.childAlgorithms().values()}
    assert "landslide:comparemodels" in steps
    models = compare.parameterDefinition("MODELS")
    assert models.allowMultiple() and \
        models.defaultValue() == registry.algorithmById(
            "landslide:comparemodels").parameterDefinition("MODELS").defaultValue()
    assert [d.name() for d in compare.destinationParameterDefinitions()] == [
        "2_ALIGN:Factor stack", "5_SAMPLES:Samples", "6_COMPARE:Comparison report",
        "6_COMPARE:Comparison table", "6_COMPARE:Trained models (folder)"]


@pytest.mark.parametrize("name", ["paperworkflow", "compareworkflow"])
def test_models_open_valid_in_the_modeler(provider, qgis_iface, monkeypatch, name):
    """The graphical modeler opens the file; the model validates (every step's
    required inputs connected), its steps are drawn with the steps' own icons
    (not the generic gear) and every box's text fits its box."""
    from processing.modeler.ModelerDialog import ModelerDialog
    from qgis.gui import QgsModelChildAlgorithmGraphicItem, QgsModelComponentGraphicItem
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QFont, QFontMetricsF

    from landslide_susceptibility.algorithms.base import ICON_DIR

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
                 if isinstance(item, QgsModelComponentGraphicItem)]
        steps = [item for item in items if isinstance(item, QgsModelChildAlgorithmGraphicItem)]
        assert len(steps) == len(model.childAlgorithms())
        font = QFont()
        font.setPixelSize(12)  # the modeler's
        metrics = QFontMetricsF(font)
        for item in items:
            width = item.component().size().width()
            # the icon, the margins and the edit/delete buttons take about 50 px
            assert metrics.horizontalAdvance(item.label()) < width - 50, item.label()
        for child in model.childAlgorithms().values():
            if child.algorithmId().startswith("landslide:"):
                path = _registry().algorithmById(child.algorithmId()).svgIconPath()
                assert path.startswith(ICON_DIR) and os.path.isfile(path), child.childId()
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
    """The Python workflow from qgis_process.bin with a DEM, one line layer, one
    categorical raster and the inventory only, to the five-class map (tiny
    settings). As for every algorithm, qgis_process wants each required output
    (TEMPORARY_OUTPUT: a temporary file, which the log says of the trained model);
    the factor selection reports left out are skipped."""
    _engine_or_skip()
    files = sample_area["files"]
    params = {"DEM": files["dem"], "DISTANCE_LAYERS": files["faults"],
              "CATEGORICAL_FACTORS": files["landuse"], "INVENTORY": files["landslides"],
              "MODEL": 0, "PATCH_SIZE": 16, "SAMPLES_PER_CLASS": 40, "EPOCHS": 1,
              "SPLIT_METHOD": 0, "OUTPUT_STACK": tmp_path / "stack.tif",
              "OUTPUT_CLASSES": tmp_path / "classes.tif"}
    for key, _label in WORKFLOW_OUTPUTS:
        if key not in params and key not in ("OUTPUT_VIF_REPORT", "OUTPUT_IMPORTANCE_REPORT"):
            params[key] = "TEMPORARY_OUTPUT"
    payload = qgis_process(WORKFLOW, params)
    results = payload["results"]
    for key in ("OUTPUT_STACK", "OUTPUT_CLASSES"):
        assert results[key] == str(params[key]) and os.path.exists(results[key]), key
    for key in ("OUTPUT_SAMPLES", "OUTPUT_MODEL", "OUTPUT_PROBABILITY",
                "OUTPUT_TRAINING_REPORT", "OUTPUT_CLASS_REPORT"):
        assert results[key], key  # temporary outputs (removed when qgis_process exits)
    assert not results.get("OUTPUT_VIF_REPORT") and not results.get("OUTPUT_IMPORTANCE_REPORT")
    assert "Trained model is a temporary file" in json.dumps(payload["log"])
    factors = ["elevation", "slope", "distance_to_faults", "aspect", "landuse"]
    assert results["FACTORS"] == ",".join(factors) and results["CANCELLED"] is False
    info = read_stack_info(str(tmp_path / "stack.tif"))
    assert info.names == factors and info.categorical == [False] * 3 + [True] * 2
    _check_classes(str(tmp_path / "classes.tif"))


@pytest.mark.slow
def test_workflow_loads_its_outputs_styled(provider, sample_area, tmp_path):
    """The Python workflow through Processing as the dialog runs it, with lithology
    polygons, a continuous raster in another CRS (NDVI) and the inventory in
    EPSG:4326 (the DEM is in EPSG:32617): the outputs asked for load into the
    project styled by the steps' post-processors and named for people."""
    import processing
    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import (
        QgsCategorizedSymbolRenderer,
        QgsPalettedRasterRenderer,
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProcessingOutputLayerDefinition,
        QgsProject,
        QgsSingleBandPseudoColorRenderer,
    )

    _engine_or_skip()
    project = QgsProject.instance()
    project.removeAllMapLayers()
    files = sample_area["files"]
    params = {"DEM": files["dem"], "CONTINUOUS_FACTORS": [files["ndvi"]],
              "LITHOLOGY": files["lithology"], "LITHOLOGY_FIELD": "unit",
              "INVENTORY": _reprojected(files["landslides"], tmp_path / "inventory.gpkg"),
              "MODEL": 0, "PATCH_SIZE": 16, "SAMPLES_PER_CLASS": 40, "EPOCHS": 1,
              "SPLIT_METHOD": 0}  # Trained model left out: beside the samples
    loaded = {"OUTPUT_CLASSES": str(tmp_path / "classes.tif"), "OUTPUT_PROBABILITY": None,
              "OUTPUT_SAMPLES": str(tmp_path / "samples.gpkg")}
    for key, path in loaded.items():
        params[key] = QgsProcessingOutputLayerDefinition(path or "TEMPORARY_OUTPUT", project)
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    results = processing.run(WORKFLOW, params, context=context, feedback=feedback)
    log = feedback.textLog()
    # derive, rasterize the lithology, align, samples, train, predict, classify (the
    # factor selection reports left out are skipped)
    assert "Step 1 of 7: Derive slope and aspect" in log and "Step 7 of 7" in log
    assert results["OUTPUT_MODEL"] == str(tmp_path / "cnn.keras")
    factors = ["elevation", "slope", "ndvi", "aspect", "lithology"]
    assert results["FACTORS"] == ",".join(factors)
    assert read_card(results["OUTPUT_MODEL"])["factors"] == factors
    _check_classes(results["OUTPUT_CLASSES"])
    try:
        assert handleAlgorithmResults(_registry().algorithmById(WORKFLOW), context,
                                      feedback, False, params)
        layers = list(project.mapLayers().values())
        assert len(layers) == 3, [layer.name() for layer in layers]
        by_file = {os.path.basename(layer.source().split("|")[0]): layer
                   for layer in layers}
        classes = by_file["classes.tif"]
        assert isinstance(classes.renderer(), QgsPalettedRasterRenderer)
        assert [c.label.split(" (")[0] for c in classes.renderer().classes()] == [
            "Very low", "Low", "Moderate", "High", "Very high"]
        assert isinstance(by_file["samples.gpkg"].renderer(), QgsCategorizedSymbolRenderer)
        probability = [layer for layer in layers
                       if isinstance(layer.renderer(), QgsSingleBandPseudoColorRenderer)]
        # a temporary output is named after the workflow's output
        assert [layer.name() for layer in probability] == ["Susceptibility (probability)"]
    finally:
        project.removeAllMapLayers()


@pytest.mark.slow
def test_paper_model_through_qgis_process(qgis_process, sample_area, tmp_path):
    """The paper's model from qgis_process.bin on the sample area, tiny settings;
    outputs not given are temporary files."""
    _engine_or_skip()
    out = tmp_path
    params = dict(_inputs(sample_area["files"]), **TINY)
    params.update({"2_ALIGN:Factor stack": out / "stack.tif",
                   "6_TRAIN:Trained model": out / "model.keras",
                   "7_PREDICT:Susceptibility (probability)": out / "probability.tif",
                   "8_CLASSIFY:Susceptibility classes": out / "classes.tif",
                   "8_CLASSIFY:Classification report": out / "classes.html"})
    params.pop("LITHOLOGY_CELL_SIZE")  # left out: the model's default (10)
    results = qgis_process(PAPER, params)["results"]
    for key in ("2_ALIGN:Factor stack", "6_TRAIN:Trained model",
                "7_PREDICT:Susceptibility (probability)", "8_CLASSIFY:Susceptibility classes",
                "8_CLASSIFY:Classification report"):
        assert results[key] == str(params[key]) and os.path.exists(results[key]), key
    for key in set(PAPER_OUTPUTS) - set(params):
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


@pytest.mark.slow
def test_compare_workflow_registered_run(run_alg, sample_area, tmp_path):
    """The registered comparison model through processing.run: two architectures,
    tiny settings; inputs left out take their defaults, outputs left out are
    temporary."""
    _engine_or_skip()
    # The tiny area has 4 blocks of 1000 m with landslides: Folds (k) lowered to 3.
    params = dict(_inputs(sample_area["files"]), MODELS=[0, 5], PATCH_SIZE=16,
                  SAMPLES_PER_CLASS=60, EPOCHS=1, FOLDS=3)
    params.pop("LITHOLOGY_CELL_SIZE")
    params["6_COMPARE:Comparison report"] = str(tmp_path / "comparison.html")
    params["6_COMPARE:Trained models (folder)"] = str(tmp_path / "models")
    params["6_COMPARE:Comparison table"] = str(tmp_path / "table.gpkg")
    results = run_alg(COMPARE, params)
    assert os.path.exists(tmp_path / "comparison.html")
    saved = os.listdir(tmp_path / "models")
    assert {"cnn.keras", "ctlgnet.keras"} <= set(saved), saved
    assert read_card(str(tmp_path / "models" / "ctlgnet.keras"))["factors"] == FACTORS
    assert results["2_ALIGN:Factor stack"] and results["6_COMPARE:Comparison table"]
    assert results["CHILD_RESULTS"]["6_COMPARE"]["BEST_MODEL"] in ("cnn", "ctlgnet")
    dataset = ogr.Open(str(tmp_path / "table.gpkg"))
    # Folds (k) reached the step: 3 folds per model (spatial k-fold, no repeats)
    assert {f["folds"] for f in dataset.GetLayer(0)} == {3}
    dataset = None


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
