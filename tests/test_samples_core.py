"""core/samples.py: counts, splits, determinism, leakage (against brute force)."""

import re

import numpy as np
import pytest

from landslide_susceptibility.core import samples
from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.specs.samples import MAX_OVERSAMPLING


def synthetic(shape=(200, 240), seed=0):
    rng = np.random.default_rng(seed)
    valid = np.ones(shape, dtype=bool)
    valid[:15, :40] = False  # a nodata corner
    landslides = np.zeros(shape, dtype=bool)
    for r, c in rng.integers(20, min(shape) - 20, size=(60, 2)):
        landslides[r - 2:r + 3, c - 2:c + 3] = True
    return landslides, valid


def brute_leakage(rows, cols, splits, patch):
    train = [(r, c) for r, c, s in zip(rows, cols, splits, strict=True) if s == "train"]
    test = [(r, c) for r, c, s in zip(rows, cols, splits, strict=True) if s == "test"]
    hits = sum(any(abs(r - r2) < patch and abs(c - c2) < patch for r2, c2 in train)
               for r, c in test)
    return hits / len(test)


def test_random_split_counts_labels_and_validity():
    landslides, valid = synthetic()
    out = samples.draw_samples(landslides, valid, patch_size=16, samples_per_class=100,
                               ratios=(6, 2, 2), seed=1)
    counts = out["summary"]["counts"]
    assert counts["train"] == {"landslide": 60, "non_landslide": 60}
    assert counts["validation"] == {"landslide": 20, "non_landslide": 20}
    assert counts["test"] == {"landslide": 20, "non_landslide": 20}
    assert np.all(valid[out["rows"], out["cols"]])
    assert np.all(landslides[out["rows"], out["cols"]] == (out["labels"] == 1))
    assert out["summary"]["leakage"] > 0


def test_leakage_matches_brute_force():
    landslides, valid = synthetic()
    out = samples.draw_samples(landslides, valid, patch_size=12, samples_per_class=80, seed=4)
    expected = brute_leakage(out["rows"], out["cols"], out["splits"], 12)
    assert out["summary"]["leakage"] == pytest.approx(expected)


def test_spatial_split_has_zero_leakage_by_construction():
    landslides, valid = synthetic(seed=3)
    out = samples.draw_samples(landslides, valid, patch_size=16, samples_per_class=60,
                               split_method=samples.SPATIAL, block_cells=40, seed=2)
    assert out["summary"]["leakage"] == 0.0
    rows, cols, splits = out["rows"], out["cols"], out["splits"]
    for a in ("train", "validation", "test"):
        for b in ("train", "validation", "test"):
            if a == b:
                continue
            ra, ca = rows[splits == a], cols[splits == a]
            rb, cb = rows[splits == b], cols[splits == b]
            close = (np.abs(ra[:, None] - rb[None]) < 16) & (np.abs(ca[:, None] - cb[None]) < 16)
            assert not close.any(), (a, b)


def test_same_seed_same_samples_and_other_seed_differs():
    landslides, valid = synthetic()
    a = samples.draw_samples(landslides, valid, patch_size=16, samples_per_class=50, seed=9)
    b = samples.draw_samples(landslides, valid, patch_size=16, samples_per_class=50, seed=9)
    c = samples.draw_samples(landslides, valid, patch_size=16, samples_per_class=50, seed=10)
    for key in ("rows", "cols", "labels", "splits"):
        assert np.array_equal(a[key], b[key])
    assert not np.array_equal(a["rows"], c["rows"])


def test_few_landslide_pixels_sample_with_replacement_and_warn():
    landslides, valid = synthetic()
    small = np.zeros_like(landslides)
    small[100, 100:105] = True
    out = samples.draw_samples(small, valid, patch_size=8, samples_per_class=20, seed=0)
    assert (out["labels"] == 1).sum() == 20
    assert any("Only 5 landslide pixels for 20 samples" in w for w in out["warnings"])
    positives = out["labels"] == 1
    assert len(set(zip(out["rows"][positives], out["cols"][positives], strict=True))) == 5


def test_negative_buffer_keeps_negatives_away():
    landslides, valid = synthetic()
    out = samples.draw_samples(landslides, valid, patch_size=8, samples_per_class=50,
                               negative_buffer_cells=5, seed=0)
    neg = out["labels"] == 0
    near = samples.box_any(landslides, 5)
    assert not near[out["rows"][neg], out["cols"][neg]].any()


