"""The plugin zip (``make package``, tools/package.py): the plugin repository's
metadata rules, the layout the Plugin Manager expects, and the zip installed
into a throwaway QGIS profile, enabled and run with ``qgis_process.bin``."""

import os
import runpy
import subprocess
import zipfile

import pytest

from landslide_susceptibility.algorithms.base import PLUGIN_DIR

PACKAGE = "landslide_susceptibility"
TOOL = runpy.run_path(os.path.join(PLUGIN_DIR, "tools", "package.py"))
INSTALLER_UNZIP = "/usr/share/qgis/python/pyplugin_installer/unzip.py"


def _metadata():
    with open(os.path.join(PLUGIN_DIR, "metadata.txt"), encoding="utf-8") as handle:
        return handle.read()


def test_metadata_meets_the_plugin_repository_rules():
    text = _metadata()
    assert TOOL["metadata_problems"](text) == []
    general = TOOL["read_metadata"](text)
    # the mandatory fields of the repository's upload validator (QGIS-Django)
    for key in ("name", "qgisMinimumVersion", "description", "about", "version", "author",
                "email", "tracker", "repository"):
        assert general.get(key, "").strip(), key
    assert general["repository"].startswith("https://")
    assert "/" not in general["author"] and "@" in general["email"]
    changelog = general.get("changelog", "").strip()
    assert changelog and "Set up engine" in changelog
    assert "Set up engine" in general["about"]


@pytest.mark.parametrize("field, value, words", [
    ("email", "", "'email' is missing"),
    ("version", "0.1.0-beta", "'version' must be dotted numbers"),
    ("repository", "http://repo", "'repository' must be a full URL"),
    ("tracker", "github.com/x/y", "'tracker' must be a full URL"),
    ("author", "A / B", "'author' must be a name without slashes"),
    ("qgisMinimumVersion", "3", "'qgisMinimumVersion' must be a QGIS version")])
def test_metadata_checks_catch_what_the_repository_refuses(field, value, words):
    lines = [f"{field}={value}" if line.startswith(f"{field}=") else line
             for line in _metadata().splitlines()]
    problems = TOOL["metadata_problems"]("\n".join(lines))
    assert any(words in problem for problem in problems), problems


def test_package_zip_layout(tmp_path):
    path = TOOL["build"](str(tmp_path))
    version = TOOL["read_metadata"](_metadata())["version"]
    assert os.path.basename(path) == f"{PACKAGE}-{version}.zip"
    size = os.path.getsize(path)
    print(f"{os.path.basename(path)}: {size / 1024:.0f} KiB")
    assert size < 3_000_000
    assert TOOL["archive_problems"](path) == []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {PACKAGE}
    inner = {name[len(PACKAGE) + 1:] for name in names}
    for needed in ("__init__.py", "metadata.txt", "LICENSE", "plugin.py", "provider.py",
                   "requirements/engine.txt", "engine/launcher.py", "resources/icons/engine.svg"):
        assert needed in inner, needed
    for name in inner:
        parts = name.split("/")
        assert parts[0] not in ("tests", "bench", "tools", ".venv", "demo_output", "dist",
                                ".build", ".ci"), name
        assert "__pycache__" not in parts and not name.endswith((".pyc", ".pyo")), name
        assert not any(part.startswith(".git") for part in parts), name
        assert name not in ("Makefile", "pyproject.toml"), name
    tracked = subprocess.run(["git", "-C", PLUGIN_DIR, "ls-files"], capture_output=True,
                             text=True, check=True).stdout.split("\n")
    assert inner <= set(tracked)  # nothing that git does not track (local junk)


@pytest.mark.slow
def test_zip_installs_into_a_profile_enables_and_runs(tmp_path):
    """The zip unpacked as the Plugin Manager does (its own unzip function) into a
    throwaway profile, enabled with qgis_process.bin; the algorithms are listed and
    Check engine, with no engine set up, says to run Set up engine."""
    home = tmp_path / "home"
    plugins = home / "profiles" / "default" / "python" / "plugins"
    path = TOOL["build"](str(tmp_path / "dist"))
    runpy.run_path(INSTALLER_UNZIP)["unzip"](path, str(plugins))
    assert (plugins / PACKAGE / "metadata.txt").exists()
    env = {key: value for key, value in os.environ.items()
           if key not in ("QGIS_PLUGINPATH", "PYTHONPATH", "LANDSLIDE_ENGINE_PYTHON")}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(home), QGIS_CUSTOM_CONFIG_PATH=str(home),
               QT_QPA_PLATFORM="offscreen")

    def qgis_process(*args):
        return subprocess.run(["qgis_process.bin", *args], env=env, capture_output=True,
                              text=True, timeout=300)

    enabled = qgis_process("plugins", "enable", PACKAGE)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    listed = qgis_process("list")
    assert listed.returncode == 0, listed.stderr
    for algorithm in ("landslide:checkengine", "landslide:setupengine",
                      "landslide:createsamplearea", "landslide:trainmodel"):
        assert algorithm in listed.stdout, algorithm
    checked = qgis_process("run", "landslide:checkengine", "--")
    output = checked.stdout + checked.stderr
    assert checked.returncode == 1, output
    assert "interpreter was not found" in output and "Set up engine" in output, output
    assert "Traceback" not in output, output
