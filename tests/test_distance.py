"""Distance to features (core/distance.py, landslide:distancetofeatures)."""

import numpy as np
import pytest
from osgeo import gdal, ogr

from landslide_susceptibility.core.distance import distance_to_features
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.raster_io import srs_from_epsg, write_raster, write_vector

GT = (1000.0, 10.0, 0.0, 2000.0, 0.0, -10.0)  # 30 x 40 cells of 10 m, EPSG:32617


def reference_grid(folder):
    path = str(folder / "grid.tif")
    write_raster(path, np.zeros((30, 40), np.float32), GT, 32617)
    return path


def points_layer(folder, points, epsg=32617, name="points.gpkg"):
    features = []
    for x, y in points:
        geometry = ogr.Geometry(ogr.wkbPoint)
        geometry.AddPoint_2D(x, y)
        features.append((geometry, {}))
    return write_vector(str(folder / name), "points", ogr.wkbPoint, epsg, [], features)


def brute_force(points):
    """Distance from every cell centre to the centre of the cell holding the nearest point."""
    rows, cols = np.mgrid[0:30, 0:40]
    cx, cy = GT[0] + (cols + 0.5) * 10, GT[3] - (rows + 0.5) * 10
    best = np.full(cx.shape, np.inf)
    for x, y in points:
        px = GT[0] + (np.floor((x - GT[0]) / 10) + 0.5) * 10
        py = GT[3] - (np.floor((GT[3] - y) / 10) + 0.5) * 10
        best = np.minimum(best, np.hypot(cx - px, cy - py))
    return best


def read(path):
    return gdal.Open(str(path)).ReadAsArray().astype(np.float64)


def test_points_match_brute_force(tmp_path):
    points = [(1053.0, 1957.0), (1301.0, 1801.0), (1395.0, 1705.0)]
    vector = points_layer(tmp_path, points)
    result = distance_to_features(vector, reference_grid(tmp_path), str(tmp_path / "d.tif"))
    distance = read(result["output"])
    assert distance.shape == (30, 40)
    assert np.abs(distance - brute_force(points)).max() < 1e-3
    assert result["min"] == 0


def test_features_outside_the_grid_still_count(tmp_path):
    points = [(900.0, 1995.0)]  # 10 cells west of the grid
    vector = points_layer(tmp_path, points)
    result = distance_to_features(vector, reference_grid(tmp_path), str(tmp_path / "d.tif"))
    distance = read(result["output"])
    assert distance[0, 0] == pytest.approx(100.0, abs=1e-3)
    assert result["padding_cells"] == 10


def test_layer_in_another_crs_is_reprojected(tmp_path):
    from osgeo import osr

    points = [(1053.0, 1957.0), (1301.0, 1801.0)]
    transform = osr.CoordinateTransformation(srs_from_epsg(32617), srs_from_epsg(4326))
    lonlat = [transform.TransformPoint(x, y)[:2] for x, y in points]
    vector = points_layer(tmp_path, lonlat, epsg=4326, name="ll.gpkg")
    result = distance_to_features(vector, reference_grid(tmp_path), str(tmp_path / "d.tif"))
    assert np.abs(read(result["output"]) - brute_force(points)).max() < 1e-3


def test_errors_name_the_input_and_keep_the_output(tmp_path):
    grid = reference_grid(tmp_path)
    output = tmp_path / "d.tif"
    output.write_bytes(b"old")
    empty = write_vector(str(tmp_path / "empty.gpkg"), "empty", ogr.wkbLineString, 32617, [],
                         [])
    with pytest.raises(InputError, match="empty.gpkg.*no features"):
        distance_to_features(empty, grid, str(output))
    far = points_layer(tmp_path, [(900000.0, 100.0)], name="far.gpkg")
    with pytest.raises(InputError, match="far.gpkg.*outside"):
        distance_to_features(far, grid, str(output))
    no_crs = str(tmp_path / "nocrs.tif")
    ds = gdal.GetDriverByName("GTiff").Create(no_crs, 5, 5, 1, gdal.GDT_Float32)
    ds.SetGeoTransform(GT)
    ds = None
    with pytest.raises(InputError, match="nocrs.tif.*no coordinate reference system"):
        distance_to_features(far, no_crs, str(output))
    assert output.read_bytes() == b"old"


def test_processing_on_sample_area_rivers(run_alg, sample_area, tmp_path):
    files = sample_area["files"]
    result = run_alg("landslide:distancetofeatures", {
        "INPUT": files["rivers"], "REFERENCE": files["dem"],
        "OUTPUT": str(tmp_path / "dtr.tif")})
    distance = read(result["OUTPUT"])
    dem = gdal.Open(files["dem"])
    assert distance.shape == (dem.RasterYSize, dem.RasterXSize)
    assert distance.min() == 0 and 0 < distance.max() < 2000
    assert (distance == 0).mean() < 0.2  # rivers are lines, not areas


def test_processing_on_ecuador_landslide_points(run_alg, ecuador, tmp_path):
    result = run_alg("landslide:distancetofeatures", {
        "INPUT": str(ecuador / "landslides.gpkg"), "REFERENCE": str(ecuador / "elev.tif"),
        "OUTPUT": str(tmp_path / "d.tif")})
    distance = read(result["OUTPUT"])
    assert distance.shape == (415, 383)
    assert (distance == 0).sum() <= 175
    assert distance.max() > 500


def test_other_formats_by_extension(tmp_path):
    vector = points_layer(tmp_path, [(1053.0, 1957.0)])
    result = distance_to_features(vector, reference_grid(tmp_path), str(tmp_path / "d.sdat"))
    assert (tmp_path / "d.sgrd").exists()  # SAGA's header travels with the data file
    assert np.abs(read(result["output"]) - brute_force([(1053.0, 1957.0)])).max() < 1e-3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(InputError, match="No raster format writes '.xyz42'"):
        distance_to_features(vector, reference_grid(tmp_path), str(tmp_path / "d.xyz42"))
