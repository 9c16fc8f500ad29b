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
from .outputs import OGR_FORMATS, push_warnings, raster_source


class DistanceToFeatures(LandslideAlgorithm):
    NAME = "distancetofeatures"
    DISPLAY_NAME = "Distance to features"
    GROUP = "data"
    ICON = "distance"
    HELP = (
        "Distance (in map units, usually metres) from every cell of a reference grid to "
        "the nearest feature of a vector layer: the paper's distance from fault (DTF) and "
        "distance from river (DTR) factors, or distance from roads.<br>"
        "<b>INPUT</b>: lines, points or polygons (reprojected to the reference's CRS when "
        "it differs; only selected features when 'selected features only' is ticked).<br>"
        "<b>REFERENCE</b>: the raster whose grid (CRS, extent, cell size) the output takes, "
        "usually the DEM; it must be in a projected CRS.<br>"
        "<b>OUTPUT</b>: float32 distance raster. Features are burnt with GDAL's rasterize "
        "(all touched cells) and distances computed by GDAL's proximity, from cell centre "
        "to the centre of the nearest burnt cell; cells on a feature are 0. Features up to "
        "half the grid's size outside its extent are taken into account.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(
            "INPUT", "Features (faults, rivers, roads…)",
            [QgsProcessing.TypeVectorAnyGeometry]))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "REFERENCE", "Reference raster (grid of the output)"))
        self.addParameter(QgsProcessingParameterRasterDestination(
            "OUTPUT", "Distance"))

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
