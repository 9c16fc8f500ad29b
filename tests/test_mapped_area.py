"""The Mapped area (core/mapped_area.py): sampling inside it (buildsamples) and class
statistics restricted to it (classifysusceptibility).

Independent references: which centres lie in the polygons is decided by OGR
point-in-polygon tests in the polygons' own CRS (EPSG:4326), and in the raster
mask by looking up the mask's own cell; the success-rate AUC inside the area
comes from scikit-learn's ROC AUC of the pixels inside it.
"""

import json

import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from sklearn.metrics import roc_auc_score

from landslide_susceptibility.core import samples
from landslide_susceptibility.core.build_samples import build_samples
from landslide_susceptibility.core.class_raster import classify_raster, summarize_raster
from landslide_susceptibility.core.class_statistics import class_statistics, classify_values
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.mapped_area import read_mapped_area
from landslide_susceptibility.core.raster_io import write_raster, write_vector
from landslide_susceptibility.core.sample_layer import read_sample_layer
from landslide_susceptibility.core.stack import read_stack_info

pytestmark = pytest.mark.filterwarnings("ignore:Numba not installed")

SIZE, CELL = 60, 30.0
GT = (500000.0, CELL, 0.0, 4001800.0, 0.0, -CELL)
UTM = 32617
# An irregular polygon (UTM metres, vertices off the cell centres): about the
# middle of the grid, leaving landslides outside it on every side.
AREA_UTM = [(500307.0, 4001493.0), (501213.0, 4001407.0), (501389.0, 4000611.0),
            (500893.0, 4000289.0), (500251.0, 4000457.0)]
BREAKS = [0.2, 0.4, 0.6, 0.8]


def _srs(epsg):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _polygon(points, epsg=UTM, to_epsg=None):
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in points + points[:1]:
        ring.AddPoint_2D(x, y)
    polygon = ogr.Geometry(ogr.wkbPolygon)
    polygon.AddGeometry(ring)
    if to_epsg:
        polygon.Transform(osr.CoordinateTransformation(_srs(epsg), _srs(to_epsg)))
    return polygon


def _centres(rows, cols):
    return GT[0] + (cols + 0.5) * CELL, GT[3] - (rows + 0.5) * CELL


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    """A 3-factor stack with a nodata corner, a raster inventory with landslide
    blobs everywhere, and the mapped area as polygons in EPSG:4326 and as a raster
    mask on another grid."""
    folder = tmp_path_factory.mktemp("mapped_area")
    rng = np.random.default_rng(5)
    factors = rng.normal(size=(3, SIZE, SIZE)).astype(np.float32)
    factors[:, :6, :6] = -9999.0
    stack = write_raster(str(folder / "stack.tif"), factors, GT, UTM, nodata=-9999.0,
                         band_names=["a", "b", "c"])
    landslides = np.zeros((SIZE, SIZE), np.uint8)
    for r, c in rng.integers(3, SIZE - 3, size=(45, 2)):
        landslides[r - 1:r + 2, c - 1:c + 2] = 1
    inventory = write_raster(str(folder / "inventory.tif"), landslides, GT, UTM)
    polygon_4326 = _polygon(AREA_UTM, to_epsg=4326)
    polygons = write_vector(str(folder / "area_4326.gpkg"), "area", ogr.wkbPolygon, 4326, [],
                            [(polygon_4326.Clone(), {})])
    # The raster mask: 45 m cells, another origin, a nodata strip counted as outside.
    mask_gt = (500107.0, 45.0, 0.0, 4001707.0, 0.0, -45.0)
    mask = np.zeros((36, 36), np.uint8)
    mask[4:30, 6:28] = 1
    mask[4:30, 12:14] = 255
    raster = write_raster(str(folder / "area_mask.tif"), mask, mask_gt, UTM, nodata=255)
    return {"folder": folder, "stack": stack, "inventory": inventory, "landslides":
            landslides.astype(bool), "polygons": polygons, "polygon_4326": polygon_4326,
            "raster": raster, "mask": mask, "mask_gt": mask_gt}


def _in_polygon(polygon_4326, rows, cols):
    """Independent: OGR point-in-polygon of each cell centre, in EPSG:4326."""
    to_ll = osr.CoordinateTransformation(_srs(UTM), _srs(4326))
    xs, ys = _centres(np.asarray(rows), np.asarray(cols))
    inside = []
    for x, y in zip(xs, ys, strict=True):
        lon, lat, _ = to_ll.TransformPoint(float(x), float(y))
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(lon, lat)
        inside.append(polygon_4326.Contains(point))
    return np.array(inside)


