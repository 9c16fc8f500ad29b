"""What the engine's Python environment must hold, and the stamp that says what
it was built from.

The pinned requirements are ``requirements/engine.txt``. An environment built
by *Set up engine* (:mod:`.engine_setup`) or by ``make install`` gets a stamp
file, :data:`STAMP_NAME`, in its folder: the hash of those requirements, the
TensorFlow build (CPU or CUDA) and who built it. A plugin whose requirements
changed since tells the user that the engine is out of date, before starting
it (:func:`outdated_problem`). An environment without a stamp (one made by
hand) is never called out of date: only its modules are checked.

Standard library only: read by the plugin inside QGIS on every engine start.
"""

import hashlib
import json
import os
import re
import time

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIREMENTS = os.path.join(PLUGIN_DIR, "requirements", "engine.txt")
STAMP_NAME = "landslide-engine.json"
CPU_TENSORFLOW = "tensorflow-cpu"
GPU_TENSORFLOW = "tensorflow[and-cuda]"
VARIANTS = ("cpu", "gpu")
# distribution name -> module to look for, where they differ
IMPORT_NAMES = {"scikit-learn": "sklearn", "tensorflow-cpu": "tensorflow"}
ALWAYS_NEEDED = ("osgeo",)  # GDAL's bindings: from the system, not from pip

SET_UP_HINT = ("run Set up engine (Plugins › Landslide susceptibility › Check engine… › "
               "Set up engine…, or Processing Toolbox › Landslide susceptibility › Tools › "
               "Set up engine)")


def read_requirements(path=REQUIREMENTS):
    """The requirement lines of ``path`` without comments and blank lines,
    whitespace normalised (so that editing a comment changes nothing)."""
    lines = []
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.split("#", 1)[0].strip()
            if line:
                lines.append(" ".join(line.split()))
    return lines


def requirements_hash(lines):
    """The SHA-256 of the requirement set (normalised lines, in order)."""
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def requirement_name(line):
    """The distribution name of a requirement line, lower case with dashes."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    return re.sub(r"[._]+", "-", match.group(0)).lower() if match else line


def with_variant(lines, variant):
    """The lines with TensorFlow's CUDA build for ``variant`` 'gpu' (same version)."""
    if variant not in VARIANTS:
        raise ValueError(f"Unknown TensorFlow build {variant!r}: one of {VARIANTS}")
    if variant == "cpu":
        return list(lines)
    return [GPU_TENSORFLOW + line[len(CPU_TENSORFLOW):]
            if requirement_name(line) == CPU_TENSORFLOW else line for line in lines]


def required_modules(lines):
    """The modules the engine imports: GDAL's bindings and one per requirement."""
    names = [requirement_name(line) for line in lines]
    modules = [IMPORT_NAMES.get(name, name.split("[")[0].replace("-", "_")) for name in names]
    return list(ALWAYS_NEEDED) + [module for module in modules if module not in ALWAYS_NEEDED]


# -- the stamp ----------------------------------------------------------------
def environment_root(python):
    """The folder of the environment ``python`` belongs to (``bin/`` or
    ``Scripts/`` is one level below it); the path is not resolved, as a venv's
    ``bin/python`` is a link to the base interpreter."""
    return os.path.dirname(os.path.dirname(os.path.abspath(python)))


def stamp_path(folder):
    return os.path.join(folder, STAMP_NAME)


def read_stamp(folder):
    """The stamp of the environment in ``folder`` (a dict), or None."""
    try:
        with open(stamp_path(folder), encoding="utf-8") as handle:
            stamp = json.load(handle)
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def write_stamp(folder, lines, variant, built_by, python=None):
    """Write the stamp (atomically: a temporary file renamed into place)."""
    stamp = {"requirements_sha256": requirements_hash(lines), "variant": variant,
             "requirements": with_variant(lines, variant), "built_by": built_by,
             "python": python, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    target = stamp_path(folder)
    partial = target + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(stamp, handle, indent=1)
    os.replace(partial, target)
    return stamp


def stamp_state(python, lines):
    """``(state, stamp)`` of the environment of ``python`` against ``lines``:
    state 'unstamped' (no stamp: made by hand), 'current' or 'outdated'."""
    stamp = read_stamp(environment_root(python))
    if stamp is None:
        return "unstamped", None
    current = stamp.get("requirements_sha256") == requirements_hash(lines)
    return ("current" if current else "outdated"), stamp


def outdated_problem(python, requirements=REQUIREMENTS, plugin_dir=PLUGIN_DIR):
    """None unless the engine of ``python`` was stamped with other requirements
    than ``requirements``; then the message, with the fix."""
    try:
        lines = read_requirements(requirements)
    except OSError:
        return None
    state, stamp = stamp_state(python, lines)
    if state != "outdated":
        return None
    if stamp.get("built_by") == "make":
        fix = f"run 'make install' in {plugin_dir}"
    else:
        fix = f"{SET_UP_HINT} to update it (Update engine)"
    changed = _changes(stamp.get("requirements") or [], with_variant(lines, _variant(stamp)))
    return ("The engine is out of date: it was built for other requirements than this "
            f"version of the plugin needs{changed}. Fix: {fix}. Engine: {python}")


def _variant(stamp):
    return stamp.get("variant") if stamp.get("variant") in VARIANTS else "cpu"


def _changes(old, new):
    """' (now a==2, b==3; was a==1)' for the lines that differ, or ''."""
    added = [line for line in new if line not in old]
    removed = [line for line in old if line not in new]
    if not added and not removed:
        return ""
    parts = []
    if added:
        parts.append("now " + ", ".join(added))
    if removed:
        parts.append("was " + ", ".join(removed))
    return " (" + "; ".join(parts) + ")"
