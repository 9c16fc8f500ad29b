"""Specs of the engine's tool commands: check, selftest, model_report."""

from dataclasses import dataclass

from .samples import PAPER_PATCH_SIZE
from .spec import Spec, param
from .training import all_models, model_choices

DEVICES = (("cpu", "CPU"), ("default", "TensorFlow's choice"))


@dataclass(kw_only=True)
class CheckSpec(Spec):
    """No parameters: versions and devices of the engine."""

    COMMAND = "check"


@dataclass(kw_only=True)
class SelftestSpec(Spec):
    """A job that only reports progress, for tests and diagnostics."""

    COMMAND = "selftest"

    duration: float = param(1.0, label="Duration (s)", kind="float", minimum=0.0)
    fail: str = param("", label="Fail with this message", kind="string", optional=True)
    fail_at: float = param(50.0, label="Fail at (percent)", kind="float", minimum=0.0,
                           maximum=100.0)
    ignore_cancel: bool = param(False, label="Keep going after a cancel", kind="bool")


@dataclass(kw_only=True)
class ModelReportSpec(Spec):
    """Parameters, FLOPs per patch and inference speed of the models."""

    COMMAND = "model_report"

    models: list = param(all_models, label="Models", kind="enum_multi", choices=model_choices)
    input_shape: list = param([PAPER_PATCH_SIZE, PAPER_PATCH_SIZE, 9],
                              label="Patch height, width, bands", kind="data")
    batch_size: int = param(256, label="Batch size", kind="int", minimum=1)
    repeats: int = param(3, label="Timed batches", kind="int", minimum=1)
    device: str = param("cpu", label="Device", kind="enum", choices=DEVICES)
    speed: bool = param(True, label="Measure speed", kind="bool")
    hparams: dict = param({}, label="Hyper-parameters per model", kind="data")
    seed: int = param(0, label="Random seed", kind="int", minimum=0)
