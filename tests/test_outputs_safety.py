"""Outputs never replace inputs, folders are checked before any work, and
existing multi-layer GeoPackages keep their layers (issue 13, items 1 and 5)."""

import hashlib
import os
import shutil

import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from qgis.core import QgsApplication, QgsProcessingException, QgsProcessingFeedback

from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.files import atomic_output, check_writable_dir
from landslide_susceptibility.core.sample_layer import write_sample_layer

BREAKS = {"METHOD": 3, "BREAKS": "0.2,0.4,0.6,0.8"}  # manual: no engine


def label(algorithm_id, key):
    """``Label (KEY)`` as the refusal names a parameter."""
    algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    return f"{algorithm.parameterDefinition(key).description()} ({key})"


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def refused(run_alg, algorithm_id, params, *keys):
    """Run, expect a refusal naming ``keys`` by label; the message and the log
    (empty when the refusal came before any work)."""
    feedback = QgsProcessingFeedback()
    with pytest.raises(QgsProcessingException) as caught:
        run_alg(algorithm_id, params, feedback=feedback)
    message = str(caught.value)
    for key in keys:
        assert label(algorithm_id, key) in message, message
    return message, feedback.textLog()


def tiny_raster(path, values):
    """A float32 GeoTIFF of ``values`` (UTM 17N, 10 m cells)."""
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0],
                                                   1, gdal.GDT_Float32)
    dataset.SetGeoTransform([500000.0, 10.0, 0.0, 9900000.0, 0.0, -10.0])
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(values.astype(np.float32))
    dataset = None
    return str(path)


def multi_layer_geopackage(path, names=("roads", "notes")):
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    for name in names:
        layer = dataset.CreateLayer(name, None, ogr.wkbNone)
        layer.CreateField(ogr.FieldDefn("text", ogr.OFTString))
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("text", name)
        layer.CreateFeature(feature)
    dataset = None
    return str(path)


def layer_names(path):
    dataset = ogr.Open(str(path))
    return sorted(dataset.GetLayer(i).GetName() for i in range(dataset.GetLayerCount()))


def samples_params(stack, inventory, output):
    return {"STACK": stack, "INVENTORY": inventory, "PATCH_SIZE": 16,
            "SAMPLES_PER_CLASS": 20, "SEED": 0, "OUTPUT": str(output)}


def classify_params(raster, tmp_path, **extra):
    params = dict(BREAKS, SUSCEPTIBILITY=raster, OUTPUT=str(tmp_path / "classes.tif"),
                  OUTPUT_TABLE=str(tmp_path / "classes.gpkg"),
                  OUTPUT_REPORT=str(tmp_path / "classes.html"))
    return dict(params, **extra)


# --- an output that is an input -------------------------------------------------------


def test_buildsamples_output_is_the_inventory(run_alg, small_stack, sample_area, tmp_path):
    inventory = tmp_path / "x.gpkg"
    shutil.copy(sample_area["files"]["landslides"], inventory)
    before = digest(inventory)
    message, _log = refused(run_alg, "landslide:buildsamples",
                            samples_params(small_stack, str(inventory), inventory),
                            "OUTPUT", "INVENTORY")
    assert "would overwrite" in message and str(inventory) in message
    assert digest(inventory) == before


def test_buildsamples_output_through_a_link_and_a_layer_uri(run_alg, small_stack, sample_area,
                                                            tmp_path):
    inventory = tmp_path / "x.gpkg"
    shutil.copy(sample_area["files"]["landslides"], inventory)
    name = layer_names(inventory)[0]
    link = tmp_path / "link.gpkg"
    link.symlink_to(inventory)
    before = digest(inventory)
    refused(run_alg, "landslide:buildsamples",
            samples_params(small_stack, f"{inventory}|layername={name}", link),
            "OUTPUT", "INVENTORY")
    assert digest(inventory) == before


def test_alignfactors_output_is_a_factor(run_alg, sample_area, tmp_path):
    factor = tmp_path / "dem.tif"
    shutil.copy(sample_area["files"]["dem"], factor)
    before = digest(factor)
    message, _log = refused(run_alg, "landslide:alignfactors", {
        "CONTINUOUS_FACTORS": [sample_area["files"]["ndvi"], str(factor)],
        "CATEGORICAL_FACTORS": [], "OUTPUT": str(factor)}, "OUTPUT", "CONTINUOUS_FACTORS")
    assert "would overwrite" in message
    assert digest(factor) == before


def test_classify_output_is_the_susceptibility(run_alg, tmp_path):
    raster = tiny_raster(tmp_path / "p.tif", np.linspace(0, 1, 36).reshape(6, 6))
    before = digest(raster)
    message, _log = refused(run_alg, "landslide:classifysusceptibility",
                            classify_params(raster, tmp_path, OUTPUT=raster),
                            "OUTPUT", "SUSCEPTIBILITY")
    assert "would overwrite" in message
    assert digest(raster) == before


