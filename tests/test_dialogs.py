"""What the dialogs show (issue 18): labels, defaults, Advanced parameters, enum
display names, tooltips and help written with the labels; the Train dialog
opened headless; where a trained model goes by default and the warnings about
temporary models and leakage; the toolbox order; the legends of the outputs."""

import html
import os
import re

import numpy as np
import pytest

from landslide_susceptibility.core.specs import TrainingSettings, default_of
from landslide_susceptibility.core.specs.samples import (
    PAPER_PATCH_SIZE,
    PAPER_SAMPLES_PER_CLASS,
    SamplesSpec,
)
from landslide_susceptibility.core.specs.training import DEFAULT_MODEL, PAPER_SETTINGS

TRAIN_VISIBLE = ["STACK", "SAMPLES", "MODEL", "SETTINGS", "EPOCHS", "BATCH_SIZE", "AUGMENT",
                 "OUTPUT_MODEL", "OUTPUT_METRICS", "OUTPUT_REPORT"]
TRAIN_ADVANCED = ["LEARNING_RATE", "OPTIMIZER", "LABEL_SMOOTHING", "EARLY_STOPPING_PATIENCE",
                  "KEEP_MODEL", "SEED"]
MAX_LABEL = 40  # characters: the batch grid's column headers stay readable


class Log:
    """A feedback that keeps what it is told."""

    def __init__(self):
        from qgis.core import QgsProcessingFeedback

        self.feedback = QgsProcessingFeedback()
        self.infos, self.warnings = [], []
        self.feedback.pushInfo = self.infos.append
        self.feedback.pushWarning = self.warnings.append
        self.feedback.pushDebugInfo = self.infos.append


@pytest.fixture
def browser(qgis_iface, monkeypatch):
    """The test iface has no browser model; the dialogs ask for it."""
    from qgis.gui import QgsBrowserGuiModel

    model = QgsBrowserGuiModel()
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: model, raising=False)
    return model


def _dialog(provider, name):
    from processing.gui.AlgorithmDialog import AlgorithmDialog

    dialog = AlgorithmDialog(provider.algorithm(name).create(), False, None)
    dialog.show()
    return dialog


def _ours(provider):
    from landslide_susceptibility.algorithms.base import LandslideAlgorithm

    return [a for a in provider.algorithms() if isinstance(a, LandslideAlgorithm)]


def test_train_dialog_shows_the_usual_settings_and_folds_the_rare_ones(provider, browser,
                                                                       small_stack,
                                                                       small_samples):
    from processing.tools import dataobjects
    from qgis.PyQt.QtWidgets import QGroupBox

    dialog = _dialog(provider, "trainmodel")
    try:
        panel = dialog.mainWidget()
        assert dialog.windowTitle() == "3.1 Train landslide model"
        advanced = panel.findChild(QGroupBox, "grpAdvanced")
        assert advanced.title() == "Advanced Parameters" and advanced.property("collapsed")
        for key in TRAIN_VISIBLE:
            assert panel.wrappers[key].wrappedWidget().isVisible(), key
        for key in TRAIN_ADVANCED:
            widget = panel.wrappers[key].wrappedWidget()
            assert advanced.isAncestorOf(widget) and not widget.isVisible(), key
        assert panel.wrappers["EPOCHS"].parameterValue() == 30
        assert panel.wrappers["BATCH_SIZE"].parameterValue() == 16
        assert panel.wrappers["MODEL"].wrappedWidget().currentText() == "Random forest"
        assert panel.wrappers["OPTIMIZER"].wrappedWidget().currentText() == "Adam"
        # a trained model is not thrown away by default: a visible name beside the samples
        assert panel.wrappers["OUTPUT_MODEL"].parameterValue() == \
            "<samples folder>/<model>.<keras or skops>"
        tooltip = panel.wrappers["EPOCHS"].wrappedWidget().toolTip()
        assert "Passes over the training samples" in tooltip and "paper: 100" in tooltip
        # the dialog accepts the default and hands it to the algorithm as it is
        context = dataobjects.createContext()
        panel.wrappers["STACK"].setParameterValue(small_stack, context)
        panel.wrappers["SAMPLES"].setParameterValue(small_samples, context)
        parameters = panel.createProcessingParameters()
        assert parameters["OUTPUT_MODEL"] == "<samples folder>/<model>.<keras or skops>"
        assert parameters["SETTINGS"] == 0 and parameters["EPOCHS"] == 30
    finally:
        dialog.close()


