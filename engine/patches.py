"""The patch pipeline: cut patches from the factor stack on the fly.

The stack GeoTIFF is copied once, block by block, into a memory-mapped
float32 array (rows, cols, bands) with reflect padding of half a patch on every
side (the border rule of :mod:`..core.samples`), so that a patch is a plain
slice and memory does not grow with the raster or the number of samples.
Batches are normalised with the training statistics and, for the training
split, augmented: random horizontal flip, random 90-degree rotation and random
scaling that keeps the patch size. Everything is deterministic for a seed.

``tf_dataset`` wraps the batch generator in ``tf.data`` with prefetching so that
reading and augmentation overlap the model step.

The padded copies are cached in ``$TMPDIR/landslide_patch_cache`` (one ``.npy``
per stack and patch size, reused while the stack is unchanged). When a copy is
written, entries unused for ``CACHE_MAX_AGE_S`` are removed, then the least
recently used until the cache holds at most ``CACHE_MAX_BYTES``; the new copy and
those open in this process stay. Several processes may share the cache: files
that vanish meanwhile are rebuilt or skipped.
"""

import collections
import hashlib
import math
import os
import tempfile
import time
import weakref

import numpy as np
from osgeo import gdal

from ..core.errors import InputError
from ..core.running_stats import RunningStats
from ..core.samples import pad_width

CACHE_FOLDER = "landslide_patch_cache"  # in the system temporary folder ($TMPDIR)
CACHE_MAX_BYTES = 2 * 1024 ** 3  # total size of the patch cache's entries
CACHE_MAX_AGE_S = 7 * 24 * 3600  # an entry unused this long is removed
_IN_USE = collections.Counter()  # cache entries open in this process: never evicted


def default_cache_dir():
    return os.path.join(tempfile.gettempdir(), CACHE_FOLDER)


def _cache_path(stack_path, patch_size, cache_dir):
    stat = os.stat(stack_path)
    key = f"{os.path.abspath(stack_path)}|{stat.st_size}|{stat.st_mtime_ns}|{patch_size}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"stack_{digest}.npy")


def _cache_entries(cache_dir):
    """``(last use, bytes, path, partial)`` of the cache's files, skipping files that
    vanish while listed (another process)."""
    try:
        names = os.listdir(cache_dir)
    except FileNotFoundError:
        return []
    entries = []
    for name in names:
        if not (name.startswith("stack_") and name.endswith(".npy")):
            continue
        path = os.path.join(cache_dir, name)
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path, name.endswith(".partial.npy")))
    return entries


def evict_stale(cache_dir, keep=None):
    """Remove entries unused for more than ``CACHE_MAX_AGE_S``, then the least
    recently used until the entries total at most ``CACHE_MAX_BYTES``. ``keep`` and
    the entries open in this process stay; partial files (being written by
    another process) go only by age. Returns the removed paths."""
    now = time.time()
    entries = _cache_entries(cache_dir)
    total = sum(size for _, size, _, partial in entries if not partial)
    removed = []
    for used, size, path, partial in sorted(entries):  # least recently used first
        too_old = now - used > CACHE_MAX_AGE_S
        too_big = not partial and total > CACHE_MAX_BYTES
        if path == keep or path in _IN_USE or not (too_old or too_big):
            continue
        try:
            os.remove(path)
        except FileNotFoundError:  # removed by another process meanwhile
            pass
        except OSError:  # e.g. open in another process where that forbids removal
            continue
        removed.append(path)
        total -= 0 if partial else size
    return removed


def _touch(path):
    """Mark a cache entry as just used (its modification time orders eviction)."""
    try:
        os.utime(path)
    except OSError:
        pass


def _release(path):
    _IN_USE[path] -= 1
    if _IN_USE[path] <= 0:
        del _IN_USE[path]


