"""The JSON-lines protocol between the engine and its caller.

Every line the engine writes to stdout is one JSON object with a ``type``:

=========  ==========================================  ===========================
type       fields                                      meaning
=========  ==========================================  ===========================
progress   ``value`` (0..100)                          overall progress of the job
info       ``message``                                 a log line
warning    ``message``                                 something the user should read
result     ``value`` (object)                          the job's outputs; last line
error      ``message``                                 why the job failed; exit != 0
=========  ==========================================  ===========================

Anything else TensorFlow or C libraries print goes to stderr, never stdout.
Cancel: the caller sends SIGINT (or SIGTERM); :meth:`Reporter.is_cancelled`
turns True and the command finishes cleanly (e.g. keeps its best checkpoint).
"""

import json
import os
import signal
import sys
import time


class Reporter:
    """Writes protocol lines and tracks the cancel request."""

    def __init__(self, stream, human=False):
        self._stream = stream
        self._human = human
        self._cancelled = False
        self._cancel_announced = False
        self._last_progress = None
        self._last_time = 0.0

    # --- cancel --------------------------------------------------------------
    def install_signal_handlers(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, _signum, _frame):
        # Only set a flag: writing here could re-enter a write in progress.
        self._cancelled = True

    def is_cancelled(self):
        if self._cancelled and not self._cancel_announced:
            self._cancel_announced = True
            self.info("Cancel requested; finishing cleanly.")
        return self._cancelled

    # --- messages ------------------------------------------------------------
    def progress(self, value):
        """Report overall progress; throttled to changes of 0.5 % or 0.25 s."""
        value = max(0.0, min(100.0, float(value)))
        now = time.monotonic()
        last = self._last_progress
        if last is not None and abs(value - last) < 0.5 and now - self._last_time < 0.25 \
                and value < 100.0:
            return
        self._last_progress, self._last_time = value, now
        self._emit({"type": "progress", "value": round(value, 2)})

    def info(self, message):
        self._emit({"type": "info", "message": str(message)})

    def warning(self, message):
        self._emit({"type": "warning", "message": str(message)})

    def result(self, value):
        self._emit({"type": "result", "value": value})

    def error(self, message):
        self._emit({"type": "error", "message": str(message)})

    def _emit(self, record):
        if self._human:
            text = {
                "progress": lambda r: f"[{r['value']:5.1f}%]",
                "info": lambda r: r["message"],
                "warning": lambda r: f"WARNING: {r['message']}",
                "error": lambda r: f"ERROR: {r['message']}",
                "result": lambda r: json.dumps(r["value"], indent=2),
            }[record["type"]](record)
            self._stream.write(text + "\n")
        else:
            self._stream.write(json.dumps(record) + "\n")
        self._stream.flush()


def protocol_stream():
    """Return a stream on the real stdout and point fd 1 at stderr.

    After this, stray prints (Python or C level, e.g. TensorFlow's) land on
    stderr and cannot corrupt the protocol.
    """
    sys.stdout.flush()
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream
