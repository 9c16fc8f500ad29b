"""Slope and aspect classes (core/terrain.py, landslide:deriveterrainfactors).

Slope is checked against an independent numpy implementation of Horn's method,
against ``gdaldem slope`` and against QGIS's ``native:slope``.
"""

import os
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.raster_io import write_raster
from landslide_susceptibility.core.terrain import (
    ASPECT_CLASSES,
    ASPECT_NODATA,
    classify_aspect,
    derive_terrain,
)

TOLERANCE = 1e-4  # degrees, against gdaldem (ours is gdaldem's code) and float32 Horn
# gdaldem and QGIS both sum elevations in float32, in different orders: at 500-3000 m
# elevations they differ from each other and from float64 by up to ~1.5e-3 degrees.
FLOAT32_TOLERANCE = 2e-3


def horn_slope(dem, dx, dy, dtype=np.float64):
    """Slope (degrees) of the interior cells by Horn's method, written from the formula.

    With ``dtype=np.float32`` the window sums are rounded like gdaldem's (float
    sums in the order a + d + d + g); the rest is float64.
    """
    z = dem.astype(dtype)
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    west, east = (a + d + d + g), (c + f + f + i)
    north, south = (a + b + b + c), (g + h + h + i)
    dzdx = (west - east).astype(np.float64) / (8 * dx)
    dzdy = (south - north).astype(np.float64) / (8 * dy)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy)))


def read(path):
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    return band.ReadAsArray().astype(np.float64), ds.GetGeoTransform(), band.GetNoDataValue()


def interior_max_diff(slope, reference, valid):
    inner = np.zeros_like(valid)
    inner[1:-1, 1:-1] = True
    both = valid & inner & np.isfinite(reference)
    assert both.sum() > 100
    return float(np.abs(slope[both] - reference[both]).max())


def test_slope_matches_horn_and_gdaldem(sample_area, tmp_path):
    dem_path = sample_area["files"]["dem"]
    result = derive_terrain(dem_path, tmp_path / "slope.tif", tmp_path / "aspect.tif")
    slope, gt, nodata = read(result["slope"])
    dem, _, _ = read(dem_path)
    reference = np.full_like(slope, np.nan)
    reference[1:-1, 1:-1] = horn_slope(dem, gt[1], -gt[5])
    valid = slope != nodata
    assert interior_max_diff(slope, reference, valid) < FLOAT32_TOLERANCE
    reference[1:-1, 1:-1] = horn_slope(dem, gt[1], -gt[5], np.float32)
    assert interior_max_diff(slope, reference, valid) < TOLERANCE
    # gdaldem's own command line, as a user would run it.
    cli = tmp_path / "gdaldem.tif"
    subprocess.run(["gdaldem", "slope", "-compute_edges", "-q", dem_path, str(cli)],
                   check=True, capture_output=True)
    gdaldem, _, _ = read(cli)
    assert float(np.abs(slope - gdaldem).max()) < TOLERANCE  # edges included
    assert 0 <= result["slope_min"] <= result["slope_max"] < 90


def test_slope_on_ecuador_matches_horn(ecuador, tmp_path):
    result = derive_terrain(ecuador / "elev.tif", tmp_path / "s.tif", tmp_path / "a.tif")
    slope, gt, nodata = read(result["slope"])
    dem, _, _ = read(ecuador / "elev.tif")  # NaN nodata: NaN propagates in the reference
    reference = np.full_like(slope, np.nan)
    reference[1:-1, 1:-1] = horn_slope(dem, gt[1], -gt[5])
    valid = slope != nodata
    assert interior_max_diff(slope, reference, valid) < FLOAT32_TOLERANCE
    reference[1:-1, 1:-1] = horn_slope(dem, gt[1], -gt[5], np.float32)
    assert interior_max_diff(slope, reference, valid) < TOLERANCE
    assert not np.any(valid & np.isnan(dem))  # nodata stays nodata


def test_aspect_classes_of_tilted_planes():
    # Aspect is the azimuth the slope faces; a plane falling towards the east faces E.
    aspect = np.array([[0.0, 10.0, 22.5, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0,
                        337.5, 359.9, -9999.0, 120.0]])
    slope = np.array([[5.0] * 12 + [0.0, 0.5]])
    codes = classify_aspect(aspect, slope, flat_threshold=1.0, aspect_nodata=-9999.0)
    names = [ASPECT_CLASSES[c] for c in codes[0]]
    assert names == ["N", "N", "NE", "NE", "E", "SE", "S", "SW", "W", "NW", "N", "N",
                     "flat", "flat"]
    nodata = classify_aspect(np.array([[45.0]]), np.array([[-9999.0]]), 1.0,
                             slope_nodata=-9999.0)
    assert nodata[0, 0] == ASPECT_NODATA


