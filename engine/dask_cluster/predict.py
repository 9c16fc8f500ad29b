"""The susceptibility map on a Dask cluster (``predict`` with a scheduler address).

The same phases as :func:`..predict.predict_map`, with the tiles as tasks:

1. read the card and the stack's description, connect (an unreachable scheduler
   fails here, within seconds, before anything is written), make sure the
   workers run this engine's code (:class:`.session.Session`);
2. scatter the model file's bytes to every worker once; one worker loads it and
   chooses the evaluation as the engine process would (dense where the model
   allows it and the check passes); the tiles are planned with that choice, so
   they are the same tiles as in the engine process;
3. decide once whether the workers can read the stack at the client's path (the
   same raster: size, bands, geotransform), else the client reads each tile
   (with its halo) and sends it; the log says which;
4. submit the tiles, at most a window of a few per worker thread ahead of the
   next one to write; write the finished tiles in order (memory bounded by the
   window); progress from finished tiles; cancel cancels the futures. A worker
   lost mid-run: the scheduler recomputes its tiles elsewhere (the tasks are
   pure), so the map is the same;
5. statistics and overviews as in the engine process.

The worker computes a tile with the engine process's functions, so the pixel
values are identical to the in-process map. On the dense path the tile is the
unit in both; per patch a batch holds one tile's patches instead of patches
packed across tiles, which gave the same values too (tests/test_cluster.py),
as a patch's result does not depend on the others in its fixed-shape batch.
"""

import dataclasses
import hashlib
import itertools
import os
import time
import uuid
from types import SimpleNamespace

from ...core.map_writer import gdal_cache_limit
from ...core.stack import raster_output
from ...core.tiling import Tile
from .session import WORKERS_TIMEOUT_S, Session
from .tile_tasks import MapJob, describe, predict_tile, stack_fingerprint

POLL_S = 0.05               # how often the client looks at the futures (and at cancel)
TILES_PER_THREAD = 2        # tiles submitted ahead of the next one written, per thread
READ_CACHE_BYTES = 64 << 20


def predict_on_cluster(spec, reporter, seed=0):
    """:func:`..predict.predict_map` with the tiles run by the workers of the Dask
    scheduler at ``spec.scheduler``; the same result dict."""
    from .. import predict as local

    inputs = local._read_inputs(spec.model, spec.stack, reporter, spec.views)
    started = time.monotonic()
    with Session(spec.scheduler, reporter) as session:
        client = session.client
        with open(spec.model, "rb") as handle:
            data = handle.read()
        model = client.scatter(data, broadcast=True)
        job = MapJob(inputs, spec.stride, spec.batch_size, None, None,
                     hashlib.sha256(data).hexdigest(), os.path.splitext(spec.model)[1],
                     spec.method, _workers_can_read(client, inputs.info.path, reporter),
                     seed, getattr(spec, "precision", "float32"))
        data = None
        evaluation, method = _evaluation(client, job, model, reporter)
        plan = local._plan_job(inputs, evaluation, spec.stride, spec.batch_size,
                               spec.tile_size or None, reporter)
        job = dataclasses.replace(job, method=method, row_nodes=plan.row_nodes,
                                  col_nodes=plan.col_nodes)
        shared = client.scatter(job, broadcast=True, hash=False)
        with gdal_cache_limit(READ_CACHE_BYTES), raster_output(spec.output) as tmp:
            state = local._write_map(
                tmp, spec.model, plan, evaluation, reporter,
                run=lambda state: _run_tiles(session, plan, job, (shared, model), state))
    return local._result(spec.output, plan, evaluation, state, time.monotonic() - started,
                         reporter)


def _workers_can_read(client, path, reporter):
    """True when every worker opens the same raster at ``path`` (decided once, logged)."""
    mine = stack_fingerprint(path)
    seen = client.run(stack_fingerprint, path)
    other = sorted(worker for worker, found in seen.items() if found != mine)
    if not other:
        reporter.info(f"The {len(seen)} workers read their tiles of the stack themselves "
                      f"(the same raster at {path} on every worker).")
        return True
    reporter.info(f"The stack {path} is not readable at that path on {len(other)} of "
                  f"{len(seen)} workers (e.g. {other[0]}): this computer reads every tile "
                  "(with its halo) and sends it. Put the stack on a path all workers read "
                  "(a shared folder, /vsis3/, /vsicurl/) to spare that.")
    return False


def _evaluation(client, job, model, reporter):
    """How the model runs, chosen by a worker: an :class:`..predict.Evaluation`
    stand-in for planning and the result, and the method the tiles then use."""
    from ..predict import Evaluation

    described = client.submit(describe, job, model, pure=False).result()
    for warning in described["warnings"]:
        reporter.warning(warning)
    dense = None
    if described["method"] == "dense":
        dense = SimpleNamespace(plan=SimpleNamespace(
            mode=described["dense_mode"], description=described["dense_description"]))
    return Evaluation(None, dense, described["note"], described["check_error"],
                      described["tile_size"]), described["method"]


def _run_tiles(session, plan, job, shared, state):
    """Submit the tiles (a bounded window ahead), write them in order as they finish."""
    client, tiles = session.client, plan.tiles
    window = max(2, TILES_PER_THREAD * session.threads())
    prepare = None if job.workers_read else plan.make_prepare()
    token = uuid.uuid4().hex[:8]
    pending, finished, written, done_pixels = {}, {}, 0, 0
    upcoming = iter(tiles)
    started = time.monotonic()
    watch = _WorkerWatch(session)
    try:
        while written < len(tiles):
            state.check()
            for tile in itertools.islice(upcoming, window - len(pending) - len(finished)):
                task = prepare(tile) if prepare else Tile(tile.index, tile.row0, tile.col0,
                                                          tile.rows, tile.cols)
                future = client.submit(predict_tile, task, *shared,
                                       key=f"landslide-tile-{token}-{tile.index}")
                pending[future] = tile
            ready = [future for future in pending if future.done()]
            if not ready:
                watch.check()
                time.sleep(POLL_S)
                continue
            for future in ready:
                tile = pending.pop(future)
                finished[tile.index] = (tile, future.result())
                done_pixels += tile.rows * tile.cols
            state.reporter.progress(95.0 * done_pixels / state.total)
            while written in finished:
                tile, result = finished.pop(written)
                _write(state, tile, result)
                written += 1
    except BaseException:
        client.cancel(list(pending))
        raise
    state.tiles_seconds = time.monotonic() - started


def _write(state, tile, result):
    state.writer.write(tile.row0, tile.col0, result["out"])
    state.evaluated += result["evaluated"]
    state.model_seconds += result["seconds"]
    state.done += tile.rows * tile.cols


class _WorkerWatch:
    """Fails the job when the cluster has had no worker for :data:`WORKERS_TIMEOUT_S`."""

    def __init__(self, session, every=5.0):
        self.session, self.every = session, every
        self.last_check = self.last_seen = time.monotonic()

    def check(self):
        now = time.monotonic()
        if now - self.last_check < self.every:
            return
        self.last_check = now
        if self.session.workers():
            self.last_seen = now
        elif now - self.last_seen > WORKERS_TIMEOUT_S:
            from ...core.errors import InputError

            raise InputError(f"The Dask scheduler at {self.session.address} has had no "
                             f"worker for {WORKERS_TIMEOUT_S:.0f} s; the map was not written.")
