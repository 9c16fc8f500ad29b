"""The susceptibility map: a trained model's landslide probability for every
valid pixel of a factor stack (``landslide:predictsusceptibility``).

Rule (the same as training and evaluation): a pixel's value is the model's
output (softmax index 1) on the ``p x p`` patch centred on it (the centre at
offset ``p // 2``), Z-score normalised with the model card's statistics, nodata
-> NaN -> 0 after normalisation (:func:`.patches.normalise`); patches reaching
past the raster edge are completed by reflect padding (:func:`..core.samples.
pad_width`, :class:`.patches.PaddedStack`). A pixel invalid in any band gets
the output nodata, :data:`..core.map_writer.OUTPUT_NODATA` (-9999).

Streaming: the output grid is cut into tiles (:mod:`..core.tiling`); each tile
is read with a halo of half a patch by a windowed GDAL read (reflect-completed
at the raster edges, :class:`.stack_reader.StackReader`), normalised, and
predicted; the finished tile is written at once (:mod:`..core.map_writer`) and
the GDAL block cache is kept small, so memory does not depend on the raster
size. Reading, normalising and patch cutting run in a background thread that
stays a few batches ahead of the model (:class:`.prefetch.Prefetcher`).

Classical models (:mod:`.classical.predict`) run on the same tiles: per patch,
or (by default) per pixel, vectorised over the tile window, checked against
per patch on random data like the networks' dense path.

Two evaluation paths of the networks give the same numbers:

* per patch (every model): patches are strided views of the normalised tile
  (no per-pixel Python loop), gathered into fixed-shape batches and run
  through ``model(x, training=False)`` in one ``tf.function``
  (:class:`.runners.PatchModel`);
* dense (shift-and-stitch, where the model allows it): the leading layers whose
  output for a pixel does not depend on where the patch border falls run once
  over the whole tile (:mod:`.dense_plan`, :mod:`.dense_model`). Before use the
  dense path is checked against the per-patch path on random data (tolerance
  :data:`.dense_model.DENSE_TOLERANCE`); on failure the per-patch path is used
  and the log says why.

STRIDE ``s > 1`` evaluates the model only on every ``s``-th row and column
(plus the last row and column) and fills the pixels between by bilinear
interpolation of the four surrounding nodes; valid pixels next to a nodata
node are predicted directly, so no value leaks in from outside the valid area.

This module runs the phases: check the options, read the card and the stack,
load the model and choose the evaluation, plan the tiles, write the map, report.
"""

import time
from dataclasses import dataclass

import numpy as np

from ..core.errors import InputError
from ..core.map_writer import (
    OUTPUT_NODATA,
    MapWriter,
    build_overviews,
    create_map,
    gdal_cache_limit,
    overview_levels,
)
from ..core.model_card import averages_views, check_stack_matches, read_card
from ..core.progress import scaled
from ..core.samples import pad_width
from ..core.stack import raster_output, read_stack_info
from ..core.tiling import grid_nodes, plan_tiles
from .dense_model import (
    DENSE_TOLERANCE,
    TOLERANCES,
    DenseModel,
    check_dense,
    low_precision_patches,
)
from .dense_plan import dense_plan
from .dense_views import DenseViews
from .patches import view_size
from .runners import PatchModel, ViewsAveraged, emulation_warning
from .tile_loop import RunState, TileJob, run_tiles

DEFAULT_TILE = 256          # output tile side, per-patch path
DEFAULT_DENSE_TILE = 512    # output tile side, dense path (less halo overhead)
READ_CACHE_BYTES = 64 << 20  # GDAL block cache while predicting (restored after)
@dataclass
class Inputs:
    """The model card and the factor stack, checked against each other."""

    card: dict
    info: object                 # core.stack's StackInfo
    patch_size: int
    mean: list
    std: list
    view_choice: str = "model"   # Predict's Flips and turns (VIEW_CHOICES)

    @property
    def views(self):
        """Whether the map is the mean over the patches' eight flips and turns."""
        from ..models import is_classical

        return averages_views(self.card, self.view_choice) \
            and not is_classical(self.card["model"])

    @property
    def read_size(self):
        """The side of the patches read per pixel (:func:`.patches.view_size` with views)."""
        return view_size(self.patch_size) if self.views else self.patch_size


@dataclass
class Evaluation:
    """How the model runs: per patch always, densely where that was chosen."""

    patch_model: PatchModel
    dense: DenseModel = None
    note: str = ""
    check_error: float = None    # dense vs per-patch on the check, when made
    tile_size: int = 0           # the default tile side when not the networks' one


