#!/usr/bin/env python3
"""Build the plugin zip that QGIS's Plugin Manager installs (*Install from ZIP*,
or an upload to the plugin repository)::

    python3 tools/package.py [--output dist]   # -> dist/landslide_susceptibility-VERSION.zip

The zip holds one folder, ``landslide_susceptibility/``, with the files git
tracks (``git ls-files``: local junk never ships) minus what a user does not
need: tests, benchmarks, developer tools, CI, build files, caches, compiled
files, ``.git*``. VERSION is ``version`` in ``metadata.txt`` (its only place).

Before writing, the metadata and the archive are checked against the rules of
the QGIS plugin repository's upload validator (QGIS-Django
``plugins/validator.py``): mandatory fields present and well formed, one top
folder named with letters, digits, ``-`` and ``_``, with ``__init__.py``,
``metadata.txt`` and ``LICENSE``; no ``..`` or absolute paths, no ``.pyc``, no
``__pycache__``, ``.git`` or ``__MACOSX`` folders; at most 25 MB.
"""

import argparse
import configparser
import fnmatch
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from urllib.parse import urlparse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "landslide_susceptibility"
MAX_BYTES = 25_000_000  # the plugin repository's upload limit
REQUIRED = ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
            "tracker", "repository")
URL_FIELDS = ("tracker", "repository", "homepage")
PLACEHOLDER_URLS = ("http://bugs", "http://repo", "http://homepage")
BOOLEAN_FIELDS = ("experimental", "deprecated", "server")
# Folders (at any depth) and file patterns that never ship.
EXCLUDED_DIRS = {"tests", "bench", "tools", ".ci", "demo_output", "dist", ".venv", ".build",
                 "__pycache__", ".pytest_cache", ".ruff_cache", ".git", "__MACOSX",
                 ".qgis-settings"}
EXCLUDED_FILES = (".git*", "*.pyc", "*.pyo", "Makefile", "pyproject.toml", "*.aux.xml",
                  ".DS_Store")
FORBIDDEN_DIRS = ("__pycache__", ".git", "__MACOSX")


def tracked_files(repo=REPO, untracked=False):
    """Paths (relative, ``/``-separated) that git tracks; with ``untracked``
    also the files not yet added that .gitignore does not ignore."""
    args = ["git", "-C", repo, "ls-files", "-z", "--cached"]
    if untracked:
        args += ["--others", "--exclude-standard"]
    done = subprocess.run(args, capture_output=True, check=True)
    names = {name for name in done.stdout.decode("utf-8").split("\0") if name}
    return sorted(name for name in names if os.path.isfile(os.path.join(repo, name)))


def is_shipped(path):
    """True for a repository path that belongs in the plugin zip."""
    parts = path.split("/")
    if any(part in EXCLUDED_DIRS for part in parts[:-1]):
        return False
    return not any(fnmatch.fnmatch(parts[-1], pattern) for pattern in EXCLUDED_FILES)


def read_metadata(text):
    """The ``[general]`` section of a metadata.txt text, as a dict."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive (qgisMinimumVersion)
    parser.read_string(text)
    return dict(parser.items("general")) if parser.has_section("general") else {}


def metadata_problems(text):
    """What the plugin repository would refuse in a metadata.txt text ([] when none)."""
    try:
        metadata = read_metadata(text)
    except configparser.Error as exc:
        return [f"metadata.txt cannot be parsed: {exc}"]
    if not metadata:
        return ["metadata.txt has no [general] section"]
    problems = [f"mandatory field '{key}' is missing or empty" for key in REQUIRED
                if not metadata.get(key, "").strip()]
    checks = [
        ("version", r"\d+(\.\d+){1,3}", "dotted numbers such as 1.2.0"),
        ("qgisMinimumVersion", r"\d+\.\d+(\.\d+)?", "a QGIS version such as 3.22"),
        ("qgisMaximumVersion", r"\d+\.\d+(\.\d+)?", "a QGIS version such as 3.99"),
        ("email", r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address"),
        ("author", r"[^/]+", "a name without slashes"),
    ]
    for key, pattern, what in checks:
        value = metadata.get(key, "").strip()
        if value and not re.fullmatch(pattern, value):
            problems.append(f"'{key}' must be {what}, not '{value}'")
    for key in URL_FIELDS:
        value = metadata.get(key, "").strip()
        parsed = urlparse(value)
        if value and (value in PLACEHOLDER_URLS or not (parsed.scheme and parsed.netloc)):
            problems.append(f"'{key}' must be a full URL, not '{value}'")
    for key in BOOLEAN_FIELDS:
        value = metadata.get(key, "").strip()
        if value and value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            problems.append(f"'{key}' must be True or False, not '{value}'")
    return problems


def archive_problems(path):
    """What the plugin repository would refuse in the zip at ``path``."""
    problems = []
    if os.path.getsize(path) > MAX_BYTES:
        problems.append(f"the zip is larger than {MAX_BYTES / 1e6:g} MB")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if archive.testzip() is not None:
            problems.append("the zip is damaged")
        tops = {name.split("/")[0] for name in names}
        if len(tops) != 1 or not all("/" in name for name in names):
            return problems + [f"the zip must hold one folder, not {sorted(tops)}"]
        top = tops.pop()
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]+", top):
            problems.append(f"the top folder name '{top}' is not allowed")
        for name in names:
            if ".." in name or name.startswith("/") or ".pyc" in name:
                problems.append(f"forbidden entry {name}")
            if any(part in FORBIDDEN_DIRS for part in name.split("/")[:-1]):
                problems.append(f"forbidden folder in {name}")
        for required in ("__init__.py", "metadata.txt", "LICENSE"):
            if f"{top}/{required}" not in names:
                problems.append(f"{required} is missing")
        if f"{top}/metadata.txt" in names:
            problems += metadata_problems(archive.read(f"{top}/metadata.txt").decode("utf-8"))
    return problems


def build(output_dir, repo=REPO, untracked=False):
    """Write the zip into ``output_dir``; its path. Raises SystemExit listing
    what the plugin repository would refuse."""
    with open(os.path.join(repo, "metadata.txt"), encoding="utf-8") as handle:
        text = handle.read()
    problems = metadata_problems(text)
    if problems:
        raise SystemExit("metadata.txt: " + "; ".join(problems))
    version = read_metadata(text)["version"].strip()
    files = [name for name in tracked_files(repo, untracked) if is_shipped(name)]
    os.makedirs(output_dir, exist_ok=True)
    target = os.path.join(output_dir, f"{PACKAGE}-{version}.zip")
    handle, partial = tempfile.mkstemp(prefix=f".{PACKAGE}-", suffix=".zip.partial",
                                       dir=output_dir)
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for name in files:
                archive.write(os.path.join(repo, name), f"{PACKAGE}/{name}")
        problems = archive_problems(partial)
        if problems:
            raise SystemExit("The zip would be refused: " + "; ".join(problems))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # mkstemp made it private
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the plugin zip for QGIS's Plugin "
                                                 "Manager.")
    parser.add_argument("--output", default=os.path.join(REPO, "dist"),
                        help="folder for the zip (default: dist/)")
    parser.add_argument("--untracked", action="store_true",
                        help="also files not yet added to git (not ignored ones): to try "
                             "a change before committing it")
    args = parser.parse_args(argv)
    path = build(args.output, untracked=args.untracked)
    with zipfile.ZipFile(path) as archive:
        count = len(archive.namelist())
    print(f"{path}: {count} files, {os.path.getsize(path) / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
