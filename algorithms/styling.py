"""Styles of the plugin's outputs when QGIS shows them (QGIS side only).

- :func:`classes_renderer`: the five susceptibility classes (Byte raster,
  1..5) as a paletted renderer, green → red, labelled "Very low" … "Very high";
- :func:`probability_renderer`: a probability raster as a continuous
  pseudo-colour ramp over 0..1 with the same five colours;
- :func:`samples_renderer`: the samples point layer of ``landslide:buildsamples``
  categorised by ``label`` (landslide red, non-landslide green) and ``split``
  (marker shape: train ●, validation ▲, test ■).

:func:`style_output_on_load` makes Processing apply one of them when it loads
an output (a :class:`QgsProcessingLayerPostProcessorInterface`), and
:func:`write_style_sidecar` saves a ``<name>.qml`` beside a raster output so
QGIS styles the file also when a user opens it by hand. Nothing here touches
``QgsProject.instance()`` or ``iface``.
"""

import os

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsGradientColorRamp,
    QgsGradientStop,
    QgsMarkerSymbol,
    QgsPalettedRasterRenderer,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

from ..core.class_statistics import CLASS_COLOURS, CLASS_NAMES

KINDS = ("classes", "probability", "samples")
LANDSLIDE_COLOUR = "#d73027"
NON_LANDSLIDE_COLOUR = "#1a9850"
SPLIT_SHAPES = {"train": "circle", "validation": "triangle", "test": "square"}
SAMPLE_LABELS = {1: "landslide", 0: "non-landslide"}
SAMPLES_EXPRESSION = "concat(\"label\", '_', \"split\")"

# Processing takes ownership of the post-processors, but a Python subclass must
# stay referenced from Python or its overrides are lost (the pattern of QGIS's
# own scripts). One per output, the most recent ones only.
_POST_PROCESSORS = {}
_KEEP_AT_MOST = 200


def classes_renderer(layer, band=1):
    """A :class:`QgsPalettedRasterRenderer` of classes 1..5, green → red."""
    classes = [QgsPalettedRasterRenderer.Class(value, QColor(colour), name)
               for value, (name, colour) in enumerate(zip(CLASS_NAMES, CLASS_COLOURS,
                                                          strict=True), start=1)]
    return QgsPalettedRasterRenderer(layer.dataProvider(), band, classes)


def probability_ramp():
    """The five class colours as a :class:`QgsGradientColorRamp` (0 → 1)."""
    count = len(CLASS_COLOURS)
    stops = [QgsGradientStop(index / (count - 1), QColor(colour))
             for index, colour in enumerate(CLASS_COLOURS[1:-1], start=1)]
    return QgsGradientColorRamp(QColor(CLASS_COLOURS[0]), QColor(CLASS_COLOURS[-1]), False,
                                stops)


def probability_renderer(layer, band=1, minimum=0.0, maximum=1.0):
    """A :class:`QgsSingleBandPseudoColorRenderer`: interpolated ramp over
    ``minimum``..``maximum`` (0..1 for probabilities), green → red."""
    count = len(CLASS_COLOURS)
    function = QgsColorRampShader(minimum, maximum)
    function.setColorRampType(QgsColorRampShader.Interpolated)
    function.setSourceColorRamp(probability_ramp())
    items = []
    for index, colour in enumerate(CLASS_COLOURS):
        value = minimum + (maximum - minimum) * index / (count - 1)
        items.append(QgsColorRampShader.ColorRampItem(value, QColor(colour), f"{value:g}"))
    function.setColorRampItemList(items)
    shader = QgsRasterShader(minimum, maximum)
    shader.setRasterShaderFunction(function)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), band, shader)
    renderer.setClassificationMin(minimum)
    renderer.setClassificationMax(maximum)
    return renderer


def _marker(colour, shape):
    return QgsMarkerSymbol.createSimple({
        "name": shape, "color": colour, "outline_color": "#333333", "outline_width": "0.2",
        "size": "2.4" if shape != "triangle" else "2.8"})


def samples_renderer(layer=None):
    """A :class:`QgsCategorizedSymbolRenderer` of the samples: colour by ``label``
    (1 landslide red, 0 non-landslide green), marker by ``split``."""
    categories = []
    for label, label_name in SAMPLE_LABELS.items():
        colour = LANDSLIDE_COLOUR if label == 1 else NON_LANDSLIDE_COLOUR
        for split, shape in SPLIT_SHAPES.items():
            categories.append(QgsRendererCategory(f"{label}_{split}", _marker(colour, shape),
                                                  f"{label_name} · {split}"))
    return QgsCategorizedSymbolRenderer(SAMPLES_EXPRESSION, categories)


def renderer_for(layer, kind):
    """The renderer of ``kind`` (one of :data:`KINDS`) for ``layer``."""
    if kind not in KINDS:
        raise ValueError(f"Unknown style kind '{kind}'; one of {', '.join(KINDS)}.")
    if kind == "samples":
        return samples_renderer(layer)
    if kind == "classes":
        return classes_renderer(layer)
    return probability_renderer(layer)


def apply_style(layer, kind):
    """Set the renderer of ``kind`` on ``layer``; False when the layer does not fit."""
    if layer is None or not layer.isValid():
        return False
    wants_vector = kind == "samples"
    if wants_vector != isinstance(layer, QgsVectorLayer) or \
            (not wants_vector and not isinstance(layer, QgsRasterLayer)):
        return False
    layer.setRenderer(renderer_for(layer, kind))
    layer.triggerRepaint()
    return True


class StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applies the style ``kind`` to an output when Processing loads it."""

    def __init__(self, kind):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"Unknown style kind '{kind}'; one of {', '.join(KINDS)}.")
        self.kind = kind

    def postProcessLayer(self, layer, context, feedback):
        if not apply_style(layer, self.kind) and feedback is not None:
            feedback.pushDebugInfo(f"Could not apply the '{self.kind}' style to the output.")


def style_output_on_load(context, dest_id, kind):
    """Style the output ``dest_id`` (the value ``parameterAsOutputLayer`` or a
    sink returned) with ``kind`` when Processing loads it on completion.

    Returns True when a post-processor was set (the output will be loaded).
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown style kind '{kind}'; one of {', '.join(KINDS)}.")
    if not dest_id or not context.willLoadLayerOnCompletion(dest_id):
        return False
    processor = StylePostProcessor(kind)
    _POST_PROCESSORS.pop(dest_id, None)
    _POST_PROCESSORS[dest_id] = processor
    while len(_POST_PROCESSORS) > _KEEP_AT_MOST:
        _POST_PROCESSORS.pop(next(iter(_POST_PROCESSORS)))
    context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(processor)
    return True


def sidecar_path(path):
    """Where QGIS looks for a raster file's default style: ``<name>.qml``."""
    return os.path.splitext(path)[0] + ".qml"


def write_style_sidecar(path, kind):
    """Save the ``classes`` or ``probability`` style as ``<name>.qml`` beside the
    raster ``path``; QGIS then styles the file whenever it is opened. Returns the
    .qml path, or None when the raster could not be loaded or saved."""
    if kind not in ("classes", "probability"):
        raise ValueError("Style sidecars are written for 'classes' and 'probability' rasters.")
    options = QgsRasterLayer.LayerOptions()
    options.loadDefaultStyle = False
    layer = QgsRasterLayer(path, os.path.basename(path), "gdal", options)
    if not apply_style(layer, kind):
        return None
    target = sidecar_path(path)
    _message, ok = layer.saveNamedStyle(target)
    return target if ok else None
