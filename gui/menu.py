"""What the plugin's menu and toolbar entries do (plugin.py only registers them).

:data:`ENTRIES` lists the entries: ``(key, text, icon name, on toolbar,
callable(iface))``.
"""

import os

from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QAbstractItemView

from ..algorithms.base import HELP_DIR

MENU = "&Landslide susceptibility"
TOOLBAR = "Landslide susceptibility"
PROVIDER_ID = "landslide"
WORKFLOW_ID = "landslide:susceptibilityworkflow"
COMPARE_ID = "landslide:compareworkflow"
HELP_INDEX = os.path.join(HELP_DIR, "index.html")

_open_dialogs = []  # keep non-modal dialogs alive while they are shown


def _keep(dialog):
    _open_dialogs[:] = [d for d in _open_dialogs if _is_alive(d)]
    _open_dialogs.append(dialog)
    return dialog


def _is_alive(dialog):
    try:
        return dialog.isVisible()
    except RuntimeError:  # deleted on the C++ side
        return False


def open_algorithm(iface, algorithm_id):
    """The algorithm's Processing dialog, non-modal, as the toolbox opens it."""
    import processing

    dialog = processing.createAlgorithmDialog(algorithm_id, {})
    if dialog is None:
        iface.messageBar().pushWarning(
            "Landslide susceptibility",
            f"{algorithm_id} is not available: is the Processing plugin enabled?")
        return None
    dialog.show()
    return _keep(dialog)


def open_workflow(iface):
    return open_algorithm(iface, WORKFLOW_ID)


def open_compare_workflow(iface):
    return open_algorithm(iface, COMPARE_ID)


def show_toolbox(iface):
    """Show the Processing Toolbox with the provider's group expanded."""
    from qgis.utils import plugins

    processing_plugin = plugins.get("processing")
    toolbox = getattr(processing_plugin, "toolbox", None)
    if toolbox is None:
        iface.messageBar().pushWarning("Landslide susceptibility",
                                       "The Processing plugin is not enabled.")
        return None
    toolbox.setUserVisible(True)
    toolbox.searchBox.clear()
    tree = toolbox.algorithmTree
    model = tree.model()
    index = _provider_index(model)
    if index is not None:
        tree.setCurrentIndex(index)
        tree.expand(index)
        for row in range(model.rowCount(index)):
            tree.expand(model.index(row, 0, index))
        tree.scrollTo(index, QAbstractItemView.PositionAtTop)
    return toolbox


def _provider_index(model):
    """The toolbox tree's node of the provider (matched by its name)."""
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById(PROVIDER_ID)
    if provider is None:
        return None
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        if model.data(index) == provider.name():
            return index
    return None


def check_engine(iface):
    from .engine_check_dialog import EngineCheckDialog

    dialog = EngineCheckDialog(iface.mainWindow())
    dialog.show()
    return _keep(dialog)


def open_help(iface):
    """The bundled help: one page per algorithm, from resources/help/index.html."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(HELP_INDEX))


ENTRIES = [
    ("workflow", "Susceptibility workflow (factors to classes)…", "landslide", True,
     open_workflow),
    ("compare", "Compare models…", "compare", False, open_compare_workflow),
    ("toolbox", "Algorithms in the Processing Toolbox", "align", False, show_toolbox),
    ("engine", "Check engine…", "engine", True, check_engine),
    ("help", "Help", "help", False, open_help),
]
