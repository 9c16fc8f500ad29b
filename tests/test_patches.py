"""engine/patches.py: patch values equal direct slicing; augmentation; determinism."""

import gc
import os
import time

import numpy as np
import pytest
from osgeo import gdal, osr

from landslide_susceptibility.core.samples import pad_width
from landslide_susceptibility.engine import patches


@pytest.fixture
def stack_file(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(4, 50, 61)).astype(np.float32)
    path = str(tmp_path / "stack.tif")
    dataset = gdal.GetDriverByName("GTiff").Create(path, 61, 50, 4, gdal.GDT_Float32,
                                                   ["TILED=YES", "COMPRESS=DEFLATE"])
    dataset.SetGeoTransform((500000, 10, 0, 9800000, 0, -10))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32617)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.WriteArray(data)
    dataset = None
    return path, data.transpose(1, 2, 0)


@pytest.mark.parametrize("patch_size", [8, 9, 16])
def test_patches_equal_reflect_padded_slices(stack_file, tmp_path, patch_size):
    path, data = stack_file
    stack = patches.PaddedStack(path, patch_size, cache_dir=str(tmp_path / "cache"))
    before, after = pad_width(patch_size)
    padded = np.pad(data, ((before, after), (before, after), (0, 0)), mode="reflect")
    rows = np.array([0, 1, 25, 49, 49, 0])
    cols = np.array([0, 60, 30, 0, 60, 33])
    got = stack.patches(rows, cols)
    for index, (row, col) in enumerate(zip(rows, cols, strict=True)):
        np.testing.assert_array_equal(got[index], padded[row:row + patch_size,
                                                         col:col + patch_size])
        # the centre pixel is the sample's own pixel
        assert got[index, before, before, 0] == data[row, col, 0]


def test_batches_normalise_augment_and_are_deterministic(stack_file, tmp_path):
    path, data = stack_file
    stack = patches.PaddedStack(path, 8, cache_dir=str(tmp_path / "cache"))
    rows, cols = np.arange(5, 45), np.arange(10, 50)
    labels = np.arange(40) % 2
    mean, std = data.reshape(-1, 4).mean(0), data.reshape(-1, 4).std(0)
    first = list(patches.batches(stack, rows, cols, labels, mean, std, 16, True, seed=3))
    again = list(patches.batches(stack, rows, cols, labels, mean, std, 16, True, seed=3))
    other = list(patches.batches(stack, rows, cols, labels, mean, std, 16, True, seed=4))
    assert [x.shape for x, _ in first] == [(16, 8, 8, 4), (16, 8, 8, 4), (8, 8, 8, 4)]
    for (x1, y1), (x2, y2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(first[0][0], other[0][0])
    # labels travel with their patches: one-hot, both classes present, count kept
    y_all = np.concatenate([y for _, y in first])
    assert y_all.sum(axis=1).tolist() == [1.0] * 40 and y_all[:, 1].sum() == 20
    # evaluation batches are neither shuffled nor augmented
    x_eval, y_eval = next(patches.batches(stack, rows, cols, labels, mean, std, 4, False, 0))
    expected = patches.normalise(stack.patches(rows[:4], cols[:4]), mean, std)
    np.testing.assert_array_equal(x_eval, expected)
    np.testing.assert_array_equal(y_eval.argmax(1), labels[:4])


def test_augment_keeps_shape_and_values_of_flips_and_rotations():
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(32, 9, 9, 3)).astype(np.float32)
    out = patches.augment(batch, np.random.default_rng(1), scale_range=None)
    assert out.shape == batch.shape
    for original, augmented in zip(batch, out, strict=True):
        candidates = [np.rot90(f, k, axes=(0, 1)) for f in (original, original[:, ::-1])
                      for k in range(4)]
        assert any(np.array_equal(augmented, c) for c in candidates)
    scaled = patches.augment(batch, np.random.default_rng(1), scale_range=(0.8, 1.2))
    assert scaled.shape == batch.shape
    # the centre pixel survives any flip/rotation/zoom about the centre
    np.testing.assert_array_equal(scaled[:, 4, 4], batch[:, 4, 4])


