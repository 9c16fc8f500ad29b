"""``classify``: the four inner class breaks of a susceptibility raster, from mapclassify.

Input: the QGIS side (``landslide:classifysusceptibility``,
:func:`landslide_susceptibility.core.class_raster.summarize_raster` and
``write_sample``) writes a ``.npz`` with ``values`` (float64: every valid cell,
or a uniform random sample of at most 100 000 that always holds the raster's
minimum and maximum), ``minimum``, ``maximum``, ``valid`` and ``complete``.
Only mapclassify runs here; classifying the raster itself is done by the QGIS
side (numpy + GDAL, block by block).

Spec: :class:`..core.specs.ClassBreaksSpec` (``sample``: the .npz path,
``method``: one of :data:`..core.class_statistics.AUTOMATIC_METHODS`
(``natural_breaks``, ``quantile``, ``equal_interval``), ``k`` classes,
``seed``, ``jenks_sample``; defaults there).

- ``natural_breaks``: ``mapclassify.FisherJenks`` (the optimal Jenks
  classification) on the values when there are at most ``jenks_sample`` of
  them, else ``mapclassify.FisherJenksSampled`` with ``pct = jenks_sample / n``
  (``truncate=False``) after ``numpy.random.seed(seed)``, so the draw is
  repeatable: Fisher-Jenks is quadratic in the number of values (seconds for
  2000 values without numba).
- ``quantile``: ``mapclassify.Quantiles``; ``equal_interval``:
  ``mapclassify.EqualInterval``.

Returns a :class:`..core.specs.BreaksOutcome`: ``breaks`` (the k - 1 inner
breaks: mapclassify's ``bins`` without the last, which is the maximum),
``bins``, ``counts`` (values per class in the sample), ``classifier``,
``values`` (how many values were classified) and ``method``.
"""

import warnings

import numpy as np

from ...core.class_statistics import AUTOMATIC_METHODS
from ...core.errors import CancelledError, InputError
from ...core.specs import BreaksOutcome
from ...core.specs.maps import CLASS_COUNT, JENKS_SAMPLE
from ...core.specs.maps import CLASS_SAMPLE_SEED as SAMPLE_SEED


def compute_breaks(values, method, k=CLASS_COUNT, seed=SAMPLE_SEED,
                   jenks_sample=JENKS_SAMPLE):
    """``(breaks, classifier)``: the k - 1 inner breaks of ``values`` and the
    mapclassify object that made them."""
    import mapclassify

    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if method not in AUTOMATIC_METHODS:
        raise InputError(f"Unknown classification method '{method}'; one of "
                         f"{', '.join(AUTOMATIC_METHODS)}.")
    distinct = np.unique(values).size
    if distinct < k:
        raise InputError(f"The susceptibility values have only {distinct} distinct values; "
                         f"{k} classes need at least {k}. Use manual breaks.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method == "natural_breaks":
            if values.size <= jenks_sample:
                classifier = mapclassify.FisherJenks(values, k=k)
            else:
                np.random.seed(seed)  # FisherJenksSampled draws with numpy's global RNG
                classifier = mapclassify.FisherJenksSampled(
                    values, k=k, pct=jenks_sample / values.size, truncate=False)
        elif method == "quantile":
            classifier = mapclassify.Quantiles(values, k=k)
        else:
            classifier = mapclassify.EqualInterval(values, k=k)
    bins = np.asarray(classifier.bins, dtype=np.float64)
    breaks = bins[:-1]
    if breaks.size != k - 1 or np.any(np.diff(breaks) <= 0):
        notes = "; ".join(str(w.message) for w in caught if "numba" not in str(w.message))
        raise InputError(
            f"mapclassify found {bins.size} classes instead of {k} ({type(classifier).__name__}"
            f" bins {', '.join(f'{b:.6g}' for b in bins)}): too many equal values for this "
            f"method{'; ' + notes if notes else ''}. Use another method or manual breaks.")
    return breaks.tolist(), classifier


def run(spec, reporter):
    path, method = spec.sample, spec.method
    if not path:
        raise InputError("The 'classify' command needs 'sample': an .npz with the values.")
    try:
        data = np.load(path, allow_pickle=False)
        values = np.asarray(data["values"], dtype=np.float64)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"Cannot read the sample '{path}': {exc}") from exc
    if values.size == 0:
        raise InputError("The susceptibility raster has no valid value to classify.")
    reporter.info(f"Class breaks by {method} (mapclassify) from {values.size} values.")
    reporter.progress(5)
    if reporter.is_cancelled():
        raise CancelledError()
    breaks, classifier = compute_breaks(values, method, k=spec.k, seed=spec.seed,
                                        jenks_sample=spec.jenks_sample)
    if reporter.is_cancelled():
        raise CancelledError()
    name = type(classifier).__name__
    if name == "FisherJenksSampled":
        name += f" ({classifier.yr_n} of {values.size} values)"
    reporter.info(f"{name}: breaks {', '.join(f'{b:.6g}' for b in breaks)}")
    reporter.progress(100)
    return BreaksOutcome(breaks=breaks, bins=[float(b) for b in classifier.bins],
                         counts=[int(c) for c in classifier.counts], classifier=name,
                         values=int(values.size), method=method)
