"""Continuous factors in piecewise-linear bins (issue 19): the edges are quantiles of
the training patches (numpy's), the layer equals a numpy reference, composes with
the one-hot encoding, survives save and safe load, stays float32 in a bfloat16
copy, joins the dense stem (dense = per patch), and the train command builds it
from the setting and records it."""

import types

import numpy as np
import pytest
from test_network_options import (
    ENCODING,
    PATCH,
    TINY,
    auto_evaluation,
    softened,
    window_pixels,
    zscored,
)

from landslide_susceptibility.core.stack import BandInfo

BANDS = 4  # as test_network_options: three continuous bands, the last categorical
MEAN, STD = [0.3, -1.0, 2.0, 2.5], [2.0, 0.5, 1.5, 1.5]
EDGES = [[-2.0, -1.0, 0.0, 1.0, 2.0],      # regular
         [-3.0, -1.0, -1.0, 0.5, 4.0],     # a tie: a step at -1
         [0.0, 0.1, 0.2, 5.0, 5.0],        # a tie at the top
         [1.0, 2.0, 3.0, 4.0, 5.0]]        # the categorical band: not binned
STACK_BANDS = [BandInfo(1, "dem"), BandInfo(2, "curvature"), BandInfo(3, "slope"),
               BandInfo(4, "landuse", True, [1, 2, 5])]


def bins():
    from landslide_susceptibility.models import bin_encoding

    return bin_encoding(STACK_BANDS, MEAN, STD, EDGES)


def binned_numpy(z, band):
    """The reference: the band's raw values against its edges, one channel per bin
    (two equal edges: a step, 0 at the edge itself)."""
    raw = z[..., band].astype(np.float64) * STD[band] + MEAN[band]
    edges = np.asarray(EDGES[band])
    out = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        out.append((raw > low).astype(float) if high == low
                   else np.clip((raw - low) / (high - low), 0.0, 1.0))
    return np.stack(out, axis=-1)


def test_bin_encoding_takes_the_continuous_bands():
    from landslide_susceptibility.models import bin_encoding

    assert bins() == {"bands": [0, 1, 2], "edges": EDGES[:3], "mean": MEAN[:3],
                      "std": STD[:3], "keep_values": False}
    assert bin_encoding(STACK_BANDS[3:], MEAN[3:], STD[3:], EDGES[3:]) is None


@pytest.mark.parametrize("keep_values", [False, True])
def test_the_layer_equals_numpy(keep_values):
    from landslide_susceptibility.models.layers import FactorBins

    z = zscored((3, 40))
    z[0, :5, :3] = [[-40.0], [40.0], [0.0], [-1.0 / 1.5], [99.0]]  # far out, at a tie
    layer = FactorBins(**dict(bins(), keep_values=keep_values), name="factor_bins")
    out = np.asarray(layer(z))
    assert out.shape == (3, 40, 13 + 3 * keep_values) == layer.compute_output_shape(z.shape)
    kept = [[z[..., band:band + 1]] if keep_values else [] for band in range(3)]
    expected = np.concatenate(kept[0] + [binned_numpy(z, 0)] + kept[1] + [binned_numpy(z, 1)]
                              + kept[2] + [binned_numpy(z, 2), z[..., 3:]], axis=-1)
    np.testing.assert_allclose(out, expected, atol=2e-5, rtol=0)
    assert FactorBins.from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize(("change", "needle"), [
    ({"bands": [2, 0, 1]}, "increasing band indices"),
    ({"edges": [[0.0, 1.0], [0.0, 1.0, 2.0], [0.0, 1.0]]}, "same number"),
    ({"edges": [[0.0, 1.0, 0.5]] * 3}, "must be increasing"),
    ({"mean": [0.0]}, "one entry per binned band"),
])
def test_the_layer_refuses_bad_arguments(change, needle):
    from landslide_susceptibility.models.layers import FactorBins

    with pytest.raises(ValueError, match=needle):
        FactorBins(**dict(bins(), **change))


def test_bins_follow_the_one_hot_channels():
    """One-hot first, then bins: a continuous band after a categorical one is found
    where the one-hot encoding moved it."""
    from landslide_susceptibility.models import input_encoding

    one_hot = {"bands": [1], "classes": [[1.0, 2.0, 5.0]], "mean": [0.0], "std": [1.0]}
    binned = {"bands": [0, 2, 3], "edges": EDGES[:3], "mean": MEAN[:3], "std": STD[:3]}
    encoding = input_encoding(one_hot, binned)
    assert encoding["one_hot"] == one_hot and encoding["bins"]["bands"] == [0, 4, 5]
    assert input_encoding(None, binned) == {"one_hot": None, "bins": binned}
    assert input_encoding(None, None) is None


def seeded(name="cnn", seed=0, **options):
    import keras

    from landslide_susceptibility.models import build_model

    keras.utils.set_random_seed(seed)
    return build_model(name, (PATCH, PATCH, BANDS), **options, **TINY[name])


