"""Safe output writing: write to a temporary sibling, then rename into place.

Nothing that existed at an output path is lost when a run fails or is cancelled.
"""

import contextlib
import os
import shutil
import tempfile

from .errors import InputError


def ensure_writable_dir(folder, what="output folder"):
    """Create ``folder`` if needed and check that it can be written."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the {what} '{folder}': {exc.strerror}. "
                         "Choose a folder you can write to.") from exc
    if not os.access(folder, os.W_OK):
        raise InputError(f"The {what} '{folder}' is not writable. "
                         "Choose a folder you can write to.")
    return folder


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    The temporary file keeps ``path``'s extension so that GDAL/OGR pick the
    right driver. On error or cancel the temporary file is removed and ``path``
    is left as it was.
    """
    folder = os.path.dirname(os.path.abspath(path)) or "."
    ensure_writable_dir(folder)
    base, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".partial{ext}", dir=folder)
    os.close(fd)
    os.remove(tmp)  # drivers want to create the file themselves
    try:
        yield tmp
        _remove_sidecars(path)
        os.replace(tmp, path)
        for suffix in (".aux.xml", ".ovr"):
            if os.path.exists(tmp + suffix):
                os.replace(tmp + suffix, path + suffix)
    finally:
        for leftover in (tmp, tmp + ".aux.xml", tmp + ".ovr"):
            if os.path.isdir(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
            elif os.path.exists(leftover):
                os.remove(leftover)


def _remove_sidecars(path):
    for suffix in (".aux.xml", ".ovr"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
