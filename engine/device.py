"""What the engine computes on, and the TensorFlow set-up every command shares."""

import os
import platform


def cpu_name():
    """The CPU model from /proc/cpuinfo (or the platform string)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe():
    """A dict naming TensorFlow's version and the device it will compute on."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    gpu_names = []
    for gpu in gpus:
        try:
            details = tf.config.experimental.get_device_details(gpu)
            gpu_names.append(details.get("device_name", gpu.name))
        except Exception:  # details are best-effort only
            gpu_names.append(gpu.name)
    keras_version = getattr(tf.keras, "__version__", None) or _keras_version()
    info = {
        "tensorflow": tf.__version__,
        "keras": keras_version,
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_names,
        "device": f"GPU:0 ({gpu_names[0]})" if gpu_names else f"CPU ({cpu_name()})",
    }
    return info


def _keras_version():
    try:
        import keras

        return keras.__version__
    except ImportError:
        return None
