"""landslide:comparemodels: the paper's Table 2 for this data."""


from ..core.model_reports import METRIC_ORDER
from ..core.specs import CompareSpec
from ..core.specs.training import model_choices
from .outputs import write_table
from .training_parameters import TrainingAlgorithm

RESULT_VALUES = [("BEST_MODEL", str, "Best model by AUC")]


class CompareModels(TrainingAlgorithm):
    NAME = "comparemodels"
    DISPLAY_NAME = "Compare landslide models"
    GROUP = "models"
    ICON = "compare"
    NOTHING_WRITTEN = "Cancelled before any model finished: nothing was written."
    TABLE, VALUES = ("OUTPUT_TABLE", "Comparison table"), RESULT_VALUES
    SPEC, MODEL_KEY, OUTPUT_KEY = CompareSpec, "MODELS", "OUTPUT_FOLDER"
    HELP = (
        "Trains and evaluates several architectures on the same samples with the same "
        "settings and produces the paper's Table 2 for your data: one row per model with "
        "OA, precision, recall, F1, MCC, kappa, AUC, RMSE, MAE, Brier score (test split), "
        "parameters, FLOPs per patch and training time.<br>"
        "<b>STACK</b>: the factor stack; <b>SAMPLES</b>: the layer from 'Build landslide "
        f"samples'. <b>MODELS</b>: any of {', '.join(label for _, label in model_choices())} "
        "(default all six). "
        "Training parameters as in 'Train landslide model'.<br>"
        "<b>OUTPUT_FOLDER</b>: one NAME.keras model and NAME.html report per architecture. "
        "<b>OUTPUT_TABLE</b>: the comparison table. <b>OUTPUT_REPORT</b>: the table with the "
        "best model per metric marked and all ROC curves on one plot.<br>"
        "Cancel stops the current model (keeping its best so far) and skips the rest.")

    def outputs(self, spec, result, parameters, context, feedback):
        columns = [("model", str)] + [(name, float) for name in METRIC_ORDER] + \
            [("parameters", int), ("flops_per_patch", float), ("training_s", float),
             ("model_path", str)]
        table_rows = [[row.model] + [row.metrics.get(name) for name in METRIC_ORDER]
                      + [row.parameters, row.flops, row.seconds, row.model_path]
                      for row in result.rows]
        table = write_table(self, parameters, "OUTPUT_TABLE", context, columns, table_rows)
        best = result.best("auc").model
        feedback.pushInfo(f"Best model by test AUC: {best}")
        return {"OUTPUT_FOLDER": spec.output_folder, "OUTPUT_TABLE": table,
                "OUTPUT_REPORT": spec.output_report, "BEST_MODEL": best}
