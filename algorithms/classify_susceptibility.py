"""landslide:classifysusceptibility: five susceptibility classes and their statistics.

The raster is read and classified here (core/class_*.py, numpy + GDAL,
block by block); the breaks of the automatic methods come from mapclassify in
the engine process (engine/commands/classify.py) from a sample of the values.
"""

import os
import tempfile
from dataclasses import dataclass

from qgis.core import QgsProcessingException, QgsProcessingMultiStepFeedback

from ..core.class_raster import classify_raster, landslide_mask, summarize_raster, write_sample
from ..core.class_report import write_report
from ..core.class_statistics import (
    METHOD_LABELS,
    TABLE_COLUMNS,
    breaks_warnings,
    check_breaks,
    check_breaks_range,
    class_statistics,
    parse_breaks,
    table_rows,
)
from ..core.errors import InputError
from ..core.map_comparison import raster_in_landslide_statistics
from ..core.mapped_area import area_text, read_mapped_area
from ..core.specs import ClassBreaksSpec, ClassifySpec
from ..core.specs.maps import CLASS_SAMPLE_SEED as SAMPLE_SEED
from ..core.specs.maps import CLASS_SAMPLE_SIZE as SAMPLE_SIZE
from ..core.specs.maps import JENKS_SAMPLE
from .base import LandslideAlgorithm, run_core
from .engine_runner import run_engine
from .inputs import area_source, inventory_source
from .outputs import add_outputs, push_warnings, raster_source, write_table
from .spec_parameters import add_spec_parameters, read_spec
from .styling import style_output_on_load, write_style_sidecar

_SAMPLE_SIZE_TEXT = f"{SAMPLE_SIZE:,}".replace(",", " ")  # "100 000"


class ClassifySusceptibility(LandslideAlgorithm):
    NAME = "classifysusceptibility"
    DISPLAY_NAME = "Classify susceptibility"
    GROUP = "maps"
    ICON = "classify"
    HELP = (
        "Cuts a susceptibility (probability) raster into five classes, Very low to Very "
        "high, and rates them against the landslide inventory: landslide density, frequency "
        "ratio, the share of landslides in the High and Very high classes, and the "
        "success-rate curve.")
    NOTES = (
        "The automatic breaks come from mapclassify, run in the engine on a random sample "
        f"of at most {_SAMPLE_SIZE_TEXT} valid cells (seed {SAMPLE_SEED}) that always holds "
        f"the smallest and largest value; natural breaks use {JENKS_SAMPLE} of them for "
        "large rasters. A class holds the values above the break below it up to and "
        "including the break above it. A cell is a landslide when its centre is in a "
        "polygon or a point falls in it. With a <i>Mapped area</i> the whole raster is "
        "classified, but the statistics are computed inside it only.<br>"
        "<b>Class statistics</b> per class: cells, area (km²) and its share, landslide "
        "cells and their share, landslide density LD (landslide area / class area), "
        "frequency ratio FR (landslide share / area share) and SCAI (area share / landslide "
        "share); ratios dividing by 0 are empty. The results also give the share of "
        "landslide cells in High + Very high, the success-rate AUC and the breaks used.")

    def initAlgorithm(self, config=None):
        add_spec_parameters(self, ClassifySpec)
        add_outputs(self, table=("OUTPUT_TABLE", "Class statistics"),
            report="Classification report", values=[
            ("HIGH_LANDSLIDE_SHARE", float, "Share of landslides in High + Very high"),
            ("SUCCESS_AUC", float, "Success-rate AUC"), ("BREAKS_USED", str, "Class breaks")])
        self.parameterDefinition("OUTPUT_TABLE").setHelp(
            "One row per class: cells, area, landslides, LD, FR, SCAI")
        self.parameterDefinition("OUTPUT_REPORT").setHelp(
            "HTML report: the table, LD per class, the success-rate curve, the value "
            "histogram with the breaks and a picture of the map")

    def process(self, parameters, context, feedback):
        inputs = self._read_inputs(parameters, context, feedback)
        steps = QgsProcessingMultiStepFeedback(4, feedback)
        summary = run_core(summarize_raster, steps, inputs.path, sample_size=SAMPLE_SIZE,
                           seed=SAMPLE_SEED)
        feedback.pushInfo(f"{summary.valid} valid cells, values {summary.minimum:.6g} … "
                          f"{summary.maximum:.6g}")
        steps.setCurrentStep(1)
        landslides, inventory_text, warnings = self._inventory_mask(
            parameters, context, feedback, steps, summary)
        area = self._mapped_area(parameters, context, feedback, steps, summary, landslides)
        warnings = summary.warnings + warnings + (area.warnings if area else [])
        steps.setCurrentStep(2)
        if inputs.manual is not None:
            breaks = check_breaks_range(inputs.manual, summary, "BREAKS")
            classifier = "manual"
        else:
            breaks, classifier = engine_breaks(summary, inputs.method, steps)
        warnings += breaks_warnings(breaks, summary)
        breaks_text = ",".join(f"{b:.10g}" for b in breaks)
        feedback.pushInfo(f"Breaks ({classifier}): {breaks_text}")
        steps.setCurrentStep(3)
        counts = run_core(classify_raster, steps, inputs.path, breaks, inputs.output,
                          summary=summary, landslides=landslides, method=inputs.method,
                          area=area.mask if area else None)
        warnings += counts.warnings
        inside = None if landslides is None else run_core(
            raster_in_landslide_statistics, steps, inputs.path,
            landslides if area is None else landslides & area.mask)
        rows, stats = class_statistics(counts)
        push_warnings(feedback, warnings)
        area_row = _area_row(area, counts, summary)
        if area_row:
            feedback.pushInfo(f"{area_row[0]}: {area_row[1]}")
        _push_statistics(feedback, rows, stats, landslides is not None)
        table = write_table(self, parameters, "OUTPUT_TABLE", context, TABLE_COLUMNS,
                            table_rows(rows))
        settings = dict(_report_settings(inputs, summary, inventory_text, classifier),
                        **dict([area_row] if area_row else []))
        write_report(inputs.report_path, rows, stats, counts, summary, breaks, settings,
                     warnings, inside=inside)
        feedback.pushInfo(f"Report: {inputs.report_path}")
        self._style_output(inputs.output, context, feedback)
        return {"OUTPUT": inputs.output, "OUTPUT_TABLE": table,
                "OUTPUT_REPORT": inputs.report_path,
                "HIGH_LANDSLIDE_SHARE": _number(stats["high_landslide_share"]),
                "SUCCESS_AUC": _number(stats["auc"]), "BREAKS_USED": breaks_text}

    def _read_inputs(self, parameters, context, feedback):
        """The raster, method, manual breaks and output paths, checked."""
        layer = self.parameterAsRasterLayer(parameters, "SUSCEPTIBILITY", context)
        spec = read_spec(self, ClassifySpec, parameters, context,
                         susceptibility=raster_source(layer, "susceptibility raster"))
        text = spec.breaks.strip()
        manual = None
        if spec.method == "manual":
            manual = parse_breaks(text)
        elif text:
            feedback.pushWarning(f"{spec.label_of('breaks')} '{text}' are ignored: "
                                 f"{spec.label_of('method')} is "
                                 f"'{METHOD_LABELS[spec.method]}', not manual.")
        report_path = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context)
        return _Inputs(spec.susceptibility, spec.method, manual, spec.output, report_path)

    def _inventory_mask(self, parameters, context, feedback, steps, summary):
        """``(landslide mask or None, inventory description, warnings)``."""
        if parameters.get("INVENTORY") in (None, ""):
            return None, "none", []
        inventory, layer_name, kind = inventory_source(self, parameters, "INVENTORY",
                                                       context, feedback)
        found = run_core(landslide_mask, steps, inventory, summary, layer_name=layer_name,
                         kind=kind)
        inventory_layer = self.parameterAsLayer(parameters, "INVENTORY", context)
        feedback.pushInfo(f"Inventory: {found.pixels} landslide cells on the grid")
        return (found.mask, f"{inventory_layer.source()} ({found.pixels} landslide cells)",
                list(found.warnings))

    def _mapped_area(self, parameters, context, feedback, steps, summary, landslides):
        """The :class:`.mapped_area.MappedArea` on the raster's grid, or None."""
        source, layer_name, kind = area_source(self, parameters, "MAPPED_AREA", context,
                                               feedback)
        if source is None:
            return None
        return run_core(read_mapped_area, steps, source, summary, landslides=landslides,
                        layer_name=layer_name, kind=kind, grid_name="susceptibility raster")

    @staticmethod
    def _style_output(output, context, feedback):
        """The .qml beside the classes, and the style when Processing loads them."""
        if write_style_sidecar(output, "classes") is None:
            feedback.pushDebugInfo("Could not write the .qml style beside the classes.")
        style_output_on_load(context, output, "classes")


