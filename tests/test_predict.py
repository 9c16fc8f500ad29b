"""landslide:predictsusceptibility and the engine's predict (issue 7): sampled pixels
equal direct single-patch predictions, tiling invariance, dense = per-patch,
stride interpolation, bad input, cancel, and the memory bound (slow)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from osgeo import gdal, osr

from landslide_susceptibility.core.errors import CancelledError, InputError
from landslide_susceptibility.core.model_card import write_card
from landslide_susceptibility.core.specs import PredictSpec
from landslide_susceptibility.core.stack import BandInfo, write_stack_metadata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["dem", "slope", "ndvi", "landuse"]
CATEGORICAL = [False, False, False, True]
PATCH = 20
SHAPE = (45, 53)  # rows, cols: not a multiple of any tile size used


class Reporter:
    """The engine reporter's interface; cancels after ``cancel_after`` progress calls."""

    def __init__(self, cancel_after=None):
        self.infos, self.warnings, self.progress_values = [], [], []
        self.cancel_after = cancel_after

    def progress(self, value):
        self.progress_values.append(value)

    def info(self, message):
        self.infos.append(message)

    def warning(self, message):
        self.warnings.append(message)

    def is_cancelled(self):
        return self.cancel_after is not None and len(self.progress_values) >= self.cancel_after


# --- fixtures ------------------------------------------------------------------

def write_stack(path, data, names=NAMES, categorical=CATEGORICAL, nodata=-9999.0):
    """A factor stack GeoTIFF with the plugin's metadata; ``data`` (bands, rows, cols)."""
    bands, rows, cols = data.shape
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), cols, rows, bands, gdal.GDT_Float32, ["TILED=YES", "COMPRESS=DEFLATE"])
    dataset.SetGeoTransform((500000.0, 30.0, 0.0, 9800000.0, 0.0, -30.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    dataset.SetProjection(srs.ExportToWkt())
    for index in range(bands):
        band = dataset.GetRasterBand(index + 1)
        band.WriteArray(data[index])
        band.SetNoDataValue(nodata)
    infos = [BandInfo(index=i + 1, name=name, categorical=flag,
                      classes=[1, 2, 3] if flag else [])
             for i, (name, flag) in enumerate(zip(names, categorical, strict=True))]
    write_stack_metadata(dataset, infos, nodata)
    dataset = None
    return str(path)


def synthetic_data(shape=SHAPE, seed=0, holes=True):
    rng = np.random.default_rng(seed)
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols]
    data = np.stack([
        1500 + 3 * y + 2 * x + rng.normal(0, 20, shape),
        np.abs(rng.normal(20, 8, shape)),
        np.clip(0.5 + 0.3 * np.sin(x / 5.0) + rng.normal(0, 0.05, shape), -1, 1),
        rng.integers(1, 4, shape).astype(float),
    ]).astype(np.float32)
    if holes:
        data[:, :6, :4] = -9999.0            # a nodata corner (all bands)
        data[2, 20:24, 30:33] = -9999.0      # a hole in one band only
    return data


def make_model(path, name, data, patch=PATCH, seed=0, names=NAMES, categorical=CATEGORICAL,
               **hparams):
    """A seeded, untrained model of the zoo saved with a model card (outputs spread
    out by scaling the classifier so the checks are not all near 0.5)."""
    import keras

    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(name, (patch, patch, data.shape[0]), **hparams)
    head = model.get_layer("predictions")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 8.0, bias])
    model.save(str(path))
    valid = np.all(data != -9999.0, axis=0)
    mean = [float(band[valid].mean()) for band in data]
    std = [float(band[valid].std()) or 1.0 for band in data]
    write_card(str(path), {
        "model": name, "hparams": hparams, "patch_size": patch, "factors": names,
        "categorical": categorical, "normalisation": {"mean": mean, "std": std},
        "plugin_version": "test"})
    return str(path)


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict")
    data = synthetic_data()
    stack = write_stack(folder / "stack.tif", data)
    models = {name: make_model(folder / f"{name}.keras", name, data)
              for name in ("cnn", "ctlgnet")}
    return {"folder": folder, "data": data, "stack": stack, "models": models}


