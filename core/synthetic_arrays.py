"""Array helpers of the synthetic study area: noise, resampling, box filters, ranks."""

import math

import numpy as np


def smooth_noise(rng, shape, correlation):
    """Gaussian-correlated noise (std 1, float32) with a correlation length in cells."""
    rows, cols = shape
    factor = max(1, int(correlation // 4))
    sigma = correlation / factor
    pad = int(math.ceil(3 * sigma))
    m_rows, m_cols = rows // factor + 2 + 2 * pad, cols // factor + 2 + 2 * pad
    white = rng.standard_normal((m_rows, m_cols))
    ky = np.fft.fftfreq(m_rows)[:, None]
    kx = np.fft.rfftfreq(m_cols)[None, :]
    kernel = np.exp(-2.0 * math.pi ** 2 * sigma ** 2 * (ky * ky + kx * kx))
    smooth = np.fft.irfft2(np.fft.rfft2(white) * kernel, s=(m_rows, m_cols))
    smooth = smooth[pad:m_rows - pad, pad:m_cols - pad]
    smooth = (smooth - smooth.mean()) / max(smooth.std(), 1e-12)
    return upsample(smooth.astype(np.float32), factor, shape)


def upsample(coarse, factor, shape):
    """Bilinear upsampling of a grid whose cells are ``factor`` target cells wide."""
    if factor == 1:
        return np.ascontiguousarray(coarse[:shape[0], :shape[1]])

    def axis_weights(count, length):
        position = np.clip((np.arange(count) + 0.5) / factor - 0.5, 0, length - 1)
        lower = np.minimum(position.astype(np.int64), length - 2)
        return lower, (position - lower).astype(np.float32)

    r0, wr = axis_weights(shape[0], coarse.shape[0])
    c0, wc = axis_weights(shape[1], coarse.shape[1])
    rows = coarse[r0] * (1 - wr)[:, None] + coarse[r0 + 1] * wr[:, None]
    return rows[:, c0] * (1 - wc)[None, :] + rows[:, c0 + 1] * wc[None, :]


def block_mean(array, factor, n):
    """Mean over ``factor`` x ``factor`` blocks of a square grid: ``n`` x ``n`` float64."""
    if factor == 1:
        return array[:n, :n].astype(np.float64)
    size = array.shape[0]
    padded = np.pad(array, ((0, n * factor - size), (0, n * factor - size)), mode="edge")
    return padded.reshape(n, factor, n, factor).mean(axis=(1, 3), dtype=np.float64)


def box_blur(a):
    """Mean over the 3 x 3 neighbourhood (edges replicated)."""
    padded = np.pad(a, 1, mode="edge")
    return sum(padded[1 + dr:1 + dr + a.shape[0], 1 + dc:1 + dc + a.shape[1]]
               for dr in (-1, 0, 1) for dc in (-1, 0, 1)) / 9.0


def box_filter(a, radius):
    """Mean over a (2 radius + 1) square window (edges replicated), float32."""
    width = 2 * radius + 1
    out = np.asarray(a, dtype=np.float32)
    for axis in (0, 1):
        padded = np.pad(out, [(radius + 1, radius) if ax == axis else (0, 0) for ax in (0, 1)],
                        mode="edge")
        padded[(slice(0, 1) if axis == 0 else (slice(None), slice(0, 1)))] = 0
        total = np.cumsum(padded, axis=axis, dtype=np.float64)
        if axis == 0:
            out = ((total[width:] - total[:-width]) / width).astype(np.float32)
        else:
            out = ((total[:, width:] - total[:, :-width]) / width).astype(np.float32)
    return out


def rank01(a):
    """Ranks of the values of ``a`` scaled to 0..1 (ties in reading order)."""
    flat = a.ravel()
    ranks = np.empty(flat.size)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (ranks / max(flat.size - 1, 1)).reshape(a.shape)


def fill_nodata(array, nodata):
    """``array`` as float32 with NaN and ``nodata`` cells set to the mean of the others."""
    bad = ~np.isfinite(array) | (array == nodata)
    if bad.any():
        array = array.copy()
        array[bad] = array[~bad].mean() if (~bad).any() else 0.0
    return array.astype(np.float32)
