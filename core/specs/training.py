"""Specs and results of the model commands: train, compare, evaluate.

The training settings are one dataclass shared by ``train`` and ``compare``.
Their defaults finish in minutes on a laptop CPU (Adam, batch 16, 30 epochs with
early stopping after 10 without a better model, the epoch with the best validation
AUC kept; the networks pretrained on the stack, categorical factors one-hot,
continuous factors in bins, the centre cell to the classifier, the mean over the
eight flips and turns: the best network settings of the accuracy table,
README "Which model"); the paper's settings (Table 1:
SGD, lr 0.001, batch 16, 100 epochs, label smoothing 0.1, augmentation on) are
:data:`PAPER_SETTINGS`, one choice away in the dialogs.
"""

import os
from dataclasses import dataclass, field

from ..errors import InputError
from .cluster import scheduler_param
from .samples import SAMPLE_SPLITS
from .spec import Result, Spec, param

SELECTIONS = (("val_accuracy", "Best validation accuracy (paper)"),
              ("val_auc", "Best validation AUC"))
CATEGORICAL_ENCODINGS = (("codes", "Class codes, Z-scored (paper)"),
                         ("one_hot", "One-hot, one channel per class"))
CONTINUOUS_ENCODINGS = (("values", "Z-scored values (paper)"),
                        ("bins", "Piecewise-linear bins (quantiles)"),
                        ("values_bins", "Values and piecewise-linear bins"))
# The continuous encodings that put the factors in bins, and those that keep the values.
BINNED_ENCODINGS = ("bins", "values_bins")
# The bins per continuous factor of "Piecewise-linear bins" (models.layers.FactorBins).
FACTOR_BINS = 8
# Training precision (networks): float32, or the layers computing in bfloat16 with the
# weights kept in float32 (Keras's "mixed_bfloat16"); the model is written in float32
# either way. The codes are those of the map's precision (core/specs/maps.PRECISIONS).
TRAINING_PRECISIONS = (("float32", "float32 (exact)"),
                       ("bfloat16", "Mixed bfloat16 (CPUs with bfloat16 instructions, GPUs)"))
SCHEDULES = (("constant", "Constant (paper)"), ("cosine", "Cosine decay after a warm-up"))
# The momentum per step of "Average the weights" (engine/weight_average.py).
WEIGHT_AVERAGE_MOMENTUM = 0.99
OPTIMIZERS = (("sgd", "SGD, momentum 0.9 (paper)"), ("adam", "Adam"), ("adamw", "AdamW"))
EVALUATION_SPLITS = tuple(zip(SAMPLE_SPLITS[::-1] + ("all",),
                              ("Test", "Validation", "Training", "All samples"), strict=True))
# The default model (Train, and so the workflow): under repeated spatial 5-fold CV,
# within noise of the best on the real data (Ecuador) and never significantly worse
# than the best on either truth of the sample area, with Patch statistics on (README,
# "Which model"; bench/accuracy_results.json). The CNN with the product defaults is
# the best on Ecuador, but significantly worse on the context truth, at ~100x the
# training cost.
DEFAULT_MODEL = "random_forest"
# The network preselected where only a network fits (Pretrain network encoder): the
# best network of the same table, and the cheapest.
DEFAULT_NETWORK = "cnn"
# The paper's training settings (Table 1; no early stopping): the dialogs' "Training
# settings" choice puts them in place of the fields' values.
PAPER_SETTINGS = {"epochs": 100, "batch_size": 16, "optimizer": "sgd", "learning_rate": 0.001,
                  "label_smoothing": 0.1, "augment": True, "patience": 0,
                  "selection": "val_accuracy", "categorical_encoding": "codes",
                  "continuous_encoding": "values",
                  "pixel_skip": False, "schedule": "constant", "pretrain": False,
                  "weight_average": False, "mixup": 0.0, "average_views": False}
# How comparemodels validates: spatial k-fold by default, because on one split (and
# worse, a random one) the spread between seeds is larger than most differences
# between models (issue 17).
VALIDATION_METHODS = (("samples", "The samples' own split (as in the paper)"),
                      ("spatial_kfold", "Spatial k-fold (blocks; recommended)"),
                      ("repeated_spatial_kfold", "Repeated spatial k-fold"))
