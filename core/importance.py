"""Factor importance, the QGIS side (the paper's "LCFs selection", 2).

:func:`prepare_samples` draws landslide pixels and as many non-landslide pixels
from the stack (see :func:`.inventory.balanced_samples`) and writes them to a
``.npz`` (``values``, ``labels``, ``names``, ``categorical``); the engine
command ``importance`` (``engine/commands/importance.py``) fits the random
forest with scikit-learn; :func:`write_report` writes the HTML report of its
result. numpy + GDAL only: scikit-learn never runs inside QGIS.
"""

import numpy as np

from .errors import InputError
from .files import atomic_output
from .inventory import balanced_samples, inventory_mask
from .progress import never_cancelled, no_progress, scaled
from .specs.factors import IMPORTANCE_SAMPLE_SIZE
from .stack import read_stack_info


def prepare_samples(stack, inventory, samples_path, sample_size=IMPORTANCE_SAMPLE_SIZE, seed=0,
                    layer_name=None, kind=None, progress=no_progress,
                    is_cancelled=never_cancelled):
    """Write the balanced samples of ``stack`` and ``inventory`` to ``samples_path``."""
    info = read_stack_info(stack)
    if sample_size is not None and sample_size < 1:
        raise InputError(f"SAMPLE_SIZE must be at least 1 (got {sample_size}).")
    inventory_result = inventory_mask(inventory, info, layer_name=layer_name, kind=kind,
                                      progress=scaled(progress, 0, 30),
                                      is_cancelled=is_cancelled)
    values, labels, details = balanced_samples(info, inventory_result.mask, sample_size,
                                               seed=seed, progress=scaled(progress, 30, 100),
                                               is_cancelled=is_cancelled)
    with atomic_output(samples_path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, values=values, labels=labels, names=np.array(info.names),
                 categorical=np.array(info.categorical))
    warnings = list(info.warnings) + list(inventory_result.warnings)
    if details["landslide_pixels"] < 30:
        warnings.append(f"Only {details['landslide_pixels']} landslide pixels: the "
                        "importances are very uncertain.")
    progress(100)
    return {"samples": str(samples_path), "names": info.names,
            "categorical": info.categorical, "inventory_kind": inventory_result.kind,
            "inventory_features": inventory_result.features,
            "inventory_features_in_stack": inventory_result.features_in_grid,
            "inventory_pixels": inventory_result.pixels, "warnings": warnings, **details}


def ranked_rows(result):
    """``[factor, gini, permutation, permutation_std]`` sorted by Gini, largest first."""
    rows = [[name, float(g), float(p), float(s)] for name, g, p, s in
            zip(result["names"], result["gini"], result["permutation"],
                result["permutation_std"], strict=True)]
    return sorted(rows, key=lambda row: -row[1])


def _inventory_text(samples):
    if samples["inventory_kind"] == "raster":
        return (f"raster mask: {samples['inventory_features']} landslide cells, "
                f"{samples['inventory_pixels']} cells on the stack's grid")
    return (f"{samples['inventory_features']} features ("
            f"{samples['inventory_features_in_stack']} on the stack), "
            f"{samples['inventory_pixels']} landslide cells on the stack's grid")


def write_report(result, samples, path, stack="", inventory="", settings=None):
    """The HTML report: sorted bar charts of Gini and permutation importance, the
    out-of-bag score, inputs and settings."""
    from .report import Report, bar_chart

    rows = ranked_rows(result)
    report = Report("Factor importance (random forest)")
    items = [("Factor stack", stack), ("Factors", ", ".join(result["names"])),
             ("Landslide inventory", inventory),
             ("Inventory found", _inventory_text(samples)),
             ("Landslide pixels used", f"{samples['landslide_pixels']} of "
                                       f"{samples['landslide_pixels_available']} valid"),
             ("Non-landslide pixels used", samples["non_landslide_pixels"]),
             ("Training / held-out samples", f"{result['n_train']} / {result['n_test']}"),
             ("Trees", result["trees"]), ("Random seed", result["seed"]),
             ("Permutation repeats", result["repeats"])]
    items += list((settings or {}).items())
    report.settings(items)
    report.warnings(samples.get("warnings"))
    report.heading("Model")
    report.paragraph(
        f"Out-of-bag accuracy {result['oob_score']:.3f}, out-of-bag AUC "
        f"{result['oob_auc']:.3f}; AUC on the held-out {result['test_fraction']:.0%} of the "
        f"samples {result['test_auc']:.3f}.")
    report.note(
        "A random forest (scikit-learn, bootstrap with out-of-bag scoring) separates "
        "landslide pixels from an equal number of random non-landslide pixels. Gini "
        "importance is the mean decrease in impurity, normalised to sum to 1 (the paper's "
        "measure). Permutation importance is the mean drop in held-out ROC AUC when one "
        "factor's values are shuffled; it is less biased towards factors with many "
        "distinct values (continuous factors) and can be ≤ 0 for useless factors. "
        "Categorical factors enter with their class codes.")
    report.table(["factor", "Gini", "permutation (ΔAUC)", "permutation std"], rows,
                 title="Importance, sorted by Gini", kinds=[None, "score", "score", "score"])
    names = [row[0] for row in rows]
    report.figure(bar_chart(names, [row[1] for row in rows], title="Gini importance",
                            xlabel="mean decrease in impurity (sums to 1)", kind="score"),
                  caption="Gini importance, largest first.")
    order = sorted(range(len(rows)), key=lambda i: -rows[i][2])
    report.figure(bar_chart([names[i] for i in order], [rows[i][2] for i in order],
                            errors=[rows[i][3] for i in order],
                            title="Permutation importance (held-out samples)",
                            xlabel="mean decrease in ROC AUC", colour="#2c7fb8",
                            kind="score"),
                  caption="Permutation importance, largest first; bars show ± one "
                          "standard deviation over the repeats.")
    return report.write(path)
