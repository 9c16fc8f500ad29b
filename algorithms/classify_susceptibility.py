"""landslide:classifysusceptibility: five susceptibility classes and their statistics.

The raster is read and classified here (core/classification.py, numpy + GDAL,
block by block); the breaks of the automatic methods come from mapclassify in
the engine process (engine/commands/classify.py) from a sample of the values.
"""

import os
import tempfile

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingMultiStepFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..core.classification import (
    METHOD_LABELS,
    METHODS,
    SAMPLE_SIZE,
    TABLE_COLUMNS,
    breaks_warnings,
    check_breaks,
    class_statistics,
    classify_raster,
    landslide_mask,
    parse_breaks,
    summarize_raster,
    table_rows,
    write_report,
    write_sample,
)
from ..core.errors import InputError
from .base import LandslideAlgorithm, run_core
from .engine_runner import run_engine
from .inputs import INVENTORY_TYPES, inventory_source
from .outputs import push_warnings, raster_source, write_table
from .styling import style_output_on_load, write_style_sidecar


class ClassifySusceptibility(LandslideAlgorithm):
    NAME = "classifysusceptibility"
    DISPLAY_NAME = "Classify susceptibility"
    GROUP = "maps"
    ICON = "classify"
    HELP = (
        "Cuts a susceptibility (probability) raster into five classes, Very low … Very "
        "high, and rates them against the landslide inventory.<br>"
        "<b>SUSCEPTIBILITY</b>: the probability raster (band 1; other value ranges are "
        "classified as they are).<br>"
        "<b>INVENTORY</b> (optional): landslides as polygons, points or a raster mask "
        "(non-zero cells), put on the raster's grid (a cell is a landslide when its centre "
        "is in a polygon or a point falls in it).<br>"
        "<b>METHOD</b>: 0 natural breaks (Fisher-Jenks, on a random sample of 2000 values "
        "for large rasters), 1 quantile (equal number of cells), 2 equal interval, 3 manual "
        "(BREAKS). The automatic breaks come from mapclassify, run in the engine process on "
        "a random sample of at most 100 000 valid cells (seed 0) that always holds the "
        "smallest and largest value.<br>"
        "<b>BREAKS</b>: for manual, the four inner breaks, increasing, e.g. "
        "'0.2,0.4,0.6,0.8'. A class holds the values above the break below it up to and "
        "including the break above it.<br>"
        "<b>OUTPUT</b>: GeoTIFF, Byte, classes 1..5, 0 = nodata, with a colour table and "
        "class names (and a .qml style beside it).<br>"
        "<b>OUTPUT_TABLE</b>: per class: class, name, cells, area_km2, area_share, "
        "landslide_cells, landslide_share, ld (landslide density: landslide area / class "
        "area), fr (frequency ratio: landslide share / area share), scai (seed cell area "
        "index: area share / landslide share). Ratios dividing by 0 are NULL.<br>"
        "<b>OUTPUT_REPORT</b>: HTML with the table, LD per class, the success-rate curve and "
        "its AUC, the value histogram with the breaks and a picture of the map.<br>"
        "Outputs HIGH_LANDSLIDE_SHARE (share of landslide cells in High + Very high), "
        "SUCCESS_AUC and BREAKS_USED.")

    SUSCEPTIBILITY = "SUSCEPTIBILITY"
    INVENTORY = "INVENTORY"
    METHOD = "METHOD"
    BREAKS = "BREAKS"
    OUTPUT = "OUTPUT"
    OUTPUT_TABLE = "OUTPUT_TABLE"
    OUTPUT_REPORT = "OUTPUT_REPORT"
    HIGH_LANDSLIDE_SHARE = "HIGH_LANDSLIDE_SHARE"
    SUCCESS_AUC = "SUCCESS_AUC"
    BREAKS_USED = "BREAKS_USED"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.SUSCEPTIBILITY, "Susceptibility (probability) raster"))
        self.addParameter(QgsProcessingParameterMapLayer(
            self.INVENTORY, "Landslide inventory (polygons, points or raster mask)",
            types=INVENTORY_TYPES, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, "Classification method",
            options=[METHOD_LABELS[m] for m in METHODS], defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.BREAKS, "Manual breaks: four increasing values, e.g. 0.2,0.4,0.6,0.8",
            optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT, "Susceptibility classes"))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT_TABLE, "Class statistics", QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_REPORT, "Classification report", "HTML files (*.html)"))
        self.addOutput(QgsProcessingOutputNumber(
            self.HIGH_LANDSLIDE_SHARE, "Share of landslides in High + Very high"))
        self.addOutput(QgsProcessingOutputNumber(self.SUCCESS_AUC, "Success-rate AUC"))
        self.addOutput(QgsProcessingOutputString(self.BREAKS_USED, "Class breaks"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        layer = self.parameterAsRasterLayer(parameters, self.SUSCEPTIBILITY, context)
        path = raster_source(layer, "susceptibility raster")
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        text = self.parameterAsString(parameters, self.BREAKS, context).strip()
        manual = None
        try:
            if method == "manual":
                manual = parse_breaks(text)
            elif text:
                feedback.pushWarning(f"BREAKS '{text}' is ignored: METHOD is "
                                     f"'{METHOD_LABELS[method]}', not manual.")
        except InputError as exc:
            raise QgsProcessingException(str(exc)) from exc
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        if not output.lower().endswith((".tif", ".tiff")):
            raise QgsProcessingException(f"OUTPUT '{output}' must be a GeoTIFF (.tif).")
        report_path = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)
        has_inventory = parameters.get(self.INVENTORY) not in (None, "")

        steps = QgsProcessingMultiStepFeedback(4, feedback)
        summary = run_core(summarize_raster, steps, path, sample_size=SAMPLE_SIZE, seed=0)
        if summary is None:
            return {}
        warnings = list(summary.warnings)
        feedback.pushInfo(f"{summary.valid} valid cells, values {summary.minimum:.6g} … "
                          f"{summary.maximum:.6g}")
        steps.setCurrentStep(1)
        landslides = None
        inventory_text = "none"
        if has_inventory:
            inventory, layer_name, kind = inventory_source(self, parameters, self.INVENTORY,
                                                           context, feedback)
            found = run_core(landslide_mask, steps, inventory, summary,
                             layer_name=layer_name, kind=kind)
            if found is None:
                return {}
            warnings += found.warnings
            landslides = found.mask
            inventory_layer = self.parameterAsLayer(parameters, self.INVENTORY, context)
            inventory_text = f"{inventory_layer.source()} ({found.pixels} landslide cells)"
            feedback.pushInfo(f"Inventory: {found.pixels} landslide cells on the grid")

        steps.setCurrentStep(2)
        if manual is not None:
            breaks, classifier = manual, "manual"
        else:
            breaks, classifier = self._engine_breaks(summary, method, steps)
            if breaks is None:
                return {}
        warnings += breaks_warnings(breaks, summary)
        breaks_text = ",".join(f"{b:.10g}" for b in breaks)
        feedback.pushInfo(f"Breaks ({classifier}): {breaks_text}")

        steps.setCurrentStep(3)
        counts = run_core(classify_raster, steps, path, breaks, output, summary=summary,
                          landslides=landslides, method=method)
        if counts is None:
            return {}
        warnings += counts.warnings
        rows, stats = class_statistics(counts)
        push_warnings(feedback, warnings)
        for row in rows:
            feedback.pushInfo(
                f"  {row['class']} {row['name']:9s} {row['cells']:10d} cells "
                f"({row['area_share']:.1%})" + (
                    f", {row['landslide_cells']} landslide cells, LD {row['ld']:.4f}, "
                    f"FR {row['fr']:.3f}" if has_inventory else ""))
        if has_inventory:
            feedback.pushInfo(f"Landslides in High + Very high: "
                              f"{stats['high_landslide_share']:.1%}; success-rate AUC "
                              f"{stats['auc']:.4f}")
        for note in stats["notes"]:
            feedback.pushInfo(note)

        table = write_table(self, parameters, self.OUTPUT_TABLE, context, TABLE_COLUMNS,
                            table_rows(rows))
        settings = {"Susceptibility raster": path, "Landslide inventory": inventory_text,
                    "Method": METHOD_LABELS[method], "Breaks from": classifier,
                    "Values sampled for the breaks":
                        "—" if manual is not None else
                        f"{summary.sample.size} of {summary.valid} (seed 0)"}
        try:
            write_report(report_path, rows, stats, counts, summary, breaks, settings,
                         warnings)
        except InputError as exc:
            raise QgsProcessingException(str(exc)) from exc
        feedback.pushInfo(f"Report: {report_path}")

        if write_style_sidecar(output, "classes") is None:
            feedback.pushDebugInfo("Could not write the .qml style beside the classes.")
        style_output_on_load(context, output, "classes")
        return {self.OUTPUT: output, self.OUTPUT_TABLE: table,
                self.OUTPUT_REPORT: report_path,
                self.HIGH_LANDSLIDE_SHARE: _number(stats["high_landslide_share"]),
                self.SUCCESS_AUC: _number(stats["auc"]), self.BREAKS_USED: breaks_text}

    @staticmethod
    def _engine_breaks(summary, method, feedback):
        """``(breaks, classifier description)`` from mapclassify in the engine."""
        with tempfile.TemporaryDirectory(prefix="landslide_classify_") as tmp:
            sample = write_sample(summary, os.path.join(tmp, "sample.npz"))
            result = run_engine("classify", {"sample": sample, "method": method, "seed": 0},
                                feedback)
        if result.get("cancelled"):
            feedback.pushInfo("Cancelled: no output was written.")
            return None, None
        try:
            breaks = check_breaks(result["breaks"], "The engine's class breaks")
        except (KeyError, InputError) as exc:
            raise QgsProcessingException(f"The engine returned no usable breaks: {exc}") \
                from exc
        return breaks, f"mapclassify {result.get('classifier', method)}"


def _number(value):
    """None for NaN (no inventory), else the float."""
    return None if value is None or value != value else float(value)
