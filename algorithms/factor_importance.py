"""landslide:factorimportance: random-forest importance of the stack's factors.

Sampling runs here (core/importance.py, numpy + GDAL); the forest runs in the
engine (engine/commands/importance.py) from a temporary .npz of the samples.
"""

import os
import tempfile

from qgis.core import (
    QgsProcessing,
    QgsProcessingMultiStepFeedback,
)

from ..core.importance import prepare_samples, ranked_rows, write_report
from ..core.specs import ImportanceSpec, default_of
from ..core.specs.factors import ImportanceSamplingSpec
from .base import LandslideAlgorithm, run_core
from .engine_runner import run_engine
from .help_text import set_help
from .inputs import add_inventory, inventory_source, stack_source
from .outputs import add_outputs, push_warnings, write_table
from .spec_parameters import add_spec_parameters, read_spec


class FactorImportance(LandslideAlgorithm):
    NAME = "factorimportance"
    DISPLAY_NAME = "Factor importance (random forest)"
    GROUP = "data"
    ICON = "importance"
    HELP = (
        "Rates how much each factor tells landslide from non-landslide pixels, the second "
        "half of the paper's 'LCFs selection': random-forest Gini importance (mean decrease "
        "in impurity; the importances sum to 1), and beside it permutation importance, "
        "which is less biased towards factors with many distinct values.")
    NOTES = (
        "A quarter of the samples is held out: the forest (scikit-learn, in the engine "
        "process) is fitted on the rest with out-of-bag scoring; permutation importance is "
        "the drop of the held-out ROC AUC when a factor is shuffled "
        f"({default_of(ImportanceSpec, 'repeats')} repeats). A cell is a landslide when "
        "its centre is in a polygon or a point falls in it.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, ImportanceSamplingSpec, ["STACK"])
        add_inventory(self, extra_types=[QgsProcessing.TypeVectorLine])
        add_spec_parameters(self, ImportanceSamplingSpec, ["SAMPLE_SIZE"])
        add_spec_parameters(self, ImportanceSpec, ["SEED", "TREES"])
        add_outputs(self, table=("OUTPUT_TABLE", "Importance table"), report="Importance report",
            values=[("OOB_SCORE", float, "Out-of-bag accuracy"),
            ("TEST_AUC", float, "Held-out AUC")])
        set_help(self, {
            "OUTPUT_TABLE": "One row per factor: factor, gini, permutation, permutation_std",
            "OUTPUT_REPORT": "HTML report: sorted bar charts, the out-of-bag score, the "
                             "inputs and settings"})

    def process(self, parameters, context, feedback):
        stack = stack_source(self, parameters, context)
        inventory, layer_name, kind = inventory_source(self, parameters, "INVENTORY",
                                                       context, feedback)
        size = read_spec(self, ImportanceSamplingSpec, parameters, context,
                         stack=stack).sample_size
        report_path = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context)
        steps = QgsProcessingMultiStepFeedback(2, feedback)
        with tempfile.TemporaryDirectory(prefix="landslide_importance_") as tmp:
            spec = read_spec(self, ImportanceSpec, parameters, context,
                             samples=os.path.join(tmp, "samples.npz"))
            samples = run_core(prepare_samples, steps, stack, inventory, spec.samples,
                               sample_size=size, seed=spec.seed, layer_name=layer_name,
                               kind=kind)
            push_warnings(feedback, samples["warnings"])
            feedback.pushInfo(
                f"{samples['landslide_pixels']} landslide pixels (of "
                f"{samples['landslide_pixels_available']}) and "
                f"{samples['non_landslide_pixels']} non-landslide pixels sampled")
            steps.setCurrentStep(1)
            result = run_engine(spec, steps)
        rows = ranked_rows(result.to_json())
        for name, gini, permutation, spread in rows:
            feedback.pushInfo(f"  {name:24s} Gini {gini:.4f}  permutation {permutation:+.4f} "
                              f"± {spread:.4f}")
        table = write_table(self, parameters, "OUTPUT_TABLE", context,
                            [("factor", str), ("gini", float), ("permutation", float),
                             ("permutation_std", float)], rows)
        write_report(result.to_json(), samples, report_path, stack=stack, inventory=inventory)
        feedback.pushInfo(f"Report: {report_path}")
        return {"OUTPUT_TABLE": table, "OUTPUT_REPORT": report_path,
                "OOB_SCORE": result.oob_score, "TEST_AUC": result.test_auc}
