"""landslide:deriveterrainfactors: slope and aspect classes from a DEM (core/terrain.py)."""

from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..core.terrain import ASPECT_CLASSES, derive_terrain
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
        "(default 1).<br>"
        "<b>OUTPUT_SLOPE</b>: slope in degrees (float32), GDAL's <i>gdaldem slope</i> "
        "(Horn's method, edges computed), so it equals gdaldem and QGIS's Slope tool.<br>"
        "<b>OUTPUT_ASPECT</b>: the paper's nine aspect classes as integer codes: "
        + ", ".join(f"{value} = {name}" for value, name in enumerate(ASPECT_CLASSES))
        + " (45° sectors centred on the directions; nodata 255), with the class names "
        "and a colour table. Add it as a <i>categorical</i> factor in 'Align factors'.")

    DEM = "DEM"
    FLAT_THRESHOLD = "FLAT_THRESHOLD"
    OUTPUT_SLOPE = "OUTPUT_SLOPE"
    OUTPUT_ASPECT = "OUTPUT_ASPECT"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.DEM, "DEM (elevation)"))
        self.addParameter(QgsProcessingParameterNumber(
            self.FLAT_THRESHOLD, "Flat below this slope (degrees)",
            QgsProcessingParameterNumber.Double, 1.0, minValue=0.0, maxValue=90.0))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_SLOPE, "Slope (degrees)"))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_ASPECT, "Aspect classes"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        dem = raster_source(self.parameterAsRasterLayer(parameters, self.DEM, context), "DEM")
        threshold = self.parameterAsDouble(parameters, self.FLAT_THRESHOLD, context)
        slope_path = self.parameterAsOutputLayer(parameters, self.OUTPUT_SLOPE, context)
        aspect_path = self.parameterAsOutputLayer(parameters, self.OUTPUT_ASPECT, context)
        feedback.pushInfo(f"DEM: {dem}; flat below {threshold:g}°")
        result = run_core(derive_terrain, feedback, dem, slope_path, aspect_path,
                          flat_threshold=threshold)
        if result is None:
            return {}
        push_warnings(feedback, result["warnings"])
        feedback.pushInfo(f"Slope {result['slope_min']:.2f}–{result['slope_max']:.2f}°, "
                          f"mean {result['slope_mean']:.2f}°")
        total = sum(result["aspect_counts"].values()) or 1
        feedback.pushInfo("Aspect classes: " + ", ".join(
            f"{name} {100.0 * count / total:.1f} %"
            for name, count in result["aspect_counts"].items()))
        return {self.OUTPUT_SLOPE: slope_path, self.OUTPUT_ASPECT: aspect_path}