def direct_predictions(model_path, stack, rows, cols, cache_dir):
    """The training/evaluation path: PaddedStack patches, one patch per model call."""
    from landslide_susceptibility.core.model_card import read_card
    from landslide_susceptibility.engine.patches import PaddedStack
    from landslide_susceptibility.engine.training import predict_probability
    from landslide_susceptibility.models import load_model

    card = read_card(model_path)
    model = load_model(model_path, compile=False)
    padded = PaddedStack(stack, card["patch_size"], cache_dir=str(cache_dir))
    return predict_probability(model, padded, rows, cols, card["normalisation"]["mean"],
                               card["normalisation"]["std"], batch_size=1)


def predict(model, stack, output, reporter=None, seed=0, **kwargs):
    from landslide_susceptibility.engine.predict import predict_map

    spec = PredictSpec.from_json(dict(model=str(model), stack=str(stack), output=str(output),
                                      **kwargs)).validate()
    return predict_map(spec, reporter or Reporter(), seed=seed)


def read(path):
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).ReadAsArray()


def sample_pixels(valid, count=60, seed=1):
    rows, cols = np.nonzero(valid)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(rows), size=count, replace=False)
    # and the four corners' nearest valid pixels and the hole's neighbours
    extra = [(44, 52), (44, 0), (0, 52), (6, 0), (19, 29), (24, 33), (22, 29), (20, 33)]
    rows = np.r_[rows[pick], [r for r, _ in extra]]
    cols = np.r_[cols[pick], [c for _, c in extra]]
    return rows, cols


# --- exactness -------------------------------------------------------------------

@pytest.mark.parametrize("model", ["cnn", "ctlgnet"])
@pytest.mark.parametrize("method", ["auto", "patch"])
def test_sampled_pixels_equal_direct_predictions(area, tmp_path, model, method):
    output = tmp_path / "map.tif"
    reporter = Reporter()
    result = predict(area["models"][model], area["stack"], output, reporter, method=method,
                     batch_size=64)
    assert result["evaluation"] == ("dense" if method == "auto" else "patch")
    values = read(output)
    valid = np.all(area["data"] != -9999.0, axis=0)
    assert values.shape == SHAPE and values.dtype == np.float32
    np.testing.assert_array_equal(values[~valid], -9999.0)
    assert np.all((values[valid] >= 0) & (values[valid] <= 1))
    rows, cols = sample_pixels(valid)
    expected = direct_predictions(area["models"][model], area["stack"], rows, cols,
                                  tmp_path / "cache")
    assert np.std(expected) > 0.02, "the check needs probabilities that differ"
    np.testing.assert_allclose(values[rows, cols], expected, atol=1e-5, rtol=0)
    assert reporter.progress_values[-1] == 100
    assert reporter.progress_values == sorted(reporter.progress_values)


def test_output_format(area, tmp_path):
    output = tmp_path / "map.tif"
    result = predict(area["models"]["cnn"], area["stack"], output)
    dataset = gdal.Open(str(output))
    band = dataset.GetRasterBand(1)
    source = gdal.Open(area["stack"])
    assert dataset.GetGeoTransform() == source.GetGeoTransform()
    assert dataset.GetProjection() == source.GetProjection()
    assert band.DataType == gdal.GDT_Float32 and band.GetNoDataValue() == -9999.0
    assert band.GetDescription() == "landslide_probability"
    assert band.GetOverviewCount() >= 1
    assert dataset.GetMetadataItem("MODEL") == "cnn"
    structure = dataset.GetMetadata("IMAGE_STRUCTURE")
    assert structure["COMPRESSION"] == "DEFLATE" and structure.get("PREDICTOR") == "3"
    assert band.GetBlockSize() == [256, 256]  # tiled
    stats = result["statistics"]
    assert 0 <= stats["min"] <= stats["mean"] <= stats["max"] <= 1
    assert band.GetMetadataItem("STATISTICS_MEAN") is not None
    assert not [name for name in os.listdir(tmp_path) if "partial" in name]


