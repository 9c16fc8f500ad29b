"""Processing parameters made from command specs, and specs read back from them.

The spec (``core/specs``) holds each default, range and choice list; this
module only translates: a spec field with a Processing ``key`` becomes a
``QgsProcessingParameter*`` of its kind, and the user's values become the
spec's fields again. Layers (``raster``, ``points``) are created here but read
by the algorithm, which knows how to turn them into paths.
"""

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterDistance,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
)

from ..core.specs import default_of
from ..core.specs.spec import LAYER_KINDS
from .inputs import AREA_TYPES, INVENTORY_TYPES


def spec_fields(spec_class, keys=None):
    """``[(field name, Param)]`` of the fields with a Processing key, in the order
    of ``keys`` when given."""
    fields = [(name, p) for name, p in spec_class.params() if p.key]
    if keys is None:
        return fields
    by_key = {p.key: (name, p) for name, p in fields}
    missing = [key for key in keys if key not in by_key]
    if missing:
        raise KeyError(f"{spec_class.__name__} has no parameter {', '.join(missing)}")
    return [by_key[key] for key in keys]


def add_spec_parameters(algorithm, spec_class, keys=None):
    """Add the Processing parameters of ``spec_class`` (or those named in ``keys``);
    the algorithm remembers the spec in ``spec_classes`` (tests compare them)."""
    algorithm.spec_classes = tuple(dict.fromkeys(getattr(algorithm, "spec_classes", ()) +
                                                 (spec_class,)))
    for name, p in spec_fields(spec_class, keys):
        algorithm.addParameter(make_parameter(p, default_of(spec_class, name)))


def make_parameter(p, default):
    """The ``QgsProcessingParameterDefinition`` of one spec field."""
    definition = _BUILDERS[p.kind](p, default)
    flags = definition.flags()
    if p.advanced:
        flags |= QgsProcessingParameterDefinition.FlagAdvanced
    if p.optional:
        flags |= QgsProcessingParameterDefinition.FlagOptional
    definition.setFlags(flags)
    if p.help:
        definition.setHelp(p.help)  # the dialog's tooltip and the algorithm's help list
    return definition


def _number(p, default):
    kind = QgsProcessingParameterNumber.Integer if p.kind == "int" else \
        QgsProcessingParameterNumber.Double
    return _with_range(QgsProcessingParameterNumber(p.key, p.label, kind, default), p)


def _distance(p, default):
    return _with_range(QgsProcessingParameterDistance(p.key, p.label, default, p.parent), p)


def _with_range(definition, p):
    if p.minimum is not None:
        definition.setMinimum(p.minimum)
    if p.maximum is not None:
        definition.setMaximum(p.maximum)
    if p.decimals is not None:  # the spin box shows 6.00, not 6.000000
        definition.setMetadata({"widget_wrapper": {"decimals": p.decimals}})
    return definition


def _enum(p, default):
    codes = p.codes()
    if p.kind == "enum_multi":
        return QgsProcessingParameterEnum(p.key, p.label, p.labels(), allowMultiple=True,
                                          defaultValue=[codes.index(c) for c in default])
    return QgsProcessingParameterEnum(p.key, p.label, p.labels(),
                                      defaultValue=codes.index(default))


_BUILDERS = {
    "int": _number,
    "float": _number,
    "distance": _distance,
    "bool": lambda p, default: QgsProcessingParameterBoolean(p.key, p.label, bool(default)),
    "enum": _enum,
    "enum_multi": _enum,
    "string": lambda p, default: QgsProcessingParameterString(p.key, p.label, default or None),
    "file": lambda p, default: QgsProcessingParameterFile(
        p.key, p.label, **({"fileFilter": p.file_filter} if "(" in p.file_filter
                           else {"extension": p.file_filter})),
    "files": lambda p, default: QgsProcessingParameterMultipleLayers(p.key, p.label,
                                                                     QgsProcessing.TypeFile),
    "file_dest": lambda p, default: QgsProcessingParameterFileDestination(
        p.key, p.label, p.file_filter),
    "folder_dest": lambda p, default: QgsProcessingParameterFolderDestination(p.key, p.label),
    "raster_dest": lambda p, default: QgsProcessingParameterRasterDestination(p.key, p.label),
    "raster": lambda p, default: QgsProcessingParameterRasterLayer(p.key, p.label),
    "points": lambda p, default: QgsProcessingParameterVectorLayer(
        p.key, p.label, [QgsProcessing.TypeVectorPoint]),
    "inventory": lambda p, default: QgsProcessingParameterMapLayer(p.key, p.label,
                                                                   types=INVENTORY_TYPES),
    "area": lambda p, default: QgsProcessingParameterMapLayer(p.key, p.label, types=AREA_TYPES),
}


def read_spec(algorithm, spec_class, parameters, context, **given):
    """The validated spec of the user's values; ``given`` supplies the layers
    (as paths) and anything else the algorithm resolves itself."""
    values = {}
    for name, p in spec_fields(spec_class):
        if name in given or p.kind in LAYER_KINDS:
            continue
        values[name] = _read_value(algorithm, p, parameters, context)
    return spec_class(**values, **given).validate()


def _read_value(algorithm, p, parameters, context):
    if p.kind == "int":  # 16.5 is refused by the spec, not rounded to 17
        value = algorithm.parameterAsDouble(parameters, p.key, context)
        return int(value) if float(value).is_integer() else value
    if p.kind in ("float", "distance"):
        return algorithm.parameterAsDouble(parameters, p.key, context)
    if p.kind == "bool":
        return algorithm.parameterAsBool(parameters, p.key, context)
    if p.kind == "enum":
        return p.codes()[algorithm.parameterAsEnum(parameters, p.key, context)]
    if p.kind == "enum_multi":
        codes = p.codes()
        return [codes[i] for i in algorithm.parameterAsEnums(parameters, p.key, context)]
    if p.kind == "file":
        return algorithm.parameterAsFile(parameters, p.key, context)
    if p.kind == "files":
        return [path for path in algorithm.parameterAsFileList(parameters, p.key, context)
                if path]  # QGIS gives [""] when none is chosen
    if p.kind == "file_dest":
        return algorithm.parameterAsFileOutput(parameters, p.key, context)
    if p.kind == "raster_dest":
        return algorithm.parameterAsOutputLayer(parameters, p.key, context)
    return algorithm.parameterAsString(parameters, p.key, context)
