"""The samples step (buildsamples): its settings, and the names and defaults of
the samples layer that the model commands share."""

from dataclasses import dataclass

from .spec import Spec, param

SAMPLE_SPLITS = ("train", "validation", "test")
DEFAULT_PATCH_SIZE = 72
MIN_PATCH_SIZE = 16  # the models' smallest input (models.MIN_SIZE)
SAMPLES_PER_CLASS = 10000
MAX_OVERSAMPLING = 10  # SAMPLES_PER_CLASS at most this many times a class's pixels
SPLIT_METHODS = (("random", "Random (as in the paper)"),
                 ("spatial", "Spatial blocks (no leakage)"))
RATIOS = (6.0, 2.0, 2.0)
INVENTORY_LABEL = "Landslide inventory (polygons, points or raster mask)"
BLOCK_SIZE = 1000.0


@dataclass(kw_only=True)
class SamplesSpec(Spec):
    """Patch centres on landslide and non-landslide pixels and their split."""

    COMMAND = "buildsamples"

    stack: str = param(key="STACK", label="Factor stack", kind="raster")
    inventory: str = param(key="INVENTORY", label=INVENTORY_LABEL, kind="inventory")
    patch_size: int = param(DEFAULT_PATCH_SIZE, key="PATCH_SIZE", label="Patch size (pixels)",
                            kind="int", minimum=MIN_PATCH_SIZE)
    samples_per_class: int = param(SAMPLES_PER_CLASS, key="SAMPLES_PER_CLASS",
                                   label="Samples per class", kind="int", minimum=1,
                                   maximum=10_000_000)
    split_method: str = param("random", key="SPLIT_METHOD", label="Split method", kind="enum",
                              choices=SPLIT_METHODS)
    block_size: float = param(BLOCK_SIZE, key="BLOCK_SIZE",
                              label="Block size for the spatial split", kind="distance",
                              minimum=0.0, parent="STACK")
    train_ratio: float = param(RATIOS[0], key="TRAIN_RATIO", label="Training ratio",
                               kind="float", minimum=0.0)
    validation_ratio: float = param(RATIOS[1], key="VALIDATION_RATIO",
                                    label="Validation ratio", kind="float", minimum=0.0)
    test_ratio: float = param(RATIOS[2], key="TEST_RATIO", label="Test ratio", kind="float",
                              minimum=0.0)
    negative_buffer: float = param(0.0, key="NEGATIVE_BUFFER",
                                   label="Buffer kept free around landslides for "
                                         "non-landslide centres", kind="distance",
                                   minimum=0.0, parent="STACK")
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0)

    @property
    def ratios(self):
        return (self.train_ratio, self.validation_ratio, self.test_ratio)
