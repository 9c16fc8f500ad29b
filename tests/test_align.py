"""Factor alignment and the stack metadata (core/align.py, core/stack.py,
landslide:alignfactors)."""

import numpy as np
import pytest
from osgeo import gdal

from landslide_susceptibility.core.align import align_factors
from landslide_susceptibility.core.distance import distance_to_features
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.raster_io import rasterize, read_raster, write_raster
from landslide_susceptibility.core.stack import (
    DEFAULT_NODATA,
    read_stack_info,
    sample_pixels,
    valid_mask,
)
from landslide_susceptibility.core.terrain import ASPECT_CLASSES, derive_terrain


@pytest.fixture(scope="module")
def factors(sample_area, tmp_path_factory):
    """The sample area's nine factors as rasters on their own (mixed) grids."""
    folder = tmp_path_factory.mktemp("factors")
    files = sample_area["files"]
    derive_terrain(files["dem"], folder / "slope.tif", folder / "aspect.tif")
    distance_to_features(files["rivers"], files["dem"], str(folder / "dtr.tif"))
    distance_to_features(files["faults"], files["dem"], str(folder / "dtf.tif"))
    dem, gt, wkt, _ = read_raster(files["dem"])
    units = rasterize(files["lithology"], dem.shape, gt, wkt, attribute="unit")
    write_raster(str(folder / "lithology.tif"), units, gt, wkt, nodata=0)
    continuous = [("elevation", files["dem"]), ("slope", str(folder / "slope.tif")),
                  ("dtf", str(folder / "dtf.tif")), ("dtr", str(folder / "dtr.tif")),
                  ("precipitation", files["precipitation"]), ("ndvi", files["ndvi"])]
    categorical = [("aspect", str(folder / "aspect.tif")),
                   ("lithology", str(folder / "lithology.tif")),
                   ("landuse", files["landuse"])]
    return {"continuous": continuous, "categorical": categorical, "folder": folder}


@pytest.fixture(scope="module")
def stack(factors):
    output = factors["folder"] / "stack.tif"
    result = align_factors(factors["continuous"], factors["categorical"], str(output))
    return result


def test_stack_grid_names_and_metadata(stack, factors, sample_area):
    info = read_stack_info(stack["output"])
    assert info.has_metadata and not info.warnings
    assert info.names == ["elevation", "slope", "dtf", "dtr", "precipitation", "ndvi",
                          "aspect", "lithology", "landuse"]
    assert info.categorical == [False] * 6 + [True] * 3
    assert info.nodata == DEFAULT_NODATA
    # The DEM's grid (the first continuous factor), clipped to where all have data.
    dem = gdal.Open(sample_area["files"]["dem"])
    gt = dem.GetGeoTransform()
    assert info.pixel_size == (gt[1], -gt[5])
    assert ((info.geotransform[0] - gt[0]) / gt[1]) % 1 == 0
    assert ((info.geotransform[3] - gt[3]) / gt[5]) % 1 == 0
    assert info.width <= dem.RasterXSize and info.height <= dem.RasterYSize
    dataset = gdal.Open(stack["output"])  # keep the dataset alive while using its band
    assert dataset.GetRasterBand(1).GetDescription() == "elevation"
    aspect = info.band("aspect")
    assert set(aspect.classes) <= set(range(9))
    assert aspect.class_names[aspect.classes[0]] == ASPECT_CLASSES[aspect.classes[0]]
    assert info.band("lithology").classes == sorted(
        int(k) for k in sample_area["lithology_units"])[:len(info.band("lithology").classes)]
    assert stack["resampling"]["ndvi"] == "bilinear"
    assert stack["resampling"]["landuse"] == "near"


def test_statistics_and_common_nodata(stack):
    info = read_stack_info(stack["output"])
    data = gdal.Open(stack["output"]).ReadAsArray().astype(np.float64)
    invalid = (data == DEFAULT_NODATA)
    # A pixel invalid in one band is invalid in all.
    assert (invalid.any(axis=0) == invalid.all(axis=0)).all()
    valid = ~invalid[0]
    assert valid.sum() == stack["valid_pixels"] > 0
    assert (valid_mask(info) == valid).all()
    for band in info.bands:
        values = data[band.index - 1][valid]
        assert band.mean == pytest.approx(values.mean(), rel=1e-9)
        assert band.std == pytest.approx(values.std(), rel=1e-7)
        if band.categorical:
            assert np.all(values == np.round(values))
            assert sorted(np.unique(values).astype(int)) == band.classes


