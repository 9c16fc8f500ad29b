#!/usr/bin/env python3
"""Screenshots of the demo's results, for ``make demo`` and the README.

- **headless** (no display): the styled five-class map and the probability map
  rendered with ``QgsMapRendererParallelJob`` → ``classes_map.png``,
  ``probability_map.png``;
- **desktop** (under Xvfb): QGIS desktop started with a throw-away profile in
  which the plugin is enabled, a startup script (``--code``) that opens the
  results styled by the plugin, zooms to them, shows the plugin's toolbox group,
  waits for the canvas and saves ``qgis_canvas.png`` (the map canvas) and
  ``qgis_window.png`` (the whole window), then opens the Processing dialogs of
  Train (*Advanced parameters* folded, as QGIS opens it) and of the workflow
  and saves them as ``train_dialog.png`` and ``workflow_dialog.png``, closes
  them and quits; ``qgis_desktop.json`` records what it saw (plugin loaded,
  menu entries, the toolbox tree, each dialog's title, shown and folded
  parameters).

Usage (QGIS's Python)::

    QT_QPA_PLATFORM=offscreen python3 tools/screenshot.py --output demo_output

Results are looked up in the output folder (``--classes`` etc. override):
the classes raster (``*classes*.tif``), the probability raster
(``*susceptib*.tif``/``*probab*.tif``), ``sample_area/landslides.gpkg`` and
``samples.gpkg``. Images go to ``<output>/screenshots/``.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN = "landslide_susceptibility"
CLASS_NAMES = ["Very low", "Low", "Moderate", "High", "Very high"]
DIALOGS = [("landslide:trainmodel", "train_dialog.png"),
           ("landslide:susceptibilityworkflow", "workflow_dialog.png")]
DIALOG_SIZE = (960, 760)  # pixels: readable at the README's width
_APP = []  # the QgsApplication start_qgis made: it must outlive the rendering


# -- finding the results ----------------------------------------------------------
def _first(patterns, exclude=()):
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            name = os.path.basename(path).lower()
            if not any(word in name for word in exclude):
                return path
    return None


def find_outputs(out, classes=None, probability=None, inventory=None, samples=None):
    """Paths of the results to show (None where absent)."""
    places = [out, os.path.join(out, "workflow")]
    found = {
        "classes": classes or _first([os.path.join(p, "*classes*.tif") for p in places]),
        "probability": probability or _first(
            [os.path.join(p, pattern) for p in places
             for pattern in ("*susceptib*.tif", "*probab*.tif")], exclude=("class",)),
        "inventory": inventory or _first([os.path.join(out, "sample_area", "landslides.gpkg")]),
        "samples": samples or _first([os.path.join(p, "samples.gpkg") for p in places]),
    }
    return {key: value for key, value in found.items() if value and os.path.exists(value)}


# -- headless rendering --------------------------------------------------------------
def start_qgis():
    """A QgsApplication (offscreen) with the plugin importable; reuse a running one."""
    from qgis.core import QgsApplication

    _register_package()
    app = QgsApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QgsApplication([], False)
        app.initQgis()
        _APP.append(app)
    return app


def _register_package():
    import runpy

    if PLUGIN not in sys.modules:
        runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)


def styled_layer(path, kind, name=None):
    """A layer of ``path`` with the plugin's style ``kind`` (classes, probability,
    samples) or, for ``inventory``, red outlines."""
    from qgis.core import QgsFillSymbol, QgsRasterLayer, QgsSingleSymbolRenderer, QgsVectorLayer

    from landslide_susceptibility.algorithms.styling import apply_style

    name = name or os.path.splitext(os.path.basename(path))[0]
    if kind in ("classes", "probability"):
        options = QgsRasterLayer.LayerOptions()
        options.loadDefaultStyle = False
        layer = QgsRasterLayer(path, name, "gdal", options)
    else:
        options = QgsVectorLayer.LayerOptions()
        options.loadDefaultStyle = False
        layer = QgsVectorLayer(path, name, "ogr", options)
    if not layer.isValid():
        raise RuntimeError(f"Cannot open {path}")
    if kind == "inventory":
        layer.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(
            {"color": "0,0,0,0", "outline_color": "#000000", "outline_width": "0.4"})))
    elif not apply_style(layer, kind):
        raise RuntimeError(f"Cannot apply the '{kind}' style to {path}")
    return layer


def render_layers(layers, path, width=900, extent=None, background="#ffffff"):
    """Render ``layers`` (first on top) with QgsMapRendererParallelJob to a PNG
    at ``path``; the height follows the extent's aspect ratio. Returns the QImage."""
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    base = layers[-1]
    extent = extent or base.extent()
    height = max(1, round(width * extent.height() / extent.width()))
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(base.crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(width, height))
    settings.setBackgroundColor(QColor(background))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if not image.save(path, "PNG"):
        raise RuntimeError(f"Cannot save {path}")
    return image


