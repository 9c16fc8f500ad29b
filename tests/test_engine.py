"""The engine process: protocol, errors, progress, cancel, missing interpreter."""

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from landslide_susceptibility.algorithms import engine_runner
from landslide_susceptibility.core.errors import CancelledError
from landslide_susceptibility.core.specs import CheckSpec, SelftestSpec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PYTHON = os.path.join(REPO, ".venv", "bin", "python")


class RecordingFeedback(QgsProcessingFeedback):
    """Feedback that records what reaches it and can cancel after a delay."""

    def __init__(self, cancel_after_s=None):
        super().__init__()
        self.progress_values, self.infos, self.warnings = [], [], []
        self.progressChanged.connect(self.progress_values.append)
        self._cancel_at = None if cancel_after_s is None else time.monotonic() + cancel_after_s

    def isCanceled(self):
        if self._cancel_at is not None and time.monotonic() >= self._cancel_at:
            self.cancel()
        return super().isCanceled()

    def pushInfo(self, info):
        self.infos.append(info)

    def pushWarning(self, warning):
        self.warnings.append(warning)

    def reportError(self, error, fatalError=False):
        self.warnings.append(error)


def run_cli(*args):
    return subprocess.run([VENV_PYTHON, os.path.join(REPO, "engine", "launcher.py"), *args],
                          capture_output=True, text=True, timeout=300,
                          env=engine_runner.clean_environment())


def test_check_command_reports_versions_and_device():
    done = run_cli("check")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert all("type" in record for record in records), "stdout must be pure JSON lines"
    first_info = next(r for r in records if r["type"] == "info")
    assert "TensorFlow 2." in first_info["message"]
    assert " on CPU" in first_info["message"] or " on GPU" in first_info["message"]
    result = records[-1]
    assert result["type"] == "result"
    assert result["value"]["tensorflow"].startswith("2.")
    assert result["value"]["sklearn"] and result["value"]["gdal"]
    assert result["value"]["bfloat16"].startswith(("native", "emulated: "))


def test_cli_unknown_command_and_bad_params():
    done = run_cli("nosuchcommand")
    assert done.returncode == 2
    assert "Unknown engine command 'nosuchcommand'" in done.stdout
    done = run_cli("selftest", "--params", "[1, 2]")
    assert done.returncode == 2
    assert "--params must be a JSON object" in done.stdout


def test_progress_reaches_feedback_and_result_returns():
    feedback = RecordingFeedback()
    result = engine_runner.run_engine(SelftestSpec(duration=1.0), feedback)
    assert result == {"steps": 20}
    assert feedback.progress_values[-1] == 100
    assert len(feedback.progress_values) >= 5
    assert any("TensorFlow" in line for line in feedback.infos)
    assert "selftest finished" in feedback.infos


def test_engine_error_becomes_processing_exception_with_its_message():
    with pytest.raises(QgsProcessingException, match="factor 'slope' has no valid pixels"):
        engine_runner.run_engine(SelftestSpec(duration=0.5,
                                              fail="factor 'slope' has no valid pixels"),
                                 RecordingFeedback())


@pytest.mark.parametrize("ignore_cancel", [False, True])
def test_cancel_stops_a_running_job_within_seconds(ignore_cancel):
    feedback = RecordingFeedback(cancel_after_s=6.0)  # after TF has loaded
    started = time.monotonic()
    with pytest.raises(CancelledError):  # nothing came back: the cancel path of the base
        engine_runner.run_engine(SelftestSpec(duration=120, ignore_cancel=ignore_cancel),
                                 feedback, cancel_grace_s=2.0)
    elapsed = time.monotonic() - started
    assert elapsed < 6.0 + 4.0, f"cancel took {elapsed - 6.0:.1f} s"


