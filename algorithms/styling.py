"""Styles of the plugin's outputs when QGIS shows them (QGIS side only).

- :func:`classes_renderer`: the five susceptibility classes (Byte raster,
  1..5) as a paletted renderer, green → red, labelled "Very low" … "Very high"
  with their value ranges (from the ``BREAKS`` the classes raster records);
- :func:`probability_renderer`: a probability raster as a continuous
  pseudo-colour ramp over 0..1 with the same five colours, "0 (low)" to "1 (high)";
- :func:`uncertainty_renderer`: an ensemble's standard deviation as a ramp from
  pale to purple over 0 .. its largest value, "0 (models agree)" to "… (models
  disagree)";
- :func:`samples_renderer`: the samples point layer of ``landslide:buildsamples``
  categorised by ``label`` (landslide red, non-landslide green) and ``split``
  (marker shape: train ●, validation ▲, test ■).

:func:`style_output_on_load` makes Processing apply one of them when it loads
an output (a :class:`QgsProcessingLayerPostProcessorInterface`; it also titles
the legend "Landslide probability" or "Susceptibility class" in place of QGIS's
"Band 1: landslide_probability (Gray)", on the layer's node in the project the
output is loaded into), and :func:`write_style_sidecar` saves a ``<name>.qml``
beside a raster output so QGIS styles the file also when a user opens it by
hand. :func:`name_layers_after_files` names loaded outputs after their files
(batch runs would otherwise load several layers of one name). Nothing here
touches ``QgsProject.instance()`` or ``iface``.
"""

import math
import os

from osgeo import gdal
from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsColorRampLegendNodeSettings,
    QgsColorRampShader,
    QgsGradientColorRamp,
    QgsGradientStop,
    QgsMapLayerLegendUtils,
    QgsMarkerSymbol,
    QgsPalettedRasterRenderer,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

from ..core.class_statistics import CLASS_COLOURS, CLASS_NAMES

KINDS = ("classes", "probability", "samples", "uncertainty")
LANDSLIDE_COLOUR = "#d73027"
NON_LANDSLIDE_COLOUR = "#1a9850"
SPLIT_SHAPES = {"train": "circle", "validation": "triangle", "test": "square"}
SAMPLE_LABELS = {1: "landslide", 0: "non-landslide"}
SAMPLES_EXPRESSION = "concat(\"label\", '_', \"split\")"
LEGEND_TITLES = {"classes": "Susceptibility class", "probability": "Landslide probability",
                 "uncertainty": "Uncertainty (sd of the probability)"}
UNCERTAINTY_COLOURS = ("#f7fcfd", "#bfd3e6", "#8c96c6", "#8856a7", "#810f7c")  # pale → purple

# Processing takes ownership of the post-processors, but a Python subclass must
# stay referenced from Python or its overrides are lost (the pattern of QGIS's
# own scripts). One per output, the most recent ones only.
_POST_PROCESSORS = {}
_KEEP_AT_MOST = 200


def classes_renderer(layer, band=1, breaks=None):
    """A :class:`QgsPalettedRasterRenderer` of classes 1..5, green → red, labelled
    with their value ranges (``breaks``, else those the raster records)."""
    labels = class_labels(breaks if breaks is not None else recorded_breaks(layer))
    classes = [QgsPalettedRasterRenderer.Class(value, QColor(colour), label)
               for value, (label, colour) in enumerate(zip(labels, CLASS_COLOURS,
                                                           strict=True), start=1)]
    return QgsPalettedRasterRenderer(layer.dataProvider(), band, classes)


def class_labels(breaks):
    """"Very low (≤ 0.2)", "Low (0.2 – 0.4)", … "Very high (> 0.8)" for the four
    inner ``breaks`` (class i holds the values in (b[i-1], b[i]]); the plain
    names without them."""
    if not breaks or len(breaks) != len(CLASS_NAMES) - 1:
        return list(CLASS_NAMES)
    text = [f"{float(b):.3g}" for b in breaks]
    ranges = [f"≤ {text[0]}"] + [f"{text[i]} – {text[i + 1]}" for i in range(len(text) - 1)] \
        + [f"> {text[-1]}"]
    return [f"{name} ({values})" for name, values in zip(CLASS_NAMES, ranges, strict=True)]


def recorded_breaks(layer):
    """The class breaks a classes raster records (metadata ``BREAKS`` written by
    Classify susceptibility), or None."""
    if not isinstance(layer, QgsRasterLayer) or layer.providerType() != "gdal":
        return None
    dataset = gdal.Open(layer.source().split("|")[0])
    text = dataset.GetMetadataItem("BREAKS") if dataset is not None else None
    try:
        return [float(value) for value in text.split(",")] if text else None
    except ValueError:
        return None


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
    return _ramp_renderer(layer, band, minimum, maximum, CLASS_COLOURS, probability_ramp(),
                          ("low", "high"))


