"""landslide:buildsamples on the sample area and on the real Ecuador data."""

import json
import os

import numpy as np
import pytest
from osgeo import gdal, ogr
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer

from landslide_susceptibility.core.sample_layer import read_sample_layer
from landslide_susceptibility.core.specs.samples import MAX_OVERSAMPLING
from landslide_susceptibility.core.stack import read_stack_info, valid_mask


def build(run_alg, stack, inventory, output, context=None, **extra):
    params = {"STACK": stack, "INVENTORY": inventory, "PATCH_SIZE": 16,
              "SAMPLES_PER_CLASS": 60, "SPLIT_METHOD": 0, "BLOCK_SIZE": 400.0, "SEED": 0,
              "OUTPUT": output if not isinstance(output, os.PathLike) else str(output)}
    params.update(extra)
    return run_alg("landslide:buildsamples", params, context=context)


def layer_arrays(path):
    rows, cols, labels, splits = read_sample_layer(str(path))
    return rows, cols, labels, splits


def test_random_split_counts_validity_and_leakage(run_alg, small_stack, sample_area, tmp_path):
    result = build(run_alg, small_stack, sample_area["files"]["landslides"],
                   tmp_path / "s.gpkg")
    rows, cols, labels, splits = layer_arrays(result["OUTPUT"])
    assert result["SAMPLE_COUNT"] == 120 == len(rows)
    for split, count in (("train", 36), ("validation", 12), ("test", 12)):
        assert np.sum((splits == split) & (labels == 1)) == count
        assert np.sum((splits == split) & (labels == 0)) == count
    info = read_stack_info(small_stack)
    assert valid_mask(info)[rows, cols].all()
    assert result["LEAKAGE"] > 0
    # points sit at the centres of their cells
    layer = QgsVectorLayer(result["OUTPUT"], "samples", "ogr")
    x0, dx, _, y0, _, dy = info.geotransform
    for feature in layer.getFeatures():
        point = feature.geometry().asPoint()
        assert point.x() == pytest.approx(x0 + (feature["col"] + 0.5) * dx)
        assert point.y() == pytest.approx(y0 + (feature["row"] + 0.5) * dy)
    dataset = ogr.Open(result["OUTPUT"])  # keep the datasource alive while using its layer
    metadata = dataset.GetLayer(0).GetMetadataItem("LANDSLIDE_SAMPLES")
    assert '"leakage"' in metadata


def test_spatial_split_has_zero_leakage(run_alg, small_stack, sample_area, tmp_path):
    result = build(run_alg, small_stack, sample_area["files"]["landslides"],
                   tmp_path / "s.gpkg", SPLIT_METHOD=1, BLOCK_SIZE=300.0,
                   SAMPLES_PER_CLASS=30)
    assert result["LEAKAGE"] == 0.0
    rows, cols, labels, splits = layer_arrays(result["OUTPUT"])
    train, test = splits == "train", splits == "test"
    dr = np.abs(rows[test][:, None] - rows[train][None])
    dc = np.abs(cols[test][:, None] - cols[train][None])
    assert not ((dr < 16) & (dc < 16)).any()


def test_same_seed_same_layer(run_alg, small_stack, sample_area, tmp_path):
    landslides = sample_area["files"]["landslides"]
    a = layer_arrays(build(run_alg, small_stack, landslides, tmp_path / "a.gpkg")["OUTPUT"])
    b = layer_arrays(build(run_alg, small_stack, landslides, tmp_path / "b.gpkg")["OUTPUT"])
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)


def test_inventory_in_another_crs_is_reprojected(run_alg, small_stack, sample_area, tmp_path):
    landslides = sample_area["files"]["landslides"]
    moved = str(tmp_path / "landslides_4326.gpkg")
    gdal.VectorTranslate(moved, landslides, dstSRS="EPSG:4326", reproject=True)
    a = layer_arrays(build(run_alg, small_stack, landslides, tmp_path / "a.gpkg")["OUTPUT"])
    b = layer_arrays(build(run_alg, small_stack, moved, tmp_path / "b.gpkg")["OUTPUT"])
    landslide_a = set(zip(a[0][a[2] == 1], a[1][a[2] == 1], strict=True))
    landslide_b = set(zip(b[0][b[2] == 1], b[1][b[2] == 1], strict=True))
    # the same landslide pixels, up to cells on polygon edges after reprojection
    assert len(landslide_a & landslide_b) >= 0.5 * len(landslide_a)