DEFAULT_VALIDATION = "spatial_kfold"
DEFAULT_FOLDS = 5
DEFAULT_REPEATS = 3
KERAS_FILTER = "Keras model (*.keras)"
SKOPS_FILTER = "Classical model (*.skops)"
# A trained model to write (networks: .keras, classical models: .skops) or to read.
MODEL_DEST_FILTER = f"{KERAS_FILTER};;{SKOPS_FILTER}"
MODEL_FILE_FILTER = "Trained model (*.keras *.skops)"
MODEL_FILE_LABEL = "Trained model (.keras or .skops)"
HTML_FILTER = "HTML files (*.html)"


def model_choices():
    """``(code, display name)`` of the registered models, in the paper's order."""
    from ...models import MODELS

    return tuple((name, entry[1]) for name, entry in MODELS.items())


def all_models():
    return [code for code, _ in model_choices()]


def model_extension(model):
    """The file extension of a trained ``model``: ``.skops`` for a classical model,
    ``.keras`` for a network."""
    from ...models import is_classical

    return ".skops" if is_classical(model) else ".keras"


@dataclass(kw_only=True)
class DataInputs(Spec):
    """The factor stack and the samples layer (or a ``.npz`` of its fields)."""

    stack: str = param(key="STACK", label="Factor stack", kind="raster",
                       help="The factor stack the samples were built on (from 'Align "
                            "factors')")
    samples: str = param(key="SAMPLES", label="Samples", kind="points",
                         help="The point layer from 'Build landslide samples' (fields label, "
                              "split, row, col); points moved on the map are used where they "
                              "are now")
    cache_dir: str | None = param(None, label="Patch cache folder", kind="string",
                                  optional=True)


