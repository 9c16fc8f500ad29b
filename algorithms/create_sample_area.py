"""landslide:createsamplearea: the synthetic study area (core/sample_area.py)."""

from qgis.core import QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber

from ..core.sample_area import DEFAULT_SEED, DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, create_sample_area
from .base import LandslideAlgorithm, run_core
from .outputs import add_outputs


class CreateSampleArea(LandslideAlgorithm):
    NAME = "createsamplearea"
    DISPLAY_NAME = "Create sample study area"
    GROUP = "data"
    ICON = "sample_area"
    HELP = (
        "Writes a synthetic but realistic landslide study area, deterministic for a seed, "
        "so that every step of the workflow can be tried and tested without field data.<br>"
        "<b>Written</b>: a fractal DEM (10 m, EPSG:32617); river lines traced from flow "
        "accumulation; fault lines; lithology polygons (4–6 units, field <i>unit</i>); "
        "land use (categorical raster); NDVI (delivered in EPSG:4326); precipitation "
        "(a coarse 100 m raster); a landslide inventory of polygons drawn from a known "
        "logistic susceptibility of those factors; and that true probability raster, so "
        "a model's AUC can be compared with the best achievable one. Factors arrive on "
        "different grids, CRSs and as vectors, like real data, so alignment is exercised.<br>"
        "<b>OUTPUT_FOLDER</b>: where to write (files of an earlier sample area there are "
        "replaced). <b>SEED</b>: same seed, same area. <b>SIZE</b>: cells per side "
        f"(default {DEFAULT_SIZE}, i.e. {DEFAULT_SIZE / 100:g} km at 10 m; up to {MAX_SIZE}; 5000 "
        "takes about 45 s and 1.6 GB).<br>"
        "<b>Outputs</b>: the folder, the list of files, the number of landslides and the "
        "AUC of the true probability (the Bayes-optimal AUC).")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFolderDestination(
            "OUTPUT_FOLDER", "Output folder"))
        self.addParameter(QgsProcessingParameterNumber(
            "SEED", "Random seed", QgsProcessingParameterNumber.Integer, DEFAULT_SEED,
            minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "SIZE", "Size (cells per side, 10 m cells)",
            QgsProcessingParameterNumber.Integer, DEFAULT_SIZE, minValue=MIN_SIZE,
            maxValue=MAX_SIZE))
        add_outputs(self, values=[("FILES", list, "Files written"),
            ("LANDSLIDE_COUNT", float, "Landslides drawn"),
            ("TRUE_AUC", float, "AUC of the true probability"), ("SUMMARY", str, "Summary")])

    def process(self, parameters, context, feedback):
        folder = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        seed = self.parameterAsInt(parameters, "SEED", context)
        size = self.parameterAsInt(parameters, "SIZE", context)
        feedback.pushInfo(f"Sample area: {size} x {size} cells, seed {seed}, into {folder}")
        result = run_core(create_sample_area, feedback, folder, seed=seed, size=size)
        files = result["files"]
        for key, path in files.items():
            feedback.pushInfo(f"  {key:18s} {path}")
        summary = (f"{result['landslide_count']} landslides; AUC of the true probability "
                   f"{result['true_auc']:.3f}")
        feedback.pushInfo(summary)
        return {"OUTPUT_FOLDER": folder, "FILES": list(files.values()),
                "LANDSLIDE_COUNT": result["landslide_count"],
                "TRUE_AUC": result["true_auc"], "SUMMARY": summary}