def _in_mask(area, rows, cols):
    """Independent: the raster mask's own cell under each centre (non-zero, not nodata)."""
    xs, ys = _centres(np.asarray(rows), np.asarray(cols))
    x0, dx, _, y0, _, dy = area["mask_gt"]
    mc = np.floor((xs - x0) / dx).astype(int)
    mr = np.floor((ys - y0) / dy).astype(int)
    ok = (mr >= 0) & (mc >= 0) & (mr < area["mask"].shape[0]) & (mc < area["mask"].shape[1])
    values = np.where(ok, area["mask"][np.clip(mr, 0, 35), np.clip(mc, 0, 35)], 0)
    return (values != 0) & (values != 255)


def _build(area, output, mapped_area, **extra):
    settings = dict(patch_size=16, samples_per_class=80, seed=3, mapped_area=mapped_area)
    settings.update(extra)
    return build_samples(area["stack"], area["inventory"], str(output), **settings)


# ------------------------------------------------------------------ sampling


@pytest.mark.parametrize("which", ["polygons", "raster"])
def test_every_centre_of_both_classes_is_inside(area, tmp_path, which):
    result = _build(area, tmp_path / "s.gpkg", area[which], split_method=samples.SPATIAL,
                    block_size=300.0, patch_size=8)
    rows, cols, labels, splits = read_sample_layer(result["output"])
    inside = _in_polygon(area["polygon_4326"], rows, cols) if which == "polygons" else \
        _in_mask(area, rows, cols)
    assert inside.all()
    for split in samples.SPLITS:
        assert set(labels[splits == split].tolist()) == {0, 1}, split
    assert result["summary"]["leakage"] == 0.0
    # the layer's metadata records the area: cells, km² and share of the stack
    info = read_stack_info(area["stack"])
    grid = np.indices(info.shape).reshape(2, -1)
    expected = (_in_polygon(area["polygon_4326"], *grid) if which == "polygons" else
                _in_mask(area, *grid)).reshape(info.shape)
    expected[:6, :6] = False  # nodata corner of the stack
    dataset = ogr.Open(result["output"])
    recorded = json.loads(dataset.GetLayer(0).GetMetadataItem("LANDSLIDE_SAMPLES"))
    dataset = None
    mapped = recorded["mapped_area"]
    assert mapped["cells"] == expected.sum()
    assert mapped["area_km2"] == pytest.approx(expected.sum() * CELL * CELL / 1e6)
    assert mapped["share"] == pytest.approx(expected.sum() / (SIZE * SIZE - 36))
    assert mapped["landslide_cells"] == (expected & area["landslides"]).sum()
    assert "Mapped area:" in samples.summary_text(recorded)


def test_random_split_is_inside_and_repeatable(area, tmp_path):
    a = read_sample_layer(_build(area, tmp_path / "a.gpkg", area["polygons"])["output"])
    b = read_sample_layer(_build(area, tmp_path / "b.gpkg", area["polygons"])["output"])
    assert _in_polygon(area["polygon_4326"], a[0], a[1]).all()
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    everywhere = read_sample_layer(_build(area, tmp_path / "c.gpkg", None)["output"])
    assert not _in_polygon(area["polygon_4326"], everywhere[0], everywhere[1]).all()


def test_spatial_blocks_are_those_in_the_area():
    """Blocks without an inside pixel get no split and do not count in the shares."""
    inside = np.zeros((100, 100), bool)
    inside[10:70, 20:90] = True  # blocks of 20: rows 0..3, cols 1..4 touch it
    positives = np.zeros_like(inside)
    positives[[15, 35, 55, 65], [25, 45, 65, 85]] = True
    ratios = np.array([0.6, 0.2, 0.2])
    split_map, grid = samples.spatial_split_map(inside.shape, 20, ratios,
                                                np.random.default_rng(0), positives, inside)
    touched = np.zeros((5, 5), bool)
    touched[0:4, 1:5] = True
    assert ((grid >= 0) == touched).all()
    counts = np.bincount(grid[grid >= 0], minlength=3)
    assert counts.sum() == 16 and abs(counts[0] - 0.6 * 16) <= 2
    again, _ = samples.spatial_split_map(inside.shape, 20, ratios, np.random.default_rng(0),
                                         positives, inside)
    assert np.array_equal(again, split_map)