@dataclass(kw_only=True)
class TrainingSettings(Spec):
    """How a model is trained: shared by ``train`` and ``compare``. The classical
    models use the seed and ``neighbourhood`` (their features), not the rest."""

    epochs: int = param(30, key="EPOCHS", label="Epochs", kind="int", minimum=1,
                        maximum=100000,
                        help="Passes over the training samples; the log gives the time "
                             "per epoch and the time left (paper: 100)")
    batch_size: int = param(16, key="BATCH_SIZE", label="Batch size", kind="int", minimum=1,
                            maximum=65536,
                            help="Patches per training step; larger is faster per epoch on "
                                 "a CPU. Clamped, with a warning, to the training set size "
                                 "(paper: 16)")
    learning_rate: float = param(0.001, key="LEARNING_RATE", label="Learning rate",
                                 kind="float", minimum=1e-8, maximum=10.0, advanced=True,
                                 help="Step size of the optimizer (paper: 0.001)")
    optimizer: str = param("adam", key="OPTIMIZER", label="Optimizer", kind="enum",
                           choices=OPTIMIZERS, advanced=True,
                           help="Adam learns in fewer epochs; the paper used SGD with "
                                "momentum 0.9")
    label_smoothing: float = param(0.1, key="LABEL_SMOOTHING", label="Label smoothing",
                                   kind="float", minimum=0.0, maximum=0.5, advanced=True,
                                   help="Softens the 0/1 targets of the cross-entropy loss "
                                        "(paper: 0.1)")
    augment: bool = param(True, key="AUGMENT", label="Augment training patches", kind="bool",
                          help="Random flips, 90° rotations and scaling of the training "
                               "patches at every epoch (the paper's sample diversity)")
    patience: int = param(10, key="EARLY_STOPPING_PATIENCE", label="Early stopping patience",
                          kind="int", minimum=0, maximum=100000, advanced=True,
                          help="Stop after this many epochs without a better model; 0 = "
                               "train every epoch (paper: 0)")
    selection: str = param("val_auc", key="KEEP_MODEL", label="Model kept",
                           kind="enum", choices=SELECTIONS, advanced=True,
                           help="The epoch whose model is saved: best validation AUC (the "
                                "default: the measure maps are rated by) or best validation "
                                "accuracy (the paper's rule)")
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0,
                      advanced=True,
                      help="Same seed, same samples and CPU: the same weights and metrics")
    neighbourhood: bool = param(True, key="NEIGHBOURHOOD_STATISTICS",
                                label="Patch statistics (classical models)", kind="bool",
                                advanced=True,
                                help="Classical models only: add the mean, standard "
                                     "deviation, minimum and maximum of every continuous "
                                     "factor over the patch to the cell's values, so the "
                                     "model sees the terrain around the cell (on by "
                                     "default: it never lost accuracy in the benchmarks and "
                                     "gained much where the context matters)")

    categorical_encoding: str = param("one_hot", key="CATEGORICAL_ENCODING",
                                      label="Categorical factors (networks)", kind="enum",
                                      choices=CATEGORICAL_ENCODINGS, advanced=True,
                                      help="How a network sees a categorical factor "
                                           "(lithology, land use, aspect classes): its class "
                                           "codes Z-scored like a continuous factor (the "
                                           "paper's way, as if class 5 were 'more' than 3), "
                                           "or one channel per class (1 where the cell has "
                                           "that class); the classes come from the stack")
    continuous_encoding: str = param("values_bins", key="CONTINUOUS_ENCODING",
                                     label="Continuous factors (networks)", kind="enum",
                                     choices=CONTINUOUS_ENCODINGS, advanced=True,
                                     help="How a network sees a continuous factor (slope, "
                                          "curvature, distance): its values Z-scored (the "
                                          "paper's way); in 8 bins between quantiles of "
                                          "the training patches, one channel per bin that "
                                          "rises from 0 to 1 across it, so that the first "
                                          "layer can learn any piecewise-linear response "
                                          "to the factor and a few extreme values no "
                                          "longer squeeze the rest; or both, the value "
                                          "and its bins (the default: it raised the "
                                          "spatial-CV AUC of the CNN and CTLGNet on real "
                                          "data by 0.04 and 0.06, above the random "
                                          "forest's)")
    pixel_skip: bool = param(True, key="PIXEL_SKIP",
                             label="Centre cell to the classifier (networks)",
                             kind="bool", advanced=True,
                             help="Networks: the factor values of the patch's centre cell go "
                                  "to the classifier beside the features learnt from the "
                                  "patch, so the network can use the cell itself as a "
                                  "logistic regression does and learn the context on top (on "
                                  "by default: it raised CNN and CTLGNet in the benchmarks)")
    pretrain: bool = param(True, key="PRETRAIN", label="Pretrain on the stack (networks)",
                           kind="bool", advanced=True,
                           help="Networks: before training, pretrain the network on "
                                "unlabelled patches of the whole stack (masked-patch "
                                "reconstruction, as 'Pretrain network encoder' with its "
                                "defaults, at most as many epochs as the training) and "
                                "fine-tune from there. No landslide label is used, so "
                                "cross-validation stays honest; the encoder is cached and "
                                "reused by later runs and folds. On by default: it raised "
                                "the CNN's spatial-CV AUC on real data by 0.04")
    schedule: str = param("constant", key="LEARNING_RATE_SCHEDULE",
                          label="Learning rate schedule", kind="enum", choices=SCHEDULES,
                          advanced=True,
                          help="Constant (the paper's), or a linear warm-up over the first "
                               "epoch followed by a cosine decay to zero at the last epoch")
    weight_average: bool = param(False, key="WEIGHT_AVERAGE",
                                 label="Average the weights (networks)", kind="bool",
                                 advanced=True,
                                 help="Networks: score, keep and write a moving average of "
                                      "the weights over the last ~100 training steps rather "
                                      "than the last step's weights, which are noisy on a "
                                      "small inventory (off by default: it did not raise the "
                                      "spatial-CV AUC on real data)")
    mixup: float = param(0.0, key="MIXUP", label="Mixup (networks)", kind="float",
                         minimum=0.0, maximum=10.0, advanced=True, decimals=2,
                         help="Networks: blend every training patch and its label with "
                              "another of the batch, by a weight drawn from Beta(a, a) with "
                              "this a (0: off, the default: 0.2 did not raise the "
                              "spatial-CV AUC on real data)")

    average_views: bool = param(True, key="AVERAGE_VIEWS",
                                label="Average over flips and turns (networks)",
                                kind="bool", advanced=True,
                                help="Networks: the model's probability is the mean over the "
                                     "patch's eight flips and quarter turns about its centre "
                                     "cell (test-time augmentation), in validation, "
                                     "evaluation and the map. On by default: it raised the "
                                     "CNN's spatial-CV AUC on real data by 0.02-0.03, "
                                     "FrIT's and ViT's by 0.01-0.03, and left CTLGNet's "
                                     "level. The map then takes eight dense "
                                     "passes (about a quarter of the CNN's speed without, an "
                                     "eighth of CTLGNet's); 'Flips and turns' of 'Predict "
                                     "landslide susceptibility' can map in one pass")

    precision: str = param("float32", key="TRAINING_PRECISION",
                           label="Training precision (networks)", kind="enum",
                           choices=TRAINING_PRECISIONS, advanced=True,
                           help="Networks: float32 (the default), or mixed bfloat16: the "
                                "layers compute in bfloat16 while the weights stay float32, "
                                "and the model is written in float32, so it maps as any "
                                "other. On a CPU with AVX512-BF16 a training step ran "
                                "1.05-1.4x as fast (ResNet-18 1.3-1.4x; FrIT not faster), "
                                "and the spatial-CV AUC on real data moved within noise "
                                "(the CNN 0.013 lower, CTLGNet 0.006 higher). Without bfloat16 "
                                "instructions (AVX512-BF16, AMX) or on a GPU older than "
                                "Ampere it is emulated and slower (a warning says so)")

    def settings(self):
        """The training settings alone, as a dict (for reports and cards)."""
        return {name: getattr(self, name) for name, _ in TrainingSettings.params()}


