"""The samples step (buildsamples): its settings, and the names and defaults of
the samples layer that the model commands share."""

from dataclasses import dataclass

from .spec import Spec, param

SAMPLE_SPLITS = ("train", "validation", "test")
# The defaults finish in minutes on a laptop CPU; the paper's values are one edit away
# (and named in the help): 72 x 72 patches, 10,000 samples per class, a random split.
DEFAULT_PATCH_SIZE = 32
PAPER_PATCH_SIZE = 72
MIN_PATCH_SIZE = 16  # the models' smallest input (models.MIN_SIZE)
SAMPLES_PER_CLASS = 1000
PAPER_SAMPLES_PER_CLASS = 10000
MAX_OVERSAMPLING = 10  # SAMPLES_PER_CLASS at most this many times a class's pixels
SPLIT_METHODS = (("random", "Random (as in the paper)"),
                 ("spatial", "Spatial blocks (no leakage)"))
RATIOS = (6.0, 2.0, 2.0)
INVENTORY_LABEL = "Landslide inventory"
INVENTORY_HELP = ("Landslides as polygons, points (the cell under each point) or a raster "
                  "mask (1 = landslide); reprojected to the stack's CRS when it differs")
AREA_LABEL = "Mapped area"
AREA_HELP = ("Where the inventory was mapped, when it covers only part of the area (a survey "
             "area): polygons (cells whose centre is inside) or a raster mask (non-zero, "
             "non-nodata cells; resampled nearest), any CRS. Leave empty when the inventory "
             "covers everything")
BLOCK_SIZE = 1000.0


@dataclass(kw_only=True)
class SamplesSpec(Spec):
    """Patch centres on landslide and non-landslide pixels and their split."""

    COMMAND = "buildsamples"

    stack: str = param(key="STACK", label="Factor stack", kind="raster",
                       help="The stack from 'Align factors': the samples are cells of its grid")
    inventory: str = param(key="INVENTORY", label=INVENTORY_LABEL, kind="inventory",
                           help=INVENTORY_HELP)
    mapped_area: str = param("", key="MAPPED_AREA", label=AREA_LABEL, kind="area",
                             optional=True,
                             help=AREA_HELP + ". Every centre of both classes, and every "
                                  "spatial block, is then inside it: non-landslide samples "
                                  "from unmapped ground teach where someone looked, not where "
                                  "slopes fail")
    patch_size: int = param(DEFAULT_PATCH_SIZE, key="PATCH_SIZE", label="Patch size (pixels)",
                            kind="int", minimum=MIN_PATCH_SIZE,
                            help="Side of the square patch around each centre that the models "
                                 "see; time grows with its square "
                                 f"(paper: {PAPER_PATCH_SIZE})")
    samples_per_class: int = param(SAMPLES_PER_CLASS, key="SAMPLES_PER_CLASS",
                                   label="Samples per class", kind="int", minimum=1,
                                   maximum=10_000_000,
                                   help="Centres on landslide cells, and as many on other "
                                        "cells. With fewer landslide cells every one is used, "
                                        "then repeated evenly, at most "
                                        f"{MAX_OVERSAMPLING} times "
                                        f"(paper: {PAPER_SAMPLES_PER_CLASS:,})")
    split_method: str = param("spatial", key="SPLIT_METHOD", label="Split method",
                              kind="enum", choices=SPLIT_METHODS,
                              help="Spatial blocks: square blocks go whole to one split and "
                                   "no test patch overlaps a training patch, so test scores "
                                   "are honest. Random (the paper's): test patches overlap "
                                   "training patches and inflate test scores; the log reports "
                                   "the share (leakage)")
    block_size: float = param(BLOCK_SIZE, key="BLOCK_SIZE", label="Block size (spatial split)",
                              kind="distance", minimum=0.0, parent="STACK",
                              help="Side of the blocks of the spatial split, in the stack's "
                                   "map units; not used by the random split. Each split needs "
                                   "a few blocks with landslides")
    train_ratio: float = param(RATIOS[0], key="TRAIN_RATIO", label="Training ratio",
                               kind="float", minimum=0.0, advanced=True, decimals=2,
                               help="Share of the centres for training, relative to the other "
                                    "two ratios (6 : 2 : 2 = 60 %, 20 %, 20 %)")
    validation_ratio: float = param(RATIOS[1], key="VALIDATION_RATIO",
                                    label="Validation ratio", kind="float", minimum=0.0,
                                    advanced=True, decimals=2,
                                    help="Share for validation: picks the epoch whose model "
                                         "is kept")
    test_ratio: float = param(RATIOS[2], key="TEST_RATIO", label="Test ratio", kind="float",
                              minimum=0.0, advanced=True, decimals=2,
                              help="Share for the test metrics (0: no test split)")
    negative_buffer: float = param(0.0, key="NEGATIVE_BUFFER",
                                   label="Buffer around landslides", kind="distance",
                                   minimum=0.0, parent="STACK", advanced=True,
                                   help="Non-landslide centres keep at least this distance "
                                        "(map units) from every landslide cell; 0 = anywhere "
                                        "else")
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0,
                      advanced=True, help="Same seed, same samples")

    @property
    def ratios(self):
        return (self.train_ratio, self.validation_ratio, self.test_ratio)
