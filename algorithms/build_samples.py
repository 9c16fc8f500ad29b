"""landslide:buildsamples: balanced, split patch centres as a point layer."""

from qgis.core import QgsProcessing, QgsProcessingParameterVectorDestination

from ..core.build_samples import build_samples
from ..core.samples import summary_text
from ..core.specs.samples import (
    DEFAULT_PATCH_SIZE,
    MAX_OVERSAMPLING,
    RATIOS,
    SAMPLES_PER_CLASS,
    SamplesSpec,
)
from .base import LandslideAlgorithm, run_core
from .inputs import inventory_source, stack_source
from .outputs import add_outputs, push_warnings
from .spec_parameters import add_spec_parameters, read_spec
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
        f"differs. <b>PATCH_SIZE</b> ({DEFAULT_PATCH_SIZE}). <b>SAMPLES_PER_CLASS</b> "
        f"({SAMPLES_PER_CLASS}): centres are drawn "
        "without replacement; with fewer pixels every one is used, then repeated evenly, each "
        "repeat in the split of its first draw (no centre is in two splits); the log and the "
        "layer metadata count the repeats; more than "
        f"{MAX_OVERSAMPLING} × a class's pixels is refused. "
        "<b>SPLIT_METHOD</b>: 0 random, as in the paper; "
        "1 spatial blocks of BLOCK_SIZE map units assigned to the splits by ratio, with a "
        "half-patch buffer so that no test patch overlaps a training patch. "
        f"<b>TRAIN/VALIDATION/TEST_RATIO</b> ({':'.join(f'{r:g}' for r in RATIOS)}). "
        "<b>NEGATIVE_BUFFER</b>: map units kept "
        "free around landslides when drawing non-landslide centres. <b>SEED</b>: same seed, "
        "same samples.<br>"
        "<b>Leakage</b>: overlapping patches share pixels, so with the random split test "
        "patches that overlap training patches inflate test scores. The share of such test "
        "patches is always reported (log, layer metadata, training report).<br>"
        "<b>Border rule</b>: centres near the raster edge are kept; their patches are "
        "completed by reflect padding (mirroring without repeating the edge pixel). "
        "Training, evaluation and prediction use the same rule.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, SamplesSpec)
        self.addParameter(QgsProcessingParameterVectorDestination(
            "OUTPUT", "Samples", QgsProcessing.TypeVectorPoint))
        add_outputs(self, values=[
            ("LEAKAGE", float, "Leakage (share of test patches overlapping training)"),
            ("SAMPLE_COUNT", float, "Samples written")])

    def process(self, parameters, context, feedback):
        stack = stack_source(self, parameters, context)
        inventory, layer_name, kind = inventory_source(self, parameters, "INVENTORY",
                                                       context, feedback)
        spec = read_spec(self, SamplesSpec, parameters, context, stack=stack,
                         inventory=inventory)
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        result = run_core(
            build_samples, feedback, stack, inventory, output, patch_size=spec.patch_size,
            samples_per_class=spec.samples_per_class,
            split_method=spec.split_method,
            block_size=spec.block_size, ratios=spec.ratios,
            negative_buffer=spec.negative_buffer, seed=spec.seed, layer_name=layer_name,
            kind=kind)
        push_warnings(feedback, result["warnings"])
        summary = result["summary"]
        feedback.pushInfo(summary_text(summary))
        style_output_on_load(context, output, "samples")
        return {"OUTPUT": output, "LEAKAGE": summary["leakage"],
                "SAMPLE_COUNT": summary["total"]}
