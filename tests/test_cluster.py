"""Maps and model comparisons on a Dask cluster (issue 15): a real
``distributed.LocalCluster`` of worker processes (2 workers, 1 thread each; the
engine code reaches them through the client, as on plain workers). The map is
identical to the engine process's (CNN dense path, CTLGNet, the client sending
the tiles), a worker killed mid-run changes nothing, an unreachable scheduler
fails within seconds naming the address and writes nothing, a worker running
another plugin version is refused with both versions named, and 2 models x 2
folds on the cluster equal the local run."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from osgeo import gdal, osr

from landslide_susceptibility.core.errors import CancelledError, InputError
from landslide_susceptibility.core.model_card import write_card
from landslide_susceptibility.core.specs import PredictSpec
from landslide_susceptibility.core.specs.cluster import SCHEDULER_ENV, normalise_address
from landslide_susceptibility.core.stack import BandInfo, write_stack_metadata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES, CATEGORICAL = ["dem", "slope", "landuse"], [False, False, True]
SHAPE, PATCH, TILE = (48, 48), 16, 16


class Reporter:
    """The engine reporter's interface; ``on_progress`` is called on each progress."""

    def __init__(self, on_progress=None):
        self.infos, self.warnings, self.progress_values = [], [], []
        self.on_progress = on_progress

    def progress(self, value):
        self.progress_values.append(value)
        if self.on_progress is not None:
            self.on_progress(value)

    def info(self, message):
        self.infos.append(message)

    def warning(self, message):
        self.warnings.append(message)

    def is_cancelled(self):
        return False


