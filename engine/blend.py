"""A blend in *Compare landslide models*: the best network and the best classical
model by mean test AUC, averaged fold by fold.

The two err differently, so the mean of their probabilities often ranks the test
samples better than either (on Ecuador: the CNN and the random forest 0.848 against
0.838 for the forest alone; README, *Which model*). It costs no training: every
fold's test probabilities of both are there. *Predict landslide susceptibility*
maps it from the two models' files, the second under *Additional models
(ensemble)*.
"""

import numpy as np

from ..core.model_labels import blend_code
from . import metrics


def blend_results(by_model, is_classical):
    """``(code, results)`` of the blend of ``by_model`` (``{model: [fold results]}``,
    each with ``labels``, ``probability``, ``repeat``, ``fold``, ``counts``,
    ``seconds``), or None without a scored network and a scored classical model.
    A result is one fold's, scored on the mean probability of the two."""
    def mean_auc(name):
        return float(np.mean([r["metrics"]["auc"] for r in by_model[name]]))

    scored = [name for name, results in by_model.items()
              if results and all(r["labels"] and "auc" in r["metrics"] for r in results)]
    networks = [name for name in scored if not is_classical(name)]
    classical = [name for name in scored if is_classical(name)]
    if not networks or not classical:
        return None
    network, forest = max(networks, key=mean_auc), max(classical, key=mean_auc)
    code = blend_code(network, forest)
    theirs = {(r["repeat"], r["fold"]): r for r in by_model[forest]}
    results = []
    for mine in by_model[network]:
        other = theirs.get((mine["repeat"], mine["fold"]))
        if other is None or other["labels"] != mine["labels"]:
            continue
        probability = (np.asarray(mine["probability"]) + np.asarray(other["probability"])) / 2
        results.append(dict(
            mine, id=f"{code}/{mine['kind']}/{mine['repeat']}/{mine['fold']}", model=code,
            probability=[float(v) for v in probability],
            metrics=metrics.evaluate(np.asarray(mine["labels"]), probability),
            seconds=float(mine["seconds"]) + float(other["seconds"]),
            parameters=None, flops=None, model_path=None, cancelled=False))
    return (code, results) if results else None
