"""Run the engine process from a Processing algorithm.

One helper for every engine-backed algorithm: :func:`run_engine` starts the
engine's Python (never ``sys.executable`` inside QGIS) with a clean environment,
relays its JSON-lines protocol to the feedback (progress, log, warnings), and
stops it when the user cancels: SIGINT first so that the engine can finish
cleanly (keep its best checkpoint), a hard kill after a grace period.
No threads: stdout is polled with a selector between cancel checks.

Headless (``qgis_process``, scripts), the algorithm runs in the main thread and
Ctrl-C or ``kill`` reaches this process, not the engine (its own session): while
the engine runs, SIGINT and SIGTERM are caught here (:class:`SignalCancel`) and
become the same cancel as the dialog's Cancel button.
"""

import ctypes
import glob
import json
import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time

from qgis.core import QgsApplication, QgsProcessingException, QgsSettings

from ..core import engine_setup, pip_runner
from ..core.engine_requirements import (
    SET_UP_HINT,
    STAMP_NAME,
    environment_root,
    outdated_problem,
    read_requirements,
    required_modules,
)
from ..core.errors import CancelledError
from .base import PLUGIN_DIR

ENGINE_PYTHON_SETTING = "LANDSLIDE_ENGINE_PYTHON"
ENV_VAR = "LANDSLIDE_ENGINE_PYTHON"
LAUNCHER = os.path.join(PLUGIN_DIR, "engine", "launcher.py")
CANCEL_GRACE_S = 20.0
_PYTHON_OK = {}  # interpreter path -> (file times, None or problem text)

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SIGACTION_BYTES = 512  # more than any platform's struct sigaction (152 on Linux x86-64)


def profile_engine_folder():
    """Where Set up engine puts the engine: the QGIS profile folder, which
    survives plugin upgrades."""
    return engine_setup.profile_engine_folder(QgsApplication.qgisSettingsDirPath())


def default_engine_python():
    """The plugin's own ``.venv`` (``make install``) when there is one, else the
    engine made by Set up engine in the profile folder when there is one, else
    the ``.venv`` path (which the messages then name)."""
    plugin_venv = engine_setup.venv_python(os.path.join(PLUGIN_DIR, ".venv"))
    if os.path.exists(plugin_venv):
        return plugin_venv
    profile = engine_setup.venv_python(profile_engine_folder())
    return profile if os.path.exists(profile) else plugin_venv


def engine_python():
    """The interpreter to run: $LANDSLIDE_ENGINE_PYTHON, else the provider
    setting, else the plugin's own ``.venv``."""
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        configured = ProcessingConfig.getSetting(ENGINE_PYTHON_SETTING)
    except Exception:  # provider not loaded (e.g. a bare script)
        configured = None
    return configured or default_engine_python()


