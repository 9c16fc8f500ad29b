"""The known truth of the synthetic study area and the landslides drawn from it.

``p = sigmoid(b0 + sum(b_i * z_i) + lithology effect + land-use effect)``
over the z-scored continuous factors; ``b0`` is solved so that the mean of
``p`` is :data:`MEAN_PROBABILITY`. Landslide initiation cells are drawn with
probability proportional to ``p`` (weighted sampling without replacement) and
grown into small ellipses elongated downslope.
"""

import math

import numpy as np
from osgeo import ogr

from .progress import check_cancelled
from .synthetic_factors import LANDUSE_CLASSES, LITHOLOGY_NAMES

MEAN_PROBABILITY = 0.02  # b0 is solved so that the mean true probability is this
LITHOLOGY_EFFECTS = {"Quaternary": 0.4, "Neogene": 0.8, "Triassic": 0.3, "Permian": -0.2,
                     "Carboniferous": -0.5, "Devonian": -0.8}
LANDUSE_EFFECTS = {"cropland": 0.3, "forest": -0.4, "shrub": 0.1, "grassland": 0.2,
                   "water": -4.0, "barren": 0.5, "impervious": -0.6}
# Coefficients of the true model on z-scored continuous factors.
COEFFICIENTS = {"slope": 2.2, "distance_to_river": -1.0, "distance_to_fault": -0.7,
                "ndvi": -0.55, "precipitation": 0.5, "elevation": -0.35, "aspect": 0.3}
ASPECT_PEAK = 200.0  # degrees: the aspect factor is cos(aspect - 200), 0 on flats


# ---------------------------------------------------------------- the truth


def aspect_factor(aspect):
    """``cos(aspect - ASPECT_PEAK)``, 0 on flat cells (negative aspect), float32."""
    return np.where(aspect >= 0, np.cos(np.radians(aspect - ASPECT_PEAK)),
                    0.0).astype(np.float32)


def true_probability(factors, lith, lith_names, landuse, coefficients=None):
    """The true landslide probability (float32) of each cell.

    ``factors``: the continuous variables named as in ``coefficients`` (by
    default :data:`COEFFICIENTS`, the pixel truth's);
    ``lith``: lithology units (1-based, named by ``lith_names``); ``landuse``:
    land-use classes. Returns ``(probability, b0, standardisation)``, the
    last ``{factor: {"mean", "std"}}``.
    """
    eta = np.zeros(landuse.shape, dtype=np.float32)
    standardisation = {}
    for name, coefficient in (coefficients or COEFFICIENTS).items():
        values = factors[name]
        mean, std = float(values.mean(dtype=np.float64)), float(values.std(dtype=np.float64))
        standardisation[name] = {"mean": mean, "std": std}
        if std > 0:
            eta += np.float32(coefficient / std) * (values - np.float32(mean))
    lith_lut = np.zeros(len(LITHOLOGY_NAMES) + 1, dtype=np.float32)
    for unit, name in enumerate(lith_names, start=1):
        lith_lut[unit] = LITHOLOGY_EFFECTS[name]
    eta += lith_lut[lith]
    landuse_lut = np.zeros(256, dtype=np.float32)
    for code, name in LANDUSE_CLASSES.items():
        landuse_lut[code] = LANDUSE_EFFECTS[name]
    eta += landuse_lut[landuse]
    b0 = solve_intercept(eta, MEAN_PROBABILITY)
    eta += np.float32(b0)
    probability = (1.0 / (1.0 + np.exp(-eta))).astype(np.float32)
    return probability, b0, standardisation


def solve_intercept(eta, target):
    """b0 such that mean(sigmoid(b0 + eta)) == target (bisection on a subsample)."""
    step = max(1, int(math.sqrt(eta.size / 1e6)))
    sample = eta[::step, ::step].astype(np.float64).ravel()
    low, high = -30.0, 10.0
    for _ in range(60):
        middle = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(sample + middle)))) > target:
            high = middle
        else:
            low = middle
    return round((low + high) / 2, 6)


def describe_truth(b0, standardisation, lith_names, coefficients=None):
    """The true model as saved in the metadata (coefficients, standardisation, classes)."""
    return {
        "coefficients": {
            "intercept": b0, **(coefficients or COEFFICIENTS),
            "lithology": {name: LITHOLOGY_EFFECTS[name] for name in lith_names},
            "landuse": {LANDUSE_CLASSES[c]: LANDUSE_EFFECTS[LANDUSE_CLASSES[c]]
                        for c in sorted(LANDUSE_CLASSES)}},
        "aspect_factor": f"cos(aspect - {ASPECT_PEAK:g} deg), 0 on flat cells",
        "standardisation": standardisation,
        "lithology_units": {str(unit): name for unit, name in enumerate(lith_names, start=1)},
        "landuse_classes": {str(code): name for code, name in LANDUSE_CLASSES.items()},
    }


