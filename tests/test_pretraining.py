"""Self-supervised pretraining of a network's encoder and fine-tuning from it (issue 19).

A tiny CNN on the small stack: pretraining lowers the masked reconstruction loss and
writes an encoder that loads with safe_mode; a network built with it holds the
encoder's weights in every layer but the classifier; the train command fine-tunes
from it; an encoder for another model, patch size, factor list, hyper-parameters or
network option is refused naming the input; the draw is the same for a seed.
"""

import dataclasses
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.specs import TrainSpec
from landslide_susceptibility.core.specs.pretraining import PretrainSpec
from landslide_susceptibility.core.stack import read_stack_info

TINY_CNN = {"filters": [4, 8]}
# The tests' networks are the plain graph (the paper's options), built by hand too.
PLAIN = {"categorical_encoding": "codes", "continuous_encoding": "values", "pixel_skip": False}
PATCH = 16  # the patch size of the small_samples fixture
ENCODER_LABEL = TrainSpec.label_of("pretrained_encoder")


def pretrain(stack, output, reporter, **extra):
    from landslide_susceptibility.engine.commands import load

    params = dict(stack=stack, model="cnn", patch_size=PATCH, patches=192, epochs=4,
                  batch_size=32, learning_rate=0.003, output_encoder=str(output),
                  hparams=TINY_CNN, **PLAIN)
    params.update(extra)
    return load("pretrain").run(PretrainSpec.from_json(params).validate(), reporter)


@pytest.fixture(scope="module")
def encoder(small_stack, tmp_path_factory, reporter_class):
    """``(path, outcome, reporter)`` of a tiny CNN encoder pretrained on the small stack."""
    reporter = reporter_class()
    path = tmp_path_factory.mktemp("encoder") / "cnn_encoder.keras"
    return path, pretrain(small_stack, path, reporter), reporter


def train_spec(small_stack, encoder_path, **extra):
    values = dict(stack=small_stack, samples="unused.gpkg", model="cnn",
                  output_model="m.keras", pretrained_encoder=str(encoder_path),
                  hparams=TINY_CNN, **PLAIN)
    values.update(extra)
    return TrainSpec(**values)


def fresh_cnn(**hparams):
    from landslide_susceptibility.models import build_model

    return build_model("cnn", (PATCH, PATCH, 4), **dict(TINY_CNN, **hparams))


def prepared(patch_size=PATCH, **hparams):
    """What load_pretrained_encoder reads of training's Prepared."""
    from landslide_susceptibility.models import resolve_hparams

    return SimpleNamespace(patch_size=patch_size,
                           hparams=resolve_hparams("cnn", **dict(TINY_CNN, **hparams)))


def test_pretraining_lowers_the_loss_and_writes_a_safe_encoder(encoder):
    import keras

    from landslide_susceptibility.core.model_card import CARD_NAME

    path, outcome, reporter = encoder
    assert outcome.written and not outcome.cancelled and outcome.encoder == str(path)
    assert outcome.epochs_run == 4 and len(outcome.losses) == 4
    assert outcome.final_loss == outcome.losses[-1] < outcome.losses[0]
    assert any(m.startswith("pretraining epoch 4/4: masked reconstruction loss")
               for m in reporter.messages)
    card = outcome.card
    assert card["kind"] == "pretrained_encoder" and card["model"] == "cnn"
    assert card["patch_size"] == PATCH and card["factors"] == ["dem", "ndvi", "precipitation",
                                                               "landuse"]
    assert card["hparams"]["filters"] == TINY_CNN["filters"]
    assert len(card["normalisation"]["mean"]) == len(card["normalisation"]["std"]) == 4
    assert card["categorical_encoding"] == "codes" and card["pixel_skip"] is False
    with zipfile.ZipFile(path) as archive:
        assert CARD_NAME in archive.namelist()
    network = keras.saving.load_model(str(path), compile=False, safe_mode=True)
    assert network.get_layer("predictions") is network.layers[-1]  # no decoder in the file
    assert network.predict(np.zeros((2, PATCH, PATCH, 4), np.float32),
                           verbose=0).shape == (2, 2)


def test_a_network_loaded_with_the_encoder_holds_its_weights(encoder, small_stack,
                                                             fake_reporter):
    import keras

    from landslide_susceptibility.engine.pretraining import load_pretrained_encoder

    path = encoder[0]
    stored = keras.saving.load_model(str(path), compile=False, safe_mode=True)
    model = fresh_cnn()
    copied = load_pretrained_encoder(train_spec(small_stack, path), model, prepared(),
                                     fake_reporter)
    weighted = [layer for layer in model.layers if layer.weights]
    assert copied == len(weighted) - 1  # every layer but the classifier
    for layer in weighted:
        mine, theirs = layer.get_weights(), stored.get_layer(layer.name).get_weights()
        same = all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))
        assert same == (layer.name != "predictions"), layer.name
    assert any(f"weights of {copied} layers" in m for m in fake_reporter.messages)