def test_bilinear_matches_gdalwarp(stack, factors, tmp_path):
    info = read_stack_info(stack["output"])
    gt = info.geotransform
    bounds = (gt[0], gt[3] + gt[5] * info.height, gt[0] + gt[1] * info.width, gt[3])
    warped = gdal.Warp(str(tmp_path / "ndvi.tif"), dict(factors["continuous"])["ndvi"],
                       dstSRS=info.crs_wkt, outputBounds=bounds, xRes=gt[1], yRes=-gt[5],
                       resampleAlg="bilinear", dstNodata=DEFAULT_NODATA)
    expected = warped.ReadAsArray().astype(np.float64)
    ours = gdal.Open(stack["output"]).ReadAsArray()[5].astype(np.float64)
    valid = ours != DEFAULT_NODATA
    assert np.abs(ours[valid] - expected[valid]).max() < 1e-6


def test_reference_coarser_uses_mode_and_extent(factors, sample_area, tmp_path):
    result = align_factors(factors["continuous"][:2], factors["categorical"][2:],
                           str(tmp_path / "coarse.tif"),
                           reference=sample_area["files"]["precipitation"])
    assert result["resampling"]["landuse"] == "mode"
    assert result["geotransform"][1] == 100.0
    gt = result["geotransform"]
    extent = (gt[0] + 200, gt[3] - 800, gt[0] + 650, gt[3] - 300)
    clipped = align_factors(factors["continuous"][:2], [], str(tmp_path / "clip.tif"),
                            reference=sample_area["files"]["precipitation"], extent=extent)
    assert (clipped["width"], clipped["height"]) == (4, 5)  # snapped inward


def test_plain_geotiff_reads_with_a_warning(tmp_path):
    path = str(tmp_path / "plain.tif")
    write_raster(path, np.arange(2 * 12, dtype=np.float32).reshape(2, 3, 4),
                 (0, 1, 0, 3, 0, -1), 32617, nodata=-1)
    info = read_stack_info(path)
    assert not info.has_metadata
    assert info.names == ["band_1", "band_2"]
    assert info.categorical == [False, False]
    assert info.warnings and "no factor-stack metadata" in info.warnings[0]
    sample = sample_pixels(info, 5, seed=1)
    assert sample.values.shape == (5, 2) and sample.available == 12


# --- bad input: a clear error naming the input; nothing overwritten ---------------

def small_raster(folder, name, array, gt=(0.0, 10.0, 0.0, 100.0, 0.0, -10.0), epsg=32617,
                 nodata=-9999.0):
    path = str(folder / name)
    write_raster(path, np.asarray(array, dtype=np.float32), gt, epsg, nodata=nodata)
    return path


@pytest.fixture
def existing_output(tmp_path):
    output = tmp_path / "stack.tif"
    output.write_bytes(b"previous stack")
    yield output
    assert output.read_bytes() == b"previous stack"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers


def test_no_common_overlap(tmp_path, existing_output):
    a = small_raster(tmp_path, "a.tif", np.ones((10, 10)))
    far = small_raster(tmp_path, "far.tif", np.ones((10, 10)),
                       gt=(5000.0, 10.0, 0.0, 5000.0, 0.0, -10.0))
    with pytest.raises(InputError, match="No common overlap.*'far'"):
        align_factors([a, far], [], str(existing_output))


def test_valid_areas_that_do_not_overlap(tmp_path, existing_output):
    left = np.ones((10, 10))
    left[:, 5:] = -9999
    right = np.ones((10, 10))
    right[:, :5] = -9999
    a = small_raster(tmp_path, "a.tif", left)
    b = small_raster(tmp_path, "b.tif", right)
    with pytest.raises(InputError, match="No common overlap: no pixel has valid data"):
        align_factors([a, b], [], str(existing_output))


def test_factor_without_valid_pixels(tmp_path, existing_output):
    a = small_raster(tmp_path, "a.tif", np.ones((10, 10)))
    empty = small_raster(tmp_path, "empty.tif", np.full((10, 10), -9999.0))
    with pytest.raises(InputError, match="'empty'.*no valid pixels"):
        align_factors([a, empty], [], str(existing_output))


def test_categorical_with_non_integer_values(tmp_path, existing_output):
    a = small_raster(tmp_path, "a.tif", np.ones((10, 10)))
    fractional = small_raster(tmp_path, "classes.tif", np.full((10, 10), 1.5))
    with pytest.raises(InputError, match="categorical factor 'classes'.*non-integer.*1.5"):
        align_factors([a], [fractional], str(existing_output))