class PaddedStack:
    """The stack as a reflect-padded (rows + p - 1, cols + p - 1, bands) memmap."""

    def __init__(self, stack_path, patch_size, cache_dir=None, is_cancelled=None):
        self.patch_size = int(patch_size)
        self.source = stack_path
        self.for_views = None  # the same raster padded for the views (stack_for_views)
        dataset = gdal.Open(stack_path)
        if dataset is None:
            raise InputError(f"Cannot open the factor stack '{stack_path}'.")
        self.rows, self.cols = dataset.RasterYSize, dataset.RasterXSize
        self.bands = dataset.RasterCount
        cache_dir = os.path.abspath(cache_dir or default_cache_dir())
        os.makedirs(cache_dir, exist_ok=True)
        self.path = _cache_path(stack_path, patch_size, cache_dir)
        _IN_USE[self.path] += 1
        weakref.finalize(self, _release, self.path)
        try:
            self.array = np.load(self.path, mmap_mode="r")
            _touch(self.path)
        except FileNotFoundError:  # not cached yet, or evicted by another process
            self._build(dataset, is_cancelled)
            evict_stale(cache_dir, keep=self.path)
            self.array = np.load(self.path, mmap_mode="r")

    def _build(self, dataset, is_cancelled):
        before, after = pad_width(self.patch_size)
        if before >= self.rows or before >= self.cols:
            raise ValueError(f"patch size {self.patch_size} is larger than the stack")
        shape = (self.rows + before + after, self.cols + before + after, self.bands)
        handle, partial = tempfile.mkstemp(  # one per process: concurrent builds are safe
            dir=os.path.dirname(self.path), suffix=".partial.npy",
            prefix=os.path.basename(self.path)[:-len(".npy")] + ".")
        os.close(handle)
        try:
            self._fill(np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32,
                                                 shape=shape), dataset, is_cancelled)
        except BaseException:
            os.remove(partial)
            raise
        os.replace(partial, self.path)

    def _fill(self, out, dataset, is_cancelled):
        """Copy the stack into ``out`` block by block, then reflect-pad its borders."""
        before, after = pad_width(self.patch_size)
        nodata = dataset.GetRasterBand(1).GetNoDataValue()
        step = max(1, 4_000_000 // max(1, self.cols * self.bands))
        for row in range(0, self.rows, step):
            if is_cancelled is not None and is_cancelled():
                raise KeyboardInterrupt
            count = min(step, self.rows - row)
            block = dataset.ReadAsArray(0, row, self.cols, count)
            block = block.reshape(self.bands, count, self.cols).transpose(1, 2, 0)
            block = block.astype(np.float32)
            if nodata is not None:
                block[block == np.float32(nodata)] = np.nan
            out[before + row:before + row + count, before:before + self.cols] = block
        # reflect padding (edge pixel not repeated), columns then rows
        core = slice(before, before + self.rows)
        if before:
            out[core, :before] = out[core, 2 * before:before:-1]
        if after:
            out[core, before + self.cols:] = \
                out[core, before + self.cols - 2:before + self.cols - 2 - after:-1]
        if before:
            out[:before] = out[2 * before:before:-1]
        if after:
            out[before + self.rows:] = out[before + self.rows - 2:before + self.rows - 2 - after:-1]
        out.flush()

    def patches(self, rows, cols):
        """Patches centred on (rows, cols) of the original grid: (n, p, p, bands)."""
        p = self.patch_size
        out = np.empty((len(rows), p, p, self.bands), dtype=np.float32)
        for index, (row, col) in enumerate(zip(rows, cols, strict=True)):
            out[index] = self.array[row:row + p, col:col + p]
        return out


def normalise(batch, mean, std):
    """Z-score with the training statistics (per band); nodata (NaN) pixels that
    reach into a patch from outside the valid area become 0, the band mean.

    Computed on rows of (columns x bands) values, with the statistics repeated
    along the row: the same numbers as per band, in long runs (about 3 times
    faster than broadcasting over the short band axis)."""
    batch = np.asarray(batch, np.float32)
    repeat = batch.shape[-2] if batch.ndim >= 2 else 1
    mean = np.tile(np.asarray(mean, np.float32), repeat)
    scale = np.tile(1.0 / np.asarray(std, np.float32), repeat)
    out = batch.reshape(-1, mean.size) - mean
    out *= scale
    nodata = np.isnan(out)
    if nodata.any():
        out[nodata] = 0.0
    return out.reshape(batch.shape)


def _statistics_chunks(stack, rows, cols, max_patches, seed):
    """The patches (up to ``max_patches`` of them, drawn for ``seed``) of the
    centres (rows, cols), 256 at a time."""
    rng = np.random.default_rng(seed)
    index = np.arange(len(rows))
    if len(index) > max_patches:
        index = rng.choice(index, size=max_patches, replace=False)
    for start in range(0, len(index), 256):
        chunk = index[start:start + 256]
        yield stack.patches(np.asarray(rows)[chunk], np.asarray(cols)[chunk])


def training_statistics(stack, rows, cols, max_patches=2000, seed=0):
    """Per-band mean and std over the pixels of (up to ``max_patches``) training
    patches, ignoring nodata; a constant band gets std 1."""
    stats = RunningStats(stack.bands)
    for patches in _statistics_chunks(stack, rows, cols, max_patches, seed):
        stats.add(patches)
    return stats.normalisation()


def bin_levels(bins):
    """The quantile levels of ``bins`` bins' edges: 1 %, 1/bins, ..., 1 - 1/bins,
    99 % (the outer edges inside the extremes, so that a few outliers do not
    squeeze the end bins)."""
    levels = np.linspace(0.0, 1.0, int(bins) + 1)
    levels[0], levels[-1] = 0.01, 0.99
    return levels


def bin_edges(stack, rows, cols, bins, max_patches=2000, max_values=200_000, seed=0):
    """Per band, the ``bins + 1`` edges of :class:`..models.layers.FactorBins`:
    quantiles (:func:`bin_levels`) of the valid pixels of (up to ``max_patches``)
    training patches, every ``step``-th row and column of each patch when they
    hold more than ``max_values`` pixels. A band without valid pixels gets edges
    0 to 1."""
    count = min(len(rows), max_patches) * stack.patch_size ** 2
    step = max(1, math.ceil(math.sqrt(count / max_values)))
    values = [patches[:, ::step, ::step].reshape(-1, stack.bands)
              for patches in _statistics_chunks(stack, rows, cols, max_patches, seed)]
    values = np.concatenate(values) if values else np.empty((0, stack.bands), np.float32)
    levels = bin_levels(bins)
    edges = []
    for band in range(stack.bands):
        valid = values[:, band][np.isfinite(values[:, band])].astype(np.float64)
        found = np.quantile(valid, levels) if valid.size else levels
        edges.append([float(v) for v in np.maximum.accumulate(found)])
    return edges


def augment(batch, rng, scale_range=(0.9, 1.1)):
    """Random horizontal flip, then 90-degree rotation, then scaling, all about the
    sample's cell (row and column ``size // 2``, where a patch is centred; nearest
    neighbour, edge clamp), keeping the patch size. The sample's cell stays in
    place, also for an even size, where a flip or turn about that cell reaches one
    row or column past the patch on one side (clamped to the edge).

    The three are composed into one source-pixel map per patch and applied with
    a single gather, so a batch is read once.
    """
    count = len(batch)
    flip = rng.random(count) < 0.5
    turns = rng.integers(0, 4, size=count)
    scales = rng.uniform(*scale_range, size=count) if scale_range else np.ones(count)
    return _gather(batch, *_source_maps(batch.shape[1], flip, turns, scales))


VIEWS = tuple((flip, turns) for flip in (False, True) for turns in range(4))


def view_size(patch_size):
    """The side of the patches read for the eight views of a ``patch_size`` patch:
    the odd size around the sample's cell (one more for an even patch), so that a
    flip or turn about that cell finds every cell it needs."""
    return patch_size + 1 - patch_size % 2


def views(batch, size=None):
    """The eight flips and 90-degree turns of every patch about its sample's cell
    (as :func:`augment` makes them, without scaling), cut to ``size`` (default: the
    patches' own), as one array ``(8, n, size, size, bands)``; view 0 is the batch.
    Patches of :func:`view_size` around the cell give exact views, without the
    clamping an even patch needs."""
    count, side = batch.shape[:2]
    size = side if size is None else size
    return np.stack([
        _gather(batch, *_source_maps(side, np.full(count, flip), np.full(count, turns),
                                     np.ones(count)))[:, :size, :size]
        for flip, turns in VIEWS])


def mean_over_views(probability, batch, size):
    """The mean of ``probability`` (patches -> values) over the eight :func:`views`
    of ``batch`` (patches of :func:`view_size` of ``size``), one call per view."""
    return np.mean([probability(np.ascontiguousarray(view)) for view in views(batch, size)],
                   axis=0)


def stack_for_views(stack):
    """``stack`` (a :class:`PaddedStack`) for patches of :func:`view_size` of its
    patch size: itself when that is the same, else the same raster padded for it
    (opened once per ``stack``: validation asks for it every epoch)."""
    size = view_size(stack.patch_size)
    if size == stack.patch_size:
        return stack
    if stack.for_views is None:
        stack.for_views = PaddedStack(stack.source, size, cache_dir=os.path.dirname(stack.path))
    return stack.for_views


def _source_maps(size, flip, turns, scales):
    """Per patch, the row and column each output cell reads: a horizontal ``flip``,
    then ``turns`` quarter turns (``np.rot90``), then scaling by ``scales``, all
    about the cell ``size // 2``, clamped to the patch."""
    centre = size // 2
    source = np.clip(np.rint(centre + (np.arange(size)[None, :] - centre) / scales[:, None]),
                     0, size - 1).astype(np.intp)
    rows = np.repeat(source[:, :, None], size, axis=2)
    cols = np.repeat(source[:, None, :], size, axis=1)

    def mirrored(index):  # index -> its mirror about the sample's cell, clamped
        return np.clip(2 * centre - index, 0, size - 1)

    for k in (1, 2, 3):  # np.rot90(k=1, axes=(1, 2)) about the cell: out[a, b] = in[b, 2c - a]
        chosen = turns == k
        r, c = rows[chosen], cols[chosen]
        for _ in range(k):
            r, c = c, mirrored(r)
        rows[chosen], cols[chosen] = r, c
    cols = np.where(np.asarray(flip)[:, None, None], mirrored(cols), cols)
    return rows, cols


def _gather(batch, rows, cols):
    """``batch`` with every patch's cells read from (``rows``, ``cols``)."""
    count, size = batch.shape[:2]
    flat = (np.arange(count)[:, None, None] * size + rows) * size + cols
    return np.take(batch.reshape(count * size * size, -1), flat.ravel(), axis=0) \
        .reshape(batch.shape)


def batches(stack, rows, cols, labels, mean, std, batch_size, training, seed, epoch=0,
            scale_range=(0.9, 1.1), augment_batches=None, mixup=0.0):
    """Yield (x, y) numpy batches; y is one-hot (n, 2). Shuffled when ``training``
    and augmented too unless ``augment_batches`` is False; ``mixup`` > 0 mixes
    every patch and its label with another of the batch (:func:`mix`). The order,
    the augmentation and the mixing depend only on ``seed`` and ``epoch``."""
    augment_batches = training if augment_batches is None else augment_batches
    rows, cols, labels = map(np.asarray, (rows, cols, labels))
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(rows)) if training else np.arange(len(rows))
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        x = normalise(stack.patches(rows[index], cols[index]), mean, std)
        if augment_batches:
            x = augment(x, rng, scale_range)
        y = np.eye(2, dtype=np.float32)[labels[index].astype(int)]
        if mixup:
            x, y = mix(x, y, rng, mixup)
        yield x, y