def test_defaults_are_quick_and_the_papers_one_choice_away(provider):
    """The defaults finish in minutes on a CPU (patch 32, 1,000 samples per class,
    30 epochs with early stopping, batch 16, Adam, spatial split); the paper's
    settings are the SETTINGS choice and named in the help."""
    from qgis.core import QgsProcessingContext

    from landslide_susceptibility.algorithms.training_parameters import preset_values

    quick = TrainingSettings().settings()
    assert (quick["epochs"], quick["batch_size"], quick["optimizer"], quick["patience"]) == \
        (30, 16, "adam", 10)
    assert default_of(SamplesSpec, "patch_size") == 32 < PAPER_PATCH_SIZE == 72
    assert default_of(SamplesSpec, "samples_per_class") == 1000 < PAPER_SAMPLES_PER_CLASS
    assert default_of(SamplesSpec, "split_method") == "spatial"
    assert PAPER_SETTINGS == {"epochs": 100, "batch_size": 16, "optimizer": "sgd",
                              "learning_rate": 0.001, "label_smoothing": 0.1, "augment": True,
                              "patience": 0, "selection": "val_accuracy",
                              "categorical_encoding": "codes",
                              "continuous_encoding": "values", "pixel_skip": False,
                              "schedule": "constant", "pretrain": False,
                              "weight_average": False, "mixup": 0.0,
                              "average_views": False}
    assert DEFAULT_MODEL == "random_forest"
    for name in ("trainmodel", "comparemodels"):
        algorithm = provider.algorithm(name)
        choice = algorithm.parameterDefinition("SETTINGS")
        assert choice.defaultValue() == 0 and "paper" in choice.options()[1].lower()
        log = Log()
        assert preset_values(algorithm, {"SETTINGS": 1}, QgsProcessingContext(),
                             log.feedback) == PAPER_SETTINGS
        assert "Epochs 100, Batch size 16, Optimizer SGD" in log.infos[0]
        assert preset_values(algorithm, {}, QgsProcessingContext(), log.feedback) == {}
    help_text = provider.algorithm("buildsamples").shortHelpString()
    assert "paper: 72" in help_text and "paper: 10,000" in help_text


def test_every_parameter_has_a_tooltip_and_a_short_label(provider):
    for algorithm in _ours(provider):
        for definition in algorithm.parameterDefinitions():
            where = (algorithm.id(), definition.name())
            assert definition.help().strip(), where
            assert definition.help() in definition.toolTip(), where
            assert len(definition.description()) <= MAX_LABEL, where


def test_help_names_the_parameters_by_their_labels(provider):
    """The help beside a dialog lists every parameter by its on-screen label with
    its default; keys in bold ("<b>STACK</b>") and enum indices ("0 natural
    breaks") are for the scripts' table of the help page only."""
    for algorithm in _ours(provider):
        text = algorithm.shortHelpString()
        for definition in algorithm.parameterDefinitions():
            assert f"<b>{html.escape(definition.description())}</b>" in text, \
                (algorithm.id(), definition.name())
        assert not re.findall(r"<b>[A-Z][A-Z0-9_/]{2,}</b>", text), algorithm.id()
        assert not re.findall(r"\b\d (?:natural|random|quantile)", text), algorithm.id()
    train = provider.algorithm("trainmodel").shortHelpString()
    assert "<b>Epochs</b> <i>(default 30; 1 to 100,000)</i>" in train
    assert "<b>Learning rate</b> <i>(default 0.001; 1e-08 to 10; under Advanced " \
           "parameters)</i>" in train


