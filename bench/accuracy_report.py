"""Figures (for bench/run.py) and the human table of the accuracy bench's result."""

from accuracy_glm import PUBLISHED

AREAS = (("real", "Ecuador"), ("synthetic", "sample area, pixel truth"),
         ("synthetic_context", "sample area, context truth"))
CV_NAME = "repeated spatial 5-fold"


def _areas(result):
    """``AREAS`` with each area's title as this result names it: a single run of
    ``--truth context`` keeps its block under "synthetic" (the merge moves it)."""
    truth = ((result.get("synthetic") or {}).get("area") or {}).get("truth", "pixel")
    return tuple((key, f"sample area, {truth} truth" if key == "synthetic" else area)
                 for key, area in AREAS)


def _name(code):
    """The display name of a model, or of a variant ``cnn+skip``: "CNN (10 layers),
    centre cell to the classifier"."""
    from accuracy_cv import variant_label

    from landslide_susceptibility.models import display_name

    model, variant = variant_label(code)
    try:
        name = display_name(model)
    except (KeyError, ValueError):
        name = model
    return f"{name}, {variant}" if variant else name


def _ordered(block):
    """The models of an area's result, best mean AUC first."""
    models = block.get("models", {})
    return sorted(models, key=lambda m: -models[m]["auc_mean"])


def figures(result):
    """Flat ``{"name", "value", "unit", ...}`` figures."""
    out = []
    for key, area in _areas(result):
        block = result.get(key) or {}
        for model in _ordered(block):
            stats = block["models"][model]
            figure = {"name": f"{area} {CV_NAME}: {_name(model)} AUC",
                      "value": stats["auc_mean"], "sd": stats["auc_sd"],
                      "folds": stats["folds"], "repeats": stats["repeats"],
                      "mean_on_common_folds": stats.get("auc_mean_common_folds"),
                      "difference_to_best": stats["auc_difference_to_best"],
                      "p_vs_best_ttest": stats["p_ttest"],
                      "p_vs_best_wilcoxon": stats["p_wilcoxon"],
                      "significant_at_5pct": stats["significant"],
                      "unit": "AUROC (mean ± sd over folds)"}
            if "ratio_to_truth_mean" in stats:
                figure["ratio_to_truth"] = stats["ratio_to_truth_mean"]
            out.append(figure)
        if block.get("best_model"):
            out.append({"name": f"{area} {CV_NAME}: best model by mean AUC",
                        "value": _name(block["best_model"]), "unit": "model",
                        "verdict": block["verdict"]})
    real = result.get("real") or {}
    if real.get("glm_reproduced"):
        for split in ("random", "spatial"):
            out.append({"name": f"Ecuador published GLM, {split} CV",
                        "value": PUBLISHED["glm"][split], "unit": "AUROC"})
            stats = real["glm_reproduced"][f"{split}_cv_auc"]
            out.append({"name": f"Ecuador GLM reproduced here, {split} CV",
                        "value": stats["mean"], "sd": stats["sd"], "unit": "AUROC"})
    for key, area in _areas(result)[1:]:
        synthetic = result.get(key) or {}
        if synthetic.get("true_probability_fold_auc"):
            values = list(synthetic["true_probability_fold_auc"].values())
            out.append({"name": f"{area} {CV_NAME}: true probability AUC at the test folds",
                        "value": round(sum(values) / len(values), 4), "unit": "AUROC"})
    return out


def _p(value):
    if value is None:
        return "–"
    return f"{value:.2g}" if value >= 0.001 else "<0.001"


