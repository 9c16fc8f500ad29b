"""An exponential moving average of a network's weights during training (the
*Average the weights* setting): the validation scores, the epoch kept and the model
written are those of the averaged weights, while the optimizer keeps stepping the
raw ones. The aim: on a small inventory (a few hundred patches, a dozen steps per
epoch) one step's weights are noisy, and their average is the usual remedy. On
Ecuador it changed nothing for the CNN and cost CTLGNet (README, "Which model"), so
it is off by default.

The average starts from the initial weights; at step ``n`` the old average keeps
the weight ``min(momentum, (1 + n) / (10 + n))`` (TensorFlow's ``num_updates``
rule, momentum :data:`~..core.specs.training.WEIGHT_AVERAGE_MOMENTUM`), so the
early epochs are not tied to the random start.
"""

import contextlib


class WeightAverage:
    """The moving average of ``model``'s trainable weights: :meth:`update` after
    each step, :meth:`swapped` to score or save the averaged weights."""

    def __init__(self, model, momentum):
        import tensorflow as tf

        self.variables = [weight.value for weight in model.trainable_weights]
        self.average = [tf.Variable(variable, trainable=False) for variable in self.variables]
        self.steps = tf.Variable(0.0, trainable=False, dtype=tf.float32)
        self.momentum = float(momentum)
        self._update = tf.function(self._step)

    def _step(self):
        import tensorflow as tf

        self.steps.assign_add(1.0)
        decay = tf.minimum(self.momentum, (1.0 + self.steps) / (10.0 + self.steps))
        for average, variable in zip(self.average, self.variables, strict=True):
            average.assign(decay * average + (1.0 - decay) * variable)

    def update(self):
        self._update()

    @contextlib.contextmanager
    def swapped(self):
        """The averaged weights in the model for the block, the raw ones back after."""
        raw = [variable.numpy() for variable in self.variables]
        for variable, average in zip(self.variables, self.average, strict=True):
            variable.assign(average)
        try:
            yield
        finally:
            for variable, value in zip(self.variables, raw, strict=True):
                variable.assign(value)

    def callback(self):
        """The Keras callback that updates the average after every training step."""
        import keras

        average = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                average.update()

        return Callback()
