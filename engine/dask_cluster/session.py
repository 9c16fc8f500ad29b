"""A job's connection to a Dask cluster: connect (a clear error within seconds
when the scheduler cannot be reached), make sure every worker runs this engine's
code (shipped with distributed's ``UploadDirectory`` when it does not; a worker
that still runs another version is refused, both versions named), close.
"""

import os
import tempfile
import time

from ...core.errors import InputError
from ...core.specs.cluster import SCHEDULER_LABEL
from . import code

CONNECT_TIMEOUT_S = 5.0     # the scheduler must answer within this
WORKERS_TIMEOUT_S = 120.0   # workers must be there (and back after a code upload)
PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def connect(address, timeout=CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` of the scheduler at ``address``; InputError naming
    the address when it does not answer within ``timeout`` seconds."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise InputError(f"{SCHEDULER_LABEL} {address} is set but the engine's Python lacks "
                         f"Dask ({exc}): install the engine's requirements "
                         "(requirements/engine.txt), or leave the address empty.") from exc
    started = time.monotonic()
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, garbage from a non-scheduler...
        raise InputError(
            f"Cannot reach the Dask scheduler at {address} (no answer within "
            f"{time.monotonic() - started:.0f} s: {type(exc).__name__}: {exc}). Start it "
            f"('dask scheduler' on that computer) or correct the {SCHEDULER_LABEL}, or leave "
            "it empty to run on this computer. Nothing was written.") from exc


class Session:
    """A connected client whose workers run this engine's code; a context manager
    (the client is closed on exit)."""

    def __init__(self, address, reporter, timeout=CONNECT_TIMEOUT_S):
        self.address = address
        self.reporter = reporter
        self.client = connect(address, timeout)
        self.version = code.code_version(PLUGIN_DIR)

    def __enter__(self):
        try:
            self.prepare()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc):
        self.close()
        return False

    def close(self):
        if self.client is not None:
            try:
                self.client.close(timeout=10)
            except Exception:  # closing a broken connection: nothing left to do
                pass
            self.client = None

    def workers(self):
        """``{address: threads}`` of the workers now."""
        return dict(self.client.nthreads())

    def threads(self):
        return max(1, sum(self.workers().values()))

    def prepare(self):
        """Wait for workers; ship the code where it is missing or another version
        (the scheduler too: it unpickles the tasks); refuse a worker, or the
        scheduler, that still runs another version."""
        self._wait_for_workers()
        versions = self._versions()
        if any(v["version"] != self.version for v in versions.values()):
            self._upload(len(self.workers()))
            versions = self._versions()
        wrong = {w: v for w, v in versions.items() if v["version"] != self.version}
        if wrong:
            raise InputError(_version_message(wrong, self.version, self.address))
        self.reporter.info(f"Dask scheduler {self.address}: {len(versions)} workers, "
                           f"{self.threads()} threads, running this engine "
                           f"(landslide_susceptibility {self.version}).")

    def _wait_for_workers(self, count=1):
        try:
            self.client.wait_for_workers(count, timeout=WORKERS_TIMEOUT_S)
        except Exception as exc:  # TimeoutError
            raise InputError(f"The Dask scheduler at {self.address} has no worker (waited "
                             f"{WORKERS_TIMEOUT_S:.0f} s): start some with 'dask worker "
                             f"{self.address} --nworkers N --nthreads 1'.") from exc

    def _versions(self):
        """``{worker or "scheduler": worker_version()}``, the probe sent by value (they
        may lack the plugin); a scheduler in this process (a ``LocalCluster``) runs
        this process's code and is left out."""
        import cloudpickle

        cloudpickle.register_pickle_by_value(code)
        try:
            versions = self.client.run(code.worker_version)
            scheduler = self.client.run_on_scheduler(code.worker_version)
        finally:
            cloudpickle.unregister_pickle_by_value(code)
        if scheduler["pid"] != os.getpid():
            versions[f"the scheduler ({self.address})"] = scheduler
        return versions

    def _upload(self, count):
        """Ship the code with ``UploadDirectory`` to the workers (they restart to
        import it) and the scheduler (it imports it when it unpickles a task)."""
        from distributed.diagnostics.plugin import UploadDirectory

        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="landslide_upload_") as scratch:
            folder = code.upload_folder(PLUGIN_DIR, scratch, self.version)
            plugin = UploadDirectory(folder, restart_workers=True, update_path=True,
                                     mode="all")
        self.client.register_plugin(plugin)
        self._wait_for_workers(count)
        self.reporter.info(f"Sent the engine code (landslide_susceptibility {self.version}) "
                           f"to the workers; they restarted to load it "
                           f"({time.monotonic() - started:.1f} s).")


def _version_message(wrong, version, address):
    lines = [f"{worker} runs landslide_susceptibility "
             f"{info['version'] or 'not at all (' + str(info['error']) + ')'}"
             for worker, info in sorted(wrong.items())]
    fix = ("restart these workers, or start them with a nanny (the default of 'dask "
           "worker'): workers started with --no-nanny cannot restart to load it")
    if any(name.startswith("the scheduler") for name in wrong):
        fix = "restart the scheduler ('dask scheduler'), which keeps the code it loaded; " + fix
    return (f"Refused: {len(wrong)} process(es) of the Dask cluster at {address} run another "
            f"version of the engine than this one (landslide_susceptibility {version}): "
            + "; ".join(lines) + f". The code sent could not replace theirs: {fix}.")