@dataclass(kw_only=True)
class TrainSpec(DataInputs, TrainingSettings):
    COMMAND = "train"

    model: str = param(DEFAULT_MODEL, key="MODEL", label="Model", kind="enum",
                       choices=model_choices,
                       help="The model to train. The random forest (the default) was the "
                            "most accurate on real data under spatial cross-validation and "
                            "trains in seconds; CTLGNet is the paper's network; the CNN trains "
                            "a few times and maps about a hundred times faster than CTLGNet "
                            "on a CPU")
    output_model: str = param(key="OUTPUT_MODEL", label="Trained model", kind="file_dest",
                              file_filter=MODEL_DEST_FILTER,
                              help="The model file (.keras; .skops for a classical model). "
                                   "By default beside the samples, named after the model; "
                                   "an existing file is kept (_2, _3 ... is added). A "
                                   "temporary file is deleted when QGIS closes")
    output_report: str = param("", key="OUTPUT_REPORT", label="Training report",
                               kind="file_dest", file_filter=HTML_FILTER,
                               help="HTML report: training curves, test metrics, ROC curve, "
                                    "confusion matrix, model card and leakage")
    patch_size: int = param(0, label="Patch size (0 = the samples' patch size)", kind="int",
                            minimum=0)
    pretrained_encoder: str = param("", key="PRETRAINED_ENCODER",
                                    label="Pretrained encoder (networks)", kind="file",
                                    file_filter="Pretrained encoder (*.keras)", optional=True,
                                    advanced=True,
                                    help="An encoder from 'Pretrain network encoder' on this "
                                         "stack, for the same model and patch size: the "
                                         "network starts from its weights (fine-tuning) "
                                         "instead of random ones")
    hparams: dict = param({}, label="Model hyper-parameters", kind="data")

    def check(self):
        extension = model_extension(self.model)
        if not str(self.output_model).lower().endswith(extension):
            kind = "a classical model" if extension == ".skops" else "a network"
            stem = os.path.splitext(str(self.output_model))[0] or "model"
            raise InputError(f"{self.label_of('output_model')} must be a {extension} file for "
                             f"{dict(model_choices()).get(self.model, self.model)} ({kind}), "
                             f"not '{self.output_model}'; use '{stem}{extension}'.")


