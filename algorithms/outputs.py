"""Helpers shared by the algorithms: file paths of input layers for GDAL/OGR,
table outputs (feature sinks without geometry), reports, plain outputs and
warnings."""

import os

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingUtils,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from ..core.metric_names import METRICS_TABLE_COLUMNS, metrics_table_rows
from ..core.specs.training import HTML_FILTER

OGR_FORMATS = ["gpkg", "shp", "geojson", "json", "gml", "kml", "sqlite", "fgb", "tab"]
FIELD_TYPES = {str: QVariant.String, float: QVariant.Double, int: QVariant.Int}


def raster_source(layer, what):
    """The GDAL-readable source of a raster layer, or a clear error naming ``what``."""
    if layer is None:
        raise QgsProcessingException(f"The {what} could not be loaded as a raster layer.")
    if not isinstance(layer, QgsRasterLayer) or layer.providerType() != "gdal":
        raise QgsProcessingException(
            f"The {what} '{layer.name()}' is not a GDAL raster (provider "
            f"'{layer.providerType()}'); save it as a GeoTIFF and use that file.")
    return layer.source()


def vector_source(layer, what, context, feedback=None):
    """``(path, layer_name)`` that OGR can open for a vector layer; layers that are
    not plain OGR files (memory layers, filters, other providers) are exported
    to a temporary GeoPackage first."""
    if not isinstance(layer, QgsVectorLayer):
        raise QgsProcessingException(f"The {what} is not a vector layer.")
    if layer.providerType() == "ogr" and not layer.subsetString():
        parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
        path = parts.get("path", "")
        if path and os.path.isfile(path):
            return path, parts.get("layerName") or None
    target = QgsProcessingUtils.generateTempFilename("inventory.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "features"
    error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(
        layer, target, context.transformContext(), options)
    if error != QgsVectorFileWriter.NoError:
        raise QgsProcessingException(f"Cannot export the {what} '{layer.name()}' for "
                                     f"OGR: {message}")
    if feedback is not None:
        feedback.pushDebugInfo(f"Exported the {what} to {target}")
    return target, "features"


def write_table(algorithm, parameters, key, context, columns, rows):
    """Write ``rows`` to the feature sink ``key`` as a table without geometry.

    ``columns``: ``[(name, str | float | int), ...]``. Returns the destination
    id, or None when the output was skipped.
    """
    fields = QgsFields()
    for name, kind in columns:
        fields.append(QgsField(name, FIELD_TYPES[kind]))
    sink, dest_id = algorithm.parameterAsSink(parameters, key, context, fields,
                                              QgsWkbTypes.NoGeometry,
                                              QgsCoordinateReferenceSystem())
    if sink is None:
        return None
    for row in rows:
        feature = QgsFeature(fields)
        feature.setAttributes([_attribute(value, kind) for value, (_n, kind)
                               in zip(row, columns, strict=True)])
        if not sink.addFeature(feature, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(f"Cannot write the table {key}: "
                                         f"{sink.lastError()}")
    return dest_id


def write_metrics_table(algorithm, parameters, key, context, metrics):
    """Write the metrics ``{code: value}`` to the table sink ``key``: fields
    ``name`` (the display name, e.g. "Cohen's kappa"), ``value`` (rounded by the
    rule of :mod:`..core.metric_names`) and ``metric`` (the code, e.g. ``kappa``,
    for scripts). Returns the destination id, or None when skipped."""
    return write_table(algorithm, parameters, key, context, METRICS_TABLE_COLUMNS,
                       metrics_table_rows(metrics or {}))


def _attribute(value, kind):
    if value is None:
        return None
    if kind is float:
        value = float(value)
        return value if value == value else None  # NaN -> NULL
    if kind is int:
        return int(value)
    return str(value)


def push_warnings(feedback, warnings):
    for message in warnings or []:
        feedback.pushWarning(message)


_OUTPUT_CLASSES = {str: QgsProcessingOutputString, float: QgsProcessingOutputNumber,
                   bool: QgsProcessingOutputBoolean, list: QgsProcessingOutputMultipleLayers}


def add_outputs(algorithm, table=None, report=None, values=()):
    """Declare an algorithm's outputs: ``table`` ``(key, label)`` a table (a feature
    sink without geometry, filled by :func:`write_table`), ``report`` the label of
    the HTML report (``OUTPUT_REPORT``), ``values`` plain outputs ``(key, type,
    label)`` with type str, float (any number), bool or list (of layers/files)."""
    if table:
        algorithm.addParameter(QgsProcessingParameterFeatureSink(
            table[0], table[1], QgsProcessing.TypeVector))
    if report:
        algorithm.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_REPORT", report, HTML_FILTER))
    for key, kind, label in values:
        algorithm.addOutput(_OUTPUT_CLASSES[kind](key, label))