# ---------------------------------------------------------------- the inventory


def landslides(rng, probability, aspect, gt, is_cancelled):
    """Ellipses elongated downslope from initiation cells drawn proportionally to p."""
    rows, cols = probability.shape
    cell = gt[1]
    wanted = int(min(5000, max(20, round(rows * cols / 1600))))
    candidates = min(rows * cols, 6 * wanted)
    top = _weighted_order(rng, probability, candidates)
    semi_major = cell * rng.uniform(2.0, 5.5, candidates)
    ratio = rng.uniform(0.35, 0.7, candidates)
    random_direction = rng.uniform(0.0, 360.0, candidates)
    acceptance = rng.random(candidates)
    occupied = np.zeros((rows, cols), dtype=bool)
    polygons = []
    for k, index in enumerate(top.tolist()):
        if k % 500 == 0:
            check_cancelled(is_cancelled)
        if len(polygons) >= wanted:
            break
        r, c = divmod(index, cols)
        direction = float(aspect[r, c])
        if direction < 0:
            direction = float(random_direction[k])
        a, b = float(semi_major[k]), float(semi_major[k] * ratio[k])
        footprint = _footprint(gt, probability.shape, (r, c), direction, a, b)
        if footprint is None:
            continue
        window_index, inside, halo, centre = footprint
        window = occupied[window_index]
        if (window & halo).any():
            continue
        # keep bodies where the truth is high too: accept with mean(p body) / p(start)
        body_p = float(probability[window_index][inside].mean())
        if acceptance[k] * float(probability[r, c]) > body_p:
            continue
        window |= inside
        polygons.append(_ellipse(centre, a, b, direction))
    return polygons


def _weighted_order(rng, probability, candidates):
    """``candidates`` flat cell indices drawn with weights ``probability``, without
    replacement (Efraimidis & Spirakis: the top keys log(u) / p), in drawing order."""
    keys = np.log(rng.random(probability.size)) / np.maximum(probability.ravel(), 1e-12)
    top = np.argpartition(-keys, candidates - 1)[:candidates]
    return top[np.argsort(-keys[top], kind="stable")]


def _footprint(gt, shape, start, direction, a, b):
    """Cells of an ellipse (semi-axes ``a`` along ``direction``, ``b`` across) whose
    centre lies 0.3 ``a`` downslope of the cell ``start``.

    Returns ``(window, inside, halo, centre)``: the window (a pair of slices),
    the cells inside the ellipse and inside it grown by one cell, and the
    centre ``(x, y)``; None when the window leaves the grid or fewer than 3
    cells are inside.
    """
    rows, cols = shape
    cell = gt[1]
    r, c = start
    dx, dy = math.sin(math.radians(direction)), math.cos(math.radians(direction))
    x_start = gt[0] + (c + 0.5) * cell
    y_start = gt[3] - (r + 0.5) * cell
    xc, yc = x_start + 0.3 * a * dx, y_start + 0.3 * a * dy
    reach = a + cell
    c_lo, c_hi = math.floor((xc - reach - gt[0]) / cell), math.ceil((xc + reach - gt[0]) / cell)
    r_lo, r_hi = math.floor((gt[3] - yc - reach) / cell), math.ceil((gt[3] - yc + reach) / cell)
    if r_lo < 0 or c_lo < 0 or r_hi > rows or c_hi > cols:
        return None
    wy = gt[3] - (np.arange(r_lo, r_hi) + 0.5) * cell - yc
    wx = gt[0] + (np.arange(c_lo, c_hi) + 0.5) * cell - xc
    along = wx[None, :] * dx + wy[:, None] * dy
    across = -wx[None, :] * dy + wy[:, None] * dx
    inside = (along / a) ** 2 + (across / b) ** 2 <= 1.0
    if inside.sum() < 3:
        return None
    halo = (along / (a + cell)) ** 2 + (across / (b + cell)) ** 2 <= 1.0
    return (slice(r_lo, r_hi), slice(c_lo, c_hi)), inside, halo, (xc, yc)


def _ellipse(centre, a, b, direction):
    """A 24-vertex OGR polygon of the ellipse (coordinates rounded to the millimetre)."""
    xc, yc = centre
    dx, dy = math.sin(math.radians(direction)), math.cos(math.radians(direction))
    theta = np.linspace(0.0, 2 * math.pi, 25)[:-1]
    px = xc + a * np.cos(theta) * dx - b * np.sin(theta) * dy
    py = yc + a * np.cos(theta) * dy + b * np.sin(theta) * dx
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in zip(np.round(px, 3).tolist() + [round(float(px[0]), 3)],
                    np.round(py, 3).tolist() + [round(float(py[0]), 3)], strict=True):
        ring.AddPoint_2D(x, y)
    polygon = ogr.Geometry(ogr.wkbPolygon)
    polygon.AddGeometry(ring)
    return polygon
