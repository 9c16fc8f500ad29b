"""Patch-centre sampling for the landslide dataset (the paper's "Building a
landslide dataset"): balanced landslide / non-landslide centres, a random or a
spatial-block train/validation/test split, and the leakage between splits.

Patches are ``patch_size`` x ``patch_size`` windows centred on a pixel. For an
even size the centre pixel is at offset ``patch_size // 2`` (the window covers
rows ``r - p//2 .. r - p//2 + p - 1``). Two patches share pixels exactly when
their centres are less than ``patch_size`` apart along both axes.

Border rule: centres closer than half a patch to the raster edge are allowed;
their patches are completed by reflect padding (see :func:`pad_width`). The same
rule is used in training, evaluation and prediction.

Repeat rule: a class with fewer pixels than ``samples_per_class`` uses every
pixel, then repeats them evenly; a repeated centre stays in the split of its
first draw, so no centre is in two splits. More than ``MAX_OVERSAMPLING`` times
a class's pixels is refused. The summary counts the repeats.

Mapped area (optional, :mod:`.mapped_area`): every centre of both classes is
inside it, and only the spatial blocks that touch it take part in the split.
"""

import numpy as np

from .errors import InputError
from .mapped_area import area_text
from .progress import check_cancelled, never_cancelled, no_progress
from .spatial_blocks import box_any, box_sum, clear_of_other_splits, spatial_split_map
from .specs.samples import (
    DEFAULT_PATCH_SIZE,
    MAX_OVERSAMPLING,
    RATIOS,
    SAMPLE_SPLITS,
    SAMPLES_PER_CLASS,
    SPLIT_METHODS,
    SamplesSpec,
)

# The parameters the messages name, by label (key) as the dialog and scripts show them
SAMPLES_LABEL = SamplesSpec.label_of("samples_per_class")
BLOCK_LABEL = SamplesSpec.label_of("block_size")
BUFFER_LABEL = SamplesSpec.label_of("negative_buffer")
INVENTORY_INPUT = SamplesSpec.label_of("inventory")
STACK_INPUT = SamplesSpec.label_of("stack")

SPLITS = SAMPLE_SPLITS
RANDOM, SPATIAL = (code for code, _ in SPLIT_METHODS)


def pad_width(patch_size):
    """Rows/columns of reflect padding before and after, for the border rule."""
    before = patch_size // 2
    return before, patch_size - 1 - before


def normalised_ratios(train, validation, test):
    ratios = np.array([train, validation, test], dtype=float)
    if np.any(ratios < 0) or ratios.sum() <= 0:
        raise InputError(f"TRAIN_RATIO/VALIDATION_RATIO/TEST_RATIO ({train}, {validation}, "
                         f"{test}) must be non-negative and sum to a positive number, "
                         "e.g. 6, 2, 2.")
    return ratios / ratios.sum()


def _split_counts(total, ratios):
    """Integer counts per split that add up to ``total`` (largest remainder)."""
    raw = ratios * total
    counts = np.floor(raw).astype(int)
    for index in np.argsort(-(raw - counts))[: total - counts.sum()]:
        counts[index] += 1
    return counts


def _draw(rng, candidates, count, what, warnings):
    """``count`` flat indices from ``candidates``; repeats only if short."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    if len(candidates) == 0:
        raise InputError(f"No valid {what} centres are available. " + _fix_for(what))
    if len(candidates) < count:
        flat = _repeat_evenly(rng, candidates, count)
        warnings.append(_repeat_warning(flat, len(candidates), what,
                                        f"Use a smaller {BLOCK_LABEL} or lower {SAMPLES_LABEL} "
                                        "to repeat fewer."))
        return flat
    return rng.choice(candidates, size=count, replace=False)


def _repeat_evenly(rng, pixels, count):
    """``count`` centres from fewer ``pixels``: every pixel ``count // n`` times and
    the rest once more, chosen at random (no patch weighs much more than another)."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    rounds, rest = divmod(count, len(pixels))
    return np.concatenate([np.tile(pixels, rounds),
                           rng.choice(pixels, size=rest, replace=False)])


