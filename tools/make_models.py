#!/usr/bin/env python3
"""Generate the workflow models shipped with the provider (resources/models/*.model3).

The models are built with QGIS's model API (QgsProcessingModelAlgorithm,
QgsProcessingModelChildAlgorithm, …) and saved with ``toFile``; the generated
files are committed. Run after changing an algorithm's parameters::

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/make_models.py

- ``susceptibilityworkflow``: factors + inventory → derive → align → VIF and
  importance reports → samples → train (CTLGNet by default) → predict → classify;
- ``compareworkflow``: the same factors and samples → train and compare all six
  architectures (the paper's Table 2).

Outputs of derived factors are renamed (``native:renamelayer``) before the
stack is aligned, so the stack's bands are called slope, aspect,
distance_to_faults, … and not after temporary file names.
"""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO, "resources", "models")
GROUP = "0 · Workflows"
GROUP_ID = "workflows"
AUTHOR = "Landslide Susceptibility plugin"

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

        component = QgsProcessingModelParameter(definition.name())
        component.setDescription(definition.description())
        component.setPosition(QPointF(120 + 230 * (self.input_count % 7),
                                      60 + 90 * (self.input_count // 7)))
        self.input_count += 1
        self.model.addModelParameter(definition, component)
        self.inputs.append(definition.name())
        self.help[definition.name()] = help_text
        return definition.name()

    def add_child(self, child_id, algorithm_id, description, sources, position, outputs=None):
        """``sources``: {parameter: source or [sources]}; ``outputs``:
        {model output name: (child output, description, help)}."""
        from qgis.core import QgsProcessingModelChildAlgorithm, QgsProcessingModelOutput
        from qgis.PyQt.QtCore import QPointF

        child = QgsProcessingModelChildAlgorithm(algorithm_id)
        if child.algorithm() is None:
            raise SystemExit(f"Algorithm {algorithm_id} is not available.")
        child.setChildId(child_id)
        child.setDescription(description)
        child.setPosition(QPointF(*position))
        for name, value in sources.items():
            if child.algorithm().parameterDefinition(name) is None:
                raise SystemExit(f"{algorithm_id} has no parameter {name}.")
            child.addParameterSources(name, value if isinstance(value, list) else [value])
        model_outputs = {}
        for index, (key, (child_output, text, help_text)) in enumerate((outputs or {}).items()):
            output = QgsProcessingModelOutput(key, text)
            output.setChildId(child_id)
            output.setChildOutputName(child_output)
            output.setDefaultValue("TEMPORARY_OUTPUT")  # optional: a temporary file
            output.setPosition(QPointF(position[0] + 160, position[1] + 50 + 40 * index))
            model_outputs[key] = output
            self.help[f"{child_id}:{key}"] = help_text
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


def _algorithm(algorithm_id):
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry().algorithmById(algorithm_id)


def add_factor_inputs(builder):
    """The factor and inventory inputs shared by both models."""
    from qgis.core import (
        QgsProcessing,
        QgsProcessingParameterField,
        QgsProcessingParameterMapLayer,
        QgsProcessingParameterNumber,
        QgsProcessingParameterRasterLayer,
        QgsProcessingParameterVectorLayer,
    )

    builder.add_input(QgsProcessingParameterRasterLayer("DEM", "DEM (elevation)"),
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
        "Lithology polygons, rasterized with GDAL (gdal:rasterize) from the "
        "LITHOLOGY_FIELD over the DEM's extent into a categorical factor. "
        "(A lithology raster: run 'Align factors' yourself, or edit a copy of this model "
        "in the graphical modeler and connect the raster to the categorical factors.)")
    builder.add_input(QgsProcessingParameterField(
        "LITHOLOGY_FIELD", "Lithology class field (positive integers)",
        parentLayerParameterName="LITHOLOGY", type=QgsProcessingParameterField.Numeric),
        "Integer field of the lithology classes (values > 0; 0 is nodata).")
    builder.add_input(QgsProcessingParameterNumber(
        "LITHOLOGY_CELL_SIZE", "Cell size of the rasterized lithology (map units)",
        QgsProcessingParameterNumber.Double, 10.0, minValue=0.0000001),
        "Cell size in the lithology layer's map units (default 10); the raster is then "
        "resampled to the DEM's grid by nearest neighbour or mode.")
    builder.add_input(QgsProcessingParameterRasterLayer(
        "LANDUSE", "Land use (categorical raster)"),
        "Land-use classes (integer raster), a categorical factor.")
    builder.add_input(QgsProcessingParameterRasterLayer("NDVI", "NDVI"),
                      "NDVI raster in any CRS and resolution (resampled bilinearly).")
    builder.add_input(QgsProcessingParameterRasterLayer("PRECIPITATION", "Precipitation"),
                      "Precipitation raster in any CRS and resolution (resampled "
                      "bilinearly).")
    builder.add_input(QgsProcessingParameterMapLayer(
        "INVENTORY", "Landslide inventory (polygons, points or raster mask)",
        types=[QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint,
               QgsProcessing.TypeRaster]),
        "Landslides as polygons, points or a raster mask (1 = landslide), in any CRS: "
        "reprojected to the stack's CRS where needed.")


def add_sample_inputs(builder):
    from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber

    integer = QgsProcessingParameterNumber.Integer
    builder.add_input(QgsProcessingParameterNumber(
        "PATCH_SIZE", "Patch size (pixels)", integer, 72, minValue=16),
        "Side of the square patches cut around each sample (the paper: 72).")
    builder.add_input(QgsProcessingParameterNumber(
        "SAMPLES_PER_CLASS", "Samples per class", integer, 10000, minValue=1),
        "Landslide and as many non-landslide patch centres (default 10000 each).")
    builder.add_input(QgsProcessingParameterEnum(
        "SPLIT_METHOD", "Split method",
        ["Random (as in the paper)", "Spatial blocks (no leakage)"], defaultValue=0),
        "6:2:2 training/validation/test split: random as in the paper, or spatial blocks "
        "of 1000 map units (no test patch overlaps a training patch).")
    builder.add_input(QgsProcessingParameterNumber(
        "EPOCHS", "Epochs", integer, 100, minValue=1),
        "Training epochs (the paper: 100). The other training settings are the paper's: "
        "SGD with momentum 0.9, learning rate 0.001, batch 16, label smoothing 0.1, "
        "augmentation; the model with the best validation accuracy is kept.")
    builder.add_input(QgsProcessingParameterNumber(
        "SEED", "Random seed", integer, 0, minValue=0),
        "Seed of the samples, the split and the training: same seed, same results (CPU).")


def add_factor_children(builder):
    """derive → distances → rasterize → rename → align. Returns the align child id."""
    builder.add_child("TERRAIN", "landslide:deriveterrainfactors",
                      "Derive slope and aspect", {"DEM": _param("DEM"),
                                                  **_defaults("landslide:deriveterrainfactors",
                                                              "FLAT_THRESHOLD")}, (120, 300))
    builder.add_child("FAULT_DISTANCE", "landslide:distancetofeatures",
                      "Distance to faults", {"INPUT": _param("FAULTS"),
                                             "REFERENCE": _param("DEM")}, (350, 300))
    builder.add_child("RIVER_DISTANCE", "landslide:distancetofeatures",
                      "Distance to rivers", {"INPUT": _param("RIVERS"),
                                             "REFERENCE": _param("DEM")}, (580, 300))
    builder.add_child("LITHOLOGY_RASTER", "gdal:rasterize", "Rasterize lithology", {
        "INPUT": _param("LITHOLOGY"), "FIELD": _param("LITHOLOGY_FIELD"),
        "UNITS": _static(1), "WIDTH": _param("LITHOLOGY_CELL_SIZE"),
        "HEIGHT": _param("LITHOLOGY_CELL_SIZE"), "EXTENT": _param("DEM"),
        "NODATA": _static(0), "DATA_TYPE": _static(4), "INIT": _static(0),
        "INVERT": _static(False), "USE_Z": _static(False)}, (810, 300))
    renamed = []
    for index, (child_id, output, name) in enumerate([
            ("TERRAIN", "OUTPUT_SLOPE", "slope"), ("TERRAIN", "OUTPUT_ASPECT", "aspect"),
            ("FAULT_DISTANCE", "OUTPUT", "distance_to_faults"),
            ("RIVER_DISTANCE", "OUTPUT", "distance_to_rivers"),
            ("LITHOLOGY_RASTER", "OUTPUT", "lithology")]):
        renamed.append(builder.add_child(
            f"NAME_{name.upper()}", "native:renamelayer", f"Name the factor '{name}'",
            {"INPUT": _child(child_id, output), "NAME": _static(name)},
            (120 + 230 * index, 420)))
    slope, aspect, faults, rivers, lithology = renamed
    return builder.add_child("ALIGN", "landslide:alignfactors", "Align factors into a stack", {
        "CONTINUOUS_FACTORS": [_param("DEM"), _child(slope, "OUTPUT"),
                               _child(faults, "OUTPUT"), _child(rivers, "OUTPUT"),
                               _param("PRECIPITATION"), _param("NDVI")],
        "CATEGORICAL_FACTORS": [_child(aspect, "OUTPUT"), _child(lithology, "OUTPUT"),
                                _param("LANDUSE")]},
        (350, 540), {"STACK": ("OUTPUT", "Factor stack",
                               "The factor stack (multi-band GeoTIFF on the DEM's grid): "
                               "dem, slope, distance_to_faults, distance_to_rivers, "
                               "precipitation, ndvi, aspect, lithology, land use.")})


def add_samples_child(builder, position):
    return builder.add_child("SAMPLES", "landslide:buildsamples", "Build landslide samples", {
        "STACK": _child("ALIGN", "OUTPUT"), "INVENTORY": _param("INVENTORY"),
        "PATCH_SIZE": _param("PATCH_SIZE"), "SAMPLES_PER_CLASS": _param("SAMPLES_PER_CLASS"),
        "SPLIT_METHOD": _param("SPLIT_METHOD"), "SEED": _param("SEED"),
        **_defaults("landslide:buildsamples", "BLOCK_SIZE", "TRAIN_RATIO", "VALIDATION_RATIO",
                    "TEST_RATIO", "NEGATIVE_BUFFER")},
        position, {"SAMPLES": ("OUTPUT", "Samples",
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
    builder.add_child("PREDICT", "landslide:predictsusceptibility",
                      "Predict landslide susceptibility", {
                          "MODEL": model_source, "STACK": _child("ALIGN", "OUTPUT"),
                          **_defaults("landslide:predictsusceptibility", "BATCH_SIZE",
                                      "STRIDE")},
                      (x, y), {"PROBABILITY": (
                          "OUTPUT", "Susceptibility (probability)",
                          "Landslide probability of every pixel (0..1), shown with a "
                          "green-to-red ramp.")})
    builder.add_child("CLASSIFY", "landslide:classifysusceptibility",
                      "Classify susceptibility", {
                          "SUSCEPTIBILITY": _child("PREDICT", "OUTPUT"),
                          "INVENTORY": _param("INVENTORY"),
                          **_defaults("landslide:classifysusceptibility", "METHOD"),
                          "BREAKS": _static("")},
                      (x + 230, y + 120), {
                          "CLASSES": ("OUTPUT", "Susceptibility classes",
                                      "Five classes, Very low … Very high (natural breaks), "
                                      "with a paletted style."),
                          "CLASS_TABLE": ("OUTPUT_TABLE", "Class statistics",
                                          "Per class: cells, area, landslide cells, "
                                          "landslide density, frequency ratio."),
                          "CLASS_REPORT": ("OUTPUT_REPORT", "Classification report",
                                           "HTML report: table, success-rate curve and "
                                           "its AUC, histogram with the breaks, map.")})


def susceptibility_workflow(path):
    from qgis.core import QgsProcessingParameterEnum

    model = _algorithm("landslide:trainmodel").parameterDefinition("MODEL")
    names = model.options()
    builder = ModelBuilder("Susceptibility workflow (factors to classes)")
    add_factor_inputs(builder)
    builder.add_input(QgsProcessingParameterEnum(
        "MODEL", "Model", names, defaultValue=model.defaultValue()),
        "Architecture to train: " + ", ".join(names) + " (default "
        f"{names[model.defaultValue()]}, the paper's model).")
    add_sample_inputs(builder)
    add_factor_children(builder)
    builder.add_child("VIF", "landslide:multicollinearity", "Multicollinearity (VIF, TOL)", {
        "STACK": _child("ALIGN", "OUTPUT"),
        **_defaults("landslide:multicollinearity", "SAMPLE_SIZE", "SEED")},
        (120, 660), {"VIF_REPORT": (
            "OUTPUT_REPORT", "Multicollinearity report",
            "VIF and tolerance per factor with the correlation heat map.")})
    builder.add_child("IMPORTANCE", "landslide:factorimportance",
                      "Factor importance (random forest)", {
                          "STACK": _child("ALIGN", "OUTPUT"), "INVENTORY": _param("INVENTORY"),
                          "SEED": _param("SEED"),
                          **_defaults("landslide:factorimportance", "SAMPLE_SIZE", "TREES")},
                      (350, 780), {"IMPORTANCE_REPORT": (
                          "OUTPUT_REPORT", "Importance report",
                          "Random-forest Gini and permutation importance per factor.")})
    add_samples_child(builder, (580, 660))
    training = dict(training_defaults("landslide:trainmodel"),
                    STACK=_child("ALIGN", "OUTPUT"), SAMPLES=_child("SAMPLES", "OUTPUT"),
                    MODEL=_param("MODEL"), EPOCHS=_param("EPOCHS"), SEED=_param("SEED"))
    builder.add_child("TRAIN", "landslide:trainmodel", "Train landslide model", training,
                      (810, 780), {
                          "MODEL_FILE": ("OUTPUT_MODEL", "Trained model",
                                         "The trained model (.keras) with its model card."),
                          "TEST_METRICS": ("OUTPUT_METRICS", "Test metrics",
                                           "OA, precision, recall, F1, MCC, kappa, AUC, "
                                           "RMSE, MAE, Brier on the test split."),
                          "TRAINING_REPORT": ("OUTPUT_REPORT", "Training report",
                                              "Training curves, metrics, ROC, confusion "
                                              "matrix, model card, leakage.")})
    add_map_children(builder, _child("TRAIN", "OUTPUT_MODEL"), (580, 900))
    description = (
        "The whole method of the paper in one run, from conditioning factors and a "
        "landslide inventory to the five-class susceptibility map:<br>"
        "1. <b>factors</b>: slope and aspect classes from the DEM, distances to faults and "
        "rivers, lithology polygons rasterized, all aligned into one factor stack on the "
        "DEM's grid ('Preprocessing of data');<br>"
        "2. <b>factor selection</b> reports: multicollinearity (VIF, TOL) and random-forest "
        "importance ('LCFs selection');<br>"
        "3. <b>samples</b>: balanced landslide / non-landslide patch centres, 6:2:2 split "
        "('Building a landslide dataset');<br>"
        "4. <b>training</b> of the chosen architecture (CTLGNet by default) in the engine "
        "with the paper's settings, metrics on the test split ('Model evaluation');<br>"
        "5. <b>prediction</b> of the landslide probability of every pixel and "
        "<b>classification</b> into five classes by natural breaks with landslide density "
        "per class ('Landslide susceptibility mapping').<br>"
        "The factor selection reports are for you to read: the model uses all factors. "
        "To drop factors or change other settings, run the steps one by one or edit a copy "
        "of this model (resources/models/susceptibilityworkflow.model3) in the graphical "
        "modeler. Defaults are the paper's (72-pixel patches, 10000 samples per class, "
        "100 epochs): hours on a CPU; try PATCH_SIZE 24, SAMPLES_PER_CLASS 1000, EPOCHS 10 "
        "first.")
    return builder.save(description, path)


def compare_workflow(path):
    from qgis.core import QgsProcessingParameterEnum

    names = _algorithm("landslide:comparemodels").parameterDefinition("MODELS").options()
    builder = ModelBuilder("Compare all six architectures (workflow)")
    add_factor_inputs(builder)
    builder.add_input(QgsProcessingParameterEnum(
        "MODELS", "Models to compare", names, allowMultiple=True,
        defaultValue=list(range(len(names)))),
        "Architectures trained and compared (default all six: " + ", ".join(names) + ").")
    add_sample_inputs(builder)
    add_factor_children(builder)
    add_samples_child(builder, (580, 660))
    training = dict(training_defaults("landslide:comparemodels"),
                    STACK=_child("ALIGN", "OUTPUT"), SAMPLES=_child("SAMPLES", "OUTPUT"),
                    MODELS=_param("MODELS"), EPOCHS=_param("EPOCHS"), SEED=_param("SEED"))
    builder.add_child("COMPARE", "landslide:comparemodels", "Compare landslide models",
                      training, (810, 780), {
                          "MODELS_FOLDER": ("OUTPUT_FOLDER", "Folder of the trained models",
                                            "One NAME.keras model and NAME.html report per "
                                            "architecture."),
                          "COMPARISON_TABLE": ("OUTPUT_TABLE", "Comparison table",
                                               "The paper's Table 2 for this data: metrics, "
                                               "parameters, FLOPs, training time."),
                          "COMPARISON_REPORT": ("OUTPUT_REPORT", "Comparison report",
                                                "The table with the best model per metric "
                                                "marked and all ROC curves.")})
    description = (
        "The paper's comparison of the six architectures (its Table 2) on your data:<br>"
        "1. factors, factor stack and samples as in 'Susceptibility workflow';<br>"
        "2. <b>CNN, ResNet18, DenseNet-BC, ViT, FrIT and CTLGNet</b> (MODELS) trained with "
        "the same samples and settings and evaluated on the test split: one table row per "
        "model with OA, precision, recall, F1, MCC, kappa, AUC, RMSE, MAE, Brier, "
        "parameters, FLOPs and training time; all ROC curves on one plot.<br>"
        "3. Then map with the best one: 'Predict landslide susceptibility' with "
        "MODELS_FOLDER/&lt;best&gt;.keras (the log and the table name the best model by test "
        "AUC) and 'Classify susceptibility'.<br>"
        "Training six models with the paper's defaults takes many hours on a CPU: try "
        "PATCH_SIZE 24, SAMPLES_PER_CLASS 1000 and EPOCHS 10 first.")
    return builder.save(description, path)


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=MODELS_DIR, help="folder (default: %(default)s)")
    folder = parser.parse_args().output
    app, _provider = _qgis()
    written = [susceptibility_workflow(os.path.join(folder, "susceptibilityworkflow.model3")),
               compare_workflow(os.path.join(folder, "compareworkflow.model3"))]
    for path in written:
        print("wrote", path)
    app.exitQgis()


if __name__ == "__main__":
    main()
