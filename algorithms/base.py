"""Shared base of the provider's algorithms: naming, groups, icons, help."""

import os

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtGui import QIcon

from ..core.errors import CancelledError, LandslideError

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

    def displayName(self):  # noqa: N802
        return self.DISPLAY_NAME

    def group(self):
        return GROUPS[self.GROUP]

    def groupId(self):  # noqa: N802
        return self.GROUP

    def icon(self):
        return icon(self.ICON)

    def shortHelpString(self):  # noqa: N802
        return self.HELP

    def helpUrl(self):  # noqa: N802
        page = os.path.join(HELP_DIR, f"{self.NAME}.html")
        return "file://" + page if os.path.exists(page) else ""

    def createInstance(self):  # noqa: N802
        return type(self)()


def run_core(function, feedback, *args, **kwargs):
    """Call a core function with the feedback's progress and cancel callables;
    turn the project's errors into ``QgsProcessingException``.

    Returns None when the user cancelled (nothing was written).
    """
    try:
        return function(*args, progress=feedback.setProgress,
                        is_cancelled=feedback.isCanceled, **kwargs)
    except CancelledError:
        feedback.pushInfo("Cancelled: no output was written.")
        return None
    except LandslideError as exc:
        raise QgsProcessingException(str(exc)) from exc