def _repeat_warning(flat, available, what, fix):
    """The log line for a class (or split) drawn with repeats."""
    most = int(np.unique(flat, return_counts=True)[1].max())
    return (f"Only {available:,} {what} pixels for {len(flat):,} samples: every one is used "
            f"and {len(flat) - available:,} are repeats (each patch at most {most} times), each "
            f"in the split of its first draw (no centre is in two splits). {fix}")


def _check_oversampling(samples_per_class, classes):
    """Refuse more than ``MAX_OVERSAMPLING`` times a class's available pixels."""
    for _, candidates, what in classes:
        available = int(candidates.sum())
        if samples_per_class > MAX_OVERSAMPLING * available:
            more = (f"add landslides to the {INVENTORY_INPUT}" if what == "landslide"
                    else f"lower {BUFFER_LABEL}")
            raise InputError(
                f"Samples per class {samples_per_class} is more than {MAX_OVERSAMPLING} × "
                f"the {available:,} {what} pixels available; lower {SAMPLES_LABEL} to "
                f"{MAX_OVERSAMPLING * available:,} or less ({available:,} uses every centre "
                f"once), or {more}.")


def _first_draw_counts(available, per_split, what):
    """Distinct centres per split when a class has fewer pixels than samples: in
    proportion to ``per_split``, at least one in every split that takes samples."""
    counts = _split_counts(available, per_split / per_split.sum())
    for split in np.flatnonzero((counts == 0) & (per_split > 0)):
        donor = int(np.argmax(counts))
        if counts[donor] < 2:
            raise InputError(
                f"Only {available} {what} pixels for {int((per_split > 0).sum())} splits: a "
                "centre is never in two splits, so each split needs its own. Set a ratio "
                f"to 0, or use more {what} pixels.")
        counts[donor] -= 1
        counts[split] += 1
    return counts


def _oversample(rng, pool, per_split, what):
    """Random split with fewer pixels than samples: every pixel is drawn once and
    dealt to a split (its first draw), then repeated only within that split.
    Returns the flat indices and their split indices."""
    first = _first_draw_counts(len(pool), per_split, what)
    dealt = np.split(rng.permutation(pool), np.cumsum(first)[:-1])
    flat = [_repeat_evenly(rng, pixels, count)
            for pixels, count in zip(dealt, per_split, strict=True)]
    return np.concatenate(flat), np.repeat(np.arange(3), per_split)


def _fix_for(what):
    if "non-landslide" in what:
        return (f"Lower {BUFFER_LABEL}, enlarge the stack's valid area, or use a smaller "
                f"{BLOCK_LABEL}.")
    return "Check that the inventory overlaps the stack's valid pixels."


def negative_candidates_mask(landslide_mask, valid_mask, buffer_cells):
    """Valid pixels farther than ``buffer_cells`` (Chebyshev) from any landslide."""
    blocked = landslide_mask.copy()
    if buffer_cells > 0:
        blocked = box_any(landslide_mask, buffer_cells)
    return valid_mask & ~blocked


def leakage(rows, cols, splits, patch_size, shape):
    """Share of test patches that overlap (share a pixel with) any training patch."""
    rows, cols, splits = map(np.asarray, (rows, cols, splits))
    test = splits == "test"
    if not test.any():
        return 0.0
    train_count = np.zeros(shape, dtype=np.int32)
    np.add.at(train_count, (rows[splits == "train"], cols[splits == "train"]), 1)
    near = box_sum(train_count, patch_size - 1)
    return float(np.mean(near[rows[test], cols[test]] > 0))


def _check_sizes(shape, patch_size, samples_per_class):
    if patch_size < 1 or patch_size > min(shape):
        raise InputError(f"PATCH_SIZE {patch_size} does not fit the stack ({shape[0]} rows x "
                         f"{shape[1]} columns). Use a patch size up to {min(shape)}.")
    if samples_per_class < 1:
        raise InputError(f"{SAMPLES_LABEL} must be at least 1.")