@pytest.mark.parametrize("kwargs, message", [
    ({"ratios": (0, 0, 0)}, "sum to a positive number"),
    ({"patch_size": 500}, "does not fit the stack"),
    ({"negative_buffer_cells": 500}, "Fewer than 2 valid non-landslide centres"),
    ({"split_method": samples.SPATIAL, "block_cells": 1000}, "spatial split gives the"),
])
def test_bad_input_is_explained(kwargs, message):
    landslides, valid = synthetic()
    with pytest.raises(InputError, match=message):
        samples.draw_samples(landslides, valid, samples_per_class=10, **kwargs)


def test_inventory_outside_the_stack():
    _, valid = synthetic()
    with pytest.raises(InputError,
                       match=r"No landslide pixel of the Landslide inventory \(INVENTORY\)"):
        samples.draw_samples(np.zeros_like(valid), valid, patch_size=8, samples_per_class=5)


def centres_in_two_splits(out):
    """(label, row, col) centres that appear in more than one split."""
    seen = {}
    for key in zip(out["labels"], out["rows"], out["cols"], out["splits"], strict=True):
        seen.setdefault(key[:3], set()).add(key[3])
    return [centre for centre, splits in seen.items() if len(splits) > 1]


@pytest.mark.parametrize("method", [samples.RANDOM, samples.SPATIAL])
def test_oversampled_centres_stay_in_the_split_of_their_first_draw(method):
    landslides, valid = synthetic(seed=3)
    available = int((landslides & valid).sum())
    count = 2 * available + 7
    out = samples.draw_samples(landslides, valid, patch_size=16, samples_per_class=count,
                               split_method=method, block_cells=40, seed=5)
    assert centres_in_two_splits(out) == []
    positives = out["labels"] == 1
    distinct = len(set(zip(out["rows"][positives], out["cols"][positives], strict=True)))
    assert out["summary"]["repeats"] == {"landslide": count - distinct, "non_landslide": 0}
    logged = re.findall(r"([\d,]+) are repeats", " ".join(out["warnings"]))
    assert sum(int(n.replace(",", "")) for n in logged) == count - distinct
    assert f"repeats: {count - distinct:,} landslide" in samples.summary_text(out["summary"])
    for split_counts in out["summary"]["counts"].values():  # the 6:2:2 counts are kept
        assert split_counts["landslide"] == split_counts["non_landslide"]
    if method == samples.RANDOM:
        assert distinct == available  # every pixel used
    again = samples.draw_samples(landslides, valid, patch_size=16, samples_per_class=count,
                                 split_method=method, block_cells=40, seed=5)
    for key in ("rows", "cols", "labels", "splits"):
        assert np.array_equal(out[key], again[key])


def test_repeats_are_spread_evenly_over_the_pixels():
    landslides, valid = synthetic()
    small = np.zeros_like(landslides)
    small[100, 100:110] = True  # 10 pixels, 6:2:2 -> 6, 2, 2 first draws
    out = samples.draw_samples(small, valid, patch_size=8, samples_per_class=95, seed=1)
    positives = out["labels"] == 1
    _, uses = np.unique(out["rows"][positives] * 1000 + out["cols"][positives],
                        return_counts=True)
    assert len(uses) == 10 and uses.max() - uses.min() <= 1
    assert centres_in_two_splits(out) == []
    assert out["summary"]["repeats"]["landslide"] == 85


def test_more_than_max_oversampling_times_the_pixels_is_refused_with_the_numbers():
    landslides, valid = synthetic()
    small = np.zeros_like(landslides)
    small[100, 100:105] = True
    limit = MAX_OVERSAMPLING * 5
    out = samples.draw_samples(small, valid, patch_size=8, samples_per_class=limit, seed=0)
    assert out["summary"]["repeats"]["landslide"] == limit - 5
    for method in (samples.RANDOM, samples.SPATIAL):
        with pytest.raises(InputError, match=rf"Samples per class {limit + 1} is more than "
                                             rf"{MAX_OVERSAMPLING} × the 5 landslide pixels "
                                             rf"available; lower Samples per class "
                                             rf"\(SAMPLES_PER_CLASS\) to {limit}"):
            samples.draw_samples(small, valid, patch_size=8, samples_per_class=limit + 1,
                                 split_method=method, block_cells=40, seed=0)


def test_too_few_pixels_for_every_split_is_refused():
    landslides, valid = synthetic()
    two = np.zeros_like(landslides)
    two[100, 100:102] = True
    with pytest.raises(InputError, match="Only 2 landslide pixels for 3 splits"):
        samples.draw_samples(two, valid, patch_size=8, samples_per_class=10, seed=0)
    out = samples.draw_samples(two, valid, patch_size=8, samples_per_class=10,
                               ratios=(1, 0, 1), seed=0)
    assert centres_in_two_splits(out) == []
