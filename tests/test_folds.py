"""Spatial k-fold cross-validation (core/folds.py) and the paired tests of the
comparison (engine/significance.py): pure numpy and scipy, no training."""

import math

import numpy as np
import pytest
from scipy import stats

from landslide_susceptibility.core import folds
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.engine import significance

PATCH = 12


def _samples(seed=0, n=600, size=240):
    """Centres on a size x size grid; landslides in a few clusters, as inventories are."""
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, size, n), rng.integers(0, size, n)
    centres = rng.integers(20, size - 20, (8, 2))
    near = np.min(np.maximum(np.abs(rows[:, None] - centres[:, 0]),
                             np.abs(cols[:, None] - centres[:, 1])), axis=1) < 25
    labels = (near & (rng.random(n) < 0.9)).astype(int)
    return rows, cols, labels


def _overlapping(rows, cols, a, b, patch):
    """Brute force: does any patch window of ``a`` share a pixel with one of ``b``?
    A window of side P centred on r covers r - P//2 … r - P//2 + P - 1."""
    def window(r):
        return r - patch // 2, r - patch // 2 + patch - 1

    r0a, r1a = window(rows[a][:, None])
    c0a, c1a = window(cols[a][:, None])
    r0b, r1b = window(rows[b][None, :])
    c0b, c1b = window(cols[b][None, :])
    return bool(np.any((r0a <= r1b) & (r0b <= r1a) & (c0a <= c1b) & (c0b <= c1a)))


@pytest.mark.parametrize("k", [2, 5])
def test_no_training_or_validation_patch_overlaps_a_test_patch(k):
    rows, cols, labels = _samples()
    tested = np.zeros(len(rows), dtype=int)
    for fold in range(k):
        split = folds.split_of(rows, cols, labels, None,
                               folds.kfold_split(40, k, 0, fold, 3, PATCH))
        test = split == "test"
        tested += test
        for part in ("train", "validation"):
            assert (split == part).any()
            assert not _overlapping(rows, cols, split == part, test, PATCH), (fold, part)
        assert _overlapping(rows, cols, split == "", test, PATCH)  # the dropped ones would
        folds.check_split(labels, split, f"Fold {fold + 1}/{k}")
    assert (tested == 1).all()  # every sample is tested exactly once per repeat


def test_folds_are_deterministic_for_a_seed_and_repeats_differ():
    rows, cols, labels = _samples()
    first = folds.assign_folds(rows, cols, labels, 40, 5, seed=3, repeat=0)
    assert np.array_equal(first, folds.assign_folds(rows, cols, labels, 40, 5, seed=3))
    assert not np.array_equal(first, folds.assign_folds(rows, cols, labels, 40, 5, seed=4))
    second = folds.assign_folds(rows, cols, labels, 40, 5, seed=3, repeat=1)
    assert not np.array_equal(first, second)
    assert folds.repeat_offset(40, 3, 0) == (0, 0) != folds.repeat_offset(40, 3, 1)
    # Samples of one block share a fold: blocks are the unit.
    ids, _ = folds.block_ids(rows, cols, 40)
    for block in np.unique(ids):
        assert len(set(first[ids == block])) == 1
    # Every fold holds landslides, about a fifth of them.
    per_fold = np.bincount(first, weights=labels, minlength=5)
    assert per_fold.min() > 0 and per_fold.max() < 0.45 * labels.sum()


def test_k_larger_than_the_blocks_with_landslides_is_refused():
    rows, cols, labels = _samples()
    with pytest.raises(InputError, match=r"Folds \(k\) \(FOLDS\): 5 folds need 5 blocks that "
                                         r"hold landslides, but only \d.*choose at most"):
        folds.assign_folds(rows, cols, labels, 160, 5)


def test_a_fold_without_landslides_in_training_names_the_fix():
    # Landslides only along the border of two blocks: the buffer around the test
    # patches of one fold drops every training landslide of the other.
    rows = np.array([10, 12, 14, 16, 10, 12, 14, 16, 60, 70, 80, 60, 70, 80])
    cols = np.array([38, 38, 38, 38, 41, 41, 41, 41, 10, 10, 10, 70, 70, 70])
    labels = np.array([1] * 8 + [0] * 6)
    split = folds.split_of(rows, cols, labels, None,
                           folds.kfold_split(40, 2, 0, 0, 0, 16, validation=False))
    with pytest.raises(InputError, match="training part.*has no landslides.*Block size"):
        folds.check_split(labels, split, "Fold 1/2", ("train", "test"))


def test_a_single_class_split_is_refused():
    labels = np.array([1, 1, 0, 0, 1, 1])
    split = np.array(["train", "train", "train", "validation", "test", "validation"])
    with pytest.raises(InputError, match="Fold 2/5: its test part has no non-landslide"):
        folds.check_split(labels, split, "Fold 2/5")


