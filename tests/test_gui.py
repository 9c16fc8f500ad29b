"""The desktop parts: the plugin's menu and toolbar entries and the engine check
dialog (offscreen Qt), including an engine that is missing or lacks TensorFlow."""

import os
import shutil
import stat

import pytest


class FakeIface:
    """What plugin.py uses of QgisInterface, recording the menu entries."""

    def __init__(self):
        from qgis.PyQt.QtWidgets import QMainWindow

        self.window = QMainWindow()
        self.menu = []
        self.toolbars = []

    def mainWindow(self):
        return self.window

    def addPluginToMenu(self, name, action):
        self.menu.append((name, action))

    def removePluginMenu(self, name, action):
        self.menu.remove((name, action))

    def addToolBar(self, name):
        toolbar = self.window.addToolBar(name)
        self.toolbars.append(toolbar)
        return toolbar


def test_menu_and_toolbar_entries(qgis_app, monkeypatch):
    from landslide_susceptibility import plugin as plugin_module
    from landslide_susceptibility.gui import menu

    monkeypatch.setattr(plugin_module.LandslidePlugin, "initProcessing", lambda self: None)
    iface = FakeIface()
    plugin = plugin_module.LandslidePlugin(iface)
    plugin.initGui()
    texts = [action.text() for _name, action in iface.menu]
    assert {name for name, _action in iface.menu} == {menu.MENU}
    assert texts == [entry[1] for entry in menu.ENTRIES]
    assert any("workflow" in text.lower() for text in texts)
    assert any("toolbox" in text.lower() for text in texts)
    assert "Check engine…" in texts and "Help" in texts
    assert all(not action.icon().isNull() for _name, action in iface.menu)
    toolbar_texts = [action.text() for action in plugin.toolbar.actions()]
    assert "Check engine…" in toolbar_texts and len(toolbar_texts) == 2
    plugin.unload()
    assert iface.menu == [] and plugin.toolbar is None


def test_menu_entries_open_the_workflow_and_the_check(qgis_app, qgis_iface, provider,
                                                      monkeypatch):
    """The workflow entry opens the model's Processing dialog; the engine entry
    opens the check dialog (without starting the engine here)."""
    from qgis.gui import QgsBrowserGuiModel

    from landslide_susceptibility.gui import engine_check_dialog, menu

    browser = QgsBrowserGuiModel()  # the test iface has none; the dialog asks for it
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)

    iface = FakeIface()
    dialog = menu.open_workflow(iface)
    try:
        assert dialog is not None and dialog.isVisible()
        assert dialog.algorithm().id() == menu.WORKFLOW_ID
    finally:
        dialog.close()
    monkeypatch.setattr(engine_check_dialog.EngineCheckDialog, "start", lambda self: None)
    check = menu.check_engine(iface)
    try:
        assert isinstance(check, engine_check_dialog.EngineCheckDialog) and check.isVisible()
    finally:
        check.close()
    assert os.path.exists(menu.HELP_INDEX)


def test_engine_missing(qgis_app, tmp_path, monkeypatch):
    from landslide_susceptibility.gui.engine_check_dialog import EngineCheckDialog

    missing = str(tmp_path / "no-such-venv" / "bin" / "python")
    monkeypatch.setenv("LANDSLIDE_ENGINE_PYTHON", missing)
    dialog = EngineCheckDialog()  # the configured interpreter: the variable's
    dialog.show()
    assert dialog.process is None  # nothing was started
    assert dialog.info is None and "not found" in dialog.problem
    assert dialog.value_labels["executable"].text() == missing
    assert dialog.value_labels["tensorflow"].text() == "—"
    assert "cannot run" in dialog.status_label.text()
    advice = dialog.advice.toPlainText()
    assert "make install" in advice and "Engine Python interpreter" in advice
    assert "LANDSLIDE_ENGINE_PYTHON" in advice
    report = dialog.report_text()
    assert missing in report and "make install" in report
    dialog.close()


