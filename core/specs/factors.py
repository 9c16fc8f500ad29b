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

    stack: str = param(key="STACK", label="Factor stack", kind="raster",
                       help="The stack from 'Align factors' (a plain multi-band GeoTIFF "
                            "works too; its bands are then named by number)")
    sample_size: int = param(VIF_SAMPLE_SIZE, key="SAMPLE_SIZE", label="Pixels sampled",
                             kind="int", minimum=0, advanced=True,
                             help="Valid pixels drawn at random for the regressions; 0 = "
                                  "all valid pixels")
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0, advanced=True,
                      help="Seed of the pixel draw")


@dataclass(kw_only=True)
class ImportanceSamplingSpec(Spec):
    """The pixels factor importance samples: landslide and as many others."""

    COMMAND = "factorimportance"

    stack: str = param(key="STACK", label="Factor stack", kind="raster",
                       help="The stack from 'Align factors'")
    sample_size: int = param(IMPORTANCE_SAMPLE_SIZE, key="SAMPLE_SIZE",
                             label="Landslide pixels sampled", kind="int", minimum=10,
                             advanced=True,
                             help="At most this many landslide pixels (all when fewer), and "
                                  "as many random non-landslide pixels")
