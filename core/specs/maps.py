"""Specs and results of the map commands (predict, class breaks) and of factor
importance."""

from dataclasses import dataclass

from ..errors import InputError
from .samples import INVENTORY_LABEL
from .spec import Result, Spec, param

PREDICT_METHODS = (("auto", "Dense where the model allows it"),
                   ("patch", "Every patch on its own"),
                   ("dense", "Dense (fail when the model does not allow it)"))
CLASS_METHODS = (("natural_breaks", "Natural breaks (Fisher-Jenks, mapclassify)"),
                 ("quantile", "Quantile (equal number of cells per class)"),
                 ("equal_interval", "Equal interval"), ("manual", "Manual breaks"))
BREAK_METHODS = CLASS_METHODS[:3]  # the breaks come from mapclassify, in the engine
CLASS_COUNT = 5
CLASS_SAMPLE_SIZE = 100_000  # valid values sampled for the automatic breaks
CLASS_SAMPLE_SEED = 0  # seed of that sample and of the sampled Fisher-Jenks draw
JENKS_SAMPLE = 2000  # values Fisher-Jenks classifies at most (else FisherJenksSampled)


@dataclass(kw_only=True)
class PredictSpec(Spec):
    COMMAND = "predict"

    model: str = param(key="MODEL", label="Trained model (.keras)", kind="file",
                       file_filter="keras")
    stack: str = param(key="STACK", label="Factor stack", kind="raster")
    output: str = param(key="OUTPUT", label="Landslide susceptibility (probability)",
                        kind="raster_dest")
    batch_size: int = param(256, key="BATCH_SIZE", label="Batch size (patches per model call)",
                            kind="int", minimum=1, maximum=65536, advanced=True)
    stride: int = param(1, key="STRIDE", label="Stride (1 = every pixel; s > 1 interpolates "
                        "between every s-th pixel)", kind="int", minimum=1, maximum=64)
    tile_size: int = param(0, label="Tile size (0 = automatic)", kind="int", minimum=0)
    method: str = param("auto", label="Evaluation", kind="enum", choices=PREDICT_METHODS)


@dataclass(kw_only=True)
class PredictOutcome(Result):
    output: str | None = None
    model: str = ""
    patch_size: int = 0
    stride: int = 1
    tile_size: int = 0
    batch_size: int = 0
    evaluation: str = ""
    dense_mode: str | None = None
    evaluation_note: str = ""
    dense_check_max_difference: float | None = None
    valid_pixels: int = 0
    evaluated_pixels: int = 0
    seconds: float = 0.0
    model_seconds: float = 0.0
    tiles_seconds: float = 0.0
    pixels_per_s: float = 0.0
    statistics: dict | None = None
    nodata: float | None = None
    cancelled: bool = False


@dataclass(kw_only=True)
class ClassBreaksSpec(Spec):
    """The engine's part of classification: mapclassify's breaks of a value sample."""

    COMMAND = "classify"

    sample: str = param(label="Value sample (.npz)", kind="file")
    method: str = param("natural_breaks", label="Classification method", kind="enum",
                        choices=BREAK_METHODS)
    k: int = param(CLASS_COUNT, label="Classes", kind="int", minimum=2, maximum=20)
    seed: int = param(CLASS_SAMPLE_SEED, label="Random seed", kind="int", minimum=0)
    jenks_sample: int = param(JENKS_SAMPLE, label="Values for natural breaks", kind="int",
                              minimum=10)


@dataclass(kw_only=True)
class ClassifySpec(Spec):
    """classifysusceptibility: five classes of a susceptibility raster (the raster is
    classified on the QGIS side; automatic breaks come from :class:`ClassBreaksSpec`)."""

    COMMAND = "classifysusceptibility"

    susceptibility: str = param(key="SUSCEPTIBILITY",
                                label="Susceptibility (probability) raster", kind="raster")
    inventory: str = param("", key="INVENTORY", label=INVENTORY_LABEL, kind="inventory",
                           optional=True)
    method: str = param("natural_breaks", key="METHOD", label="Classification method",
                        kind="enum", choices=CLASS_METHODS)
    breaks: str = param("", key="BREAKS", label="Manual breaks: four increasing values, "
                        "e.g. 0.2,0.4,0.6,0.8", kind="string", optional=True)
    output: str = param(key="OUTPUT", label="Susceptibility classes", kind="raster_dest")

    def check(self):
        if not self.output.lower().endswith((".tif", ".tiff")):
            raise InputError(f"Susceptibility classes '{self.output}' must be a GeoTIFF "
                             "(.tif).")


@dataclass(kw_only=True)
class BreaksOutcome(Result):
    breaks: list
    bins: list | None = None
    counts: list | None = None
    classifier: str = ""
    values: int = 0
    method: str = ""


@dataclass(kw_only=True)
class ImportanceSpec(Spec):
    """Random-forest importance of factor values sampled at landslide and
    non-landslide pixels (``.npz`` with values, labels, names)."""

    COMMAND = "importance"

    samples: str = param(label="Factor values (.npz)", kind="file")
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0)
    trees: int = param(300, key="TREES", label="Trees in the random forest", kind="int",
                       minimum=10, maximum=5000, advanced=True)
    test_fraction: float = param(0.25, label="Held-out fraction", kind="float", minimum=0.05,
                                 maximum=0.9)
    repeats: int = param(10, label="Permutation repeats", kind="int", minimum=1, maximum=1000)
    n_jobs: int = param(1, label="Parallel jobs", kind="int", minimum=-1, maximum=256)

    def check(self):
        if self.n_jobs == 0:
            raise InputError("Parallel jobs must be -1 (all cores) or at least 1, not 0.")


@dataclass(kw_only=True)
class ImportanceOutcome(Result):
    names: list
    gini: list
    permutation: list
    permutation_std: list
    oob_score: float
    oob_auc: float
    test_auc: float
    test_fraction: float
    n_train: int
    n_test: int
    trees: int
    repeats: int
    seed: int


PredictSpec.RESULT = PredictOutcome
ClassBreaksSpec.RESULT = BreaksOutcome
ImportanceSpec.RESULT = ImportanceOutcome