def test_sigint_to_this_process_cancels_the_engine_and_restores_the_handler():
    """Headless runs: a signal to the QGIS side's process (Ctrl-C on qgis_process) is
    forwarded to the engine as a cancel; the previous handler is back afterwards."""
    before = signal.getsignal(signal.SIGINT)
    feedback = RecordingFeedback()
    timer = threading.Timer(6.0, os.kill, (os.getpid(), signal.SIGINT))  # after TF loaded
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(CancelledError):
            engine_runner.run_engine(SelftestSpec(duration=120), feedback, cancel_grace_s=2.0)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - started
    assert elapsed < 6.0 + 4.0, f"cancel took {elapsed - 6.0:.1f} s"
    assert feedback.isCanceled()
    assert any(info.startswith("SIGINT received") for info in feedback.infos)
    assert signal.getsignal(signal.SIGINT) is before


def _c_handler(sig):
    """The address of the C-level handler of ``sig`` (sa_handler comes first)."""
    return engine_runner._c_action(sig).raw[:ctypes.sizeof(ctypes.c_void_p)]


def test_signal_cancel_restores_c_handlers_python_does_not_know():
    """qgis_process.bin watches SIGINT with a C handler installed after Python
    started; leaving the engine run must put that one back, not Python's."""
    libc = ctypes.CDLL(None)
    libc.signal.argtypes, libc.signal.restype = [ctypes.c_int, ctypes.c_void_p], ctypes.c_void_p
    original = engine_runner._c_action(signal.SIGTERM)
    python_handler = signal.getsignal(signal.SIGTERM)
    try:
        libc.signal(signal.SIGTERM, 1)  # SIG_IGN, behind Python's back
        foreign = _c_handler(signal.SIGTERM)
        with engine_runner.SignalCancel() as interrupt:
            assert signal.getsignal(signal.SIGTERM) == interrupt._on_signal
            assert _c_handler(signal.SIGTERM) != foreign
        assert _c_handler(signal.SIGTERM) == foreign
        assert signal.getsignal(signal.SIGTERM) is python_handler
    finally:
        engine_runner._set_c_action(signal.SIGTERM, original)


def test_signal_cancel_is_inert_in_worker_threads():
    """QGIS desktop runs algorithms in worker threads: no handler, no error."""
    before = signal.getsignal(signal.SIGINT)
    seen = []

    def worker():
        with engine_runner.SignalCancel():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before] and signal.getsignal(signal.SIGINT) is before


def test_missing_interpreter_gives_clear_message(tmp_path):
    missing = str(tmp_path / "nowhere" / "python")
    with pytest.raises(QgsProcessingException) as caught:
        engine_runner.run_engine(CheckSpec(), RecordingFeedback(), python=missing)
    message = str(caught.value)
    assert "not found" in message and "make install" in message and missing in message


def test_interpreter_without_tensorflow_gives_clear_message():
    # the system Python has GDAL but no TensorFlow
    problem = engine_runner.engine_problem("/usr/bin/python3")
    assert problem is not None and "tensorflow" in problem
    assert "LANDSLIDE_ENGINE_PYTHON" in problem


def test_clean_environment_drops_qgis_python_variables(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/usr/share/qgis/python")
    monkeypatch.setenv("PYTHONHOME", "/usr")
    monkeypatch.setenv("QGIS_PREFIX_PATH", "/usr")
    env = engine_runner.clean_environment()
    assert "PYTHONPATH" not in env and "PYTHONHOME" not in env
    assert "QGIS_PREFIX_PATH" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_engine_setting_and_env_var(provider, monkeypatch):
    from processing.core.ProcessingConfig import ProcessingConfig

    monkeypatch.delenv("LANDSLIDE_ENGINE_PYTHON", raising=False)
    default = ProcessingConfig.getSetting(engine_runner.ENGINE_PYTHON_SETTING)
    assert default == engine_runner.default_engine_python()
    assert engine_runner.engine_python() == default
    monkeypatch.setenv("LANDSLIDE_ENGINE_PYTHON", sys.executable)
    assert engine_runner.engine_python() == sys.executable


def test_check_engine_algorithm(run_alg):
    result = run_alg("landslide:checkengine", {})
    assert result["TENSORFLOW"].startswith("2.")
    assert result["DEVICE"].startswith(("CPU", "GPU"))