def _candidates(landslide_mask, valid_mask, negative_buffer_cells, in_area=False):
    """``(positives, negatives)``: valid landslide pixels, and valid pixels clear
    of landslides by the buffer; :class:`InputError` when either is too scarce.
    ``in_area``: ``valid_mask`` is restricted to the mapped area."""
    positives = landslide_mask & valid_mask
    if not positives.any():
        if in_area:
            raise InputError(f"No landslide pixel of the {INVENTORY_INPUT} falls on a valid "
                             f"pixel of the {STACK_INPUT} inside the Mapped area. Check that "
                             "the mapped area is where the inventory was mapped, or leave "
                             "Mapped area empty.")
        raise InputError(f"No landslide pixel of the {INVENTORY_INPUT} falls on a valid pixel "
                         f"of the {STACK_INPUT}. Check that the inventory overlaps the stack.")
    negatives = negative_candidates_mask(landslide_mask, valid_mask, negative_buffer_cells)
    if negatives.sum() < 2:
        raise InputError(f"Fewer than 2 valid non-landslide centres remain "
                         f"({int(negatives.sum())}) with NEGATIVE_BUFFER of "
                         f"{negative_buffer_cells} cells"
                         f"{' inside the Mapped area' if in_area else ''}. Lower "
                         f"NEGATIVE_BUFFER{' or use a larger Mapped area' if in_area else ''}.")
    return positives, negatives


def _part(flat, shape, label, splits):
    """``(rows, cols, labels, splits)`` of drawn flat indices."""
    rows, cols = np.unravel_index(flat, shape)
    return rows, cols, np.full(len(flat), label, dtype=np.int8), splits


def _draw_random(rng, classes, samples_per_class, per_split, shape, warnings, progress,
                 is_cancelled):
    """Parts for the random split: each class's centres drawn from the whole
    area, then dealt to the splits in ``per_split`` numbers at random; with fewer
    pixels than samples, repeats stay in their first draw's split (:func:`_oversample`)."""
    parts = []
    for label, candidates, what in classes:
        pool = np.flatnonzero(candidates)
        if len(pool) < samples_per_class:
            flat, split_index = _oversample(rng, pool, per_split, what)
            warnings.append(_repeat_warning(flat, len(pool), what,
                                            f"Lower {SAMPLES_LABEL} to {len(pool):,} to "
                                            "use every centre once."))
        else:
            flat = rng.choice(pool, size=samples_per_class, replace=False)
            split_index = np.repeat(np.arange(3), per_split)
            rng.shuffle(split_index)
        parts.append(_part(flat, shape, label, np.asarray(SPLITS)[split_index]))
        progress(10 + 40 * (2 - label))
        check_cancelled(is_cancelled)
    return parts


def _draw_spatial(rng, classes, per_split, block_cells, ratios, patch_size, shape, warnings,
                  progress, is_cancelled, inside=None):
    """Parts for the spatial-block split: each split's centres drawn from its own
    blocks, away from the other splits' blocks by half a patch. ``inside``: only
    blocks touching it (the mapped area) take part."""
    if not block_cells or block_cells < 1:
        raise InputError(f"{BLOCK_LABEL} must be positive for the spatial split.")
    landslides = classes[0][1]  # classes: ((1, landslide pixels, …), (0, …))
    split_map, grid = spatial_split_map(shape, int(block_cells), ratios, rng, landslides,
                                        inside)
    clear = clear_of_other_splits(split_map, patch_size)
    progress(30)
    parts = []
    for split_index, split in enumerate(SPLITS):
        check_cancelled(is_cancelled)
        if per_split[split_index] == 0:
            continue
        area = clear & (split_map == split_index)
        for label, candidates, what in classes:
            pool = np.flatnonzero(candidates & area)
            if len(pool) == 0:
                raise InputError(
                    f"The spatial split gives the {split} split no {what} pixels "
                    f"({int((grid == split_index).sum())} of {int((grid >= 0).sum())} "
                    f"blocks{' in the Mapped area' if inside is not None else ''} of "
                    f"{block_cells} cells; {int(candidates.sum())} {what} pixels in "
                    f"all). Use a smaller {BLOCK_LABEL} or different ratios.")
            flat = _draw(rng, pool, per_split[split_index], f"{what} ({split})", warnings)
            parts.append(_part(flat, shape, label, np.full(len(flat), split, dtype=object)))
        progress(30 + 20 * (split_index + 1))
    return parts


def _ordered(parts):
    """The parts joined and sorted by split, label (landslides first), row, column."""
    rows, cols, labels, splits = (np.concatenate(column) for column in zip(*parts, strict=True))
    splits = splits.astype(str)
    split_rank = np.zeros(len(splits), dtype=np.int8)
    for index, split in enumerate(SPLITS):
        split_rank[splits == split] = index
    order = np.lexsort((cols, rows, -labels, split_rank))
    return rows[order], cols[order], labels[order], splits[order]


