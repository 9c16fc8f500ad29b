"""Deep-ensemble maps: several models' landslide probabilities averaged, and their spread.

``predictsusceptibility`` with *Additional models (ensemble)* runs here
(:func:`predict_ensemble`). Every member is loaded and evaluated as a single
model is (:mod:`.predict`'s phases: its card checked against the stack, the
dense or per-patch evaluation chosen and checked); the members must share the
factors and the patch size (:func:`..core.ensemble.check_members`). Each tile
is read once per normalisation and patch side read (members trained on the same
samples share one), every member's values are assembled into the tile as a single-model map
would have them (:func:`..core.tiling.assemble`, stride interpolation
included), and :class:`..core.ensemble.EnsembleStats` combines them: the mean
is written to the map, the population standard deviation to the optional
*Uncertainty (standard deviation)* raster. Memory stays one tile per member.
"""

import contextlib
import copy
import dataclasses
import os
import time
from dataclasses import dataclass

from ..core.ensemble import EnsembleStats, check_members
from ..core.errors import InputError
from ..core.map_writer import OUTPUT_NODATA, MapWriter, create_map, gdal_cache_limit
from ..core.model_card import read_card
from ..core.samples import pad_width
from ..core.stack import raster_output, read_stack_info
from ..core.tiling import assemble, grid_nodes, plan_tiles
from . import predict as single
from .tile_loop import TileJob, tile_values

SD_BAND_NAME = "landslide_probability_sd"


@dataclass
class Member:
    """One model of the ensemble: its file, card-derived inputs and evaluation."""

    path: str
    inputs: object               # engine.predict's Inputs
    evaluation: object = None    # engine.predict's Evaluation

    @property
    def name(self):
        return self.inputs.card["model"]

    def reading(self):
        """How its tiles are read: the normalisation and the patch side read (members
        that share it share one read of a tile)."""
        return tuple(self.inputs.mean), tuple(self.inputs.std), self.inputs.read_size


def predict_ensemble(spec, reporter, seed=0):
    """Write the mean map of ``spec.model`` and ``spec.models`` to ``spec.output`` and,
    when ``spec.uncertainty`` is set, their standard deviation there. Returns the
    result dict of :func:`.predict.predict_map` plus ``uncertainty`` and ``members``."""
    if getattr(spec, "scheduler", ""):
        reporter.warning("An ensemble is predicted in this process: the Dask scheduler is "
                         "not used.")
    members = read_members([spec.model, *spec.models], spec.stack, reporter, spec.views)
    started = time.monotonic()
    for number, member in enumerate(members, start=1):
        reporter.info(f"Loading model {number} of {len(members)}: {member.name} "
                      f"({os.path.basename(member.path)})")
        member.evaluation = single._load_evaluation(member.path, member.inputs,
                                                    spec.batch_size, spec.method, seed,
                                                    reporter)
    job = plan_job(members, spec, reporter)
    with gdal_cache_limit(single.READ_CACHE_BYTES), raster_output(spec.output) as tmp, \
            _optional_output(spec.uncertainty) as tmp_sd:
        spread = SpreadMap(tmp_sd, job, members) if tmp_sd else None
        state = single._write_map(tmp, spec.model, job, members[0].evaluation, reporter,
                                  run=lambda state: run_tiles(job, members, state, spread))
        if spread is not None:
            spread.finish(reporter)
    result = single._result(spec.output, job, members[0].evaluation, state,
                            time.monotonic() - started, reporter)
    if spec.uncertainty:
        reporter.info(f"Wrote the uncertainty (standard deviation of the {len(members)} "
                      f"models' probabilities) to {spec.uncertainty}.")
    return dict(result, model=ensemble_name(members), uncertainty=spec.uncertainty or None,
                members=[{"model": m.name, "file": m.path} for m in members],
                evaluation_note="; ".join(f"model {n}: {m.evaluation.note}"
                                          for n, m in enumerate(members, start=1)))


def read_members(paths, stack_path, reporter, views="model"):
    """The members' inputs, their cards checked against the stack and each other."""
    info = read_stack_info(stack_path)
    for warning in info.warnings:
        reporter.warning(warning)
    cards = [read_card(path) for path in paths]
    check_members(cards, paths, info.names, info.categorical)
    p = int(cards[0]["patch_size"])
    before, after = pad_width(p)
    if max(before, after) >= min(info.height, info.width):
        raise InputError(f"The STACK ({info.height} x {info.width} pixels) is smaller than "
                         f"half of the models' {p} x {p} patch; use a larger stack.")
    return [Member(path, single.Inputs(card, info, p, card["normalisation"]["mean"],
                                       card["normalisation"]["std"], views))
            for path, card in zip(paths, cards, strict=True)]


def ensemble_name(members):
    names = [m.name for m in members]
    return f"ensemble of {len(names)}: {', '.join(names)}"


