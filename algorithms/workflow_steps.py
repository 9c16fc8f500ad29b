"""Running the steps of ``landslide:susceptibilityworkflow``: each step is a
Processing algorithm run with ``processing.run(..., is_child_algorithm=True)``
in the workflow's own context (layers it creates stay available to the next
steps; outputs the user asked to load are loaded and styled by the step that
writes them), with progress across the steps, cancel checked between them and
errors that name the step.
"""

import os
import re

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingMultiStepFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingUtils,
    QgsProperty,
    QgsRasterLayer,
)

from ..core.errors import CancelledError


class StepRunner:
    """Runs the workflow's ``count`` steps one after the other."""

    def __init__(self, count, context, feedback):
        self.count = count
        self.context = context
        self.feedback = feedback
        self.steps = QgsProcessingMultiStepFeedback(count, feedback)
        self.done = 0
        self.results = {}  # the workflow's results so far

    def run(self, algorithm_id, params, title, keep=None):
        """The results of ``algorithm_id`` run with ``params``; ``keep``: {workflow
        result: step result} copied into :attr:`results` (also when the step was
        cancelled). Stops the workflow (:class:`CancelledError`) when cancelled, and
        names the step in errors."""
        import processing

        number = f"{self.done + 1} of {self.count}"
        self.check_cancelled(f"before step {number} ({title})")
        self.steps.setCurrentStep(self.done)
        self.feedback.pushInfo(f"\n— Step {number}: {title} —")
        try:
            results = processing.run(algorithm_id, params, context=self.context,
                                     feedback=self.steps, is_child_algorithm=True)
        except QgsProcessingException as exc:
            self.check_cancelled(f"during step {number} ({title})")
            message = str(exc).replace("Unable to execute algorithm\n", "").strip()
            raise QgsProcessingException(f"Step {number} ({title}) failed: {message}") \
                from exc
        for key, step_key in (keep or {}).items():
            if results.get(step_key) is not None:
                self.results[key] = results[step_key]
        self.check_cancelled(f"during step {number} ({title})")
        self.done += 1
        self.steps.setProgress(100)
        return results

    def check_cancelled(self, where):
        if self.feedback.isCanceled():
            raise CancelledError(f"Workflow cancelled {where}.")


def factor_name(text, prefix=""):
    """A factor (band) name from a layer name: lower case, words joined by ``_``."""
    words = re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_") or "layer"
    return prefix + words


def named_raster(path, name, context):
    """The raster ``path`` as a layer called ``name`` (the factor's band name in
    the stack), kept in the context's temporary layer store."""
    layer = QgsRasterLayer(path, name, "gdal")
    if not layer.isValid():
        raise QgsProcessingException(f"Cannot read the factor '{name}' ({path}).")
    context.temporaryLayerStore().addMapLayer(layer)
    return layer


def is_temporary(value):
    """Whether an output value stands for a temporary file (or is empty)."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        sink = value.sink
        value = sink.staticValue() if sink.propertyType() == QgsProperty.StaticProperty \
            else None
    if value is None or str(value) in ("", QgsProcessing.TEMPORARY_OUTPUT):
        return True
    temp = os.path.realpath(QgsProcessingUtils.tempFolder())
    return os.path.realpath(str(value)).startswith(temp + os.sep)


def is_skipped(value):
    """Whether an optional output was left out (*Skip output*)."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        return False
    return value is None or str(value) == ""


def for_step(value, label):
    """An output value of the workflow as the step that writes it gets it: as
    given, except that a temporary layer loaded on completion is named
    ``label`` (not after the step's own output)."""
    if value is None or str(value) == "":
        return QgsProcessing.TEMPORARY_OUTPUT
    if isinstance(value, QgsProcessingOutputLayerDefinition) and value.destinationProject \
            and not value.destinationName and is_temporary(value):
        named = QgsProcessingOutputLayerDefinition(value)
        named.destinationName = label
        return named
    return value