@pytest.mark.parametrize(("azimuth", "expected"), [(90, "E"), (0, "N"), (225, "SW")])
def test_aspect_of_a_dem_plane(tmp_path, azimuth, expected):
    rows, cols = np.mgrid[0:20, 0:20].astype(float)
    x, y = cols * 10.0, -rows * 10.0
    # Elevation decreases towards the azimuth (the direction the slope faces).
    rad = np.radians(azimuth)
    dem = (-(x * np.sin(rad) + y * np.cos(rad)) * 0.3 + 100).astype(np.float32)
    write_raster(str(tmp_path / "plane.tif"), dem, (0, 10, 0, 200, 0, -10), 32617)
    result = derive_terrain(str(tmp_path / "plane.tif"), tmp_path / "s.tif", tmp_path / "a.tif",
                            flat_threshold=1.0)
    codes = gdal.Open(str(tmp_path / "a.tif")).ReadAsArray()
    assert set(np.unique(codes[1:-1, 1:-1])) == {ASPECT_CLASSES.index(expected)}
    assert result["aspect_counts"][expected] == 400
    flat = derive_terrain(str(tmp_path / "plane.tif"), tmp_path / "s2.tif", tmp_path / "a2.tif",
                          flat_threshold=30.0)
    assert flat["aspect_counts"]["flat"] == 400
    dataset = gdal.Open(str(tmp_path / "a.tif"))  # keep it: the band dies with it
    band = dataset.GetRasterBand(1)
    assert band.GetMetadataItem("CLASS_NAMES").startswith("0=flat,1=N,2=NE")
    assert band.GetColorTable() is not None  # also loads the .aux.xml
    assert band.GetCategoryNames()[:9] == ASPECT_CLASSES
    assert band.GetNoDataValue() == ASPECT_NODATA


def test_bad_dem_leaves_outputs_alone(tmp_path):
    existing = tmp_path / "slope.tif"
    existing.write_bytes(b"keep me")
    with pytest.raises(InputError, match="DEM"):
        derive_terrain(str(tmp_path / "missing.tif"), existing, tmp_path / "aspect.tif")
    with pytest.raises(InputError, match="flat threshold"):
        derive_terrain(str(tmp_path / "missing.tif"), existing, tmp_path / "aspect.tif",
                       flat_threshold=-1)
    assert existing.read_bytes() == b"keep me"
    assert not (tmp_path / "aspect.tif").exists()
    assert os.listdir(tmp_path) == ["slope.tif"]


def test_processing_matches_qgis_native_slope(run_alg, sample_area, tmp_path):
    dem = sample_area["files"]["dem"]
    result = run_alg("landslide:deriveterrainfactors", {
        "DEM": dem, "FLAT_THRESHOLD": 2.0, "OUTPUT_SLOPE": str(tmp_path / "slope.tif"),
        "OUTPUT_ASPECT": str(tmp_path / "aspect.tif")})
    native = run_alg("native:slope", {"INPUT": dem, "Z_FACTOR": 1,
                                      "OUTPUT": str(tmp_path / "native.tif")})
    slope, _, nodata = read(result["OUTPUT_SLOPE"])
    reference, _, _ = read(native["OUTPUT"])
    assert interior_max_diff(slope, reference, slope != nodata) < FLOAT32_TOLERANCE
    gdaldem = run_alg("gdal:slope", {"INPUT": dem, "BAND": 1, "COMPUTE_EDGES": True,
                                     "OUTPUT": str(tmp_path / "gdaldem.tif")})
    reference, _, _ = read(gdaldem["OUTPUT"])
    assert interior_max_diff(slope, reference, slope != nodata) < TOLERANCE
    codes = gdal.Open(result["OUTPUT_ASPECT"]).ReadAsArray()
    assert set(np.unique(codes)) <= set(range(9))


def test_processing_on_ecuador(run_alg, ecuador, tmp_path):
    result = run_alg("landslide:deriveterrainfactors", {
        "DEM": str(ecuador / "elev.tif"), "OUTPUT_SLOPE": str(tmp_path / "slope.tif"),
        "OUTPUT_ASPECT": str(tmp_path / "aspect.tif")})
    native = run_alg("native:slope", {"INPUT": str(ecuador / "elev.tif"), "Z_FACTOR": 1,
                                      "OUTPUT": str(tmp_path / "native.tif")})
    slope, _, nodata = read(result["OUTPUT_SLOPE"])
    reference, _, native_nodata = read(native["OUTPUT"])
    valid = (slope != nodata) & (reference != native_nodata)
    assert interior_max_diff(slope, reference, valid) < FLOAT32_TOLERANCE
    codes = gdal.Open(result["OUTPUT_ASPECT"]).ReadAsArray()
    counts = np.bincount(codes[codes != ASPECT_NODATA].ravel(), minlength=9)
    assert (counts[1:] > 0).all()  # a real mountain faces every direction
