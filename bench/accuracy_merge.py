#!/usr/bin/env python3
"""Merge accuracy-bench result files (runs of parts, variants, truths) into one.

Each file's areas are keyed by what they measured: ``real`` (Ecuador),
``synthetic`` (the sample area's pixel truth) and ``synthetic_context`` (its
context truth). The comparisons of an area are pooled over the files (a title
seen twice is the later file's), and the statistics, paired tests, figures and
tables are recomputed from the per-fold rows, so models run in different files
are tested against each other on the folds they share.

    .venv/bin/python bench/accuracy_merge.py --output bench/accuracy_results.json FILE...
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from accuracy_bench import Saver, add_truth_ratios, log, register  # noqa: E402
from accuracy_cv import model_stats  # noqa: E402
from accuracy_report import markdown_table, table  # noqa: E402

KEEP = ("stack", "samples", "published", "glm_reproduced", "area",
        "true_probability_fold_auc", "cv")


def area_key(name, block):
    """``real``, ``synthetic`` or ``synthetic_context``."""
    truth = (block.get("area") or {}).get("truth", "pixel")
    return f"{name}_context" if name == "synthetic" and truth == "context" else name


def merge(results):
    """One result holding every area of ``results``, statistics recomputed."""
    merged = {"mode": "merged", "merged_commands": [], "merged_dates": []}
    for result in results:
        # a merged file brings the commands and dates it was merged from
        merged["merged_commands"] += result.get("merged_commands") or [result.get("command")]
        merged["merged_dates"] += result.get("merged_dates") or [result.get("date")]
        for name in ("real", "synthetic", "synthetic_context"):  # the last: merged files
            block = result.get(name) or {}
            if not block.get("comparisons"):
                continue
            target = merged.setdefault(area_key(name, block), {"comparisons": {}})
            for key in KEEP:
                if key in block and key not in target:
                    target[key] = block[key]
            target["comparisons"].update(block["comparisons"])
    for key in ("real", "synthetic", "synthetic_context"):
        block = merged.get(key)
        if not block:
            continue
        block.update(model_stats(list(block["comparisons"].values())))
        if block.get("true_probability_fold_auc"):
            truth = {(int(k[1:].split("f")[0]), int(k.split("f")[1])): v
                     for k, v in block["true_probability_fold_auc"].items()}
            add_truth_ratios(block, truth)
    return merged


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    register()
    results = []
    for path in args.files:
        with open(path, encoding="utf-8") as handle:
            results.append(json.load(handle))
    merged = merge(results)
    Saver(merged, args.output)()
    log(table(merged))
    print(markdown_table(merged))
    return 0


if __name__ == "__main__":
    sys.exit(main())
