"""Pure numpy + GDAL computations. Never import qgis, PyQt or TensorFlow here.

Functions take arrays or paths, return arrays or paths, report through
``progress(0..100)`` and ``is_cancelled()`` callables and raise the errors in
:mod:`.errors`.
"""