def test_the_train_command_fine_tunes_from_the_encoder(encoder, small_stack, small_samples,
                                                        tmp_path, fake_reporter):
    from landslide_susceptibility.engine.commands import run_command
    from landslide_susceptibility.models import load_model

    params = {"stack": small_stack, "samples": small_samples, "model": "cnn", "epochs": 1,
              "batch_size": 16, "optimizer": "adam", "hparams": TINY_CNN,
              "output_model": str(tmp_path / "tuned.keras"),
              "pretrained_encoder": str(encoder[0]), **PLAIN}
    outcome = run_command("train", params, fake_reporter)
    assert outcome.written and outcome.epochs_run == 1
    assert any(m.startswith("Pretrained encoder: the weights of 3 layers")
               for m in fake_reporter.messages)
    model = load_model(outcome.model)
    assert model.predict(np.zeros((3, PATCH, PATCH, 4), np.float32),
                         verbose=0).shape == (3, 2)


def _reordered(stack_info):
    return dataclasses.replace(stack_info, bands=stack_info.bands[::-1])


@pytest.mark.parametrize(("change", "needle"), [
    ({"spec": {"model": "resnet18"}}, "was pretrained for CNN (10 layers), not ResNet-18"),
    ({"data": {"patch_size": 24}}, "was pretrained for 16 x 16 patches, not the 24 x 24"),
    ({"stack": _reordered}, "was pretrained on other factors"),
    ({"data": {"filters": [4, 16]}}, "other model hyper-parameters (filters"),
    ({"spec": {"pixel_skip": True}}, "was pretrained with Centre cell to the classifier"),
    ({"spec": {"continuous_encoding": "bins"}},
     "was pretrained with Continuous factors (networks) (CONTINUOUS_ENCODING) 'Z-scored"),
])
def test_a_mismatching_encoder_is_refused(encoder, small_stack, fake_reporter, change,
                                          needle):
    from landslide_susceptibility.engine.pretraining import load_pretrained_encoder

    spec = train_spec(small_stack, encoder[0], **change.get("spec", {}))
    data = dict(change.get("data", {}))
    data = prepared(data.pop("patch_size", PATCH), **data)
    stack_info = change.get("stack", lambda info: info)(read_stack_info(small_stack))
    with pytest.raises(InputError) as raised:
        load_pretrained_encoder(spec, None, data, fake_reporter, stack_info)
    message = str(raised.value)
    assert message.startswith(f"{ENCODER_LABEL} '{encoder[0]}'") and needle in message
    assert "(PRETRAINED_ENCODER)" in message and "Pretrain" in message


def test_an_encoder_from_before_an_option_is_read_with_the_papers_value(encoder,
                                                                       small_stack):
    """A card written before *Continuous factors (networks)* existed has no such key:
    its encoder saw the values (the paper's way), whatever today's default is."""
    from landslide_susceptibility.engine.pretraining import check_encoder_card, read_encoder_card

    card = dict(read_encoder_card(str(encoder[0])))
    del card["continuous_encoding"]
    data = prepared()
    info = read_stack_info(small_stack)
    check_encoder_card(card, encoder[0], train_spec(small_stack, encoder[0]), PATCH,
                       data.hparams, info)
    spec = train_spec(small_stack, encoder[0], continuous_encoding="values_bins")
    with pytest.raises(InputError, match="was pretrained with Continuous factors"):
        check_encoder_card(card, encoder[0], spec, PATCH, data.hparams, info)


def test_a_trained_model_or_another_file_is_not_an_encoder(encoder, small_stack, tmp_path,
                                                           fake_reporter):
    import json

    from landslide_susceptibility.core.model_card import CARD_NAME
    from landslide_susceptibility.engine.pretraining import load_pretrained_encoder

    trained = tmp_path / "trained.keras"  # the encoder with a trained model's card
    with zipfile.ZipFile(encoder[0]) as source, zipfile.ZipFile(trained, "w") as target:
        for name in source.namelist():
            text = source.read(name)
            if name == CARD_NAME:
                card = json.loads(text)
                del card["kind"]
                text = json.dumps(card)
            target.writestr(name, text)
    text_file = tmp_path / "notes.keras"
    text_file.write_text("not a model")
    for path, needle in ((trained, "is not a pretrained encoder"),
                         (text_file, "is not a .keras model file"),
                         (tmp_path / "missing.keras", "cannot be read")):
        with pytest.raises(InputError, match="PRETRAINED_ENCODER") as raised:
            load_pretrained_encoder(train_spec(small_stack, path), None, prepared(),
                                    fake_reporter)
        assert needle in str(raised.value)