def test_blocks_outside_the_area_are_no_split_boundary():
    """A centre beside a no-split block (-1) is kept; beside another split it is not."""
    split_map = np.full((30, 30), -1, np.int8)
    split_map[:, 10:20] = 0
    split_map[:, 20:] = 1
    clear = samples.clear_of_other_splits(split_map, 8)
    assert clear[:, 10:16].all()  # next to -1 only
    assert not clear[:, 16:24].any()  # within 4 cells of the other split
    assert clear[:, 24:].all()


def test_processing_build_samples_inside_the_area(run_alg, area, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        text = []

        def pushInfo(self, info):  # noqa: N802  (Qt's name)
            self.text.append(info)

    params = {"STACK": area["stack"], "INVENTORY": area["inventory"], "PATCH_SIZE": 16,
              "SAMPLES_PER_CLASS": 40, "SPLIT_METHOD": 0, "MAPPED_AREA": area["polygons"],
              "OUTPUT": str(tmp_path / "s.gpkg")}
    result = run_alg("landslide:buildsamples", params, feedback=Log())
    rows, cols, labels, _splits = read_sample_layer(result["OUTPUT"])
    assert _in_polygon(area["polygon_4326"], rows, cols).all() and set(labels) == {0, 1}
    assert any("\nMapped area: " in line and "km²" in line for line in Log.text)
    far = _polygon_file(area, "far3.gpkg", [(600000.0, 3900000.0), (601000.0, 3900000.0),
                                            (601000.0, 3901000.0)])
    with pytest.raises(QgsProcessingException, match="Mapped area .* lies outside the factor "
                                                     "stack"):
        run_alg("landslide:buildsamples", dict(params, MAPPED_AREA=far,
                                               OUTPUT=str(tmp_path / "t.gpkg")))


# ------------------------------------------------------------------ bad input


def _polygon_file(area, name, points):
    return write_vector(str(area["folder"] / name), "area", ogr.wkbPolygon, UTM, [],
                        [(_polygon(points), {})])


def test_mapped_area_that_misses_the_stack(area, tmp_path):
    far = _polygon_file(area, "far.gpkg", [(600000.0, 3900000.0), (601000.0, 3900000.0),
                                           (601000.0, 3901000.0)])
    with pytest.raises(InputError, match=r"Mapped area '.*far.gpkg' lies outside the factor "
                                         r"stack.*leave Mapped area empty"):
        _build(area, tmp_path / "s.gpkg", far)
    nodata_only = _polygon_file(area, "corner.gpkg", [(500000.0, 4001800.0),
                                                      (500150.0, 4001800.0),
                                                      (500150.0, 4001650.0)])
    with pytest.raises(InputError, match="Mapped area .* all of them nodata"):
        _build(area, tmp_path / "s.gpkg", nodata_only)
    blank = write_raster(str(area["folder"] / "blank.tif"), np.zeros((5, 5), np.uint8),
                         area["mask_gt"], UTM)
    with pytest.raises(InputError, match="Mapped area raster .*no inside cells"):
        _build(area, tmp_path / "s.gpkg", blank)
    assert not (tmp_path / "s.gpkg").exists()


def test_mapped_area_without_landslides_and_with_few(area, tmp_path):
    info = read_stack_info(area["stack"])
    free = np.argwhere(~samples.box_any(area["landslides"], 3))
    r, c = free[len(free) // 2]
    x, y = GT[0] + c * CELL, GT[3] - r * CELL
    empty = _polygon_file(area, "empty.gpkg", [(x, y), (x + 2 * CELL, y),
                                               (x + 2 * CELL, y - 2 * CELL)])
    with pytest.raises(InputError, match=r"Mapped area '.*empty.gpkg' holds no landslide.*"
                                         r"area where this inventory was mapped"):
        _build(area, tmp_path / "s.gpkg", empty)
    r, c = np.argwhere(area["landslides"])[0]
    x, y = GT[0] + (c - 8) * CELL, GT[3] - (r - 8) * CELL
    few = _polygon_file(area, "few.gpkg", [(x, y), (x + 17 * CELL, y),
                                           (x + 17 * CELL, y - 17 * CELL), (x, y - 17 * CELL)])
    found = read_mapped_area(few, info, landslides=area["landslides"])
    assert 0 < found.landslide_cells < 50
    assert any("holds only" in w for w in found.warnings)
    assert any("lie outside the Mapped area" in w for w in found.warnings)
    points = ogr.Geometry(ogr.wkbPoint)
    points.AddPoint_2D(x, y)
    point_file = write_vector(str(area["folder"] / "points.gpkg"), "p", ogr.wkbPoint, UTM, [],
                              [(points, {})])
    with pytest.raises(InputError, match="Mapped area .* holds point features; it must be "
                                         "polygons"):
        read_mapped_area(point_file, info)


# ------------------------------------------------------------------ class statistics


def test_class_statistics_inside_the_area_equal_sklearn(area, tmp_path):
    rng = np.random.default_rng(2)
    landslides = area["landslides"]
    # 21 levels (0, 0.05, … 1): each in its own bin of the success-rate curve, so
    # the curve is exact; high values outside the area without landslides make
    # the whole-map AUC differ from the AUC inside.
    values = np.round(np.clip(0.35 * landslides + rng.uniform(0, 0.7, landslides.shape),
                              0, 1) * 20) / 20
    values[:, 50:] = 1.0
    values[0, 0] = -9999.0
    path = write_raster(str(tmp_path / "p.tif"), values, GT, UTM, nodata=-9999.0)
    summary = summarize_raster(path)
    found = read_mapped_area(area["polygons"], summary, landslides=landslides,
                             grid_name="susceptibility raster")
    counts = classify_raster(path, BREAKS, str(tmp_path / "c.tif"), summary=summary,
                             landslides=landslides, area=found.mask)
    _rows, stats = class_statistics(counts)

    grid = np.indices(values.shape).reshape(2, -1)
    inside = _in_polygon(area["polygon_4326"], *grid).reshape(values.shape)
    inside &= values != -9999.0
    labels, scores = landslides[inside], values[inside]
    p = labels.mean()
    expected = roc_auc_score(labels, scores) * (1 - p) + p / 2
    assert stats["auc"] == pytest.approx(expected, abs=1e-9)
    classes = classify_values(scores, BREAKS)
    assert counts.cells.tolist() == np.bincount(classes, minlength=6)[1:].tolist()
    assert counts.landslide_cells.tolist() == \
        np.bincount(classes[labels], minlength=6)[1:].tolist()
    assert counts.area_km2.sum() == pytest.approx(inside.sum() * CELL * CELL / 1e6)
    whole = class_statistics(classify_raster(path, BREAKS, str(tmp_path / "w.tif"),
                                             summary=summary, landslides=landslides))[1]
    assert abs(whole["auc"] - stats["auc"]) > 0.02
    # the map itself still covers the whole raster
    written = gdal.Open(str(tmp_path / "c.tif")).ReadAsArray()
    assert (written[:, 50:] == 5).all()
    values[found.mask] = -9999.0  # the area on nodata of the map
    path = write_raster(str(tmp_path / "q.tif"), values, GT, UTM, nodata=-9999.0)
    with pytest.raises(InputError, match="Mapped area covers no valid cell of the "
                                         "susceptibility raster"):
        classify_raster(path, BREAKS, str(tmp_path / "q_classes.tif"), area=found.mask)


def test_processing_classify_restricted_to_the_area(run_alg, area, tmp_path):
    from qgis.core import QgsProcessingException

    rng = np.random.default_rng(4)
    values = np.round(rng.uniform(0, 1, (SIZE, SIZE)) * 20) / 20
    values[area["landslides"]] = np.minimum(values[area["landslides"]] + 0.3, 1.0)
    values = np.round(values * 20) / 20  # levels in bins of their own: an exact curve
    path = write_raster(str(tmp_path / "p.tif"), values, GT, UTM, nodata=-9999.0)
    common = {"SUSCEPTIBILITY": path, "INVENTORY": area["inventory"], "METHOD": 3,
              "BREAKS": "0.2,0.4,0.6,0.8", "OUTPUT": str(tmp_path / "c.tif"),
              "OUTPUT_TABLE": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": str(tmp_path / "c.html")}
    result = run_alg("landslide:classifysusceptibility",
                     dict(common, MAPPED_AREA=area["raster"]))
    inside = _in_mask(area, *np.indices(values.shape).reshape(2, -1)).reshape(values.shape)
    labels = area["landslides"][inside]
    p = labels.mean()
    expected = roc_auc_score(labels, values[inside]) * (1 - p) + p / 2
    assert result["SUCCESS_AUC"] == pytest.approx(expected, abs=1e-9)
    report = open(result["OUTPUT_REPORT"], encoding="utf-8").read()
    assert "restricted to the mapped area" in report
    far = _polygon_file(area, "far2.gpkg", [(600000.0, 3900000.0), (601000.0, 3900000.0),
                                            (601000.0, 3901000.0)])
    with pytest.raises(QgsProcessingException,
                       match="Mapped area .* lies outside the susceptibility raster"):
        run_alg("landslide:classifysusceptibility", dict(common, MAPPED_AREA=far))
