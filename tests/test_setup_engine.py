"""Set up engine (core/engine_setup.py, landslide:setupengine, the Check engine
dialog) and the out-of-date engine.

The quick tests run the whole set-up with fake interpreters (shell scripts that
answer like ``python -m venv``, ``pip`` and the engine): the order of the
steps, progress, the stamp, idempotence, the GPU build, no usable Python, pip
failing, a cancel in the middle. The slow test sets the engine up for real,
from the package index, and trains a model with it.
"""

import os
import stat
import time

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from landslide_susceptibility.algorithms import engine_runner
from landslide_susceptibility.core import base_python, engine_setup
from landslide_susceptibility.core.engine_requirements import (
    REQUIREMENTS,
    read_requirements,
    read_stamp,
    required_modules,
    requirements_hash,
    with_variant,
    write_stamp,
)
from landslide_susceptibility.core.errors import CancelledError
from landslide_susceptibility.core.pip_runner import PipOutput
from landslide_susceptibility.core.specs import CheckSpec

PINS = "numpy==1.26.4   # numpy<2\ntensorflow-cpu==2.21.0\n\nmapclassify==2.10.0\n"

# The engine's interpreter inside a fake environment: answers the module probe,
# pip (as FAKE_PIP says: ok, fail:NAME, network:NAME, hang:NAME) and the launcher.
FAKE_VENV_PYTHON = """#!/bin/sh
echo "$*" >> "$FAKE_CALLS"
case "$1" in
  -c) exit 0 ;;
  */launcher.py) echo '{"type": "result", "value": {"tensorflow": "2.21.0", "device": "CPU"}}'
      exit 0 ;;
esac
for last; do :; done
none="ERROR: Could not find a version that satisfies the requirement $last (from versions: none)"
echo "Collecting $last"
echo "  Downloading ${last%%=*}-1.0-py3-none-any.whl (1.0 MB)"
case "$FAKE_PIP" in
  "fail:${last%%=*}")
    echo "$none"
    echo "ERROR: No matching distribution found for $last"
    exit 1 ;;
  "network:${last%%=*}")
    echo "WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError:"
    echo "  Failed to establish a new connection: [Errno -3] Temporary failure in name resolution'"
    echo "$none"
    exit 1 ;;
  "hang:${last%%=*}")
    echo $$ > "$FAKE_PID"
    sleep 60 ;;
esac
echo "Installing collected packages: ${last%%=*}"
echo "Successfully installed ${last%%=*}-1.0"
"""
# A base interpreter: the probe (Python 3.11 with GDAL) and ``-m venv``.
FAKE_BASE_PYTHON = """#!/bin/sh
case "$1" in
  -c) echo "3 11 3.6.2"; exit 0 ;;
  -m) mkdir -p "$4/bin" && cp "$FAKE_VENV_PYTHON" "$4/bin/python" && touch "$4/pyvenv.cfg"
      echo "created $4"; exit 0 ;;
esac
exit 2
"""


