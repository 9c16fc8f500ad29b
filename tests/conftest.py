"""Test set-up shared by the whole suite.

- the sqlite guard: TensorFlow bundles its own sqlite; loaded first, it hijacks
  Qt's and QGIS segfaults at exit. Loading the system sqlite globally before
  anything imports TensorFlow prevents that;
- the plugin folder (whatever its name on disk) is registered as the package
  ``landslide_susceptibility`` and exposed to QGIS through a plugin path;
- fixtures: Processing with our provider, a small sample area, the real
  Ecuador data (skipped when absent), a ``qgis_process.bin`` runner, and a
  fake engine reporter for running engine commands in-process.
"""

import ctypes
import ctypes.util
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

ctypes.CDLL(ctypes.util.find_library("sqlite3"), mode=ctypes.RTLD_GLOBAL)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from reporters import FakeReporter  # noqa: E402  (tests/ is on pythonpath)

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "landslide_susceptibility"
ECUADOR = REPO.parent / "shared" / "data" / "ecuador"
runpy.run_path(str(REPO / "engine" / "launcher.py"))["register_package"](str(REPO))
if "/usr/share/qgis/python/plugins" not in sys.path:
    sys.path.append("/usr/share/qgis/python/plugins")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds; "
                                       "run by 'make test-all', not 'make test'")


@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory):
    """A folder holding ``landslide_susceptibility`` -> the repository."""
    folder = tmp_path_factory.mktemp("plugins")
    (folder / PACKAGE).symlink_to(REPO, target_is_directory=True)
    return folder


@pytest.fixture(scope="session")
def provider(qgis_app):
    """Processing initialised with the landslide provider registered."""
    from processing.core.Processing import Processing
    from qgis.core import QgsApplication

    from landslide_susceptibility.provider import LandslideProvider

    Processing.initialize()
    registry = QgsApplication.processingRegistry()
    existing = registry.providerById("landslide")
    if existing is not None:
        return existing
    instance = LandslideProvider()
    assert registry.addProvider(instance)
    return instance


@pytest.fixture
def run_alg(provider):
    """``run_alg(alg_id, params, feedback=None)``: processing.run, raising on error."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def run(algorithm_id, params, feedback=None, context=None):
        context = context or QgsProcessingContext()
        return processing.run(algorithm_id, params, context=context,
                              feedback=feedback or QgsProcessingFeedback())

    return run


@pytest.fixture(scope="session")
def sample_area(tmp_path_factory):
    """A small sample study area (160 x 160 cells, seed 7): the core function's dict."""
    from landslide_susceptibility.core.sample_area import create_sample_area

    return create_sample_area(str(tmp_path_factory.mktemp("sample_area")), seed=7, size=160)


@pytest.fixture(scope="session")
def ecuador():
    """The real Ecuador data folder (../shared/data/ecuador), or skip."""
    if not (ECUADOR / "elev.tif").exists():
        pytest.skip("real data ../shared/data/ecuador is not present")
    return ECUADOR


@pytest.fixture(scope="session")
def qgis_process(plugin_path, tmp_path_factory):
    """``qgis_process(alg_id, params) -> dict``: run through ``qgis_process.bin``
    in a subprocess, as users and the modeler's exported commands do."""
    home = tmp_path_factory.mktemp("qgis_home")
    env = dict(os.environ, QGIS_PLUGINPATH=str(plugin_path), QT_QPA_PLATFORM="offscreen",
               HOME=str(home), XDG_RUNTIME_DIR=str(home), QGIS_CUSTOM_CONFIG_PATH=str(home))
    env.pop("PYTHONPATH", None)
    enabled = subprocess.run(["qgis_process.bin", "plugins", "enable", PACKAGE], env=env,
                             capture_output=True, text=True, timeout=300)
    assert enabled.returncode == 0, f"cannot enable the plugin:\n{enabled.stdout}\n" \
                                    f"{enabled.stderr}"

    def run(algorithm_id, params, check=True):
        args = ["qgis_process.bin", "--json", "run", algorithm_id, "--"]
        for key, value in params.items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                args.append(f"{key}={item}")
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
        if check and done.returncode != 0:
            raise AssertionError(f"qgis_process failed ({done.returncode}):\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        start = done.stdout.find("{")
        payload = json.loads(done.stdout[start:]) if check and start >= 0 else None
        return payload if check else done

    run.env = env
    return run


@pytest.fixture(scope="session")
def small_stack(sample_area, tmp_path_factory):
    """A 4-factor stack (3 continuous, land use categorical) of the small sample area."""
    from landslide_susceptibility.core.align import align_factors

    files = sample_area["files"]
    path = str(tmp_path_factory.mktemp("stack") / "stack.tif")
    align_factors([files["dem"], files["ndvi"], files["precipitation"]], [files["landuse"]],
                  path)
    return path


@pytest.fixture(scope="session")
def small_samples(small_stack, sample_area, tmp_path_factory):
    """Random-split samples (patch 16, 60 per class) on ``small_stack``."""
    from landslide_susceptibility.core.build_samples import build_samples

    path = str(tmp_path_factory.mktemp("samples") / "samples.gpkg")
    build_samples(small_stack, sample_area["files"]["landslides"], path, patch_size=16,
                  samples_per_class=60, seed=0)
    return path


@pytest.fixture
def fake_reporter():
    """A fresh :class:`FakeReporter`."""
    return FakeReporter()


@pytest.fixture(scope="session")
def reporter_class():
    """:class:`FakeReporter` itself, for module-scoped fixtures."""
    return FakeReporter
