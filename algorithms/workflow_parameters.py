"""The parameters of ``landslide:susceptibilityworkflow``: the factors the user
has (all optional except the DEM), the inventory, the settings of the steps
(copies of the steps' own definitions: one definition of each label and default) and
the outputs in the order the workflow writes them."""

import functools

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
)

from ..core.specs.training import HTML_FILTER
from .build_samples import BuildSamples
from .outputs import add_outputs
from .train_model import TrainModel

# The settings the workflow exposes, (step, key), in the dialog's order: copies of
# the steps' own definitions (label, default, range, choices, help). The other
# settings of the steps keep the steps' defaults.
SETTINGS = [(TrainModel, "MODEL"), (BuildSamples, "PATCH_SIZE"),
            (BuildSamples, "SAMPLES_PER_CLASS"), (BuildSamples, "SPLIT_METHOD"),
            (BuildSamples, "BLOCK_SIZE"), (TrainModel, "EPOCHS"), (TrainModel, "SEED")]
ADVANCED = ("BLOCK_SIZE",)  # shown under Advanced parameters here

# (key, label, kind, help) in the order the workflow writes them. Optional
# outputs: their step is skipped when the output is.
OUTPUTS = [
    ("OUTPUT_STACK", "Factor stack", "raster",
     "All factors on the DEM's grid, one band each (the bands are named after the "
     "factors)."),
    ("OUTPUT_VIF_REPORT", "Multicollinearity report", "report_optional",
     "VIF and tolerance of every factor with the correlation heat map (skip it to save "
     "the step)."),
    ("OUTPUT_IMPORTANCE_REPORT", "Factor importance report", "report_optional",
     "Random-forest importance of every factor (skip it to save the step)."),
    ("OUTPUT_SAMPLES", "Samples", "points",
     "Patch centres with their label (landslide or not) and split (training, validation, "
     "test)."),
    ("OUTPUT_MODEL", "Trained model", "model",
     "The trained model with its model card. By default it is saved beside the samples "
     "(or the factor stack) and named after the model; the log warns when it is a "
     "temporary file, which QGIS deletes when it closes."),
    ("OUTPUT_METRICS", "Test metrics", "table",
     "Accuracy, precision, recall, F1, MCC, kappa, AUC… on the test samples."),
    ("OUTPUT_TRAINING_REPORT", "Training report", "report",
     "Training curves, test metrics, ROC curve, confusion matrix and model card."),
    ("OUTPUT_PROBABILITY", "Susceptibility (probability)", "raster",
     "Landslide probability (0 to 1) of every pixel."),
    ("OUTPUT_CLASSES", "Susceptibility classes", "raster",
     "Five classes, Very low to Very high (natural breaks by default)."),
    ("OUTPUT_CLASS_TABLE", "Class statistics", "table",
     "Per class: area, landslide cells, landslide density and frequency ratio."),
    ("OUTPUT_CLASS_REPORT", "Classification report", "report",
     "The class table, success-rate curve, histogram with the breaks and a map."),
]
OUTPUT_LABELS = {key: label for key, label, _kind, _help in OUTPUTS}

VALUES = [("FACTORS", str, "Factors (band order)"), ("TEST_AUC", float, "Test AUC"),
          ("SUCCESS_AUC", float, "Success-rate AUC"),
          ("CANCELLED", bool, "Stopped early by cancel")]


def add_parameters(algorithm):
    """All parameters and outputs of the workflow, in the dialog's order."""
    for definition in factor_parameters():
        algorithm.addParameter(definition)
    algorithm.addParameter(step_definition(BuildSamples, "INVENTORY"))
    for step, key in SETTINGS:
        definition = step_definition(step, key)
        if key in ADVANCED:
            _advanced(definition)
        if hasattr(definition, "setParentParameterName"):  # distances: in the DEM's units
            definition.setParentParameterName("DEM")
        algorithm.addParameter(definition)
    for key, label, kind, help_text in OUTPUTS:
        algorithm.addParameter(_with_help(output_parameter(key, label, kind), help_text))
    add_outputs(algorithm, values=VALUES)


