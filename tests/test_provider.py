"""The provider: registration, unique ids, help and icons for every algorithm."""

import os

from qgis.core import QgsApplication


def test_provider_registers_with_its_algorithms(provider):
    registered = QgsApplication.processingRegistry().providerById("landslide")
    assert registered is not None
    assert registered.name() == "Landslide susceptibility"
    ids = [algorithm.id() for algorithm in registered.algorithms()]
    assert len(ids) == len(set(ids))
    assert "landslide:createsamplearea" in ids and "landslide:checkengine" in ids


def test_every_algorithm_has_help_icon_and_group(provider):
    from landslide_susceptibility.algorithms.base import ICON_DIR

    for algorithm in provider.algorithms():
        assert len(algorithm.shortHelpString()) > 80, algorithm.id()
        assert not algorithm.icon().isNull(), algorithm.id()
        assert os.path.exists(os.path.join(ICON_DIR, f"{algorithm.ICON}.svg")), algorithm.id()
        assert algorithm.group() and algorithm.groupId(), algorithm.id()
        assert algorithm.displayName(), algorithm.id()


def test_parameter_keys_are_upper_case(provider):
    for algorithm in provider.algorithms():
        for definition in algorithm.parameterDefinitions():
            name = definition.name().split(":")[0]  # model outputs: "<STEP>:<output name>"
            assert name == name.upper(), (algorithm.id(), definition.name())


def test_plugin_metadata():
    import configparser

    from landslide_susceptibility.algorithms.base import PLUGIN_DIR

    meta = configparser.ConfigParser()
    meta.read(os.path.join(PLUGIN_DIR, "metadata.txt"))
    general = meta["general"]
    assert general["name"] == "Landslide Susceptibility"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert os.path.exists(os.path.join(PLUGIN_DIR, general["icon"]))