def colour_counts(image, colours):
    """How many pixels of ``image`` have each colour (``#rrggbb``) exactly."""
    from qgis.PyQt.QtGui import QColor

    wanted = {QColor(colour).rgb() & 0xFFFFFF: colour for colour in colours}
    counts = dict.fromkeys(colours, 0)
    step = 1 if image.width() * image.height() <= 1_500_000 else 2
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            colour = wanted.get(image.pixel(x, y) & 0xFFFFFF)
            if colour is not None:
                counts[colour] += 1
    return counts


def headless(outputs, folder, width=900):
    """The styled maps as PNGs; returns {name: path}."""
    start_qgis()
    written = {}
    overlay = [styled_layer(outputs["inventory"], "inventory", "Landslide inventory")] \
        if outputs.get("inventory") else []
    if outputs.get("classes"):
        layers = overlay + [styled_layer(outputs["classes"], "classes")]
        written["classes_map"] = os.path.join(folder, "classes_map.png")
        render_layers(layers, written["classes_map"], width)
    if outputs.get("probability"):
        samples = [styled_layer(outputs["samples"], "samples")] if outputs.get("samples") \
            else []
        layers = samples + [styled_layer(outputs["probability"], "probability")]
        written["probability_map"] = os.path.join(folder, "probability_map.png")
        render_layers(layers, written["probability_map"], width)
    return written