def test_ecuador_points_inventory(run_alg, ecuador, tmp_path):
    from landslide_susceptibility.core.align import align_factors

    stack = str(tmp_path / "ecuador_stack.tif")
    align_factors([str(ecuador / f"{n}.tif") for n in
                   ("elev", "slope", "cplan", "cprof", "log10_carea")], [], stack)
    result = build(run_alg, stack, str(ecuador / "landslides.gpkg"), tmp_path / "e.gpkg",
                   SAMPLES_PER_CLASS=150, SPLIT_METHOD=1, BLOCK_SIZE=800.0, PATCH_SIZE=16)
    rows, cols, labels, splits = layer_arrays(result["OUTPUT"])
    assert result["LEAKAGE"] == 0.0
    assert set(splits) == {"train", "validation", "test"}
    assert np.sum(labels == 1) == 150


@pytest.mark.parametrize("extra, message", [
    ({"TRAIN_RATIO": 0, "VALIDATION_RATIO": 0, "TEST_RATIO": 0}, "sum to a positive number"),
    ({"PATCH_SIZE": 5000}, "does not fit the stack"),
    ({"NEGATIVE_BUFFER": 100000.0}, "Fewer than 2 valid non-landslide centres"),
    ({"SPLIT_METHOD": 1, "BLOCK_SIZE": 50000.0}, "spatial split gives the"),
])
def test_bad_input_is_explained(run_alg, small_stack, sample_area, tmp_path, extra, message):
    with pytest.raises(QgsProcessingException, match=message):
        build(run_alg, small_stack, sample_area["files"]["landslides"], tmp_path / "x.gpkg",
              **extra)
    assert not (tmp_path / "x.gpkg").exists()


def test_inventory_outside_the_stack(run_alg, small_stack, tmp_path):
    far = QgsVectorLayer("Point?crs=EPSG:32617", "far", "memory")
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY

    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(100000, 100000)))
    far.dataProvider().addFeatures([feature])
    with pytest.raises(QgsProcessingException, match="(?i)outside|no .*feature|does not"):
        build(run_alg, small_stack, far, tmp_path / "x.gpkg")


def test_samples_are_styled_by_label_and_split_when_loaded(run_alg, small_stack, sample_area,
                                                           tmp_path):
    from qgis.core import (
        QgsCategorizedSymbolRenderer,
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProcessingOutputLayerDefinition,
        QgsProject,
    )

    output = str(tmp_path / "styled.gpkg")
    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    build(run_alg, small_stack, sample_area["files"]["landslides"],
          QgsProcessingOutputLayerDefinition(output, project), context=context)
    details = context.layerToLoadOnCompletionDetails(output)
    assert details.postProcessor() is not None
    layer = QgsVectorLayer(output, "samples", "ogr")
    details.postProcessor().postProcessLayer(layer, context, QgsProcessingFeedback())
    renderer = layer.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer)
    values = {category.value() for category in renderer.categories()}
    assert {"1_train", "0_train", "1_test", "0_validation"} <= values


def test_oversampled_centres_stay_in_one_split_and_are_counted(run_alg, small_stack,
                                                               sample_area, tmp_path):
    landslides = sample_area["files"]["landslides"]
    feedback = QgsProcessingFeedback()
    result = run_alg("landslide:buildsamples", {
        "STACK": small_stack, "INVENTORY": landslides, "PATCH_SIZE": 16,
        "SAMPLES_PER_CLASS": 600, "SPLIT_METHOD": 0, "SEED": 0,
        "OUTPUT": str(tmp_path / "many.gpkg")}, feedback=feedback)
    rows, cols, labels, splits = layer_arrays(result["OUTPUT"])
    split_of = {}
    for centre in zip(labels, rows, cols, splits, strict=True):
        split_of.setdefault(centre[:3], set()).add(centre[3])
    assert all(len(found) == 1 for found in split_of.values())  # no centre in two splits
    dataset = ogr.Open(result["OUTPUT"])
    summary = json.loads(dataset.GetLayer(0).GetMetadataItem("LANDSLIDE_SAMPLES"))
    available = summary["landslide_pixels"]
    assert available < 600 == np.sum(labels == 1)
    assert summary["repeats"] == {"landslide": 600 - available, "non_landslide": 0}
    assert f"{600 - available:,} are repeats" in feedback.textLog()
    too_many = MAX_OVERSAMPLING * available + 1
    with pytest.raises(QgsProcessingException,
                       match=f"Samples per class {too_many} is more than {MAX_OVERSAMPLING} × "
                             f"the {available:,} landslide pixels available; lower "
                             f"Samples per class \\(SAMPLES_PER_CLASS\\) to "
                             f"{MAX_OVERSAMPLING * available:,}"):
        build(run_alg, small_stack, landslides, tmp_path / "x.gpkg",
              SAMPLES_PER_CLASS=too_many)
    assert not (tmp_path / "x.gpkg").exists()
