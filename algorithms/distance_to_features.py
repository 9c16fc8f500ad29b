"""landslide:distancetofeatures: distance from vector features on a raster grid
(core/distance.py)."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..core.distance import distance_to_features
from .base import LandslideAlgorithm, run_core
from .help_text import with_help
from .outputs import OGR_FORMATS, push_warnings, raster_source


class DistanceToFeatures(LandslideAlgorithm):
    NAME = "distancetofeatures"
    DISPLAY_NAME = "Distance to features"
    GROUP = "data"
    ICON = "distance"
    HELP = (
        "Distance (in map units, usually metres) from every cell of a reference grid to the "
        "nearest feature of a vector layer: the paper's distance from faults and distance "
        "from rivers, or distance from roads.")
    NOTES = (
        "Features are burnt with GDAL's rasterize (all touched cells) and distances "
        "measured by GDAL's proximity, from cell centre to the centre of the nearest burnt "
        "cell; cells on a feature are 0. Features up to half the grid's size outside its "
        "extent count.")

    def initAlgorithm(self, config=None):
        self.addParameter(with_help(QgsProcessingParameterFeatureSource(
            "INPUT", "Features", [QgsProcessing.TypeVectorAnyGeometry]),
            "Lines, points or polygons (faults, rivers, roads), reprojected to the reference's "
            "CRS when it differs; only the selected features when that box is ticked"))
        self.addParameter(with_help(QgsProcessingParameterRasterLayer(
            "REFERENCE", "Reference raster"),
            "The grid of the output (CRS, extent, cell size), usually the DEM; it must be in "
            "a projected CRS"))
        self.addParameter(with_help(QgsProcessingParameterRasterDestination(
            "OUTPUT", "Distance"), "Float32 raster of the distance in map units"))

    def process(self, parameters, context, feedback):
        path, layer_name = self.parameterAsCompatibleSourceLayerPathAndLayerName(
            parameters, "INPUT", context, OGR_FORMATS, "gpkg", feedback)
        reference = raster_source(self.parameterAsRasterLayer(parameters, "REFERENCE",
                                                              context), "reference raster")
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        feedback.pushInfo(f"Features: {path}{' layer ' + layer_name if layer_name else ''}; "
                          f"grid of {reference}")
        result = run_core(distance_to_features, feedback, path, reference, output,
                          layer_name=layer_name or None)
        push_warnings(feedback, result["warnings"])
        feedback.pushInfo(f"Distance {result['min']:.1f}–{result['max']:.1f} map units, "
                          f"mean {result['mean']:.1f}")
        return {"OUTPUT": output}