# -- QGIS desktop under Xvfb ----------------------------------------------------------
STARTUP = r'''
import json
import os
import traceback

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

_CONFIG = json.loads(__CONFIG__)
_STATUS = {"plugin_loaded": _CONFIG["plugin"] in plugins, "errors": []}


def _finish():
    with open(_CONFIG["status"], "w", encoding="utf-8") as handle:
        json.dump(_STATUS, handle, indent=2)
    QgsProject.instance().setDirty(False)
    os._exit(0)


def _tree(model, parent=None, depth=0):
    from qgis.PyQt.QtCore import QModelIndex

    parent = parent if parent is not None else QModelIndex()
    rows = []
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        rows.append("  " * depth + str(model.data(index)))
        rows += _tree(model, index, depth + 1)
    return rows


def _load():
    try:
        import sys

        sys.path.insert(0, _CONFIG["tools"])
        import screenshot

        window = iface.mainWindow()
        window.resize(_CONFIG["width"], _CONFIG["height"])
        window.showMaximized()
        project = QgsProject.instance()
        layers = []
        for key, kind, name in (("classes", "classes", "Susceptibility classes"),
                                ("inventory", "inventory", "Landslide inventory")):
            if _CONFIG["outputs"].get(key):
                layers.append(screenshot.styled_layer(_CONFIG["outputs"][key], kind, name))
        for layer in layers:  # the inventory's outlines on top of the classes
            project.addMapLayer(layer)
        node = project.layerTreeRoot().findLayer(layers[0].id()) if layers else None
        if node is not None:
            node.setExpanded(True)  # the legend: Very low ... Very high
        from landslide_susceptibility.gui.menu import MENU, show_toolbox

        menu = [action for action in window.menuBar().actions()
                if action.text().replace("&", "") == "Plugins"]
        entries = []
        for action in (menu[0].menu().actions() if menu else []):
            if action.text() == MENU and action.menu() is not None:
                entries = [a.text() for a in action.menu().actions()]
        _STATUS["menu"] = entries
        toolbox = show_toolbox(iface)
        if toolbox is not None:
            model = toolbox.algorithmTree.model()
            tree = _tree(model)
            start = [i for i, line in enumerate(tree) if line == "Landslide susceptibility"]
            if start:
                block = [tree[start[0]]]
                for line in tree[start[0] + 1:]:
                    if not line.startswith("  "):
                        break
                    block.append(line)
                _STATUS["toolbox"] = block
        _STATUS["layers"] = [layer.name() for layer in project.mapLayers().values()]
        canvas = iface.mapCanvas()
        canvas.setExtent(layers[0].extent() if layers else canvas.fullExtent())
        canvas.refresh()
        QTimer.singleShot(_CONFIG["wait_ms"], _save)
    except Exception:
        _STATUS["errors"].append(traceback.format_exc())
        _finish()


def _save(tries=[0]):
    canvas = iface.mapCanvas()
    if canvas.isDrawing() and tries[0] < 40:
        tries[0] += 1
        QTimer.singleShot(500, _save)
        return
    try:
        QgsApplication.processEvents()
        canvas.saveAsImage(_CONFIG["canvas"])
        iface.mainWindow().grab().save(_CONFIG["window"], "PNG")
        _STATUS["canvas"] = _CONFIG["canvas"]
        _STATUS["window"] = _CONFIG["window"]
    except Exception:
        _STATUS["errors"].append(traceback.format_exc())
    _STATUS["dialogs"] = {}
    _next_dialog(list(_CONFIG["dialogs"]))


def _next_dialog(todo):
    """Open the next algorithm's dialog as the menu does; grab it once painted."""
    if not todo:
        _finish()
        return
    algorithm_id, path = todo.pop(0)
    try:
        import processing

        dialog = processing.createAlgorithmDialog(algorithm_id, {})
        dialog.show()
        dialog.resize(*_CONFIG["dialog_size"])
        dialog.raise_()
    except Exception:
        _STATUS["errors"].append(traceback.format_exc())
        QTimer.singleShot(0, lambda: _next_dialog(todo))
        return
    QTimer.singleShot(_CONFIG["dialog_ms"],
                      lambda: _grab_dialog(dialog, algorithm_id, path, todo))


def _grab_dialog(dialog, algorithm_id, path, todo):
    from qgis.PyQt.QtWidgets import QGroupBox

    try:
        QgsApplication.processEvents()
        panel = dialog.mainWidget()
        advanced = panel.findChild(QGroupBox, "grpAdvanced")
        widgets = {key: wrapper.wrappedWidget() for key, wrapper in panel.wrappers.items()
                   if wrapper.wrappedWidget() is not None}
        hidden = [key for key, widget in widgets.items()
                  if advanced is not None and advanced.isAncestorOf(widget)]
        if not dialog.grab().save(path, "PNG"):
            raise RuntimeError(f"Cannot save {path}")
        _STATUS["dialogs"][algorithm_id] = {
            "title": dialog.windowTitle(), "image": path,
            "size": [dialog.width(), dialog.height()],
            "advanced_collapsed": bool(advanced.property("collapsed")) if advanced else None,
            "advanced": hidden,
            "shown": [key for key, widget in widgets.items()
                      if key not in hidden and widget.isVisible()]}
    except Exception:
        _STATUS["errors"].append(traceback.format_exc())
    finally:
        dialog.close()
        dialog.deleteLater()
    QTimer.singleShot(200, lambda: _next_dialog(todo))


QTimer.singleShot(_CONFIG["start_ms"], _load)
'''


def plugin_folder():
    """A folder holding the plugin under its installed name (for QGIS_PLUGINPATH)."""
    folder = os.path.join(REPO, ".build", "plugins")
    os.makedirs(folder, exist_ok=True)
    link = os.path.join(folder, PLUGIN)
    if os.path.realpath(link) != REPO:
        if os.path.islink(link):
            os.remove(link)
        os.symlink(REPO, link)
    return folder


