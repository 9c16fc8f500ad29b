"""Multicollinearity of the factors (the paper's "LCFs selection", 1): variance
inflation factor and tolerance.

For each factor j, an ordinary least-squares regression of j on all the other
factors with an intercept gives R²_j; VIF_j = 1 / (1 - R²_j) and
TOL_j = 1 / VIF_j = 1 - R²_j. This is what statsmodels'
``variance_inflation_factor`` computes on a design matrix with a constant
column. VIF ≥ 10 (TOL ≤ 0.1) flags strong multicollinearity.

Categorical factors enter with their class codes, as the paper does.
"""

import numpy as np

from .errors import InputError
from .progress import check_cancelled, never_cancelled, no_progress, scaled
from .specs.factors import VIF_SAMPLE_SIZE as SAMPLE_SIZE
from .stack import read_stack_info, sample_pixels

VIF_THRESHOLD = 10.0
TOL_THRESHOLD = 0.1



def vif(values):
    """VIF of every column of ``values`` ``[n, k]`` (k ≥ 1).

    A constant column gets ``nan``; a column explained exactly by the others
    gets ``inf``. With one column the VIF is 1.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("values must be a 2-D array [samples, factors]")
    n, k = x.shape
    result = np.full(k, np.nan)
    if k == 1:
        return np.where(np.ptp(x, axis=0) > 0, 1.0, np.nan)
    # Centre and scale: the intercept is then implicit, and lstsq is well-conditioned.
    centred = x - x.mean(axis=0)
    scale = np.sqrt((centred ** 2).sum(axis=0))
    constant = scale == 0
    standard = np.divide(centred, scale, out=np.zeros_like(centred), where=~constant)
    for j in range(k):
        if constant[j]:
            continue
        others = np.delete(standard, j, axis=1)
        target = standard[:, j]
        coef, *_ = np.linalg.lstsq(others, target, rcond=None)
        residual = target - others @ coef
        ss_res = float(residual @ residual)  # target has unit sum of squares
        result[j] = np.inf if ss_res <= 1e-15 else 1.0 / ss_res
    return result


def flags(vifs, threshold=VIF_THRESHOLD):
    """``"high"`` (VIF ≥ threshold, TOL ≤ 1/threshold), ``"ok"``, or ``"constant"``."""
    out = []
    for value in vifs:
        if np.isnan(value):
            out.append("constant")
        elif value >= threshold:
            out.append("high")
        else:
            out.append("ok")
    return out


def multicollinearity(stack, sample_size=SAMPLE_SIZE, seed=0, progress=no_progress,
                      is_cancelled=never_cancelled):
    """VIF, TOL and the correlation matrix of the stack's factors over a random
    sample of ``sample_size`` valid pixels (all when fewer; 0 = all)."""
    info = read_stack_info(stack)
    if info.count < 2:
        raise InputError(f"The factor stack '{stack}' has {info.count} factor; "
                         "multicollinearity needs at least two.")
    sample = sample_pixels(info, sample_size or None, seed=seed,
                           progress=scaled(progress, 0, 80), is_cancelled=is_cancelled)
    n = sample.values.shape[0]
    if n == 0:
        raise InputError(f"The factor stack '{stack}' has no valid pixels (every pixel is "
                         "nodata in some band).")
    if n <= info.count:
        raise InputError(f"The factor stack '{stack}' has only {n} valid pixels for "
                         f"{info.count} factors; VIF needs more pixels than factors.")
    check_cancelled(is_cancelled)
    vifs = vif(sample.values)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(sample.values, rowvar=False)
        tol = np.where(np.isnan(vifs), np.nan, 1.0 / vifs)
    warnings = list(info.warnings)
    flagged = flags(vifs)
    for name, flag in zip(info.names, flagged, strict=True):
        if flag == "constant":
            warnings.append(f"The factor '{name}' is constant over the sampled pixels; "
                            "its VIF is undefined. Remove it.")
    progress(100)
    return {"stack": str(stack), "factors": info.names, "categorical": info.categorical,
            "vif": vifs, "tol": tol, "flags": flagged, "correlation": correlation,
            "sample_size": n, "valid_pixels": sample.available, "seed": seed,
            "warnings": warnings, "info": info}


def write_report(result, path, settings=None):
    """The HTML report of :func:`multicollinearity`: table, VIF and TOL bar charts with
    the thresholds, correlation heat map, inputs and settings."""
    from .metric_names import format_number
    from .report import Report, bar_chart, heatmap

    names = result["factors"]
    vifs, tol, flagged = result["vif"], result["tol"], result["flags"]
    high = [i for i, flag in enumerate(flagged) if flag != "ok"]
    report = Report("Multicollinearity of the factors (VIF and TOL)")
    items = [("Factor stack", result["stack"]),
             ("Factors", ", ".join(names)),
             ("Valid pixels in the stack", result["valid_pixels"]),
             ("Pixels sampled", result["sample_size"]),
             ("Random seed", result["seed"]),
             ("Thresholds", f"VIF ≥ {VIF_THRESHOLD:g} or TOL ≤ {TOL_THRESHOLD:g}: "
                            "strong multicollinearity")]
    items += list((settings or {}).items())
    report.settings(items)
    report.warnings(result.get("warnings"))
    report.heading("Method")
    report.paragraph(
        "Each factor is regressed on all the others (ordinary least squares with an "
        "intercept) over a uniform random sample of the stack's valid pixels; "
        "VIF = 1 / (1 − R²) and tolerance TOL = 1 / VIF (the paper's 'LCFs selection', "
        "multicollinearity analysis). Categorical factors enter with their class codes, as "
        "in the paper.")
    if high:
        report.warning("Strong multicollinearity (or a constant factor): "
                       + ", ".join(f"{names[i]} (VIF {format_number(vifs[i], 'ratio')})"
                                   for i in high)
                       + ". Consider removing one factor of each correlated group.")
    else:
        report.paragraph(f"No factor reaches VIF {VIF_THRESHOLD:g}: multicollinearity is "
                         f"low (largest VIF {format_number(float(np.nanmax(vifs)), 'ratio')}).")
    rows = [[name, "categorical" if cat else "continuous", float(v), float(t), flag]
            for name, cat, v, t, flag in zip(names, result["categorical"], vifs, tol,
                                             flagged, strict=True)]
    report.table(["Factor", "Type", "VIF", "TOL", "Flag"], rows, title="VIF and tolerance",
                 flagged=high, kinds=[None, None, "ratio", "score", None])
    report.figure(bar_chart(names, vifs, title="Variance inflation factor", xlabel="VIF",
                            threshold=VIF_THRESHOLD,
                            threshold_label=f"VIF = {VIF_THRESHOLD:g}", flagged=high,
                            kind="ratio"),
                  caption=f"VIF per factor; the dashed line marks VIF = {VIF_THRESHOLD:g}.")
    report.figure(bar_chart(names, tol, title="Tolerance", xlabel="TOL = 1 / VIF",
                            threshold=TOL_THRESHOLD,
                            threshold_label=f"TOL = {TOL_THRESHOLD:g}", flagged=high,
                            kind="score"),
                  caption=f"Tolerance per factor; the dashed line marks TOL = "
                          f"{TOL_THRESHOLD:g}.")
    report.figure(heatmap(result["correlation"], names, title="Pearson correlation",
                          colorbar_label="r"),
                  caption="Correlation matrix of the factors over the sampled pixels.")
    report.table([""] + list(names),
                 [[name] + [float(v) for v in row]
                  for name, row in zip(names, result["correlation"], strict=True)],
                 title="Correlation matrix", kinds=[None] + ["score"] * len(names))
    return report.write(path)
