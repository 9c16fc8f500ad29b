"""The menu's "Check engine…" dialog: which Python the engine runs, its
TensorFlow, the device it computes on, and what to do when something is missing.

The check runs the engine's ``check`` command in a :class:`QProcess` (no
thread, QGIS stays responsive); a missing, incomplete or out-of-date
interpreter is told at once, from :func:`engine_problem`, without starting
anything. *Set up engine…* opens the Processing dialog of
``landslide:setupengine`` (it runs as a background task, with progress and
Cancel) and checks again when it ends; *Change interpreter…* opens the
Processing options, where the *Engine Python interpreter* setting is.
"""

import json
import re

from qgis.PyQt.QtCore import QProcess, QProcessEnvironment, Qt, QTimer
from qgis.PyQt.QtGui import QGuiApplication
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
)

from ..algorithms.base import PLUGIN_DIR
from ..algorithms.engine_runner import (
    ENV_VAR,
    LAUNCHER,
    clean_environment,
    engine_problem,
    engine_python,
    profile_engine_folder,
)

SETUP_ID = "landslide:setupengine"
OUTDATED = "The engine is out of date"

TIMEOUT_S = 180
ROWS = [("executable", "Interpreter"), ("python", "Python"), ("tensorflow", "TensorFlow"),
        ("keras", "Keras"), ("sklearn", "scikit-learn"), ("numpy", "NumPy"),
        ("gdal", "GDAL (Python bindings)"), ("device", "Device"), ("gpus", "GPUs"),
        ("bfloat16", "bfloat16")]
MISSING = "—"

FIX_TEXT = (
    "<p><b>What to do</b></p><ul>"
    "<li>Press <b>Set up engine…</b> (or <b>Update engine…</b>): it creates the engine in "
    "your QGIS profile folder (<code>{folder}</code>) and installs TensorFlow, "
    "scikit-learn and the other pinned packages with pip, with progress and Cancel "
    "(about 500 MB to download, 2 GB on disk; it needs access to the Python package "
    "index), then checks "
    "it. It is also the Processing algorithm <i>Tools › Set up engine</i>.</li>"
    "<li>Or, in a terminal, run <code>make install</code> in the plugin folder of a clone "
    f"of the repository (<code>{PLUGIN_DIR}</code>): it creates the plugin's own "
    "<code>.venv</code>, which the engine uses by default.</li>"
    "<li>Or press <b>Change interpreter…</b> and point <b>Processing › Providers › "
    "Landslide susceptibility › Engine Python interpreter</b> at a Python that has "
    "<code>tensorflow</code>, <code>scikit-learn</code> and GDAL (<code>osgeo</code>), e.g. "
    "<code>/path/to/venv/bin/python</code>.</li>"
    f"<li>The environment variable <code>{ENV_VAR}</code>, when set, overrides the "
    "setting.</li>"
    "</ul><p>Then press <b>Check again</b>. Only the engine needs TensorFlow: QGIS's own "
    "Python never imports it.</p>")

OK_TEXT = (
    "<p><b>The engine works.</b> Training, evaluation, prediction, factor importance and "
    "the automatic class breaks run in this interpreter, in a separate process, on the "
    "device above.</p>{gpu_hint}")
GPU_HINT = (
    "<p>No GPU is visible to TensorFlow: it computes on the CPU, which is fine for the "
    "sample area and small settings. With an NVIDIA GPU, <b>Set up engine…</b> installs "
    "TensorFlow's CUDA build (<code>tensorflow[and-cuda]</code>) when <code>nvidia-smi</code> "
    "finds the GPU (<i>TensorFlow build</i>, under its advanced parameters, forces it); "
    "<code>make install GPU=1</code> does the same for the plugin's <code>.venv</code>.</p>")