def engine_breaks(summary, method, feedback):
    """``(breaks, classifier description)`` of a raster's ``summary`` by ``method``,
    from mapclassify in the engine (also used by Compare susceptibility maps)."""
    with tempfile.TemporaryDirectory(prefix="landslide_classify_") as tmp:
        sample = write_sample(summary, os.path.join(tmp, "sample.npz"))
        spec = ClassBreaksSpec(sample=sample, method=method).validate()
        result = run_engine(spec, feedback)
    try:
        breaks = check_breaks_range(check_breaks(result.breaks, "The engine's class "
                                                 "breaks"), summary, "The engine's breaks")
    except InputError as exc:
        raise QgsProcessingException(f"The engine returned no usable breaks: {exc}") \
            from exc
    return breaks, f"mapclassify {result.classifier or method}"


@dataclass
class _Inputs:
    """What :meth:`ClassifySusceptibility._read_inputs` read."""

    path: str
    method: str
    manual: list | None  # the manual breaks; None: from the engine
    output: str
    report_path: str


def _push_statistics(feedback, rows, stats, has_inventory):
    """The class table and its notes in the log."""
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


def _report_settings(inputs, summary, inventory_text, classifier):
    """The settings table of the report."""
    return {"Susceptibility raster": inputs.path, "Landslide inventory": inventory_text,
            "Method": METHOD_LABELS[inputs.method], "Breaks from": classifier,
            "Values sampled for the breaks":
                "—" if inputs.manual is not None else
                f"{summary.sample.size} of {summary.valid} (seed {SAMPLE_SEED})"}


def _area_row(area, counts, summary):
    """The report's settings row of the mapped area, or None without one."""
    if area is None:
        return None
    cells = int(counts.cells.sum())
    inside = dict(area.summary(), cells=cells, share=cells / summary.valid,
                  area_km2=float(counts.area_km2.sum()))
    if counts.landslide_cells is not None:
        inside["landslide_cells"] = int(counts.landslide_cells.sum())
    return ("Statistics restricted to the mapped area", area_text(inside, "the raster")
            + ". The class table (areas, landslide densities), the success-rate curve, its "
              "AUC and the value histogram count only the cells inside it; the map covers the "
              "whole raster.")


def _number(value):
    """None for NaN (no inventory), else the float."""
    return None if value is None or value != value else float(value)
