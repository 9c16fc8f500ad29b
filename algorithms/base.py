"""Shared base of the provider's algorithms: naming (numbered in workflow order),
groups, icons, help."""

import os

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtGui import QIcon

from ..core.errors import CancelledError, LandslideError
from .destinations import check_destinations
from .help_text import help_html
from .styling import name_layers_after_files

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


# The toolbox sorts each group alphabetically: the display names of the steps are
# numbered in the order of the workflow ("3.1 Train landslide model", "3.2 Evaluate
# ..."): the group's number, then the step's place in its list. Ids are unchanged.
WORKFLOW_ORDER = {
    "data": ["createsamplearea", "deriveterrainfactors", "distancetofeatures", "alignfactors",
             "multicollinearity", "factorimportance"],
    "samples": ["buildsamples"],
    "models": ["trainmodel", "evaluatemodel", "explainmodel", "comparemodels",
               "pretrainencoder"],
    "maps": ["predictsusceptibility", "classifysusceptibility", "comparemaps"],
}


def icon(name):
    return QIcon(os.path.join(ICON_DIR, f"{name}.svg"))


def step_number(name, group):
    """``"3.1"`` for the first step of group ``3 · Models`` in :data:`WORKFLOW_ORDER`;
    "" for an algorithm outside the lists."""
    steps = WORKFLOW_ORDER.get(group, [])
    if name not in steps:
        return ""
    return f"{GROUPS[group].split(' ')[0]}.{steps.index(name) + 1}"


class LandslideAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set NAME, DISPLAY_NAME, GROUP, ICON, HELP (a short introduction)
    and NOTES (optional: what follows the list of parameters and outputs, which
    :func:`.help_text.help_html` writes from the definitions)."""

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = "tools"
    ICON = "landslide"
    HELP = ""
    NOTES = ""

    def name(self):
        return self.NAME

    def displayName(self):
        """DISPLAY_NAME numbered by its place in the workflow (:func:`step_number`)."""
        number = step_number(self.NAME, self.GROUP)
        return f"{number} {self.DISPLAY_NAME}" if number else self.DISPLAY_NAME

    def group(self):
        return GROUPS[self.GROUP]

    def groupId(self):
        return self.GROUP

    def icon(self):
        return icon(self.ICON)

    def svgIconPath(self):  # the graphical modeler draws this (default: a gear)
        return os.path.join(ICON_DIR, f"{self.ICON}.svg")

    def shortHelpString(self):
        return help_html(self, self.HELP, self.NOTES)

    def helpUrl(self):
        page = os.path.join(HELP_DIR, f"{self.NAME}.html")
        return "file://" + page if os.path.exists(page) else ""

    def createInstance(self):
        return type(self)()

    def processAlgorithm(self, parameters, context, feedback):
        """Run :meth:`process`; the one place where cancel and the project's
        errors are turned into what Processing expects. Before any work, the
        outputs are checked (:func:`.destinations.check_destinations`): none
        replaces an input, every folder can be written. Outputs Processing loads
        are named after their files (:func:`.styling.name_layers_after_files`)."""
        try:
            check_destinations(self, parameters, context)
            results = self.process(parameters, context, feedback)
        except CancelledError as exc:
            feedback.pushInfo(str(exc))
            return {}
        except LandslideError as exc:
            raise QgsProcessingException(str(exc)) from exc
        name_layers_after_files(self, results, context)
        return results

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
