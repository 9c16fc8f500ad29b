"""landslide:explainmodel: which factors a trained model relies on (engine command
``explain``)."""

from ..core.explain import importance_rows
from ..core.specs import ExplainSpec
from .base import LandslideAlgorithm
from .model_check import check_model_against_stack
from .outputs import add_outputs, write_table
from .spec_parameters import add_spec_parameters
from .training_parameters import run_on_samples


class ExplainModel(LandslideAlgorithm):
    NAME = "explainmodel"
    DISPLAY_NAME = "Explain landslide model"
    GROUP = "models"
    ICON = "importance"
    HELP = (
        "Why a trained model decides as it does, for any model (networks and classical "
        "ones): how much the AUC drops when each factor is shuffled between the samples "
        "(permutation importance; a sample gets the factor's whole patch of another "
        "sample), and for networks which parts of the patch they need (occlusion map). "
        "The model is not retrained.")
    NOTES = (
        "An AUC drop about 0 means the model does not use the factor, or a correlated "
        "factor carries the same information. The occlusion map sets a square of the patch "
        "to the training mean of every factor, moves it over the patch and averages the "
        "drop of the landslide probability over the split's landslide patches.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, ExplainSpec, [
            "MODEL", "STACK", "SAMPLES", "SPLIT", "REPEATS", "OCCLUSION", "MAX_SAMPLES",
            "OCCLUSION_PATCHES", "OCCLUSION_WINDOW", "SEED"])
        add_outputs(self, table=("OUTPUT_TABLE", "Factor importance"),
                    values=[("BASELINE_AUC", float, "AUC on the samples used"),
                            ("TOP_FACTOR", str, "Most important factor")])
        self.parameterDefinition("OUTPUT_TABLE").setHelp(
            "One row per factor, largest first: factor, auc_drop, auc_drop_sd")
        add_spec_parameters(self, ExplainSpec, ["OUTPUT_REPORT"])

    def process(self, parameters, context, feedback):
        spec, result = run_on_samples(
            self, ExplainSpec, parameters, context, feedback,
            check=lambda spec: check_model_against_stack(spec.model, spec.stack))
        rows = importance_rows(result.names, result.importance, result.importance_std)
        table = write_table(self, parameters, "OUTPUT_TABLE", context,
                            [("factor", str), ("auc_drop", float), ("auc_drop_sd", float)],
                            rows)
        return {"OUTPUT_TABLE": table, "OUTPUT_REPORT": spec.output_report,
                "BASELINE_AUC": result.baseline_auc, "TOP_FACTOR": rows[0][0] if rows else None}
