#!/usr/bin/env python3
"""Generate the workflow models shipped with the provider (resources/models/*.model3).

The models are built with QGIS's model API (QgsProcessingModelAlgorithm,
QgsProcessingModelChildAlgorithm, …) and saved with ``toFile``; the generated
files are committed. Run after changing an algorithm's parameters::

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/make_models.py

- ``paperworkflow``: the paper's nine factors + inventory → derive → align →
  VIF and importance reports → samples → train (the random forest by default, as Train) → predict →
  classify, to open and edit in the graphical modeler. (The one-click workflow
  that takes whatever factors the user has is the Python algorithm
  ``landslide:susceptibilityworkflow``.)
- ``compareworkflow``: the same factors and samples → train and compare the
  architectures (the paper's Table 2).

Outputs of derived factors are renamed (``native:renamelayer``) before the
stack is aligned, so the stack's bands are called slope, aspect,
distance_to_faults, … and not after temporary file names.

For the modeler: inputs carry short descriptions (the boxes show them whole),
the steps' settings are copies of the steps' own parameter definitions (one
definition of each default), output boxes are named for people (their names
are the output names) and the step ids start with the step's number, so the
dialog lists the outputs in the order the workflow writes them (QGIS sorts a
model's outputs by ``<step id>:<output name>``).
"""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO, "resources", "models")
GROUP = "0 · Workflows"
GROUP_ID = "workflows"
AUTHOR = "Landslide Susceptibility plugin"
PAPER_NAME = "Susceptibility workflow (paper's nine factors, editable model)"
COMPARE_NAME = "Compare models (workflow)"
INPUT_SIZE = (200, 30)
STEP_SIZE = (250, 30)
OUTPUT_SIZE = (230, 30)

sys.path.append("/usr/share/qgis/python/plugins")
os.environ["QT_HASH_SEED"] = "0"  # the XML's attribute order: same model, same file


def _qgis():
    """Start QGIS with Processing and the landslide provider; return the app."""
    import runpy

    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from landslide_susceptibility.provider import LandslideProvider

    provider = LandslideProvider()
    if not QgsApplication.processingRegistry().addProvider(provider):
        raise SystemExit("Cannot register the landslide provider.")
    return app, provider


def _size(component, size):
    from qgis.PyQt.QtCore import QSizeF

    component.setSize(QSizeF(*size))


