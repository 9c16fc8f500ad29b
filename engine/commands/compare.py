"""``compare``: train and evaluate several architectures on the same samples with
the same settings; the paper's Table 2 for this data.

Params: ``stack``, ``samples``, ``models`` (default all six), the training
params of ``train``, ``output_folder`` (one ``NAME.keras`` and report per
model), ``output_report`` (HTML with all ROC curves). Cancel stops within the
current model (keeping its best so far) and skips the rest.
"""

import os

from ...core.errors import InputError
from ...core.model_reports import comparison_report
from ...core.stack import read_stack_info
from ..samples_input import load_samples
from ..training import train
from .train import finish

TRAIN_KEYS = ("epochs", "batch_size", "learning_rate", "optimizer", "label_smoothing",
              "augment", "patience", "seed")


def run(params, reporter):
    from ... import models as zoo

    names = params.get("models") or zoo.available_models()
    unknown = [name for name in names if name not in zoo.MODELS]
    if unknown:
        raise InputError(f"Unknown model(s) {', '.join(unknown)}. "
                         f"Known: {', '.join(zoo.available_models())}.")
    folder = params["output_folder"]
    os.makedirs(folder, exist_ok=True)
    stack_info = read_stack_info(params["stack"])
    samples, summary = load_samples(params["samples"], stack_info, reporter)
    settings = {key: params[key] for key in TRAIN_KEYS if key in params}
    rows, curves = [], []
    share = 100.0 / len(names)
    for index, name in enumerate(names):
        if reporter.is_cancelled():
            reporter.warning(f"Cancelled: skipped {', '.join(names[index:])}.")
            break
        reporter.info(f"== {name} ({index + 1}/{len(names)})")
        outcome = train(stack_info, samples, name, os.path.join(folder, f"{name}.keras"),
                        reporter, hparams=(params.get("hparams") or {}).get(name),
                        cache_dir=params.get("cache_dir"),
                        progress_range=(index * share, (index + 1) * share),
                        samples_summary=summary, **settings)
        if outcome["model"] is None:
            break
        done = finish(outcome, samples, dict(params, model=name,
                                             output_report=os.path.join(folder,
                                                                        f"{name}.html")),
                      reporter)
        patch = outcome["card"]["patch_size"]
        rows.append({"model": name, "metrics": done["metrics"],
                     "parameters": outcome["card"]["parameters"],
                     "flops": _flops(outcome["keras_model"], (patch, patch, stack_info.count)),
                     "seconds": round(outcome["training_seconds"], 1),
                     "model_path": done["model"], "cancelled": done["cancelled"]})
        if done["roc"]:
            curves.append((name, done["roc"][0], done["roc"][1], done["metrics"]["auc"]))
    report = params.get("output_report")
    if report and rows:
        comparison_report(report, rows, curves,
                          dict(settings, stack=params["stack"], samples=params["samples"],
                               models=", ".join(names)))
    return {"rows": rows, "report": report, "cancelled": reporter.is_cancelled()}


def _flops(model, shape):
    try:
        from ...models.flops import profile_flops

        return int(profile_flops(model, shape))
    except Exception:  # FLOP counting is informative only
        return None
