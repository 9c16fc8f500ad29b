"""landslide:createsamplearea: the synthetic study area (core/sample_area.py)."""

from qgis.core import (
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
)

from ..core.sample_area import create_sample_area
from .base import LandslideAlgorithm, run_core


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
        "(default 400, i.e. 4 km at 10 m; up to 8000; 5000 takes about 45 s and 1.6 GB).<br>"
        "<b>Outputs</b>: the folder, the list of files, the number of landslides and the "
        "AUC of the true probability (the Bayes-optimal AUC).")

    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    SEED = "SEED"
    SIZE = "SIZE"
    FILES = "FILES"
    LANDSLIDE_COUNT = "LANDSLIDE_COUNT"
    TRUE_AUC = "TRUE_AUC"
    SUMMARY = "SUMMARY"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_FOLDER, "Output folder"))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, "Random seed", QgsProcessingParameterNumber.Integer, 42, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SIZE, "Size (cells per side, 10 m cells)",
            QgsProcessingParameterNumber.Integer, 400, minValue=64, maxValue=8000))
        self.addOutput(QgsProcessingOutputMultipleLayers(self.FILES, "Files written"))
        self.addOutput(QgsProcessingOutputNumber(self.LANDSLIDE_COUNT, "Landslides drawn"))
        self.addOutput(QgsProcessingOutputNumber(self.TRUE_AUC, "AUC of the true probability"))
        self.addOutput(QgsProcessingOutputString(self.SUMMARY, "Summary"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)
        size = self.parameterAsInt(parameters, self.SIZE, context)
        feedback.pushInfo(f"Sample area: {size} x {size} cells, seed {seed}, into {folder}")
        result = run_core(create_sample_area, feedback, folder, seed=seed, size=size)
        if result is None:
            return {}
        files = result["files"]
        for key, path in files.items():
            feedback.pushInfo(f"  {key:18s} {path}")
        summary = (f"{result['landslide_count']} landslides; AUC of the true probability "
                   f"{result['true_auc']:.3f}")
        feedback.pushInfo(summary)
        return {self.OUTPUT_FOLDER: folder, self.FILES: list(files.values()),
                self.LANDSLIDE_COUNT: result["landslide_count"],
                self.TRUE_AUC: result["true_auc"], self.SUMMARY: summary}
