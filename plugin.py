"""QGIS plugin entry: registers the Processing provider (and, in the desktop,
menu entries). No logic lives here."""

from qgis.core import QgsApplication

from .provider import LandslideProvider


class LandslidePlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS's name; called by qgis_process too)
        self.provider = LandslideProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
