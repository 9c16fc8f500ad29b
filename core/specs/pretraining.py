"""Spec and result of ``pretrain``: self-supervised pretraining of a network's encoder.

Masked-patch reconstruction on unlabelled patches of the factor stack: patches
centred on random valid cells, part of each hidden in square blocks (set to 0, the
band mean after the Z-score), and the network learns to fill them in. The encoder
written (the whole network, its classifier untrained) is the starting point of
'Train landslide model' with *Pretrained encoder (networks)* (``PRETRAINED_ENCODER``).
The network options that change the graph (categorical encoding, centre cell to
the classifier) are the training settings' own fields, so both sides read one
definition.
"""

import dataclasses
import os
from dataclasses import dataclass

from ..errors import InputError
from .samples import DEFAULT_PATCH_SIZE, MIN_PATCH_SIZE
from .spec import Result, Spec, param
from .training import DEFAULT_NETWORK, KERAS_FILTER, TrainingSettings, TrainSpec, model_choices

DEFAULT_PATCHES = 4000
DEFAULT_MASK_RATIO = 0.5
DEFAULT_EPOCHS = 20
# The file filter of a pretrained encoder: the one of TrainSpec's PRETRAINED_ENCODER input.
ENCODER_FILTER = TrainSpec.param_for_key("PRETRAINED_ENCODER")[1].file_filter or KERAS_FILTER


def network_choices():
    """``(code, display name)`` of the networks (no classical model has an encoder)."""
    from ...models import available_models

    networks = set(available_models("network"))
    return tuple((code, name) for code, name in model_choices() if code in networks)


def training_setting(name):
    """A field defined as the training setting ``name`` (:class:`.training.TrainingSettings`):
    the same key, label, default, choices and help."""
    found = {f.name: f for f in dataclasses.fields(TrainingSettings)}[name]
    return dataclasses.field(default=found.default, metadata=found.metadata)


@dataclass(kw_only=True)
class PretrainSpec(Spec):
    COMMAND = "pretrain"

    stack: str = param(key="STACK", label="Factor stack", kind="raster",
                       help="The factor stack (from 'Align factors') the model will be "
                            "trained on: no samples are needed")
    model: str = param(DEFAULT_NETWORK, key="MODEL", label="Model", kind="enum",
                       choices=network_choices,
                       help="The network whose encoder is pretrained; train the same model "
                            "with the encoder")
    patch_size: int = param(DEFAULT_PATCH_SIZE, key="PATCH_SIZE", label="Patch size (pixels)",
                            kind="int", minimum=MIN_PATCH_SIZE,
                            help="The patch size of the samples the model will be trained "
                                 "on: the encoder fits that size only")
    patches: int = param(DEFAULT_PATCHES, key="PATCHES", label="Unlabelled patches",
                         kind="int", minimum=1, maximum=10_000_000,
                         help="Patches centred on cells drawn at random over the stack's "
                              "valid cells (the same for a seed); each epoch sees them all")
    mask_ratio: float = param(DEFAULT_MASK_RATIO, key="MASK_RATIO", label="Masked share",
                              kind="float", minimum=0.05, maximum=0.95, decimals=2,
                              help="Share of each patch's area hidden in random square blocks "
                                   "(the hidden cells are set to the band mean); the network "
                                   "learns to reconstruct them from the rest")
    epochs: int = param(DEFAULT_EPOCHS, key="EPOCHS", label="Epochs", kind="int", minimum=1,
                        maximum=100000,
                        help="Passes over the unlabelled patches; the log gives the "
                             "reconstruction loss and the time per epoch")
    batch_size: int = param(32, key="BATCH_SIZE", label="Batch size", kind="int", minimum=1,
                            maximum=65536,
                            help="Patches per step; clamped to the number of patches")
    learning_rate: float = training_setting("learning_rate")
    seed: int = training_setting("seed")
    categorical_encoding: str = training_setting("categorical_encoding")
    continuous_encoding: str = training_setting("continuous_encoding")
    pixel_skip: bool = training_setting("pixel_skip")
    precision: str = training_setting("precision")
    output_encoder: str = param(key="OUTPUT_ENCODER", label="Pretrained encoder",
                                kind="file_dest", file_filter=ENCODER_FILTER,
                                help="The pretrained network (.keras) with its card: give it "
                                     "to 'Train landslide model' as Pretrained encoder "
                                     "(networks), with the same model, patch size, stack and "
                                     "network options")
    hparams: dict = param({}, label="Model hyper-parameters", kind="data")
    cache_dir: str | None = param(None, label="Patch cache folder", kind="string",
                                  optional=True)

    def check(self):
        if not str(self.output_encoder).lower().endswith(".keras"):
            stem = os.path.splitext(str(self.output_encoder))[0] or "encoder"
            raise InputError(f"{self.label_of('output_encoder')} must be a .keras file, not "
                             f"'{self.output_encoder}'; use '{stem}.keras'.")


@dataclass(kw_only=True)
class PretrainOutcome(Result):
    """What ``pretrain`` returns, the same shape whether it finished or was cancelled.

    ``encoder`` is None when cancelled before the first epoch finished; ``losses``
    the masked reconstruction loss of every epoch run, ``final_loss`` the last."""

    encoder: str | None = None
    final_loss: float | None = None
    losses: list | None = None
    epochs_run: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    card: dict | None = None

    @property
    def written(self):
        """Whether an encoder was written (not when cancelled before the first epoch)."""
        return self.encoder is not None


PretrainSpec.RESULT = PretrainOutcome
