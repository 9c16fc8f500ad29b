"""A fix for a QGIS 3.22 batch-processing bug, installed by the plugin in the desktop.

QGIS 3.22's batch dialog (``BatchAlgorithmDialog.loadHTMLResults``) calls
``ProcessingResults.addResult`` without its ``timestamp`` argument for every
HTML output, so a batch run of an algorithm with an HTML report ends in a
TypeError after all its rows ran: the dialog stays blocked and the reports
are not listed in the Results Viewer. Later QGIS versions pass the timestamp.
:func:`install` gives ``timestamp`` a default (now) when, and only when, the
installed QGIS lacks it; :func:`uninstall` restores the original.
"""

import inspect
import time

_ORIGINAL = None


def _needs_fix(method):
    parameter = inspect.signature(method).parameters.get("timestamp")
    return parameter is not None and parameter.default is inspect.Parameter.empty


def install():
    """Patch ``ProcessingResults.addResult`` if needed; True when patched."""
    global _ORIGINAL
    try:
        from processing.core.ProcessingResults import ProcessingResults
    except ImportError:  # no Processing plugin
        return False
    if _ORIGINAL is not None or not _needs_fix(ProcessingResults.addResult):
        return _ORIGINAL is not None
    original = ProcessingResults.addResult

    def add_result(self, icon, name, timestamp=None, result=None):
        return original(self, icon, name, time.localtime() if timestamp is None
                        else timestamp, result)

    add_result.__doc__ = original.__doc__
    _ORIGINAL = original
    ProcessingResults.addResult = add_result
    return True


def uninstall():
    global _ORIGINAL
    if _ORIGINAL is None:
        return
    from processing.core.ProcessingResults import ProcessingResults

    ProcessingResults.addResult = _ORIGINAL
    _ORIGINAL = None
