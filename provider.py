"""The ``landslide`` Processing provider: an explicit algorithm list, the
workflow models of ``resources/models/*.model3``, the engine-interpreter
setting and the Dask scheduler address setting."""

import glob
import os

from qgis.core import (
    QgsApplication,
    QgsProcessing,
    QgsProcessingModelAlgorithm,
    QgsProcessingParameterDefinition,
    QgsProcessingProvider,
)

from .algorithms import ALGORITHMS
from .algorithms.base import HELP_DIR, ICON_DIR, PLUGIN_DIR, icon
from .algorithms.cluster_setting import SETTING_DESCRIPTION
from .algorithms.engine_runner import ENGINE_PYTHON_SETTING, default_engine_python
from .core.specs.cluster import SCHEDULER_SETTING

MODELS_DIR = os.path.join(PLUGIN_DIR, "resources", "models")


class WorkflowModel(QgsProcessingModelAlgorithm):
    """A shipped ``.model3`` under the provider: id ``landslide:<file name>``,
    the model's own name as display name, the plugin's icon and help page."""

    ICON = "landslide"

    def __init__(self, path=None):
        super().__init__()
        self._name = ""
        if path is not None:
            if not self.fromFile(path):
                raise ValueError(f"Cannot read the workflow model {path}")
            self._name = os.path.splitext(os.path.basename(path))[0]
            self._optional_outputs()

    def _optional_outputs(self):
        """Outputs left out are temporary files (qgis_process otherwise insists on
        every output of every step)."""
        for definition in self.destinationParameterDefinitions():
            definition.setFlags(definition.flags() | QgsProcessingParameterDefinition.FlagOptional)

    def name(self):
        return self._name

    def displayName(self):
        return super().name()

    def groupId(self):
        return "workflows"

    def icon(self):
        return icon(self.ICON)

    def svgIconPath(self):  # what the graphical modeler draws for a model used as a step
        return os.path.join(ICON_DIR, f"{self.ICON}.svg")

    def helpUrl(self):
        page = os.path.join(HELP_DIR, f"{self._name}.html")
        return "file://" + page if os.path.exists(page) else ""

    def processAlgorithm(self, parameters, context, feedback):
        # A model passes its inputs to the steps as given: inputs left out (as
        # qgis_process and scripts may) take the model's defaults here, and
        # outputs left out become temporary files.
        values = dict(parameters)
        for definition in self.parameterDefinitions():
            if values.get(definition.name()) not in (None, ""):
                continue
            if definition.isDestination():
                values[definition.name()] = QgsProcessing.TEMPORARY_OUTPUT
            elif definition.defaultValue() is not None:
                values[definition.name()] = definition.defaultValue()
        return super().processAlgorithm(values, context, feedback)

    def createInstance(self):
        instance = WorkflowModel()
        instance._name = self._name
        instance.loadVariant(self.toVariant())
        instance.setSourceFilePath(self.sourceFilePath())
        instance._optional_outputs()
        return instance


def model_files():
    return sorted(glob.glob(os.path.join(MODELS_DIR, "*.model3")))


class LandslideProvider(QgsProcessingProvider):
    def id(self):
        return "landslide"

    def name(self):
        return "Landslide susceptibility"

    def longName(self):
        return "Landslide susceptibility (CTLGNet and comparison models)"

    def icon(self):
        return icon("landslide")

    def load(self):
        from processing.core.ProcessingConfig import ProcessingConfig, Setting

        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(Setting(
            self.name(), ENGINE_PYTHON_SETTING,
            "Engine Python interpreter (needs tensorflow, scikit-learn, GDAL; "
            "the environment variable LANDSLIDE_ENGINE_PYTHON overrides it)",
            default_engine_python(), valuetype=Setting.FILE))
        ProcessingConfig.addSetting(Setting(self.name(), SCHEDULER_SETTING,
                                            SETTING_DESCRIPTION, ""))
        ProcessingConfig.readSettings()
        # The models' steps are this provider's algorithms (and GDAL's): they can
        # only be attached once those providers are registered, so the models are
        # reloaded when a provider is added (as QGIS's own model provider does).
        QgsApplication.processingRegistry().providerAdded.connect(self._provider_added)
        self.refreshAlgorithms()
        return True

    def unload(self):
        from processing.core.ProcessingConfig import ProcessingConfig

        try:
            QgsApplication.processingRegistry().providerAdded.disconnect(self._provider_added)
        except TypeError:
            pass
        ProcessingConfig.removeSetting(ENGINE_PYTHON_SETTING)
        ProcessingConfig.removeSetting(SCHEDULER_SETTING)

    def _provider_added(self, provider_id):
        if any(_has_missing_steps(algorithm) for algorithm in self.algorithms()
               if isinstance(algorithm, QgsProcessingModelAlgorithm)):
            self.refreshAlgorithms()

    def loadAlgorithms(self):
        for algorithm_class in ALGORITHMS:
            self.addAlgorithm(algorithm_class())
        for path in model_files():
            self.addAlgorithm(WorkflowModel(path))


def _has_missing_steps(model):
    """True when a step was not available when the model was read: its outputs
    are then missing from the model's parameters. (Copies of the steps, as
    ``childAlgorithms()`` returns them, attach themselves, so they cannot tell.)"""
    outputs = sum(len(child.modelOutputs()) for child in model.childAlgorithms().values())
    return len(model.destinationParameterDefinitions()) < outputs