class EngineCheckDialog(QDialog):
    """Shows the engine's interpreter, versions and device, or the fix.

    ``python``: the interpreter to check (default: the configured one).
    ``start``: begin the check at once (tests pass False and call :meth:`start`).
    """

    def __init__(self, parent=None, python=None, start=True):
        super().__init__(parent)
        self.setWindowTitle("Landslide susceptibility — engine check")
        self.setObjectName("LandslideEngineCheckDialog")
        self.setMinimumWidth(620)
        self.python = python
        self.setup_dialog = None
        self.info = None
        self.problem = None
        self.warnings = []
        self.process = None
        self._stdout = b""
        self._result = None
        self._error = None

        layout = QVBoxLayout(self)
        self.status_label = QLabel()
        self.status_label.setObjectName("status")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.RichText)
        layout.addWidget(self.status_label)
        form = QFormLayout()
        self.value_labels = {}
        for key, title in ROWS:
            label = QLabel(MISSING)
            label.setObjectName(key)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            label.setWordWrap(True)
            form.addRow(f"{title}:", label)
            self.value_labels[key] = label
        layout.addLayout(form)
        self.advice = QTextBrowser()
        self.advice.setObjectName("advice")
        self.advice.setOpenExternalLinks(True)
        self.advice.setMinimumHeight(170)
        layout.addWidget(self.advice)

        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.again_button = QPushButton("Check again")
        self.copy_button = QPushButton("Copy report")
        self.setup_button = QPushButton("Set up engine…")
        self.setup_button.setObjectName("setup")
        self.setup_button.setToolTip("Create the engine (TensorFlow's Python environment) in "
                                     "the QGIS profile folder, or update it")
        self.interpreter_button = QPushButton("Change interpreter…")
        self.interpreter_button.setToolTip("Processing options: the Engine Python "
                                           "interpreter setting")
        for button in (self.setup_button, self.interpreter_button, self.again_button,
                       self.copy_button):
            buttons.addButton(button, QDialogButtonBox.ActionRole)
        buttons.rejected.connect(self.reject)
        self.again_button.clicked.connect(self.start)
        self.copy_button.clicked.connect(self.copy_report)
        self.setup_button.clicked.connect(self.open_setup)
        self.interpreter_button.clicked.connect(self.change_interpreter)
        layout.addWidget(buttons)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._timed_out)
        if start:
            self.start()

    # -- running -------------------------------------------------------------
    def is_running(self):
        return self.process is not None and self.process.state() != QProcess.NotRunning

    def start(self):
        """Check the interpreter; start the engine's ``check`` when it looks usable."""
        if self.is_running():
            return
        self.info, self.problem, self.warnings = None, None, []
        self._stdout, self._result, self._error = b"", None, None
        python = self.python or engine_python()
        for label in self.value_labels.values():
            label.setText(MISSING)
        self.value_labels["executable"].setText(python or "(none)")
        problem = engine_problem(python)
        if problem:
            self._show_problem(problem)
            return
        self._set_status("Starting the engine (TensorFlow takes a few seconds to load)…",
                         "#555555")
        self.advice.setHtml("")
        self.again_button.setEnabled(False)
        self.process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in clean_environment().items():
            environment.insert(key, value)
        self.process.setProcessEnvironment(environment)
        self.process.setWorkingDirectory(PLUGIN_DIR)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._process_error)
        self.process.start(python, [LAUNCHER, "check", "--params", "{}"])
        self.timer.start(TIMEOUT_S * 1000)

    def wait(self, timeout_s=TIMEOUT_S):
        """Block until the check is done (for scripts and tests)."""
        if self.process is not None and self.is_running():
            self.process.waitForFinished(int(timeout_s * 1000))
            self._read_output()
            if self.process.state() == QProcess.NotRunning and self.info is None \
                    and self.problem is None:
                self._finished(self.process.exitCode(), self.process.exitStatus())
        return self.info

    def _read_output(self):
        if self.process is None:
            return
        self._stdout += bytes(self.process.readAllStandardOutput())
        *lines, self._stdout = self._stdout.split(b"\n")
        for line in lines:
            self._handle_line(line)

    def _handle_line(self, line):
        try:
            record = json.loads(line.decode("utf-8", "replace"))
            kind = record["type"]
        except (ValueError, KeyError, TypeError):
            return
        if kind == "result":
            self._result = record.get("value") or {}
        elif kind == "error":
            self._error = record.get("message", "engine error")
        elif kind == "warning":
            self.warnings.append(record.get("message", ""))

    def _finished(self, exit_code, _exit_status=None):
        if self.info is not None or self.problem is not None:
            return
        self.timer.stop()
        self._read_output()
        if self._stdout.strip():
            self._handle_line(self._stdout)
            self._stdout = b""
        self.again_button.setEnabled(True)
        if self._result is not None and exit_code == 0:
            self._show_info(self._result)
            return
        stderr = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        detail = self._error or stderr.strip()[-1500:] or f"exit status {exit_code}"
        self._show_problem(f"The engine started but its check failed: {detail}")

    def _process_error(self, error):
        if error == QProcess.FailedToStart:
            self.timer.stop()
            self.again_button.setEnabled(True)
            self._show_problem(f"The engine's Python interpreter could not be started "
                               f"({self.process.errorString()}).")

    def _timed_out(self):
        if self.is_running():
            self.process.kill()
            self.process.waitForFinished(5000)
        self.again_button.setEnabled(True)
        self._show_problem(f"The engine did not answer within {TIMEOUT_S} s.")

    # -- showing -------------------------------------------------------------
    def _set_status(self, text, colour):
        self.status_label.setText(f'<span style="color:{colour}; font-weight:bold">'
                                  f"{_escape(text)}</span>")

    def _show_problem(self, problem):
        self.problem = problem
        self.info = None
        summary = problem.split(" Fix:")[0]
        outdated = problem.startswith(OUTDATED)
        self._set_status(summary if outdated else "The engine cannot run: " + summary,
                         "#b2182b")
        self.setup_button.setText("Update engine…" if outdated else "Set up engine…")
        self.advice.setHtml(f"<p>{_escape(problem)}</p>"
                            + FIX_TEXT.format(folder=_escape(profile_engine_folder())))

    def _show_info(self, info):
        self.info = dict(info)
        for key, label in self.value_labels.items():
            value = info.get(key)
            if key == "gpus":
                value = ", ".join(value) if value else "none"
            label.setText(MISSING if value in (None, "") else str(value))
        self._set_status(f"Engine ready: TensorFlow {info.get('tensorflow')} on "
                         f"{info.get('device')}", "#1a9850")
        notes = "".join(f"<li>{_escape(message)}</li>" for message in self.warnings)
        hint = "" if info.get("gpus") else GPU_HINT
        fix = FIX_TEXT.format(folder=_escape(profile_engine_folder()))
        self.setup_button.setText("Set up engine…")
        self.advice.setHtml(OK_TEXT.format(gpu_hint=hint) +
                            (f"<p><b>Warnings</b></p><ul>{notes}</ul>{fix}" if notes
                             else ""))

    # -- fixing -------------------------------------------------------------
    def open_setup(self):
        """The Processing dialog of Set up engine (non-modal: the set-up runs as a
        background task); the check runs again when it has finished."""
        import processing

        dialog = processing.createAlgorithmDialog(SETUP_ID, {})
        if dialog is None:
            self._show_problem(f"{SETUP_ID} is not available: is the Processing plugin "
                               "enabled?")
            return None
        dialog.algorithmFinished.connect(self._setup_finished)
        dialog.show()
        self.setup_dialog = dialog
        return dialog

    def _setup_finished(self, _successful=True, _results=None):
        self.python = None  # the setting, which the set-up may have changed
        self.start()

    def change_interpreter(self):
        """Processing options, where the Engine Python interpreter setting is; check
        again when the options dialog closes."""
        from qgis.utils import iface

        if iface is None:
            return
        iface.showOptionsDialog(iface.mainWindow(), currentPage="processingOptions")
        self.python = None
        self.start()

    def report_text(self):
        """The dialog's content as plain text (the Copy button's text)."""
        lines = [self.status_label.text() and _plain(self.status_label.text())]
        for key, title in ROWS:
            lines.append(f"{title}: {self.value_labels[key].text()}")
        lines.append(self.advice.toPlainText())
        return "\n".join(lines)

    def copy_report(self):
        QGuiApplication.clipboard().setText(self.report_text())

    def done(self, result):
        if self.is_running():
            self.process.kill()
            self.process.waitForFinished(5000)
        self.timer.stop()
        super().done(result)


def _escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", "<br>"))


def _plain(html):
    return re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&")


def show_engine_check(parent=None):
    """Open the dialog (non-modal) and return it."""
    dialog = EngineCheckDialog(parent)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.show()
    return dialog

