"""Engine commands: name -> (module, description). Modules load lazily.

Each command module has ``run(spec, reporter)``: ``spec`` is the command's
validated spec (``core/specs``, ``COMMAND_SPECS[name]``) and the return value
its typed result (or a plain dict for the tool commands). It reports through
``reporter.progress``/``info``/``warning`` and ``reporter.is_cancelled``.
"""

import importlib

COMMANDS = {
    "check": ("check", "Report Python, TensorFlow, Keras, scikit-learn versions and devices."),
    "selftest": ("selftest", "Diagnostics: report progress for DURATION s, optionally fail "
                             "with MESSAGE; used to test the protocol and cancel."),
    "model_report": ("model_report", "Parameters, FLOPs per patch and CPU inference speed "
                                     "of the six models."),
    "importance": ("importance", "Random-forest Gini and permutation importance of the "
                                 "factors from a samples .npz (factorimportance)."),
    "train": ("train", "Train a model on samples + stack; keep the best by validation "
                       "accuracy; test-split metrics and report (trainmodel)."),
    "pretrain": ("pretrain", "Self-supervised pretraining of a network's encoder by "
                             "masked-patch reconstruction on the stack (pretrainencoder)."),
    "evaluate": ("evaluate", "Metrics, ROC and confusion matrix of a trained model on one "
                             "split of the samples (evaluatemodel)."),
    "compare": ("compare", "Train and evaluate several models with the same settings: "
                           "the paper's Table 2 (comparemodels)."),
    "predict": ("predict", "Susceptibility map: the model's landslide probability for "
                           "every valid pixel of a stack (predictsusceptibility)."),
    "explain": ("explain", "Permutation importance of the factors and occlusion map of a "
                           "trained model on one split (explainmodel)."),
    "classify": ("classify", "Class breaks (natural breaks, quantile, equal interval) of a "
                             "susceptibility sample with mapclassify (classifysusceptibility)."),
}


def load(name):
    """Return the module implementing command ``name``."""
    module_name, _ = COMMANDS[name]
    return importlib.import_module(f"{__name__}.{module_name}")


def run_command(name, params, reporter):
    """Run command ``name`` in this process: ``params`` (a dict, as JSON gives it)
    become the validated spec, the command runs, its result comes back as it
    returned it (a typed result or, for tool commands, a dict)."""
    from ...core.specs import COMMAND_SPECS

    spec = COMMAND_SPECS[name].from_json(params).validate()
    return load(name).run(spec, reporter)
