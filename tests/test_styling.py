"""Styles of the outputs (algorithms/styling.py): renderers, the post-processor
Processing runs when it loads an output, and the .qml sidecars."""

import gc
import os

import numpy as np
import pytest

from landslide_susceptibility.core.class_statistics import CLASS_COLOURS, CLASS_NAMES
from landslide_susceptibility.core.raster_io import write_raster

GT = (500000.0, 10.0, 0.0, 4200000.0, 0.0, -10.0)


@pytest.fixture
def rasters(tmp_path):
    rng = np.random.default_rng(0)
    classes = write_raster(str(tmp_path / "classes.tif"),
                           rng.integers(1, 6, (8, 8)).astype(np.uint8), GT, 32617, nodata=0)
    probability = write_raster(str(tmp_path / "probability.tif"),
                               rng.random((8, 8)).astype(np.float32), GT, 32617, nodata=-1)
    return classes, probability


def _raster(path):
    from qgis.core import QgsRasterLayer

    options = QgsRasterLayer.LayerOptions()
    options.loadDefaultStyle = False
    layer = QgsRasterLayer(path, os.path.basename(path), "gdal", options)
    assert layer.isValid()
    return layer


def _samples_layer():
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

    layer = QgsVectorLayer("Point?crs=EPSG:32617&field=label:integer&field=split:string(10)"
                           "&field=row:integer&field=col:integer", "samples", "memory")
    features = []
    for index, (label, split) in enumerate([(1, "train"), (0, "validation"), (1, "test")]):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([label, split, index, index])
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(500000 + index, 4200000)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def assert_classes(renderer):
    from qgis.core import QgsPalettedRasterRenderer

    assert isinstance(renderer, QgsPalettedRasterRenderer)
    classes = renderer.classes()
    assert len(classes) == 5
    assert [int(c.value) for c in classes] == [1, 2, 3, 4, 5]
    assert [c.label for c in classes] == ["Very low", "Low", "Moderate", "High", "Very high"]
    assert [c.color.name() for c in classes] == list(CLASS_COLOURS)
    assert classes[0].color.green() > classes[0].color.red()  # green …
    assert classes[4].color.red() > classes[4].color.green()  # … to red


def assert_probability(renderer, minimum=0.0, maximum=1.0):
    from qgis.core import QgsColorRampShader, QgsSingleBandPseudoColorRenderer

    assert isinstance(renderer, QgsSingleBandPseudoColorRenderer)
    assert renderer.classificationMin() == minimum
    assert renderer.classificationMax() == maximum
    function = renderer.shader().rasterShaderFunction()
    assert function.colorRampType() == QgsColorRampShader.Interpolated
    items = function.colorRampItemList()
    assert [item.value for item in items] == pytest.approx(
        np.linspace(minimum, maximum, 5).tolist())
    assert [item.color.name() for item in items] == list(CLASS_COLOURS)
    ok, red, green, blue, _alpha = function.shade(minimum)
    assert ok and (red, green, blue) == (0x1a, 0x98, 0x50)


def test_classes_renderer(qgis_app, rasters):
    from landslide_susceptibility.algorithms.styling import classes_renderer

    layer = _raster(rasters[0])
    layer.setRenderer(classes_renderer(layer))
    assert_classes(layer.renderer())
    assert tuple(CLASS_NAMES) == ("Very low", "Low", "Moderate", "High", "Very high")


def test_probability_renderer(qgis_app, rasters):
    from landslide_susceptibility.algorithms.styling import probability_renderer

    layer = _raster(rasters[1])
    layer.setRenderer(probability_renderer(layer))
    gc.collect()
    assert_probability(layer.renderer())
    other = _raster(rasters[1])
    other.setRenderer(probability_renderer(other, minimum=-2.0, maximum=2.0))
    assert_probability(other.renderer(), -2.0, 2.0)


def test_samples_renderer(qgis_app):
    from qgis.core import QgsCategorizedSymbolRenderer, QgsRenderContext

    from landslide_susceptibility.algorithms.styling import apply_style

    layer = _samples_layer()
    assert apply_style(layer, "samples")
    renderer = layer.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer)
    categories = renderer.categories()
    assert len(categories) == 6
    assert {c.label() for c in categories} >= {"landslide · train", "non-landslide · test"}
    context = QgsRenderContext()
    renderer.startRender(context, layer.fields())
    found = {}
    for feature in layer.getFeatures():
        context.expressionContext().setFeature(feature)  # as the layer renderer does
        symbol = renderer.symbolForFeature(feature, context)
        layer_symbol = symbol.symbolLayer(0)
        found[(feature["label"], feature["split"])] = (symbol.color().name(),
                                                       layer_symbol.shape())
    renderer.stopRender(context)
    from qgis.core import QgsSimpleMarkerSymbolLayerBase as Marker

    assert found[(1, "train")] == ("#d73027", Marker.Circle)
    assert found[(0, "validation")] == ("#1a9850", Marker.Triangle)
    assert found[(1, "test")] == ("#d73027", Marker.Square)


def test_apply_style_checks_the_layer(qgis_app, rasters):
    from landslide_susceptibility.algorithms.styling import apply_style, renderer_for

    assert not apply_style(_samples_layer(), "classes")
    assert not apply_style(_raster(rasters[0]), "samples")
    assert not apply_style(None, "classes")
    with pytest.raises(ValueError, match="Unknown style kind"):
        renderer_for(_raster(rasters[0]), "rainbow")


def test_style_output_on_load(qgis_app, rasters):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    from landslide_susceptibility.algorithms.styling import style_output_on_load

    classes, probability = rasters
    project = QgsProject()
    context = QgsProcessingContext()
    assert not style_output_on_load(context, classes, "classes")  # not loaded: nothing to do
    for path in (classes, probability):
        context.addLayerToLoadOnCompletion(
            path, QgsProcessingContext.LayerDetails(os.path.basename(path), project, "OUTPUT"))
    assert style_output_on_load(context, classes, "classes")
    assert style_output_on_load(context, probability, "probability")
    with pytest.raises(ValueError):
        style_output_on_load(context, classes, "rainbow")
    gc.collect()  # the post-processors must survive Python's garbage collection
    layers = {}
    for path, details in context.layersToLoadOnCompletion().items():  # as Processing does
        layers[path] = _raster(path)
        details.postProcessor().postProcessLayer(layers[path], context,
                                                 QgsProcessingFeedback())
    assert_classes(layers[classes].renderer())
    assert_probability(layers[probability].renderer())


def test_style_sidecars(qgis_app, rasters):
    from qgis.core import QgsRasterLayer

    from landslide_susceptibility.algorithms.styling import sidecar_path, write_style_sidecar

    classes, probability = rasters
    assert write_style_sidecar(classes, "classes") == sidecar_path(classes)
    assert sidecar_path(classes).endswith("classes.qml")
    assert write_style_sidecar(probability, "probability") == sidecar_path(probability)
    by_hand = QgsRasterLayer(classes, "opened by a user", "gdal")  # loads the default style
    assert_classes(by_hand.renderer())
    by_hand_probability = QgsRasterLayer(probability, "opened by a user", "gdal")
    assert_probability(by_hand_probability.renderer())
    with pytest.raises(ValueError):
        write_style_sidecar(classes, "samples")
    assert write_style_sidecar(str(os.path.dirname(classes)) + "/missing.tif",
                               "classes") is None
