"""landslide:comparemaps: several susceptibility maps rated against one inventory.

The maps are read here (core/map_comparison.py, numpy + GDAL, block by block, in
the QGIS process); the breaks of the automatic class methods come from mapclassify
in the engine, as in classifysusceptibility.
"""

import math

from qgis.core import QgsProcessing, QgsProcessingParameterMultipleLayers

from ..core.class_statistics import METHOD_LABELS, check_breaks_range, parse_breaks
from ..core.map_comparison import TABLE_COLUMNS, compare_maps
from ..core.map_comparison_report import write_comparison_report
from ..core.specs.map_comparison import MAPS_LABEL, CompareMapsSpec
from .base import LandslideAlgorithm, run_core
from .classify_susceptibility import engine_breaks
from .inputs import inventory_source
from .outputs import add_outputs, push_warnings, raster_source, write_table
from .spec_parameters import add_spec_parameters, read_spec


class CompareMaps(LandslideAlgorithm):
    NAME = "comparemaps"
    DISPLAY_NAME = "Compare susceptibility maps"
    GROUP = "maps"
    ICON = "compare"
    HELP = (
        "Compares several susceptibility maps (e.g. of different models) the way the paper "
        "does: by how well each map locates the historical landslides.")
    NOTES = (
        "Maps on another grid than the first are resampled onto the first map's grid "
        "(bilinear, said in the log); a map that cannot be put there (no georeferencing, "
        "rotated, another area) is refused with the reason. The automatic class methods "
        "run mapclassify in the engine, once per map; manual breaks need no engine.<br>"
        "<b>Map comparison table</b>, one row per map: the mean, median, SD and MAD (median "
        "absolute deviation) of the susceptibility inside the landslides, over the "
        "landslide cells (cell_*) and over the landslides' mean values (slide_*); the "
        "success-rate AUC, the prediction-rate AUC, the landslide share in High + Very "
        "high, the area share of Very high and the landslide density per class.")

    def initAlgorithm(self, config=None):
        maps = QgsProcessingParameterMultipleLayers("MAPS", MAPS_LABEL,
                                                    QgsProcessing.TypeRaster)
        maps.setHelp("The probability rasters to compare, named by their layer names")
        self.addParameter(maps)
        add_spec_parameters(self, CompareMapsSpec)
        add_outputs(self, table=("OUTPUT_TABLE", "Map comparison table"),
                    report="Map comparison report",
                    values=[("BEST_MAP", str, "Map with the highest success-rate AUC")])
        self.parameterDefinition("OUTPUT_TABLE").setHelp(
            "One row per map: susceptibility inside the landslides, AUCs, landslide shares "
            "and densities")
        self.parameterDefinition("OUTPUT_REPORT").setHelp(
            "HTML report: the table, the maps side by side, landslide density per class, "
            "the success-rate curves and the Spearman correlation between the maps")

    def process(self, parameters, context, feedback):
        layers = self.parameterAsLayerList(parameters, "MAPS", context)
        paths = [raster_source(layer, f"susceptibility map '{layer.name()}'")
                 for layer in layers]
        inventory = inventory_source(self, parameters, "INVENTORY", context, feedback)
        validation = (None, None, None)
        if parameters.get("VALIDATION_INVENTORY") not in (None, ""):
            validation = inventory_source(self, parameters, "VALIDATION_INVENTORY", context,
                                          feedback, what="validation inventory")
        spec = read_spec(self, CompareMapsSpec, parameters, context, maps=paths,
                         names=unique_names([layer.name() for layer in layers]),
                         inventory=inventory[0], validation=validation[0] or "")
        breaks_of = self._breaks_of(spec, feedback)
        comparison = run_core(
            compare_maps, feedback, spec.maps, spec.names, spec.inventory, breaks_of,
            validation=spec.validation or None, layer_name=inventory[1], kind=inventory[2],
            validation_layer=validation[1], validation_kind=validation[2],
            sample_size=spec.sample_size, seed=spec.seed, log=feedback.pushInfo)
        push_warnings(feedback, comparison.warnings)
        rows = comparison.table_rows()
        for result in comparison.maps:
            _log_map(feedback, result)
        table = write_table(self, parameters, "OUTPUT_TABLE", context, TABLE_COLUMNS, rows)
        report_path = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context)
        write_comparison_report(report_path, comparison, _settings(spec, layers))
        feedback.pushInfo(f"Report: {report_path}")
        return {"OUTPUT_TABLE": table, "OUTPUT_REPORT": report_path,
                "BEST_MAP": best_map(comparison)}

    @staticmethod
    def _breaks_of(spec, feedback):
        """``breaks_of(summary, name)``: manual breaks checked against each map, or
        the engine's breaks by the chosen method."""
        manual = parse_breaks(spec.breaks) if spec.method == "manual" else None
        if manual is None and spec.breaks.strip():
            feedback.pushWarning(f"{spec.label_of('breaks')} are ignored: "
                                 f"{spec.label_of('method')} is "
                                 f"'{METHOD_LABELS[spec.method]}', not manual.")

        def breaks_of(summary, name):
            if manual is not None:
                return check_breaks_range(manual, summary, f"BREAKS for the map '{name}'")
            breaks, classifier = engine_breaks(summary, spec.method, feedback)
            feedback.pushInfo(f"{name}: breaks ({classifier}) "
                              f"{', '.join(f'{b:.6g}' for b in breaks)}")
            return breaks

        return breaks_of


def unique_names(names):
    """The layer names, made unique with " (2)", " (3)"…"""
    seen, out = {}, []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def best_map(comparison):
    """The name of the map with the highest success-rate AUC (None without one)."""
    found = [(r.stats.get("auc", math.nan), r.name) for r in comparison.maps]
    found = [(auc, name) for auc, name in found if math.isfinite(auc)]
    return max(found)[1] if found else None


def _log_map(feedback, result):
    inside = result.inside
    feedback.pushInfo(
        f"  {result.name}: inside landslides mean {inside['cell']['mean']:.4f}, SD "
        f"{inside['cell']['sd']:.4f}, MAD {inside['cell']['mad']:.4f}; success-rate AUC "
        f"{result.stats.get('auc', math.nan):.4f}"
        + (f", prediction-rate AUC {result.prediction['auc']:.4f}" if result.prediction
           else ""))


def _settings(spec, layers):
    return [("Maps", ", ".join(f"{name} ({layer.source()})"
                               for name, layer in zip(spec.names, layers, strict=True))),
            ("Landslide inventory", spec.inventory),
            ("Validation inventory", spec.validation or "none"),
            ("Class method", METHOD_LABELS[spec.method]
             + (f" ({spec.breaks})" if spec.method == "manual" else "")),
            ("Cells sampled for the Spearman correlation", f"{spec.sample_size} (seed "
                                                           f"{spec.seed})")]