@pytest.mark.parametrize("method", ["patch", "auto"])
def test_tiling_invariance(area, tmp_path, method):
    maps = []
    for tile in (8, 19, 64):
        output = tmp_path / f"map_{tile}.tif"
        predict(area["models"]["ctlgnet"], area["stack"], output, method=method,
                tile_size=tile, batch_size=32)
        maps.append(read(output))
    for other in maps[1:]:
        assert np.array_equal(np.isnan(other), np.isnan(maps[0]))
        # float32 rounding only: per patch, the patches of a tile fill the batches
        # differently (the matmul kernels of this CPU then round differently, up to
        # ~2e-6); dense, the stem runs on tiles of different shapes
        np.testing.assert_allclose(other, maps[0], atol=1e-5 if method == "patch" else 1e-6,
                                   rtol=0)


@pytest.mark.parametrize("name,hparams,mode", [
    ("cnn", {"filters": [4, 6]}, "head"),
    ("cnn", {"filters": [4, 6], "encoding": {"bands": [2], "classes": [[1.0, 2.0, 3.0]],
                                             "mean": [2.0], "std": [0.5]}}, "head"),
    ("ctlgnet", {"conv_filters": [4, 4, 8], "hidden_dim": 16, "num_layers": 1,
                 "num_heads": 2, "mlp_dim": 16}, "embed"),
    ("resnet18", {"widths": [8, 8], "blocks": [1, 1], "stem_filters": 8}, "gather"),
    ("densenet", {"growth_rate": 4, "block_layers": [2, 2], "stem_filters": 8}, "gather"),
    ("vit", {"patch_size": 4, "hidden_dim": 16, "num_layers": 1, "num_heads": 2,
             "mlp_dim": 16, "representation_size": 0}, "embed"),
])
@pytest.mark.parametrize("patch", [17, 24])
def test_dense_equals_per_patch(name, hparams, mode, patch):
    """Shift-and-stitch: the dense path equals the per-patch path within 1e-4 on every
    pixel of random windows, for odd and even patch sizes and several tile shapes."""
    import keras

    from landslide_susceptibility.core.tiling import patch_view
    from landslide_susceptibility.engine.dense_model import DenseModel
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.engine.runners import PatchModel
    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(1)
    model = build_model(name, (patch, patch, 3), **hparams)
    plan, reason = dense_plan(model)
    assert plan is not None, reason
    assert plan.mode == mode
    assert plan.worthwhile == (name != "vit")  # ViT shares only its input embedding
    dense = DenseModel(plan, patch, 3, batch_size=32)
    per_patch = PatchModel(model, 32)
    rng = np.random.default_rng(2)
    for rows, cols in ((9, 14), (16, 5)):
        window = rng.standard_normal((rows + patch - 1, cols + patch - 1, 3)).astype("f4")
        r, c = np.divmod(np.arange(rows * cols), cols)
        expected = per_patch.predict(patch_view(window, patch)[r, c])
        np.testing.assert_allclose(dense.predict(window, r, c), expected, atol=1e-4, rtol=0)


def test_frit_dense_plan_is_exact():
    """FrIT (Fourier mixing) too: any plan found must pass the runtime check."""
    import keras

    from landslide_susceptibility.engine.dense_model import DenseModel, check_dense
    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.engine.runners import PatchModel
    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("frit", (16, 16, 2), patch_size=4, hidden_dim=8, num_layers=1,
                        mlp_dim=8, representation_size=0)
    plan, reason = dense_plan(model)
    if plan is None:
        assert reason
    else:
        dense = DenseModel(plan, 16, 2, 8)
        assert check_dense(dense, PatchModel(model, 8), 16, 2) <= 1e-4


def test_dense_and_per_patch_maps_agree(area, tmp_path):
    fast = predict(area["models"]["cnn"], area["stack"], tmp_path / "dense.tif")
    slow = predict(area["models"]["cnn"], area["stack"], tmp_path / "patch.tif",
                   method="patch")
    assert fast["dense_mode"] == "head" and slow["evaluation"] == "patch"
    np.testing.assert_allclose(read(tmp_path / "dense.tif"), read(tmp_path / "patch.tif"),
                               atol=1e-4, rtol=0)


# --- stride ----------------------------------------------------------------------

