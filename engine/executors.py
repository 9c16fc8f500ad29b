"""Executors: where the trainings of a comparison run (folds x models, refits).

A **task** is a plain JSON-able dict, so it can travel to another process or
machine unchanged::

    {"id": "cnn/r0f2",              # unique within the comparison
     "model": "cnn", "kind": "fold" | "refit" | "split",
     "title": "cnn, fold 3/5",      # logged when the task starts
     "repeat": 0, "fold": 2,        # None for a refit
     "train_spec": {...},           # TrainSpec.to_json(): data, settings, seed, output
     "split": {...},                # how to recompute the split (core.folds.split_of)
     "keep_model": false,           # false: the fold's model file is deleted after testing
     "measure": true,               # count FLOPs (once per model)
     "members": 1}                  # > 1: a deep ensemble of that many seeds (networks)

:func:`run_task` does the work of one task: it reads the stack and samples named
in the spec, recomputes the split from its description (the same description
gives the same split anywhere), trains with :func:`.training.train`, tests with
:func:`.commands.train.finish` and returns a JSON-able dict: ``id``, ``model``,
``kind``, ``repeat``, ``fold``, ``counts`` (train/validation/test sizes),
``metrics`` (test split), ``labels`` and ``probability`` (the test samples', for
the pooled ROC), ``seconds`` (training), ``model_path`` (None when not kept),
``parameters``, ``flops``, ``cancelled``.

With ``members`` N > 1 the task trains N networks on its split, with the spec's
seed and the N - 1 next ones (the split stays the task's), and is scored on the
mean of their test probabilities (:func:`ensemble_result`): ``member_auc`` holds
the members' own test AUCs, ``member_paths`` the kept models (the first at the
spec's path, the others beside it as ``NAME_seedS.keras``).

:class:`InProcessExecutor` runs the tasks one after the other in this process.
Another executor (e.g. Dask) must behave the same way:

- ``map_unordered(tasks, reporter)`` yields ``(task, result)`` pairs as tasks
  finish, in any order; the caller matches them by ``task["id"]``;
- each result is what ``run_task(task, reporter)`` returns for that task, called
  on a worker with the same packages and the same files (stack, samples, the
  output folder, where the folds' models are written to a hidden folder and
  removed after testing) at the same paths; the results are then the same for
  the same seeds, whatever the order or the worker (CPU; GPU kernels may differ
  in the last digits): every task seeds its own training and recomputes its split
  from its description;
- it honours cancel: once ``reporter.is_cancelled()`` it starts no new task and
  asks the running ones to stop (their ``reporter.is_cancelled()`` turns true);
  a task stopped early returns ``cancelled: True``;
- progress: it reports overall progress 0-100 through ``reporter.progress``
  (e.g. the share of tasks done), and forwards info and warning lines.
"""

import os

from ..core import folds
from ..core.sample_layer import validate_samples
from ..core.specs import TrainSpec
from ..core.stack import read_stack_info

# A refit has no test split on purpose: the training's warning about it is left out.
NO_TEST_WARNING = "The samples have no test split"


class ScaledReporter:
    """A reporter whose progress 0-100 is mapped to ``start``-``end`` of ``parent``;
    warnings that start with one of ``dropped`` are left out."""

    def __init__(self, parent, start=0.0, end=100.0, dropped=()):
        self.parent, self.start, self.end = parent, start, end
        self.dropped = tuple(dropped)

    def progress(self, value):
        self.parent.progress(self.start + (self.end - self.start) * float(value) / 100.0)

    def info(self, message):
        self.parent.info(message)

    def warning(self, message):
        if not (self.dropped and str(message).startswith(self.dropped)):
            self.parent.warning(message)

    def is_cancelled(self):
        return self.parent.is_cancelled()


class InProcessExecutor:
    """Runs the tasks one after the other in this process (the default)."""

    def map_unordered(self, tasks, reporter):
        tasks = list(tasks)
        share = 100.0 / max(1, len(tasks))
        for index, task in enumerate(tasks):
            if reporter.is_cancelled():
                return
            scaled = ScaledReporter(reporter, index * share, (index + 1) * share)
            yield task, run_task(task, scaled)
            reporter.progress((index + 1) * share)


def executor_for(spec):
    """The in-process executor, or a Dask one when ``spec.scheduler`` is set
    (:class:`.dask_cluster.executor.DaskExecutor`)."""
    address = getattr(spec, "scheduler", "")
    if not address:
        return InProcessExecutor()
    from ..core.specs.cluster import normalise_address
    from .dask_cluster.executor import DaskExecutor

    return DaskExecutor(normalise_address(address))


def task_samples(spec, stack_info, split):
    """``(rows, cols, labels, splits)`` of the samples used by a task (unused ones
    dropped), with ``splits`` the task's ``"train"``/``"validation"``/``"test"``."""
    from .samples_input import load_samples

    samples, summary = load_samples(spec.samples, stack_info)
    rows, cols, labels, splits = validate_samples(*samples, shape=stack_info.shape)
    mine = folds.split_of(rows, cols, labels, splits, split)
    used = mine != ""
    return (rows[used], cols[used], labels[used], mine[used]), summary


