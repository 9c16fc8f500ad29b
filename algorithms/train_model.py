"""landslide:trainmodel: train one architecture in the engine process."""


from ..core.model_reports import metrics_rows
from ..core.specs import TrainingSettings, TrainSpec
from ..core.specs.training import model_choices
from .outputs import write_table
from .training_parameters import TrainingAlgorithm

_DEFAULTS = TrainingSettings().settings()
RESULT_VALUES = [("AUC", float, "Test AUC"), ("OA", float, "Test overall accuracy"),
                 ("CANCELLED", bool, "Stopped early by cancel")]


class TrainModel(TrainingAlgorithm):
    NAME = "trainmodel"
    DISPLAY_NAME = "Train landslide model"
    GROUP = "models"
    ICON = "train"
    SPEC, MODEL_KEY, OUTPUT_KEY = TrainSpec, "MODEL", "OUTPUT_MODEL"
    TABLE, VALUES = ("OUTPUT_METRICS", "Test metrics"), RESULT_VALUES
    NOTHING_WRITTEN = "Cancelled before the first epoch finished: no model written."
    HELP = (
        "Trains one of the paper's six architectures on the samples and the factor stack, "
        "in the engine process (TensorFlow), while QGIS stays usable.<br>"
        "<b>STACK</b>: the factor stack the samples were built on. <b>SAMPLES</b>: the point "
        "layer from 'Build landslide samples' (fields label, split, row, col; points you moved "
        "on the map are used where they are now). "
        f"<b>MODEL</b>: {', '.join(label for _, label in model_choices())}. "
        f"<b>EPOCHS</b> ({_DEFAULTS['epochs']}), <b>BATCH_SIZE</b> ({_DEFAULTS['batch_size']}; "
        f"clamped with a warning to the training set size), <b>LEARNING_RATE</b> "
        f"({_DEFAULTS['learning_rate']:g}), <b>OPTIMIZER</b> (SGD as the paper, with momentum "
        "0.9; Adam, AdamW), <b>LABEL_SMOOTHING</b> "
        f"({_DEFAULTS['label_smoothing']:g}, cross-entropy on a 2-class softmax),"
        " <b>AUGMENT</b> (random flip, 90° rotation and scaling of training patches), "
        "<b>EARLY_STOPPING_PATIENCE</b> (0 = off), <b>SEED</b> (same seed, same data, CPU: "
        "the same weights and metrics).<br>"
        "Patches are normalised with the Z-score statistics of the training split. The model "
        "kept is the one with the best validation accuracy (the paper's rule) or, with "
        "<b>KEEP_MODEL</b> (advanced), the best validation AUC.<br>"
        "<b>OUTPUT_MODEL</b>: a .keras file that carries a model card (factor names and "
        "order, categorical flags, normalisation statistics, patch size, hyper-parameters, "
        "seed, data summary, device, timings, versions); prediction and evaluation refuse a "
        "stack that does not match it. <b>OUTPUT_METRICS</b>: OA, precision, recall, F1, "
        "MCC, kappa, AUC, RMSE, MAE and Brier score on the test split. <b>OUTPUT_REPORT</b>: "
        "training curves, metrics, ROC, confusion matrix, model card and data leakage.<br>"
        "Cancel stops within seconds and keeps the best model so far.")

    def outputs(self, spec, result, parameters, context, feedback):
        metrics = result.metrics or {}
        table = write_table(self, parameters, "OUTPUT_METRICS", context,
                            [("metric", str), ("value", float)], metrics_rows(metrics))
        if result.cancelled:
            feedback.pushWarning(f"Cancelled: the best model so far (epoch "
                                 f"{result.best_epoch}) was written to {spec.output_model}.")
        return {"OUTPUT_MODEL": spec.output_model, "OUTPUT_METRICS": table,
                "OUTPUT_REPORT": spec.output_report, "AUC": metrics.get("auc"),
                "OA": metrics.get("oa"), "CANCELLED": result.cancelled}
