"""Reading inputs shared by several algorithms: the landslide inventory
(polygons, points or a raster mask) as something GDAL/OGR can open."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterMapLayer,
    QgsRasterLayer,
)

from .outputs import raster_source, vector_source

INVENTORY_TYPES = [QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint,
                   QgsProcessing.TypeRaster]


def stack_source(algorithm, parameters, context):
    """The file path of the factor stack (the STACK parameter)."""
    return raster_source(algorithm.parameterAsRasterLayer(parameters, "STACK", context),
                         "factor stack")


def add_inventory(algorithm, optional=False, extra_types=()):
    """The INVENTORY parameter: landslides as polygons, points or a raster mask."""
    algorithm.addParameter(QgsProcessingParameterMapLayer(
        "INVENTORY", "Landslide inventory (polygons, points or raster mask)",
        types=INVENTORY_TYPES + list(extra_types), optional=optional))


def inventory_source(algorithm, parameters, key, context, feedback):
    """``(path, layer_name, kind)`` of the inventory parameter ``key``."""
    layer = algorithm.parameterAsLayer(parameters, key, context)
    if layer is None:
        raise QgsProcessingException("The landslide inventory (INVENTORY) could not be "
                                     "loaded; choose a polygon, point or raster layer.")
    if isinstance(layer, QgsRasterLayer):
        return raster_source(layer, "landslide inventory"), None, "raster"
    path, layer_name = vector_source(layer, "landslide inventory", context, feedback)
    return path, layer_name, "vector"
