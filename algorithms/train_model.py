"""landslide:trainmodel: train one architecture in the engine process."""


from ..core.specs import TrainSpec
from .help_text import METRICS_TABLE_HELP
from .outputs import write_metrics_table
from .training_parameters import TrainingAlgorithm, is_temporary, temporary_note

RESULT_VALUES = [("AUC", float, "Test AUC"), ("OA", float, "Test overall accuracy"),
                 ("CANCELLED", bool, "Stopped early by cancel")]


class TrainModel(TrainingAlgorithm):
    NAME = "trainmodel"
    DISPLAY_NAME = "Train landslide model"
    GROUP = "models"
    ICON = "train"
    SPEC, MODEL_KEY, OUTPUT_KEY = TrainSpec, "MODEL", "OUTPUT_MODEL"
    TABLE, VALUES = ("OUTPUT_METRICS", "Test metrics"), RESULT_VALUES
    TABLE_HELP = METRICS_TABLE_HELP + ", on the test split"
    NOTHING_WRITTEN = ""  # the engine says it: "Cancelled before the first epoch ..."
    HELP = (
        "Trains a model on the samples and the factor stack: a classical model (random "
        "forest by default; logistic regression, gradient boosting, frequency ratio, weights "
        "of evidence) or one of the paper's six networks (CTLGNet, the CNN ...) in the engine "
        "process, while QGIS stays usable. The log gives the time per epoch and how long "
        "the run will take.<br>"
        "The defaults finish in minutes on a laptop CPU. For the paper's settings choose "
        "them under <i>Training settings</i> (and build the samples with 72 × 72 patches "
        "and 10,000 samples per class): on a CPU that takes hours.")
    NOTES = (
        "Patches are normalised with the statistics of the training split; the model kept "
        "is the epoch with the best validation AUC (or accuracy, see <i>Model kept</i>). "
        "The trained model carries a model card (factors and their order, normalisation, "
        "patch size, settings, data summary, versions): prediction and evaluation refuse a "
        "stack that does not match it.<br>"
        "<i>Cancel</i> stops within seconds and keeps the best model so far with its metrics "
        "and report (the result <i>Stopped early by cancel</i> is true). QGIS's dialog still "
        "ends a cancelled run with a red 'Execution failed'; the log above it says what "
        "was kept.")

    def outputs(self, spec, result, parameters, context, feedback):
        metrics = result.metrics or {}
        table = write_metrics_table(self, parameters, "OUTPUT_METRICS", context, metrics)
        if result.cancelled and is_temporary(spec.output_model):
            # the engine said where the model was kept; say that the place is temporary
            feedback.pushWarning(temporary_note(self, spec.output_model))
        return {"OUTPUT_MODEL": spec.output_model, "OUTPUT_METRICS": table,
                "OUTPUT_REPORT": spec.output_report, "AUC": metrics.get("auc"),
                "OA": metrics.get("oa"), "CANCELLED": result.cancelled}
