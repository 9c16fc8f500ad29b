"""Reading inputs shared by several algorithms: the landslide inventory
(polygons, points or a raster mask) and the mapped area (polygons or a raster
mask) as something GDAL/OGR can open."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterMapLayer,
    QgsRasterLayer,
)

from ..core.specs.samples import INVENTORY_HELP, INVENTORY_LABEL
from .outputs import raster_source, vector_source

INVENTORY_TYPES = [QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint,
                   QgsProcessing.TypeRaster]
AREA_TYPES = [QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeRaster]


def stack_source(algorithm, parameters, context):
    """The file path of the factor stack (the STACK parameter)."""
    return raster_source(algorithm.parameterAsRasterLayer(parameters, "STACK", context),
                         "factor stack")


def add_inventory(algorithm, optional=False, extra_types=()):
    """The INVENTORY parameter: landslides as polygons, points or a raster mask."""
    definition = QgsProcessingParameterMapLayer(
        "INVENTORY", INVENTORY_LABEL, types=INVENTORY_TYPES + list(extra_types),
        optional=optional)
    definition.setHelp(INVENTORY_HELP)
    algorithm.addParameter(definition)


def inventory_source(algorithm, parameters, key, context, feedback,
                     what="landslide inventory", kinds="a polygon, point or raster layer"):
    """``(path, layer_name, kind)`` of the inventory parameter ``key`` (or of
    another layer parameter read the same way: ``what`` names it, ``kinds`` says
    what it may be)."""
    layer = algorithm.parameterAsLayer(parameters, key, context)
    if layer is None:
        raise QgsProcessingException(f"The {what} ({key}) could not be loaded; choose "
                                     f"{kinds}.")
    if isinstance(layer, QgsRasterLayer):
        return raster_source(layer, what), None, "raster"
    path, layer_name = vector_source(layer, what, context, feedback)
    return path, layer_name, "vector"


def area_source(algorithm, parameters, key, context, feedback):
    """``(path, layer_name, kind)`` of the optional mapped-area parameter ``key``;
    ``(None, None, None)`` when it is empty."""
    if parameters.get(key) in (None, ""):
        return None, None, None
    return inventory_source(algorithm, parameters, key, context, feedback, what="Mapped area",
                            kinds="a polygon layer or a raster mask")
