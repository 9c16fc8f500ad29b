"""The classical models: logistic regression, random forest, gradient boosting
(scikit-learn), frequency ratio and weights of evidence (bivariate statistics).

They read features of the same patches as the networks (:mod:`.features`), are
trained on the same samples and splits (:mod:`.train`), carry the same model
card and are saved in a ``.skops`` file that never runs code when loaded
(:mod:`.model_file`). :class:`.model.ClassicalModel` is their
:class:`..loaded_model.LoadedModel`.
"""
