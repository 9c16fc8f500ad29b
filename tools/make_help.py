#!/usr/bin/env python3
"""Generate the bundled help pages: resources/help/<algorithm>.html (one per
algorithm and workflow model of the provider) and resources/help/index.html.

Each page is the algorithm's shortHelpString (what it does, the paper's step,
and every parameter and output by its on-screen label with its default: the help
beside the dialog) followed, for scripts, by tables of the Python identifiers,
types, enum values (index = label) and defaults, and how to call it from Python
and ``qgis_process``. The algorithms' ``helpUrl()`` points at these pages. The
output is committed; run after changing an algorithm::

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/make_help.py
"""

import html
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELP_DIR = os.path.join(REPO, "resources", "help")
sys.path.append("/usr/share/qgis/python/plugins")

STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 1em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.id { color: #666; font-family: monospace; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
code, pre { background: #f6f6f6; }
pre { padding: 0.5em; overflow-x: auto; }
.help { border-left: 4px solid #1a9850; padding-left: 1em; }
"""


def _start_qgis():
    import runpy

    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from landslide_susceptibility.provider import LandslideProvider

    provider = LandslideProvider()
    if not QgsApplication.processingRegistry().addProvider(provider):
        raise SystemExit("Cannot register the landslide provider.")
    return app, QgsApplication.processingRegistry().providerById("landslide")


def _default(definition):
    from qgis.core import QgsProcessingParameterEnum

    value = definition.defaultValue()
    if value is None or value == "":
        return ""
    if isinstance(definition, QgsProcessingParameterEnum):
        options = definition.options()
        indices = value if isinstance(value, list) else [value]
        try:
            return ", ".join(f"{int(i)} ({options[int(i)]})" for i in indices)
        except (ValueError, IndexError, TypeError):
            return str(value)
    return str(value)


def _type(definition):
    """The type for scripts, as HTML: an enum lists its values (index = label)."""
    from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber

    text = html.escape(definition.type())
    if isinstance(definition, QgsProcessingParameterEnum):
        several = ", several comma-separated" if definition.allowMultiple() else ""
        text += f" (value: the index{several})<br>" + "<br>".join(
            f"{i} = {html.escape(o)}" for i, o in enumerate(definition.options()))
    elif isinstance(definition, QgsProcessingParameterNumber):
        kind = "integer" if definition.dataType() == QgsProcessingParameterNumber.Integer \
            else "double"
        limits = []
        if definition.minimum() > -1e300:
            limits.append(f"≥ {definition.minimum():g}")
        if definition.maximum() < 1e300:
            limits.append(f"≤ {definition.maximum():g}")
        text += html.escape(f" ({kind}{', ' + ', '.join(limits) if limits else ''})")
    return text


def _example_value(definition):
    from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber

    if definition.isDestination():
        extension = definition.defaultFileExtension() if hasattr(
            definition, "defaultFileExtension") else ""
        name = definition.name().split(":")[-1].lower()
        return f"/path/to/{name}{'.' + extension if extension else ''}"
    if isinstance(definition, (QgsProcessingParameterNumber, QgsProcessingParameterEnum)) \
            and definition.defaultValue() is not None:
        return definition.defaultValue()
    if definition.defaultValue() not in (None, ""):
        return definition.defaultValue()
    kind = definition.type()
    extension = {"raster": ".tif", "multilayer": ".tif", "vector": ".gpkg", "source": ".gpkg",
                 "layer": ".gpkg"}.get(kind, "")
    if kind == "file" and definition.extension():
        extension = "." + definition.extension()
    if kind == "field":
        return "unit"
    return f"/path/to/{definition.name().lower()}{extension}"


def _cli_value(value):
    return ",".join(str(item) for item in value) if isinstance(value, list) else value


def page(algorithm):
    esc = html.escape
    parameters = [d for d in algorithm.parameterDefinitions() if not d.isDestination()]
    destinations = algorithm.destinationParameterDefinitions()
    destination_names = {d.name() for d in destinations}
    outputs = [o for o in algorithm.outputDefinitions() if o.name() not in destination_names]
    rows = []
    for definition in parameters:
        optional = "yes" if definition.flags() & definition.FlagOptional else ""
        advanced = " (advanced)" if definition.flags() & definition.FlagAdvanced else ""
        rows.append(f"<tr><td>{esc(definition.description())}{advanced}</td>"
                    f"<td><code>{esc(definition.name())}</code></td>"
                    f"<td>{_type(definition)}</td><td>{esc(_default(definition))}</td>"
                    f"<td>{optional}</td></tr>")
    parameter_table = (
        "<table><tr><th>Label</th><th>Python identifier</th><th>Type</th><th>Default</th>"
        "<th>Optional</th></tr>" + "".join(rows) + "</table>") if rows else "<p>None.</p>"
    output_rows = [f"<tr><td>{esc(d.description())}</td><td><code>{esc(d.name())}</code>"
                   f"</td><td>{esc(d.type())}</td></tr>" for d in destinations]
    output_rows += [f"<tr><td>{esc(o.description())}</td><td><code>{esc(o.name())}</code>"
                    f"</td><td>{esc(o.type())} (result value)</td></tr>" for o in outputs]
    output_table = ("<table><tr><th>Label</th><th>Python identifier</th><th>Type</th></tr>"
                    + "".join(output_rows) + "</table>") if output_rows else "<p>None.</p>"
    example = {d.name(): _example_value(d) for d in parameters + destinations
               if not d.flags() & d.FlagOptional or d.isDestination()}
    python = (f"import processing\nresults = processing.run(\"{algorithm.id()}\", {{\n"
              + "".join(f"    {key!r}: {value!r},\n" for key, value in example.items())
              + "})")
    cli = (f"qgis_process.bin --json run {algorithm.id()} --"
           + "".join(f" \\\n    {key}={_cli_value(value)}" for key, value in example.items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(algorithm.displayName())} — Landslide susceptibility</title>
<style>{STYLE}</style></head><body>
<p><a href="index.html">Landslide susceptibility help</a> › {esc(algorithm.group())}</p>
<h1>{esc(algorithm.displayName())}</h1>
<p class="id">{esc(algorithm.id())}</p>
<div class="help">{algorithm.shortHelpString()}</div>
<h2>For scripts and <code>qgis_process</code></h2>
<h3>Parameters</h3>
{parameter_table}
<h3>Outputs and results</h3>
{output_table}
<h2>From Python (QGIS Python console or a script)</h2>
<pre>{esc(python)}</pre>
<h2>From the command line</h2>
<pre>{esc(cli)}</pre>
<p>Leave out optional parameters to use their defaults. List parameters repeat the key.
See the plugin's README for <code>qgis_process</code> set-up.</p>
</body></html>
"""


def index(algorithms):
    esc = html.escape
    groups = {}
    for algorithm in algorithms:
        groups.setdefault(algorithm.group(), []).append(algorithm)
    parts = []
    for group in sorted(groups):
        items = "".join(
            f'<li><a href="{esc(a.name())}.html">{esc(a.displayName())}</a> '
            f'<span class="id">{esc(a.id())}</span></li>'
            for a in sorted(groups[group], key=lambda a: a.displayName()))
        parts.append(f"<h2>{esc(group)}</h2><ul>{items}</ul>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Landslide susceptibility — help</title><style>{STYLE}</style></head><body>
<h1>Landslide susceptibility</h1>
<p>Deep-learning landslide susceptibility mapping following the CTLGNet paper: factors,
factor stack, multicollinearity and importance, patch samples, training of CNN, ResNet18,
DenseNet-BC, ViT, FrIT or CTLGNet in a separate engine process, evaluation, the
susceptibility map and its five classes. Every step is a Processing algorithm
(<b>Processing › Toolbox › Landslide susceptibility</b>); the workflow models run them
all. The menu <b>Plugins › Landslide susceptibility › Check engine…</b> tells whether the
engine (TensorFlow) works and what to do if not.</p>
{''.join(parts)}
</body></html>
"""


def write_pages(algorithms, folder):
    os.makedirs(folder, exist_ok=True)
    written = []
    for algorithm in algorithms:
        path = os.path.join(folder, f"{algorithm.name()}.html")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(page(algorithm))
        written.append(path)
    path = os.path.join(folder, "index.html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(index(algorithms))
    return written + [path]


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=HELP_DIR, help="folder (default: %(default)s)")
    folder = parser.parse_args().output
    app, provider = _start_qgis()
    for path in write_pages(sorted(provider.algorithms(), key=lambda a: a.name()), folder):
        print("wrote", path)
    app.exitQgis()


if __name__ == "__main__":
    main()
