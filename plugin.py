"""QGIS plugin entry: registers the Processing provider and, in the desktop, the
menu and toolbar entries (their actions live in gui/menu.py). No logic here."""

from qgis.core import QgsApplication

from .provider import LandslideProvider


class LandslidePlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = {}
        self.toolbar = None

    def initProcessing(self):  # (QGIS's name; called by qgis_process too)
        self.provider = LandslideProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        from qgis.PyQt.QtWidgets import QAction

        from .algorithms.base import icon
        from .gui import compat
        from .gui.menu import ENTRIES, MENU, TOOLBAR

        self.initProcessing()
        compat.install()  # QGIS 3.22's batch dialog and HTML reports
        self.toolbar = self.iface.addToolBar(TOOLBAR)
        self.toolbar.setObjectName("LandslideSusceptibilityToolbar")
        for key, text, icon_name, on_toolbar, callback in ENTRIES:
            action = QAction(icon(icon_name), text, self.iface.mainWindow())
            action.setObjectName(f"landslide_{key}")
            action.triggered.connect(
                lambda _checked=False, run=callback: run(self.iface))
            self.iface.addPluginToMenu(MENU, action)
            if on_toolbar:
                self.toolbar.addAction(action)
            self.actions[key] = action

    def unload(self):
        if self.actions:
            from .gui import compat
            from .gui.menu import MENU

            compat.uninstall()

            for action in self.actions.values():
                self.iface.removePluginMenu(MENU, action)
            self.actions = {}
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
