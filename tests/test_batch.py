"""Batch processing: every algorithm (and workflow model) fits Processing's batch
grid, outputs are auto-named by the grid's autofill, and algorithms run over
several inputs as the batch dialog runs them."""

import os
import re

import numpy as np
import pytest
from osgeo import gdal

EXTENSION = re.compile(r"\*(\.[a-z]{1,10})")  # what the batch grid's autofill reads


def _crop(source, target, x, y, size):
    gdal.Translate(str(target), str(source), srcWin=[x, y, size, size])
    return str(target)


@pytest.fixture(scope="module")
def three_dems(sample_area, tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch_dems")
    dem = sample_area["files"]["dem"]
    return [_crop(dem, folder / f"dem_{name}.tif", x, y, 96)
            for name, x, y in (("a", 0, 0), ("b", 64, 0), ("c", 32, 64))]


@pytest.fixture(scope="module")
def three_probabilities(sample_area, tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch_probabilities")
    probability = sample_area["files"]["true_probability"]
    return [_crop(probability, folder / f"probability_{name}.tif", x, y, 80)
            for name, x, y in (("a", 0, 0), ("b", 80, 0), ("c", 40, 80))]


class _NoTask:
    """Stands in for QgsScopedProxyProgressTask: a failing run would otherwise
    leave a task open that QGIS waits for at exit."""

    def __init__(self, _description):
        pass

    def setProgress(self, _progress):
        pass


def _batch_dialog(algorithm, monkeypatch=None):
    import importlib

    from landslide_susceptibility.gui import compat

    module = importlib.import_module("processing.gui.BatchAlgorithmDialog")

    if monkeypatch is not None:
        monkeypatch.setattr(module, "QgsScopedProxyProgressTask", _NoTask)
        compat.install()  # as the plugin does in the desktop (QGIS 3.22 batch bug)
    return module.BatchAlgorithmDialog(algorithm.create())


def test_every_algorithm_supports_batch(provider):
    from qgis.core import QgsProcessingAlgorithm

    ids = [algorithm.id() for algorithm in provider.algorithms()]
    assert "landslide:susceptibilityworkflow" in ids and "landslide:compareworkflow" in ids
    for algorithm in provider.algorithms():
        assert algorithm.flags() & QgsProcessingAlgorithm.FlagSupportsBatch, algorithm.id()


def test_every_algorithm_fits_the_batch_grid(provider, qgis_iface):
    """The batch grid builds a widget for every parameter of every algorithm, in
    several rows, and every file output has an extension the autofill can use."""
    from qgis.core import QgsProcessingParameterFolderDestination

    for algorithm in provider.algorithms():
        dialog = _batch_dialog(algorithm)
        panel = dialog.mainWidget()
        panel.addRow(2)
        assert panel.batchRowCount() == 3, algorithm.id()
        table = panel.tblParameters
        for row in range(panel.batchRowCount()):
            for definition in algorithm.parameterDefinitions():
                column = panel.parameter_to_column[definition.name()]
                if definition.isDestination():
                    widget = table.cellWidget(row + 1, column)
                    assert hasattr(widget, "setValue"), (algorithm.id(), definition.name())
                    continue
                wrapper = panel.wrappers[row][column]
                assert wrapper is not None, (algorithm.id(), definition.name())
                assert table.cellWidget(row + 1, column) is not None, \
                    (algorithm.id(), definition.name())
                # The default value is acceptable, so rows can be left as they are.
                if definition.defaultValue() is not None:
                    assert definition.checkValueIsAcceptable(definition.defaultValue()), \
                        (algorithm.id(), definition.name())
        for output in algorithm.destinationParameterDefinitions():
            if isinstance(output, QgsProcessingParameterFolderDestination):
                continue
            assert EXTENSION.findall(output.createFileFilter()), (algorithm.id(),
                                                                  output.name())
        dialog.close()
        dialog.deleteLater()


class _FileDialog:
    """Stands in for QFileDialog: the user picks a base name, no extension."""

    chosen = None

    @classmethod
    def getSaveFileName(cls, *_args):
        return cls.chosen, "TIF files (*.tif *.TIF)"


def _autofill(mode, parameter=None):
    class Autofill:
        DO_NOT_AUTOFILL, FILL_WITH_NUMBERS, FILL_WITH_PARAMETER = 0, 1, 2

        def __init__(self, _algorithm):
            self.mode = mode
            self.param_name = parameter

        def exec_(self):
            return 1

    return Autofill


def _set_input(panel, row, name, value):
    from processing.tools import dataobjects

    wrapper = panel.wrappers[row][panel.parameter_to_column[name]]
    wrapper.setParameterValue(value, dataobjects.createContext())


def _pick_output(panel, name, base, monkeypatch, mode, parameter=None):
    """Click the first row's output "…" button and choose autofill ``mode``."""
    import importlib

    module = importlib.import_module("processing.gui.BatchOutputSelectionPanel")
    _FileDialog.chosen = base
    monkeypatch.setattr(module, "QFileDialog", _FileDialog)
    monkeypatch.setattr(module, "AutofillDialog", _autofill(mode, parameter))
    panel.tblParameters.cellWidget(1, panel.parameter_to_column[name]).showSelectionDialog()
    return [panel.tblParameters.cellWidget(row + 1, panel.parameter_to_column[name]).getValue()
            for row in range(panel.batchRowCount())]


def test_batch_dialog_runs_three_dems(provider, qgis_iface, three_dems, tmp_path,
                                      monkeypatch):
    """Derive terrain factors over three DEMs in the real batch dialog: outputs
    auto-named from the DEM (slope) and by numbers (aspect), three runs."""
    from qgis.core import QgsApplication, QgsProject

    algorithm = QgsApplication.processingRegistry().algorithmById(
        "landslide:deriveterrainfactors")
    dialog = _batch_dialog(algorithm, monkeypatch)
    panel = dialog.mainWidget()
    panel.addRow(2)
    for row, dem in enumerate(three_dems):
        _set_input(panel, row, "DEM", dem)
    slopes = _pick_output(panel, "OUTPUT_SLOPE", str(tmp_path / "slope_"), monkeypatch,
                          mode=2, parameter="DEM")
    aspects = _pick_output(panel, "OUTPUT_ASPECT", str(tmp_path / "aspect"), monkeypatch,
                           mode=1)
    assert slopes == [str(tmp_path / f"slope_dem_{name}.tif") for name in "abc"]
    assert aspects == [str(tmp_path / f"aspect{index}.tif") for index in (1, 2, 3)]
    panel.checkLoadLayersOnCompletion.setChecked(False)
    rows = [panel.parametersForRow(row, warnOnInvalid=True) for row in range(3)]
    assert all(ok for _parameters, ok in rows)
    dialog.runAlgorithm()
    for slope, aspect, dem in zip(slopes, aspects, three_dems, strict=True):
        assert os.path.exists(slope) and os.path.exists(aspect)
        data = gdal.Open(slope).ReadAsArray()
        assert data.shape == gdal.Open(dem).ReadAsArray().shape
    assert not np.array_equal(gdal.Open(slopes[0]).ReadAsArray(),
                              gdal.Open(slopes[1]).ReadAsArray())
    assert not QgsProject.instance().mapLayers()
    dialog.close()


def test_batch_dialog_loads_styled_classes(provider, qgis_iface, three_probabilities,
                                           tmp_path, monkeypatch):
    """Classify three rasters in the batch dialog with 'load layers on completion':
    the three class maps arrive in the project with the five-class palette,
    set by the algorithm's layer post-processor."""
    from qgis.core import QgsApplication, QgsPalettedRasterRenderer, QgsProject

    project = QgsProject.instance()
    project.removeAllMapLayers()
    algorithm = QgsApplication.processingRegistry().algorithmById(
        "landslide:classifysusceptibility")
    dialog = _batch_dialog(algorithm, monkeypatch)
    panel = dialog.mainWidget()
    panel.addRow(2)
    for row, raster in enumerate(three_probabilities):
        _set_input(panel, row, "SUSCEPTIBILITY", raster)
        _set_input(panel, row, "METHOD", 3)
        _set_input(panel, row, "BREAKS", "0.2,0.4,0.6,0.8")
    classes = _pick_output(panel, "OUTPUT", str(tmp_path / "classes_"), monkeypatch, mode=2,
                           parameter="SUSCEPTIBILITY")
    _pick_output(panel, "OUTPUT_TABLE", str(tmp_path / "table"), monkeypatch, mode=1)
    _FileDialog.chosen = str(tmp_path / "report.html")
    reports = _pick_output(panel, "OUTPUT_REPORT", str(tmp_path / "report.html"),
                           monkeypatch, mode=1)
    assert reports == [str(tmp_path / f"report{index}.html") for index in (1, 2, 3)]
    panel.checkLoadLayersOnCompletion.setChecked(True)
    try:
        dialog.runAlgorithm()
        assert dialog.cancelButton().isEnabled() is False  # finished, not stuck
        assert all(os.path.exists(path) for path in classes + reports)
        loaded = {layer.source(): layer for layer in project.mapLayers().values()}
        for path in classes:
            layer = loaded[path]
            # named after its file, not three layers called "Susceptibility classes"
            assert layer.name() == os.path.splitext(os.path.basename(path))[0]
            renderer = layer.renderer()
            assert isinstance(renderer, QgsPalettedRasterRenderer), path
            assert [c.label for c in renderer.classes()] == [
                "Very low (≤ 0.2)", "Low (0.2 – 0.4)", "Moderate (0.4 – 0.6)",
                "High (0.6 – 0.8)", "Very high (> 0.8)"]
        from processing.core.ProcessingResults import resultsList

        names = [result.name for result in resultsList.getResults()]
        assert {"Classification report [0]", "Classification report [2]"} <= set(names)
    finally:
        project.removeAllMapLayers()
        dialog.close()


def test_processing_run_loop_with_one_context(run_alg, sample_area, tmp_path):
    """A script's batch: one algorithm over three inputs, processing.run in a
    loop with the same context, three outputs."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    files = sample_area["files"]
    context = QgsProcessingContext()
    feedback = QgsProcessingFeedback()
    outputs = []
    for name in ("faults", "rivers", "landslides"):
        target = str(tmp_path / f"distance_to_{name}.tif")
        result = run_alg("landslide:distancetofeatures",
                         {"INPUT": files[name], "REFERENCE": files["dem"], "OUTPUT": target},
                         feedback=feedback, context=context)
        assert result["OUTPUT"] == target
        outputs.append(target)
    arrays = [gdal.Open(path).ReadAsArray() for path in outputs]
    assert all(array.shape == arrays[0].shape for array in arrays)
    assert all((array == 0).any() and array.max() > 0 for array in arrays)
    assert not np.array_equal(arrays[0], arrays[1]) and not np.array_equal(arrays[1],
                                                                            arrays[2])
