"""The neighbourhood-context truth of the synthetic study area.

Under this truth the landslide probability depends on the terrain around a
cell, which none of the nine single-pixel conditioning factors carries:

- ``relief``: local relief, the elevation range (max - min) within
  :data:`RELIEF_RADIUS_M` (a square window);
- ``convergence``: flow concentration, the divergence of the unit up-slope
  direction ``div(grad z / |grad z|)`` (the contour curvature: positive in
  hollows and valleys, negative on spurs and ridges), averaged over a window of
  :data:`CONVERGENCE_RADIUS_M`;
- ``distance_to_slope_break``: the distance to the nearest edge of steep ground
  (the slope smoothed over :data:`BREAK_SMOOTHING_M` crossing its
  :data:`BREAK_QUANTILE` quantile).

They enter a logistic truth like the pixel truth's
(:func:`.synthetic_landslides.true_probability`): z-scored, weighted by
:data:`CONTEXT_COEFFICIENTS`, plus the lithology and land-use effects (the
other single-pixel factors do not enter). All is
computed from the DEM and the slope, without random draws, so a seed gives the
same truth every time, and the same factors as the pixel truth.
"""

import numpy as np

from .raster_io import proximity
from .synthetic_arrays import box_blur, box_filter
from .synthetic_grid import CRS

RELIEF_RADIUS_M = 150.0
CONVERGENCE_RADIUS_M = 30.0
BREAK_SMOOTHING_M = 30.0
BREAK_QUANTILE = 0.7
# Coefficients of the context truth on its z-scored variables (besides them only the
# lithology and land-use effects of the pixel truth).
CONTEXT_COEFFICIENTS = {"relief": 1.2, "convergence": 1.6, "distance_to_slope_break": -1.4}
CONTEXT_DESCRIPTION = {
    "relief": f"elevation range (max - min) within {RELIEF_RADIUS_M:g} m (square window)",
    "convergence": (f"mean over {CONVERGENCE_RADIUS_M:g} m of div(grad z / |grad z|): "
                    "positive in hollows"),
    "distance_to_slope_break": (f"metres to the nearest edge of the ground steeper than the "
                                f"{BREAK_QUANTILE:g} quantile of the slope smoothed over "
                                f"{BREAK_SMOOTHING_M:g} m"),
}


def context_factors(dem, slope, gt):
    """``{"relief", "convergence", "distance_to_slope_break"}`` (float32 arrays)."""
    cell = gt[1]
    return {"relief": local_relief(dem, _radius(RELIEF_RADIUS_M, cell)),
            "convergence": convergence(dem, cell, _radius(CONVERGENCE_RADIUS_M, cell)),
            "distance_to_slope_break": distance_to_slope_break(slope, gt)}


def _radius(metres, cell):
    return max(1, int(round(metres / cell)))


def local_relief(dem, radius):
    """max - min of ``dem`` over the ``(2 radius + 1)`` square window (edges replicated)."""
    high, low = dem, dem
    for axis in (0, 1):
        high = _running_extreme(high, radius, axis, np.maximum)
        low = _running_extreme(low, radius, axis, np.minimum)
    return (high - low).astype(np.float32)


def _running_extreme(a, radius, axis, extreme):
    """The running max (or min) over ``2 radius + 1`` cells along ``axis``, by doubling:
    ``log2(width)`` passes whatever the width."""
    width = 2 * radius + 1
    pad = [(radius, radius) if ax == axis else (0, 0) for ax in (0, 1)]
    span, out = 1, np.pad(a, pad, mode="edge")
    while 2 * span <= width:
        count = out.shape[axis] - span
        out = extreme(np.take(out, np.arange(count), axis=axis),
                      np.take(out, np.arange(span, span + count), axis=axis))
        span *= 2
    n = a.shape[axis]
    # windows of ``width`` = two overlapping windows of ``span``
    return extreme(np.take(out, np.arange(n), axis=axis),
                   np.take(out, np.arange(width - span, width - span + n), axis=axis))


def convergence(dem, cell, radius):
    """Mean over the ``(2 radius + 1)`` window of ``div(grad z / |grad z|)`` (1/m),
    on the DEM smoothed over 3 x 3 cells; positive where flow converges."""
    smooth = box_blur(dem.astype(np.float32))
    gy, gx = np.gradient(smooth, cell)
    del smooth
    norm = np.sqrt(gx * gx + gy * gy) + np.float32(1e-3)  # flats: no direction
    gx /= norm
    gy /= norm
    del norm
    # rows run southwards: y = -row, so d/dy = -d/drow and the y component flips twice
    divergence = np.gradient(gx, cell, axis=1) + np.gradient(gy, cell, axis=0)
    return box_filter(divergence.astype(np.float32), radius)


def distance_to_slope_break(slope, gt):
    """Metres to the nearest cell on the edge of steep ground (the smoothed slope
    at or above its :data:`BREAK_QUANTILE` quantile, next to ground below it)."""
    smooth = box_filter(slope, _radius(BREAK_SMOOTHING_M, gt[1]))
    step = max(1, int(np.sqrt(smooth.size / 1e6)))
    threshold = np.float32(np.quantile(smooth[::step, ::step], BREAK_QUANTILE))
    steep = smooth >= threshold
    padded = np.pad(steep, 1, mode="edge")
    rows, cols = steep.shape
    gentle_next = np.zeros_like(steep)
    for dr, dc in ((0, 1), (2, 1), (1, 0), (1, 2)):
        gentle_next |= ~padded[dr:dr + rows, dc:dc + cols]
    edge = steep & gentle_next
    if not edge.any():  # uniform slope: no break anywhere, every cell equally far
        return np.zeros(slope.shape, np.float32)
    return proximity(edge, gt, CRS)
