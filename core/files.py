"""Safe output writing: write to a temporary sibling, then rename into place.

Nothing that existed at an output path is lost when a run fails or is cancelled.
Folders are checked by writing a probe file, not with ``os.access``: as root,
or on file systems such as /proc, ``os.access`` says yes where writing fails.
"""

import contextlib
import os
import shutil
import tempfile

from .errors import InputError

_FIX = "Choose a folder you can write to."


def ensure_writable_dir(folder, what="output folder"):
    """Create ``folder`` if needed and check that files can be written in it."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the {what} '{folder}': {exc.strerror}. "
                         f"{_FIX}") from exc
    problem = _write_problem(folder)
    if problem:
        raise InputError(f"The {what} '{folder}' is not writable ({problem}). {_FIX}")
    return folder


def check_writable_dir(folder, what="output folder"):
    """Check, creating nothing, that ``folder`` exists or can be created and
    that files can be written in it; raise :class:`InputError` naming ``what``."""
    folder = os.path.abspath(folder)
    existing = _nearest_existing(folder)
    if not os.path.isdir(existing):
        raise InputError(f"The {what} '{folder}' cannot be created: '{existing}' is a file, "
                         f"not a folder. {_FIX}")
    problem = _write_problem(existing)
    if problem and existing == folder:
        raise InputError(f"The {what} '{folder}' is not writable ({problem}). {_FIX}")
    if problem:
        raise InputError(f"The {what} '{folder}' cannot be created in '{existing}' "
                         f"({problem}). {_FIX}")
    return folder


def _nearest_existing(path):
    """``path`` or its closest ancestor that exists."""
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _write_problem(folder):
    """None when a file can be created in ``folder``, else the reason."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".landslide_write_check.", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.remove(probe)
    return None


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    The temporary file keeps ``path``'s extension so that GDAL/OGR pick the
    right driver. On error or cancel the temporary file is removed and ``path``
    is left as it was; an error whose message names the temporary file names
    ``path`` instead (users never chose the hidden ``.partial`` name).
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
        _replace(tmp, path)
        for suffix in (".aux.xml", ".ovr"):
            if os.path.exists(tmp + suffix):
                os.replace(tmp + suffix, path + suffix)
    except Exception as exc:
        _name_output(exc, tmp, path)
        raise
    finally:
        for leftover in (tmp, tmp + ".aux.xml", tmp + ".ovr"):
            if os.path.isdir(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
            elif os.path.exists(leftover):
                os.remove(leftover)


def _replace(tmp, path):
    """Rename the finished temporary file onto ``path``."""
    try:
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"Cannot write the output '{path}': {exc.strerror}. Close it in "
                         "other programs, or choose another file.") from exc


def _name_output(exc, tmp, path):
    """Rewrite ``exc``'s message (args, OSError file names) so that it names
    ``path`` where it named the temporary file ``tmp``."""
    def fix(value):
        if not isinstance(value, str):
            return value
        return value.replace(tmp, path).replace(os.path.basename(tmp),
                                                os.path.basename(path))
    if isinstance(exc, OSError):
        exc.filename, exc.filename2 = fix(exc.filename), fix(exc.filename2)
    with contextlib.suppress(AttributeError, TypeError):
        exc.args = tuple(fix(arg) for arg in exc.args)


def _remove_sidecars(path):
    for suffix in (".aux.xml", ".ovr"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
