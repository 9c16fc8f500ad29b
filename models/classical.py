"""The classical models: registry entries (names, display names, defaults).

Plain data: neither scikit-learn nor TensorFlow is imported here, so the
Processing UI lists them cheaply. They are fitted and evaluated by
:mod:`..engine.classical` on features of the patch: the factor values at the
patch centre and, with ``neighbourhood`` true, the mean, standard deviation,
minimum and maximum of every continuous factor over the patch window.

``ENTRIES[name] = (display name, defaults, description)``.
"""

NEIGHBOURHOOD = "neighbourhood"  # the hyper-parameter every classical model has

ENTRIES = {
    "logistic": (
        "Logistic regression",
        {"C": 1.0, "max_iter": 1000, NEIGHBOURHOOD: False},
        "Logistic regression (scikit-learn) on the standardised continuous factors and "
        "the one-hot encoded categorical ones."),
    "random_forest": (
        "Random forest",
        {"n_estimators": 300, "min_samples_leaf": 2, "max_depth": None,
         "max_features": "sqrt", NEIGHBOURHOOD: False},
        "Random forest (scikit-learn) on the factor values, categorical factors one-hot "
        "encoded."),
    "gradient_boosting": (
        "Gradient boosting",
        {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31,
         "min_samples_leaf": 20, "l2_regularization": 0.0, NEIGHBOURHOOD: False},
        "Histogram gradient boosting (scikit-learn's HistGradientBoostingClassifier) with "
        "native support of categorical factors and of nodata."),
    "frequency_ratio": (
        "Frequency ratio",
        {"bins": 10, "smoothing": 0.5, NEIGHBOURHOOD: False},
        "Bivariate frequency ratio per factor class (continuous factors binned by "
        "quantiles of the training samples); the susceptibility index is the sum of the "
        "ratios, calibrated to a probability on the training samples."),
    "weights_of_evidence": (
        "Weights of evidence",
        {"bins": 10, "smoothing": 0.5, NEIGHBOURHOOD: False},
        "Weights of evidence per factor class (W+, W-, contrast; continuous factors binned "
        "by quantiles of the training samples), combined under conditional independence "
        "into a posterior probability."),
}