def test_enums_show_display_names(provider):
    from qgis.core import QgsProcessingParameterEnum

    checked = 0
    for algorithm in _ours(provider):
        for definition in algorithm.parameterDefinitions():
            if isinstance(definition, QgsProcessingParameterEnum):
                codes = [o for o in definition.options() if re.fullmatch(r"[a-z0-9_]+", o)]
                assert not codes, (algorithm.id(), definition.name(), codes)
                checked += 1
    assert checked >= 8
    models = provider.algorithm("trainmodel").parameterDefinition("MODEL").options()
    assert {"CTLGNet", "DenseNet-BC", "ResNet-18", "ViT", "FrIT"} <= set(models)


def test_toolbox_lists_the_steps_in_workflow_order(provider):
    """The toolbox sorts each group alphabetically: the numbered display names put
    the steps in the order of the workflow; the ids are unchanged."""
    from landslide_susceptibility.algorithms.base import WORKFLOW_ORDER

    for group, names in WORKFLOW_ORDER.items():
        registered = [n for n in names if provider.algorithm(n) is not None]
        shown = sorted(registered, key=lambda n: provider.algorithm(n).displayName().lower())
        assert shown == registered, group
    assert provider.algorithm("trainmodel").displayName() == "3.1 Train landslide model"
    assert provider.algorithm("evaluatemodel").displayName() == "3.2 Evaluate landslide model"
    assert provider.algorithm("predictsusceptibility").displayName().startswith("4.1 ")
    assert provider.algorithm("classifysusceptibility").displayName().startswith("4.2 ")
    assert provider.algorithm("checkengine").displayName() == "Check engine"


def test_trained_model_goes_beside_the_samples(provider, small_stack, small_samples, tmp_path):
    """Left at its default, the trained model is written beside the samples and
    named after the model; an existing file is kept (a free name is used)."""
    from qgis.core import QgsProcessing, QgsProcessingContext

    from landslide_susceptibility.algorithms.training_parameters import default_output

    train = provider.algorithm("trainmodel")
    folder = os.path.dirname(small_samples)
    parameters = {"STACK": small_stack, "SAMPLES": small_samples, "MODEL": 0}
    log = Log()
    first = default_output(train, parameters, QgsProcessingContext(), log.feedback)
    assert first == os.path.join(folder, "cnn.keras") and not os.path.exists(first)
    assert log.infos == [f"Trained model: {first}"]
    open(first, "wb").close()
    try:
        second = default_output(train, parameters, QgsProcessingContext(), log.feedback)
        assert second == os.path.join(folder, "cnn_2.keras")
    finally:
        os.remove(first)
    # the default model, a classical one, gets its own extension
    forest = dict(train.SPEC.params())["model"].codes().index("random_forest")
    assert default_output(train, dict(parameters, MODEL=forest), QgsProcessingContext(),
                          log.feedback) == os.path.join(folder, "random_forest.skops")
    chosen = str(tmp_path / "mine.keras")
    for value in (chosen, QgsProcessing.TEMPORARY_OUTPUT):
        assert default_output(train, dict(parameters, OUTPUT_MODEL=value),
                              QgsProcessingContext(), log.feedback) == value
    compare = provider.algorithm("comparemodels")
    assert default_output(compare, parameters, QgsProcessingContext(), log.feedback) == \
        os.path.join(folder, "models")


