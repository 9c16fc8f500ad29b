"""The trainings of a comparison on a Dask cluster: :class:`DaskExecutor`, the
executor interface of :mod:`..executors` (``map_unordered(tasks, reporter)``
yields ``(task, result)`` as tasks finish), each task run by
:func:`..executors.run_task` in a worker process.

- the workers must see the comparison's stack and samples, and the output folder
  for the models that are kept, at the client's paths (checked before any
  training; a shared folder). The fold models, deleted after testing, are written
  in the worker's own temporary folder;
- progress: the mean of the tasks' own progress (sent as worker events, at most
  once a second per task), info and warning lines forwarded with the task's id;
- cancel: a ``distributed.Event`` the tasks' reporters look at; the running
  trainings stop early (and return ``cancelled: True``), those not yet started
  return at once and are not yielded, as with the in-process executor;
- the same numbers as in the engine process: one training at a time per worker
  process, Keras's seeds drawn from a private ``random`` (:func:`private_python_random`).
"""

import contextlib
import os
import queue
import random
import tempfile
import threading
import time
import uuid

from ...core.errors import InputError
from .session import Session

POLL_S = 0.1
PROGRESS_EVERY_S = 1.0      # a task's progress events, at most this often
CANCEL_CHECK_S = 1.0        # a task asks the scheduler about cancel at most this often
_TRAINING = threading.Lock()  # one training at a time per worker process


class DaskExecutor:
    """Runs the tasks on the workers of the Dask scheduler at ``address``."""

    def __init__(self, address):
        self.address = address

    def map_unordered(self, tasks, reporter):
        tasks = list(tasks)
        if not tasks:
            return
        with Session(self.address, reporter) as session:
            yield from _run(session, tasks, reporter)


def _run(session, tasks, reporter):
    from distributed import Event

    client = session.client
    _check_paths(client, tasks, session.address)
    token = uuid.uuid4().hex[:8]
    cancel = Event(f"landslide-cancel-{token}", client=client)
    topic = f"landslide-log-{token}"
    inbox = queue.Queue()
    client.subscribe_topic(topic, lambda event: inbox.put(event[1]))
    futures = {client.submit(run_remote_task, task, topic, cancel.name,
                             key=f"landslide-task-{token}-{task['id']}", pure=False): task
               for task in tasks}
    reporter.info(f"{len(tasks)} trainings submitted to {session.address} "
                  f"({session.threads()} worker threads).")
    shares = {task["id"]: 0.0 for task in tasks}
    try:
        while futures:
            _relay(inbox, shares, reporter)
            if reporter.is_cancelled() and not cancel.is_set():
                cancel.set()
            ready = [future for future in futures if future.done()]
            if not ready:
                time.sleep(POLL_S)
                continue
            for future in ready:
                task = futures.pop(future)
                result = future.result()
                shares[task["id"]] = 100.0
                reporter.progress(sum(shares.values()) / len(shares))
                if not result.pop("not_started", False):
                    yield task, result
        _relay(inbox, shares, reporter)
    finally:
        client.cancel(list(futures))
        client.unsubscribe_topic(topic)


def _relay(inbox, shares, reporter):
    """Forward the workers' events: progress (overall: the tasks' mean), info, warning."""
    moved = False
    while True:
        try:
            event = inbox.get_nowait()
        except queue.Empty:
            break
        kind, task_id = event.get("kind"), event.get("id")
        if kind == "progress" and task_id in shares:
            shares[task_id] = max(shares[task_id], float(event["value"]))
            moved = True
        elif kind in ("info", "warning"):
            getattr(reporter, kind)(f"[{task_id}] {event['message']}")
    if moved:
        reporter.progress(sum(shares.values()) / len(shares))


def _check_paths(client, tasks, address):
    """Every worker sees the inputs, and the folder of the models kept, at the
    client's paths; InputError naming the path and a worker otherwise."""
    paths = set()
    for task in tasks:
        spec = task["train_spec"]
        paths.update(p for p in (spec.get("stack"), spec.get("samples")) if p)
        if task.get("keep_model"):
            paths.add(os.path.dirname(os.path.abspath(spec["output_model"])))
    paths = sorted(paths)
    seen = client.run(_missing, paths)
    for worker, missing in sorted(seen.items()):
        if missing:
            raise InputError(
                f"The worker {worker} of the Dask scheduler at {address} does not see "
                f"{', '.join(missing)}: the comparison's stack, samples and output folder "
                "must be at the same paths on every worker (a shared folder).")


def _missing(paths):
    return [path for path in paths if not os.path.exists(path)]


class WorkerReporter:
    """The engine reporter of a task on a worker: events to the client, cancel from
    the job's ``distributed.Event``."""

    def __init__(self, worker, topic, task_id, cancel):
        self.worker, self.topic, self.task_id, self.cancel = worker, topic, task_id, cancel
        self._sent = self._checked = 0.0
        self._cancelled = False

    def _send(self, kind, **fields):
        self.worker.log_event(self.topic, dict(kind=kind, id=self.task_id, **fields))

    def progress(self, value):
        now = time.monotonic()
        if now - self._sent >= PROGRESS_EVERY_S or float(value) >= 100.0:
            self._sent = now
            self._send("progress", value=float(value))

    def info(self, message):
        self._send("info", message=str(message))

    def warning(self, message):
        self._send("warning", message=str(message))

    def is_cancelled(self):
        now = time.monotonic()
        if not self._cancelled and now - self._checked >= CANCEL_CHECK_S:
            self._checked = now
            self._cancelled = bool(self.cancel.is_set())
        return self._cancelled


@contextlib.contextmanager
def private_python_random():
    """Keras draws the default seeds of its layers (initializers, dropout) from
    Python's global ``random`` after ``keras.utils.set_random_seed`` seeded it. In a
    worker, distributed's own threads draw from it too (tornado's callback jitter,
    retry back-off), at moments that depend on timing, so a training would not be
    reproducible. For the task, Keras gets a ``random.Random`` of its own, seeded
    by ``set_random_seed`` as the global one would be: the draws are those of the
    engine process."""
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    saved = seed_generator.python_random, rng_utils.random
    seed_generator.python_random = rng_utils.random = random.Random()
    try:
        yield
    finally:
        seed_generator.python_random, rng_utils.random = saved


def run_remote_task(task, topic, cancel_name):
    """A comparison's task on a worker: :func:`..executors.run_task` with a
    :class:`WorkerReporter`, one training at a time per worker process (Keras's
    seeds are global); a fold model that is not kept goes to the worker's own
    temporary folder. ``{"not_started": True}`` when cancelled before it started."""
    from distributed import Event, get_worker

    from ..executors import run_task

    reporter = WorkerReporter(get_worker(), topic, task["id"], Event(cancel_name))
    with _TRAINING, private_python_random():
        if reporter.is_cancelled():
            return {"id": task["id"], "not_started": True}
        if task.get("keep_model"):
            return run_task(task, reporter)
        with tempfile.TemporaryDirectory(prefix="landslide_fold_") as scratch:
            spec = dict(task["train_spec"])
            spec["output_model"] = os.path.join(scratch,
                                                os.path.basename(spec["output_model"]))
            return run_task(dict(task, train_spec=spec), reporter)