def test_the_draw_is_the_same_for_a_seed(small_stack):
    from landslide_susceptibility.engine.pretraining import block_masks, draw_centres

    info = read_stack_info(small_stack)
    first, again, other = (draw_centres(info, 300, seed) for seed in (5, 5, 6))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not (np.array_equal(first[0], other[0]) and np.array_equal(first[1], other[1]))
    assert len(first[0]) == 300 and first[2] >= 300
    masks = [block_masks(50, PATCH, 0.5, np.random.default_rng([5, 0])) for _ in range(2)]
    assert np.array_equal(*masks)
    assert masks[0].shape == (50, PATCH, PATCH) and masks[0].mean(axis=(1, 2)).tolist() == \
        [0.5] * 50  # 32 of the 8 x 8 blocks of 2 x 2 cells


def test_pretrain_setting_pretrains_once_then_reuses_the_encoder(small_stack, small_samples,
                                                                 tmp_path, fake_reporter,
                                                                 monkeypatch):
    """*Pretrain on the stack*: the first training pretrains and caches the encoder,
    the second reuses it, and both train the same weights (the random state is set
    again after the pretraining)."""
    from landslide_susceptibility.engine import auto_pretraining
    from landslide_susceptibility.engine.commands import run_command
    from landslide_susceptibility.models import load_model

    monkeypatch.setattr(auto_pretraining, "pretraining_settings", lambda epochs=None: {
        "patches": 96, "epochs": 2, "batch_size": 32, "mask_ratio": 0.5,
        "learning_rate": 0.003})
    params = {"stack": small_stack, "samples": small_samples, "model": "cnn", "epochs": 1,
              "batch_size": 16, "optimizer": "adam", "hparams": TINY_CNN, "pretrain": True,
              "cache_dir": str(tmp_path / "cache"), "seed": 3}
    first = run_command("train", dict(params, output_model=str(tmp_path / "a.keras")),
                        fake_reporter)
    assert any("pretraining the network on unlabelled" in m for m in fake_reporter.messages)
    assert len(list((tmp_path / "cache" / "encoders").glob("cnn_*.keras"))) == 1
    second = run_command("train", dict(params, output_model=str(tmp_path / "b.keras")),
                         fake_reporter)
    assert any("reusing the encoder" in m for m in fake_reporter.messages)
    assert first.card["training"]["pretrain"] and second.card["training"]["pretrain"]
    for a, b in zip(load_model(first.model).get_weights(), load_model(second.model)
                    .get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("after, raises", [
    ("pretraining the network on unlabelled", True),  # cutting the patches: CancelledError
    ("masked-patch reconstruction", False)])  # in the epochs: a cancelled outcome
def test_cancel_during_the_pretraining_writes_and_caches_nothing(small_stack, small_samples,
                                                                 tmp_path, monkeypatch, after,
                                                                 raises):
    """Cancel while *Pretrain on the stack* runs (cutting its patches, or in its
    epochs): the training ends cancelled, no model is written and no partial encoder
    is left in the cache for a later run."""
    from reporters import FakeReporter

    from landslide_susceptibility.core.errors import CancelledError
    from landslide_susceptibility.engine import auto_pretraining
    from landslide_susceptibility.engine.commands import run_command

    class CancelInPretraining(FakeReporter):
        def is_cancelled(self):
            return any(after in m for m in self.messages)

    monkeypatch.setattr(auto_pretraining, "pretraining_settings", lambda epochs=None: {
        "patches": 96, "epochs": 3, "batch_size": 32, "mask_ratio": 0.5,
        "learning_rate": 0.003})
    output = tmp_path / "m.keras"
    params = {"stack": small_stack, "samples": small_samples, "model": "cnn", "epochs": 2,
              "batch_size": 16, "optimizer": "adam", "hparams": TINY_CNN, "pretrain": True,
              "cache_dir": str(tmp_path / "cache"), "seed": 3, "output_model": str(output)}
    if raises:
        with pytest.raises(CancelledError):
            run_command("train", params, CancelInPretraining())
    else:
        outcome = run_command("train", params, CancelInPretraining())
        assert outcome.cancelled and not outcome.model
    assert not output.exists() and not list(tmp_path.glob(".m.keras*"))
    encoders = tmp_path / "cache" / "encoders"
    assert not encoders.exists() or not list(encoders.iterdir()), list(encoders.iterdir())
