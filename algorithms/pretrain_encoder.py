"""landslide:pretrainencoder: self-supervised pretraining of a network's encoder."""


from ..core.specs.pretraining import PretrainSpec
from .base import LandslideAlgorithm
from .engine_runner import run_engine
from .inputs import stack_source
from .outputs import add_outputs
from .spec_parameters import add_spec_parameters, read_spec

KEYS = ["STACK", "MODEL", "PATCH_SIZE", "PATCHES", "MASK_RATIO", "EPOCHS", "BATCH_SIZE",
        "LEARNING_RATE", "SEED", "CATEGORICAL_ENCODING", "CONTINUOUS_ENCODING", "PIXEL_SKIP",
        "TRAINING_PRECISION", "OUTPUT_ENCODER"]


class PretrainEncoder(LandslideAlgorithm):
    NAME = "pretrainencoder"
    DISPLAY_NAME = "Pretrain network encoder"
    GROUP = "models"
    ICON = "train"
    HELP = (
        "Self-supervised pretraining of a network on the factor stack alone, without "
        "samples: patches centred on random valid cells, part of each hidden in square "
        "blocks, and the network learns to fill them in (masked-patch reconstruction). "
        "Give the file to 'Train landslide model' as <i>Pretrained encoder (networks)</i>: "
        "the network then starts from these weights (fine-tuning) instead of random ones, "
        "which helps most when there are few landslides.")
    NOTES = (
        "Train with the same model, patch size, stack (same factors in the same order), "
        "hyper-parameters and network options (categorical factors, continuous factors, centre "
        "cell to the classifier): training refuses an encoder that does not match and says what "
        "differs. The classifier (the final layer) is not pretrained. The normalisation of "
        "the training is the training split's, as without an encoder.<br>"
        "<i>Cancel</i> stops within seconds and writes the encoder as it is after at least "
        "one epoch (the result <i>Stopped early by cancel</i> is true).")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, PretrainSpec, KEYS)
        add_outputs(self, values=[("FINAL_LOSS", float, "Final reconstruction loss"),
                                  ("CANCELLED", bool, "Stopped early by cancel")])

    def process(self, parameters, context, feedback):
        stack = stack_source(self, parameters, context)
        spec = read_spec(self, PretrainSpec, parameters, context, stack=stack)
        result = run_engine(spec, feedback)
        if not result.written:  # the engine said so ("Cancelled before the first epoch")
            return {"CANCELLED": True}
        return {"OUTPUT_ENCODER": result.encoder, "FINAL_LOSS": result.final_loss,
                "CANCELLED": result.cancelled}
