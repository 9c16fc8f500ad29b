"""Average the weights (engine.weight_average): the moving average against numpy's,
the raw weights back after a swap, and a training run that scores, keeps and writes
the averaged weights."""

import numpy as np
import pytest
from training_checks import train_then_evaluate


def tiny_model():
    import keras

    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))


def test_average_equals_numpy_and_the_swap_restores_the_raw_weights():
    from landslide_susceptibility.engine.weight_average import WeightAverage

    model = tiny_model()
    momentum = 0.5
    average = WeightAverage(model, momentum)
    rng = np.random.default_rng(0)
    expected = [w.numpy().copy() for w in model.trainable_weights]
    for step in range(1, 8):
        steps = [rng.normal(size=w.shape).astype("float32") for w in model.trainable_weights]
        for weight, value in zip(model.trainable_weights, steps, strict=True):
            weight.assign(value)
        average.update()
        decay = min(momentum, (1 + step) / (10 + step))
        expected = [decay * e + (1 - decay) * v for e, v in zip(expected, steps, strict=True)]
    with average.swapped():
        for weight, value in zip(model.trainable_weights, expected, strict=True):
            np.testing.assert_allclose(weight.numpy(), value, rtol=1e-5, atol=1e-6)
    for weight, value in zip(model.trainable_weights, steps, strict=True):
        np.testing.assert_array_equal(weight.numpy(), value)


def test_training_keeps_and_writes_the_averaged_weights(small_stack, small_samples, tmp_path,
                                                         fake_reporter):
    training, auc, best = train_then_evaluate(small_stack, small_samples, tmp_path,
                                              fake_reporter, 3, weight_average=True)
    assert training["weight_average"] is True
    assert auc == pytest.approx(best, abs=1e-6)
