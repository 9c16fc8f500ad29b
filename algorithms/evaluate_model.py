"""landslide:evaluatemodel: metrics of a trained model on a split of the samples."""

import tempfile

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
)

from .base import LandslideAlgorithm
from .engine_runner import run_engine
from .model_check import check_model_against_stack
from .outputs import write_table
from .train_model import metrics_rows
from .training_parameters import add_data_parameters, data_params

SPLITS = ["test", "validation", "train", "all"]


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

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            "MODEL", "Trained model (.keras)", extension="keras"))
        add_data_parameters(self)
        self.addParameter(QgsProcessingParameterEnum("SPLIT", "Split", SPLITS, defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            "OUTPUT_METRICS", "Metrics", QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_REPORT", "Evaluation report", "HTML files (*.html)"))
        self.addOutput(QgsProcessingOutputNumber("AUC", "AUC"))
        self.addOutput(QgsProcessingOutputNumber("OA", "Overall accuracy"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        model = self.parameterAsFile(parameters, "MODEL", context)
        split = SPLITS[self.parameterAsEnum(parameters, "SPLIT", context)]
        report = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context)
        with tempfile.TemporaryDirectory(prefix="landslide_evaluate_") as tmp:
            params = data_params(self, parameters, context, tmp)
            check_model_against_stack(model, params["stack"])
            result = run_engine("evaluate", dict(params, model=model, split=split,
                                                 output_report=report), feedback)
        if result.get("cancelled"):
            return {}
        metrics = result["metrics"]
        table = write_table(self, parameters, "OUTPUT_METRICS", context,
                            [("metric", str), ("value", float)], metrics_rows(metrics))
        return {"OUTPUT_METRICS": table, "OUTPUT_REPORT": report, "AUC": metrics["auc"],
                "OA": metrics["oa"]}
