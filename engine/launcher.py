#!/usr/bin/env python3
"""Entry script of the engine process: ``python engine/launcher.py COMMAND ...``.

The plugin folder may have any name on disk (a git checkout, a symlink in a
QGIS profile), so this script registers it as the package
``landslide_susceptibility`` and then hands over to
:func:`landslide_susceptibility.engine.cli.main`. Tests use
:func:`register_package` the same way.
"""

import importlib.util
import os
import sys

PACKAGE = "landslide_susceptibility"
PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def register_package(plugin_dir=PLUGIN_DIR):
    """Import the plugin folder as the ``landslide_susceptibility`` package."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(plugin_dir, "__init__.py"),
        submodule_search_locations=[plugin_dir])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    register_package()
    from landslide_susceptibility.engine.cli import main

    sys.exit(main(sys.argv[1:]))