def factor_parameters():
    """DEM, features to measure distance to, other rasters, lithology polygons."""
    optional = {"optional": True}
    return [
        _with_help(QgsProcessingParameterRasterLayer("DEM", "DEM (elevation)"),
                   "Elevation raster, best in a projected CRS in metres. Its grid (CRS, cell "
                   "size, extent) is the factor stack's grid. Elevation is a factor; slope "
                   "and aspect are derived from it."),
        _with_help(QgsProcessingParameterMultipleLayers(
            "DISTANCE_LAYERS", "Features to measure distance to",
            QgsProcessing.TypeVectorAnyGeometry, **optional),
            "Any number of line, point or polygon layers. Each gives one factor, the "
            "distance to its nearest feature, named after the layer (faults: "
            "distance_to_faults)."),
        _with_help(QgsProcessingParameterMultipleLayers(
            "CONTINUOUS_FACTORS", "Other continuous factors",
            QgsProcessing.TypeRaster, **optional),
            "Rasters such as precipitation or NDVI, in any CRS and resolution (resampled "
            "bilinearly). The factor is named after the layer."),
        _with_help(QgsProcessingParameterMultipleLayers(
            "CATEGORICAL_FACTORS", "Categorical factors",
            QgsProcessing.TypeRaster, **optional),
            "Rasters of integer classes such as land use (resampled by nearest "
            "neighbour). The factor is named after the layer."),
        _with_help(QgsProcessingParameterVectorLayer(
            "LITHOLOGY", "Lithology (polygons)", [QgsProcessing.TypeVectorPolygon],
            **optional),
            "Lithology polygons, rasterized on the DEM's grid into the categorical factor "
            "'lithology'."),
        _with_help(QgsProcessingParameterField(
            "LITHOLOGY_FIELD", "Lithology class field", parentLayerParameterName="LITHOLOGY",
            type=QgsProcessingParameterField.Numeric, **optional),
            "Integer field of the lithology classes (values above 0; 0 is no data). "
            "Needed with lithology polygons."),
        _advanced(_with_help(QgsProcessingParameterNumber(
            "LITHOLOGY_CELL_SIZE", "Lithology cell size (0 = the DEM's)",
            QgsProcessingParameterNumber.Double, 0.0, minValue=0.0, **optional),
            "Cell size of the rasterized lithology in the DEM's map units; 0 (the default) "
            "uses the DEM's cell size.")),
    ]


@functools.cache
def _step(algorithm_class):
    return algorithm_class().create()


def step_definition(algorithm_class, key):
    """A copy of the parameter ``key`` of the step ``algorithm_class``."""
    return _step(algorithm_class).parameterDefinition(key).clone()


def output_parameter(key, label, kind):
    """The destination parameter of one output. Outputs left out are temporary
    files, except the optional reports (their steps are skipped) and the trained
    model (Train's default: beside the samples)."""
    if kind == "model":
        definition = step_definition(TrainModel, "OUTPUT_MODEL")
        definition.setDescription(label)
        return definition
    if kind == "report_optional":
        return QgsProcessingParameterFileDestination(key, label, HTML_FILTER, optional=True,
                                                     createByDefault=True)
    if kind == "raster":
        definition = QgsProcessingParameterRasterDestination(key, label)
    elif kind == "points":
        definition = QgsProcessingParameterVectorDestination(key, label,
                                                             QgsProcessing.TypeVectorPoint)
    elif kind == "table":
        definition = QgsProcessingParameterFeatureSink(key, label, QgsProcessing.TypeVector)
    else:
        definition = QgsProcessingParameterFileDestination(key, label, HTML_FILTER)
    definition.setDefaultValue(QgsProcessing.TEMPORARY_OUTPUT)
    return definition


def _with_help(definition, text):
    definition.setHelp(text)
    return definition


def _advanced(definition):
    definition.setFlags(definition.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return definition
