"""landslide:predictsusceptibility: the susceptibility map of a stack with a trained model."""


from ..core.ensemble import check_member_files
from ..core.specs import PredictSpec
from .base import LandslideAlgorithm
from .cluster_setting import scheduler_address
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
        "gives the landslide probability of every pixel of the stack. The map loads styled "
        "green (low) to red (high). With additional models (other seeds, or a "
        "cross-validation's folds) the map is their mean probability, a deep ensemble, and "
        "the uncertainty map their standard deviation: high where the models disagree.")
    NOTES = (
        "Each pixel's value is the model's output for the patch centred on it, normalised "
        "with the model card's statistics (nodata becomes the band mean), completed by "
        "reflect padding at the raster's edge: the rule of training and evaluation. The "
        "raster is processed in tiles, so memory does not grow with its size. Where the "
        "model allows it (CNN, the stems of CTLGNet, ResNet-18 and DenseNet), overlapping "
        "patches share their computation: the fast shared evaluation, checked against "
        "patch-by-patch evaluation before it is used. A network trained with 'Average "
        "over flips and turns' (the default) is mapped as the mean over the eight flips and "
        "quarter turns of each patch, one shared pass per view; 'Flips and turns' can "
        "map it in one pass. The CNN maps fastest, so a stride "
        "brings it nothing. The map appears only when complete; cancel stops within "
        "seconds and leaves an existing map untouched. With a Dask scheduler address the "
        "workers of that cluster predict the tiles, with the same pixel values.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, PredictSpec, ["MODEL", "MODELS", "STACK", "BATCH_SIZE",
                                                "STRIDE", "VIEWS", "DASK_SCHEDULER", "OUTPUT",
                                                "UNCERTAINTY"])
        self.parameterDefinition("UNCERTAINTY").setCreateByDefault(False)  # ensembles only
        add_outputs(self, values=[("VALID_PIXELS", float, "Valid pixels predicted"),
            ("EVALUATION", str, "Evaluation path")])

    def process(self, parameters, context, feedback):
        stack = stack_source(self, parameters, context)
        spec = read_spec(self, PredictSpec, parameters, context, stack=stack)
        spec = spec.replace(scheduler=scheduler_address(spec.scheduler))
        if spec.scheduler:
            feedback.pushInfo(f"Predicting on the Dask cluster at {spec.scheduler}.")
        card = check_model_against_stack(spec.model, spec.stack)
        feedback.pushInfo(f"Model {card['model']}, {card['patch_size']} x "
                          f"{card['patch_size']} patches of {len(card['factors'])} factors.")
        if spec.models:  # a deep ensemble: every model fits the stack and the first
            check_member_files([spec.model, *spec.models], spec.stack)
            feedback.pushInfo(f"Ensemble of {1 + len(spec.models)} models: the map is their "
                              "mean probability.")
        result = run_engine(spec, feedback)
        if result.evaluation_note:
            feedback.pushDebugInfo(f"Evaluation: {result.evaluation_note}")
        if result.cancelled:
            return {}
        write_style_sidecar(spec.output, "probability")
        style_output_on_load(context, spec.output, "probability")
        if spec.uncertainty:
            write_style_sidecar(spec.uncertainty, "uncertainty")
            style_output_on_load(context, spec.uncertainty, "uncertainty")
        return {"OUTPUT": spec.output, "UNCERTAINTY": spec.uncertainty or None,
                "VALID_PIXELS": result.valid_pixels,
                "EVALUATION": result.evaluation_note}