def set_engine_python(python):
    """Make ``python`` the *Engine Python interpreter* setting (saved in the
    QGIS profile's settings)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:  # Processing not loaded: write the stored setting itself
        ProcessingConfig = None
    if ProcessingConfig is not None and ENGINE_PYTHON_SETTING in ProcessingConfig.settings:
        ProcessingConfig.setSettingValue(ENGINE_PYTHON_SETTING, python)
    else:
        QgsSettings().setValue(f"Processing/Configuration/{ENGINE_PYTHON_SETTING}", python)
    _PYTHON_OK.pop(python, None)


def clean_environment():
    env = pip_runner.clean_environment()
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _fix_hint(python):
    return (f"Fix: {SET_UP_HINT}: it creates the engine in your QGIS profile folder. From "
            f"a terminal: run 'make install' in the plugin folder ({PLUGIN_DIR}) of a "
            "clone of the repository. Or set 'Engine Python interpreter' in "
            "Settings > Options > Processing > Providers > Landslide susceptibility "
            f"(or the environment variable {ENV_VAR}) to a Python that has tensorflow, "
            f"scikit-learn and GDAL. Interpreter tried: {python}")


def _file_times(python):
    """What changes when the environment of ``python`` is rebuilt or a package is
    installed into it (its ``bin/python`` is a link whose time is the base
    interpreter's)."""
    root = environment_root(python)
    site_packages = sorted(glob.glob(os.path.join(root, "lib", "python3*", "site-packages"))
                           + glob.glob(os.path.join(root, "Lib", "site-packages")))
    times = []
    for path in (python, os.path.join(root, "pyvenv.cfg"), os.path.join(root, STAMP_NAME),
                 *site_packages):
        try:
            times.append(os.stat(path).st_mtime)
        except OSError:
            times.append(None)
    return tuple(times)


def engine_problem(python):
    """None when ``python`` can run the engine, else a message with the fix:
    missing, not executable, out of date (stamped with other requirements than
    the plugin's; read from a small file), or lacking a module the engine imports
    (looked up without importing it; the answer is cached until the environment
    changes)."""
    if not python or not os.path.isfile(python):
        return f"The engine's Python interpreter was not found. {_fix_hint(python)}"
    if not os.access(python, os.X_OK):
        return f"The engine's Python interpreter is not executable. {_fix_hint(python)}"
    outdated = outdated_problem(python)
    if outdated:
        return outdated
    times = _file_times(python)
    cached = _PYTHON_OK.get(python)
    if cached and cached[0] == times:
        return cached[1]
    try:
        done = engine_setup.module_probe(python, required_modules(read_requirements()))
    except (OSError, subprocess.SubprocessError) as exc:
        problem = f"The engine's Python interpreter could not be started ({exc}). " \
                  f"{_fix_hint(python)}"
    else:
        missing = done.stdout.strip()
        problem = None if done.returncode == 0 else (
            f"The engine's Python lacks: {missing or done.stderr.strip()[-300:]}. "
            f"{_fix_hint(python)}")
    _PYTHON_OK[python] = (times, problem)
    return problem


def run_engine(spec, feedback, python=None, cancel_grace_s=CANCEL_GRACE_S):
    """Run the engine command of ``spec`` (a :class:`..core.specs.Spec`); return
    its typed result (``spec.RESULT``).

    A result that comes back although the user cancelled (e.g. the best model
    so far) has ``cancelled`` set; a cancel with nothing to return raises
    :class:`CancelledError`. Raises ``QgsProcessingException`` with the
    engine's own message on failure.
    """
    value = _run_command(spec.COMMAND, spec.to_json(), feedback, python, cancel_grace_s)
    if spec.RESULT is None:
        return value
    result = spec.RESULT.from_json(value)
    if value.get("cancelled") and hasattr(result, "cancelled"):
        result.cancelled = True
    return result


def _run_command(command, params, feedback, python, cancel_grace_s):
    """The engine's result dict for ``command``; raises on failure or bare cancel."""
    python = python or engine_python()
    problem = engine_problem(python)
    if problem:
        raise QgsProcessingException(problem)

    with tempfile.TemporaryDirectory(prefix="landslide_engine_") as tmp:
        params_path = os.path.join(tmp, "params.json")
        with open(params_path, "w", encoding="utf-8") as handle:
            json.dump(params, handle)
        stderr_path = os.path.join(tmp, "stderr.txt")
        with open(stderr_path, "wb") as stderr, SignalCancel() as interrupt:
            process = subprocess.Popen(
                [python, LAUNCHER, command, "--params", params_path],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                env=clean_environment(), cwd=tmp, start_new_session=True)
            outcome = _relay(process, feedback, cancel_grace_s, interrupt)
        with open(stderr_path, "rb") as handle:
            stderr_tail = handle.read()[-4000:].decode("utf-8", "replace")

    if outcome["error"] is not None:
        raise QgsProcessingException(outcome["error"])
    if outcome["result"] is None:
        if outcome["cancelled"]:
            raise CancelledError()
        raise QgsProcessingException(
            f"The engine stopped without a result (exit status {process.returncode}). "
            f"Its last output:\n{stderr_tail.strip()[-2000:]}")
    result = dict(outcome["result"])
    if outcome["cancelled"]:
        result["cancelled"] = True
    return result


def _relay(process, feedback, cancel_grace_s, interrupt):
    """Pump protocol lines to ``feedback`` until the process ends; on cancel (the
    feedback's, or a signal caught by ``interrupt``) SIGINT to the engine, SIGKILL
    after ``cancel_grace_s``."""
    outcome = {"result": None, "error": None, "cancelled": False}
    selector = selectors.DefaultSelector()
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    selector.register(fd, selectors.EVENT_READ)
    buffer = b""
    cancel_time = None
    open_stream = True
    while open_stream or process.poll() is None:
        if cancel_time is None and _cancel_requested(feedback, interrupt):
            cancel_time = time.monotonic()
            outcome["cancelled"] = True
            _signal(process, signal.SIGINT)
        if cancel_time is not None and time.monotonic() - cancel_time > cancel_grace_s:
            _signal(process, signal.SIGKILL)
            cancel_time = float("inf")  # killed; just drain
        if not open_stream:
            time.sleep(0.05)
            continue
        for _ in selector.select(timeout=0.1):
            chunk = os.read(fd, 65536)
            if not chunk:
                open_stream = False
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                _handle_line(line, feedback, outcome)
    selector.close()
    process.wait()
    process.stdout.close()
    if buffer.strip():
        _handle_line(buffer, feedback, outcome)
    if outcome["cancelled"] and outcome["error"] and \
            process.returncode in (130, -signal.SIGKILL):
        # a clean cancel is not a failure, nor is an engine we killed after it had
        # already reported the cancel (slow to exit, e.g. still unloading TensorFlow)
        outcome["error"] = None
    return outcome


def _cancel_requested(feedback, interrupt):
    """True once the user cancelled: the feedback's Cancel, or a signal sent to
    this process; a signal also cancels the feedback, as QGIS's Cancel does."""
    if interrupt.received and feedback is not None and not feedback.isCanceled():
        feedback.pushInfo(f"{interrupt.received} received: cancelling; the engine finishes "
                          "cleanly (training keeps its best model so far).")
        feedback.cancel()
    return bool(interrupt.received) or (feedback is not None and feedback.isCanceled())


class SignalCancel:
    """Context manager: while it is active, SIGINT and SIGTERM sent to this process
    only set :attr:`received` (the signal's name), which :func:`_relay` turns into
    a cancel of the engine. The previous handlers are put back on exit, also on
    error. Only in the main thread: QGIS desktop runs algorithms in worker threads,
    where ``signal.signal`` raises, and its Cancel button is the way to cancel.

    Python only knows the handlers it installed itself; ``qgis_process.bin``
    watches SIGINT with a C handler installed after Python started, so the C-level
    actions are saved and restored too (``sigaction``, where available).
    """

    def __init__(self):
        self.received = None
        self._saved = []

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        try:
            for sig in FORWARDED_SIGNALS:
                c_action = _c_action(sig)
                self._saved.append((sig, signal.signal(sig, self._on_signal), c_action))
        except (ValueError, OSError):  # not the main interpreter: leave signals alone
            self.__exit__(None, None, None)
        return self

    def __exit__(self, *_exc_info):
        while self._saved:
            sig, previous, c_action = self._saved.pop()
            signal.signal(sig, signal.SIG_DFL if previous is None else previous)
            _set_c_action(sig, c_action)
        return False

    def _on_signal(self, signum, _frame):
        # Only record it: the relay loop, in this same thread, acts on it.
        if self.received is None:
            self.received = signal.Signals(signum).name


def _libc():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    except (OSError, AttributeError):  # no sigaction (Windows)
        return None
    return libc


def _c_action(sig):
    """The C-level action of ``sig`` as opaque bytes, or None."""
    libc = _libc()
    if libc is None:
        return None
    action = ctypes.create_string_buffer(_SIGACTION_BYTES)
    return action if libc.sigaction(sig, None, action) == 0 else None


def _set_c_action(sig, action):
    if action is not None:
        _libc().sigaction(sig, action, None)


def _signal(process, sig):
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _handle_line(line, feedback, outcome):
    text = line.decode("utf-8", "replace").strip()
    if not text:
        return
    try:
        record = json.loads(text)
        kind = record["type"]
    except (ValueError, KeyError, TypeError):
        if feedback is not None:
            feedback.pushDebugInfo(text)
        return
    if kind == "result":
        outcome["result"] = record.get("value") or {}
    elif kind == "error":
        outcome["error"] = record.get("message", "Engine error")
    elif feedback is None:
        return
    elif kind == "progress":
        feedback.setProgress(float(record.get("value", 0)))
    elif kind == "info":
        feedback.pushInfo(record.get("message", ""))
    elif kind == "warning":
        # pushWarning, not reportError: qgis_process prints a reportError twice on
        # stderr (its "ERROR:" line and again from the message log), as an error.
        feedback.pushWarning(record.get("message", ""))
