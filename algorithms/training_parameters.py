"""What trainmodel, comparemodels and evaluatemodel share: the training
settings' keys and the hand-over of the stack and samples to the engine."""

import os
import tempfile

import numpy as np
from qgis.core import QgsProcessingException, QgsProviderRegistry

from ..core.errors import CancelledError
from ..core.sample_layer import FIELDS
from ..core.specs import TrainingSettings
from .base import LandslideAlgorithm
from .engine_runner import run_engine
from .inputs import stack_source
from .outputs import add_outputs
from .spec_parameters import add_spec_parameters, read_spec, spec_fields

# Processing keys of the training settings shared by trainmodel and comparemodels,
# in the order the dialog shows them.
TRAINING_KEYS = [p.key for _, p in spec_fields(TrainingSettings)]


class TrainingAlgorithm(LandslideAlgorithm):
    """Base of trainmodel and comparemodels: stack, samples, the model(s) (MODEL_KEY),
    the training settings, the output (OUTPUT_KEY: model file or folder), the table
    (TABLE: key, label) and report of SPEC, and the plain outputs VALUES."""

    SPEC = None
    MODEL_KEY = OUTPUT_KEY = ""
    TABLE = ()
    VALUES = ()
    NOTHING_WRITTEN = "Cancelled before anything was written."

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, self.SPEC,
                            ["STACK", "SAMPLES", self.MODEL_KEY] + TRAINING_KEYS +
                            [self.OUTPUT_KEY])
        add_outputs(self, table=self.TABLE, values=self.VALUES)
        add_spec_parameters(self, self.SPEC, ["OUTPUT_REPORT"])

    def process(self, parameters, context, feedback):
        """Run SPEC in the engine, then :meth:`outputs`; a cancel before anything
        was written raises :class:`CancelledError` with NOTHING_WRITTEN."""
        spec, result = run_on_samples(self, self.SPEC, parameters, context, feedback)
        if not result.written:
            raise CancelledError(self.NOTHING_WRITTEN)
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


def run_on_samples(algorithm, spec_class, parameters, context, feedback, check=None):
    """``(spec, result)``: the spec of the user's values, with the stack and samples
    handed over as files, run in the engine; ``check(spec)`` runs first when given."""
    with tempfile.TemporaryDirectory(prefix=f"landslide_{spec_class.COMMAND}_") as tmp:
        spec = read_spec(algorithm, spec_class, parameters, context,
                         **data_inputs(algorithm, parameters, context, tmp))
        if check is not None:
            check(spec)
        return spec, run_engine(spec, feedback)
