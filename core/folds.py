"""Spatial k-fold cross-validation of patch samples (numpy only).

The map is cut into square blocks of ``block_cells`` pixels; every block that
holds samples goes to one of ``k`` folds, so the test samples of a fold lie in
other places than its training samples. Blocks that hold landslides are dealt
first, each to the fold with the fewest landslide samples so far, then the
others, each to the fold with the fewest non-landslide samples: every fold gets
landslides and about the same number of samples. The order in which blocks
are dealt is random, drawn from ``(seed, repeat)``: the same seed gives the
same folds; each repeat of repeated k-fold also shifts the block grid by its
own offset (repeat 0: none), so its blocks and folds differ.

The buffer: a patch of side P centred on (r, c) covers rows r - P//2 …
r - P//2 + P - 1, so two patches share pixels exactly when their centres are
less than P apart in both rows and columns (Chebyshev distance < P). Training
and validation centres that close to a test centre are dropped, so no test
patch overlaps a patch the model learned from (half a patch on either side).

The validation split (model selection and early stopping of the networks) is
cut from the training folds by blocks too, after the buffer: with k >= 3 it is
the next fold (k = 5 gives the paper's 6:2:2), with k = 2 a quarter of the
training fold's blocks, dealt the same way (the last quarter that holds both
classes).

A split is described by a plain dict (:func:`kfold_split`, :func:`all_split`,
``{"method": "samples"}``) that :func:`split_of` turns into the split of
every sample: ``"train"``, ``"validation"``, ``"test"`` or ``""`` (not used).
"""

import math

import numpy as np

from .errors import InputError
from .specs.samples import BLOCK_SIZE

SPLIT_DTYPE = "<U10"
VALIDATION_GROUPS = 4  # k = 2 and refits: validation = 1 of this many groups of blocks


def block_cells_of(block_size, pixel_size, summary=None):
    """The block side in pixels: ``block_size`` map units rounded up to whole
    pixels (as buildsamples does), or with ``block_size`` 0 the samples' own
    blocks (``summary["block_cells"]``) when recorded, else
    :data:`.specs.samples.BLOCK_SIZE` map units."""
    cell = max(abs(float(v)) for v in pixel_size)
    if block_size and block_size > 0:
        return max(1, math.ceil(float(block_size) / cell - 1e-9))
    recorded = (summary or {}).get("block_cells")
    if recorded:
        return max(1, int(recorded))
    return max(1, math.ceil(BLOCK_SIZE / cell - 1e-9))


def repeat_offset(block_cells, seed, repeat):
    """The shift (rows, cols) of the block grid of ``repeat``: none for repeat 0."""
    if repeat == 0 or block_cells <= 1:
        return 0, 0
    rng = np.random.default_rng([int(seed), int(repeat), 7])
    row, col = rng.integers(0, int(block_cells), size=2)
    return int(row), int(col)


def block_ids(rows, cols, block_cells, offset=(0, 0)):
    """``(block index of every sample, number of blocks)``; only blocks that hold
    samples are numbered."""
    block_rows = (np.asarray(rows, np.int64) + offset[0]) // block_cells
    block_cols = (np.asarray(cols, np.int64) + offset[1]) // block_cells
    keys = block_rows * (int(block_cols.max(initial=0)) + 2) + block_cols
    unique, index = np.unique(keys, return_inverse=True)
    return index.ravel(), len(unique)


def deal_blocks(ids, count, labels, groups, rng):
    """The group of every block: landslide blocks first, each to the group with
    the fewest landslides so far, then the others by fewest non-landslides (ties:
    fewer samples, then the lower group), in the random order of ``rng``."""
    labels = np.asarray(labels)
    positives = np.bincount(ids, weights=labels == 1, minlength=count)
    negatives = np.bincount(ids, weights=labels != 1, minlength=count)
    order = rng.permutation(count)
    order = np.concatenate([order[positives[order] > 0], order[positives[order] == 0]])
    group_of = np.empty(count, dtype=np.int64)
    pos, neg = np.zeros(groups), np.zeros(groups)
    for block in order:
        primary = pos if positives[block] > 0 else neg
        group = int(np.lexsort((np.arange(groups), pos + neg, primary))[0])
        group_of[block] = group
        pos[group] += positives[block]
        neg[group] += negatives[block]
    return group_of


