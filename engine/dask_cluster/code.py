"""The engine code the workers run, and its version (standard library only).

Plain Dask workers have nothing of the plugin installed. The client copies the
engine's part of the plugin (:data:`CODE_PARTS`: the package ``__init__``,
``metadata.txt``, ``core/``, ``engine/``, ``models/``, Python files only) into a
folder ``landslide_code_<hash>/landslide_susceptibility`` and ships it with
distributed's ``UploadDirectory`` plugin (:mod:`.session`) to the workers and the
scheduler (which unpickles the tasks); they then import ``landslide_susceptibility``
from there.

The version of that code is ``"<metadata version> (code <hash>)"``, the hash
taken over the shipped files' relative paths and bytes, so two checkouts of the
same plugin version with different code differ. :func:`worker_version` runs on
a worker that may lack the plugin: this module is sent by value
(``cloudpickle.register_pickle_by_value``), so it must not import anything of
the plugin.
"""

import hashlib
import os
import shutil
import sys

PACKAGE = "landslide_susceptibility"
CODE_PARTS = ("__init__.py", "metadata.txt", "core", "engine", "models")
SKIPPED_DIRS = ("__pycache__",)
_CACHE_ATTRIBUTE = "_landslide_code_version"


def code_files(package_dir):
    """The shipped files' paths relative to ``package_dir``, sorted."""
    found = []
    for part in CODE_PARTS:
        path = os.path.join(package_dir, part)
        if os.path.isfile(path):
            found.append(part)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            found += [os.path.relpath(os.path.join(root, name), package_dir)
                      for name in files if name.endswith(".py")]
    return sorted(found)


def metadata_version(package_dir):
    """The ``version=`` of the plugin's ``metadata.txt`` ("unknown" without one)."""
    try:
        with open(os.path.join(package_dir, "metadata.txt"), encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("version="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def code_version(package_dir):
    """``"0.1.0 (code 1a2b3c4d5e6f)"`` of the code in ``package_dir``."""
    digest = hashlib.sha256()
    for name in code_files(package_dir):
        digest.update(name.replace(os.sep, "/").encode() + b"\0")
        with open(os.path.join(package_dir, name), "rb") as handle:
            digest.update(handle.read() + b"\0")
    return f"{metadata_version(package_dir)} (code {digest.hexdigest()[:12]})"


def code_hash(version):
    """The hash part of a :func:`code_version`."""
    return version.rsplit("code ", 1)[-1].rstrip(")")


def upload_folder(package_dir, scratch, version):
    """Copy the shipped files to ``scratch/landslide_code_<hash>/landslide_susceptibility``;
    returns ``scratch/landslide_code_<hash>`` (the folder to upload)."""
    top = os.path.join(scratch, f"landslide_code_{code_hash(version)}")
    for name in code_files(package_dir):
        target = os.path.join(top, PACKAGE, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(package_dir, name), target)
    return top


def worker_version():
    """On a worker: ``{"version": ..., "path": ...}`` of the ``landslide_susceptibility``
    it imports (the version cached in the module, as the code in memory is what
    runs), or ``{"version": None, "error": ...}`` when it has none."""
    import importlib

    importlib.invalidate_caches()  # the folder may have arrived since the last try
    try:
        module = sys.modules.get(PACKAGE) or importlib.import_module(PACKAGE)
    except ImportError as exc:
        return {"version": None, "path": None, "error": str(exc), "pid": os.getpid()}
    package_dir = os.path.dirname(os.path.abspath(module.__file__))
    version = getattr(module, _CACHE_ATTRIBUTE, None)
    if version is None:
        version = code_version(package_dir)
        setattr(module, _CACHE_ATTRIBUTE, version)
    return {"version": version, "path": package_dir, "error": None, "pid": os.getpid()}
