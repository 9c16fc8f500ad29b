"""landslide:factorimportance: random-forest importance of the stack's factors.

Sampling runs here (core/importance.py, numpy + GDAL); the forest runs in the
engine (engine/commands/importance.py) from a temporary .npz of the samples.
"""

import os
import tempfile

from qgis.core import (
    QgsProcessing,
    QgsProcessingMultiStepFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from ..core.importance import prepare_samples, ranked_rows, write_report
from .base import LandslideAlgorithm, run_core
from .engine_runner import run_engine
from .inputs import inventory_source
from .outputs import push_warnings, raster_source, write_table


class FactorImportance(LandslideAlgorithm):
    NAME = "factorimportance"
    DISPLAY_NAME = "Factor importance (random forest)"
    GROUP = "data"
    ICON = "importance"
    HELP = (
        "Rates how much each factor tells landslide from non-landslide pixels, the second "
        "half of the paper's 'LCFs selection': random-forest Gini importance (mean "
        "decrease in impurity; the importances sum to 1), and beside it permutation "
        "importance, which is less biased towards factors with many distinct values.<br>"
        "<b>STACK</b>: the factor stack from 'Align factors'.<br>"
        "<b>INVENTORY</b>: landslides as polygons, points or a raster mask (non-zero cells); "
        "reprojected to the stack when needed. A cell is a landslide when its centre is in "
        "a polygon or a point falls in it.<br>"
        "<b>SAMPLE_SIZE</b>: at most this many landslide pixels (default 10000; all when "
        "fewer), and as many random valid non-landslide pixels.<br>"
        "<b>SEED</b>: random seed of the draw, the split and the forest.<br>"
        "<b>TREES</b> (advanced): trees in the forest (default 300).<br>"
        "A quarter of the samples is held out: the forest (scikit-learn, run in the engine "
        "process) is fitted on the rest with out-of-bag scoring; permutation importance is "
        "the drop in held-out ROC AUC when a factor is shuffled (10 repeats).<br>"
        "<b>OUTPUT_TABLE</b>: fields factor, gini, permutation, permutation_std.<br>"
        "<b>OUTPUT_REPORT</b>: HTML report with sorted bar charts, the out-of-bag score and "
        "the inputs and settings.")

    STACK = "STACK"
    INVENTORY = "INVENTORY"
    SAMPLE_SIZE = "SAMPLE_SIZE"
    SEED = "SEED"
    TREES = "TREES"
    OUTPUT_TABLE = "OUTPUT_TABLE"
    OUTPUT_REPORT = "OUTPUT_REPORT"
    OOB_SCORE = "OOB_SCORE"
    TEST_AUC = "TEST_AUC"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.STACK, "Factor stack"))
        self.addParameter(QgsProcessingParameterMapLayer(
            self.INVENTORY, "Landslide inventory (polygons, points or raster mask)",
            types=[QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint,
                   QgsProcessing.TypeVectorLine, QgsProcessing.TypeRaster]))
        self.addParameter(QgsProcessingParameterNumber(
            self.SAMPLE_SIZE, "Landslide pixels sampled (at most)",
            QgsProcessingParameterNumber.Integer, 10000, minValue=10))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, "Random seed", QgsProcessingParameterNumber.Integer, 0, minValue=0))
        trees = QgsProcessingParameterNumber(
            self.TREES, "Trees in the random forest", QgsProcessingParameterNumber.Integer,
            300, minValue=10, maxValue=5000)
        trees.setFlags(trees.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(trees)
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT_TABLE, "Importance table", QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_REPORT, "Importance report", "HTML files (*.html)"))
        self.addOutput(QgsProcessingOutputNumber(self.OOB_SCORE, "Out-of-bag accuracy"))
        self.addOutput(QgsProcessingOutputNumber(self.TEST_AUC, "Held-out AUC"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        stack = raster_source(self.parameterAsRasterLayer(parameters, self.STACK, context),
                              "factor stack")
        inventory, layer_name, kind = inventory_source(self, parameters, self.INVENTORY,
                                                       context, feedback)
        size = self.parameterAsInt(parameters, self.SAMPLE_SIZE, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)
        trees = self.parameterAsInt(parameters, self.TREES, context)
        report_path = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)

        steps = QgsProcessingMultiStepFeedback(2, feedback)
        with tempfile.TemporaryDirectory(prefix="landslide_importance_") as tmp:
            samples_path = os.path.join(tmp, "samples.npz")
            samples = run_core(prepare_samples, steps, stack, inventory, samples_path,
                               sample_size=size, seed=seed, layer_name=layer_name, kind=kind)
            if samples is None:
                return {}
            push_warnings(feedback, samples["warnings"])
            feedback.pushInfo(
                f"{samples['landslide_pixels']} landslide pixels (of "
                f"{samples['landslide_pixels_available']}) and "
                f"{samples['non_landslide_pixels']} non-landslide pixels sampled")
            steps.setCurrentStep(1)
            result = run_engine("importance", {"samples": samples_path, "seed": seed,
                                               "trees": trees}, steps)
        if result.get("cancelled"):
            feedback.pushInfo("Cancelled: no output was written.")
            return {}
        rows = ranked_rows(result)
        for name, gini, permutation, spread in rows:
            feedback.pushInfo(f"  {name:24s} Gini {gini:.4f}  permutation {permutation:+.4f} "
                              f"± {spread:.4f}")
        table = write_table(self, parameters, self.OUTPUT_TABLE, context,
                            [("factor", str), ("gini", float), ("permutation", float),
                             ("permutation_std", float)], rows)
        write_report(result, samples, report_path, stack=stack, inventory=inventory)
        feedback.pushInfo(f"Report: {report_path}")
        return {self.OUTPUT_TABLE: table, self.OUTPUT_REPORT: report_path,
                self.OOB_SCORE: result["oob_score"], self.TEST_AUC: result["test_auc"]}
