"""landslide:buildsamples: balanced, split patch centres as a point layer."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDistance,
    QgsProcessingParameterEnum,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorDestination,
)

from ..core.build_samples import build_samples
from ..core.samples import summary_text
from .base import LandslideAlgorithm, run_core
from .inputs import INVENTORY_TYPES, inventory_source
from .outputs import push_warnings, raster_source
from .styling import style_output_on_load


class BuildSamples(LandslideAlgorithm):
    NAME = "buildsamples"
    DISPLAY_NAME = "Build landslide samples"
    GROUP = "samples"
    ICON = "samples"
    HELP = (
        "The paper's 'Building a landslide dataset': centres of PATCH_SIZE x PATCH_SIZE x C "
        "patches on randomly chosen landslide pixels and as many non-landslide pixels, split "
        "into training, validation and test sets.<br>"
        "<b>Output</b>: a point layer (GeoPackage) of patch centres with fields <i>label</i> "
        "(1 landslide, 0 not), <i>split</i> (train/validation/test), <i>row</i>, <i>col</i>. "
        "The dataset is this layer plus the stack: patches are cut on the fly when training, "
        "so you can see and edit the samples on the map.<br>"
        "<b>STACK</b>: the factor stack. <b>INVENTORY</b>: landslide polygons, points (the "
        "cell under each point) or a raster mask (1 = landslide), reprojected if its CRS "
        "differs. <b>PATCH_SIZE</b> (72). <b>SAMPLES_PER_CLASS</b> (10000): centres are drawn "
        "without replacement; with fewer landslide pixels they are drawn with replacement "
        "and a warning gives the numbers. <b>SPLIT_METHOD</b>: 0 random, as in the paper; "
        "1 spatial blocks of BLOCK_SIZE map units assigned to the splits by ratio, with a "
        "half-patch buffer so that no test patch overlaps a training patch. "
        "<b>TRAIN/VALIDATION/TEST_RATIO</b> (6:2:2). <b>NEGATIVE_BUFFER</b>: map units kept "
        "free around landslides when drawing non-landslide centres. <b>SEED</b>: same seed, "
        "same samples.<br>"
        "<b>Leakage</b>: overlapping patches share pixels, so with the random split test "
        "patches that overlap training patches inflate test scores. The share of such test "
        "patches is always reported (log, layer metadata, training report).<br>"
        "<b>Border rule</b>: centres near the raster edge are kept; their patches are "
        "completed by reflect padding (mirroring without repeating the edge pixel). "
        "Training, evaluation and prediction use the same rule.")

    STACK = "STACK"
    INVENTORY = "INVENTORY"
    PATCH_SIZE = "PATCH_SIZE"
    SAMPLES_PER_CLASS = "SAMPLES_PER_CLASS"
    SPLIT_METHOD = "SPLIT_METHOD"
    BLOCK_SIZE = "BLOCK_SIZE"
    TRAIN_RATIO = "TRAIN_RATIO"
    VALIDATION_RATIO = "VALIDATION_RATIO"
    TEST_RATIO = "TEST_RATIO"
    NEGATIVE_BUFFER = "NEGATIVE_BUFFER"
    SEED = "SEED"
    OUTPUT = "OUTPUT"
    LEAKAGE = "LEAKAGE"
    SAMPLE_COUNT = "SAMPLE_COUNT"

    def initAlgorithm(self, config=None):  # noqa: N802
        integer = QgsProcessingParameterNumber.Integer
        double = QgsProcessingParameterNumber.Double
        self.addParameter(QgsProcessingParameterRasterLayer(self.STACK, "Factor stack"))
        self.addParameter(QgsProcessingParameterMapLayer(
            self.INVENTORY, "Landslide inventory (polygons, points or raster mask)",
            types=INVENTORY_TYPES))
        self.addParameter(QgsProcessingParameterNumber(
            self.PATCH_SIZE, "Patch size (pixels)", integer, 72, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.SAMPLES_PER_CLASS, "Samples per class", integer, 10000, minValue=1))
        self.addParameter(QgsProcessingParameterEnum(
            self.SPLIT_METHOD, "Split method",
            ["Random (as in the paper)", "Spatial blocks (no leakage)"], defaultValue=0))
        self.addParameter(QgsProcessingParameterDistance(
            self.BLOCK_SIZE, "Block size for the spatial split", 1000.0, self.STACK,
            minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TRAIN_RATIO, "Training ratio", double, 6, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.VALIDATION_RATIO, "Validation ratio", double, 2, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TEST_RATIO, "Test ratio", double, 2, minValue=0))
        self.addParameter(QgsProcessingParameterDistance(
            self.NEGATIVE_BUFFER, "Buffer kept free around landslides for non-landslide "
            "centres", 0.0, self.STACK, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, "Random seed", integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUTPUT, "Samples", QgsProcessing.TypeVectorPoint))
        self.addOutput(QgsProcessingOutputNumber(self.LEAKAGE, "Leakage (share of test "
                                                               "patches overlapping training)"))
        self.addOutput(QgsProcessingOutputNumber(self.SAMPLE_COUNT, "Samples written"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        stack = raster_source(self.parameterAsRasterLayer(parameters, self.STACK, context),
                              "factor stack (STACK)")
        inventory, layer_name, kind = inventory_source(self, parameters, self.INVENTORY,
                                                       context, feedback)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        split_method = self.parameterAsEnum(parameters, self.SPLIT_METHOD, context)
        result = run_core(
            build_samples, feedback, stack, inventory, output,
            patch_size=self.parameterAsInt(parameters, self.PATCH_SIZE, context),
            samples_per_class=self.parameterAsInt(parameters, self.SAMPLES_PER_CLASS, context),
            split_method=split_method,
            block_size=self.parameterAsDouble(parameters, self.BLOCK_SIZE, context),
            ratios=tuple(self.parameterAsDouble(parameters, key, context) for key in
                         (self.TRAIN_RATIO, self.VALIDATION_RATIO, self.TEST_RATIO)),
            negative_buffer=self.parameterAsDouble(parameters, self.NEGATIVE_BUFFER, context),
            seed=self.parameterAsInt(parameters, self.SEED, context),
            layer_name=layer_name, kind=kind)
        if result is None:
            return {}
        push_warnings(feedback, result["warnings"])
        summary = result["summary"]
        feedback.pushInfo(summary_text(summary))
        style_output_on_load(context, output, "samples")
        return {self.OUTPUT: output, self.LEAKAGE: summary["leakage"],
                self.SAMPLE_COUNT: summary["total"]}
