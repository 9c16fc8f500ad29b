"""landslide:evaluatemodel: metrics of a trained model on a split of the samples."""


from ..core.model_reports import metrics_rows
from ..core.specs import EvaluateSpec
from .base import LandslideAlgorithm
from .model_check import check_model_against_stack
from .outputs import add_outputs, write_table
from .spec_parameters import add_spec_parameters
from .training_parameters import run_on_samples


class EvaluateModel(LandslideAlgorithm):
    NAME = "evaluatemodel"
    DISPLAY_NAME = "Evaluate landslide model"
    GROUP = "models"
    ICON = "evaluate"
    HELP = (
        "The paper's model evaluation: overall accuracy, precision, recall, F1, MCC, Cohen's "
        "kappa, AUC, RMSE and MAE of the landslide probability, plus the Brier score, all as "
        "fractions on the chosen split (<b>SPLIT</b>: test by default; validation, train or "
        "all). Class predictions use probability ≥ 0.5. Computed with scikit-learn.<br>"
        "<b>MODEL</b>: a .keras file from 'Train landslide model'; the <b>STACK</b> must have "
        "the model's factors in the same order (the model card is checked). "
        "<b>SAMPLES</b>: the samples layer.<br><b>OUTPUT_METRICS</b>: table with fields "
        "metric and value (oa, precision, recall, f1, mcc, kappa, auc, rmse, mae, brier). "
        "<b>OUTPUT_REPORT</b>: metrics, ROC curve, confusion matrix and model card.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, EvaluateSpec, ["MODEL", "STACK", "SAMPLES", "SPLIT"])
        add_outputs(self, table=("OUTPUT_METRICS", "Metrics"), values=[("AUC", float, "AUC"),
            ("OA", float, "Overall accuracy")])
        add_spec_parameters(self, EvaluateSpec, ["OUTPUT_REPORT"])

    def process(self, parameters, context, feedback):
        spec, result = run_on_samples(
            self, EvaluateSpec, parameters, context, feedback,
            check=lambda spec: check_model_against_stack(spec.model, spec.stack))
        metrics = result.metrics
        table = write_table(self, parameters, "OUTPUT_METRICS", context,
                            [("metric", str), ("value", float)], metrics_rows(metrics))
        return {"OUTPUT_METRICS": table, "OUTPUT_REPORT": spec.output_report,
                "AUC": metrics["auc"], "OA": metrics["oa"]}