def test_reference_without_crs(tmp_path, existing_output):
    a = small_raster(tmp_path, "a.tif", np.ones((10, 10)))
    no_crs = str(tmp_path / "nocrs.tif")
    ds = gdal.GetDriverByName("GTiff").Create(no_crs, 10, 10, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((0.0, 10.0, 0.0, 100.0, 0.0, -10.0))
    ds = None
    with pytest.raises(InputError, match="reference raster.*nocrs.tif.*no coordinate "
                                         "reference system"):
        align_factors([a], [], str(existing_output), reference=no_crs)


def test_no_factors_at_all(tmp_path, existing_output):
    with pytest.raises(InputError, match="No factors"):
        align_factors([], [], str(existing_output))


# --- Processing --------------------------------------------------------------------

def test_processing_on_sample_area_mixed_grids(run_alg, factors, tmp_path):
    result = run_alg("landslide:alignfactors", {
        "CONTINUOUS_FACTORS": [path for _name, path in factors["continuous"]],
        "CATEGORICAL_FACTORS": [path for _name, path in factors["categorical"]],
        "OUTPUT": str(tmp_path / "stack.tif")})
    info = read_stack_info(result["OUTPUT"])
    # Layer names (file base names) become factor names.
    assert info.names == ["dem", "slope", "dtf", "dtr", "precipitation", "ndvi", "aspect",
                          "lithology", "landuse"]
    assert result["BAND_COUNT"] == 9 and result["FACTORS"].split(",") == info.names
    assert result["VALID_PIXELS"] > 0.9 * 160 * 160


def test_processing_errors_are_clear(run_alg, tmp_path):
    from qgis.core import QgsProcessingException

    a = small_raster(tmp_path, "a.tif", np.ones((10, 10)))
    empty = small_raster(tmp_path, "allnodata.tif", np.full((10, 10), -9999.0))
    with pytest.raises(QgsProcessingException, match="allnodata.*no valid pixels"):
        run_alg("landslide:alignfactors", {"CONTINUOUS_FACTORS": [a, empty],
                                           "OUTPUT": str(tmp_path / "s.tif")})
    with pytest.raises(QgsProcessingException, match="No factors"):
        run_alg("landslide:alignfactors", {"OUTPUT": str(tmp_path / "s.tif")})


def test_processing_on_ecuador(run_alg, ecuador, tmp_path):
    names = ["elev", "slope", "cplan", "cprof", "log10_carea"]
    result = run_alg("landslide:alignfactors", {
        "CONTINUOUS_FACTORS": [str(ecuador / f"{name}.tif") for name in names],
        "OUTPUT": str(tmp_path / "ecuador_stack.tif")})
    info = read_stack_info(result["OUTPUT"])
    assert info.names == names
    elev = gdal.Open(str(ecuador / "elev.tif"))
    assert info.pixel_size == (10.0, 10.0)
    assert info.width <= elev.RasterXSize and info.height <= elev.RasterYSize
    # Same grid: the values are the inputs' own (bilinear at cell centres is exact).
    data = gdal.Open(result["OUTPUT"]).ReadAsArray()
    gt = elev.GetGeoTransform()
    col = int(round((info.geotransform[0] - gt[0]) / gt[1]))
    row = int(round((info.geotransform[3] - gt[3]) / gt[5]))
    source = elev.ReadAsArray()[row:row + info.height, col:col + info.width]
    valid = data[0] != DEFAULT_NODATA
    assert np.abs(data[0][valid] - source[valid]).max() < 1e-3
    assert valid.sum() == result["VALID_PIXELS"]


def test_processing_extent_and_reference(run_alg, ecuador, sample_area, tmp_path):
    # EXTENT in the reference's CRS, snapped inward to its grid: 100 x 50 cells.
    x0, y0 = 711962.726935, 9561011.759956
    extent = f"{x0 + 995},{x0 + 2005},{y0 - 1505},{y0 - 995} [EPSG:32717]"
    result = run_alg("landslide:alignfactors", {
        "CONTINUOUS_FACTORS": [str(ecuador / "slope.tif")],
        "CATEGORICAL_FACTORS": [], "REFERENCE": str(ecuador / "elev.tif"),
        "EXTENT": extent, "OUTPUT": str(tmp_path / "clip.tif")})
    info = read_stack_info(result["OUTPUT"])
    assert (info.width, info.height) == (100, 50)
    assert info.geotransform[0] == pytest.approx(x0 + 1000)
    assert info.geotransform[3] == pytest.approx(y0 - 1000)
    # A categorical-only stack on the grid of a coarse reference in another place fails
    # with the overlap message naming the factor.
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="No common overlap.*landuse"):
        run_alg("landslide:alignfactors", {
            "CATEGORICAL_FACTORS": [sample_area["files"]["landuse"]],
            "REFERENCE": str(ecuador / "elev.tif"), "OUTPUT": str(tmp_path / "x.tif")})


def test_cancel_leaves_nothing(factors, existing_output):
    from landslide_susceptibility.core.errors import CancelledError

    calls = []

    def cancel_soon():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(CancelledError):
        align_factors(factors["continuous"], factors["categorical"], str(existing_output),
                      is_cancelled=cancel_soon)
