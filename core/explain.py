"""Why a trained model decides: permutation importance of the factors and the
occlusion map of the patch (``landslide:explainmodel``; the engine command
``explain`` runs the model).

numpy only: the model is a callable ``predict(raw) -> probability`` on raw
(unnormalised) patches ``(N, P, P, C)``, so the same code serves networks and
classical models.

- **Permutation importance** of factor ``c``: the drop of the ROC AUC on the
  samples when band ``c`` of the patches is shuffled between samples (the whole
  band patch of one sample goes to another; the other bands stay), repeated
  ``repeats`` times with different shuffles: mean and SD of the drops. About 0:
  the model does not use the factor (or another factor carries the same
  information).
- **Occlusion**: a square of the patch (``window`` pixels, moved by ``stride``)
  is set to the training mean of each band (what the model sees as "no
  information", 0 after normalisation); the drop of the landslide probability,
  averaged over landslide patches and over the squares covering each pixel, is
  that pixel's importance. High in the centre: the model looks at the sample's
  own cell; spread out: it uses the surroundings.

``raw`` is changed in place while a factor or square is replaced and restored
afterwards, so no copy of the patches is made.
"""

import numpy as np

from .errors import InputError
from .progress import check_cancelled, never_cancelled, no_progress
from .roc import auc


def permutation_importance(predict, raw, labels, repeats=5, seed=0, progress=no_progress,
                           is_cancelled=never_cancelled):
    """``(baseline AUC, drops [repeats, C])`` of the AUC when each band is shuffled."""
    labels = np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        raise InputError("Permutation importance needs landslide and non-landslide samples "
                         "in the split; choose another split.")
    baseline = auc(labels, predict(raw))
    rng = np.random.default_rng(seed)
    bands = raw.shape[-1]
    drops = np.zeros((repeats, bands))
    for band in range(bands):
        saved = raw[..., band].copy()
        try:
            for repeat in range(repeats):
                check_cancelled(is_cancelled)
                raw[..., band] = saved[rng.permutation(len(saved))]
                drops[repeat, band] = baseline - auc(labels, predict(raw))
                progress(100.0 * (band * repeats + repeat + 1) / (bands * repeats))
        finally:
            raw[..., band] = saved
    return baseline, drops


def square_positions(size, window, stride):
    """Top (or left) offsets of the squares: every ``stride`` pixels, the last one
    flush with the edge."""
    if not 1 <= window <= size:
        raise InputError(f"The occlusion square ({window} pixels) must fit in the patch "
                         f"({size} pixels).")
    positions = list(range(0, size - window + 1, max(1, stride)))
    if positions[-1] != size - window:
        positions.append(size - window)
    return positions


def default_window(patch_size):
    """A sixth of the patch (at least 2 pixels, at most the patch)."""
    return int(min(patch_size, max(2, round(patch_size / 6))))


def occlusion_map(predict, raw, fill, window, stride=None, progress=no_progress,
                  is_cancelled=never_cancelled):
    """``(P, P)``: the mean drop of ``predict`` when a square covering the pixel is set
    to ``fill`` (one value per band), over the patches ``raw`` and the squares."""
    size = raw.shape[1]
    stride = stride or max(1, window // 2)
    positions = square_positions(size, window, stride)
    fill = np.asarray(fill, dtype=raw.dtype).reshape(1, 1, 1, -1)
    base = predict(raw)
    total = np.zeros((size, size))
    covered = np.zeros((size, size))
    done, count = 0, len(positions) ** 2
    for top in positions:
        for left in positions:
            check_cancelled(is_cancelled)
            region = (slice(None), slice(top, top + window), slice(left, left + window))
            saved = raw[region].copy()
            try:
                raw[region] = fill
                drop = float(np.mean(base - predict(raw)))
            finally:
                raw[region] = saved
            total[top:top + window, left:left + window] += drop
            covered[top:top + window, left:left + window] += 1
            done += 1
            progress(100.0 * done / count)
    return total / covered


def importance_rows(names, means, spreads):
    """``[(factor, mean AUC drop, SD)]`` sorted by the mean drop, largest first."""
    return sorted(((str(n), float(m), float(s)) for n, m, s in
                   zip(names, means, spreads, strict=True)), key=lambda row: -row[1])
