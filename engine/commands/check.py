"""``check``: versions and devices, so users can tell whether the engine works."""

import importlib
import sys

from .. import device
from ..runners import bfloat16_emulated

# module -> (result key, what the user loses without it and how to fix it)
OPTIONAL_MODULES = {
    "sklearn": ("sklearn", "scikit-learn is not installed in the engine environment; "
                           "factor importance will not work. Run 'make install'."),
    "osgeo.gdal": ("gdal", "GDAL's Python bindings are not visible to the engine; "
                           "make the venv with --system-site-packages."),
}


def run(_spec, reporter):
    info = device.describe()
    info["executable"] = sys.executable
    emulated = bfloat16_emulated()
    info["bfloat16"] = f"emulated: {emulated}" if emulated else \
        "native (Training precision: Mixed bfloat16 can be faster)"
    import numpy

    info["numpy"] = numpy.__version__
    for module, (key, problem) in OPTIONAL_MODULES.items():
        info[key] = _version(module)
        if info[key] is None:
            reporter.warning(problem)
    reporter.progress(100)
    return info


def _version(module):
    try:
        return importlib.import_module(module).__version__
    except ImportError:
        return None
