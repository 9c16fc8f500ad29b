"""The workers' side of a map on a Dask cluster: the model loaded once per worker
process (a cache keyed by the model file's SHA-256; the file's bytes arrive once,
scattered by the client), the tile read from the worker's own view of the stack
(or received from the client) and predicted by the same functions as in the
engine process (:func:`..tile_loop.tile_values`, :func:`...core.tiling.assemble`).
"""

import os
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np

from ...core.map_writer import OUTPUT_NODATA, gdal_cache_limit
from ...core.tiling import assemble, prepare_tile
from ..tile_loop import tile_values

MODEL_FOLDER = "landslide_dask_models"
READ_CACHE_BYTES = 64 << 20

_MODELS = {}                 # (sha256, method, batch, precision) -> engine.predict's Evaluation
_LOCK = threading.Lock()
_LOCAL = threading.local()   # each thread's StackReader (its own GDAL dataset)


@dataclass
class MapJob:
    """What every tile task of one map shares (scattered once to every worker)."""

    inputs: object               # engine.predict's Inputs: card, stack info, p, mean, std
    stride: int
    batch_size: int
    row_nodes: np.ndarray
    col_nodes: np.ndarray
    model_sha256: str
    model_suffix: str            # ".keras" or ".skops"
    method: str                  # "dense" or "patch" once decided; "auto" to decide
    workers_read: bool           # the workers read the tiles (else the client sends them)
    seed: int = 0
    precision: str = "float32"   # the per-patch part's precision (PredictSpec.precision)


class _Collect:
    """A reporter that keeps the warnings (sent back to the client)."""

    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(str(message))

    def info(self, _message):
        pass

    def progress(self, _value):
        pass

    def is_cancelled(self):
        return False


def model_file(data, sha256, suffix):
    """The model's bytes as a file in this computer's temporary folder (written once)."""
    folder = os.path.join(tempfile.gettempdir(), MODEL_FOLDER)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, sha256 + suffix)
    if not os.path.exists(path):
        partial = f"{path}.{os.getpid()}.{threading.get_ident()}.partial"
        with open(partial, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
    return path


def evaluation(job, data, method=None):
    """``(Evaluation, warnings)``: the model of ``job`` loaded once per process."""
    from ..predict import _load_evaluation

    method = method or job.method
    key = (job.model_sha256, method, job.batch_size, job.precision)
    with _LOCK:
        if key not in _MODELS:
            reporter = _Collect()
            path = model_file(data, job.model_sha256, job.model_suffix)
            loaded = _load_evaluation(path, job.inputs, job.batch_size, method, job.seed,
                                      reporter, job.precision)
            _MODELS[key] = loaded
            _MODELS[(key[0], _chosen(loaded)) + key[2:]] = loaded
            return loaded, reporter.warnings
        return _MODELS[key], []


def _chosen(loaded):
    return "dense" if loaded.dense is not None else "patch"


def describe(job, data):
    """How the model runs (chosen on a worker, as the engine process would):
    ``method`` (``"dense"``/``"patch"``), the note, the check's difference, the
    default tile side, the dense mode and the warnings of loading it."""
    loaded, warnings = evaluation(job, data)
    dense = loaded.dense
    return {"method": _chosen(loaded), "note": loaded.note, "check_error": loaded.check_error,
            "tile_size": loaded.tile_size, "dense_mode": dense.plan.mode if dense else None,
            "dense_description": dense.plan.description if dense else None,
            "warnings": warnings}


def stack_fingerprint(path):
    """``(height, width, bands, geotransform)`` of the raster at ``path`` as this
    computer sees it, or None when it cannot be opened."""
    from osgeo import gdal

    dataset = gdal.OpenEx(path, gdal.OF_RASTER)
    if dataset is None:
        return None
    return (dataset.RasterYSize, dataset.RasterXSize, dataset.RasterCount,
            tuple(round(v, 9) for v in dataset.GetGeoTransform()))


def _reader(job):
    """This thread's reader of the stack (reused while the stack is the same)."""
    from ..stack_reader import StackReader

    inputs = job.inputs
    key = (inputs.info.path, inputs.read_size, tuple(inputs.mean), tuple(inputs.std))
    cached = getattr(_LOCAL, "reader", None)
    if cached is None or cached[0] != key:
        _LOCAL.reader = cached = (key, StackReader(inputs.info, inputs.read_size,
                                                    inputs.mean, inputs.std))
    return cached[1]


def predict_tile(tile, job, data):
    """One tile task: read the tile (when ``job.workers_read``; else ``tile`` comes
    prepared), predict it, return ``{"index", "out" (the finished float32 block),
    "evaluated", "seconds" (model), "pid"}``."""
    loaded, _ = evaluation(job, data)
    if job.workers_read:
        with gdal_cache_limit(READ_CACHE_BYTES):
            tile = prepare_tile(tile, _reader(job), job.stride, job.row_nodes, job.col_nodes)
    started = time.monotonic()
    values = tile_values(tile, loaded.dense, loaded.patch_model)
    seconds = time.monotonic() - started
    return {"index": tile.index, "out": assemble(tile, values, OUTPUT_NODATA),
            "evaluated": len(tile.pixel_rows), "seconds": seconds, "pid": os.getpid()}