def run_task(task, reporter):
    """Train and test one task (see the module's docstring); a JSON-able result."""
    members = int(task.get("members") or 1)
    if members == 1:
        return run_one(task, reporter)
    if task.get("title"):
        reporter.info(f"== {task['title']}")
    results, share = [], 100.0 / members
    for index, member in enumerate(member_tasks(task, members)):
        reporter.info(f"Seed {member['train_spec']['seed']}: member {index + 1} of {members} "
                      "of the deep ensemble")
        results.append(run_one(member, ScaledReporter(reporter, index * share,
                                                      (index + 1) * share)))
        if results[-1]["cancelled"]:
            return results[-1]
    return ensemble_result(results)


def member_tasks(task, members):
    """The task of every member of a deep ensemble: the same split, the seeds from
    the spec's on; the first keeps the spec's output, the others are saved beside it
    as ``NAME_seedS.keras`` (without a report); FLOPs counted once."""
    spec = task["train_spec"]
    stem, extension = os.path.splitext(spec["output_model"])
    tasks = []
    for index in range(members):
        seed = int(spec["seed"]) + index
        one = dict(spec, seed=seed)
        if index:
            one.update(output_model=f"{stem}_seed{seed}{extension}", output_report="")
        tasks.append(dict(task, train_spec=one, title="",
                          measure=bool(task.get("measure")) and not index, members=1))
    return tasks


def ensemble_result(results):
    """One task's result from its members' (tested on the same samples): scored on
    the mean probability, the members' own AUCs in ``member_auc``, their training
    seconds summed, their kept models in ``member_paths``."""
    import numpy as np

    from . import metrics

    labels = results[0]["labels"]
    if any(r["labels"] != labels for r in results):
        raise RuntimeError("The deep ensemble's members were tested on different samples.")
    combined = dict(results[0], seconds=float(sum(r["seconds"] for r in results)),
                    member_auc=[r["metrics"].get("auc") for r in results],
                    member_paths=[r["model_path"] for r in results if r["model_path"]])
    if labels:
        probability = np.mean([r["probability"] for r in results], axis=0)
        combined.update(probability=[float(v) for v in probability],
                        metrics=metrics.evaluate(np.asarray(labels), probability))
    return combined


def run_one(task, reporter):
    """Train and test one model of a task."""
    from .commands.train import finish
    from .training import train

    if task.get("title"):
        reporter.info(f"== {task['title']}")
    if task.get("kind") == "refit":
        reporter = ScaledReporter(reporter, dropped=(NO_TEST_WARNING,))
    spec = TrainSpec.from_json(task["train_spec"]).validate()
    stack_info = read_stack_info(spec.stack)
    samples, summary = task_samples(spec, stack_info, task["split"])
    result = {key: task.get(key) for key in ("id", "model", "kind", "repeat", "fold")}
    result.update(counts={name: int((samples[3] == name).sum())
                          for name in ("train", "validation", "test")},
                  metrics={}, labels=[], probability=[], seconds=0.0, model_path=None,
                  parameters=None, flops=None, cancelled=False)
    trained = train(spec, stack_info, samples, reporter, samples_summary=summary,
                    progress_range=(0, 95))
    if not _has_model(trained):
        result["cancelled"] = True
        return result
    done = finish(trained, spec, samples, reporter)
    test = samples[3] == "test"
    if test.any():
        result["labels"] = [int(v) for v in samples[2][test]]
        result["probability"] = [float(v) for v in _probability(trained, samples, test)]
    card = done.card or {}
    result.update(metrics=dict(done.metrics or {}), seconds=float(done.training_seconds),
                  parameters=card.get("parameters"), cancelled=bool(done.cancelled))
    if task.get("measure"):
        patch = int(card.get("patch_size") or 0)
        result["flops"] = _flops(getattr(trained, "keras_model", None),
                                 (patch, patch, stack_info.count))
    if task.get("keep_model"):
        result["model_path"] = done.model
    elif done.model and os.path.exists(done.model):
        os.remove(done.model)
    reporter.progress(100)
    return result


def _has_model(trained):
    has = getattr(trained, "has_model", None)
    return bool(has) if has is not None else trained.keras_model is not None


def _probability(trained, samples, test):
    """The landslide probability of the test samples from the trained model."""
    rows, cols = samples[0][test], samples[1][test]
    loaded = getattr(trained, "loaded", None)
    if loaded is not None:
        return loaded.probability(trained.stack, rows, cols)
    from .training import predict_probability

    return predict_probability(trained.keras_model, trained.stack, rows, cols, trained.mean,
                               trained.std)


def _flops(model, shape):
    """FLOPs per patch of a Keras model; None for other models or on failure."""
    if model is None:
        return None
    try:
        from ..models.flops import profile_flops

        return int(profile_flops(model, shape))
    except Exception:  # FLOP counting is informative only
        return None
