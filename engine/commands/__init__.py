"""Engine commands: name -> (module, description). Modules load lazily.

Each command module has ``run(params: dict, reporter) -> dict`` and reports
through ``reporter.progress``/``info``/``warning`` and ``reporter.is_cancelled``.
"""

import importlib

COMMANDS = {
    "check": ("check", "Report Python, TensorFlow, Keras, scikit-learn versions and devices."),
    "selftest": ("selftest", "Diagnostics: report progress for DURATION s, optionally fail "
                             "with MESSAGE; used to test the protocol and cancel."),
}


def load(name):
    """Return the module implementing command ``name``."""
    module_name, _ = COMMANDS[name]
    return importlib.import_module(f"{__name__}.{module_name}")
