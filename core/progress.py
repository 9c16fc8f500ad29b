"""Progress and cancel callables shared by core functions.

Every long core function takes ``progress`` (called with 0..100) and
``is_cancelled`` (returns True to stop). These helpers give defaults and
sub-ranges so that a function can hand part of its bar to another.
"""

from .errors import CancelledError


def no_progress(_value):
    """A progress callable that ignores updates."""


def never_cancelled():
    """An is_cancelled callable that never cancels."""
    return False


def scaled(progress, start, end):
    """Map a child's 0..100 onto ``start..end`` of ``progress``."""
    span = end - start

    def report(value):
        progress(start + span * max(0.0, min(100.0, float(value))) / 100.0)

    return report


def check_cancelled(is_cancelled):
    """Raise :class:`CancelledError` when the user asked to stop."""
    if is_cancelled():
        raise CancelledError()


def gdal_callback(progress, is_cancelled):
    """A GDAL progress callback reporting 0..100 to ``progress``; it asks GDAL to
    stop (returns 0) when ``is_cancelled()``."""
    def callback(complete, _message, _data):
        progress(100.0 * complete)
        return 0 if is_cancelled() else 1

    return callback