def predict_map(spec, reporter, seed=0):
    """Write the susceptibility map of ``spec.stack`` with ``spec.model`` to ``spec.output``.

    ``spec``: a validated :class:`..core.specs.PredictSpec`; its ``method`` is
    ``"auto"`` (dense where the model allows it, else per patch), ``"dense"``
    (error when the model does not allow it) or ``"patch"``. Returns a dict for
    the engine result (:class:`..core.specs.PredictOutcome`'s fields). Raises
    :class:`CancelledError` on cancel (nothing written, an existing output untouched).
    """
    if getattr(spec, "models", None):  # several models: a deep ensemble (in this process)
        from .ensemble_predict import predict_ensemble

        if getattr(spec, "scheduler", ""):
            reporter.warning(f"An ensemble map runs on this computer, not on the Dask "
                             f"scheduler {spec.scheduler} (only single-model maps do).")
        return predict_ensemble(spec, reporter, seed)
    if getattr(spec, "scheduler", ""):  # on a Dask cluster (engine/dask_cluster)
        from .dask_cluster.predict import predict_on_cluster

        return predict_on_cluster(spec, reporter, seed)
    model_path, output, method = spec.model, spec.output, spec.method
    stride, batch_size, tile_size = spec.stride, spec.batch_size, spec.tile_size or None
    inputs = _read_inputs(model_path, spec.stack, reporter, spec.views)
    started = time.monotonic()
    evaluation = _load_evaluation(model_path, inputs, batch_size, method, seed, reporter,
                                  spec.precision)
    job = _plan_job(inputs, evaluation, stride, batch_size, tile_size, reporter)
    with gdal_cache_limit(READ_CACHE_BYTES), raster_output(output) as tmp:
        state = _write_map(tmp, model_path, job, evaluation, reporter)
    return _result(output, job, evaluation, state, time.monotonic() - started, reporter)


# --- phases ----------------------------------------------------------------------

def _read_inputs(model_path, stack_path, reporter, views="model"):
    """The model card and the stack's description, checked against each other."""
    card = read_card(model_path)
    info = read_stack_info(stack_path)
    for warning in info.warnings:
        reporter.warning(warning)
    check_stack_matches(card, info.names, info.categorical)
    p = int(card["patch_size"])
    before, after = pad_width(p)
    if max(before, after) >= min(info.height, info.width):
        raise InputError(f"The STACK ({info.height} x {info.width} pixels) is smaller than "
                         f"half of the model's {p} x {p} patch; use a larger stack.")
    # read_card checked the normalisation has one value per factor, and the stack matches
    return Inputs(card, info, p, card["normalisation"]["mean"], card["normalisation"]["std"],
                  views)


def _load_evaluation(model_path, inputs, batch_size, method, seed, reporter,
                     precision="float32"):
    """Load the model; per-patch runner, and a checked dense one unless ``"patch"``.
    ``precision="bfloat16"``: the per-patch part runs in bfloat16, checked against
    float32 per patch (bound :data:`.dense_model.BF16_TOLERANCE`)."""
    from ..models import is_classical, load_model

    if is_classical(inputs.card["model"]):
        return _classical_evaluation(model_path, inputs, batch_size, method, seed)

    p, bands = inputs.patch_size, inputs.info.count
    model = load_model(model_path, compile=False, input_shape=(p, p, bands))
    patch_model = PatchModel(model, batch_size)
    patch_model(np.zeros((1, p, p, bands), np.float32))  # trace before timing tiles
    warning = emulation_warning(precision)
    if warning:
        reporter.warning(warning)
    if method != "patch":
        evaluation = _try_dense(model, patch_model, inputs, method, seed, reporter, precision)
        if evaluation.dense is None and method == "dense":
            raise InputError(f"Dense evaluation is not possible for this model: "
                             f"{evaluation.note}.")
    elif precision == "float32":
        evaluation = Evaluation(patch_model, note="per patch (as asked)")
    else:
        evaluation = _low_precision(model, patch_model, precision, seed, reporter, "as asked")
    return _with_views(evaluation, patch_model, inputs, precision, seed) if inputs.views \
        else evaluation


