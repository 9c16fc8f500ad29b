"""Specs and results of the model commands: train, compare, evaluate.

The training settings are one dataclass shared by ``train`` and ``compare``;
their defaults are the paper's (SGD, lr 0.001, batch 16, 100 epochs, label
smoothing 0.1, augmentation on).
"""

import os
from dataclasses import dataclass

from ..errors import InputError
from .samples import SAMPLE_SPLITS
from .spec import Result, Spec, param

SELECTIONS = (("val_accuracy", "Best validation accuracy (paper)"),
              ("val_auc", "Best validation AUC"))
OPTIMIZERS = (("sgd", "SGD, momentum 0.9 (paper)"), ("adam", "Adam"), ("adamw", "AdamW"))
EVALUATION_SPLITS = tuple(zip(SAMPLE_SPLITS[::-1] + ("all",),
                              ("Test", "Validation", "Training", "All samples"), strict=True))
DEFAULT_MODEL = "ctlgnet"
KERAS_FILTER = "Keras model (*.keras)"
HTML_FILTER = "HTML files (*.html)"


def model_choices():
    """``(code, display name)`` of the registered models, in the paper's order."""
    from ...models import MODELS

    return tuple((name, entry[1]) for name, entry in MODELS.items())


def all_models():
    return [code for code, _ in model_choices()]


@dataclass(kw_only=True)
class DataInputs(Spec):
    """The factor stack and the samples layer (or a ``.npz`` of its fields)."""

    stack: str = param(key="STACK", label="Factor stack", kind="raster")
    samples: str = param(key="SAMPLES", label="Samples (from Build landslide samples)",
                         kind="points")
    cache_dir: str | None = param(None, label="Patch cache folder", kind="string",
                                  optional=True)


@dataclass(kw_only=True)
class TrainingSettings(Spec):
    """How a network is trained: shared by ``train`` and ``compare``."""

    epochs: int = param(100, key="EPOCHS", label="Epochs", kind="int", minimum=1,
                        maximum=100000)
    batch_size: int = param(16, key="BATCH_SIZE", label="Batch size", kind="int", minimum=1,
                            maximum=65536)
    learning_rate: float = param(0.001, key="LEARNING_RATE", label="Learning rate",
                                 kind="float", minimum=1e-8, maximum=10.0)
    optimizer: str = param("sgd", key="OPTIMIZER", label="Optimizer", kind="enum",
                           choices=OPTIMIZERS)
    label_smoothing: float = param(0.1, key="LABEL_SMOOTHING", label="Label smoothing",
                                   kind="float", minimum=0.0, maximum=0.5)
    augment: bool = param(True, key="AUGMENT",
                          label="Augment the training set (flip, rotate, scale)", kind="bool")
    patience: int = param(0, key="EARLY_STOPPING_PATIENCE",
                          label="Early stopping patience (epochs, 0 = off)", kind="int",
                          minimum=0, maximum=100000)
    selection: str = param("val_accuracy", key="KEEP_MODEL", label="Model kept",
                           kind="enum", choices=SELECTIONS, advanced=True)
    seed: int = param(0, key="SEED", label="Random seed", kind="int", minimum=0)

    def settings(self):
        """The training settings alone, as a dict (for reports and cards)."""
        return {name: getattr(self, name) for name, _ in TrainingSettings.params()}


@dataclass(kw_only=True)
class TrainSpec(DataInputs, TrainingSettings):
    COMMAND = "train"

    model: str = param(DEFAULT_MODEL, key="MODEL", label="Model", kind="enum",
                       choices=model_choices)
    output_model: str = param(key="OUTPUT_MODEL", label="Trained model", kind="file_dest",
                              file_filter=KERAS_FILTER)
    output_report: str = param("", key="OUTPUT_REPORT", label="Training report",
                               kind="file_dest", file_filter=HTML_FILTER)
    patch_size: int = param(0, label="Patch size (0 = the samples' patch size)", kind="int",
                            minimum=0)
    hparams: dict = param({}, label="Model hyper-parameters", kind="data")

    def check(self):
        if not str(self.output_model).lower().endswith(".keras"):
            raise InputError(f"Trained model must be a .keras file, not '{self.output_model}'.")


@dataclass(kw_only=True)
class CompareSpec(DataInputs, TrainingSettings):
    COMMAND = "compare"

    models: list = param(all_models, key="MODELS", label="Models", kind="enum_multi",
                         choices=model_choices)
    output_folder: str = param(key="OUTPUT_FOLDER", label="Folder for the trained models",
                               kind="folder_dest")
    output_report: str = param("", key="OUTPUT_REPORT", label="Comparison report",
                               kind="file_dest", file_filter=HTML_FILTER)
    hparams: dict = param({}, label="Hyper-parameters per model", kind="data")

    def train_spec(self, model):
        """The spec that trains ``model`` of this comparison (``NAME.keras`` and
        ``NAME.html`` in the output folder)."""
        return TrainSpec(**self.settings(), stack=self.stack, samples=self.samples,
                         cache_dir=self.cache_dir, model=model,
                         output_model=os.path.join(self.output_folder, f"{model}.keras"),
                         output_report=os.path.join(self.output_folder, f"{model}.html"),
                         hparams=dict(self.hparams.get(model) or {}))


@dataclass(kw_only=True)
class EvaluateSpec(DataInputs):
    COMMAND = "evaluate"

    model: str = param(key="MODEL", label="Trained model (.keras)", kind="file",
                       file_filter="keras")
    split: str = param("test", key="SPLIT", label="Split", kind="enum",
                       choices=EVALUATION_SPLITS)
    output_report: str = param("", key="OUTPUT_REPORT", label="Evaluation report",
                               kind="file_dest", file_filter=HTML_FILTER)


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
    model: str
    metrics: dict
    parameters: int | None = None
    flops: int | None = None
    seconds: float | None = None
    model_path: str | None = None
    cancelled: bool = False


@dataclass(kw_only=True)
class CompareOutcome(Result):
    rows: list
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
