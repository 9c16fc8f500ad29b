"""Landslide Susceptibility: a QGIS Processing plugin for deep-learning
landslide susceptibility mapping (CTLGNet and five comparison models)."""


def classFactory(iface):  # (QGIS's name)
    from .plugin import LandslidePlugin

    return LandslidePlugin(iface)
