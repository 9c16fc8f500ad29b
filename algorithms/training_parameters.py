"""What trainmodel, comparemodels and evaluatemodel share: the training
settings' keys, the paper's settings one choice away, where the trained models
go by default (beside the samples, never silently to a temporary file), the
leakage warning, and the hand-over of the stack and samples to the engine."""

import json
import os
import tempfile

import numpy as np
from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingUtils,
    QgsProviderRegistry,
)

from ..core.errors import CancelledError
from ..core.sample_layer import FIELDS
from ..core.specs import TrainingSettings
from ..core.specs.training import PAPER_SETTINGS, model_extension
from .base import LandslideAlgorithm
from .cluster_setting import scheduler_address
from .engine_runner import run_engine
from .help_text import number, with_help
from .inputs import stack_source
from .outputs import add_outputs
from .spec_parameters import add_spec_parameters, read_spec, spec_fields

# Processing keys of the training settings shared by trainmodel and comparemodels,
# in the order the dialog shows them.
TRAINING_KEYS = [p.key for _, p in spec_fields(TrainingSettings)]
SETTINGS_KEY = "SETTINGS"
SETTINGS_CHOICES = ("As set below (quick: minutes on a laptop)",
                    "The paper's (Table 1): SGD, lr 0.001, batch 16, 100 epochs")
PAPER = 1
# Default outputs: beside the samples (else the stack), named for the model; an
# existing file is not replaced (name_2, name_3, ... instead).
SAMPLES_FOLDER = "<samples folder>"
MODEL_NAME = "<model>"
MODEL_EXTENSION = ".<keras or skops>"  # .keras for a network, .skops for a classical model
DEFAULT_OUTPUTS = {"OUTPUT_MODEL": f"{SAMPLES_FOLDER}/{MODEL_NAME}{MODEL_EXTENSION}",
                   "OUTPUT_FOLDER": f"{SAMPLES_FOLDER}/models"}
LEAKAGE_WARNING = 0.10  # share of test patches overlapping a training patch


class TrainingAlgorithm(LandslideAlgorithm):
    """Base of trainmodel and comparemodels: stack, samples, the model(s) (MODEL_KEY),
    the SETTINGS choice (the fields' values or the paper's), the training settings,
    the output (OUTPUT_KEY: model file or folder, by default beside the samples), the
    table (TABLE: key, label; TABLE_HELP its tooltip) and report of SPEC, and the
    plain outputs VALUES."""

    SPEC = None
    MODEL_KEY = OUTPUT_KEY = ""
    TABLE = ()
    TABLE_HELP = ""
    VALUES = ()
    NOTHING_WRITTEN = "Cancelled before anything was written."

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, self.SPEC, ["STACK", "SAMPLES", self.MODEL_KEY])
        self.addParameter(settings_parameter())
        add_spec_parameters(self, self.SPEC, TRAINING_KEYS + [self.OUTPUT_KEY])
        self.parameterDefinition(self.OUTPUT_KEY).setDefaultValue(
            DEFAULT_OUTPUTS[self.OUTPUT_KEY])
        add_outputs(self, table=self.TABLE, values=self.VALUES)
        if self.TABLE_HELP:
            self.parameterDefinition(self.TABLE[0]).setHelp(self.TABLE_HELP)
        add_spec_parameters(self, self.SPEC, ["OUTPUT_REPORT"])

    def checkParameterValues(self, parameters, context):
        # Left out (scripts, qgis_process), the model output takes its default as in
        # the dialog (QGIS refuses a missing required output before running).
        if parameters.get(self.OUTPUT_KEY) in (None, ""):
            parameters = dict(parameters)
            parameters[self.OUTPUT_KEY] = DEFAULT_OUTPUTS[self.OUTPUT_KEY]
        return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters, context, feedback):
        parameters = dict(parameters)
        parameters[self.OUTPUT_KEY] = default_output(self, parameters, context, feedback)
        return super().processAlgorithm(parameters, context, feedback)

    def process(self, parameters, context, feedback):
        """Run SPEC in the engine, then :meth:`outputs`; a cancel before anything
        was written raises :class:`CancelledError` with NOTHING_WRITTEN (none when
        the engine said it already)."""
        spec, result = run_on_samples(self, self.SPEC, parameters, context, feedback)
        if not result.written:
            if self.NOTHING_WRITTEN:
                raise CancelledError(self.NOTHING_WRITTEN)
            return {"CANCELLED": True}
        return self.outputs(spec, result, parameters, context, feedback)

    def outputs(self, spec, result, parameters, context, feedback):
        """The algorithm's outputs from the engine's ``result``."""
        raise NotImplementedError