def bilinear_reference(exact, stride):
    """The strided map from the exact one: bilinear between nodes (every
    ``stride``-th row/column and the last), exact where a needed node is nodata."""
    rows, cols = exact.shape
    out = exact.astype(np.float64).copy()
    valid = exact != -9999.0
    for r in range(rows):
        r0 = r // stride * stride
        r1 = min(r0 + stride, rows - 1)
        wy = (r - r0) / (r1 - r0) if r1 > r0 else 0.0
        for c in range(cols):
            if not valid[r, c]:
                continue
            c0 = c // stride * stride
            c1 = min(c0 + stride, cols - 1)
            wx = (c - c0) / (c1 - c0) if c1 > c0 else 0.0
            corners = [((r0, c0), (1 - wy) * (1 - wx)), ((r0, c1), (1 - wy) * wx),
                       ((r1, c0), wy * (1 - wx)), ((r1, c1), wy * wx)]
            needed = [(node, w) for node, w in corners if w != 0]
            if all(valid[node] for node, _ in needed):
                out[r, c] = sum(w * exact[node] for node, w in needed)
    return out.astype(np.float32)


def test_stride_interpolates_between_exact_nodes(area, tmp_path):
    full = tmp_path / "full.tif"
    strided = tmp_path / "stride.tif"
    predict(area["models"]["ctlgnet"], area["stack"], full, method="patch")
    reporter = Reporter()
    result = predict(area["models"]["ctlgnet"], area["stack"], strided, reporter,
                     method="patch", stride=3, tile_size=16)
    assert result["evaluated_pixels"] < 0.25 * result["valid_pixels"]
    assert any("STRIDE 3" in line and "speed-up" in line for line in reporter.infos)
    exact, approx = read(full), read(strided)
    valid = exact != -9999.0
    np.testing.assert_array_equal(approx == -9999.0, ~valid)
    expected = bilinear_reference(exact, 3)
    np.testing.assert_allclose(approx, expected, atol=1e-6, rtol=0)
    # tiling does not change the strided map either
    other = tmp_path / "stride_other.tif"
    predict(area["models"]["ctlgnet"], area["stack"], other, method="patch", stride=3,
            tile_size=40)
    np.testing.assert_array_equal(read(other), approx)


# --- bad input, cancel ------------------------------------------------------------

def test_factor_mismatch_lists_both(area, tmp_path):
    data = area["data"][[1, 0, 2, 3]]
    swapped = write_stack(tmp_path / "swapped.tif", data, names=["slope", "dem", "ndvi",
                                                                 "landuse"])
    with pytest.raises(InputError) as error:
        predict(area["models"]["cnn"], swapped, tmp_path / "map.tif")
    message = str(error.value)
    assert "model (4): dem, slope, ndvi, landuse (categorical)" in message
    assert "stack (4): slope, dem, ndvi, landuse (categorical)" in message
    flags = write_stack(tmp_path / "flags.tif", area["data"],
                        categorical=[False, False, False, False])
    with pytest.raises(InputError, match="does not match the model's factors"):
        predict(area["models"]["cnn"], flags, tmp_path / "map.tif")
    fewer = write_stack(tmp_path / "fewer.tif", area["data"][:3], names=NAMES[:3],
                        categorical=CATEGORICAL[:3])
    with pytest.raises(InputError, match=r"stack \(3\)"):
        predict(area["models"]["cnn"], fewer, tmp_path / "map.tif")
    assert not os.path.exists(tmp_path / "map.tif")


@pytest.mark.parametrize("stride", [0, -2, 1.5])
def test_bad_stride(area, tmp_path, stride):
    with pytest.raises(InputError, match="Stride"):
        predict(area["models"]["cnn"], area["stack"], tmp_path / "map.tif", stride=stride)


def test_cancel_leaves_existing_output(area, tmp_path):
    output = tmp_path / "map.tif"
    output.write_bytes(b"an older map the user keeps")
    with pytest.raises(CancelledError):
        predict(area["models"]["ctlgnet"], area["stack"], output, Reporter(cancel_after=1),
                method="patch", tile_size=8, batch_size=8)
    assert output.read_bytes() == b"an older map the user keeps"
    assert os.listdir(tmp_path) == ["map.tif"]


# --- Processing ---------------------------------------------------------------------

