"""landslide:predictsusceptibility: the susceptibility map of a stack with a trained model."""

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import LandslideAlgorithm
from .engine_runner import run_engine
from .model_check import check_model_against_stack
from .outputs import raster_source
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
        "<b>BATCH_SIZE</b> (default 256): patches per model call; lower it if memory is "
        "short. It does not change the result.<br>"
        "<b>STRIDE</b> (default 1 = every pixel): with s &gt; 1 the model runs only on every "
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

    def initAlgorithm(self, config=None):  # noqa: N802
        integer = QgsProcessingParameterNumber.Integer
        self.addParameter(QgsProcessingParameterFile(
            "MODEL", "Trained model (.keras)", extension="keras"))
        self.addParameter(QgsProcessingParameterRasterLayer("STACK", "Factor stack"))
        self.addParameter(QgsProcessingParameterNumber(
            "BATCH_SIZE", "Batch size (patches per model call)", integer, 256, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            "STRIDE", "Stride (1 = every pixel; s > 1 interpolates between every s-th pixel)",
            integer, 1, minValue=1))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT", "Landslide susceptibility (probability)"))
        self.addOutput(QgsProcessingOutputNumber("VALID_PIXELS", "Valid pixels predicted"))
        self.addOutput(QgsProcessingOutputString("EVALUATION", "Evaluation path"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        model = self.parameterAsFile(parameters, "MODEL", context)
        stack = raster_source(self.parameterAsRasterLayer(parameters, "STACK", context),
                              "factor stack (STACK)")
        batch_size = self.parameterAsInt(parameters, "BATCH_SIZE", context)
        stride = self.parameterAsInt(parameters, "STRIDE", context)
        if stride < 1:
            raise QgsProcessingException(f"STRIDE must be at least 1 (1 = every pixel), "
                                         f"not {stride}.")
        if batch_size < 1:
            raise QgsProcessingException(f"BATCH_SIZE must be at least 1, not {batch_size}.")
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        card = check_model_against_stack(model, stack)
        feedback.pushInfo(f"Model {card['model']}, {card['patch_size']} x "
                          f"{card['patch_size']} patches of {len(card['factors'])} factors.")
        result = run_engine("predict", {"model": model, "stack": stack, "output": output,
                                        "batch_size": batch_size, "stride": stride},
                            feedback)
        if result.get("cancelled"):
            return {}
        write_style_sidecar(output, "probability")
        style_output_on_load(context, output, "probability")
        return {"OUTPUT": output, "VALID_PIXELS": result.get("valid_pixels"),
                "EVALUATION": result.get("evaluation_note", "")}
