"""landslide:predictsusceptibility: the susceptibility map of a stack with a trained model."""


from ..core.specs import PredictSpec, default_of
from .base import LandslideAlgorithm
from .engine_runner import run_engine
from .inputs import stack_source
from .model_check import check_model_against_stack
from .outputs import add_outputs
from .spec_parameters import add_spec_parameters, read_spec
from .styling import style_output_on_load, write_style_sidecar


class PredictSusceptibility(LandslideAlgorithm):
    NAME = "predictsusceptibility"
    DISPLAY_NAME = "Predict landslide susceptibility"
    GROUP = "maps"
    ICON = "predict"
    HELP = (
        "The paper's last step, 'Landslide susceptibility mapping': the trained model "
        "predicts the landslide probability of every pixel of the study area.<br>"
        "<b>MODEL</b>: a .keras file from 'Train landslide model'. Its model card gives the "
        "patch size, the factors in order with their categorical flags, and the "
        "normalisation statistics of the training split.<br>"
        "<b>STACK</b>: the factor stack from 'Align factors' (usually the one the model was "
        "trained on). It must have the model's factors with the same names, in the same "
        "order, with the same categorical flags; otherwise the algorithm stops and lists "
        "both.<br>"
        f"<b>BATCH_SIZE</b> (default {default_of(PredictSpec, 'batch_size')}): patches per model "
        "call; lower it if memory is "
        "short. It does not change the result.<br>"
        "<b>STRIDE</b> (1 = every pixel, the default): with s &gt; 1 the model runs only on every "
        "s-th row and column (plus the last ones) and the pixels between are filled by "
        "bilinear interpolation; valid pixels next to a nodata node are predicted directly. "
        "A speed/accuracy trade-off for large areas: about s² fewer model runs (the log "
        "says the expected speed-up), at the cost of detail finer than s pixels. The CNN is "
        "evaluated densely, so a stride brings it no speed-up.<br>"
        "<b>OUTPUT</b>: a float32 GeoTIFF on the stack's grid (same extent, cell size and "
        "CRS): the landslide probability in [0, 1] (the model's softmax output for the "
        "landslide class) for every pixel valid in all factors; -9999 (nodata) elsewhere. "
        "Tiled, DEFLATE-compressed, with overviews; band 'landslide_probability'; the model "
        "name is in the file's metadata.<br>"
        "How each pixel is computed (the same rule as training and evaluation): the "
        "patch centred on the pixel is normalised with the model card's statistics "
        "(Z-score; nodata becomes 0, the band mean), patches reaching past the raster edge "
        "are completed by reflect padding (the border rule of 'Build landslide samples'), "
        "and the model's output is the pixel's value. The raster is processed in tiles with "
        "a halo of half a patch, so memory does not grow with its size; models with a "
        "'valid' convolutional stem (CNN, CTLGNet, the ResNet-18 and DenseNet stems) share "
        "it between overlapping patches (dense evaluation, checked against per-patch "
        "evaluation to 1e-4). The map appears only when complete; cancel stops within "
        "seconds and leaves an existing OUTPUT untouched.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, PredictSpec, ["MODEL", "STACK", "BATCH_SIZE", "STRIDE",
                                                "OUTPUT"])
        add_outputs(self, values=[("VALID_PIXELS", float, "Valid pixels predicted"),
            ("EVALUATION", str, "Evaluation path")])

    def process(self, parameters, context, feedback):
        stack = stack_source(self, parameters, context)
        spec = read_spec(self, PredictSpec, parameters, context, stack=stack)
        card = check_model_against_stack(spec.model, spec.stack)
        feedback.pushInfo(f"Model {card['model']}, {card['patch_size']} x "
                          f"{card['patch_size']} patches of {len(card['factors'])} factors.")
        result = run_engine(spec, feedback)
        if result.cancelled:
            return {}
        write_style_sidecar(spec.output, "probability")
        style_output_on_load(context, spec.output, "probability")
        return {"OUTPUT": spec.output, "VALID_PIXELS": result.valid_pixels,
                "EVALUATION": result.evaluation_note}