def test_processing_algorithm(run_alg, area, tmp_path):
    from qgis.core import QgsProcessingException

    output = str(tmp_path / "susceptibility.tif")
    result = run_alg("landslide:predictsusceptibility",
                     {"MODEL": area["models"]["cnn"], "STACK": area["stack"],
                      "BATCH_SIZE": 64, "STRIDE": 1, "OUTPUT": output})
    assert result["OUTPUT"] == output
    values = read(output)
    direct = tmp_path / "direct.tif"
    predict(area["models"]["cnn"], area["stack"], direct)
    np.testing.assert_array_equal(values, read(direct))
    other = write_stack(tmp_path / "other.tif", area["data"][:3], names=NAMES[:3],
                        categorical=CATEGORICAL[:3])
    with pytest.raises(QgsProcessingException, match="does not match the model's factors"):
        run_alg("landslide:predictsusceptibility",
                {"MODEL": area["models"]["cnn"], "STACK": other, "OUTPUT": output})


# --- memory ----------------------------------------------------------------------------

MEMORY_MAKE = """
import sys
import numpy as np
from osgeo import gdal, osr
sys.path.insert(0, {tests!r})
from test_predict import make_model
from landslide_susceptibility.core.stack import BandInfo, write_stack_metadata
size, folder = {size}, {folder!r}
ds = gdal.GetDriverByName("GTiff").Create(folder + "/stack.tif", size, size, 2,
                                          gdal.GDT_Float32, ["TILED=YES", "COMPRESS=DEFLATE"])
ds.SetGeoTransform((0, 10, 0, 0, 0, -10))
srs = osr.SpatialReference()
srs.ImportFromEPSG(32617)
ds.SetProjection(srs.ExportToWkt())
x = np.arange(size, dtype="f4")
for row in range(0, size, 256):
    y = np.arange(row, min(row + 256, size), dtype="f4")[:, None]
    for band in (1, 2):
        ds.GetRasterBand(band).WriteArray(np.sin(x / (9 * band)) * np.cos(y / 13), 0, row)
for band in (1, 2):
    ds.GetRasterBand(band).SetNoDataValue(-9999.0)
write_stack_metadata(ds, [BandInfo(1, "a"), BandInfo(2, "b")], -9999.0)
ds = None
small = np.random.default_rng(0).normal(size=(2, 40, 40)).astype("f4")
make_model(folder + "/tiny.keras", "cnn", small, patch=16, names=["a", "b"],
           categorical=[False, False], filters=[2, 2])
"""

MEMORY_RUN = """
import json, resource, sys
sys.path.insert(0, {tests!r})
from test_predict import Reporter
from landslide_susceptibility.engine.predict import predict_map
folder = {folder!r}
from landslide_susceptibility.core.specs import PredictSpec
result = predict_map(PredictSpec(model=folder + "/tiny.keras", stack=folder + "/stack.tif",
                                 output=folder + "/map.tif"), Reporter())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"peak_mib": peak, "valid": result["valid_pixels"]}}))
"""


def run_python(code, folder):
    prelude = (f"import runpy; runpy.run_path({os.path.join(REPO, 'engine', 'launcher.py')!r})"
               f"['register_package']({REPO!r})\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONNOUSERSITE="1")
    done = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=900, env=env, cwd=str(folder))
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def peak_rss(size, folder):
    """Peak RSS of a process that only predicts (the stack is made in another)."""
    folder.mkdir()
    tests = os.path.join(REPO, "tests")
    run_python(MEMORY_MAKE.format(tests=tests, size=size, folder=str(folder)), folder)
    out = run_python(MEMORY_RUN.format(tests=tests, folder=str(folder)), folder)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_memory_does_not_grow_with_raster_size(tmp_path):
    # Both stacks are larger than the 64 MiB GDAL block cache the prediction allows
    # itself; the larger one adds 216 MiB of stack and 108 MiB of map, none of it held.
    small = peak_rss(3000, tmp_path / "small")
    large = peak_rss(6000, tmp_path / "large")
    assert large["valid"] == 6000 * 6000
    growth = large["peak_mib"] - small["peak_mib"]
    assert growth < 40, (small, large)
