"""Specs of the map-level comparison (comparemaps, QGIS side) and of the model
explanation (the engine command ``explain``)."""

from dataclasses import dataclass

from ..errors import InputError
from .maps import CLASS_METHODS
from .samples import INVENTORY_LABEL
from .spec import Result, Spec, param
from .training import EVALUATION_SPLITS, HTML_FILTER, DataInputs, EvaluateSpec

SPEARMAN_SAMPLE = 20_000  # cells drawn at random for the Spearman correlation between maps
SPEARMAN_SEED = 0
MAPS_LABEL = "Susceptibility maps"
_MODEL = EvaluateSpec.param_for_key("MODEL")[1]  # one definition of the model input


@dataclass(kw_only=True)
class CompareMapsSpec(Spec):
    """comparemaps: several susceptibility rasters rated against one inventory
    (runs in the QGIS process; the automatic class breaks come from the engine's
    ``classify``). ``maps``/``names`` are read from the MAPS layers by the algorithm."""

    COMMAND = "comparemaps"

    maps: list = param([], label=MAPS_LABEL, kind="data")
    names: list = param([], label="Map names", kind="data")
    inventory: str = param(key="INVENTORY", label=INVENTORY_LABEL, kind="inventory",
                           help="Landslides as polygons, points or a raster mask. One "
                                "landslide is a polygon, or a connected group of landslide "
                                "cells for points and masks")
    validation: str = param("", key="VALIDATION_INVENTORY", label="Validation inventory",
                            kind="inventory", optional=True,
                            help="Independent landslides, not used to train the models: "
                                 "their prediction-rate curve and AUC")
    method: str = param("natural_breaks", key="METHOD", label="Classification method",
                        kind="enum", choices=CLASS_METHODS,
                        help="One class method for every map, as in 'Classify "
                             "susceptibility'; each map gets its own breaks by it")
    breaks: str = param("", key="BREAKS", label="Manual breaks", kind="string", optional=True,
                        help="For Manual breaks: four increasing values, e.g. "
                             "0.2,0.4,0.6,0.8")
    sample_size: int = param(SPEARMAN_SAMPLE, key="SPEARMAN_SAMPLE",
                             label="Cells for the correlation", kind="int",
                             minimum=100, maximum=10_000_000, advanced=True,
                             help="Cells drawn at random for the Spearman correlation "
                                  "between the maps")
    seed: int = param(SPEARMAN_SEED, key="SEED", label="Random seed", kind="int", minimum=0,
                      advanced=True, help="Seed of the cells drawn for the correlation")

    def check(self):
        if len(self.maps) < 1:
            raise InputError(f"{self.label_of('maps')}: choose at least one raster (two or "
                             "more to compare them).")
        if len(self.names) != len(self.maps):
            raise InputError("Give one name per susceptibility map.")


@dataclass(kw_only=True)
class ExplainSpec(DataInputs):
    """explain: permutation importance of the factors of a trained model on one
    split (AUC drop), and for networks an occlusion map of the patch."""

    COMMAND = "explain"

    model: str = param(key="MODEL", label=_MODEL.label, kind="file",
                       file_filter=_MODEL.file_filter,
                       help="A trained model; the stack must have its factors, in the same "
                            "order")
    split: str = param("test", key="SPLIT", label="Split", kind="enum",
                       choices=EVALUATION_SPLITS,
                       help="The samples the importance is measured on")
    repeats: int = param(5, key="REPEATS", label="Permutation repeats", kind="int",
                         minimum=1, maximum=1000,
                         help="Times each factor is shuffled: the mean and SD of the AUC drop")
    max_samples: int = param(2000, key="MAX_SAMPLES", label="Samples used at most",
                             kind="int", minimum=20, maximum=1_000_000, advanced=True,
                             help="A stratified random subset of the split when it has more")
    occlusion: bool = param(True, key="OCCLUSION", label="Occlusion map", kind="bool",
                            help="Networks: which parts of the patch the network needs (a "
                                 "square set to the training mean, moved over the patch)")
    occlusion_patches: int = param(100, key="OCCLUSION_PATCHES",
                                   label="Patches for the occlusion map", kind="int",
                                   minimum=1, maximum=100_000, advanced=True,
                                   help="Landslide patches the probability drop is averaged "
                                        "over")
    window: int = param(0, key="OCCLUSION_WINDOW", label="Occlusion square (pixels)",
                        kind="int", minimum=0, maximum=1024, advanced=True,
                        help="Side of the square; 0 = a sixth of the patch")
    batch_size: int = param(256, label="Batch size (patches per model call)", kind="int",
                            minimum=1, maximum=65536)
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0,
                      advanced=True, help="Seed of the subset and of the shuffles")
    output_report: str = param("", key="OUTPUT_REPORT", label="Explanation report",
                               kind="file_dest", file_filter=HTML_FILTER,
                               help="HTML report: the table, the bars and the occlusion map")


@dataclass(kw_only=True)
class ExplainOutcome(Result):
    names: list
    importance: list  # mean AUC drop per factor, in the stack's order
    importance_std: list
    baseline_auc: float
    split: str = "test"
    count: int = 0
    repeats: int = 0
    model: str = ""
    occlusion: list | None = None  # (P, P) mean drop of the landslide probability
    occlusion_window: int = 0
    occlusion_stride: int = 0
    occlusion_patches: int = 0
    report: str | None = None


ExplainSpec.RESULT = ExplainOutcome