def _with_views(evaluation, patch_model, inputs, precision, seed):
    """``evaluation`` averaged over the eight flips and turns (*Average over flips
    and turns*): the dense path as eight dense passes over the turned window
    (:mod:`.dense_views`), checked against the per-patch views; else the per-patch
    runner on the eight views."""
    per_patch = ViewsAveraged(evaluation.patch_model, inputs.patch_size)
    if evaluation.dense is None:
        evaluation.patch_model = per_patch
        evaluation.note += "; averaged over 8 flips and turns"
        return evaluation
    dense = DenseViews(evaluation.dense)
    reference = ViewsAveraged(patch_model, inputs.patch_size)  # float32, as _try_dense's
    error = check_dense(dense, reference, inputs.read_size, inputs.info.count, seed=seed)
    if error > TOLERANCES[precision]:  # the plain dense path passed: a bug of the views
        raise RuntimeError(f"the dense views of {inputs.card['model']} differ by "
                           f"{error:.1e} from the per-patch views")
    return Evaluation(per_patch, dense, f"{dense.description}; checked against per-patch "
                      f"evaluation: max difference {error:.1e}", error)


def _classical_evaluation(model_path, inputs, batch_size, method, seed):
    """A classical model: per patch when asked, else per pixel over the tile
    (vectorised), checked against per patch like the networks' dense path."""
    from .classical.model_file import load_classical
    from .classical.predict import TILE, ClassicalDense, ClassicalPatches

    model = load_classical(model_path, inputs.card)
    patch_model = ClassicalPatches(model, batch_size)
    if method == "patch":
        return Evaluation(patch_model, note="per patch (as asked)")
    dense = ClassicalDense(model)
    error = check_dense(dense, patch_model, inputs.patch_size, inputs.info.count, seed=seed)
    if error > DENSE_TOLERANCE:  # a bug, not a property of the model
        raise RuntimeError(f"the per-pixel evaluation of {inputs.card['model']} differs by "
                           f"{error:.1e} from the per-patch one")
    return Evaluation(patch_model, dense, f"{dense.plan.description}; checked against "
                      f"per-patch evaluation: max difference {error:.1e}", error, TILE)


def _try_dense(model, patch_model, inputs, method, seed, reporter, precision="float32"):
    """The dense path when the model allows it (and, for ``"auto"``, it is worth
    it) and it passes the check against the per-patch path (float32)."""
    plan, reason = dense_plan(model)
    if plan is None or (method == "auto" and not plan.chosen_by_auto):
        note = (f"no dense evaluation: {reason}" if plan is None else
                "only the input patch embedding could be shared: too little to gain")
        if precision != "float32":
            return _low_precision(model, patch_model, precision, seed, reporter, note)
        return Evaluation(patch_model, note=f"per patch ({note})")
    p, bands = inputs.patch_size, inputs.info.count
    candidate = DenseModel(plan, p, bands, patch_model.batch_size, precision)
    error = check_dense(candidate, patch_model, p, bands, seed=seed)
    tolerance = TOLERANCES[precision]
    if error <= tolerance:
        return Evaluation(patch_model, candidate, f"{candidate.description}; checked against "
                          f"per-patch evaluation: max difference {error:.1e}", error)
    reporter.warning(f"Dense evaluation of {inputs.card['model']} is off by "
                     f"{error:.1e}; using per-patch evaluation.")
    return Evaluation(patch_model, None, f"per patch (the dense evaluation differed by "
                      f"{error:.1e} > {tolerance:g} from per-patch on a check)", error)


def _low_precision(model, patch_model, precision, seed, reporter, why):
    """Per patch in ``precision``, checked against float32 per patch (else float32)."""
    runner, error = low_precision_patches(model, patch_model, precision, seed)
    if error <= TOLERANCES[precision]:
        return Evaluation(runner, note=f"per patch ({why}) in {precision}: max difference "
                                       f"{error:.1e} to float32 on a check", check_error=error)
    reporter.warning(f"{precision} evaluation is off by {error:.1e}; using float32.")
    return Evaluation(patch_model, note=f"per patch ({why}) in float32 ({precision} "
                                        f"differed by {error:.1e})", check_error=error)


