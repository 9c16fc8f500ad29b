"""``check``: versions and devices, so users can tell whether the engine works."""

import sys

from .. import device


def run(params, reporter):
    info = device.describe()
    info["executable"] = sys.executable
    try:
        import sklearn

        info["sklearn"] = sklearn.__version__
    except ImportError:
        info["sklearn"] = None
        reporter.warning("scikit-learn is not installed in the engine environment; "
                         "factor importance will not work. Run 'make install'.")
    import numpy

    info["numpy"] = numpy.__version__
    try:
        from osgeo import gdal

        info["gdal"] = gdal.__version__
    except ImportError:
        info["gdal"] = None
        reporter.warning("GDAL's Python bindings are not visible to the engine; "
                         "make the venv with --system-site-packages.")
    reporter.progress(100)
    return info