def desktop(outputs, folder, width=1600, height=1000, timeout=300, wait_s=6.0):
    """Start QGIS desktop under Xvfb with the plugin enabled, open ``outputs`` and
    save the canvas and the window. Returns the status dict the startup script wrote.

    Raises RuntimeError when Xvfb/QGIS are missing or QGIS gives no result."""
    for program in ("xvfb-run", "qgis"):
        if shutil.which(program) is None:
            raise RuntimeError(f"'{program}' is not installed (make install adds xvfb and qgis)")
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="landslide_screenshot_") as tmp:
        settings_dir = os.path.join(tmp, "profiles", "screenshot", "QGIS")
        os.makedirs(settings_dir)
        with open(os.path.join(settings_dir, "QGIS3.ini"), "w", encoding="utf-8") as handle:
            handle.write(f"[PythonPlugins]\n{PLUGIN}=true\nprocessing=true\n\n"
                         "[qgis]\ncheckVersion=false\nshowTips=false\n"
                         "allowVersionCheck=false\n\n[core]\nNewsFeed\\enabled=false\n")
        status_path = os.path.join(tmp, "status.json")
        config = {"plugin": PLUGIN, "tools": os.path.join(REPO, "tools"), "outputs": outputs,
                  "canvas": os.path.join(folder, "qgis_canvas.png"),
                  "window": os.path.join(folder, "qgis_window.png"), "status": status_path,
                  "width": width, "height": height, "start_ms": 1500,
                  "wait_ms": int(wait_s * 1000), "dialog_size": list(DIALOG_SIZE),
                  "dialog_ms": 1500,
                  "dialogs": [[algorithm_id, os.path.join(folder, name)]
                              for algorithm_id, name in DIALOGS]}
        script = os.path.join(tmp, "startup.py")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(STARTUP.replace("__CONFIG__", repr(json.dumps(config))))
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("QT_QPA", "PYTHONPATH", "QGIS_CUSTOM"))}
        env.update(QGIS_PLUGINPATH=plugin_folder(), HOME=tmp, XDG_RUNTIME_DIR=tmp)
        command = ["xvfb-run", "-a", "-s", f"-screen 0 {width}x{height}x24", "qgis",
                   "--profiles-path", tmp, "--profile", "screenshot", "--nologo",
                   "--noversioncheck", "--code", script]
        process = subprocess.Popen(command, env=env, cwd=tmp, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            log, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            log, _ = process.communicate()
            raise RuntimeError(f"QGIS did not finish within {timeout} s:\n"
                               f"{log.decode('utf-8', 'replace')[-3000:]}") from None
        if not os.path.exists(status_path):
            raise RuntimeError(f"QGIS gave no result (exit {process.returncode}):\n"
                               f"{log.decode('utf-8', 'replace')[-3000:]}")
        with open(status_path, encoding="utf-8") as handle:
            status = json.load(handle)
    with open(os.path.join(folder, "qgis_desktop.json"), "w", encoding="utf-8") as handle:
        json.dump(status, handle, indent=2)
    if status.get("errors"):
        raise RuntimeError("The startup script failed:\n" + "\n".join(status["errors"]))
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output", help="the demo's output folder")
    parser.add_argument("--classes")
    parser.add_argument("--probability")
    parser.add_argument("--inventory")
    parser.add_argument("--samples")
    parser.add_argument("--no-desktop", action="store_true", help="headless images only")
    parser.add_argument("--no-headless", action="store_true", help="desktop images only")
    args = parser.parse_args(argv)
    out = os.path.abspath(args.output)
    folder = os.path.join(out, "screenshots")
    outputs = find_outputs(out, args.classes, args.probability, args.inventory, args.samples)
    if not outputs.get("classes"):
        print(f"screenshot: no susceptibility classes raster in {out}; nothing to show.",
              file=sys.stderr)
        return 1
    print("screenshot: showing " + ", ".join(f"{k} {v}" for k, v in outputs.items()))
    status = 0
    if not args.no_headless:
        for path in headless(outputs, folder).values():
            print("   ", path)
    if not args.no_desktop:
        started = time.monotonic()
        try:
            result = desktop(outputs, folder)
        except RuntimeError as exc:
            print(f"screenshot: WARNING: no desktop screenshot: {exc}", file=sys.stderr)
            status = 2
        else:
            images = [result["canvas"], result["window"]] + \
                [dialog["image"] for dialog in result.get("dialogs", {}).values()]
            print("    " + "\n    ".join(images) +
                  f"  (QGIS desktop, {time.monotonic() - started:.0f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
