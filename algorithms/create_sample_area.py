"""landslide:createsamplearea: the synthetic study area (core/sample_area.py)."""

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
)

from ..core.sample_area import (
    DEFAULT_SEED,
    DEFAULT_SIZE,
    DEFAULT_TRUTH,
    MAX_SIZE,
    MIN_SIZE,
    TRUTHS,
    create_sample_area,
)
from .base import LandslideAlgorithm, run_core
from .help_text import with_help
from .outputs import add_outputs


class CreateSampleArea(LandslideAlgorithm):
    NAME = "createsamplearea"
    DISPLAY_NAME = "Create sample study area"
    GROUP = "data"
    ICON = "sample_area"
    HELP = (
        "Writes a synthetic but realistic study area, the same for the same seed, to try "
        "every step without field data: a fractal DEM (10 m cells, EPSG:32617), rivers "
        "traced from flow accumulation, faults, lithology polygons (field <i>unit</i>), land "
        "use, NDVI (in EPSG:4326), coarse precipitation (100 m), a landslide inventory of "
        "polygons drawn from a known susceptibility of those factors, and that true "
        "probability. Factors come on different grids, CRSs and as vectors, like real data.")
    NOTES = (
        "The true probability's AUC at the landslides is the best any model can reach: "
        "compare a model's AUC with it. With the neighbourhood-context truth the "
        "probability depends on the terrain around each pixel (relief within 150 m, flow "
        "convergence, distance to a slope break) rather than on the pixel's own factor "
        "values: the factor files are the same, so a model that sees patches can learn "
        "it and one that sees single pixels cannot.")

    def initAlgorithm(self, config=None):
        self.addParameter(with_help(QgsProcessingParameterFolderDestination(
            "OUTPUT_FOLDER", "Output folder"),
            "Where the files are written; files of an earlier sample area there are replaced"))
        self.addParameter(with_help(QgsProcessingParameterNumber(
            "SEED", "Random seed", QgsProcessingParameterNumber.Integer, DEFAULT_SEED,
            minValue=0), "Same seed, same area"))
        self.addParameter(with_help(QgsProcessingParameterNumber(
            "SIZE", "Size (cells per side)",
            QgsProcessingParameterNumber.Integer, DEFAULT_SIZE, minValue=MIN_SIZE,
            maxValue=MAX_SIZE),
            f"Cells of 10 m per side: {DEFAULT_SIZE} is {DEFAULT_SIZE / 100:g} km; 5000 "
            "takes about 45 s and 1.6 GB of memory"))
        self.addParameter(with_help(QgsProcessingParameterEnum(
            "TRUTH", "True susceptibility", [name for _, name in TRUTHS],
            defaultValue=[code for code, _ in TRUTHS].index(DEFAULT_TRUTH)),
            "What the true landslide probability depends on: each pixel's own factor "
            "values, or the terrain around it (which a patch model can see and a "
            "single-pixel model cannot)"))
        add_outputs(self, values=[("FILES", list, "Files written"),
            ("LANDSLIDE_COUNT", float, "Landslides drawn"),
            ("TRUE_AUC", float, "AUC of the true probability"), ("SUMMARY", str, "Summary")])

    def process(self, parameters, context, feedback):
        folder = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        seed = self.parameterAsInt(parameters, "SEED", context)
        size = self.parameterAsInt(parameters, "SIZE", context)
        truth = TRUTHS[self.parameterAsEnum(parameters, "TRUTH", context)][0]
        feedback.pushInfo(f"Sample area: {size} x {size} cells, seed {seed}, true "
                          f"susceptibility: {dict(TRUTHS)[truth]}, into {folder}")
        result = run_core(create_sample_area, feedback, folder, seed=seed, size=size,
                          truth=truth)
        files = result["files"]
        for key, path in files.items():
            feedback.pushInfo(f"  {key:18s} {path}")
        summary = (f"{result['landslide_count']} landslides; true susceptibility: "
                   f"{result['truth_name']}, its AUC {result['true_auc']:.3f}")
        feedback.pushInfo(summary)
        return {"OUTPUT_FOLDER": folder, "FILES": list(files.values()),
                "LANDSLIDE_COUNT": result["landslide_count"],
                "TRUE_AUC": result["true_auc"], "SUMMARY": summary}
