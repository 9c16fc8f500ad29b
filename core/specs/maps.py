"""Specs and results of the map commands (predict, class breaks) and of factor
importance."""

from dataclasses import dataclass

from ..ensemble import MEMBERS_LABEL, UNCERTAINTY_LABEL, check_ensemble_paths
from ..errors import InputError
from .cluster import normalise_address, scheduler_param
from .samples import AREA_HELP, AREA_LABEL, INVENTORY_LABEL
from .spec import Result, Spec, param
from .training import MODEL_FILE_FILTER, MODEL_FILE_LABEL

PREDICT_METHODS = (("auto", "Dense where the model allows it"),
                   ("patch", "Every patch on its own"),
                   ("dense", "Dense (fail when the model does not allow it)"))
VIEW_CHOICES = (("model", "As the model was trained"),
                ("off", "Off: one pass (up to 8 times faster)"),
                ("on", "On: the mean over 8 flips and turns"))
PRECISIONS = (("float32", "float32 (exact)"), ("bfloat16", "bfloat16 (experimental)"))
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

    model: str = param(key="MODEL", label=MODEL_FILE_LABEL, kind="file",
                       file_filter=MODEL_FILE_FILTER,
                       help="A model from 'Train landslide model'; its model card names the "
                            "factors, their order and the patch size")
    stack: str = param(key="STACK", label="Factor stack", kind="raster",
                       help="A stack with the model's factors, with the same names, order and "
                            "categorical flags (usually the one it was trained on)")
    output: str = param(key="OUTPUT", label="Landslide susceptibility (probability)",
                        kind="raster_dest",
                        help="Float32 GeoTIFF on the stack's grid: the landslide probability "
                             "(0 to 1) of every pixel valid in all factors, -9999 elsewhere")
    batch_size: int = param(256, key="BATCH_SIZE", label="Batch size", kind="int", minimum=1,
                            maximum=65536, advanced=True,
                            help="Patches per model call; lower it if memory is short. It "
                                 "does not change the result")
    stride: int = param(1, key="STRIDE", label="Stride", kind="int", minimum=1, maximum=64,
                        help="1 = the model runs on every pixel. s > 1: only on every s-th "
                             "row and column, the pixels between interpolated: about s² times "
                             "faster for models evaluated patch by patch, less detail")
    tile_size: int = param(0, label="Tile size (0 = automatic)", kind="int", minimum=0)
    method: str = param("auto", label="Evaluation", kind="enum", choices=PREDICT_METHODS)
    scheduler: str = scheduler_param("DASK_SCHEDULER")
    precision: str = param("float32", key="PRECISION", label="Precision", kind="enum",
                           choices=PRECISIONS, advanced=True,
                           help="bfloat16: the networks' per-patch part in bfloat16, "
                                "probabilities within about 0.05 (checked before use). It "
                                "was slower than float32 on the CPUs measured, also on one "
                                "with AVX512-BF16 instructions; it may pay on CPUs with AMX "
                                "or on a GPU, which were not measured")
    views: str = param("model", key="VIEWS", label="Flips and turns (networks)", kind="enum",
                       choices=VIEW_CHOICES, advanced=True,
                       help="Networks: the probability of a pixel is the mean over its "
                            "patch's eight flips and quarter turns when the model was "
                            "trained with 'Average over flips and turns' (As the model was "
                            "trained), or always (On), or never (Off). The eight passes cost "
                            "up to eight times the map's time; Off maps such a model in one "
                            "pass, a little less accurately")
    models: list = param([], key="MODELS", label=MEMBERS_LABEL, kind="files",
                         optional=True, file_filter=MODEL_FILE_FILTER,
                         help="More models of the same factors and patch size (other seeds, "
                              "or the folds of a cross-validation): the map is then the mean "
                              "of all the models' probabilities, a deep ensemble")
    uncertainty: str = param("", key="UNCERTAINTY", label=UNCERTAINTY_LABEL,
                             kind="raster_dest", optional=True,
                             help="Float32 GeoTIFF: the standard deviation of the models' "
                                  "probabilities at every pixel, high where they disagree "
                                  "(needs additional models)")

    def check(self):
        self.scheduler = normalise_address(self.scheduler)
        check_ensemble_paths(self.model, self.models, self.output, self.uncertainty)


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
    uncertainty: str | None = None
    members: list | None = None


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
                                label="Susceptibility (probability) raster", kind="raster",
                                help="The map from 'Predict landslide susceptibility' (any "
                                     "single-band raster of scores)")
    inventory: str = param("", key="INVENTORY", label=INVENTORY_LABEL, kind="inventory",
                           optional=True,
                           help="Landslides to rate the classes with (landslide density, "
                                "frequency ratio, success rate); polygons, points or a raster "
                                "mask")
    mapped_area: str = param("", key="MAPPED_AREA", label=AREA_LABEL, kind="area",
                             optional=True,
                             help=AREA_HELP + ". The class areas, landslide densities, "
                                  "success-rate curve and AUC are then computed inside it "
                                  "only; the whole raster is still classified")
    method: str = param("natural_breaks", key="METHOD", label="Classification method",
                        kind="enum", choices=CLASS_METHODS,
                        help="How the four breaks between the five classes are chosen: "
                             "natural breaks (the paper's), quantiles, equal intervals, or "
                             "the manual breaks below")
    breaks: str = param("", key="BREAKS", label="Manual breaks", kind="string", optional=True,
                        help="For Manual breaks: four increasing values, e.g. "
                             "0.2,0.4,0.6,0.8")
    output: str = param(key="OUTPUT", label="Susceptibility classes", kind="raster_dest",
                        help="Byte GeoTIFF of the classes 1 (very low) to 5 (very high), with "
                             "a colour table and a .qml style")

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
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0, advanced=True,
                      help="Seed of the pixel draw, the held-out split and the forest")
    trees: int = param(300, key="TREES", label="Trees in the random forest", kind="int",
                       minimum=10, maximum=5000, advanced=True,
                       help="More trees: steadier importances, longer run")
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