def draw_samples(landslide_mask, valid_mask, patch_size=DEFAULT_PATCH_SIZE,
                 samples_per_class=SAMPLES_PER_CLASS, split_method=RANDOM, block_cells=None,
                 ratios=RATIOS,
                 negative_buffer_cells=0, seed=0, area_mask=None, progress=no_progress,
                 is_cancelled=never_cancelled):
    """Draw balanced patch centres and split them.

    ``landslide_mask`` and ``valid_mask`` are boolean arrays on the stack grid;
    ``area_mask`` (optional, the mapped area) keeps every centre of both classes,
    and the spatial blocks, inside it.
    Returns a dict with arrays ``rows``, ``cols``, ``labels`` (1/0), ``splits``
    (strings), plus ``summary`` (counts per split and label, repeats, leakage) and
    ``warnings`` (list of messages for the log).
    """
    landslide_mask = np.asarray(landslide_mask, dtype=bool)
    valid_mask = np.asarray(valid_mask, dtype=bool)
    if area_mask is not None:
        valid_mask = valid_mask & np.asarray(area_mask, dtype=bool)
    shape = valid_mask.shape
    _check_sizes(shape, patch_size, samples_per_class)
    ratios = normalised_ratios(*ratios)
    rng = np.random.default_rng(seed)
    warnings = []
    positives, negatives = _candidates(landslide_mask, valid_mask, negative_buffer_cells,
                                       in_area=area_mask is not None)
    progress(10)
    check_cancelled(is_cancelled)

    per_split = _split_counts(samples_per_class, ratios)
    classes = ((1, positives, "landslide"), (0, negatives, "non-landslide"))
    _check_oversampling(samples_per_class, classes)
    if split_method == RANDOM:
        parts = _draw_random(rng, classes, samples_per_class, per_split, shape, warnings,
                             progress, is_cancelled)
    elif split_method == SPATIAL:
        parts = _draw_spatial(rng, classes, per_split, block_cells, ratios, patch_size, shape,
                              warnings, progress, is_cancelled,
                              None if area_mask is None else valid_mask)
    else:
        raise InputError(f"Split method must be '{RANDOM}' or '{SPATIAL}' (spatial blocks), "
                         f"not '{split_method}'.")
    rows, cols, labels, splits = _ordered(parts)
    progress(90)
    summary = summarise(rows, cols, labels, splits, patch_size, shape)
    progress(100)
    return {"rows": rows, "cols": cols, "labels": labels, "splits": splits,
            "summary": summary, "warnings": warnings}


def summarise(rows, cols, labels, splits, patch_size, shape):
    """Counts per split and label, repeated centres per label (drawn again after
    their first draw), and the test-train leakage."""
    counts = {split: {"landslide": int(np.sum((splits == split) & (labels == 1))),
                      "non_landslide": int(np.sum((splits == split) & (labels == 0)))}
              for split in SPLITS}
    flat = np.asarray(rows, dtype=np.int64) * shape[1] + np.asarray(cols)
    repeats = {name: int(np.sum(labels == label) - len(np.unique(flat[labels == label])))
               for label, name in ((1, "landslide"), (0, "non_landslide"))}
    return {"counts": counts, "total": int(len(rows)), "repeats": repeats,
            "leakage": leakage(rows, cols, splits, patch_size, shape)}


def summary_text(summary):
    lines = [f"{'split':12s} {'landslide':>10s} {'non-landslide':>14s}"]
    for split in SPLITS:
        c = summary["counts"][split]
        lines.append(f"{split:12s} {c['landslide']:>10d} {c['non_landslide']:>14d}")
    repeats = summary.get("repeats", {})
    if any(repeats.values()):
        lines.append(f"repeats: {repeats['landslide']:,} landslide and "
                     f"{repeats['non_landslide']:,} non-landslide centres drawn again, each "
                     "in the split of its first draw")
    lines.append(f"leakage: {100 * summary['leakage']:.1f}% of test patches overlap a "
                 "training patch")
    if summary.get("mapped_area"):
        lines.append(area_text(summary["mapped_area"]))
    return "\n".join(lines)