def test_engine_without_tensorflow(qgis_app, tmp_path):
    """An interpreter that runs but lacks TensorFlow: what is missing, and the fix."""
    from landslide_susceptibility.gui.engine_check_dialog import EngineCheckDialog

    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho tensorflow,sklearn\nexit 1\n")
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    dialog = EngineCheckDialog(python=str(python))
    assert dialog.info is None
    assert "lacks" in dialog.problem and "tensorflow" in dialog.problem
    assert "make install" in dialog.advice.toPlainText()
    dialog.close()


def test_engine_not_executable(qgis_app, tmp_path):
    from landslide_susceptibility.gui.engine_check_dialog import EngineCheckDialog

    python = tmp_path / "python"
    python.write_text("not a program")
    python.chmod(0o644)
    dialog = EngineCheckDialog(python=str(python))
    assert "not executable" in dialog.problem
    dialog.close()


def test_engine_check_shows_interpreter_tensorflow_and_device(qgis_app):
    from landslide_susceptibility.algorithms.engine_runner import engine_problem, engine_python
    from landslide_susceptibility.gui.engine_check_dialog import EngineCheckDialog

    python = engine_python()
    if engine_problem(python):
        pytest.skip(f"no engine here: {engine_problem(python)}")
    dialog = EngineCheckDialog(start=False)
    dialog.show()
    dialog.start()
    assert dialog.process is not None  # runs in a QProcess, QGIS stays responsive
    info = dialog.wait()
    assert info is not None, dialog.problem
    labels = dialog.value_labels
    assert labels["tensorflow"].text().startswith("2.")
    assert labels["executable"].text() == info["executable"]
    assert os.path.samefile(labels["executable"].text(), shutil.which(python) or python)
    device = labels["device"].text()
    assert device.startswith(("CPU", "GPU"))
    assert "Engine ready" in dialog.status_label.text() and device in \
        dialog.status_label.text()
    assert labels["python"].text().count(".") == 2
    assert labels["bfloat16"].text() == info["bfloat16"]
    assert "The engine works" in dialog.advice.toPlainText()
    dialog.close()


def test_toolbox_entry_shows_the_provider(qgis_app, qgis_iface, provider, monkeypatch):
    from types import SimpleNamespace

    from processing.gui.ProcessingToolbox import ProcessingToolbox
    from qgis import utils

    from landslide_susceptibility.gui import menu

    toolbox = ProcessingToolbox()
    monkeypatch.setitem(utils.plugins, "processing", SimpleNamespace(toolbox=toolbox))
    toolbox.searchBox.setText("something else")
    assert menu.show_toolbox(qgis_iface) is toolbox
    assert toolbox.searchBox.text() == ""
    tree = toolbox.algorithmTree
    current = tree.currentIndex()
    assert current.isValid()
    assert tree.model().data(current) == "Landslide susceptibility"
    assert tree.isExpanded(current)
    names = set()
    model = tree.model()
    for row in range(model.rowCount(current)):
        group = model.index(row, 0, current)
        names.add(model.data(group))
        assert tree.isExpanded(group)
    assert "0 · Workflows" in names and "4 · Susceptibility maps" in names
    toolbox.deleteLater()


def test_every_algorithm_has_a_help_page(provider):
    """helpUrl() of every algorithm and workflow model opens its bundled page,
    which holds the help text and every parameter and output with its default."""
    import html

    from landslide_susceptibility.gui.menu import HELP_INDEX

    with open(HELP_INDEX, encoding="utf-8") as handle:
        index = handle.read()
    for algorithm in provider.algorithms():
        url = algorithm.helpUrl()
        assert url.startswith("file://"), algorithm.id()
        path = url[len("file://"):]
        assert os.path.basename(path) == f"{algorithm.name()}.html"
        with open(path, encoding="utf-8") as handle:
            page = handle.read()
        assert f'href="{algorithm.name()}.html"' in index
        assert algorithm.shortHelpString()[:200] in page, algorithm.id()
        text = html.unescape(page)
        for definition in algorithm.parameterDefinitions():
            assert f"<code>{definition.name()}</code>" in page, (algorithm.id(),
                                                                 definition.name())
            default = definition.defaultValue()
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                assert str(default) in text, (algorithm.id(), definition.name())
        for output in algorithm.outputDefinitions():
            assert f"<code>{output.name()}</code>" in page, (algorithm.id(), output.name())
        assert f"processing.run(\"{algorithm.id()}\"" in text
