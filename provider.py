"""The ``landslide`` Processing provider: an explicit algorithm list and the
engine-interpreter setting."""

from qgis.core import QgsProcessingProvider

from .algorithms import ALGORITHMS
from .algorithms.base import icon
from .algorithms.engine_runner import ENGINE_PYTHON_SETTING, default_engine_python


class LandslideProvider(QgsProcessingProvider):
    def id(self):
        return "landslide"

    def name(self):
        return "Landslide susceptibility"

    def longName(self):  # noqa: N802
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
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        from processing.core.ProcessingConfig import ProcessingConfig

        ProcessingConfig.removeSetting(ENGINE_PYTHON_SETTING)

    def loadAlgorithms(self):  # noqa: N802
        for algorithm_class in ALGORITHMS:
            self.addAlgorithm(algorithm_class())