def test_augment_keeps_the_sample_cell_of_an_even_patch_in_place():
    """An even patch is centred on cell size // 2: every flip, turn and zoom keeps
    it there, and inside the patch a turn is np.rot90 about that cell."""
    batch = np.random.default_rng(0).normal(size=(64, 8, 8, 2)).astype(np.float32)
    out = patches.augment(batch, np.random.default_rng(3), scale_range=(0.8, 1.2))
    np.testing.assert_array_equal(out[:, 4, 4], batch[:, 4, 4])
    turned = patches.augment(batch, np.random.default_rng(3), scale_range=None)
    for original, augmented in zip(batch, turned, strict=True):
        inner = original[1:, 1:]  # 7 x 7 around cell (4, 4): (3, 3) of the inner part
        candidates = [np.rot90(f, k, axes=(0, 1)) for f in (inner, inner[:, ::-1])
                      for k in range(4)]
        assert any(np.array_equal(augmented[1:, 1:], c) for c in candidates)


@pytest.mark.parametrize("shape", [(4, 6, 6, 3), (5, 7, 3), (0, 6, 6, 3)])
def test_normalise_is_the_per_band_z_score_with_nodata_at_zero(shape):
    rng = np.random.default_rng(0)
    batch = rng.normal(3.0, 2.0, size=shape).astype(np.float32)
    batch.reshape(-1)[::7] = np.nan
    mean, std = rng.normal(size=3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    expected = np.nan_to_num((batch - mean) * (np.float32(1) / std), nan=0.0)
    out = patches.normalise(batch, list(mean), list(std))
    assert out.dtype == np.float32 and out.shape == batch.shape
    np.testing.assert_array_equal(out, expected)


def test_views_are_the_eight_flips_and_turns_about_the_sample_cell():
    batch = np.random.default_rng(0).normal(size=(5, 7, 7, 2)).astype(np.float32)
    eight = patches.views(batch)
    assert eight.shape == (8, *batch.shape)
    for view, (flip, turns) in zip(eight, patches.VIEWS, strict=True):
        flipped = batch[:, :, ::-1] if flip else batch
        np.testing.assert_array_equal(view, np.rot90(flipped, turns, axes=(1, 2)))
    np.testing.assert_array_equal(eight[0], batch)
    even = np.random.default_rng(1).normal(size=(3, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(patches.views(even)[:, :, 4, 4], np.stack([even[:, 4, 4]] * 8))


def test_tf_dataset_yields_the_same_batches(stack_file, tmp_path):
    path, _ = stack_file
    stack = patches.PaddedStack(path, 8, cache_dir=str(tmp_path / "cache"))
    rows, cols, labels = np.arange(10), np.arange(10), np.arange(10) % 2
    mean, std = np.zeros(4), np.ones(4)
    direct = list(patches.batches(stack, rows, cols, labels, mean, std, 4, True, seed=5))
    via_tf = [(x.numpy(), y.numpy()) for x, y in
              patches.tf_dataset(stack, rows, cols, labels, mean, std, 4, True, seed=5)]
    for (x1, _), (x2, _) in zip(direct, via_tf, strict=True):
        np.testing.assert_array_equal(x1, x2)


def _age(path, seconds):
    """Set a cache file's last use ``seconds`` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _fake_entry(cache, name, size, seconds_ago):
    path = cache / name
    path.write_bytes(b"\0" * size)
    _age(path, seconds_ago)
    return path


def test_patch_cache_is_capped_by_age_and_size(stack_file, tmp_path, monkeypatch):
    path, _ = stack_file
    cache = tmp_path / "cache"
    held = patches.PaddedStack(path, 9, cache_dir=str(cache))  # open in this process
    _age(held.path, 30 * 86400)
    entry = os.path.getsize(held.path)
    old = _fake_entry(cache, "stack_old.npy", 10, 8 * 86400)  # unused for 8 days
    lru = _fake_entry(cache, "stack_lru.npy", entry, 7200)  # used 2 h ago
    mru = _fake_entry(cache, "stack_mru.npy", entry, 60)  # used a minute ago
    dead = _fake_entry(cache, "stack_x.1.partial.npy", 10, 8 * 86400)  # a crashed build
    writing = _fake_entry(cache, "stack_y.2.partial.npy", 10 * entry, 1)  # another process
    monkeypatch.setattr(patches, "CACHE_MAX_AGE_S", 86400)
    # room for three entries: the one in use, the new one, and one of lru / mru
    monkeypatch.setattr(patches, "CACHE_MAX_BYTES", 3 * entry + entry // 2)
    current = patches.PaddedStack(path, 8, cache_dir=str(cache))
    assert not old.exists() and not dead.exists()  # too old
    assert not lru.exists() and mru.exists()  # over the size: least recently used first
    assert writing.exists()  # partial files go by age only
    assert os.path.exists(current.path) and os.path.exists(held.path)  # new and in use
    assert current.patches([0], [0]).shape == (1, 8, 8, 4)
    assert held.patches([0], [0]).shape == (1, 9, 9, 4)
    # reuse marks an entry as just used; released entries may be evicted again
    _age(current.path, 3600)
    reused = patches.PaddedStack(path, 8, cache_dir=str(cache))
    assert time.time() - os.path.getmtime(reused.path) < 60
    held_path = held.path
    del held
    gc.collect()
    assert held_path not in patches._IN_USE
    monkeypatch.setattr(patches, "CACHE_MAX_BYTES", 0)
    assert patches.evict_stale(str(cache), keep=reused.path) == [held_path, str(mru)]
    assert os.path.exists(reused.path)


def test_patch_cache_tolerates_files_vanishing(stack_file, tmp_path, monkeypatch):
    path, data = stack_file
    cache = tmp_path / "cache"
    first = patches.PaddedStack(path, 8, cache_dir=str(cache))
    os.remove(first.path)  # evicted by another process: rebuilt when next opened
    again = patches.PaddedStack(path, 8, cache_dir=str(cache))
    np.testing.assert_array_equal(again.patches([20], [30])[0, 4, 4], data[20, 30])
    gone = _fake_entry(cache, "stack_gone.npy", 10, 30 * 86400)
    listdir, remove = os.listdir, os.remove

    def other_process_removes_first(target):
        if os.path.exists(target):
            remove(target)
        remove(target)  # FileNotFoundError, as when another process won the race

    monkeypatch.setattr(os, "listdir", lambda folder: listdir(folder) + ["stack_ghost.npy"])
    monkeypatch.setattr(os, "remove", other_process_removes_first)
    monkeypatch.setattr(patches, "CACHE_MAX_AGE_S", 86400)
    assert patches.evict_stale(str(cache)) == [str(gone)]
    assert os.path.exists(again.path)


def test_mixup_blends_patches_and_labels_by_one_weight():
    """Mixup (engine.patches.mix): each output is w * a + (1 - w) * b of two inputs
    of the batch, the same w for the patch and its label; labels still sum to 1."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 5, 5, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[np.arange(12) % 2]
    mixed_x, mixed_y = patches.mix(x, y, np.random.default_rng(7), 0.4)
    draw = np.random.default_rng(7)
    weight = draw.beta(0.4, 0.4, size=12).astype(np.float32)
    other = draw.permutation(12)
    expected = weight[:, None, None, None] * x + (1 - weight[:, None, None, None]) * x[other]
    np.testing.assert_allclose(mixed_x, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mixed_y[:, 1], weight * y[:, 1] + (1 - weight) * y[other, 1],
                               rtol=1e-6)
    np.testing.assert_allclose(mixed_y.sum(axis=1), 1.0, rtol=1e-6)
    assert mixed_x.dtype == mixed_y.dtype == np.float32
