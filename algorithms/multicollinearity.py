"""landslide:multicollinearity: VIF and tolerance of the stack's factors
(core/collinearity.py)."""

import numpy as np

from ..core.collinearity import multicollinearity, write_report
from ..core.specs.factors import CollinearitySpec
from .base import LandslideAlgorithm, run_core
from .help_text import set_help
from .inputs import stack_source
from .outputs import add_outputs, push_warnings, write_table
from .spec_parameters import add_spec_parameters, read_spec


class Multicollinearity(LandslideAlgorithm):
    NAME = "multicollinearity"
    DISPLAY_NAME = "Multicollinearity (VIF, TOL)"
    GROUP = "data"
    ICON = "collinearity"
    HELP = (
        "Checks the factors for multicollinearity, the first half of the paper's 'LCFs "
        "selection': the variance inflation factor VIF = 1 / (1 − R²) of each factor "
        "regressed on all the others (least squares with an intercept), and the tolerance "
        "TOL = 1 / VIF. VIF ≥ 10 (TOL ≤ 0.1) flags strong multicollinearity: drop one "
        "factor of each correlated group.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, CollinearitySpec)
        add_outputs(self, table=("OUTPUT_TABLE", "VIF table"), report="Multicollinearity report",
            values=[("MAX_VIF", float, "Largest VIF")])
        set_help(self, {
            "OUTPUT_TABLE": "One row per factor: factor, vif, tol, flag (ok, high or "
                            "constant)",
            "OUTPUT_REPORT": "HTML report: VIF and TOL bar charts with the thresholds, the "
                             "correlation matrix as a heat map, the inputs and settings"})

    def process(self, parameters, context, feedback):
        stack = stack_source(self, parameters, context)
        spec = read_spec(self, CollinearitySpec, parameters, context, stack=stack)
        report_path = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context)
        result = run_core(multicollinearity, feedback, stack, sample_size=spec.sample_size,
                          seed=spec.seed)
        push_warnings(feedback, result["warnings"])
        feedback.pushInfo(f"{result['sample_size']} of {result['valid_pixels']} valid pixels "
                          f"sampled")
        rows = []
        for name, vif, tol, flag in zip(result["factors"], result["vif"], result["tol"],
                                        result["flags"], strict=True):
            feedback.pushInfo(f"  {name:24s} VIF {vif:10.4f}  TOL {tol:8.4f}  {flag}")
            rows.append([name, vif, tol, flag])
        table = write_table(self, parameters, "OUTPUT_TABLE", context,
                            [("factor", str), ("vif", float), ("tol", float), ("flag", str)],
                            rows)
        write_report(result, report_path)
        feedback.pushInfo(f"Report: {report_path}")
        finite = result["vif"][np.isfinite(result["vif"])]
        return {"OUTPUT_TABLE": table, "OUTPUT_REPORT": report_path,
                "MAX_VIF": float(finite.max()) if finite.size else float("nan")}
