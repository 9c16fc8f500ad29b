"""landslide:evaluatemodel: metrics of a trained model on a split of the samples."""


from ..core.specs import EvaluateSpec
from .base import LandslideAlgorithm
from .help_text import METRICS_TABLE_HELP, set_help
from .model_check import check_model_against_stack
from .outputs import add_outputs, write_metrics_table
from .spec_parameters import add_spec_parameters
from .training_parameters import run_on_samples


class EvaluateModel(LandslideAlgorithm):
    NAME = "evaluatemodel"
    DISPLAY_NAME = "Evaluate landslide model"
    GROUP = "models"
    ICON = "evaluate"
    HELP = (
        "The paper's model evaluation: overall accuracy, precision, recall, F1, MCC, "
        "Cohen's kappa, AUC, RMSE and MAE of the landslide probability, and the Brier "
        "score, on a split of the samples. A sample counts as a landslide when its "
        "probability is 0.5 or more. Computed with scikit-learn.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, EvaluateSpec, ["MODEL", "STACK", "SAMPLES", "SPLIT"])
        add_outputs(self, table=("OUTPUT_METRICS", "Metrics"), values=[("AUC", float, "AUC"),
            ("OA", float, "Overall accuracy")])
        set_help(self, {"OUTPUT_METRICS": METRICS_TABLE_HELP})
        add_spec_parameters(self, EvaluateSpec, ["OUTPUT_REPORT"])

    def process(self, parameters, context, feedback):
        spec, result = run_on_samples(
            self, EvaluateSpec, parameters, context, feedback,
            check=lambda spec: check_model_against_stack(spec.model, spec.stack))
        metrics = result.metrics
        table = write_metrics_table(self, parameters, "OUTPUT_METRICS", context, metrics)
        return {"OUTPUT_METRICS": table, "OUTPUT_REPORT": spec.output_report,
                "AUC": metrics["auc"], "OA": metrics["oa"]}