def test_predict_output_is_the_stack_refused_before_the_engine(run_alg, small_stack, tmp_path):
    stack = tmp_path / "stack.tif"
    shutil.copy(small_stack, stack)
    model = tmp_path / "dummy.keras"
    model.write_bytes(b"not a model: the check must come first")
    before = digest(stack)
    message, log = refused(run_alg, "landslide:predictsusceptibility", {
        "MODEL": str(model), "STACK": str(stack), "OUTPUT": str(stack)}, "OUTPUT", "STACK")
    assert "would overwrite" in message
    assert log == ""
    assert digest(stack) == before


def test_two_outputs_in_one_file(run_alg, tmp_path):
    raster = tiny_raster(tmp_path / "p.tif", np.linspace(0, 1, 36).reshape(6, 6))
    same = str(tmp_path / "both.tif")
    message, _log = refused(run_alg, "landslide:classifysusceptibility",
                            classify_params(raster, tmp_path, OUTPUT=same, OUTPUT_REPORT=same),
                            "OUTPUT", "OUTPUT_REPORT")
    assert "same file" in message and not os.path.exists(same)


# --- output folders ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_trainmodel_unwritable_folder_refused_before_training(run_alg, small_stack,
                                                              small_samples, tmp_path, where):
    if where == "proc":
        output = "/proc/landslide_model.keras"
    else:
        (tmp_path / "file.txt").write_text("a file, not a folder")
        output = str(tmp_path / "file.txt" / "models" / "m.keras")
    message, log = refused(run_alg, "landslide:trainmodel", {
        "STACK": small_stack, "SAMPLES": small_samples, "MODEL": 0, "EPOCHS": 1,
        "BATCH_SIZE": 16, "OUTPUT_MODEL": output, "OUTPUT_METRICS": "TEMPORARY_OUTPUT",
        "OUTPUT_REPORT": str(tmp_path / "r.html")}, "OUTPUT_MODEL")
    assert "folder" in message and "Choose a folder you can write to" in message
    assert ".partial" not in message
    assert log == ""  # nothing started: no engine, no epoch
    assert not os.path.exists(tmp_path / "r.html")


def test_check_writable_dir_creates_nothing(tmp_path):
    folder = tmp_path / "a" / "b"
    assert check_writable_dir(str(folder)) == str(folder)
    assert not (tmp_path / "a").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        check_writable_dir(str(tmp_path / "f" / "sub"), "folder of Trained model")


def test_atomic_output_errors_name_the_output(tmp_path):
    path = str(tmp_path / "out.tif")
    with pytest.raises(RuntimeError) as caught, atomic_output(path) as tmp:
        raise RuntimeError(f"{tmp}: No space left on device")
    assert str(caught.value) == f"{path}: No space left on device"
    with pytest.raises(OSError) as caught, atomic_output(path) as tmp:
        open(os.path.join(tmp, "inside"), "rb")
    assert ".partial" not in str(caught.value) and "out.tif" in str(caught.value)
    assert os.listdir(tmp_path) == []


# --- GeoPackages with other layers ------------------------------------------------------


def test_samples_into_a_multi_layer_geopackage_is_refused(run_alg, small_stack, sample_area,
                                                          tmp_path):
    target = multi_layer_geopackage(tmp_path / "project.gpkg")
    before = digest(target)
    message, log = refused(run_alg, "landslide:buildsamples",
                           samples_params(small_stack, sample_area["files"]["landslides"],
                                          target), "OUTPUT")
    assert "2 layers (notes, roads)" in message and "Choose a new file" in message
    assert log == "" and digest(target) == before


def test_table_into_a_multi_layer_geopackage_is_refused(run_alg, tmp_path):
    raster = tiny_raster(tmp_path / "p.tif", np.linspace(0, 1, 36).reshape(6, 6))
    target = multi_layer_geopackage(tmp_path / "project.gpkg")
    refused(run_alg, "landslide:classifysusceptibility",
            classify_params(raster, tmp_path, OUTPUT_TABLE=target), "OUTPUT_TABLE")
    assert layer_names(target) == ["notes", "roads"]
    assert not os.path.exists(tmp_path / "classes.tif")


def test_single_layer_output_is_replaced_as_before(run_alg, small_stack, sample_area,
                                                   tmp_path):
    output = tmp_path / "s.gpkg"
    params = samples_params(small_stack, sample_area["files"]["landslides"], output)
    run_alg("landslide:buildsamples", params)
    result = run_alg("landslide:buildsamples", dict(params, SEED=1))
    assert layer_names(result["OUTPUT"]) == ["samples"]


def test_core_writer_refuses_a_multi_layer_geopackage(tmp_path):
    target = multi_layer_geopackage(tmp_path / "project.gpkg")
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    with pytest.raises(InputError, match="would be lost"):
        write_sample_layer(target, [0], [0], [1], ["train"], (0, 1, 0, 0, 0, -1),
                           srs.ExportToWkt())
    assert layer_names(target) == ["notes", "roads"]