def assign_folds(rows, cols, labels, block_cells, k, seed=0, repeat=0):
    """The fold (0 … k-1) of every sample for ``repeat`` of spatial k-fold.

    Raises :class:`InputError` when fewer than ``k`` blocks hold landslides.
    """
    labels = np.asarray(labels)
    ids, count = block_ids(rows, cols, block_cells, repeat_offset(block_cells, seed, repeat))
    landslide_blocks = int(np.unique(ids[labels == 1]).size)
    if k > landslide_blocks:
        fix = f"choose at most {landslide_blocks} folds, or " if landslide_blocks >= 2 \
            else "choose "
        raise InputError(
            f"{_label('folds')}: {k} folds need {k} blocks that hold landslides, but only "
            f"{landslide_blocks} of the blocks of {block_cells} x {block_cells} pixels do: "
            f"{fix}a smaller {_label('block_size')}.")
    rng = np.random.default_rng([int(seed), int(repeat)])
    return deal_blocks(ids, count, labels, k, rng)[ids]


def near_any(rows, cols, target_rows, target_cols, distance):
    """Whether each (rows, cols) lies less than ``distance`` pixels (Chebyshev) from
    any of the targets; by buckets of ``distance`` pixels, so memory grows with the
    pairs of neighbouring samples, not all pairs."""
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    near = np.zeros(len(rows), dtype=bool)
    if len(rows) == 0 or len(target_rows) == 0 or distance <= 0:
        return near
    target_rows = np.asarray(target_rows, np.int64)
    target_cols = np.asarray(target_cols, np.int64)
    width = int(max(cols.max(), target_cols.max()) // distance) + 3
    target_keys = (target_rows // distance + 1) * width + target_cols // distance + 1
    order = np.argsort(target_keys, kind="stable")
    sorted_keys = target_keys[order]
    for d_row in (-1, 0, 1):
        for d_col in (-1, 0, 1):
            keys = (rows // distance + 1 + d_row) * width + cols // distance + 1 + d_col
            low = np.searchsorted(sorted_keys, keys, "left")
            counts = np.searchsorted(sorted_keys, keys, "right") - low
            if not counts.any():
                continue
            sample = np.repeat(np.arange(len(rows)), counts)
            starts = np.repeat(np.cumsum(counts) - counts, counts)
            target = order[np.repeat(low, counts) + np.arange(counts.sum()) - starts]
            close = (np.abs(rows[sample] - target_rows[target]) < distance) & \
                (np.abs(cols[sample] - target_cols[target]) < distance)
            near[sample[close]] = True
    return near


def kfold_split(block_cells, folds, repeat, fold, seed, patch_size, validation=True):
    """The description of fold ``fold`` of repeat ``repeat`` (for :func:`split_of`)."""
    return {"method": "kfold", "block_cells": int(block_cells), "folds": int(folds),
            "repeat": int(repeat), "fold": int(fold), "seed": int(seed),
            "patch_size": int(patch_size), "validation": bool(validation)}


def all_split(block_cells, seed, validation=True):
    """The description of a refit on all samples (a validation split by blocks when
    ``validation``)."""
    return {"method": "all", "block_cells": int(block_cells), "seed": int(seed),
            "validation": bool(validation)}


def split_of(rows, cols, labels, splits, description):
    """The split of every sample (``"train"``, ``"validation"``, ``"test"``, ``""``)
    under ``description``; the same description always gives the same splits."""
    method = description["method"]
    if method == "samples":
        return np.asarray(splits).astype(SPLIT_DTYPE)
    if method == "all":
        out = np.full(len(rows), "train", dtype=SPLIT_DTYPE)
        if description.get("validation", True):
            out[_validation_blocks(rows, cols, labels, np.ones(len(rows), bool),
                                   description)] = "validation"
        return out
    if method == "kfold":
        return _kfold_splits(rows, cols, labels, description)
    raise ValueError(f"unknown split method {method!r}")


def _kfold_splits(rows, cols, labels, d):
    fold = assign_folds(rows, cols, labels, d["block_cells"], d["folds"], d["seed"],
                        d["repeat"])
    test = fold == d["fold"]
    out = np.full(len(rows), "train", dtype=SPLIT_DTYPE)
    out[test] = "test"
    out[~test & near_any(rows, cols, rows[test], cols[test], d["patch_size"])] = ""
    if d.get("validation", True):
        if d["folds"] >= 3:
            out[(fold == (d["fold"] + 1) % d["folds"]) & (out == "train")] = "validation"
        else:
            out[_validation_blocks(rows, cols, labels, out == "train", d)] = "validation"
    return out


def _validation_blocks(rows, cols, labels, among, d):
    """Which samples of ``among`` go to validation: one of VALIDATION_GROUPS groups
    of their blocks (fewer groups when fewer blocks hold landslides), the last that
    holds both classes (else the last)."""
    rows, cols, labels = (np.asarray(a)[among] for a in (rows, cols, labels))
    repeat = int(d.get("repeat", 0))
    ids, count = block_ids(rows, cols, d["block_cells"],
                           repeat_offset(d["block_cells"], d["seed"], repeat))
    landslide_blocks = int(np.unique(ids[labels == 1]).size)
    groups = min(VALIDATION_GROUPS, max(2, landslide_blocks))
    rng = np.random.default_rng([int(d["seed"]), repeat, int(d.get("fold", 0)), 99])
    group = deal_blocks(ids, count, labels, groups, rng)[ids]
    both = [g for g in range(groups) if len(np.unique(labels[group == g])) == 2]
    chosen = np.zeros(len(among), dtype=bool)
    chosen[np.flatnonzero(among)] = group == (both[-1] if both else groups - 1)
    return chosen


def split_counts(labels, split):
    """``{split: (non-landslides, landslides)}`` of one fold's splits."""
    labels = np.asarray(labels)
    return {name: (int(((split == name) & (labels != 1)).sum()),
                   int(((split == name) & (labels == 1)).sum()))
            for name in ("train", "validation", "test")}


def check_split(labels, split, name, parts=("train", "validation", "test")):
    """Raise :class:`InputError` when one of ``parts`` of the split ``name`` (e.g.
    ``"Fold 2/5"``) misses a class; the message names the fix. Returns
    :func:`split_counts`."""
    counts = split_counts(labels, split)
    for part in ("test", "train", "validation"):
        negatives, positives = counts[part]
        if part not in parts or (positives and negatives):
            continue
        missing = "landslides" if not positives else "non-landslide samples"
        what = {"test": "test part", "train": "training part (after the buffer around "
                "the test patches)", "validation": "validation part"}[part]
        raise InputError(f"{name}: its {what} has no {missing}; both classes are "
                         f"needed. {_FIXES[part]()}")
    return counts


_FIXES = {
    "test": lambda: (f"Choose fewer {_label('folds')}, or a smaller {_label('block_size')} "
                     "(more blocks), or samples with landslides spread over more of the area."),
    "train": lambda: (f"Choose a larger {_label('block_size')} (the buffer drops the training "
                      "samples within a patch of a test sample), fewer "
                      f"{_label('folds')}, or a smaller patch size."),
    "validation": lambda: (f"Choose 3 or more {_label('folds')} (the validation part is then "
                           f"a fold of its own), or a smaller {_label('block_size')} (more "
                           "blocks)."),
}


def _label(name):
    """``Label (KEY)`` of a compare setting, as the dialog shows it."""
    from .specs.training import CompareSpec

    return CompareSpec.label_of(name)