def _script(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """Fake interpreters, a requirements file and where to build."""
    tools = tmp_path / "fakes"
    tools.mkdir()
    venv_python = _script(tools / "venv_python", FAKE_VENV_PYTHON)
    base = _script(tools / "python3", FAKE_BASE_PYTHON)
    requirements = tmp_path / "engine.txt"
    requirements.write_text(PINS)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.setenv("FAKE_VENV_PYTHON", venv_python)
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    monkeypatch.setenv("FAKE_PID", str(tmp_path / "pip.pid"))
    monkeypatch.setenv("FAKE_PIP", "ok")

    class Fakes:
        def __init__(self):
            self.base, self.requirements = base, str(requirements)
            self.folder = str(tmp_path / "profile" / "engine-venv")
            self.pid_file = tmp_path / "pip.pid"

        def pip_calls(self):
            return [line for line in calls.read_text().splitlines() if "pip install" in line]

        def setup(self, **kwargs):
            self.progress, self.log = [], []
            kwargs.setdefault("gpu", "cpu")
            return engine_setup.setup_engine(
                self.folder, base_python=self.base, requirements=self.requirements,
                progress=self.progress.append, log=self.log.append, **kwargs)

        def leftovers(self):
            parent = os.path.dirname(self.folder)
            return [name for name in os.listdir(parent) if ".partial-" in name or ".old-" in name]

    return Fakes()


def test_setup_builds_stamps_and_is_idempotent(fakes):
    result = fakes.setup()
    assert result.status == "built" and result.variant == "cpu"
    assert result.python == os.path.join(fakes.folder, "bin", "python")
    assert os.access(result.python, os.X_OK)
    lines = read_requirements(fakes.requirements)
    stamp = read_stamp(fakes.folder)
    assert stamp["requirements_sha256"] == requirements_hash(lines)
    assert stamp["variant"] == "cpu" and stamp["built_by"] == "setupengine"
    # one pip run per package, in the file's order, with the pins as constraints
    installs = [call.split()[-1] for call in fakes.pip_calls()]
    assert installs == ["numpy==1.26.4", "tensorflow-cpu==2.21.0", "mapclassify==2.10.0"]
    assert all("-c" in call.split() for call in fakes.pip_calls())
    # progress per package: never backwards, every package's end reached, then 100
    assert fakes.progress == sorted(fakes.progress) and fakes.progress[-1] == 100
    for step in range(2, 5):  # venv, 3 packages, check: 5 steps
        assert any(abs(value - 100 * step / 5) < 1e-9 for value in fakes.progress)
    assert "[2/3] Installing tensorflow-cpu==2.21.0" in fakes.log
    assert any("Collecting tensorflow-cpu" in line for line in fakes.log)
    assert fakes.leftovers() == []
    assert os.path.exists(os.path.join(os.path.dirname(fakes.folder), "engine-venv-setup.log"))

    again = fakes.setup()
    assert again.status == "up to date" and again.python == result.python
    assert len(fakes.pip_calls()) == 3  # nothing installed the second time
    assert read_stamp(fakes.folder)["created"] == stamp["created"]


def test_gpu_build_installs_tensorflow_with_cuda(fakes):
    fakes.setup(gpu="gpu")
    installs = [call.split()[-1] for call in fakes.pip_calls()]
    assert "tensorflow[and-cuda]==2.21.0" in installs
    assert not any(item.startswith("tensorflow-cpu") for item in installs)
    assert read_stamp(fakes.folder)["variant"] == "gpu"
    result = fakes.setup(gpu="cpu")  # another build: made anew
    assert result.status == "built" and read_stamp(fakes.folder)["variant"] == "cpu"
    assert any("has the gpu build" in line for line in fakes.log)


def test_gpu_choice_follows_nvidia_smi(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert engine_setup.choose_variant("1") == "gpu" and engine_setup.choose_variant(0) == "cpu"
    _script(bin_dir / "nvidia-smi", "#!/bin/sh\necho 'GPU 0: NVIDIA H200 (UUID: GPU-1)'\n")
    assert engine_setup.choose_variant("auto") == "gpu"
    _script(bin_dir / "nvidia-smi", "#!/bin/sh\necho 'NVIDIA-SMI has failed'\nexit 9\n")
    assert engine_setup.choose_variant("auto") == "cpu"
    with pytest.raises(engine_setup.EngineSetupError, match="auto, cpu or gpu"):
        engine_setup.choose_variant("maybe")


def test_no_suitable_python_lists_what_was_tried(tmp_path, fakes):
    no_gdal = _script(tmp_path / "no_gdal", "#!/bin/sh\necho \"ModuleNotFoundError: No module "
                                           "named 'osgeo'\" >&2\nexit 1\n")
    no_venv = _script(tmp_path / "no_venv", "#!/bin/sh\necho \"ModuleNotFoundError: No module "
                                           "named 'ensurepip'\" >&2\nexit 1\n")
    too_old = _script(tmp_path / "too_old", "#!/bin/sh\necho '3 8 3.2.1'\n")
    missing = str(tmp_path / "nowhere" / "python3")
    with pytest.raises(engine_setup.EngineSetupError) as caught:
        engine_setup.setup_engine(fakes.folder, gpu="cpu", requirements=fakes.requirements,
                                  candidates=[missing, no_gdal, no_venv, too_old])
    message = str(caught.value)
    assert "No Python that can build the engine was found" in message
    assert f"{missing}: not found" in message
    assert "python3-gdal" in message and "python3-venv" in message and "3.10" in message
    assert "Base Python" in message
    assert not os.path.exists(fakes.folder)
    assert fakes.pip_calls() == []


def test_base_python_candidates_per_platform():
    windows = base_python.base_python_candidates(
        "win32", r"C:\Program Files\QGIS 3.34\bin\qgis-bin.exe",
        r"C:\Program Files\QGIS 3.34\apps\Python312", (3, 12))
    assert windows[:3] == [r"C:\Program Files\QGIS 3.34\apps\Python312\python.exe",
                           r"C:\Program Files\QGIS 3.34\bin\python.exe",
                           r"C:\Program Files\QGIS 3.34\bin\python3.exe"]
    mac = base_python.base_python_candidates(
        "darwin", "/Applications/QGIS.app/Contents/MacOS/QGIS",
        "/Applications/QGIS.app/Contents/Frameworks/Python.framework/Versions/3.9", (3, 9))
    assert mac[:2] == ["/Applications/QGIS.app/Contents/MacOS/bin/python3",
                       "/Applications/QGIS.app/Contents/Frameworks/Python.framework/"
                       "Versions/3.9/bin/python3.9"]
    linux = base_python.base_python_candidates("linux", "/usr/bin/qgis", "/usr", (3, 11))
    assert linux[:2] == ["/usr/bin/python3.11", "/usr/bin/python3"]
    assert len(linux) == len(set(linux))
    # this machine: the system Python QGIS runs on is found first and is usable
    found = base_python.base_python_candidates()
    assert base_python.probe_base_python(found[0]) is None, found


@pytest.mark.parametrize("mode, words", [
    ("fail:tensorflow-cpu", "has no tensorflow-cpu==2.21.0"),
    ("network:tensorflow-cpu", "could not reach the package index")])
def test_pip_failure_says_why_gives_the_commands_and_leaves_nothing(fakes, monkeypatch,
                                                                    mode, words):
    monkeypatch.setenv("FAKE_PIP", mode)
    with pytest.raises(engine_setup.EngineSetupError) as caught:
        fakes.setup()
    message = str(caught.value)
    assert words in message and "Installing tensorflow-cpu==2.21.0 failed" in message
    assert f"{fakes.base} -m venv --system-site-packages {fakes.folder}" in message
    assert "-m pip install numpy==1.26.4 tensorflow-cpu==2.21.0 mapclassify==2.10.0" in message
    assert "Engine Python interpreter" in message and "Full log:" in message
    assert not os.path.exists(fakes.folder) and fakes.leftovers() == []


def test_cancel_mid_install_kills_pip_and_keeps_the_previous_engine(fakes, monkeypatch,
                                                                    tmp_path):
    old = fakes.setup()
    old_stamp = read_stamp(fakes.folder)
    with open(fakes.requirements, "a") as handle:  # a plugin upgrade: one more package
        handle.write("scipy==1.17.1\n")
    monkeypatch.setenv("FAKE_PIP", "hang:tensorflow-cpu")
    started = time.monotonic()
    with pytest.raises(CancelledError):
        engine_setup.setup_engine(fakes.folder, gpu="cpu", base_python=fakes.base,
                                  requirements=fakes.requirements,
                                  is_cancelled=lambda: fakes.pid_file.exists())
    assert time.monotonic() - started < 10
    pid = int(fakes.pid_file.read_text())
    assert not _alive(pid), "pip was left running"
    # the engine in place is the previous one, untouched; nothing half-made is left
    assert read_stamp(fakes.folder) == old_stamp and os.path.exists(old.python)
    assert fakes.leftovers() == []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


def test_a_folder_that_is_not_an_environment_is_refused(fakes):
    os.makedirs(fakes.folder)
    keep = os.path.join(fakes.folder, "thesis.docx")
    with open(keep, "w") as handle:
        handle.write("precious")
    with pytest.raises(engine_setup.EngineSetupError, match="not empty"):
        fakes.setup()
    assert open(keep).read() == "precious" and fakes.pip_calls() == []


def test_pip_output_progress_and_failures():
    output = PipOutput()
    lines = ["Looking in indexes: https://pypi.org/simple", "Collecting keras==3.15.1",
             "  Downloading keras-3.15.1-py3-none-any.whl (1.5 MB)", "Collecting rich",
             "Requirement already satisfied: numpy in /x",
             "Processing /opt/files/h5py-3.14.0-cp311-cp311-manylinux_2_17_x86_64.whl",
             "Installing collected packages: rich, h5py, keras",
             "Successfully installed h5py-3.14.0 keras-3.15.1 rich-14.0.0"]
    shown, fractions = [], []
    for line in lines:
        if output.feed(line):
            shown.append(line.strip())
        fractions.append(output.fraction)
    assert shown == [line.strip() for line in lines[1:4] + lines[5:]]
    assert output.collected == 3
    assert fractions == sorted(fractions) and 0 < fractions[1] < 0.6 and fractions[-1] == 1
    refused = PipOutput()
    refused.feed("ERROR: HTTP error 403 while getting https://files/keras.whl")
    assert "refused" in refused.failure("keras==3.15.1", 1)
    other = PipOutput()
    other.feed("ERROR: Failed building wheel for something")
    assert "exit status 2" in other.failure("x", 2) and "Failed building" in other.failure("x", 2)


def test_requirements_hash_variant_and_modules(tmp_path):
    path = tmp_path / "engine.txt"
    path.write_text(PINS)
    lines = read_requirements(str(path))
    assert lines == ["numpy==1.26.4", "tensorflow-cpu==2.21.0", "mapclassify==2.10.0"]
    path.write_text(PINS.replace("# numpy<2", "# another comment") + "\n\n")
    assert requirements_hash(read_requirements(str(path))) == requirements_hash(lines)
    assert requirements_hash(lines[:2] + ["mapclassify==2.11.0"]) != requirements_hash(lines)
    assert with_variant(lines, "gpu")[1] == "tensorflow[and-cuda]==2.21.0"
    assert required_modules(read_requirements(REQUIREMENTS))[:1] == ["osgeo"]
    assert {"tensorflow", "sklearn", "keras", "numpy"} <= set(
        required_modules(read_requirements(REQUIREMENTS)))


# -- an out-of-date engine -----------------------------------------------------
@pytest.fixture
def stamped_engine(tmp_path):
    """``make(requirements, built_by)``: a fake engine folder stamped with them."""
    def make(lines, built_by="setupengine"):
        folder = tmp_path / f"engine-{built_by}"
        (folder / "bin").mkdir(parents=True)
        python = _script(folder / "bin" / "python", "#!/bin/sh\nexit 0\n")
        (folder / "pyvenv.cfg").write_text("home = /usr/bin\n")
        if lines is not None:
            write_stamp(str(folder), lines, "cpu", built_by)
        return python
    return make


def test_an_out_of_date_engine_is_told_before_it_starts(stamped_engine):
    current = read_requirements(REQUIREMENTS)
    older = [line.replace("keras==", "keras==0.") for line in current]
    python = stamped_engine(older)
    problem = engine_runner.engine_problem(python)
    assert problem.startswith("The engine is out of date")
    assert "Set up engine" in problem and "Update engine" in problem
    assert "keras==" in problem  # what changed
    with pytest.raises(QgsProcessingException, match="out of date"):  # not a traceback
        engine_runner.run_engine(CheckSpec(), None, python=python)
    made = stamped_engine(older, built_by="make")
    assert "make install" in engine_runner.engine_problem(made)
    assert engine_runner.engine_problem(stamped_engine(current, built_by="current")) is None
    # no stamp (an environment made by hand, the developer's .venv): not out of date
    assert engine_runner.engine_problem(stamped_engine(None, built_by="none")) is None


def test_check_engine_algorithm_says_out_of_date(run_alg, stamped_engine, monkeypatch):
    older = [line + ".1" for line in read_requirements(REQUIREMENTS)]
    monkeypatch.setenv("LANDSLIDE_ENGINE_PYTHON", stamped_engine(older))
    with pytest.raises(QgsProcessingException, match="out of date.*Set up engine"):
        run_alg("landslide:checkengine", {})


# -- the algorithm and the dialog ----------------------------------------------
@pytest.fixture
def engine_setting(provider, monkeypatch):
    """The Engine Python interpreter setting, put back as it was afterwards."""
    from processing.core.ProcessingConfig import ProcessingConfig
    from qgis.core import QgsSettings

    name = engine_runner.ENGINE_PYTHON_SETTING
    key = f"Processing/Configuration/{name}"
    stored, value = QgsSettings().value(key, None), ProcessingConfig.getSetting(name)
    monkeypatch.delenv(engine_runner.ENV_VAR, raising=False)
    yield lambda: ProcessingConfig.getSetting(name)
    ProcessingConfig.settings[name].value = value
    if stored is None:
        QgsSettings().remove(key)
    else:
        QgsSettings().setValue(key, stored)


class CancelOn(QgsProcessingFeedback):
    """Cancels when a log line contains ``text`` (as the Cancel button would)."""

    def __init__(self, text):
        super().__init__()
        self.text = text

    def pushInfo(self, info):
        super().pushInfo(info)
        if self.text in info:
            self.cancel()


def test_setup_engine_algorithm_makes_it_the_engine_and_checks_it(run_alg, fakes,
                                                                  engine_setting):
    params = {"FOLDER": fakes.folder, "BASE_PYTHON": fakes.base, "GPU": 1}
    result = run_alg("landslide:setupengine", params)
    python = os.path.join(fakes.folder, "bin", "python")
    assert result["PYTHON"] == python and result["STATUS"] == "built"
    assert result["TENSORFLOW"] == "2.21.0" and result["DEVICE"] == "CPU"  # the check ran
    assert engine_setting() == python and engine_runner.engine_python() == python
    assert len(fakes.pip_calls()) == len(read_requirements(REQUIREMENTS))
    again = run_alg("landslide:setupengine", params)
    assert again["STATUS"] == "up to date"
    assert len(fakes.pip_calls()) == len(read_requirements(REQUIREMENTS))


def test_cancelled_setup_registers_nothing(run_alg, fakes, engine_setting, monkeypatch):
    before = engine_setting()
    monkeypatch.setenv("FAKE_PIP", "hang:keras")
    feedback = CancelOn("Installing keras")
    result = run_alg("landslide:setupengine", {"FOLDER": fakes.folder,
                                               "BASE_PYTHON": fakes.base, "GPU": 1},
                     feedback=feedback)
    assert result == {} and feedback.isCanceled()
    assert engine_setting() == before
    assert not os.path.exists(fakes.folder) and fakes.leftovers() == []


def test_check_dialog_offers_the_update_and_checks_again(qgis_iface, provider, stamped_engine,
                                                         monkeypatch):
    from qgis.gui import QgsBrowserGuiModel

    from landslide_susceptibility.gui.engine_check_dialog import EngineCheckDialog

    browser = QgsBrowserGuiModel()
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)
    older = [line + ".1" for line in read_requirements(REQUIREMENTS)]
    dialog = EngineCheckDialog(python=stamped_engine(older))
    assert dialog.process is None and "out of date" in dialog.status_label.text()
    assert dialog.setup_button.text() == "Update engine…"
    assert "Set up engine…" in dialog.advice.toPlainText()
    checks = []
    monkeypatch.setattr(EngineCheckDialog, "start", lambda self: checks.append(self.python))
    setup = dialog.open_setup()
    try:
        assert setup.algorithm().id() == "landslide:setupengine" and setup.isVisible()
        setup.algorithmFinished.emit(True, {})
        assert checks == [None]  # checked again, with the setting the set-up wrote
    finally:
        setup.close()
    pages = []
    monkeypatch.setattr(qgis_iface, "showOptionsDialog",
                        lambda parent=None, currentPage="": pages.append(currentPage),
                        raising=False)
    dialog.change_interpreter()
    assert pages == ["processingOptions"] and len(checks) == 2
    dialog.close()


@pytest.mark.slow
def test_setup_engine_for_real_then_train_with_it(run_alg, engine_setting, small_stack,
                                                   small_samples, tmp_path, monkeypatch):
    """Set up engine from the package index pip reaches, into a temporary folder,
    then train a tiny CNN with that engine (minutes: TensorFlow is downloaded)."""
    folder = tmp_path / "profile" / "engine-venv"
    started = time.monotonic()
    result = run_alg("landslide:setupengine", {"FOLDER": str(folder), "GPU": 1,
                                               "USE_AS_ENGINE": False})
    print(f"Set up engine took {time.monotonic() - started:.0f} s")
    pins = dict(line.split("==") for line in read_requirements(REQUIREMENTS))
    assert result["STATUS"] == "built" and result["TENSORFLOW"] == pins["tensorflow-cpu"]
    python = result["PYTHON"]
    assert python == engine_setup.venv_python(str(folder))
    assert read_stamp(str(folder))["requirements_sha256"] == requirements_hash(
        read_requirements(REQUIREMENTS))
    assert engine_runner.engine_problem(python) is None
    assert [name for name in os.listdir(folder.parent) if ".partial-" in name] == []

    monkeypatch.setenv("LANDSLIDE_ENGINE_PYTHON", python)
    model = tmp_path / "cnn.keras"
    trained = run_alg("landslide:trainmodel", {
        "STACK": small_stack, "SAMPLES": small_samples, "MODEL": 0, "EPOCHS": 1,
        "BATCH_SIZE": 16, "SEED": 3, "OUTPUT_MODEL": str(model),
        "OUTPUT_METRICS": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": str(tmp_path / "cnn.html")})
    assert model.exists() and trained["OUTPUT_MODEL"] == str(model)
