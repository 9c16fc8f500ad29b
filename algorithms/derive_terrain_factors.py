"""landslide:deriveterrainfactors: slope and aspect classes from a DEM (core/terrain.py)."""

from qgis.core import (
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..core.terrain import ASPECT_CLASSES, FLAT_THRESHOLD, derive_terrain
from .base import LandslideAlgorithm, run_core
from .help_text import with_help
from .outputs import push_warnings, raster_source


class DeriveTerrainFactors(LandslideAlgorithm):
    NAME = "deriveterrainfactors"
    DISPLAY_NAME = "Derive terrain factors (slope, aspect)"
    GROUP = "data"
    ICON = "terrain"
    HELP = (
        "Derives two of the paper's conditioning factors from a DEM: slope and aspect "
        "('Landslide conditioning factors'; elevation itself is the DEM). Add the slope as a "
        "continuous factor and the aspect classes as a categorical factor in 'Align "
        "factors'.")
    NOTES = (
        "The slope is GDAL's <i>gdaldem slope</i> (Horn's method, edges computed), equal to "
        "QGIS's Slope tool. The aspect classes are 45° sectors centred on the directions: "
        + ", ".join(f"{value} = {name}" for value, name in enumerate(ASPECT_CLASSES))
        + " (nodata 255), with the class names and a colour table.")

    def initAlgorithm(self, config=None):
        self.addParameter(with_help(
            QgsProcessingParameterRasterLayer("DEM", "DEM (elevation)"),
            "Elevation raster, best in a projected CRS in metres (a geographic DEM uses "
            "111,120 m per degree, with a warning)"))
        flat = QgsProcessingParameterNumber(
            "FLAT_THRESHOLD", "Flat below (degrees)", QgsProcessingParameterNumber.Double,
            FLAT_THRESHOLD, minValue=0.0, maxValue=90.0)
        flat.setFlags(flat.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        flat.setMetadata({"widget_wrapper": {"decimals": 1}})
        self.addParameter(with_help(flat, "Cells with a gentler slope get the aspect class "
                                          "'flat'"))
        self.addParameter(with_help(QgsProcessingParameterRasterDestination(
            "OUTPUT_SLOPE", "Slope (degrees)"), "Slope in degrees (float32)"))
        self.addParameter(with_help(QgsProcessingParameterRasterDestination(
            "OUTPUT_ASPECT", "Aspect classes"), "The nine aspect classes as integer codes"))

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