def mix(x, y, rng, alpha):
    """Mixup: each patch and its label blended with those of a random other patch
    of the batch, by a weight drawn from Beta(alpha, alpha)."""
    weight = rng.beta(alpha, alpha, size=len(x)).astype(np.float32)
    other = rng.permutation(len(x))
    wx = weight.reshape((-1,) + (1,) * (x.ndim - 1))
    return (wx * x + (1 - wx) * x[other]).astype(np.float32), \
        (weight[:, None] * y + (1 - weight[:, None]) * y[other]).astype(np.float32)


def tf_dataset(stack, rows, cols, labels, mean, std, batch_size, training, seed,
               epoch=0, scale_range=(0.9, 1.1), augment_batches=None, mixup=0.0):
    """``batches`` as a prefetching ``tf.data.Dataset``."""
    import tensorflow as tf

    p, bands = stack.patch_size, stack.bands
    spec = (tf.TensorSpec((None, p, p, bands), tf.float32), tf.TensorSpec((None, 2), tf.float32))
    steps = -(-len(rows) // batch_size)
    return tf.data.Dataset.from_generator(
        lambda: batches(stack, rows, cols, labels, mean, std, batch_size, training, seed,
                        epoch, scale_range, augment_batches, mixup),
        output_signature=spec).apply(tf.data.experimental.assert_cardinality(steps)) \
        .prefetch(tf.data.AUTOTUNE)