def data_inputs(algorithm, parameters, context, folder):
    """``{"stack": path, "samples": path}`` for the engine; samples that are not a
    plain GeoPackage/OGR file (memory layers, edited or filtered layers) are
    written to ``folder/samples.npz``."""
    stack = stack_source(algorithm, parameters, context)
    layer = algorithm.parameterAsVectorLayer(parameters, "SAMPLES", context)
    if layer is None:
        raise QgsProcessingException("The Samples layer (SAMPLES) could not be loaded.")
    names = layer.fields().names()
    missing = [name for name in FIELDS if name not in names]
    if missing:
        raise QgsProcessingException(
            f"The Samples layer '{layer.name()}' (SAMPLES) lacks the field(s) "
            f"{', '.join(missing)}; "
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


def run_on_samples(algorithm, spec_class, parameters, context, feedback, check=None):
    """``(spec, result)``: the spec of the user's values (the paper's training
    settings when chosen), with the stack and samples handed over as files, run
    in the engine; ``check(spec)`` runs first when given. Warns when the samples'
    leakage is high and when a trained model goes to a temporary file."""
    with tempfile.TemporaryDirectory(prefix=f"landslide_{spec_class.COMMAND}_") as tmp:
        inputs = data_inputs(algorithm, parameters, context, tmp)
        if "scheduler" in dict(spec_class.params()):  # compare: on a Dask cluster if set
            inputs["scheduler"] = scheduler_address()
        spec = read_spec(algorithm, spec_class, parameters, context, **inputs,
                         **preset_values(algorithm, parameters, context, feedback))
        if check is not None:
            check(spec)
        warn_leakage(inputs["samples"], feedback)
        warn_temporary(algorithm, spec, feedback)
        return spec, run_engine(spec, feedback)


def settings_parameter():
    """The SETTINGS choice: the values of the dialog, or the paper's."""
    definition = QgsProcessingParameterEnum(SETTINGS_KEY, "Training settings",
                                            list(SETTINGS_CHOICES), defaultValue=0)
    return with_help(definition, (
        "The values of the parameters below, whose defaults finish in minutes on a "
        "laptop CPU, or the paper's settings, which replace them for this run "
        f"({paper_settings_text()}; on a CPU, hours)"))


def paper_settings_text():
    """The paper's training settings by label: "Epochs 100, Batch size 16, ..."."""
    fields = dict(TrainingSettings.params())
    texts = []
    for name, value in PAPER_SETTINGS.items():
        p = fields[name]
        if p.kind == "enum":
            value = dict(p.options())[value]
        elif p.kind == "bool":
            value = "on" if value else "off"
        else:
            value = number(value)
        texts.append(f"{p.label} {value}")
    return ", ".join(texts)


def preset_values(algorithm, parameters, context, feedback):
    """The paper's training settings when SETTINGS asks for them, else ``{}``."""
    if algorithm.parameterDefinition(SETTINGS_KEY) is None or \
            algorithm.parameterAsEnum(parameters, SETTINGS_KEY, context) != PAPER:
        return {}
    feedback.pushInfo("Training settings: the paper's (Table 1), in place of the values "
                      f"in the dialog: {paper_settings_text()}.")
    return dict(PAPER_SETTINGS)


def default_output(algorithm, parameters, context, feedback):
    """The value of OUTPUT_KEY with :data:`SAMPLES_FOLDER` and :data:`MODEL_NAME`
    replaced: the folder of the samples file (else the stack's) and the model's
    name; an existing file or folder is kept and a free name (``_2`` ...) used."""
    key = algorithm.OUTPUT_KEY
    value = parameters.get(key)
    if value is None:
        value = algorithm.parameterDefinition(key).defaultValue()
    if not isinstance(value, str) or SAMPLES_FOLDER not in value:
        return value
    path = value.replace(SAMPLES_FOLDER, _samples_folder(algorithm, parameters, context))
    if MODEL_NAME in path:
        index = algorithm.parameterAsEnum(parameters, algorithm.MODEL_KEY, context)
        model = dict(algorithm.SPEC.params())["model"].codes()[index]
        stem, _extension = os.path.splitext(path.replace(MODEL_NAME, model))
        path = stem + model_extension(model)  # .keras, or .skops for a classical model
    path = free_path(path)
    feedback.pushInfo(f"{algorithm.parameterDefinition(key).description()}: {path}")
    return path


def _samples_folder(algorithm, parameters, context):
    layer = algorithm.parameterAsVectorLayer(parameters, "SAMPLES", context)
    if layer is not None:
        path = QgsProviderRegistry.instance().decodeUri(
            layer.providerType(), layer.source()).get("path") or ""
        if os.path.isfile(path) and not path.startswith(QgsProcessingUtils.tempFolder()):
            return os.path.dirname(os.path.abspath(path))
    return os.path.dirname(os.path.abspath(stack_source(algorithm, parameters, context)))


def free_path(path):
    """``path``, or ``name_2.ext``, ``name_3.ext`` ... when it exists."""
    stem, extension = os.path.splitext(path)
    candidate, count = path, 1
    while os.path.exists(candidate):
        count += 1
        candidate = f"{stem}_{count}{extension}"
    return candidate


def is_temporary(path):
    """Whether ``path`` is in Processing's temporary folder (deleted when QGIS or
    qgis_process exits)."""
    if not path or path == QgsProcessing.TEMPORARY_OUTPUT:
        return bool(path)
    folder = os.path.realpath(QgsProcessingUtils.tempFolder())
    return os.path.realpath(str(path)).startswith(folder + os.sep)


def temporary_note(algorithm, path):
    """The warning for a trained model (or folder of models) in a temporary place."""
    label = algorithm.parameterDefinition(algorithm.OUTPUT_KEY).description()
    return (f"{label} is a temporary file ({path}): QGIS deletes it when it closes. "
            f"Copy it now, or choose a file for {label} to keep the next one.")


def warn_temporary(algorithm, spec, feedback):
    path = getattr(spec, "output_model", None) or getattr(spec, "output_folder", None)
    if getattr(algorithm, "OUTPUT_KEY", "") and is_temporary(path):
        feedback.pushWarning(temporary_note(algorithm, path))


def samples_leakage(source):
    """``(leakage, split method)`` recorded in a samples layer by Build landslide
    samples, or ``(None, None)`` (other layers, samples handed over as .npz)."""
    if str(source).endswith(".npz"):
        return None, None
    from osgeo import ogr

    path, _, layer_name = str(source).partition("|layername=")
    dataset = ogr.Open(path)
    if dataset is None:
        return None, None
    layer = dataset.GetLayerByName(layer_name.split("|")[0]) if layer_name \
        else dataset.GetLayer(0)
    text = layer.GetMetadataItem("LANDSLIDE_SAMPLES") if layer is not None else None
    try:
        summary = json.loads(text) if text else {}
    except ValueError:
        return None, None
    return summary.get("leakage"), summary.get("split_method")


def warn_leakage(source, feedback):
    """A warning when many test patches overlap training patches."""
    leakage, method = samples_leakage(source)
    if leakage is None or leakage <= LEAKAGE_WARNING:
        return
    split = f" ({method} split)" if method else ""
    feedback.pushWarning(
        f"Leakage: {100 * leakage:.0f}% of the test patches overlap a training patch"
        f"{split}, so the test scores will look better than the model does on new ground. "
        "For an honest test, build the samples with Split method 'Spatial blocks'.")
