"""Specs of the factor-selection algorithms (multicollinearity, factor importance):
what the QGIS side samples before the statistics run."""

from dataclasses import dataclass

from .spec import Spec, param

VIF_SAMPLE_SIZE = 100_000  # valid pixels drawn for the VIF (0 = all)
IMPORTANCE_SAMPLE_SIZE = 10_000  # landslide pixels sampled at most (and as many others)


@dataclass(kw_only=True)
class CollinearitySpec(Spec):
    """VIF and tolerance of the stack's factors over a random pixel sample."""

    COMMAND = "multicollinearity"

    stack: str = param(key="STACK", label="Factor stack", kind="raster")
    sample_size: int = param(VIF_SAMPLE_SIZE, key="SAMPLE_SIZE",
                             label="Pixels sampled (0 = all valid pixels)", kind="int",
                             minimum=0)
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0)


@dataclass(kw_only=True)
class ImportanceSamplingSpec(Spec):
    """The pixels factor importance samples: landslide and as many others."""

    COMMAND = "factorimportance"

    stack: str = param(key="STACK", label="Factor stack", kind="raster")
    sample_size: int = param(IMPORTANCE_SAMPLE_SIZE, key="SAMPLE_SIZE",
                             label="Landslide pixels sampled (at most)", kind="int", minimum=10)
