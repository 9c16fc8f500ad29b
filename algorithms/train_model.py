"""landslide:trainmodel: train one architecture in the engine process."""

import tempfile

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
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


def metrics_rows(metrics):
    return [(name, metrics[name]) for name in METRIC_ORDER if name in metrics]


class TrainModel(LandslideAlgorithm):
    NAME = "trainmodel"
    DISPLAY_NAME = "Train landslide model"
    GROUP = "models"
    ICON = "train"
    HELP = (
        "Trains one of the paper's six architectures on the samples and the factor stack, "
        "in the engine process (TensorFlow), while QGIS stays usable.<br>"
        "<b>STACK</b>: the factor stack the samples were built on. <b>SAMPLES</b>: the point "
        "layer from 'Build landslide samples' (fields label, split, row, col; points you moved "
        "on the map are used where they are now). "
        "<b>MODEL</b>: cnn, resnet18, densenet, vit, frit or ctlgnet. <b>EPOCHS</b> (100), "
        "<b>BATCH_SIZE</b> (16; clamped with a warning to the training set size), "
        "<b>LEARNING_RATE</b> (0.001), <b>OPTIMIZER</b> (SGD as the paper, with momentum "
        "0.9; Adam, AdamW), <b>LABEL_SMOOTHING</b> (0.1, cross-entropy on a 2-class softmax),"
        " <b>AUGMENT</b> (random flip, 90° rotation and scaling of training patches), "
        "<b>EARLY_STOPPING_PATIENCE</b> (0 = off), <b>SEED</b> (same seed, same data, CPU: "
        "the same weights and metrics).<br>"
        "Patches are normalised with the Z-score statistics of the training split. The model "
        "kept is the one with the best validation accuracy (the paper's rule).<br>"
        "<b>OUTPUT_MODEL</b>: a .keras file that carries a model card (factor names and "
        "order, categorical flags, normalisation statistics, patch size, hyper-parameters, "
        "seed, data summary, device, timings, versions); prediction and evaluation refuse a "
        "stack that does not match it. <b>OUTPUT_METRICS</b>: OA, precision, recall, F1, "
        "MCC, kappa, AUC, RMSE, MAE and Brier score on the test split. <b>OUTPUT_REPORT</b>: "
        "training curves, metrics, ROC, confusion matrix, model card and data leakage.<br>"
        "Cancel stops within seconds and keeps the best model so far.")

    MODEL = "MODEL"
    OUTPUT_MODEL = "OUTPUT_MODEL"
    OUTPUT_METRICS = "OUTPUT_METRICS"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    def initAlgorithm(self, config=None):  # noqa: N802
        add_data_parameters(self)
        self.addParameter(QgsProcessingParameterEnum(
            self.MODEL, "Model", model_names(), defaultValue=model_names().index("ctlgnet")))
        add_training_parameters(self)
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_MODEL, "Trained model", "Keras model (*.keras)"))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT_METRICS, "Test metrics", QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_REPORT, "Training report", "HTML files (*.html)"))
        self.addOutput(QgsProcessingOutputNumber("AUC", "Test AUC"))
        self.addOutput(QgsProcessingOutputNumber("OA", "Test overall accuracy"))
        self.addOutput(QgsProcessingOutputBoolean("CANCELLED", "Stopped early by cancel"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        model = model_names()[self.parameterAsEnum(parameters, self.MODEL, context)]
        output_model = self.parameterAsFileOutput(parameters, self.OUTPUT_MODEL, context)
        report = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)
        with tempfile.TemporaryDirectory(prefix="landslide_train_") as tmp:
            params = dict(data_params(self, parameters, context, tmp),
                          **training_params(self, parameters, context),
                          model=model, output_model=output_model, output_report=report)
            result = run_engine("train", params, feedback)
        if not result.get("model"):
            feedback.pushInfo("Cancelled before the first epoch finished: no model written.")
            return {}
        metrics = result.get("metrics") or {}
        table = write_table(self, parameters, self.OUTPUT_METRICS, context,
                            [("metric", str), ("value", float)], metrics_rows(metrics))
        if result.get("cancelled"):
            feedback.pushWarning(f"Cancelled: the best model so far (epoch "
                                 f"{result['best_epoch']}) was written to {output_model}.")
        return {self.OUTPUT_MODEL: output_model, self.OUTPUT_METRICS: table,
                self.OUTPUT_REPORT: report, "AUC": metrics.get("auc"), "OA": metrics.get("oa"),
                "CANCELLED": bool(result.get("cancelled"))}
