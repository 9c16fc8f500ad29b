"""landslide:buildsamples: balanced, split patch centres as a point layer."""

from qgis.core import QgsProcessing, QgsProcessingParameterVectorDestination

from ..core.build_samples import build_samples
from ..core.samples import summary_text
from ..core.specs.samples import (
    MAX_OVERSAMPLING,
    PAPER_PATCH_SIZE,
    PAPER_SAMPLES_PER_CLASS,
    SamplesSpec,
)
from .base import LandslideAlgorithm, run_core
from .inputs import area_source, inventory_source, stack_source
from .outputs import add_outputs, push_warnings
from .spec_parameters import add_spec_parameters, read_spec
from .styling import style_output_on_load


class BuildSamples(LandslideAlgorithm):
    NAME = "buildsamples"
    DISPLAY_NAME = "Build landslide samples"
    GROUP = "samples"
    ICON = "samples"
    HELP = (
        "The paper's 'Building a landslide dataset': centres of square patches on randomly "
        "chosen landslide cells and as many other cells, split into training, validation "
        "and test sets. The result is a point layer: patches are cut from the stack on the "
        "fly when training, so the samples can be seen and edited on the map.<br>"
        f"The defaults finish in minutes; the paper used {PAPER_PATCH_SIZE} × "
        f"{PAPER_PATCH_SIZE} patches, {PAPER_SAMPLES_PER_CLASS:,} samples per class and a "
        "random split.")
    NOTES = (
        "<b>Leakage</b>: overlapping patches share cells, so with the random split test "
        "patches that overlap training patches inflate the test scores. The share of such "
        "test patches is reported in the log, the layer's metadata and the training report, "
        "and training warns when it is high. The spatial split leaves a half-patch gap "
        "between blocks of different splits, so it is 0.<br>"
        "<b>Repeats</b>: centres are drawn without replacement; with fewer cells than asked "
        "every one is used, then repeated evenly, each repeat in the split of its first "
        f"draw; more than {MAX_OVERSAMPLING} times a class's cells is refused.<br>"
        "<b>Border rule</b>: centres near the raster edge are kept; their patches are "
        "completed by reflect padding (mirroring without repeating the edge cell), as in "
        "training, evaluation and prediction.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, SamplesSpec)
        output = QgsProcessingParameterVectorDestination(
            "OUTPUT", "Samples", QgsProcessing.TypeVectorPoint)
        output.setHelp("Point layer (GeoPackage) of the patch centres: label (1 landslide, "
                       "0 not), split (train, validation, test), row, col")
        self.addParameter(output)
        add_outputs(self, values=[
            ("LEAKAGE", float, "Leakage (share of test patches overlapping training)"),
            ("SAMPLE_COUNT", float, "Samples written")])

    def process(self, parameters, context, feedback):
        stack = stack_source(self, parameters, context)
        inventory, layer_name, kind = inventory_source(self, parameters, "INVENTORY",
                                                       context, feedback)
        area, area_layer, area_kind = area_source(self, parameters, "MAPPED_AREA", context,
                                                  feedback)
        spec = read_spec(self, SamplesSpec, parameters, context, stack=stack,
                         inventory=inventory, mapped_area=area or "")
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        result = run_core(
            build_samples, feedback, stack, inventory, output, patch_size=spec.patch_size,
            samples_per_class=spec.samples_per_class,
            split_method=spec.split_method,
            block_size=spec.block_size, ratios=spec.ratios,
            negative_buffer=spec.negative_buffer, seed=spec.seed, layer_name=layer_name,
            kind=kind, mapped_area=area, area_layer_name=area_layer, area_kind=area_kind)
        push_warnings(feedback, result["warnings"])
        summary = result["summary"]
        feedback.pushInfo(summary_text(summary))
        style_output_on_load(context, output, "samples")
        return {"OUTPUT": output, "LEAKAGE": summary["leakage"],
                "SAMPLE_COUNT": summary["total"]}
