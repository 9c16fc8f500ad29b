"""The per-patch TensorFlow runners: a Keras model on fixed-shape batches.

* :class:`PatchModel` -- ``model(x, training=False)[:, 1]`` in one ``tf.function``;
  with ``compiled=True`` the function is compiled by XLA (``jit_compile``), which
  fuses the element-wise work (layer norms, softmax, GELU) around the matmuls of
  transformer layers: 2-3x faster on a CPU for the per-pixel part of the dense path.
  The plain function is the reference every fast path is checked against. A model
  with several inputs (a dense tail with the pixel skip's centre cell) takes them
  as separate arguments.
* :func:`with_precision` -- a copy of a model that computes in bfloat16
  (``"mixed_bfloat16"``: weights kept in float32; the output layer, and layers
  marked ``KEEP_FLOAT32`` such as FrIT's Fourier mixing, in float32).
* :func:`cpu_has_bfloat16` -- whether the CPU has bfloat16 instructions;
  :func:`bfloat16_emulated` -- why bfloat16 would be emulated on this machine, and
  :func:`emulation_warning` -- the warning Predict and training give then.
"""

import numpy as np

from ..core.specs.maps import PRECISIONS

BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bfloat16 matmuls
BF16_GPU_CAPABILITY = (8, 0)  # NVIDIA compute capability with bfloat16 tensor cores (Ampere)


class PatchModel:
    """``model(x, training=False)[:, 1]`` on fixed-shape batches (one trace);
    ``compiled``: XLA-compiled (``jit_compile=True``). A model with several inputs
    takes one array per input (``runner(x, y)``)."""

    def __init__(self, model, batch_size, compiled=False):
        import tensorflow as tf

        self.batch_size = int(batch_size)
        self.compiled = bool(compiled)
        self.shapes = tuple(tuple(int(s) for s in tensor.shape[1:]) for tensor in model.inputs)
        self.shape = self.shapes[0]
        specs = [tf.TensorSpec((self.batch_size,) + shape, tf.float32) for shape in self.shapes]

        def probability(*x):
            out = model(x[0] if len(x) == 1 else list(x), training=False)
            return tf.cast(out[:, 1], tf.float32)

        self._fn = tf.function(probability, input_signature=specs, jit_compile=self.compiled)

    def __call__(self, x, *more):
        """At most ``batch_size`` inputs (one array per model input), zero-padded to
        a full batch."""
        n = len(x)
        if n == 0:
            return np.empty(0, np.float32)
        arrays = (x,) + more
        if n < self.batch_size:
            arrays = tuple(_padded(array, self.batch_size, shape)
                           for array, shape in zip(arrays, self.shapes, strict=True))
        return self._fn(*arrays).numpy()[:n]

    def predict(self, x, *more):
        """Any number of patches (one array per model input), in batches."""
        return in_batches(self, x, *more)


class ViewsAveraged:
    """A per-patch runner (``runner(x)`` -> values, ``batch_size``) of patches of
    :func:`.patches.view_size` around each pixel whose value is the mean of
    ``runner`` over the eight flips and turns of the ``patch_size`` patch
    (*Average over flips and turns*)."""

    def __init__(self, runner, patch_size):
        self.runner = runner
        self.batch_size = runner.batch_size
        self.patch_size = int(patch_size)

    def __call__(self, x):
        from .patches import mean_over_views

        if len(x) == 0:
            return np.empty(0, np.float32)
        return mean_over_views(self.runner, x, self.patch_size).astype(np.float32)

    def predict(self, x):
        """Any number of patches, in batches (the dense views' check)."""
        return in_batches(self, x)


def in_batches(runner, *arrays):
    """``runner`` (at most ``runner.batch_size`` rows a call) on any number of rows
    of ``arrays`` (one per model input), batch by batch, concatenated."""
    step = runner.batch_size
    out = [runner(*(array[i:i + step] for array in arrays))
           for i in range(0, len(arrays[0]), step)]
    return np.concatenate(out) if out else np.empty(0, np.float32)


def _padded(x, batch_size, shape):
    """``x`` zero-padded to ``batch_size`` rows of ``shape``."""
    padded = np.zeros((batch_size,) + shape, np.float32)
    padded[:len(x)] = x
    return padded


def with_precision(model, precision):
    """``model`` itself for ``"float32"``; for ``"bfloat16"`` a copy with the same
    weights whose layers compute in bfloat16 (``mixed_bfloat16``; the last layer,
    the softmax classifier, and layers with ``KEEP_FLOAT32`` stay float32)."""
    if precision == "float32":
        return model
    if precision != "bfloat16":
        raise ValueError(f"unknown precision {precision!r}; choose one of "
                         f"{[name for name, _ in PRECISIONS]}")
    import keras

    last = model.layers[-1]

    def clone(layer):
        config = layer.get_config()
        if layer is not last and "dtype" in config and not getattr(layer, "KEEP_FLOAT32", 0):
            config["dtype"] = "mixed_bfloat16"
        return type(layer).from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def cpu_has_bfloat16(cpuinfo="/proc/cpuinfo"):
    """True when the CPU lists a native bfloat16 instruction set (AVX512-BF16, AMX)."""
    try:
        with open(cpuinfo, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return any(flag in line.split() for flag in BF16_FLAGS)
    except OSError:
        pass
    return False


def bfloat16_emulated():
    """Why TensorFlow would emulate bfloat16 on the device it computes on (a GPU
    older than Ampere, or a CPU without AVX512-BF16 or AMX), or None."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None if cpu_has_bfloat16() else \
            "this CPU has no bfloat16 instructions (AVX512-BF16 or AMX)"
    try:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    except Exception:  # details are best-effort only
        capability = None
    if capability and tuple(capability) < BF16_GPU_CAPABILITY:
        return (f"this GPU (compute capability {capability[0]}.{capability[1]}) has no "
                "bfloat16 units")
    return None


def emulation_warning(precision):
    """The warning for computing in ``precision`` on this machine: why it would be
    emulated and slow, or None (float32, or native bfloat16)."""
    why = bfloat16_emulated() if precision != "float32" else None
    if not why:
        return None
    return f"{why[0].upper()}{why[1:]}: {precision} is emulated and usually slower than float32."
