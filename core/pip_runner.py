"""Run pip (or any long step) as a subprocess with progress and cancel, and
read pip's output: what to show, how far a step is, and why it failed.

No threads and no pipes: the output goes to a log file that is read between
cancel checks. Subprocess and the standard library only.
"""

import os
import signal
import subprocess
import time

from .errors import CancelledError

POLL_S = 0.2
KILL_GRACE_S = 5.0
# Environment variables of the QGIS process that must not leak into other Pythons.
_DROP_PREFIXES = ("PYTHON", "QGIS", "QT_", "GDAL_DRIVER_PATH", "LD_PRELOAD")


def clean_environment():
    """This process's environment without QGIS's Python and Qt variables."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(_DROP_PREFIXES)}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    return env


# -- pip's output ---------------------------------------------------------------
NETWORK_SIGNS = ("Failed to establish a new connection", "Temporary failure in name resolution",
                 "Name or service not known", "Max retries exceeded", "Could not fetch URL",
                 "Network is unreachable", "No route to host", "Read timed out",
                 "ProxyError", "SSLError", "ConnectionError", "getaddrinfo failed")
REFUSED_SIGNS = ("403 Client Error", "401 Client Error", "Forbidden", "HTTP error 40",
                 "407 Proxy Authentication")


class PipOutput:
    """Reads pip's output line by line: what to tell the user, how far the
    step is (:attr:`fraction`, 0-1) and the tail for an error message."""

    def __init__(self):
        self.fraction = 0.0
        self.collected = 0
        self.tail = []

    def feed(self, line):
        """The line worth showing (None for the rest); updates :attr:`fraction`."""
        text = line.strip()
        if not text:
            return None
        self.tail = (self.tail + [text])[-60:]
        if text.startswith(("Collecting ", "Processing ")):  # from an index; a local file
            self.collected += 1
            self.fraction = max(self.fraction, 0.5 * (1 - 0.75 ** self.collected))
            return text
        if text.startswith("Downloading "):
            return text
        if text.startswith("Installing collected packages:"):
            self.fraction = max(self.fraction, 0.6)
            return text
        if text.startswith("Successfully installed"):
            self.fraction = 1.0
            return text
        return None

    def failure(self, requirement, returncode):
        """Why pip failed, in words."""
        text = "\n".join(self.tail)
        errors = [line for line in self.tail if line.startswith("ERROR:")]
        detail = (errors[-1] if errors else (self.tail[-1] if self.tail else ""))[:400]
        if any(sign in text for sign in REFUSED_SIGNS):
            why = "the package index refused the download"
        elif any(sign in text for sign in NETWORK_SIGNS):
            why = ("pip could not reach the package index (no network, or a proxy or "
                   "firewall in the way)")
        elif "No matching distribution found" in text or "from versions: none" in text:
            why = (f"the package index has no {requirement} for this Python and system, or "
                   "could not be reached")
        else:
            why = f"pip failed (exit status {returncode})"
        return f"Installing {requirement} failed: {why}." + (f" pip said: {detail}"
                                                             if detail else "")


# -- running a step ------------------------------------------------------------
def run_logged(argv, log_path, on_line, is_cancelled, env=None):
    """Run ``argv`` with its output appended to ``log_path``, call ``on_line``
    for each line as it comes (the file is read between cancel checks: no
    threads, no pipes to fill up); on cancel stop the process (and what it
    started) and raise :class:`CancelledError`. Returns the exit status."""
    with open(log_path, "ab") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode("utf-8"))
        out.flush()
        start = out.tell()
        extra = {} if os.name == "nt" else {"start_new_session": True}
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, **extra)
    buffer = b""
    with open(log_path, "rb") as reader:
        reader.seek(start)
        while True:
            finished = process.poll() is not None
            buffer += reader.read()
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                on_line(line.decode("utf-8", "replace"))
            if finished:
                break
            if is_cancelled():
                stop_process(process)
                raise CancelledError("Set up engine cancelled: nothing was changed.")
            time.sleep(POLL_S)
    if buffer.strip():
        on_line(buffer.decode("utf-8", "replace"))
    return process.returncode


def stop_process(process, grace_s=KILL_GRACE_S):
    """Terminate ``process`` (and its process group), kill it after ``grace_s``."""
    if process.poll() is not None:
        return
    if os.name == "nt":
        process.kill()
        process.wait()
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