def write_stack(path, seed=0):
    """A 3-factor stack (48 x 48, a nodata corner) with the plugin's metadata."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    data = np.stack([1500 + 3 * y + 2 * x + rng.normal(0, 20, SHAPE),
                     np.abs(rng.normal(20, 8, SHAPE)),
                     rng.integers(1, 4, SHAPE).astype(float)]).astype(np.float32)
    data[:, :5, :4] = -9999.0
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), SHAPE[1], SHAPE[0], 3,
                                                   gdal.GDT_Float32, ["TILED=YES"])
    dataset.SetGeoTransform((500000.0, 30.0, 0.0, 9800000.0, 0.0, -30.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    dataset.SetProjection(srs.ExportToWkt())
    for index in range(3):
        dataset.GetRasterBand(index + 1).WriteArray(data[index])
        dataset.GetRasterBand(index + 1).SetNoDataValue(-9999.0)
    bands = [BandInfo(index=i + 1, name=name, categorical=flag, classes=[1, 2, 3] if flag else [])
             for i, (name, flag) in enumerate(zip(NAMES, CATEGORICAL, strict=True))]
    write_stack_metadata(dataset, bands, -9999.0)
    dataset = None
    return str(path), data


def card(name, data):
    valid = np.all(data != -9999.0, axis=0)
    return {"model": name, "hparams": {}, "patch_size": PATCH, "factors": NAMES,
            "categorical": CATEGORICAL, "plugin_version": "test",
            "normalisation": {"mean": [float(b[valid].mean()) for b in data],
                              "std": [float(b[valid].std()) or 1.0 for b in data]}}


def make_model(path, name, data, seed=0):
    """A seeded, untrained network of the zoo with its model card."""
    import keras

    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(name, (PATCH, PATCH, 3))
    head = model.get_layer("predictions")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 8.0, bias])  # outputs spread out, not all near 0.5
    model.save(str(path))
    write_card(str(path), card(name, data))
    return str(path)


def predict(model, stack, output, reporter=None, **extra):
    from landslide_susceptibility.engine.predict import predict_map

    params = dict(model=str(model), stack=str(stack), output=str(output), tile_size=TILE)
    spec = PredictSpec.from_json(dict(params, **extra)).validate()
    return predict_map(spec, reporter or Reporter())


def read(path):
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    return band.ReadAsArray(), band.GetStatistics(False, False)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- quick: addresses, precedence, code version, unreachable scheduler ------------

@pytest.mark.parametrize("text, expected", [
    ("", ""), ("10.0.0.5", "tcp://10.0.0.5:8786"), ("node-1:9000", "tcp://node-1:9000"),
    (" tcp://127.0.0.1:8786 ", "tcp://127.0.0.1:8786"), ("tls://[::1]:1", "tls://[::1]:1")])
def test_scheduler_addresses_are_normalised(text, expected):
    assert normalise_address(text) == expected


@pytest.mark.parametrize("text", ["http://x:1", "a b:1", "host:70000"])
def test_bad_scheduler_address_names_the_parameter(text):
    with pytest.raises(InputError, match="Dask scheduler address"):
        PredictSpec.from_json(dict(model="m.keras", stack="s.tif", output="o.tif",
                                   scheduler=text)).validate()


def test_scheduler_precedence():
    from landslide_susceptibility.algorithms.cluster_setting import resolve_scheduler
    from landslide_susceptibility.engine.cli import with_scheduler

    env = {SCHEDULER_ENV: "envhost"}
    assert with_scheduler({}, "flaghost", env) == {"scheduler": "flaghost"}
    assert with_scheduler({"scheduler": "spec"}, None, env) == {"scheduler": "spec"}
    assert with_scheduler({"scheduler": ""}, None, env) == {"scheduler": ""}
    assert with_scheduler({}, None, env) == {"scheduler": "envhost"}
    assert with_scheduler({}, None, {}) == {}
    assert resolve_scheduler("", env, "settinghost") == "tcp://envhost:8786"
    assert resolve_scheduler("", {}, "settinghost") == "tcp://settinghost:8786"
    assert resolve_scheduler("given", env, "settinghost") == "tcp://given:8786"


def test_processing_setting_and_parameter(provider, monkeypatch):
    from processing.core.ProcessingConfig import ProcessingConfig
    from qgis.core import QgsApplication, QgsProcessingParameterDefinition

    from landslide_susceptibility.algorithms.cluster_setting import scheduler_address
    from landslide_susceptibility.core.specs.cluster import SCHEDULER_SETTING

    algorithm = QgsApplication.processingRegistry().algorithmById(
        "landslide:predictsusceptibility")
    definition = algorithm.parameterDefinition("DASK_SCHEDULER")
    assert definition.description() == "Dask scheduler address"
    assert definition.flags() & QgsProcessingParameterDefinition.FlagAdvanced
    assert ProcessingConfig.getSetting(SCHEDULER_SETTING) == ""
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert scheduler_address("") == ""
    ProcessingConfig.setSettingValue(SCHEDULER_SETTING, "10.0.0.5")
    try:
        assert scheduler_address("") == "tcp://10.0.0.5:8786"
        monkeypatch.setenv(SCHEDULER_ENV, "envhost:1234")
        assert scheduler_address("") == "tcp://envhost:1234"
        assert scheduler_address("tcp://given:1") == "tcp://given:1"
    finally:
        ProcessingConfig.setSettingValue(SCHEDULER_SETTING, "")


def test_code_version_follows_the_shipped_files(tmp_path):
    from landslide_susceptibility.engine.dask_cluster import code

    copy = tmp_path / "plugin"
    for name in code.code_files(REPO):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(os.path.join(REPO, name), copy / name)
    version = code.code_version(str(copy))
    assert version.startswith(code.metadata_version(REPO) + " (code ")
    assert "engine/dask_cluster/code.py" in code.code_files(str(copy))
    assert not any(name.startswith(("tests", "gui", "algorithms")) for name in
                   code.code_files(str(copy)))
    (copy / "tests").mkdir()
    (copy / "tests" / "x.py").write_text("changed = 1\n")  # not shipped: same version
    assert code.code_version(str(copy)) == version
    with open(copy / "engine" / "tile_loop.py", "a") as handle:
        handle.write("\n# changed\n")
    assert code.code_version(str(copy)) != version
    top = code.upload_folder(str(copy), str(tmp_path / "up"), version)
    assert os.path.isfile(os.path.join(top, "landslide_susceptibility", "engine",
                                       "dask_cluster", "tile_tasks.py"))


def test_engine_folder_does_not_hide_dask():
    """engine/ is sys.path[0] in the engine process (engine/launcher.py): a module
    there named like a library would be imported instead of it."""
    engine = os.path.join(REPO, "engine")
    for name in ("dask", "distributed", "tornado", "cloudpickle", "msgpack"):
        assert not os.path.exists(os.path.join(engine, name))
        assert not os.path.exists(os.path.join(engine, name + ".py"))


def test_unreachable_scheduler_fails_fast_naming_it(tmp_path):
    _, data = write_stack(tmp_path / "stack.tif")
    model = tmp_path / "cnn.keras"
    zipfile.ZipFile(model, "w").close()
    write_card(str(model), card("cnn", data))  # a card is all a failed connect reads
    output = tmp_path / "map.tif"
    address = f"tcp://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(InputError) as error:
        predict(model, tmp_path / "stack.tif", output, scheduler=address)
    assert time.monotonic() - started < 12
    assert address in str(error.value) and "Cannot reach the Dask scheduler" in str(error.value)
    assert sorted(os.listdir(tmp_path)) == ["cnn.keras", "stack.tif"]  # nothing written


# --- slow: a LocalCluster of worker processes ------------------------------------

@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None)
    yield local
    local.close()


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    stack, data = write_stack(folder / "stack.tif")
    models = {name: make_model(folder / f"{name}.keras", name, data)
              for name in ("cnn", "ctlgnet")}
    return {"folder": folder, "stack": stack, "models": models}


def worker_pids(cluster):
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as client:
        return client.run(os.getpid)


@pytest.mark.slow
@pytest.mark.parametrize("name, method", [("cnn", "auto"), ("ctlgnet", "auto"),
                                          ("cnn", "patch")])
def test_cluster_map_is_identical(cluster, area, tmp_path, name, method):
    model = area["models"][name]
    local = predict(model, area["stack"], tmp_path / "local.tif", method=method)
    reporter = Reporter()
    remote = predict(model, area["stack"], tmp_path / "cluster.tif", reporter,
                     method=method, scheduler=cluster.scheduler_address)
    assert remote["evaluation"] == local["evaluation"]
    assert remote["evaluation"] == ("patch" if method == "patch" else "dense")
    expected, stats = read(tmp_path / "local.tif")
    got, got_stats = read(tmp_path / "cluster.tif")
    assert np.array_equal(got, expected) and got_stats == stats
    assert remote["valid_pixels"] == local["valid_pixels"] > 0
    assert any("read their tiles of the stack themselves" in m for m in reporter.infos)
    assert reporter.progress_values[-1] == 100 and \
        reporter.progress_values == sorted(reporter.progress_values)


@pytest.mark.slow
def test_client_sends_tiles_the_workers_cannot_read(cluster, area, tmp_path):
    """A stack in this process's memory (/vsimem/) is not readable on the workers:
    the client reads the tiles and sends them; the same map."""
    gdal.Translate("/vsimem/cluster_stack.tif", area["stack"])
    try:
        model = area["models"]["cnn"]
        predict(model, area["stack"], tmp_path / "local.tif")
        reporter = Reporter()
        predict(model, "/vsimem/cluster_stack.tif", tmp_path / "cluster.tif", reporter,
                scheduler=cluster.scheduler_address)
    finally:
        gdal.Unlink("/vsimem/cluster_stack.tif")
    assert any("this computer reads every tile" in m for m in reporter.infos)
    assert np.array_equal(read(tmp_path / "cluster.tif")[0], read(tmp_path / "local.tif")[0])


@pytest.mark.slow
def test_worker_killed_mid_run_gives_the_same_map(cluster, area, tmp_path):
    model = area["models"]["ctlgnet"]
    predict(model, area["stack"], tmp_path / "local.tif", tile_size=8)
    killed = []

    def kill_once(_value):  # at the first finished tile: tiles are still running
        if not killed:
            killed.append(sorted(worker_pids(cluster).values())[0])
            os.kill(killed[0], signal.SIGKILL)

    predict(model, area["stack"], tmp_path / "cluster.tif", Reporter(kill_once),
            tile_size=8, scheduler=cluster.scheduler_address)
    assert killed and killed[0] not in worker_pids(cluster).values()
    assert np.array_equal(read(tmp_path / "cluster.tif")[0], read(tmp_path / "local.tif")[0])


@pytest.mark.slow
def test_cancel_cancels_the_tiles_and_writes_nothing(cluster, area, tmp_path):
    from distributed import Client

    class CancelAtFirstTile(Reporter):
        def is_cancelled(self):
            return bool(self.progress_values)

    output = tmp_path / "map.tif"
    output.write_bytes(b"an existing map")
    with pytest.raises(CancelledError):
        predict(area["models"]["ctlgnet"], area["stack"], output, CancelAtFirstTile(),
                tile_size=8, scheduler=cluster.scheduler_address)
    assert output.read_bytes() == b"an existing map" and os.listdir(tmp_path) == ["map.tif"]
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
                key.startswith("landslide-tile") for key in client.run_on_scheduler(
                    lambda dask_scheduler: [str(key) for key in dask_scheduler.tasks])):
            time.sleep(0.5)
        left = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in
                                                               dask_scheduler.tasks])
    assert not [key for key in left if key.startswith("landslide-tile")]


@pytest.mark.slow
def test_worker_with_another_version_is_refused(tmp_path):
    """A worker without a nanny (it cannot restart to load the code sent) that runs
    another version of the plugin: refused when the job starts, both versions named."""
    from distributed import LocalCluster

    from landslide_susceptibility.engine.dask_cluster import code

    other = tmp_path / "other" / "landslide_susceptibility"
    for name in code.code_files(REPO):
        (other / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(os.path.join(REPO, name), other / name)
    metadata = (other / "metadata.txt").read_text()
    (other / "metadata.txt").write_text(metadata.replace("version=", "version=9.9.9-old\n#", 1))
    theirs, ours = code.code_version(str(other)), code.code_version(REPO)
    _, data = write_stack(tmp_path / "stack.tif")
    model = tmp_path / "cnn.keras"
    zipfile.ZipFile(model, "w").close()
    write_card(str(model), card("cnn", data))
    with LocalCluster(n_workers=0, processes=True, dashboard_address=None) as scheduler:
        worker = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "dask"), "worker",
             scheduler.scheduler_address, "--no-nanny", "--nthreads", "1"],
            env=dict(os.environ, PYTHONPATH=str(tmp_path / "other")),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with pytest.raises(InputError) as error:
                predict(model, tmp_path / "stack.tif", tmp_path / "map.tif",
                        scheduler=scheduler.scheduler_address)
        finally:
            worker.terminate()
            worker.wait(30)
    message = str(error.value)
    assert "another version" in message and theirs in message and ours in message
    assert "9.9.9-old" in theirs and not (tmp_path / "map.tif").exists()


@pytest.fixture(scope="module")
def cv_samples(small_stack, sample_area, tmp_path_factory):
    from landslide_susceptibility.core.build_samples import build_samples

    path = str(tmp_path_factory.mktemp("cluster_cv") / "samples.gpkg")
    build_samples(small_stack, sample_area["files"]["landslides"], path, patch_size=16,
                  samples_per_class=100, seed=0)
    return path


@pytest.mark.slow
def test_comparison_on_the_cluster_equals_the_local_run(cluster, small_stack, cv_samples,
                                                        tmp_path, fake_reporter):
    from landslide_susceptibility.engine.commands import run_command

    params = dict(stack=small_stack, samples=cv_samples, models=["logistic", "cnn"],
                  epochs=1, batch_size=16, optimizer="adam", seed=3, refit=False,
                  validation="spatial_kfold", folds=2, block_size=400.0)
    local = run_command("compare", dict(params, output_folder=str(tmp_path / "local")),
                        fake_reporter)
    remote = run_command("compare", dict(params, output_folder=str(tmp_path / "cluster"),
                                         scheduler=cluster.scheduler_address), Reporter())
    # 2 folds of logistic, CNN and their blend ("Score a blend", on by default)
    assert len(remote.fold_rows) == len(local.fold_rows) == 6
    key = lambda row: (row["model"], row["fold"])  # noqa: E731
    for got, expected in zip(sorted(remote.fold_rows, key=key),
                             sorted(local.fold_rows, key=key), strict=True):
        assert got["metrics"] == expected["metrics"]
        assert (got["train"], got["test"]) == (expected["train"], expected["test"])
    assert [(r.model, r.metrics, r.p_ttest) for r in remote.rows] == \
        [(r.model, r.metrics, r.p_ttest) for r in local.rows]
    assert remote.verdict == local.verdict
