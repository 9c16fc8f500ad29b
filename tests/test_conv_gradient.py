"""The faster convolution input gradient (engine/conv_gradient.py, issue 14): the
same gradients as TensorFlow's own, where it applies and where it hands over."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from landslide_susceptibility.engine import conv_gradient  # noqa: E402

BIG = 128  # 4 x 4 cells x 3 x 3 x BIG x BIG: above conv_gradient.MIN_WORK


def gradients(x, kernel, **conv):
    """(d loss / d x, d loss / d kernel) of a fixed non-linear loss, eagerly."""
    x, kernel = tf.constant(x), tf.Variable(kernel)
    weights = tf.constant(np.random.default_rng(9).normal(size=1).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.conv2d(x, kernel, **conv)
        loss = tf.reduce_sum(tf.tanh(y) * weights)
    return [g.numpy() for g in tape.gradient(loss, [x, kernel])]


@pytest.fixture
def both():
    """``run(fn)``: fn's result with TensorFlow's gradient and with the fast one."""
    def run(fn):
        conv_gradient.uninstall()
        reference = fn()
        assert conv_gradient.install()
        try:
            return reference, fn()
        finally:
            conv_gradient.uninstall()
    return run


@pytest.mark.parametrize("size, kernel, channels, padding, strides", [
    (4, 3, (BIG, BIG), "SAME", 1),     # like ResNet-18's last stage at a small patch
    (5, 3, (2 * BIG, BIG), "SAME", 1),
    (5, 3, (BIG, 2 * BIG), "SAME", 1),  # widening: TensorFlow's gradient
    (6, 3, (BIG, BIG), "VALID", 1),
    (7, 5, (BIG, BIG), "SAME", 1),
    (12, 1, (2 * BIG, BIG), "SAME", 1),
    (8, 3, (BIG, BIG), "SAME", 2),     # stride 2: TensorFlow's gradient
    (6, 2, (BIG, BIG), "SAME", 1),     # even kernel: TensorFlow's gradient
    (6, 3, (8, 16), "SAME", 1)])       # little work: TensorFlow's gradient
def test_gradients_equal_tensorflows(both, size, kernel, channels, padding, strides):
    """(Dilation > 1 has no case here: TensorFlow's CPU gradient refuses it; that
    it hands over is checked in the next test.)"""
    rng = np.random.default_rng(size * kernel)
    x = rng.normal(size=(3, size, size, channels[0])).astype("float32")
    w = (rng.normal(size=(kernel, kernel) + channels) / np.sqrt(kernel * kernel * channels[0])
         ).astype("float32")
    reference, fast = both(lambda: gradients(x, w, strides=strides, padding=padding))
    for a, b in zip(reference, fast, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4 * np.abs(a).max())


def test_which_convolutions_take_the_forward_form():
    graph = tf.Graph()
    with graph.as_default():
        def op(size=4, kernel=3, channels=(BIG, BIG), **conv):
            x = tf.compat.v1.placeholder(tf.float32, (None, size, size, channels[0]))
            w = tf.zeros((kernel, kernel) + channels)
            return tf.nn.conv2d(x, w, **dict({"strides": 1, "padding": "SAME"}, **conv)).op

        assert conv_gradient.applies(op())
        assert conv_gradient.applies(op(size=6, padding="VALID"))  # 4 x 4 output cells
        assert not conv_gradient.applies(op(padding="VALID"))  # 2 x 2: too little work
        assert not conv_gradient.applies(op(strides=2))
        assert not conv_gradient.applies(op(dilations=2))
        assert not conv_gradient.applies(op(kernel=2))
        assert not conv_gradient.applies(op(channels=(BIG, BIG // 2)))  # too little work
        assert conv_gradient.applies(op(size=8, channels=(BIG, BIG // 2)))
        assert not conv_gradient.applies(op(size=8, channels=(BIG // 2, BIG)))  # widening


def test_a_resnet_training_gradient_is_unchanged(both):
    """Every weight gradient of a ResNet-18 step (its last stages take the fast
    form) equals TensorFlow's."""
    import keras

    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("resnet18", (24, 24, 3), widths=[32, 64, 128, 256])
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(4, 24, 24, 3)).astype("float32"))
    y = tf.constant(np.eye(2, dtype="float32")[[0, 1, 1, 0]])
    loss = keras.losses.CategoricalCrossentropy()

    def step():
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        return [g.numpy() for g in tape.gradient(value, model.trainable_variables)]

    reference, fast = both(step)
    for a, b in zip(reference, fast, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5 * max(np.abs(a).max(), 1e-3))


def test_install_is_idempotent_and_uninstall_restores():
    entry = conv_gradient._registry_entry()
    conv_gradient.uninstall()
    original = entry["type"]
    assert conv_gradient.install() and conv_gradient.install()
    assert entry["type"].original is original
    conv_gradient.uninstall()
    assert entry["type"] is original


def test_without_tensorflows_registry_nothing_changes(monkeypatch):
    """Where a TensorFlow version keeps its gradient registry elsewhere, install()
    says so and training runs on TensorFlow's own gradient."""
    from tensorflow.python.framework import ops

    conv_gradient.uninstall()
    original = ops._gradient_registry._registry[conv_gradient.OP_TYPE]["type"]
    monkeypatch.delattr(ops, "_gradient_registry")
    assert conv_gradient._registry_entry() is None
    assert not conv_gradient.install()
    assert not conv_gradient.install_on_cpu()
    conv_gradient.uninstall()  # nothing to undo, no error
    monkeypatch.undo()
    assert ops._gradient_registry._registry[conv_gradient.OP_TYPE]["type"] is original