def uncertainty_renderer(layer, band=1, maximum=None):
    """The standard deviation of an ensemble's probabilities: a ramp from pale (0, the
    models agree) to purple (``maximum``, by default the raster's largest value
    rounded up to 0.05; they disagree)."""
    maximum = maximum or uncertainty_maximum(layer)
    count = len(UNCERTAINTY_COLOURS)
    stops = [QgsGradientStop(index / (count - 1), QColor(colour))
             for index, colour in enumerate(UNCERTAINTY_COLOURS[1:-1], start=1)]
    ramp = QgsGradientColorRamp(QColor(UNCERTAINTY_COLOURS[0]),
                                QColor(UNCERTAINTY_COLOURS[-1]), False, stops)
    return _ramp_renderer(layer, band, 0.0, maximum, UNCERTAINTY_COLOURS, ramp,
                          ("models agree", "models disagree"))


def uncertainty_maximum(layer, band=1):
    """The largest standard deviation the raster records, rounded up to 0.05 (0.05 to
    0.5, the largest possible); 0.25 when it records none."""
    value = None
    if isinstance(layer, QgsRasterLayer) and layer.providerType() == "gdal":
        dataset = gdal.Open(layer.source().split("|")[0])
        if dataset is not None:
            value = dataset.GetRasterBand(band).GetMetadataItem("STATISTICS_MAXIMUM")
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.25
    return min(0.5, max(0.05, round(math.ceil(value / 0.05 - 1e-9) * 0.05, 2)))


def _ramp_renderer(layer, band, minimum, maximum, colours, ramp, words):
    """A pseudo-colour renderer: ``colours`` evenly over ``minimum``..``maximum``, the
    legend's ends labelled with ``words`` ("0 (low)", "1 (high)")."""
    count = len(colours)
    function = QgsColorRampShader(minimum, maximum)
    function.setColorRampType(QgsColorRampShader.Interpolated)
    function.setSourceColorRamp(ramp)
    items = []
    for index, colour in enumerate(colours):
        value = round(minimum + (maximum - minimum) * index / (count - 1), 6)
        items.append(QgsColorRampShader.ColorRampItem(value, QColor(colour), f"{value:g}"))
    function.setColorRampItemList(items)
    legend = QgsColorRampLegendNodeSettings()
    legend.setMinimumLabel(f"{minimum:g} ({words[0]})")
    legend.setMaximumLabel(f"{maximum:g} ({words[1]})")
    function.setLegendSettings(legend)
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
    if kind == "uncertainty":
        return uncertainty_renderer(layer)
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
            return
        title_legend(layer, context.project() if context is not None else None, self.kind)


def title_legend(layer, project, kind):
    """Title the legend of ``layer`` in ``project``'s layer tree (the project the
    output was loaded into) "Landslide probability" or "Susceptibility class",
    in place of the band name QGIS shows ("Band 1: landslide_probability
    (Gray)"). False when there is no such node (or no title for ``kind``)."""
    title = LEGEND_TITLES.get(kind)
    node = project.layerTreeRoot().findLayer(layer.id()) if project is not None else None
    if not title or node is None:
        return False
    QgsMapLayerLegendUtils.setLegendNodeUserLabel(node, 0, title)
    if layer.legend() is not None:
        layer.legend().itemsChanged.emit()  # the layer tree re-reads the labels
    return True


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


def name_layers_after_files(algorithm, results, context):
    """Outputs that Processing loads when the algorithm ends are named after their
    files ("susceptibility_cnn") rather than all after the output's label
    ("Landslide susceptibility (probability)"), as QGIS 3.22 does; outputs in
    Processing's temporary folder keep the label."""
    temporary = os.path.realpath(QgsProcessingUtils.tempFolder())
    for definition in algorithm.destinationParameterDefinitions():
        value = results.get(definition.name()) if isinstance(results, dict) else None
        if not isinstance(value, str) or not context.willLoadLayerOnCompletion(value):
            continue
        path = value.split("|")[0]
        if not os.path.isfile(path) or os.path.realpath(path).startswith(temporary + os.sep):
            continue
        details = context.layerToLoadOnCompletionDetails(value)
        details.name = os.path.splitext(os.path.basename(path))[0]
        details.forceName = True


def sidecar_path(path):
    """Where QGIS looks for a raster file's default style: ``<name>.qml``."""
    return os.path.splitext(path)[0] + ".qml"


def write_style_sidecar(path, kind):
    """Save the ``classes`` or ``probability`` style as ``<name>.qml`` beside the
    raster ``path``; QGIS then styles the file whenever it is opened. Returns the
    .qml path, or None when the raster could not be loaded or saved."""
    if kind not in ("classes", "probability", "uncertainty"):
        raise ValueError("Style sidecars are written for 'classes', 'probability' and "
                         "'uncertainty' rasters.")
    options = QgsRasterLayer.LayerOptions()
    options.loadDefaultStyle = False
    layer = QgsRasterLayer(path, os.path.basename(path), "gdal", options)
    if not apply_style(layer, kind):
        return None
    target = sidecar_path(path)
    _message, ok = layer.saveNamedStyle(target)
    return target if ok else None