def _plan_job(inputs, evaluation, stride, batch_size, tile_size, reporter):
    """The tiles (and stride nodes) of the map, announced in the log."""
    info = inputs.info
    dense = evaluation.dense is not None
    tile_size = int(tile_size or evaluation.tile_size
                    or (DEFAULT_DENSE_TILE if dense else DEFAULT_TILE))
    if tile_size < 1:
        raise InputError(f"tile_size must be positive, not {tile_size}.")
    tiles, tile_size = plan_tiles(info.height, info.width, tile_size, stride)
    job = TileJob(inputs, stride, batch_size, tile_size, tiles,
                  grid_nodes(info.height, stride), grid_nodes(info.width, stride))
    p, model_name = inputs.patch_size, inputs.card["model"]
    # for users; the detail (layers shared, check's difference) is the evaluation note
    how = getattr(evaluation.dense.plan, "summary", "fast shared evaluation, checked") \
        if dense else "patch by patch"
    if inputs.views:
        how += ", the mean over 8 flips and turns of each patch (8 passes)"
    reporter.info(f"Predicting {info.height} x {info.width} pixels with {model_name} "
                  f"({p} x {p} x {info.count} patches), {len(tiles)} tiles of "
                  f"{tile_size} x {tile_size}; evaluation: {how}.")
    if stride > 1:
        _announce_stride(job, evaluation, reporter)
    return job


def _announce_stride(job, evaluation, reporter):
    """What STRIDE > 1 gains (nothing for a fully dense model) and costs."""
    info, stride = job.inputs.info, job.stride
    share = len(job.row_nodes) * len(job.col_nodes) / (info.height * info.width)
    dense = evaluation.dense
    if dense is not None and dense.plan.mode == "head":
        reporter.warning(
            f"STRIDE {stride}: {job.inputs.card['model']} is evaluated densely, so every "
            "pixel costs about the same whatever the stride: no speed-up is expected, and "
            "the map is interpolated between nodes as asked. Use STRIDE 1 for the exact map.")
        return
    shared = " (the densely shared stem does not shrink)" if dense is not None else ""
    reporter.info(
        f"STRIDE {stride}: the model runs on every {stride}th row and column "
        f"({100 * share:.1f}% of the pixels, plus valid pixels next to nodata), "
        f"the rest is interpolated bilinearly: expected speed-up about "
        f"{1 / share:.0f}x{shared}, at the cost of detail finer than {stride} pixels.")


def _write_map(path, model_path, job, evaluation, reporter, run=None):
    """Create the map at ``path``, predict every tile into it (``run(state)``, by
    default the in-process tile loop), then its statistics and overviews. Returns
    the :class:`.tile_loop.RunState` (its writer released)."""
    inputs = job.inputs
    info = inputs.info
    dataset = create_map(path, info, inputs.card["model"], model_path, inputs.patch_size,
                         job.stride)
    state = RunState(MapWriter(dataset), reporter, info.width * info.height)
    try:
        if run is None:
            run_tiles(job, state, evaluation.patch_model, evaluation.dense)
        else:
            run(state)
        state.statistics = state.writer.store_statistics()
        if not state.statistics:
            reporter.warning("The STACK has no valid pixel: the map is all nodata.")
        dataset.FlushCache()
        _add_overviews(dataset, info, reporter)
    finally:
        state.writer = dataset = None  # closes the file before it is moved into place
    return state


def _add_overviews(dataset, info, reporter):
    levels = overview_levels(info.width, info.height)
    if not levels:
        return
    reporter.info(f"Building overviews (average) at 1/{', 1/'.join(map(str, levels))}")
    build_overviews(dataset, levels, scaled(reporter.progress, 95.0, 100.0),
                    reporter.is_cancelled)


def _result(output, job, evaluation, state, seconds, reporter):
    """Log the summary; the engine's result dict."""
    stats, dense = state.statistics, evaluation.dense
    valid = stats["valid_pixels"] if stats else 0
    per_second = valid / max(state.tiles_seconds, 1e-9)
    reporter.progress(100)
    reporter.info(f"Wrote {output}: {valid:,} valid pixels in {seconds:.1f} s "
                  f"({per_second:,.0f} pixels per second over the tiles; the model ran "
                  f"on {state.evaluated:,} pixels).")
    return {"output": output, "model": job.inputs.card["model"],
            "patch_size": job.inputs.patch_size, "stride": job.stride,
            "tile_size": job.tile_size, "batch_size": job.batch_size,
            "evaluation": "dense" if dense is not None else "patch",
            "dense_mode": dense.plan.mode if dense is not None else None,
            "evaluation_note": evaluation.note,
            "dense_check_max_difference": evaluation.check_error, "valid_pixels": valid,
            "evaluated_pixels": state.evaluated, "seconds": round(seconds, 3),
            "model_seconds": round(state.model_seconds, 3),
            "tiles_seconds": round(state.tiles_seconds, 3), "pixels_per_s": per_second,
            "statistics": stats, "nodata": OUTPUT_NODATA, "cancelled": False}
