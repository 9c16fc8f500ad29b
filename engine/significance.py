"""Is the best model really better? Paired tests over cross-validation folds.

Every model is tested on the same folds, so the scores are paired by fold. The
folds' training sets overlap, which makes their scores correlated and the plain
paired t-test far too eager; the corrected resampled t-test of Nadeau and Bengio
(2003, "Inference for the generalization error", Machine Learning 52) widens its
variance for that:

    t = mean(d) / sqrt(var(d) * (1/J + n_test/n_train)),  J - 1 degrees of freedom,

with ``d`` the per-fold differences, ``var`` their sample variance (ddof 1),
``J`` the number of folds (all repeats together) and ``n_test/n_train`` the
ratio of the test to the training set sizes. The Wilcoxon signed-rank test
(scipy) makes no normality assumption; with J folds its two-sided p-value
cannot go below 2 / 2**J (0.0625 with 5 folds), so it is reported beside the
t-test, and the verdict's "significant" follows the t-test.
"""

import math

import numpy as np
from scipy import stats

ALPHA = 0.05


def corrected_ttest(a, b, n_train, n_test):
    """``(t, two-sided p)`` of the corrected resampled t-test of ``a - b`` (scores
    per fold); ``n_train``, ``n_test``: the set sizes (numbers, or per fold: their
    means are used). ``(nan, nan)`` with fewer than two folds; a constant nonzero
    difference gives p 0, no difference at all p 1."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    folds = len(d)
    if folds < 2:
        return math.nan, math.nan
    mean, variance = float(d.mean()), float(d.var(ddof=1))
    ratio = float(np.mean(n_test)) / float(np.mean(n_train))
    spread = math.sqrt(variance * (1.0 / folds + ratio))
    if spread == 0.0:
        return (0.0, 1.0) if mean == 0.0 else (math.copysign(math.inf, mean), 0.0)
    t = mean / spread
    return t, float(2.0 * stats.t.sf(abs(t), folds - 1))


def wilcoxon_p(a, b):
    """Two-sided p-value of the Wilcoxon signed-rank test of the pairs ``(a, b)``
    (scipy's default: zero differences dropped); 1 when all pairs are equal,
    nan with fewer than two pairs."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) < 2:
        return math.nan
    if not np.any(d != 0):
        return 1.0
    return float(stats.wilcoxon(np.asarray(a, float), np.asarray(b, float)).pvalue)


def compare_with_best(scores, sizes, order=None):
    """The best model by mean score and each other model against it.

    ``scores``: ``{model: {fold key: score}}`` (AUC per fold); ``sizes``: ``{fold key:
    (n_train, n_test)}``; ``order``: the models' order (ties go to the first).
    Returns ``(best, {model: comparison})``: a comparison holds ``difference`` (the
    best's mean minus this model's, over the folds both finished), ``folds``,
    ``t``, ``p_ttest`` and ``p_wilcoxon``.
    """
    order = [m for m in (order or scores) if scores.get(m)]
    if not order:
        return None, {}
    means = {m: float(np.mean(list(scores[m].values()))) for m in order}
    best = max(order, key=lambda m: (means[m], -order.index(m)))
    return best, {model: paired(scores[best], scores[model], sizes)
                  for model in order if model != best}


def paired(first, second, sizes):
    """``first`` (``{fold key: score}``) against ``second`` on the folds both have:
    ``difference`` (first's mean minus second's), ``folds``, ``t``, ``p_ttest`` and
    ``p_wilcoxon``."""
    common = [key for key in first if key in second]
    a = [first[key] for key in common]
    b = [second[key] for key in common]
    t, p = corrected_ttest(a, b, [sizes[key][0] for key in common],
                           [sizes[key][1] for key in common]) if common else (math.nan, math.nan)
    return {"difference": float(np.mean(a) - np.mean(b)) if common else math.nan,
            "folds": len(common), "t": t, "p_ttest": p, "p_wilcoxon": wilcoxon_p(a, b)}


def verdict(best, comparisons, means, sds, names, folds, alpha=ALPHA,
            one_split="the samples' own split"):
    """The comparison in plain words: "Random forest is best by mean AUC (0.809 ±
    0.094 over 5 folds); CTLGNet is 0.063 lower, not significant at 5 % (corrected
    t-test p = 0.21; Wilcoxon p = 0.31)." ``means``, ``sds``: AUC per model;
    ``names``: display names; ``folds``: the number of folds of the best model;
    ``one_split``: what the single split is when ``folds`` is 1."""
    if best is None:
        return "No model finished a fold: nothing to compare."
    name = names.get(best, best)
    if folds < 2:
        head = f"{name} is best by test AUC ({means[best]:.3f}) on {one_split}"
        if not comparisons:
            return head + "."
        lines = [f"{names.get(m, m)} is {_gap(c['difference'])}" for m, c in comparisons.items()]
        return (f"{head}; {'; '.join(lines)}. One split gives no significance test: "
                "choose spatial k-fold validation to see whether the differences are real.")
    head = f"{name} is best by mean AUC ({means[best]:.3f} ± {sds[best]:.3f} over {folds} folds)"
    if not comparisons:
        return head + "; it is the only model compared."
    lines = []
    for model, c in comparisons.items():
        p = c["p_ttest"]
        significant = math.isfinite(p) and p < alpha
        lines.append(f"{names.get(model, model)} is {_gap(c['difference'])}, "
                     f"{'' if significant else 'not '}significant at {100 * alpha:g} % "
                     f"(corrected t-test p = {_p(p)}; Wilcoxon p = {_p(c['p_wilcoxon'])})")
    return f"{head}; {'; '.join(lines)}."


def blend_line(name, mean, sd, folds, best_name, comparison, how_to_map, alpha=ALPHA):
    """The blend row in plain words: its AUC, against the best single model
    (``comparison``: :func:`paired` of the best against the blend), how to map it."""
    difference, p = comparison["difference"], comparison["p_ttest"]
    head = f"{name} (a blend: the mean of the two models' probabilities) scored {mean:.3f}"
    if folds < 2 or not math.isfinite(difference):
        return f"{head}; {how_to_map}."
    side = "as good as" if difference == 0 else \
        f"{abs(difference):.3f} {'above' if difference < 0 else 'below'}"
    significant = math.isfinite(p) and p < alpha
    return (f"{head} ± {sd:.3f} over {folds} folds, {side} {best_name}, "
            f"{'' if significant else 'not '}significant at {100 * alpha:g} % (corrected "
            f"t-test p = {_p(p)}); {how_to_map}.")


def _gap(difference):
    if not math.isfinite(difference):
        return "not comparable (no common fold)"
    if difference == 0:
        return "as good"
    return f"{abs(difference):.3f} {'lower' if difference > 0 else 'higher'}"


def _p(value):
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.2g}" if value >= 0.001 else "< 0.001"
