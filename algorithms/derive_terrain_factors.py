"""landslide:deriveterrainfactors: slope and aspect classes from a DEM (core/terrain.py)."""

from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..core.terrain import ASPECT_CLASSES, FLAT_THRESHOLD, derive_terrain
from .base import LandslideAlgorithm, run_core
from .outputs import push_warnings, raster_source


class DeriveTerrainFactors(LandslideAlgorithm):
    NAME = "deriveterrainfactors"
    DISPLAY_NAME = "Derive terrain factors (slope, aspect)"
    GROUP = "data"
    ICON = "terrain"
    HELP = (
        "Derives two of the paper's landslide conditioning factors from a DEM: slope and "
        "aspect (section 'Landslide conditioning factors'; elevation itself is the DEM).<br>"
        "<b>DEM</b>: elevation raster, preferably in a projected CRS with metres (a "
        "geographic DEM uses gdaldem's approximate 111120 m per degree, with a warning).<br>"
        "<b>FLAT_THRESHOLD</b>: slope in degrees below which a cell is 'flat' "
        f"(default {FLAT_THRESHOLD:g}).<br>"
        "<b>OUTPUT_SLOPE</b>: slope in degrees (float32), GDAL's <i>gdaldem slope</i> "
        "(Horn's method, edges computed), so it equals gdaldem and QGIS's Slope tool.<br>"
        "<b>OUTPUT_ASPECT</b>: the paper's nine aspect classes as integer codes: "
        + ", ".join(f"{value} = {name}" for value, name in enumerate(ASPECT_CLASSES))
        + " (45° sectors centred on the directions; nodata 255), with the class names "
        "and a colour table. Add it as a <i>categorical</i> factor in 'Align factors'.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer("DEM", "DEM (elevation)"))
        self.addParameter(QgsProcessingParameterNumber(
            "FLAT_THRESHOLD", "Flat below this slope (degrees)",
            QgsProcessingParameterNumber.Double, FLAT_THRESHOLD, minValue=0.0,
            maxValue=90.0))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_SLOPE", "Slope (degrees)"))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT_ASPECT", "Aspect classes"))

    def process(self, parameters, context, feedback):
        dem = raster_source(self.parameterAsRasterLayer(parameters, "DEM", context), "DEM")
        threshold = self.parameterAsDouble(parameters, "FLAT_THRESHOLD", context)
        slope_path = self.parameterAsOutputLayer(parameters, "OUTPUT_SLOPE", context)
        aspect_path = self.parameterAsOutputLayer(parameters, "OUTPUT_ASPECT", context)
        feedback.pushInfo(f"DEM: {dem}; flat below {threshold:g}°")
        result = run_core(derive_terrain, feedback, dem, slope_path, aspect_path,
                          flat_threshold=threshold)
        push_warnings(feedback, result["warnings"])
        feedback.pushInfo(f"Slope {result['slope_min']:.2f}–{result['slope_max']:.2f}°, "
                          f"mean {result['slope_mean']:.2f}°")
        total = sum(result["aspect_counts"].values()) or 1
        feedback.pushInfo("Aspect classes: " + ", ".join(
            f"{name} {100.0 * count / total:.1f} %"
            for name, count in result["aspect_counts"].items()))
        return {"OUTPUT_SLOPE": slope_path, "OUTPUT_ASPECT": aspect_path}
