"""Frequency ratio and weights of evidence per factor class (bivariate statistics).

Every feature column is cut into classes: a categorical factor's class codes
(from the model card), a continuous feature's quantile bins of the training
samples (``bins`` bins, repeated edges merged; the edges, in the factor's
units, are kept in the model). For class ``i`` of a column, with ``S_i`` landslide and ``N_i``
non-landslide training samples in it (the non-landslide samples are a random
sample of the area), ``S`` and ``N`` the totals and ``s`` the smoothing added
to every count (``K`` classes):

* frequency ratio ``FR_i = ((S_i + s) / (S + K s)) / ((N_i + s) / (N + K s))``,
  the class's share of the landslides over its share of the area;
* weights of evidence ``W+_i = ln FR_i``,
  ``W-_i = ln(((S - S_i + (K - 1) s) / (S + K s)) / ((N - N_i + (K - 1) s) / (N + K s)))``
  and the contrast ``C_i = W+_i - W-_i``.

A class without area gets FR 1 and weights 0 (no evidence); an infinite
weight (smoothing 0 and no landslide) is 0 too. The susceptibility index of a
pixel is the sum over the columns of its class's FR (``frequency_ratio``) or
contrast (``weights_of_evidence``); a class never seen in training counts as
no evidence (FR 1, C 0). The index becomes a probability by a logistic fit on
the training samples (:func:`calibrate`), which keeps the order of the index.
"""

import numpy as np

INDEX_KEYS = {"frequency_ratio": "fr", "weights_of_evidence": "contrast"}
NEUTRAL = {"fr": 1.0, "contrast": 0.0}


def column_classes(values, kind, codes, bins):
    """``{"edges": [...]}`` (inner quantile edges) of a continuous column, or
    ``{"classes": [...]}`` of a categorical one (``codes``, or the codes seen)."""
    if kind == "categorical":
        seen = np.unique(values[np.isfinite(values)]).astype(int).tolist()
        return {"classes": [int(c) for c in codes] if codes else seen}
    finite = values[np.isfinite(values)]
    quantiles = np.quantile(finite, np.linspace(0, 1, int(bins) + 1)[1:-1]) \
        if len(finite) else []
    return {"edges": [float(e) for e in np.unique(quantiles)]}


def class_index(values, table):
    """Class of every value in the column's ``table``: 0.. ; -1 when unknown/NaN."""
    values = np.asarray(values, np.float64)
    if "edges" in table:
        index = np.searchsorted(np.asarray(table["edges"], np.float64), values, side="right")
    elif table["classes"]:
        codes = np.asarray(table["classes"], np.float64)
        order = np.argsort(codes, kind="stable")
        position = np.clip(np.searchsorted(codes[order], values), 0, len(codes) - 1)
        index = np.where(codes[order][position] == values, order[position], -1)
    else:
        index = np.full(len(values), -1)
    return np.where(np.isfinite(values), index, -1)


def fit_tables(x, y, columns, codes, bins=10, smoothing=0.5):
    """The class table of every column of ``x`` ``(N, F)`` for labels ``y``:
    ``columns`` ``(name, kind, band)``, ``codes`` ``{band: class codes}``."""
    y = np.asarray(y).astype(bool)
    tables = []
    for j, (name, kind, band) in enumerate(columns):
        table = {"name": name, "kind": kind,
                 **column_classes(x[:, j], kind, codes.get(band, []), bins)}
        index = class_index(x[:, j], table)
        count = len(table["edges"]) + 1 if "edges" in table else len(table["classes"])
        landslides = np.bincount(index[y & (index >= 0)], minlength=count)
        others = np.bincount(index[~y & (index >= 0)], minlength=count)
        table.update(landslides=landslides.tolist(), others=others.tolist(),
                     **class_weights(landslides, others, smoothing))
        tables.append(table)
    return tables


def class_weights(landslides, others, smoothing=0.5):
    """FR, W+, W- and contrast of the classes with these counts (see the module)."""
    s_i = np.asarray(landslides, np.float64) + smoothing
    n_i = np.asarray(others, np.float64) + smoothing
    s_total, n_total = s_i.sum(), n_i.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        share_s, share_n = s_i / s_total, n_i / n_total
        fr = np.where(n_i > 0, share_s / share_n, 1.0)
        w_plus = np.log(fr)
        w_minus = np.log((1 - share_s) / (1 - share_n))
    w_plus = np.where(np.isfinite(w_plus) & (n_i > 0), w_plus, 0.0)
    w_minus = np.where(np.isfinite(w_minus) & (n_i > 0), w_minus, 0.0)
    return {"fr": _rounded(fr), "w_plus": _rounded(w_plus), "w_minus": _rounded(w_minus),
            "contrast": _rounded(w_plus - w_minus)}


def _rounded(values):
    return [float(v) for v in np.nan_to_num(np.asarray(values, np.float64))]


def susceptibility_index(x, tables, model):
    """The index ``(N,)``: the sum over the columns of the class's FR or contrast."""
    key = INDEX_KEYS[model]
    out = np.zeros(len(x))
    for j, table in enumerate(tables):
        values = np.asarray(table[key] + [NEUTRAL[key]], np.float64)  # -1 -> neutral
        out += values[class_index(x[:, j], table)]
    return out


def calibrate(index, y, l2=1e-6, steps=50):
    """``(a, b)`` of the logistic fit ``P(landslide) = 1 / (1 + exp(-(a * index + b)))``
    on the training samples (Newton's method, a tiny L2 penalty on ``a``)."""
    x = np.asarray(index, np.float64)
    y = np.asarray(y, np.float64)
    centre, scale = x.mean(), x.std() or 1.0
    t = (x - centre) / scale
    w = np.zeros(2)  # slope, intercept on the standardised index
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(w[0] * t + w[1])))
        gradient = np.array([np.dot(p - y, t) + l2 * w[0], np.sum(p - y)])
        h = p * (1 - p)
        hessian = np.array([[np.dot(h, t * t) + l2, np.dot(h, t)],
                            [np.dot(h, t), h.sum() + 1e-12]])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    slope = w[0] / scale
    return float(slope), float(w[1] - slope * centre)


def probability(x, tables, model, calibration):
    a, b = calibration
    return 1.0 / (1.0 + np.exp(-(a * susceptibility_index(x, tables, model) + b)))