@dataclass(kw_only=True)
class CompareSpec(DataInputs, TrainingSettings):
    COMMAND = "compare"

    models: list = param(all_models, key="MODELS", label="Models", kind="enum_multi",
                         choices=model_choices,
                         help="The models to compare, all trained with the same settings")
    validation: str = param(DEFAULT_VALIDATION, key="VALIDATION", label="Validation method",
                            kind="enum", choices=VALIDATION_METHODS,
                            help="Spatial k-fold (the default): blocks of the map dealt to k "
                                 "folds, each the test set once, no test patch overlapping a "
                                 "training patch; mean ± sd per model and paired tests tell "
                                 "whether a difference is real. One split (the samples' own, "
                                 "the paper's) varies between seeds more than most models "
                                 "differ")
    folds: int = param(DEFAULT_FOLDS, key="FOLDS", label="Folds (k)", kind="int", minimum=2,
                       maximum=100,
                       help="Spatial k-fold: how many folds; at most the number of blocks "
                            "that hold landslides")
    repeats: int = param(DEFAULT_REPEATS, key="REPEATS",
                         label="Repeats (repeated spatial k-fold)", kind="int", minimum=1,
                         maximum=100, advanced=True,
                         help="Repeated spatial k-fold: how many times, each with the block "
                              "grid shifted")
    block_size: float = param(0.0, key="BLOCK_SIZE", label="Block size of the folds",
                              kind="distance", minimum=0.0, parent="STACK",
                              help="Side of the square blocks dealt to the folds, in map "
                                   "units; 0 = the block size the samples were built with, "
                                   "else 1000 map units. Blocks much larger than a patch "
                                   "keep most training samples clear of the buffer")
    refit: bool = param(True, key="REFIT", label="Refit on all samples and save",
                        kind="bool",
                        help="After the folds, train every model once more on all samples "
                             "(a quarter of the blocks kept for validation: the networks' "
                             "model selection) and save it in the output folder, so the "
                             "best can be mapped")
    ensemble_seeds: int = param(1, key="ENSEMBLE_SEEDS",
                                label="Seeds per network (deep ensemble)", kind="int",
                                minimum=1, maximum=20, advanced=True,
                                help="Networks: train every fold (and the refit) this many "
                                     "times, with the random seed and the next ones, and "
                                     "score the mean of their probabilities: a deep ensemble, "
                                     "as 'Predict landslide susceptibility' averages several "
                                     "models. Each seed costs one more training; the refit's "
                                     "models are saved side by side (NAME.keras, "
                                     "NAME_seed1.keras, ...). Three seeds raised the CNN's "
                                     "spatial-CV AUC on real data on every fold. Classical "
                                     "models are trained once")
    blend: bool = param(True, key="BLEND",
                        label="Score a blend (network + classical)",
                        kind="bool", advanced=True,
                        help="When networks and classical models are compared: also score "
                             "the mean of the best network's and the best classical model's "
                             "probabilities on every fold (no extra training), one more row "
                             "of the table, with its test against the best model. The two "
                             "err differently, so the blend often ranks better than either: "
                             "on real data the CNN (averaged over flips and turns) with the "
                             "random forest scored 0.848 against the forest's 0.838. Predict "
                             "maps it from the two files")
    output_folder: str = param(key="OUTPUT_FOLDER", label="Folder for the trained models",
                               kind="folder_dest",
                               help="One model file and one report per model (NAME.keras, "
                                    "NAME.html). By default a new folder 'models' beside the "
                                    "samples; a temporary folder is deleted when QGIS closes")
    output_report: str = param("", key="OUTPUT_REPORT", label="Comparison report",
                               kind="file_dest", file_filter=HTML_FILTER,
                               help="HTML report of the comparison: the verdict, the table "
                                    "and the charts")
    hparams: dict = param({}, label="Hyper-parameters per model", kind="data")
    scheduler: str = scheduler_param()  # Dask: the trainings on a cluster (engine only)

    def train_spec(self, model):
        """The spec that trains ``model`` of this comparison (``NAME.keras``, or
        ``NAME.skops`` for a classical model, and ``NAME.html`` in the output folder)."""
        return TrainSpec(**self.settings(), stack=self.stack, samples=self.samples,
                         cache_dir=self.cache_dir, model=model,
                         output_model=os.path.join(self.output_folder,
                                                   f"{model}{model_extension(model)}"),
                         output_report=os.path.join(self.output_folder, f"{model}.html"),
                         hparams=dict(self.hparams.get(model) or {}))