def test_temporary_model_and_leakage_are_warned(provider, small_samples, tmp_path):
    from qgis.core import QgsProcessingUtils

    from landslide_susceptibility.algorithms.training_parameters import (
        is_temporary,
        samples_leakage,
        warn_leakage,
        warn_temporary,
    )
    from landslide_susceptibility.core.sample_layer import write_sample_layer
    from landslide_susceptibility.core.specs import TrainSpec

    temporary = os.path.join(QgsProcessingUtils.tempFolder(), "abc", "OUTPUT_MODEL.keras")
    assert is_temporary(temporary) and is_temporary("TEMPORARY_OUTPUT")
    assert not is_temporary(str(tmp_path / "m.keras")) and not is_temporary("")
    log = Log()
    spec = TrainSpec(stack="s.tif", samples="s.gpkg", output_model=temporary)
    warn_temporary(provider.algorithm("trainmodel"), spec, log.feedback)
    assert len(log.warnings) == 1
    assert "Trained model is a temporary file" in log.warnings[0]
    assert "deletes it when it closes" in log.warnings[0]
    # the random split of small_samples: many test patches overlap training ones
    leakage, method = samples_leakage(small_samples)
    assert method == "random" and leakage > 0.1
    log = Log()
    warn_leakage(small_samples, log.feedback)
    assert len(log.warnings) == 1 and f"{100 * leakage:.0f}% of the test patches" in \
        log.warnings[0] and "Spatial blocks" in log.warnings[0]
    clean = str(tmp_path / "clean.gpkg")
    write_sample_layer(clean, [1, 5], [1, 5], [1, 0], ["train", "test"],
                       (0.0, 10.0, 0.0, 100.0, 0.0, -10.0), "", {"leakage": 0.0,
                                                                "split_method": "spatial"})
    log = Log()
    warn_leakage(clean, log.feedback)
    warn_leakage(str(tmp_path / "samples.npz"), log.feedback)  # no record: nothing to say
    assert samples_leakage(clean) == (0.0, "spatial") and log.warnings == []


def test_cancelled_training_in_a_temporary_file_says_so(provider):
    """The engine says once where the best model was kept; the algorithm adds only
    that the place is temporary."""
    from qgis.core import QgsProcessingContext, QgsProcessingUtils

    from landslide_susceptibility.core.specs import TrainOutcome, TrainSpec

    train = provider.algorithm("trainmodel").create()
    for folder, warnings in ((QgsProcessingUtils.tempFolder(), 1), ("/somewhere", 0)):
        spec = TrainSpec(stack="s.tif", samples="s.gpkg",
                         output_model=os.path.join(folder, "m.keras"))
        log = Log()
        result = train.outputs(spec, TrainOutcome(cancelled=True, model=spec.output_model,
                                                  metrics={"auc": 0.8, "oa": 0.7}),
                               {"OUTPUT_METRICS": "TEMPORARY_OUTPUT"}, QgsProcessingContext(),
                               log.feedback)
        assert result["CANCELLED"] is True and result["AUC"] == 0.8
        assert len(log.warnings) == warnings
        assert not any("best model so far" in w for w in log.warnings)


def test_samples_dialog_reads_well(provider, browser):
    dialog = _dialog(provider, "buildsamples")
    try:
        panel = dialog.mainWidget()
        ratio = panel.wrappers["TRAIN_RATIO"].wrappedWidget()
        assert ratio.decimals() == 2 and ratio.text() == "6.00"
        algorithm = dialog.algorithm()
        assert algorithm.parameterDefinition("BLOCK_SIZE").description() == \
            "Block size (spatial split)"
        split = panel.wrappers["SPLIT_METHOD"].wrappedWidget()
        assert split.currentText() == "Spatial blocks (no leakage)"
        for key in ("TRAIN_RATIO", "VALIDATION_RATIO", "TEST_RATIO", "NEGATIVE_BUFFER",
                    "SEED"):
            assert not panel.wrappers[key].wrappedWidget().isVisible(), key
    finally:
        dialog.close()


