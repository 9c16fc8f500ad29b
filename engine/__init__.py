"""The TensorFlow engine: the only place TensorFlow (and scikit-learn's heavy
work) runs. QGIS starts it as a separate process (see :mod:`.cli`)."""
