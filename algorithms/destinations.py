"""The checks every algorithm's outputs pass before any work (run by
:meth:`.base.LandslideAlgorithm.processAlgorithm`):

- no output may be one of the inputs (the input would be replaced), nor the
  file of another output;
- the folder of every output must exist or be creatable, and be writable;
- an output may not be an existing GeoPackage holding several layers: outputs
  replace their file as a whole, so the other layers would be lost
  (:func:`..core.sample_layer.check_geopackage_output`). A destination that
  names its layer (``ogr:dbname='x.gpkg' table="t"``, the dialog's "Save to
  GeoPackage") is not checked: Processing's feature sinks add that layer.

Paths are compared as files (``os.path.samefile``, else ``realpath``), so a
symbolic link, ``x.gpkg|layername=a`` or ``GPKG:x.gpkg:a`` name the same file as
``x.gpkg``. Layer inputs are resolved to their source files; outputs that are
not files (temporary outputs, memory layers, databases) are skipped.
"""

import os
import re

from qgis.core import (
    QgsDataSourceUri,
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingOutputLayerDefinition,
    QgsProperty,
    QgsProviderRegistry,
)

from ..core.errors import InputError
from ..core.files import check_writable_dir
from ..core.sample_layer import check_geopackage_output

_LAYER_INPUTS = ("raster", "vector", "layer", "source", "mesh", "pointcloud")
_PROVIDER_PREFIX = re.compile(r"^[A-Za-z][\w-]+:")  # "memory:", "postgres:"; not "C:"


def check_destinations(algorithm, parameters, context):
    """Refuse outputs that would replace an input or another output, and
    outputs whose folder cannot be written. Raises :class:`InputError`."""
    outputs = list(destinations(algorithm, parameters, context))
    inputs = list(input_files(algorithm, parameters, context))
    for index, (key, path, layer) in enumerate(outputs):
        for input_key, source in inputs:
            if same_file(path, source):
                raise InputError(f"{label(algorithm, key)} would overwrite "
                                 f"{label(algorithm, input_key)} ({source}): choose "
                                 "another file.")
        for other_key, other, other_layer in outputs[:index]:
            if same_file(path, other) and (layer is None or other_layer is None
                                           or layer == other_layer):
                raise InputError(f"{label(algorithm, key)} and {label(algorithm, other_key)} "
                                 f"are the same file ({path}): give each output its own "
                                 "file.")
    for key, path, layer in outputs:
        check_folder(algorithm, key, path)
        if layer is None:
            check_geopackage_output(path, label(algorithm, key))


def check_folder(algorithm, key, path):
    """The folder of output ``key`` (the folder itself for a folder output)."""
    what = label(algorithm, key)
    if algorithm.parameterDefinition(key).type() == "folderDestination":
        if os.path.isfile(path):
            raise InputError(f"{what} '{path}' is a file: choose a folder.")
        check_writable_dir(path, f"folder of {what}")
        return
    if os.path.isdir(path):
        raise InputError(f"{what} '{path}' is a folder: give a file name.")
    check_writable_dir(os.path.dirname(os.path.abspath(path)), f"folder of {what}")


def label(algorithm, key):
    """``Label (KEY)``: the parameter as the dialog shows it, and as typed."""
    definition = algorithm.parameterDefinition(key)
    return f"{definition.description() if definition else key} ({key})"


def destinations(algorithm, parameters, context):
    """``(key, file path, layer name or None)`` of the outputs that are files
    (or folders)."""
    for definition in algorithm.parameterDefinitions():
        if not definition.isDestination():
            continue
        value = parameters.get(definition.name(), definition.defaultValue())
        path, layer = destination_file(value, context)
        if not path:
            continue
        if definition.type() != "folderDestination" and not os.path.splitext(path)[1]:
            path += "." + definition.defaultFileExtension()  # what Processing does
        yield definition.name(), path, layer


def destination_file(value, context):
    """``(file path, layer name)`` of a destination value, ``("", None)`` when it
    is not a file: empty, temporary, a memory layer, a database or a GDAL
    virtual file (``/vsimem/…``)."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink
    if isinstance(value, QgsProperty):
        value = value.valueAsString(context.expressionContext())[0]
    value = str(value or "").strip()
    if value.startswith("ogr:"):
        uri = QgsDataSourceUri(value[len("ogr:"):])
        return uri.database(), uri.table() or None
    if not value or value == QgsProcessing.TEMPORARY_OUTPUT or value.startswith("/vsi") \
            or _PROVIDER_PREFIX.match(value):
        return "", None
    parts = QgsProviderRegistry.instance().decodeUri("ogr", value)
    return parts.get("path") or value, parts.get("layerName") or None


def input_files(algorithm, parameters, context):
    """``(key, file path)`` of the files the layer and file inputs read."""
    for definition in algorithm.parameterDefinitions():
        key = definition.name()
        if definition.isDestination() or parameters.get(key) in (None, ""):
            continue
        for source in _sources(algorithm, definition, parameters, context):
            for path in _files_of(source):
                yield key, path


def _sources(algorithm, definition, parameters, context):
    """The raw values and the sources of the layers of one input parameter."""
    kind, key, value = definition.type(), definition.name(), parameters[definition.name()]
    if kind == "file":
        return [algorithm.parameterAsFile(parameters, key, context)]
    if kind == "multilayer":
        values = value if isinstance(value, (list, tuple)) else [value]
        layers = algorithm.parameterAsLayerList(parameters, key, context) or []
        return [_raw(v) for v in values] + [_layer_source(layer) for layer in layers]
    if kind in _LAYER_INPUTS:
        return [_raw(value), _layer_source(algorithm.parameterAsLayer(parameters, key,
                                                                      context))]
    return []


def _raw(value):
    if isinstance(value, QgsProcessingFeatureSourceDefinition):
        value = value.source.staticValue()
    if isinstance(value, QgsMapLayer):
        return _layer_source(value)
    return value if isinstance(value, str) else ""


def _layer_source(layer):
    if layer is None:
        return ""
    parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source())
    return parts.get("path") or layer.source()


def _files_of(source):
    """The existing files a source string may name (plain, OGR or GDAL form)."""
    if not source:
        return set()
    registry = QgsProviderRegistry.instance()
    candidates = {source, registry.decodeUri("ogr", source).get("path"),
                  registry.decodeUri("gdal", source).get("path")}
    return {path for path in candidates if path and os.path.isfile(path)}


def same_file(a, b):
    """Whether the paths ``a`` and ``b`` name one file (links resolved)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)