def test_legends_read_well(qgis_app, tmp_path):
    """Class labels carry their value ranges (from the breaks the raster records);
    the legend's title is a label, not "Band 1: landslide_probability (Gray)"."""
    from osgeo import gdal
    from qgis.core import QgsLayerTree, QgsLayerTreeModel, QgsProject, QgsRasterLayer

    from landslide_susceptibility.algorithms.styling import (
        apply_style,
        class_labels,
        title_legend,
    )
    from landslide_susceptibility.core.raster_io import write_raster

    transform = (500000.0, 10.0, 0.0, 4200000.0, 0.0, -10.0)
    classes = write_raster(str(tmp_path / "classes.tif"),
                           np.arange(1, 6, dtype=np.uint8).repeat(5).reshape(5, 5), transform,
                           32617, nodata=0)
    dataset = gdal.Open(classes, gdal.GA_Update)
    dataset.SetMetadataItem("BREAKS", "0.1,0.25,0.5,0.75")
    dataset = None
    probability = write_raster(str(tmp_path / "probability.tif"),
                               np.linspace(0, 1, 25, dtype=np.float32).reshape(5, 5),
                               transform, 32617, nodata=-1)
    project = QgsProject()
    root = project.layerTreeRoot()
    layers = {}
    for kind, path in (("classes", classes), ("probability", probability)):
        layers[kind] = QgsRasterLayer(path, kind, "gdal")
        assert apply_style(layers[kind], kind)
        project.addMapLayer(layers[kind])
        assert title_legend(layers[kind], project, kind)
    assert [c.label for c in layers["classes"].renderer().classes()] == [
        "Very low (≤ 0.1)", "Low (0.1 – 0.25)", "Moderate (0.25 – 0.5)", "High (0.5 – 0.75)",
        "Very high (> 0.75)"]
    assert class_labels(None)[0] == "Very low"
    model = QgsLayerTreeModel(root)
    titles = {kind: model.layerLegendNodes(root.findLayer(layer.id()))[0].data(0)
              for kind, layer in layers.items()}
    assert titles == {"classes": "Susceptibility class", "probability": "Landslide probability"}
    shader = layers["probability"].renderer().shader().rasterShaderFunction()
    assert shader.legendSettings().minimumLabel() == "0 (low)"
    assert not title_legend(layers["classes"], QgsProject(), "classes")  # not in that project
    assert isinstance(QgsLayerTree(), QgsLayerTree)


def test_help_menu_entry_has_a_help_icon():
    from landslide_susceptibility.algorithms.base import ICON_DIR
    from landslide_susceptibility.gui.menu import ENTRIES

    icons = {key: icon for key, _text, icon, _toolbar, _action in ENTRIES}
    assert icons["help"] == "help" and icons["help"] not in (icons["compare"], "evaluate")
    assert os.path.exists(os.path.join(ICON_DIR, "help.svg"))


@pytest.mark.slow
def test_training_left_at_its_default_output_keeps_the_model(run_alg, small_stack,
                                                            small_samples):
    """A training run with Trained model left out writes the model beside the
    samples, says where, warns about the samples' leakage (random split) and says
    how long the run will take."""
    log = Log()
    folder = os.path.dirname(small_samples)
    result = run_alg("landslide:trainmodel", {
        "STACK": small_stack, "SAMPLES": small_samples, "MODEL": 0, "EPOCHS": 3,
        "OUTPUT_METRICS": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": "TEMPORARY_OUTPUT"},
        feedback=log.feedback)
    try:
        assert os.path.dirname(result["OUTPUT_MODEL"]) == folder
        assert os.path.basename(result["OUTPUT_MODEL"]).startswith("cnn")
        assert os.path.exists(result["OUTPUT_MODEL"])
        assert f"Trained model: {result['OUTPUT_MODEL']}" in log.infos
        assert any(w.startswith("Leakage: ") for w in log.warnings)
        # after the second epoch (the first includes the start-up): the whole run's time
        assert any(re.match(r"Expected training time: about \d+ (s|min)", info)
                   for info in log.infos)
        assert not any("temporary file" in w for w in log.warnings)
    finally:
        os.remove(result["OUTPUT_MODEL"])
