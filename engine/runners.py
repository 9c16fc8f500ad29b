"""The per-patch TensorFlow runner: a Keras model on fixed-shape batches."""

import numpy as np


class PatchModel:
    """``model(x, training=False)[:, 1]`` on fixed-shape batches (one trace)."""

    def __init__(self, model, batch_size):
        import tensorflow as tf

        self.batch_size = int(batch_size)
        self.shape = tuple(int(s) for s in model.input_shape[1:])
        spec = tf.TensorSpec((self.batch_size,) + self.shape, tf.float32)
        self._fn = tf.function(lambda x: model(x, training=False)[:, 1],
                               input_signature=[spec])

    def __call__(self, x):
        """At most ``batch_size`` inputs, zero-padded to a full batch."""
        n = len(x)
        if n == 0:
            return np.empty(0, np.float32)
        if n < self.batch_size:
            padded = np.zeros((self.batch_size,) + self.shape, np.float32)
            padded[:n] = x
            x = padded
        return self._fn(x).numpy()[:n]

    def predict(self, x):
        """Any number of patches, in batches."""
        out = [self(x[i:i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return np.concatenate(out) if out else np.empty(0, np.float32)
