"""landslide:comparemodels: the paper's Table 2 for this data."""

import tempfile

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
)

from ..core.model_reports import METRIC_ORDER
from .base import LandslideAlgorithm
from .engine_runner import run_engine
from .outputs import write_table
from .training_parameters import (
    add_data_parameters,
    add_training_parameters,
    data_params,
    model_names,
    training_params,
)


class CompareModels(LandslideAlgorithm):
    NAME = "comparemodels"
    DISPLAY_NAME = "Compare landslide models"
    GROUP = "models"
    ICON = "compare"
    HELP = (
        "Trains and evaluates several architectures on the same samples with the same "
        "settings and produces the paper's Table 2 for your data: one row per model with "
        "OA, precision, recall, F1, MCC, kappa, AUC, RMSE, MAE, Brier score (test split), "
        "parameters, FLOPs per patch and training time.<br>"
        "<b>STACK</b>: the factor stack; <b>SAMPLES</b>: the layer from 'Build landslide "
        "samples'. <b>MODELS</b>: any of cnn, resnet18, densenet, vit, frit, ctlgnet "
        "(default all six). "
        "Training parameters as in 'Train landslide model'.<br>"
        "<b>OUTPUT_FOLDER</b>: one NAME.keras model and NAME.html report per architecture. "
        "<b>OUTPUT_TABLE</b>: the comparison table. <b>OUTPUT_REPORT</b>: the table with the "
        "best model per metric marked and all ROC curves on one plot.<br>"
        "Cancel stops the current model (keeping its best so far) and skips the rest.")

    def initAlgorithm(self, config=None):  # noqa: N802
        add_data_parameters(self)
        names = model_names()
        self.addParameter(QgsProcessingParameterEnum(
            "MODELS", "Models", names, allowMultiple=True,
            defaultValue=list(range(len(names)))))
        add_training_parameters(self)
        self.addParameter(QgsProcessingParameterFolderDestination(
            "OUTPUT_FOLDER", "Folder for the trained models"))
        self.addParameter(QgsProcessingParameterFeatureSink(
            "OUTPUT_TABLE", "Comparison table", QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_REPORT", "Comparison report", "HTML files (*.html)"))
        self.addOutput(QgsProcessingOutputString("BEST_MODEL", "Best model by AUC"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        names = model_names()
        chosen = [names[i] for i in self.parameterAsEnums(parameters, "MODELS", context)]
        folder = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        report = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context)
        with tempfile.TemporaryDirectory(prefix="landslide_compare_") as tmp:
            params = dict(data_params(self, parameters, context, tmp),
                          **training_params(self, parameters, context), models=chosen,
                          output_folder=folder, output_report=report)
            result = run_engine("compare", params, feedback)
        rows = result.get("rows") or []
        if not rows:
            feedback.pushInfo("Cancelled before any model finished: nothing was written.")
            return {}
        columns = [("model", str)] + [(name, float) for name in METRIC_ORDER] + \
            [("parameters", int), ("flops_per_patch", float), ("training_s", float),
             ("model_path", str)]
        table_rows = [[row["model"]] + [row["metrics"].get(name) for name in METRIC_ORDER]
                      + [row["parameters"], row["flops"], row["seconds"], row["model_path"]]
                      for row in rows]
        table = write_table(self, parameters, "OUTPUT_TABLE", context, columns, table_rows)
        best = max(rows, key=lambda row: row["metrics"].get("auc") or 0)["model"]
        feedback.pushInfo(f"Best model by test AUC: {best}")
        return {"OUTPUT_FOLDER": folder, "OUTPUT_TABLE": table, "OUTPUT_REPORT": report,
                "BEST_MODEL": best}