def test_a_network_encodes_classes_then_bins():
    import keras

    model = seeded(encoding=ENCODING, bins=bins(), pixel_skip=True)
    names = [layer.name for layer in model.layers]
    assert names[:3] == ["patch", "one_hot", "factor_bins"]
    z = zscored((2, PATCH, PATCH))
    encoded = np.asarray(keras.Model(model.input, model.get_layer("factor_bins").output)(z))
    hot = np.asarray(model.get_layer("one_hot")(z))[..., 3:]
    expected = np.concatenate([binned_numpy(z, 0), binned_numpy(z, 1), binned_numpy(z, 2),
                               hot], axis=-1)
    np.testing.assert_allclose(encoded, expected, atol=2e-5, rtol=0)
    assert model.get_layer("centre_flatten").output.shape[-1] == 12 + 3


def test_save_safe_load_and_bfloat16(tmp_path):
    import keras

    from landslide_susceptibility.engine.runners import with_precision

    model = seeded("ctlgnet", encoding=ENCODING, bins=bins(), pixel_skip=True)
    path = str(tmp_path / "bins.keras")
    model.save(path)
    z = zscored((3, PATCH, PATCH))
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    np.testing.assert_array_equal(np.asarray(loaded(z, training=False)),
                                  np.asarray(model(z, training=False)))
    assert loaded.get_layer("factor_bins").get_config() == \
        model.get_layer("factor_bins").get_config()
    assert with_precision(model, "bfloat16").get_layer("factor_bins").dtype_policy.name == \
        "float32"


@pytest.mark.parametrize("name", ["cnn", "ctlgnet"])
def test_dense_equals_per_patch(name, fake_reporter):
    """The bins join the shared stem of the dense path; on every pixel of a window
    the map equals per patch (CNN: fully dense; CTLGNet: stem, embedding, tail)."""
    from landslide_susceptibility.core.tiling import patch_view

    model = softened(seeded(name, encoding=ENCODING, bins=bins(), pixel_skip=True))
    evaluation = auto_evaluation(model, name, fake_reporter, batch=16)
    assert evaluation.dense is not None, evaluation.note
    assert evaluation.dense.plan.shared_layers[:2] == ["one_hot", "factor_bins"]
    assert evaluation.dense.plan.skip.after == 2
    window, r, c = window_pixels(7, 5)
    expected = evaluation.patch_model.predict(patch_view(window, PATCH)[r, c])
    assert expected.std() > 0.001, expected.std()
    np.testing.assert_allclose(evaluation.dense.predict(window, r, c), expected, atol=1e-4,
                               rtol=0)


def test_edges_are_numpy_quantiles_of_the_training_patches():
    from landslide_susceptibility.engine.patches import bin_edges, bin_levels

    rng = np.random.default_rng(3)
    cells = rng.standard_exponential((30, 24, 24, 2)).astype(np.float32)
    cells[..., 1] = np.round(cells[..., 1])  # ties: repeated quantiles
    cells[0, 0, :, 0] = np.nan  # nodata is left out
    stack = types.SimpleNamespace(bands=2, patch_size=24, patches=lambda r, c: cells[r])
    index = np.arange(30)
    edges = bin_edges(stack, index, index, 8, max_values=10**9)
    assert bin_levels(8).tolist() == [0.01] + [t / 8 for t in range(1, 8)] + [0.99]
    for band in range(2):
        values = cells[..., band].ravel().astype(np.float64)
        expected = np.quantile(values[np.isfinite(values)], bin_levels(8))
        np.testing.assert_allclose(edges[band], expected, rtol=1e-12)
        assert np.all(np.diff(edges[band]) >= 0)
    thinned = bin_edges(stack, index, index, 8, max_values=3000)  # every 3rd row and column
    values = cells[:, ::3, ::3, 0].ravel().astype(np.float64)
    np.testing.assert_allclose(thinned[0], np.quantile(values[np.isfinite(values)],
                                                       bin_levels(8)), rtol=1e-12)


def test_the_train_command_builds_the_bins_and_records_them(small_stack, small_samples,
                                                           tmp_path, fake_reporter):
    from landslide_susceptibility.core.model_card import read_card
    from landslide_susceptibility.engine.commands import run_command
    from landslide_susceptibility.models import load_model

    params = {"stack": small_stack, "samples": small_samples, "model": "cnn", "epochs": 1,
              "hparams": {"filters": [4, 6]}, "pretrain": False, "average_views": False,
              "continuous_encoding": "bins", "output_model": str(tmp_path / "bins.keras")}
    outcome = run_command("train", params, fake_reporter)
    config = load_model(outcome.model).get_layer("factor_bins").get_config()
    assert config["bands"] == [0, 1, 2]  # the land use (categorical) is one-hot encoded
    assert [len(edges) for edges in config["edges"]] == [9, 9, 9]
    assert all(np.all(np.diff(edges) >= 0) and edges[0] < edges[-1]
               for edges in config["edges"])
    assert read_card(outcome.model)["training"]["continuous_encoding"] == "bins"
    assert any("continuous factors in 8 bins" in m for m in fake_reporter.messages)
