"""Find the Python to make the engine's environment with: one that sees GDAL's
bindings (the environment is made with ``--system-site-packages``) and can make
virtual environments.

Tried in this order (:func:`base_python_candidates`):

- Windows (OSGeo4W or the standalone installer; ``sys.executable`` is
  ``qgis-bin.exe`` there): ``python.exe`` in QGIS's Python prefix
  (``…/apps/Python3xx``), then ``python.exe``/``python3.exe`` beside QGIS's
  executable, then ``…/apps/Python3*/python.exe`` of that installation;
- macOS (``sys.executable`` is the QGIS.app binary):
  ``QGIS.app/Contents/MacOS/bin/python3``, then ``bin/python3.X`` and
  ``bin/python3`` of QGIS's Python prefix, then
  ``/Applications/QGIS*.app/Contents/MacOS/bin/python3``;
- Linux and others: ``bin/python3.X`` of QGIS's Python prefix (the same
  Python as QGIS, e.g. Debian's ``/usr/bin/python3.11``), ``bin/python3``
  there, ``/usr/bin/python3``;
- everywhere last: ``python3`` on the PATH.

Each is tried (:func:`probe_base_python`): it must start, import ``venv``,
``ensurepip`` and ``osgeo.gdal``, and be Python 3.10 or newer.

Subprocess and the standard library only.
"""

import glob
import ntpath
import os
import posixpath
import shutil
import subprocess
import sys

from .errors import LandslideError
from .pip_runner import clean_environment

MIN_PYTHON = (3, 10)
PROBE = ("import sys, venv, ensurepip; from osgeo import gdal; "
         "print(sys.version_info[0], sys.version_info[1], gdal.__version__)")


class EngineSetupError(LandslideError):
    """The engine could not be set up; the message says why and what to do."""


def base_python_candidates(platform=None, executable=None, prefix=None, version=None):
    """The interpreters to try for the engine, in order (see the module's help)."""
    platform = platform or sys.platform
    executable = executable or sys.executable
    prefix = prefix or sys.base_exec_prefix
    major, minor = (version or sys.version_info)[:2]
    if platform.startswith("win"):
        path = ntpath
        exe_dir = path.dirname(executable)
        found = [path.join(prefix, "python.exe"), path.join(exe_dir, "python.exe"),
                 path.join(exe_dir, "python3.exe")]
        found += sorted(glob.glob(path.join(path.dirname(exe_dir), "apps", "Python3*",
                                            "python.exe")), reverse=True)
    elif platform == "darwin":
        path = posixpath
        found = [path.join(path.dirname(executable), "bin", "python3"),
                 path.join(prefix, "bin", f"python{major}.{minor}"),
                 path.join(prefix, "bin", "python3")]
        found += sorted(glob.glob("/Applications/QGIS*.app/Contents/MacOS/bin/python3"),
                        reverse=True)
    else:
        path = posixpath
        found = [path.join(prefix, "bin", f"python{major}.{minor}"),
                 path.join(prefix, "bin", "python3"), "/usr/bin/python3"]
    on_path = shutil.which("python3")
    if on_path:
        found.append(on_path)
    unique = []
    for candidate in found:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def probe_base_python(python):
    """None when ``python`` can make the engine's environment, else why not."""
    if not python or not os.path.isfile(python):
        return "not found"
    try:
        done = subprocess.run([python, "-c", PROBE], env=clean_environment(),
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot be started ({exc})"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        tail = lines[-1] if lines else f"exit status {done.returncode}"
        if "ensurepip" in tail or "'venv'" in tail:
            return (f"cannot make virtual environments ({tail}); on Debian or Ubuntu: "
                    "sudo apt install python3-venv")
        if "osgeo" in tail or "gdal" in tail.lower():
            return (f"does not see GDAL's Python bindings ({tail}); on Debian or Ubuntu: "
                    "sudo apt install python3-gdal")
        return tail
    try:
        major, minor, _gdal = done.stdout.split()[:3]
        found = (int(major), int(minor))
    except ValueError:
        return f"answered something unexpected: {done.stdout.strip()[:200]}"
    if found < MIN_PYTHON:
        return f"is Python {major}.{minor}; the engine needs {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+"
    return None


def find_base_python(candidates=None):
    """The first usable interpreter of ``candidates`` (default: this platform's);
    raises :class:`EngineSetupError` listing every one tried and why it failed."""
    candidates = base_python_candidates() if candidates is None else list(candidates)
    tried = []
    for candidate in candidates:
        problem = probe_base_python(candidate)
        if problem is None:
            return candidate
        tried.append(f"  {candidate}: {problem}")
    listed = "\n".join(tried) or "  (none)"
    raise EngineSetupError(
        "No Python that can build the engine was found: it needs a Python 3.10+ that "
        "can make virtual environments (venv, ensurepip) and sees GDAL's bindings "
        f"(osgeo).\nTried:\n{listed}\nFix: on Debian or Ubuntu install python3-venv and "
        "python3-gdal; elsewhere give the Python that comes with QGIS as 'Base Python' "
        "(advanced parameter of Set up engine).")
