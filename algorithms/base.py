"""Shared base of the provider's algorithms: naming, groups, icons, help."""

import os

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtGui import QIcon

from ..core.errors import CancelledError, LandslideError
from .destinations import check_destinations

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ICON_DIR = os.path.join(PLUGIN_DIR, "resources", "icons")
HELP_DIR = os.path.join(PLUGIN_DIR, "resources", "help")

GROUPS = {
    "data": "1 · Study area and factors",
    "samples": "2 · Samples",
    "models": "3 · Models",
    "maps": "4 · Susceptibility maps",
    "tools": "Tools",
}


def icon(name):
    return QIcon(os.path.join(ICON_DIR, f"{name}.svg"))


class LandslideAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set NAME, DISPLAY_NAME, GROUP, ICON and HELP."""

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = "tools"
    ICON = "landslide"
    HELP = ""

    def name(self):
        return self.NAME

    def displayName(self):
        return self.DISPLAY_NAME

    def group(self):
        return GROUPS[self.GROUP]

    def groupId(self):
        return self.GROUP

    def icon(self):
        return icon(self.ICON)

    def shortHelpString(self):
        return self.HELP

    def helpUrl(self):
        page = os.path.join(HELP_DIR, f"{self.NAME}.html")
        return "file://" + page if os.path.exists(page) else ""

    def createInstance(self):
        return type(self)()

    def processAlgorithm(self, parameters, context, feedback):
        """Run :meth:`process`; the one place where cancel and the project's
        errors are turned into what Processing expects. Before any work, the
        outputs are checked (:func:`.destinations.check_destinations`): none
        replaces an input, every folder can be written."""
        try:
            check_destinations(self, parameters, context)
            return self.process(parameters, context, feedback)
        except CancelledError as exc:
            feedback.pushInfo(str(exc))
            return {}
        except LandslideError as exc:
            raise QgsProcessingException(str(exc)) from exc

    def process(self, parameters, context, feedback):
        """The algorithm's work; subclasses implement it instead of processAlgorithm."""
        raise NotImplementedError


def run_core(function, feedback, *args, **kwargs):
    """Call a core function with the feedback's progress and cancel callables.

    A cancel raises :class:`CancelledError` (handled in
    :meth:`LandslideAlgorithm.processAlgorithm`): nothing was written.
    """
    return function(*args, progress=feedback.setProgress, is_cancelled=feedback.isCanceled,
                    **kwargs)
