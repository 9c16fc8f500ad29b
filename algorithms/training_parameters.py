"""Parameters shared by trainmodel and comparemodels, and the samples hand-over
to the engine."""

import os

import numpy as np
from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorLayer,
    QgsProviderRegistry,
)

from ..core.sample_layer import FIELDS
from .outputs import raster_source

OPTIMIZERS = ["sgd", "adam", "adamw"]
OPTIMIZER_LABELS = ["SGD, momentum 0.9 (paper)", "Adam", "AdamW"]


def model_names():
    from ..models import available_models

    return available_models()


def add_data_parameters(algorithm):
    algorithm.addParameter(QgsProcessingParameterRasterLayer("STACK", "Factor stack"))
    algorithm.addParameter(QgsProcessingParameterVectorLayer(
        "SAMPLES", "Samples (from Build landslide samples)", [QgsProcessing.TypeVectorPoint]))


def add_training_parameters(algorithm):
    integer = QgsProcessingParameterNumber.Integer
    double = QgsProcessingParameterNumber.Double
    algorithm.addParameter(QgsProcessingParameterNumber(
        "EPOCHS", "Epochs", integer, 100, minValue=1))
    algorithm.addParameter(QgsProcessingParameterNumber(
        "BATCH_SIZE", "Batch size", integer, 16, minValue=1))
    algorithm.addParameter(QgsProcessingParameterNumber(
        "LEARNING_RATE", "Learning rate", double, 0.001, minValue=0.0))
    algorithm.addParameter(QgsProcessingParameterEnum(
        "OPTIMIZER", "Optimizer", OPTIMIZER_LABELS, defaultValue=0))
    algorithm.addParameter(QgsProcessingParameterNumber(
        "LABEL_SMOOTHING", "Label smoothing", double, 0.1, minValue=0.0, maxValue=0.5))
    algorithm.addParameter(QgsProcessingParameterBoolean(
        "AUGMENT", "Augment the training set (flip, rotate, scale)", True))
    algorithm.addParameter(QgsProcessingParameterNumber(
        "EARLY_STOPPING_PATIENCE", "Early stopping patience (epochs, 0 = off)", integer, 0,
        minValue=0))
    algorithm.addParameter(QgsProcessingParameterNumber(
        "SEED", "Random seed", integer, 0, minValue=0))


def training_params(algorithm, parameters, context):
    as_int = algorithm.parameterAsInt
    as_double = algorithm.parameterAsDouble
    return {
        "epochs": as_int(parameters, "EPOCHS", context),
        "batch_size": as_int(parameters, "BATCH_SIZE", context),
        "learning_rate": as_double(parameters, "LEARNING_RATE", context),
        "optimizer": OPTIMIZERS[algorithm.parameterAsEnum(parameters, "OPTIMIZER", context)],
        "label_smoothing": as_double(parameters, "LABEL_SMOOTHING", context),
        "augment": algorithm.parameterAsBool(parameters, "AUGMENT", context),
        "patience": as_int(parameters, "EARLY_STOPPING_PATIENCE", context),
        "seed": as_int(parameters, "SEED", context),
    }


def data_params(algorithm, parameters, context, folder):
    """``{"stack": path, "samples": path}`` for the engine; samples that are not a
    plain GeoPackage/OGR file (memory layers, edited or filtered layers) are
    written to ``folder/samples.npz``."""
    stack = raster_source(algorithm.parameterAsRasterLayer(parameters, "STACK", context),
                          "factor stack (STACK)")
    layer = algorithm.parameterAsVectorLayer(parameters, "SAMPLES", context)
    if layer is None:
        raise QgsProcessingException("The SAMPLES layer could not be loaded.")
    names = layer.fields().names()
    missing = [name for name in FIELDS if name not in names]
    if missing:
        raise QgsProcessingException(
            f"The SAMPLES layer '{layer.name()}' lacks the field(s) {', '.join(missing)}; "
            "use the output of 'Build landslide samples' (fields label, split, row, col).")
    if layer.providerType() == "ogr" and not layer.subsetString() and not layer.isModified():
        parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
        if parts.get("path") and os.path.isfile(parts["path"]):
            source = parts["path"]
            if parts.get("layerName"):
                source += f"|layername={parts['layerName']}"
            return {"stack": stack, "samples": source}
    values = {name: [] for name in FIELDS}
    for feature in layer.getFeatures():
        for name in FIELDS:
            values[name].append(feature[name])
    path = os.path.join(folder, "samples.npz")
    np.savez(path, rows=np.array(values["row"], dtype=np.int64),
             cols=np.array(values["col"], dtype=np.int64),
             labels=np.array(values["label"], dtype=np.int64),
             splits=np.array(values["split"], dtype=str))
    return {"stack": stack, "samples": path}
