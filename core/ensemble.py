"""Deep ensembles: the mean and the spread of several models' probability maps (numpy).

A deep ensemble averages the maps of several models (other seeds, or the
folds of a cross-validation). The mean is the ensemble's landslide probability;
the standard deviation between the members is an uncertainty map: where the
members disagree, the map is less certain.

:class:`EnsembleStats` accumulates one tile of every member in turn (Welford's
streaming update in float64, so a member's tile is dropped as soon as it is
added) and gives, per pixel, the mean and the *population* standard deviation
(``ddof=0``: the spread of these members, not an estimate for more). A pixel
that is nodata (NaN, or the ``nodata`` value) in any member is NaN (or
``nodata``) in both results.
"""

import os

import numpy as np

from .errors import InputError

MEMBERS_LABEL = "Additional models (ensemble)"
UNCERTAINTY_LABEL = "Uncertainty (standard deviation)"


class EnsembleStats:
    """Per-pixel running mean and population standard deviation over members."""

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.count = 0
        self._mean = np.zeros(self.shape, np.float64)
        self._m2 = np.zeros(self.shape, np.float64)
        self._invalid = np.zeros(self.shape, bool)

    def add(self, values, nodata=None):
        """Add one member's values (an array of ``shape``); NaN and ``nodata`` are missing."""
        values = np.asarray(values, np.float64)
        if values.shape != self.shape:
            raise InputError(f"An ensemble member's tile is {values.shape}, not {self.shape}.")
        missing = ~np.isfinite(values)
        if nodata is not None:
            missing |= values == nodata
        self._invalid |= missing
        values = np.where(missing, 0.0, values)
        self.count += 1
        delta = values - self._mean
        self._mean += delta / self.count
        self._m2 += delta * (values - self._mean)
        return self

    def mean(self, nodata=None):
        """The members' mean (float32); NaN, or ``nodata``, where any member is missing."""
        return self._finish(self._mean, nodata)

    def std(self, nodata=None):
        """The members' population standard deviation (float32), missing as in :meth:`mean`."""
        return self._finish(np.sqrt(np.maximum(self._m2, 0.0) / max(self.count, 1)), nodata)

    def _finish(self, values, nodata):
        if self.count == 0:
            raise InputError("The ensemble has no member yet.")
        out = values.astype(np.float32)
        out[self._invalid] = np.nan if nodata is None else nodata
        return out


def ensemble_mean_std(members, nodata=None):
    """``(mean, std)`` of a sequence of equally shaped member arrays (see
    :class:`EnsembleStats`); one member at a time is held in float64."""
    stats = None
    for values in members:
        if stats is None:
            stats = EnsembleStats(np.shape(values))
        stats.add(values, nodata)
    if stats is None:
        raise InputError("An ensemble needs at least one member.")
    return stats.mean(nodata), stats.std(nodata)


# ---------------------------------------------------------------- the members


def check_ensemble_paths(model, models, output, uncertainty):
    """The rules between the main model, the additional ones and the two outputs."""
    paths = [model] + list(models or [])
    seen = {}
    for path in paths:
        key = os.path.normcase(os.path.realpath(str(path))) if path else path
        if key in seen:
            raise InputError(f"The model '{path}' is listed twice in the ensemble; list each "
                             f"model once (the main model is not repeated in {MEMBERS_LABEL}).")
        seen[key] = path
    if uncertainty and not models:
        raise InputError(f"{UNCERTAINTY_LABEL} needs {MEMBERS_LABEL}: with one model the "
                         "standard deviation is 0 everywhere. Add models, or leave it empty.")
    if uncertainty and output and os.path.realpath(str(uncertainty)) == \
            os.path.realpath(str(output)):
        raise InputError(f"{UNCERTAINTY_LABEL} must be another file than the susceptibility "
                         f"map '{output}'.")


def check_members(cards, paths, names, categorical):
    """Every member's model card must fit the stack (factors, order, categorical flags)
    and have the first member's patch size; the error names the member."""
    from .model_card import check_stack_matches  # it imports the specs, which import us

    patch_size = int(cards[0]["patch_size"])
    for number, (card, path) in enumerate(zip(cards, paths, strict=True), start=1):
        what = f"Ensemble model {number} of {len(paths)} '{os.path.basename(str(path))}'"
        try:
            check_stack_matches(card, names, categorical)
        except InputError as exc:
            raise InputError(f"{what} ({path}): {exc}") from None
        if int(card["patch_size"]) != patch_size:
            raise InputError(
                f"{what} ({path}) uses {card['patch_size']} x {card['patch_size']} patches, "
                f"the first model {patch_size} x {patch_size}: the models of an ensemble "
                "must share the patch size (and the factors).")


def check_member_files(paths, stack_path):
    """:func:`check_members` of the model files ``paths`` against the stack at
    ``stack_path`` (their cards read and checked); returns the cards."""
    from .model_card import read_card
    from .stack import read_stack_info

    info = read_stack_info(stack_path)
    cards = [read_card(path) for path in paths]
    check_members(cards, paths, info.names, info.categorical)
    return cards
