"""The published GLM line of the Ecuador data and its re-run here (accuracy bench).

Geocomputation with R (Lovelace, Nowosad, Muenchow), ch. 12, fits a GLM on
``sample_points.gpkg`` (175 landslide, 175 other points; the five terrain
factors) and reports the mean AUROC of 100 x 5-fold CV, random and spatial
(k-means on the coordinates). :func:`reproduce_glm` re-runs that protocol with
scikit-learn on the factor values read from our stack: a check of the factor
reading, independent of the product's pipeline.
"""

import math
import os

PUBLISHED = {  # mean AUROC, 100 x 5-fold CV on sample_points (Geocomputation with R, ch. 12)
    "glm": {"spatial": 0.773, "random": 0.810},
    "svm": {"spatial": 0.739, "random": 0.799},
}


def mean_sd(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return {"mean": None, "sd": None, "n": 0}
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) \
        if len(values) > 1 else 0.0
    return {"mean": round(mean, 4), "sd": round(sd, 4), "n": len(values)}


def read_points(data, info, values):
    """``(x [points, factors], labels, coords)`` of ``sample_points.gpkg``; points
    without factor values dropped (and counted)."""
    import numpy as np
    from osgeo import ogr

    dataset = ogr.Open(os.path.join(data, "sample_points.gpkg"))
    xs, ys, labels = [], [], []
    for feature in dataset.GetLayer(0):
        geometry = feature.GetGeometryRef()
        xs.append(geometry.GetX())
        ys.append(geometry.GetY())
        labels.append(int(feature.GetField("landslide")))
    xs, ys, labels = np.array(xs), np.array(ys), np.array(labels)
    x0, dx, _, y0, _, dy = info.geotransform
    cols = np.floor((xs - x0) / dx).astype(int)
    rows = np.floor((ys - y0) / dy).astype(int)
    x = values[:, rows, cols].T
    ok = np.all(np.isfinite(x), axis=1)
    return x[ok], labels[ok], np.stack([xs, ys], axis=1)[ok], int((~ok).sum())


def fold_aucs(x, labels, fold_of):
    """AUC of an unpenalised GLM on every fold of ``fold_of`` (both classes needed)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from landslide_susceptibility.core.roc import auc

    aucs = []
    for fold in np.unique(fold_of):
        test = fold_of == fold
        if len(np.unique(labels[test])) < 2 or len(np.unique(labels[~test])) < 2:
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1e6, max_iter=5000))
        model.fit(x[~test], labels[~test])
        aucs.append(auc(labels[test], model.predict_proba(x[test])[:, 1]))
    return aucs


def reproduce_glm(data, info, values, repetitions):
    """The book's GLM protocol: repeated 5-fold CV, random and spatial (k-means on
    the coordinates, k = 5); mean AUROC over all folds."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.model_selection import StratifiedKFold

    x, labels, coords, dropped = read_points(data, info, values)
    random_aucs, spatial_aucs = [], []
    for rep in range(repetitions):
        fold_of = np.empty(len(labels), dtype=int)
        for fold, (_, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=rep)
                                         .split(x, labels)):
            fold_of[test] = fold
        random_aucs += fold_aucs(x, labels, fold_of)
        spatial_aucs += fold_aucs(x, labels,
                                  KMeans(5, n_init=10, random_state=rep).fit_predict(coords))
    return {"points": len(labels), "points_without_factor_values": dropped,
            "repetitions": repetitions, "folds": 5,
            "random_cv_auc": mean_sd(random_aucs), "spatial_cv_auc": mean_sd(spatial_aucs)}