def test_refit_keeps_a_validation_split_by_blocks():
    rows, cols, labels = _samples()
    split = folds.split_of(rows, cols, labels, None, folds.all_split(40, 0))
    counts = folds.check_split(labels, split, "The refit", ("train", "validation"))
    assert counts["test"] == (0, 0) and 0.1 < np.mean(split == "validation") < 0.45
    assert np.array_equal(folds.split_of(rows, cols, labels, None,
                                         folds.all_split(40, 0, validation=False)),
                          np.full(len(rows), "train"))


def test_block_size_in_pixels():
    assert folds.block_cells_of(250.0, (10.0, 10.0)) == 25
    assert folds.block_cells_of(251.0, (10.0, 10.0)) == 26  # rounded up, as buildsamples
    assert folds.block_cells_of(0.0, (10.0, 10.0), {"block_cells": 17}) == 17
    assert folds.block_cells_of(0.0, (30.0, 30.0), {}) == 34  # 1000 map units


def test_near_any_equals_brute_force():
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 300, 500), rng.integers(0, 300, 500)
    t_rows, t_cols = rng.integers(0, 300, 80), rng.integers(0, 300, 80)
    expected = np.any((np.abs(rows[:, None] - t_rows) < 9) & (np.abs(cols[:, None] - t_cols) < 9),
                      axis=1)
    assert np.array_equal(folds.near_any(rows, cols, t_rows, t_cols, 9), expected)


# --- significance ------------------------------------------------------------------

BEST = [0.84, 0.79, 0.88, 0.81, 0.86, 0.80, 0.83, 0.85, 0.78, 0.87]
OTHER = [0.80, 0.78, 0.83, 0.80, 0.81, 0.79, 0.80, 0.84, 0.79, 0.82]


def test_corrected_ttest_equals_the_formula_with_scipy():
    n_train, n_test = 800, 200
    d = np.subtract(BEST, OTHER)
    j = len(d)
    t_expected = d.mean() / math.sqrt(d.var(ddof=1) * (1 / j + n_test / n_train))
    p_expected = 2 * stats.t.sf(abs(t_expected), j - 1)
    t, p = significance.corrected_ttest(BEST, OTHER, n_train, n_test)
    assert t == pytest.approx(t_expected, rel=1e-12)
    assert p == pytest.approx(p_expected, rel=1e-12)
    # Without the correction it would be scipy's paired t-test; the correction widens it.
    assert p > stats.ttest_rel(BEST, OTHER).pvalue
    assert significance.corrected_ttest([0.8], [0.7], 10, 2) == (
        pytest.approx(math.nan, nan_ok=True), pytest.approx(math.nan, nan_ok=True))
    assert significance.corrected_ttest([0.8, 0.8], [0.8, 0.8], 10, 2) == (0.0, 1.0)


def test_wilcoxon_equals_scipy():
    assert significance.wilcoxon_p(BEST, OTHER) == pytest.approx(
        stats.wilcoxon(BEST, OTHER).pvalue, rel=1e-12)
    assert significance.wilcoxon_p([0.8, 0.7], [0.8, 0.7]) == 1.0


def test_comparison_with_the_best_and_the_verdict():
    keys = [(0, f) for f in range(len(BEST))]
    scores = {"cnn": dict(zip(keys, OTHER, strict=True)),
              "random_forest": dict(zip(keys, BEST, strict=True)),
              "ctlgnet": dict(zip(keys, np.array(BEST) - 0.001, strict=True))}
    sizes = {key: (800, 200) for key in keys}
    best, comparisons = significance.compare_with_best(scores, sizes,
                                                       ["cnn", "random_forest", "ctlgnet"])
    assert best == "random_forest" and set(comparisons) == {"cnn", "ctlgnet"}
    cnn = comparisons["cnn"]
    assert cnn["difference"] == pytest.approx(np.mean(BEST) - np.mean(OTHER))
    assert cnn["p_ttest"] == pytest.approx(
        significance.corrected_ttest(BEST, OTHER, 800, 200)[1])
    assert comparisons["ctlgnet"]["p_ttest"] == 0.0  # a constant difference
    text = significance.verdict(best, comparisons, {"random_forest": 0.841},
                                {"random_forest": 0.034},
                                {"random_forest": "Random forest", "cnn": "CNN"}, 10)
    assert text.startswith("Random forest is best by mean AUC (0.841 ± 0.034 over 10 folds)")
    assert f"CNN is {np.mean(BEST) - np.mean(OTHER):.3f} lower, " in text
    assert "significant at 5 % (corrected t-test p = " in text
    one = significance.verdict("cnn", {}, {"cnn": 0.8}, {"cnn": math.nan}, {}, 1)
    assert one == "cnn is best by test AUC (0.800) on the samples' own split."