def _area_table(block, with_ratio):
    header = (f"{'model':44s} {'folds':>9s} {'AUC mean ± sd':>15s} {'common':>7s} "
              f"{'Δ best':>7s} {'p t-test':>9s} {'p Wilc.':>8s}"
              + ("  ratio" if with_ratio else ""))
    lines = [header]
    for model in _ordered(block):
        s = block["models"][model]
        sd = f"{s['auc_sd']:.3f}" if s["auc_sd"] is not None else "–"
        delta = f"{s['auc_difference_to_best']:.3f}" \
            if s["auc_difference_to_best"] is not None else "best"
        common = s.get("auc_mean_common_folds")
        line = (f"{_name(model):44s} {s['folds']:>4d} ({s['repeats']}x) "
                f"{s['auc_mean']:.3f} ± {sd:>5s} "
                f"{f'{common:.3f}' if common is not None else '–':>7s} {delta:>7s} "
                f"{_p(s['p_ttest']):>9s} {_p(s['p_wilcoxon']):>8s}")
        if with_ratio and "ratio_to_truth_mean" in s:
            line += f"  {s['ratio_to_truth_mean']:.3f}"
        lines.append(line)
    lines.append(f"common: mean AUC over the {block.get('common_folds', 0)} folds every "
                 "model ran; Δ best and p: on the folds a model shares with the best")
    lines.append(block.get("verdict", ""))
    return lines


def table(result):
    lines = []
    real = result.get("real") or {}
    if real.get("models"):
        lines.append(f"\nEcuador, {CV_NAME} (blocks of 1000 m), test AUC over folds")
        lines += _area_table(real, with_ratio=False)
    if real.get("glm_reproduced"):
        glm = real["glm_reproduced"]
        lines.append(f"GLM here (book's protocol): random CV {glm['random_cv_auc']['mean']}, "
                     f"spatial CV {glm['spatial_cv_auc']['mean']}; published "
                     f"{PUBLISHED['glm']['random']} / {PUBLISHED['glm']['spatial']}")
    for key, area in _areas(result)[1:]:
        synthetic = result.get(key) or {}
        if synthetic.get("models"):
            lines.append(f"\n{area.capitalize()}, {CV_NAME}: test AUC and AUC / "
                         "true-probability AUC")
            lines += _area_table(synthetic, with_ratio=True)
    return "\n".join(lines)


def _cell(block, model):
    """``0.838 ± 0.070 (15)``, bold for the best, † when significantly worse than
    the best (corrected t-test, 5 %); ``–`` when not run."""
    stats = (block.get("models") or {}).get(model)
    if not stats:
        return "–"
    sd = f" ± {stats['auc_sd']:.3f}" if stats["auc_sd"] is not None else ""
    text = f"{stats['auc_mean']:.3f}{sd} ({stats['folds']})"
    if block.get("best_model") == model:
        return f"**{text}**"
    return text + (" †" if stats["significant"] else "")


def markdown_table(result):
    """The README's table: one row per model or variant, one column per area (mean
    ± sd test AUC, folds in brackets), the published GLM below."""
    areas = [(key, name) for key, name in _areas(result)
             if (result.get(key) or {}).get("models")]
    models = []
    for key, _ in areas:
        models += [m for m in _ordered(result[key]) if m not in models]
    lines = ["| model | " + " | ".join(name for _, name in areas) + " |",
             "| --- |" + " ---: |" * len(areas)]
    lines += [f"| {_name(m)} | " + " | ".join(_cell(result[key], m) for key, _ in areas)
              + " |" for m in models]
    real = result.get("real") or {}
    if real.get("glm_reproduced"):
        glm = real["glm_reproduced"]["spatial_cv_auc"]
        lines.append(f"| GLM, published spatial CV (Geocomputation with R) / re-run here | "
                     f"{PUBLISHED['glm']['spatial']} / {glm['mean']:.3f} |"
                     + " – |" * (len(areas) - 1))
    for key, name in areas[1:]:
        truth = result[key].get("true_probability_fold_auc") or {}
        if truth:
            lines.append(f"| true probability ({name}) at the test folds | "
                         + " | ".join(f"{sum(truth.values()) / len(truth):.3f}"
                                      if k == key else "" for k, _ in areas) + " |")
    return "\n".join(lines)