@dataclass(kw_only=True)
class EvaluateSpec(DataInputs):
    COMMAND = "evaluate"

    model: str = param(key="MODEL", label=MODEL_FILE_LABEL, kind="file",
                       file_filter=MODEL_FILE_FILTER,
                       help="A model from 'Train landslide model'; the stack must have its "
                            "factors, in the same order")
    split: str = param("test", key="SPLIT", label="Split", kind="enum",
                       choices=EVALUATION_SPLITS,
                       help="The samples scored: the test split, validation, training or all")
    output_report: str = param("", key="OUTPUT_REPORT", label="Evaluation report",
                               kind="file_dest", file_filter=HTML_FILTER,
                               help="HTML report: metrics, ROC curve, confusion matrix and "
                                    "model card")


@dataclass(kw_only=True)
class TrainOutcome(Result):
    """What ``train`` returns, the same shape whether it finished or was cancelled.

    ``model`` is None when cancelled before the first epoch finished.
    """

    cancelled: bool = False
    model: str | None = None
    metrics: dict | None = None
    roc: list | None = None
    confusion: list | None = None
    history: dict | None = None
    best_epoch: int = 0
    epochs_run: int = 0
    card: dict | None = None
    report: str | None = None
    training_seconds: float = 0.0

    @property
    def written(self):
        """Whether a model was written (not when cancelled before the first epoch)."""
        return self.model is not None


@dataclass(kw_only=True)
class ComparisonRow(Result):
    """One model of a comparison. ``metrics``: the mean over the folds (the test
    split's values with the samples' own split), ``metrics_sd``: their standard
    deviation (None with one fold); ``folds``: how many folds the statistics hold;
    ``auc_difference``: the best model's mean AUC minus this one's, ``p_ttest`` and
    ``p_wilcoxon`` the p-values of that difference (corrected resampled t-test,
    Wilcoxon signed-rank; None for the best model and with one fold);
    ``seconds``: mean training time per fold; ``model_path``: the model saved
    (the refit on all samples, or the model of the samples' own split)."""

    model: str
    metrics: dict
    metrics_sd: dict | None = None
    folds: int = 1
    auc_difference: float | None = None
    p_ttest: float | None = None
    p_wilcoxon: float | None = None
    parameters: int | None = None
    flops: int | None = None
    seconds: float | None = None
    model_path: str | None = None
    cancelled: bool = False


@dataclass(kw_only=True)
class CompareOutcome(Result):
    """``rows``: one :class:`ComparisonRow` per model; ``fold_rows``: one dict per
    model and fold (model, repeat, fold, train, validation, test, seconds, metrics);
    ``validation``: the method used; ``best_model`` (by mean AUC) and ``verdict``
    (the comparison in plain words)."""

    rows: list
    fold_rows: list = field(default_factory=list)
    validation: str = "samples"
    best_model: str | None = None
    verdict: str = ""
    report: str | None = None
    cancelled: bool = False

    def __post_init__(self):
        self.rows = [row if isinstance(row, ComparisonRow) else ComparisonRow.from_json(row)
                     for row in self.rows]

    @property
    def written(self):
        """Whether any model finished (and was written)."""
        return bool(self.rows)

    def best(self, metric="auc"):
        """The row with the highest ``metric`` (None when there is no row)."""
        return max(self.rows, key=lambda row: row.metrics.get(metric) or 0, default=None)


@dataclass(kw_only=True)
class EvaluateOutcome(Result):
    metrics: dict
    split: str = "test"
    count: int = 0
    model: str = ""
    roc: list | None = None
    confusion: list | None = None
    report: str | None = None


TrainSpec.RESULT = TrainOutcome
CompareSpec.RESULT = CompareOutcome
EvaluateSpec.RESULT = EvaluateOutcome