def members_line(members):
    """``ensemble of 2 models: a.keras, b.keras (CNN (10 layers))``: the files, and
    the models by their display names, for the log."""
    from ..models import display_names

    codes = list(dict.fromkeys(m.name for m in members))
    names = display_names(codes)
    files = ", ".join(os.path.basename(m.path) for m in members)
    return (f"ensemble of {len(members)} models: {files} "
            f"({', '.join(names[code] for code in codes)})")


def plan_job(members, spec, reporter):
    """The tiles: the smallest of the members' default tile sides, unless one is given."""
    info, stride = members[0].inputs.info, spec.stride
    sides = [m.evaluation.tile_size or (single.DEFAULT_DENSE_TILE if m.evaluation.dense
                                        is not None else single.DEFAULT_TILE)
             for m in members]
    tiles, tile_size = plan_tiles(info.height, info.width, int(spec.tile_size or min(sides)),
                                  stride)
    p = members[0].inputs.patch_size
    reporter.info(f"Predicting {info.height} x {info.width} pixels with an {members_line(members)}"
                  f"; {p} x {p} x {info.count} patches, {len(tiles)} tiles of {tile_size} x "
                  f"{tile_size}; the map is their mean probability.")
    return TileJob(members[0].inputs, stride, spec.batch_size, tile_size, tiles,
                   grid_nodes(info.height, stride), grid_nodes(info.width, stride))


@contextlib.contextmanager
def _optional_output(path):
    if not path:
        yield None
        return
    with raster_output(path) as tmp:
        yield tmp


# --- the tile loop ---------------------------------------------------------------

def run_tiles(job, members, state, spread=None):
    """Every tile: each member's values, combined; the mean to ``state.writer``, the
    standard deviation to ``spread``."""
    started = time.monotonic()
    _describe_members(state.writer.dataset, members)
    prepare = {}
    for member in members:  # one reader per normalisation and patch side read
        key = member.reading()
        if key not in prepare:
            prepare[key] = dataclasses.replace(job, inputs=member.inputs).make_prepare()
    for tile in job.tiles:
        state.check()
        stats = EnsembleStats((tile.rows, tile.cols))
        prepared = {}
        for number, member in enumerate(members):
            key = member.reading()
            if key not in prepared:
                prepared[key] = prepare[key](copy.copy(tile))
            values = _member_values(prepared[key], member, state, tile, number / len(members),
                                    len(members))
            stats.add(assemble(prepared[key], values, OUTPUT_NODATA), OUTPUT_NODATA)
        state.writer.write(tile.row0, tile.col0, stats.mean(OUTPUT_NODATA))
        if spread is not None:
            spread.writer.write(tile.row0, tile.col0, stats.std(OUTPUT_NODATA))
        state.evaluated += len(next(iter(prepared.values())).pixel_rows)
        state.done += tile.rows * tile.cols
        state.reporter.progress(95.0 * state.done / state.total)
    state.tiles_seconds = time.monotonic() - started


def _member_values(prepared, member, state, tile, offset, count):
    """One member's values on the prepared tile's pixels (timed, with progress)."""
    clock = time.monotonic()
    evaluation = member.evaluation
    values = tile_values(prepared, evaluation.dense, evaluation.patch_model,
                         state.reporter.is_cancelled,
                         lambda fraction: state.partial(tile, offset + fraction / count))
    state.model_seconds += time.monotonic() - clock
    return values


def _describe_members(dataset, members):
    """The ensemble in a map's metadata (besides what :func:`create_map` wrote)."""
    dataset.SetMetadataItem("MODEL", ensemble_name(members))
    dataset.SetMetadataItem("ENSEMBLE_SIZE", str(len(members)))
    dataset.SetMetadataItem("ENSEMBLE_MODELS", ";".join(os.path.basename(m.path)
                                                        for m in members))


class SpreadMap:
    """The uncertainty raster: the map's grid, the members' standard deviation."""

    def __init__(self, path, job, members):
        inputs = job.inputs
        self.info = inputs.info
        self.dataset = create_map(path, inputs.info, ensemble_name(members), members[0].path,
                                  inputs.patch_size, job.stride)
        self.dataset.SetMetadataItem("LANDSLIDE_MAP", "uncertainty")
        _describe_members(self.dataset, members)
        band = self.dataset.GetRasterBand(1)
        band.SetDescription(SD_BAND_NAME)
        band.SetMetadata({"QUANTITY": "standard deviation (population) of the ensemble "
                                      "members' landslide probabilities",
                          "MODEL": ensemble_name(members)})
        self.writer = MapWriter(self.dataset)

    def finish(self, reporter):
        """Statistics and overviews; closes the file."""
        try:
            self.writer.store_statistics()
            self.dataset.FlushCache()
            single._add_overviews(self.dataset, self.info, _Quiet(reporter))
        finally:
            self.writer = self.dataset = None


class _Quiet:
    """The reporter without progress (the mean map's overviews already took 95..100)."""

    def __init__(self, reporter):
        self.info, self.is_cancelled = reporter.info, reporter.is_cancelled

    @staticmethod
    def progress(_value):
        pass