class ModelBuilder:
    """A thin layer over QgsProcessingModelAlgorithm: inputs, children, outputs."""

    def __init__(self, display_name):
        from qgis.core import QgsProcessingModelAlgorithm

        # The file's base name is the algorithm's id (landslide:<file name>); the
        # model name stored in the file is what the toolbox shows.
        self.model = QgsProcessingModelAlgorithm(display_name, GROUP, GROUP_ID)
        self.help = {}
        self.input_count = 0
        self.inputs = []
        self.children = {}

    def add_input(self, definition, help_text):
        from qgis.core import QgsProcessingModelParameter
        from qgis.PyQt.QtCore import QPointF

        if not definition.help():
            definition.setHelp(help_text)  # the dialog's tooltip
        component = QgsProcessingModelParameter(definition.name())
        component.setDescription(definition.description())
        component.setPosition(QPointF(120 + 230 * (self.input_count % 8),
                                      60 + 70 * (self.input_count // 8)))
        _size(component, INPUT_SIZE)
        self.input_count += 1
        self.model.addModelParameter(definition, component)
        self.inputs.append(definition.name())
        self.help[definition.name()] = help_text
        return definition.name()

    def add_child(self, child_id, algorithm_id, description, sources, position, outputs=None):
        """``sources``: {parameter: source or [sources]}; ``outputs``:
        {model output name: (child output, help)}: the name is what the output box
        and the dialog show."""
        from qgis.core import QgsProcessingModelChildAlgorithm, QgsProcessingModelOutput
        from qgis.PyQt.QtCore import QPointF

        child = QgsProcessingModelChildAlgorithm(algorithm_id)
        if child.algorithm() is None:
            raise SystemExit(f"Algorithm {algorithm_id} is not available.")
        child.setChildId(child_id)
        child.setDescription(description)
        child.setPosition(QPointF(*position))
        _size(child, STEP_SIZE)
        for name, value in sources.items():
            if child.algorithm().parameterDefinition(name) is None:
                raise SystemExit(f"{algorithm_id} has no parameter {name}.")
            child.addParameterSources(name, value if isinstance(value, list) else [value])
        for name, value in _unset_defaults(child.algorithm(), sources).items():
            child.addParameterSources(name, [value])
        model_outputs = {}
        for index, (name, (child_output, help_text)) in enumerate((outputs or {}).items()):
            output = QgsProcessingModelOutput(name, name)
            output.setChildId(child_id)
            output.setChildOutputName(child_output)
            output.setDefaultValue("TEMPORARY_OUTPUT")  # optional: a temporary file
            output.setPosition(QPointF(position[0] + 250, position[1] + 40 * index))
            _size(output, OUTPUT_SIZE)
            model_outputs[name] = output
            self.help[f"{child_id}:{name}"] = help_text
        child.setModelOutputs(model_outputs)
        self.model.addChildAlgorithm(child)
        self.children[child_id] = child
        return child_id

    def save(self, description, path):
        self.model.setParameterOrder(self.inputs)  # the order they were added in
        self.model.updateDestinationParameters()
        missing = [key for key in self.help
                   if self.model.parameterDefinition(key) is None]
        if missing:
            raise SystemExit(f"Help for unknown parameters: {missing}")
        self.model.setHelpContent(dict(self.help, ALG_DESC=description, ALG_CREATOR=AUTHOR,
                                       ALG_HELP_CREATOR=AUTHOR, ALG_VERSION="1"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not self.model.toFile(path):
            raise SystemExit(f"Cannot write {path}")
        return path


def _param(name):
    from qgis.core import QgsProcessingModelChildParameterSource

    return QgsProcessingModelChildParameterSource.fromModelParameter(name)


def _child(child_id, output):
    from qgis.core import QgsProcessingModelChildParameterSource

    return QgsProcessingModelChildParameterSource.fromChildOutput(child_id, output)


def _static(value):
    from qgis.core import QgsProcessingModelChildParameterSource

    return QgsProcessingModelChildParameterSource.fromStaticValue(value)


def _defaults(algorithm_id, *keys):
    """Static sources holding the algorithm's own defaults (from its spec) for ``keys``."""
    definitions = _algorithm(algorithm_id)
    return {key: _static(definitions.parameterDefinition(key).defaultValue()) for key in keys}


def _unset_defaults(algorithm, sources):
    """Static sources holding the step's own defaults for its required settings
    the model does not set (the modeler wants a source for each)."""
    from qgis.core import QgsProcessingParameterDefinition

    return {definition.name(): _static(definition.defaultValue())
            for definition in algorithm.parameterDefinitions()
            if definition.name() not in sources and not definition.isDestination()
            and not definition.flags() & QgsProcessingParameterDefinition.FlagOptional
            and definition.defaultValue() is not None}


def _algorithm(algorithm_id):
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry().algorithmById(algorithm_id)


def step_input(algorithm_id, key, description):
    """A copy of a step's own parameter definition (its default, range, choices)
    as a model input, with a short ``description`` for the modeler's box."""
    definition = _algorithm(algorithm_id).parameterDefinition(key).clone()
    definition.setDescription(description)
    return definition


def _default_text(definition):
    from qgis.core import QgsProcessingParameterEnum

    value = definition.defaultValue()
    if isinstance(definition, QgsProcessingParameterEnum):
        return definition.options()[value]
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_factor_inputs(builder):
    """The factor and inventory inputs shared by both models."""
    from qgis.core import (
        QgsProcessing,
        QgsProcessingParameterField,
        QgsProcessingParameterNumber,
        QgsProcessingParameterRasterLayer,
        QgsProcessingParameterVectorLayer,
    )

    builder.add_input(step_input("landslide:deriveterrainfactors", "DEM", "DEM (elevation)"),
                      "Elevation raster in a projected CRS with metres; its grid is the "
                      "grid of the factor stack. Elevation is a factor; slope and aspect "
                      "classes are derived from it.")
    builder.add_input(QgsProcessingParameterVectorLayer(
        "FAULTS", "Faults (lines)", [QgsProcessing.TypeVectorLine]),
        "Fault lines; their distance raster on the DEM's grid is a factor.")
    builder.add_input(QgsProcessingParameterVectorLayer(
        "RIVERS", "Rivers (lines)", [QgsProcessing.TypeVectorLine]),
        "River lines; their distance raster on the DEM's grid is a factor.")
    builder.add_input(QgsProcessingParameterVectorLayer(
        "LITHOLOGY", "Lithology (polygons)", [QgsProcessing.TypeVectorPolygon]),
        "Lithology polygons, rasterized with GDAL (gdal:rasterize) from the Lithology "
        "field over the DEM's extent into a categorical factor. (A lithology raster: use "
        "'Susceptibility workflow (factors to classes)', which takes any categorical "
        "raster, or connect it to the categorical factors of 'Align factors' in a copy of "
        "this model.)")
    builder.add_input(QgsProcessingParameterField(
        "LITHOLOGY_FIELD", "Lithology field", parentLayerParameterName="LITHOLOGY",
        type=QgsProcessingParameterField.Numeric),
        "Integer field of the lithology classes (values > 0; 0 is nodata).")
    builder.add_input(QgsProcessingParameterNumber(
        "LITHOLOGY_CELL_SIZE", "Lithology cell size",
        QgsProcessingParameterNumber.Double, 10.0, minValue=0.0000001),
        "Cell size of the rasterized lithology in the lithology layer's map units "
        "(default 10); the raster is then resampled to the DEM's grid by nearest "
        "neighbour or mode.")
    builder.add_input(QgsProcessingParameterRasterLayer(
        "LANDUSE", "Land use (classes)"),
        "Land-use classes (integer raster), a categorical factor.")
    builder.add_input(QgsProcessingParameterRasterLayer("NDVI", "NDVI"),
                      "NDVI raster in any CRS and resolution (resampled bilinearly).")
    builder.add_input(QgsProcessingParameterRasterLayer("PRECIPITATION", "Precipitation"),
                      "Precipitation raster in any CRS and resolution (resampled "
                      "bilinearly).")
    builder.add_input(step_input("landslide:buildsamples", "INVENTORY", "Landslide inventory"),
                      "Landslides as polygons, points or a raster mask (1 = landslide), in "
                      "any CRS: reprojected to the stack's CRS where needed.")


def add_sample_inputs(builder):
    """The samples' and training's settings, copies of the steps' definitions."""
    patch = builder.add_input(
        step_input("landslide:buildsamples", "PATCH_SIZE", "Patch size (pixels)"),
        "Side of the square patches cut around each sample (the paper: 72).")
    count = builder.add_input(
        step_input("landslide:buildsamples", "SAMPLES_PER_CLASS", "Samples per class"),
        "Landslide and as many non-landslide patch centres (the paper: 10000 each).")
    split = builder.add_input(
        step_input("landslide:buildsamples", "SPLIT_METHOD", "Split method"),
        "6:2:2 training/validation/test split: random as in the paper, or spatial blocks "
        "(no test patch overlaps a training patch).")
    epochs = builder.add_input(step_input("landslide:trainmodel", "EPOCHS", "Epochs"),
                               "Training epochs (the paper: 100). The other training "
                               "settings are the Train step's defaults.")
    builder.add_input(step_input("landslide:trainmodel", "SEED", "Random seed"),
                      "Seed of the samples, the split and the training: same seed, same "
                      "results (CPU).")
    model = builder.model
    return ", ".join(f"{model.parameterDefinition(key).description()} "
                     f"{_default_text(model.parameterDefinition(key))}"
                     for key in (patch, count, split, epochs))


def add_factor_children(builder):
    """derive → distances → rasterize → rename → align. Returns the align child id."""
    builder.add_child("1_TERRAIN", "landslide:deriveterrainfactors",
                      "Derive slope and aspect", {"DEM": _param("DEM"),
                                                  **_defaults("landslide:deriveterrainfactors",
                                                              "FLAT_THRESHOLD")}, (120, 260))
    builder.add_child("1_FAULT_DISTANCE", "landslide:distancetofeatures",
                      "Distance to faults", {"INPUT": _param("FAULTS"),
                                             "REFERENCE": _param("DEM")}, (380, 260))
    builder.add_child("1_RIVER_DISTANCE", "landslide:distancetofeatures",
                      "Distance to rivers", {"INPUT": _param("RIVERS"),
                                             "REFERENCE": _param("DEM")}, (640, 260))
    builder.add_child("1_LITHOLOGY_RASTER", "gdal:rasterize", "Rasterize lithology", {
        "INPUT": _param("LITHOLOGY"), "FIELD": _param("LITHOLOGY_FIELD"),
        "UNITS": _static(1), "WIDTH": _param("LITHOLOGY_CELL_SIZE"),
        "HEIGHT": _param("LITHOLOGY_CELL_SIZE"), "EXTENT": _param("DEM"),
        "NODATA": _static(0), "DATA_TYPE": _static(4), "INIT": _static(0),
        "INVERT": _static(False), "USE_Z": _static(False)}, (900, 260))
    renamed = []
    for index, (child_id, output, name) in enumerate([
            ("1_TERRAIN", "OUTPUT_SLOPE", "slope"), ("1_TERRAIN", "OUTPUT_ASPECT", "aspect"),
            ("1_FAULT_DISTANCE", "OUTPUT", "distance_to_faults"),
            ("1_RIVER_DISTANCE", "OUTPUT", "distance_to_rivers"),
            ("1_LITHOLOGY_RASTER", "OUTPUT", "lithology")]):
        renamed.append(builder.add_child(
            f"1_NAME_{name.upper()}", "native:renamelayer", f"Band name: {name}",
            {"INPUT": _child(child_id, output), "NAME": _static(name)},
            (120 + 260 * index, 360)))
    slope, aspect, faults, rivers, lithology = renamed
    return builder.add_child("2_ALIGN", "landslide:alignfactors", "Align factors (stack)", {
        "CONTINUOUS_FACTORS": [_param("DEM"), _child(slope, "OUTPUT"),
                               _child(faults, "OUTPUT"), _child(rivers, "OUTPUT"),
                               _param("PRECIPITATION"), _param("NDVI")],
        "CATEGORICAL_FACTORS": [_child(aspect, "OUTPUT"), _child(lithology, "OUTPUT"),
                                _param("LANDUSE")]},
        (380, 460), {"Factor stack": ("OUTPUT",
                                      "The factor stack (multi-band GeoTIFF on the DEM's grid): "
                                      "dem, slope, distance_to_faults, distance_to_rivers, "
                                      "precipitation, ndvi, aspect, lithology, land use.")})


def add_samples_child(builder, position):
    return builder.add_child("5_SAMPLES", "landslide:buildsamples", "Build samples", {
        "STACK": _child("2_ALIGN", "OUTPUT"), "INVENTORY": _param("INVENTORY"),
        "PATCH_SIZE": _param("PATCH_SIZE"), "SAMPLES_PER_CLASS": _param("SAMPLES_PER_CLASS"),
        "SPLIT_METHOD": _param("SPLIT_METHOD"), "SEED": _param("SEED"),
        **_defaults("landslide:buildsamples", "BLOCK_SIZE", "TRAIN_RATIO", "VALIDATION_RATIO",
                    "TEST_RATIO", "NEGATIVE_BUFFER")},
        position, {"Samples": ("OUTPUT",
                               "Patch centres (points) with label and split, styled by "
                               "label and split when loaded.")})


def training_defaults(algorithm_id):
    """The training settings a workflow does not expose, at their defaults."""
    from landslide_susceptibility.algorithms.training_parameters import TRAINING_KEYS

    return _defaults(algorithm_id, *[key for key in TRAINING_KEYS
                                     if key not in ("EPOCHS", "SEED")])


def add_map_children(builder, model_source, position):
    """predict → classify from ``model_source`` (a child parameter source)."""
    x, y = position
    builder.add_child("7_PREDICT", "landslide:predictsusceptibility",
                      "Predict susceptibility", {
                          "MODEL": model_source, "STACK": _child("2_ALIGN", "OUTPUT"),
                          **_defaults("landslide:predictsusceptibility", "BATCH_SIZE",
                                      "STRIDE")},
                      (x, y), {"Susceptibility (probability)": (
                          "OUTPUT", "Landslide probability of every pixel (0..1), shown with "
                          "a green-to-red ramp.")})
    builder.add_child("8_CLASSIFY", "landslide:classifysusceptibility",
                      "Classify susceptibility", {
                          "SUSCEPTIBILITY": _child("7_PREDICT", "OUTPUT"),
                          "INVENTORY": _param("INVENTORY"),
                          **_defaults("landslide:classifysusceptibility", "METHOD"),
                          "BREAKS": _static("")},
                      (x, y + 120), {
                          "Susceptibility classes": (
                              "OUTPUT", "Five classes, Very low … Very high (natural "
                              "breaks), with a paletted style."),
                          "Class statistics": ("OUTPUT_TABLE",
                                               "Per class: cells, area, landslide cells, "
                                               "landslide density, frequency ratio."),
                          "Classification report": ("OUTPUT_REPORT",
                                                    "HTML report: table, success-rate curve "
                                                    "and its AUC, histogram with the breaks, "
                                                    "map.")})


def paper_workflow(path):
    builder = ModelBuilder(PAPER_NAME)
    add_factor_inputs(builder)
    model = builder.add_input(step_input("landslide:trainmodel", "MODEL", "Model"),
                              "Architecture to train (the paper's model: CTLGNet).")
    settings = add_sample_inputs(builder)
    add_factor_children(builder)
    builder.add_child("3_VIF", "landslide:multicollinearity", "Multicollinearity (VIF)", {
        "STACK": _child("2_ALIGN", "OUTPUT"),
        **_defaults("landslide:multicollinearity", "SAMPLE_SIZE", "SEED")},
        (120, 560), {"Multicollinearity report": (
            "OUTPUT_REPORT", "VIF and tolerance per factor with the correlation heat map.")})
    builder.add_child("4_IMPORTANCE", "landslide:factorimportance", "Factor importance", {
        "STACK": _child("2_ALIGN", "OUTPUT"), "INVENTORY": _param("INVENTORY"),
        "SEED": _param("SEED"),
        **_defaults("landslide:factorimportance", "SAMPLE_SIZE", "TREES")},
        (120, 660), {"Factor importance report": (
            "OUTPUT_REPORT", "Random-forest Gini and permutation importance per factor.")})
    add_samples_child(builder, (640, 560))
    training = dict(training_defaults("landslide:trainmodel"),
                    STACK=_child("2_ALIGN", "OUTPUT"), SAMPLES=_child("5_SAMPLES", "OUTPUT"),
                    MODEL=_param(model), EPOCHS=_param("EPOCHS"), SEED=_param("SEED"))
    builder.add_child("6_TRAIN", "landslide:trainmodel", "Train model", training,
                      (640, 680), {
                          "Trained model": ("OUTPUT_MODEL",
                                            "The trained model (.keras) with its model card."),
                          "Test metrics": ("OUTPUT_METRICS",
                                           "OA, precision, recall, F1, MCC, kappa, AUC, "
                                           "RMSE, MAE, Brier on the test split."),
                          "Training report": ("OUTPUT_REPORT",
                                              "Training curves, metrics, ROC, confusion "
                                              "matrix, model card, leakage.")})
    add_map_children(builder, _child("6_TRAIN", "OUTPUT_MODEL"), (640, 840))
    description = (
        "The paper's method with its nine factors, laid out as a model to open and edit "
        "in the graphical modeler (right-click › Edit Model…, then save a copy under your "
        "own name). To run the method with the factors you have, use 'Susceptibility "
        "workflow (factors to classes)' instead: every factor there is optional but the "
        "DEM.<br>"
        "1. <b>factors</b>: slope and aspect classes from the DEM, distances to faults and "
        "rivers, lithology polygons rasterized, all aligned into one factor stack on the "
        "DEM's grid ('Preprocessing of data');<br>"
        "2. <b>factor selection</b> reports: multicollinearity (VIF, TOL) and random-forest "
        "importance ('LCFs selection');<br>"
        "3. <b>samples</b>: balanced landslide / non-landslide patch centres, 6:2:2 split "
        "('Building a landslide dataset');<br>"
        "4. <b>training</b> of the chosen architecture (CTLGNet by default) in the engine, "
        "metrics on the test split ('Model evaluation');<br>"
        "5. <b>prediction</b> of the landslide probability of every pixel and "
        "<b>classification</b> into five classes by natural breaks with landslide density "
        "per class ('Landslide susceptibility mapping').<br>"
        "Every input is required (the paper's nine factors). The settings' defaults are "
        f"the steps' own ({settings}); the paper used 72-pixel patches, 10000 samples per "
        "class and 100 epochs (hours on a CPU). The outputs are listed in the order the "
        "steps write them (the number before each step's name).")
    return builder.save(description, path)


def compare_workflow(path):
    builder = ModelBuilder(COMPARE_NAME)
    add_factor_inputs(builder)
    models = builder.add_input(
        step_input("landslide:comparemodels", "MODELS", "Models to compare"),
        "Models trained and compared (default: the six networks and the five classical "
        "models).")
    settings = add_sample_inputs(builder)
    folds = builder.add_input(
        step_input("landslide:comparemodels", "FOLDS", "Folds (k)"),
        "Spatial k-fold: how many folds, at most the number of 1000-unit blocks that "
        "hold landslides (lower it for a small area).")
    add_factor_children(builder)
    add_samples_child(builder, (640, 560))
    training = dict(training_defaults("landslide:comparemodels"),
                    STACK=_child("2_ALIGN", "OUTPUT"), SAMPLES=_child("5_SAMPLES", "OUTPUT"),
                    MODELS=_param(models), EPOCHS=_param("EPOCHS"), SEED=_param("SEED"),
                    FOLDS=_param(folds))
    builder.add_child("6_COMPARE", "landslide:comparemodels", "Compare models",
                      training, (640, 680), {
                          "Trained models (folder)": ("OUTPUT_FOLDER",
                                                      "One NAME.keras model and NAME.html "
                                                      "report per architecture."),
                          "Comparison table": ("OUTPUT_TABLE",
                                               "The paper's Table 2 for this data: metrics, "
                                               "parameters, FLOPs, training time."),
                          "Comparison report": ("OUTPUT_REPORT",
                                                "The table with the best model per metric "
                                                "marked and all ROC curves.")})
    description = (
        "The paper's comparison of models (its Table 2) on your data, validated the "
        "honest way:<br>"
        "1. factors, factor stack and samples as in the paper's workflow model;<br>"
        "2. <b>CNN, ResNet18, DenseNet-BC, ViT, FrIT, CTLGNet</b> and the classical "
        "models (logistic regression, random forest, gradient boosting, frequency ratio, "
        "weights of evidence; Models to compare) trained with the same samples and "
        "settings and evaluated by spatial 5-fold cross-validation: one table row per "
        "model with every metric as mean and sd over the folds, the paired tests against "
        "the best model and a verdict; per-fold AUC box plots and pooled ROC curves.<br>"
        "3. Then map with the best one: 'Predict landslide susceptibility' with "
        "&lt;folder&gt;/&lt;best&gt;.keras (or .skops) from Trained models (folder), refit "
        "on all samples (the log and the "
        "table name the best model) and 'Classify susceptibility'.<br>"
        f"The settings' defaults are the steps' own ({settings}). Training the "
        "networks with the paper's settings takes many hours on a CPU.")
    return builder.save(description, path)


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=MODELS_DIR, help="folder (default: %(default)s)")
    folder = parser.parse_args().output
    app, _provider = _qgis()
    written = [paper_workflow(os.path.join(folder, "paperworkflow.model3")),
               compare_workflow(os.path.join(folder, "compareworkflow.model3"))]
    for path in written:
        print("wrote", path)
    app.exitQgis()


if __name__ == "__main__":
    main()
