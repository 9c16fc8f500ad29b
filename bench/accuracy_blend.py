#!/usr/bin/env python3
"""A network and a classical model averaged (a blend), on Ecuador's folds.

Runs the product's *Compare landslide models* (repeated spatial 5-fold, the same
folds as ``accuracy_bench.py``) for the random forest without and with *Patch
statistics* and for the CNN with the product defaults (``--variants``: with
*Average over flips and turns*, several seeds), keeps every fold's test
probabilities, and scores each network with each random forest on the mean of
their probabilities (what *Predict* maps from the two model files as an
ensemble). Prints mean ± sd test AUC per row and the paired test against the
best row (``engine.significance``, as the table in the README).

    .venv/bin/python bench/accuracy_blend.py [--repeats 3]
        [--variants defaults,defaults+views,defaults+views+ensemble]
        [--output blend.json]
"""

import argparse
import contextlib
import json
import os
import runpy
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
runpy.run_path(os.path.join(os.path.dirname(HERE), "engine", "launcher.py"))[
    "register_package"](os.path.dirname(HERE))

from accuracy_bench import ECUADOR, REAL, all_landslide_samples, build_ecuador_stack  # noqa: E402
from accuracy_cv import log, make_reporter, run_compare, variant_settings  # noqa: E402

FORESTS = {"random forest": {"neighbourhood": False},
           "random forest, patch statistics": {"neighbourhood": True}}


@contextlib.contextmanager
def captured(store):
    """Within it, every ``compare`` run adds its folds' test labels and probabilities
    to ``store``: ``{(repeat, fold): {"labels": [...], "probability": [...]}}``."""
    from landslide_susceptibility.engine.commands import compare

    summarise = compare.summarise

    def keeping(spec, plan, tasks, results, cancelled):
        for task in tasks:
            result = results.get(task["id"])
            if task["kind"] == "fold" and result and result["labels"]:
                store[(task["repeat"], task["fold"])] = {
                    "labels": result["labels"], "probability": result["probability"],
                    "test": result["counts"]["test"], "train": result["counts"]["train"]}
        return summarise(spec, plan, tasks, results, cancelled)

    compare.summarise = keeping
    try:
        yield store
    finally:
        compare.summarise = summarise


def fold_scores(rows):
    """``{name: {fold: AUC}}`` of ``rows`` (``{name: {fold: captured}}``)."""
    from landslide_susceptibility.engine import metrics

    return {name: {key: metrics.evaluate(r["labels"], r["probability"])["auc"]
                   for key, r in folds.items()} for name, folds in rows.items()}


def blended(network, forest):
    """Per fold, the mean of the two models' probabilities (the same test samples)."""
    out = {}
    for key, n in network.items():
        f = forest[key]
        if n["labels"] != f["labels"]:
            raise RuntimeError(f"fold {key}: the two runs tested different samples")
        out[key] = dict(n, probability=[(a + b) / 2 for a, b in
                                        zip(n["probability"], f["probability"], strict=True)])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default="defaults,defaults+views")
    parser.add_argument("--ecuador", default=ECUADOR)
    parser.add_argument("--output")
    args = parser.parse_args(argv)
    import numpy as np

    from landslide_susceptibility.engine import significance

    reporter = make_reporter(False)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="accuracy_blend_") as folder:
        stack = build_ecuador_stack(args.ecuador, folder)
        samples = os.path.join(folder, "ecuador_samples.gpkg")
        all_landslide_samples(stack, os.path.join(args.ecuador, "landslides.gpkg"), samples,
                              REAL["patch_size"])
        runs = [(name, "random_forest", settings) for name, settings in FORESTS.items()]
        runs += [(f"CNN, {variant.replace('+', ' + ')}", "cnn",
                  variant_settings(variant, {"epochs": 20, "patience": 5}))
                 for variant in args.variants.split(",")]
        for name, model, settings in runs:
            log(f"-- {name}")
            with captured({}) as store:
                run_compare(stack, samples, [model], args.repeats, settings, folder, reporter)
            rows[name] = store
    networks = [name for name in rows if name.startswith("CNN")]
    for network in networks:
        for forest in FORESTS:
            rows[f"{network} + {forest} (mean)"] = blended(rows[network], rows[forest])
    scores = fold_scores(rows)
    first = next(iter(rows.values()))
    sizes = {key: (r["train"], r["test"]) for key, r in first.items()}
    best, tests = significance.compare_with_best(scores, sizes, list(rows))
    table = []
    for name, folds in scores.items():
        values = np.array(list(folds.values()))
        test = tests.get(name, {})
        table.append({"model": name, "auc_mean": round(float(values.mean()), 4),
                      "auc_sd": round(float(values.std(ddof=1)), 4), "folds": len(values),
                      "p_vs_best": None if name == best else test.get("p_ttest")})
        p = "" if name == best else f"  p = {test.get('p_ttest', float('nan')):.2f} vs best"
        print(f"{name:70s} {values.mean():.3f} ± {values.std(ddof=1):.3f} ({len(values)}){p}")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump({"best": best, "rows": table, "repeats": args.repeats,
                       "variants": args.variants}, handle, indent=2)


if __name__ == "__main__":
    main()
