"""Training, evaluation and comparison (issue 6), with tiny settings."""

import os
import time
import zipfile

import numpy as np
import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from landslide_susceptibility.core.model_card import read_card
from landslide_susceptibility.core.specs import TrainOutcome, TrainSpec

MODELS = ["cnn", "resnet18", "densenet", "vit", "frit", "ctlgnet"]
TINY = {"EPOCHS": 1, "BATCH_SIZE": 16, "OPTIMIZER": 1, "SEED": 3}


class EpochCancel(QgsProcessingFeedback):
    """Cancels once the engine logged the end of ``epoch`` (so a best model exists)."""

    def __init__(self, epoch=1):
        super().__init__()
        self.marker = f"epoch {epoch}/"
        self.infos, self.warnings = [], []

    def pushInfo(self, info):
        self.infos.append(info)
        if info.startswith(self.marker):
            self.cancel()

    def pushWarning(self, warning):
        self.warnings.append(warning)

    def reportError(self, error, fatalError=False):
        self.warnings.append(error)


def train(run_alg, small_stack, small_samples, tmp_path, model, feedback=None, **extra):
    params = dict(TINY, STACK=small_stack, SAMPLES=small_samples, MODEL=MODELS.index(model),
                  OUTPUT_MODEL=str(tmp_path / f"{model}.keras"),
                  OUTPUT_METRICS="TEMPORARY_OUTPUT",
                  OUTPUT_REPORT=str(tmp_path / f"{model}.html"))
    params.update(extra)
    return run_alg("landslide:trainmodel", params, feedback=feedback)


# The quick suite trains the CNN and CTLGNet through Processing; the four other
# architectures (1.5 min for DenseNet-BC on 2 cores) run with `make test-all`.
# Every model's build, save and reload is in tests/test_models.py either way.
QUICK_MODELS = ("cnn",)  # the others (CTLGNet included) run under make test-all


@pytest.mark.parametrize("model", [name if name in QUICK_MODELS else
                                   pytest.param(name, marks=pytest.mark.slow)
                                   for name in MODELS])
def test_every_model_trains_through_processing(run_alg, small_stack, small_samples, tmp_path,
                                               model):
    result = train(run_alg, small_stack, small_samples, tmp_path, model)
    assert os.path.exists(result["OUTPUT_MODEL"])
    card = read_card(result["OUTPUT_MODEL"])
    assert card["model"] == model and card["patch_size"] == 16
    assert card["factors"] == ["dem", "ndvi", "precipitation", "landuse"]
    assert card["categorical"] == [False, False, False, True]
    assert len(card["normalisation"]["mean"]) == 4
    metrics = {f["metric"]: f["value"] for f in result["OUTPUT_METRICS"].getFeatures()}
    assert set(metrics) == {"oa", "precision", "recall", "f1", "mcc", "kappa", "auc", "rmse",
                            "mae", "brier"}
    assert 0.0 <= metrics["auc"] <= 1.0
    html = open(result["OUTPUT_REPORT"], encoding="utf-8").read()
    for needle in ("Training curves", "Model card", "Data leakage", "data:image/png;base64"):
        assert needle in html


def test_cancel_keeps_a_loadable_best_model(run_alg, small_stack, small_samples, tmp_path):
    import keras

    from landslide_susceptibility.models import load_model

    feedback = EpochCancel(epoch=1)
    started = time.monotonic()
    result = train(run_alg, small_stack, small_samples, tmp_path, "cnn", feedback=feedback,
                   EPOCHS=200, PRETRAIN=False)
    assert time.monotonic() - started < 120
    assert result["CANCELLED"] is True
    card = read_card(result["OUTPUT_MODEL"])
    assert card["training"]["epochs_run"] < 200 and card["training"]["best_epoch"] >= 1
    model = load_model(result["OUTPUT_MODEL"])
    assert isinstance(model, keras.Model)
    assert model.predict(np.zeros((2, 16, 16, 4), np.float32), verbose=0).shape == (2, 2)
    # said once (by the engine), not again by the algorithm (issue 18)
    assert sum("best model so far" in w for w in feedback.warnings) == 1


def test_engine_crash_leaves_the_existing_output_alone(small_stack, small_samples, tmp_path):
    from landslide_susceptibility.algorithms.engine_runner import run_engine
    from landslide_susceptibility.core.errors import CancelledError

    target = tmp_path / "existing.keras"
    target.write_bytes(b"an older model the user keeps")
    params = {"stack": small_stack, "samples": small_samples, "model": "cnn", "epochs": 200,
              "optimizer": "adam", "output_model": str(target)}
    # cancel after the first epoch with no grace: the engine is killed mid-training
    try:
        result = run_engine(TrainSpec.from_json(params), EpochCancel(epoch=1),
                            cancel_grace_s=0.0)
    except CancelledError:  # killed before it answered: a bare cancel
        result = TrainOutcome(cancelled=True)
    assert result.cancelled is True
    assert target.read_bytes() == b"an older model the user keeps"


def weights_of(path):
    with zipfile.ZipFile(path) as archive:
        return archive.read("model.weights.h5")


def test_same_seed_same_weights_and_metrics(run_alg, small_stack, small_samples, tmp_path):
    first = train(run_alg, small_stack, small_samples, tmp_path / "a", "cnn", EPOCHS=2)
    second = train(run_alg, small_stack, small_samples, tmp_path / "b", "cnn", EPOCHS=2)
    assert first["AUC"] == second["AUC"] and first["OA"] == second["OA"]
    import h5py  # noqa: F401  (TF's dependency) compare the stored weights array by array
    import keras

    a = keras.saving.load_model(first["OUTPUT_MODEL"]).get_weights()
    b = keras.saving.load_model(second["OUTPUT_MODEL"]).get_weights()
    assert len(a) == len(b)
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_evaluate_model_matches_training_metrics(run_alg, small_stack, small_samples,
                                                 tmp_path):
    trained = train(run_alg, small_stack, small_samples, tmp_path, "cnn")
    result = run_alg("landslide:evaluatemodel", {
        "MODEL": trained["OUTPUT_MODEL"], "STACK": small_stack, "SAMPLES": small_samples,
        "SPLIT": 0, "OUTPUT_METRICS": "TEMPORARY_OUTPUT",
        "OUTPUT_REPORT": str(tmp_path / "eval.html")})
    assert result["AUC"] == pytest.approx(trained["AUC"], abs=1e-6)
    assert result["OA"] == pytest.approx(trained["OA"], abs=1e-6)
    html = open(result["OUTPUT_REPORT"], encoding="utf-8").read()
    assert "ROC" in html and "Confusion matrix" in html


@pytest.mark.slow  # compare through Processing: tests/test_compare_cv.py is the quick one
def test_compare_models_gives_one_row_per_model(run_alg, small_stack, small_samples, tmp_path):
    result = run_alg("landslide:comparemodels", dict(
        TINY, STACK=small_stack, SAMPLES=small_samples, MODELS=[0, 5],
        VALIDATION=0,  # the samples' own split: one training per model (CV: test_compare_cv)
        OUTPUT_FOLDER=str(tmp_path / "models"), OUTPUT_TABLE="TEMPORARY_OUTPUT",
        OUTPUT_REPORT=str(tmp_path / "compare.html")))
    rows = {f["model"]: f for f in result["OUTPUT_TABLE"].getFeatures()}
    assert set(rows) == {"cnn", "ctlgnet"}
    for name, row in rows.items():
        assert os.path.exists(tmp_path / "models" / f"{name}.keras")
        assert row["parameters"] > 0 and row["flops_per_patch"] > 0
        assert 0 <= row["auc"] <= 1
    assert result["BEST_MODEL"] in rows
    html = open(result["OUTPUT_REPORT"], encoding="utf-8").read()
    assert "★" in html and "ROC curves of all models" in html


# --- the engine commands in-process (no Processing) ---------------------------------

ENGINE_TINY = {"epochs": 1, "batch_size": 16, "optimizer": "adam", "seed": 3}


def test_train_and_evaluate_commands(small_stack, small_samples, tmp_path, fake_reporter):
    from landslide_susceptibility.core.specs import EvaluateOutcome
    from landslide_susceptibility.engine.commands import run_command

    data = {"stack": small_stack, "samples": small_samples}
    trained = run_command("train", dict(ENGINE_TINY, **data, model="cnn",
                                        output_model=str(tmp_path / "cnn.keras"),
                                        output_report=str(tmp_path / "cnn.html")),
                          fake_reporter)
    assert isinstance(trained, TrainOutcome) and not trained.cancelled
    assert TrainOutcome.from_json(trained.to_json()).metrics == trained.metrics
    assert trained.model == str(tmp_path / "cnn.keras") and trained.epochs_run == 1
    assert read_card(trained.model)["training"]["optimizer"] == "adam"
    assert set(trained.metrics) == {"oa", "precision", "recall", "f1", "mcc", "kappa", "auc",
                                    "rmse", "mae", "brier"}
    assert any(m.startswith("test Overall accuracy: ") for m in fake_reporter.messages)
    html = open(trained.report, encoding="utf-8").read()
    assert "Training curves" in html and "Optimizer" in html and "batch_size" not in html
    evaluated = run_command("evaluate", dict(data, model=trained.model, split="test"),
                            fake_reporter)
    assert isinstance(evaluated, EvaluateOutcome) and evaluated.report is None
    assert evaluated.metrics["auc"] == pytest.approx(trained.metrics["auc"], abs=1e-6)
    assert evaluated.count == sum(trained.confusion[0]) + sum(trained.confusion[1])


def test_compare_command(small_stack, small_samples, tmp_path, fake_reporter):
    from landslide_susceptibility.core.specs import CompareOutcome, ComparisonRow
    from landslide_susceptibility.engine.commands import run_command

    result = run_command("compare", dict(ENGINE_TINY, stack=small_stack, samples=small_samples,
                                         models=["cnn"], validation="samples",
                                         output_folder=str(tmp_path / "m"),
                                         output_report=str(tmp_path / "compare.html")),
                         fake_reporter)
    assert isinstance(result, CompareOutcome) and not result.cancelled
    (row,) = result.rows
    assert isinstance(row, ComparisonRow) and row.model == "cnn"
    assert row.model_path == str(tmp_path / "m" / "cnn.keras") and row.parameters > 0
    assert os.path.exists(tmp_path / "m" / "cnn.html")
    assert CompareOutcome.from_json(result.to_json()).rows[0].metrics == row.metrics
    html = open(result.report, encoding="utf-8").read()
    assert "★" in html and "ROC curves of all models" in html


@pytest.mark.parametrize("selection", ["val_accuracy", "val_auc"])
def test_the_model_kept_is_the_best_epoch_by_the_chosen_score(small_stack, small_samples,
                                                              tmp_path, fake_reporter,
                                                              selection):
    """KEEP_MODEL: the kept epoch is the first best epoch of that validation score."""
    from landslide_susceptibility.engine.commands import run_command

    trained = run_command("train", dict(ENGINE_TINY, stack=small_stack, samples=small_samples,
                                        model="cnn", epochs=4, selection=selection,
                                        output_model=str(tmp_path / "cnn.keras")),
                          fake_reporter)
    scores = trained.history[selection]
    assert trained.best_epoch == int(np.argmax(scores)) + 1
    card = read_card(trained.model)["training"]
    assert card["kept_by"] == selection and card["best_epoch"] == trained.best_epoch
    assert card["best_val_accuracy"] == trained.history["val_accuracy"][trained.best_epoch - 1]


# --- metrics against an independent computation -----------------------------------

def test_metrics_match_hand_computation():
    from landslide_susceptibility.engine import metrics

    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.4, 0.7, 0.2, 0.6, 0.1, 0.3, 0.45, 0.55])
    got = metrics.evaluate(y, p)
    pred = (p >= 0.5).astype(int)
    tp = np.sum((pred == 1) & (y == 1))
    tn = np.sum((pred == 0) & (y == 0))
    fp = np.sum((pred == 1) & (y == 0))
    fn = np.sum((pred == 0) & (y == 1))
    n = len(y)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    po = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / n ** 2
    pos, neg = p[y == 1], p[y == 0]
    auc = np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])
    expected = {
        "oa": po, "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall),
        "mcc": (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)),
        "kappa": (po - pe) / (1 - pe), "auc": auc,
        "rmse": np.sqrt(np.mean((p - y) ** 2)), "mae": np.mean(np.abs(p - y)),
        "brier": np.mean((p - y) ** 2)}
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    assert metrics.confusion(y, p) == [[tn, fp], [fn, tp]]


# --- bad input ----------------------------------------------------------------------

def test_samples_without_fields_are_refused(run_alg, small_stack, tmp_path):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer("Point?crs=EPSG:32617&field=id:integer", "points", "memory")
    with pytest.raises(QgsProcessingException, match="lacks the field"):
        run_alg("landslide:trainmodel", dict(TINY, STACK=small_stack, SAMPLES=layer, MODEL=0,
                                             OUTPUT_MODEL=str(tmp_path / "m.keras"),
                                             OUTPUT_METRICS="TEMPORARY_OUTPUT",
                                             OUTPUT_REPORT=str(tmp_path / "r.html")))


def test_one_class_split_is_refused(run_alg, small_stack, tmp_path):
    from landslide_susceptibility.core.sample_layer import write_sample_layer
    from landslide_susceptibility.core.stack import read_stack_info

    info = read_stack_info(small_stack)
    path = str(tmp_path / "one_class.gpkg")
    rows = np.arange(20, 40)
    write_sample_layer(path, rows, rows, np.r_[np.ones(10), np.zeros(10)].astype(int),
                       ["train"] * 10 + ["validation"] * 5 + ["train"] * 5,
                       info.geotransform, info.crs_wkt)
    with pytest.raises(QgsProcessingException, match="'validation' split .* only non-landslide"):
        train(run_alg, small_stack, path, tmp_path, "cnn")


def test_batch_size_larger_than_training_set_is_clamped(run_alg, small_stack, small_samples,
                                                        tmp_path):
    feedback = EpochCancel(epoch=99)
    train(run_alg, small_stack, small_samples, tmp_path, "cnn", feedback=feedback,
          BATCH_SIZE=10000)
    assert any("Batch size (BATCH_SIZE) 10000 is larger than the training set" in w
               for w in feedback.warnings)


def test_stack_that_does_not_match_the_model_is_refused(run_alg, small_stack, small_samples,
                                                        sample_area, tmp_path):
    from landslide_susceptibility.core.align import align_factors

    trained = train(run_alg, small_stack, small_samples, tmp_path, "cnn")
    other = str(tmp_path / "other.tif")
    files = sample_area["files"]
    align_factors([files["ndvi"], files["dem"]], [], other)
    with pytest.raises(QgsProcessingException, match="does not match the model") as caught:
        run_alg("landslide:evaluatemodel", {
            "MODEL": trained["OUTPUT_MODEL"], "STACK": other, "SAMPLES": small_samples,
            "OUTPUT_METRICS": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": str(tmp_path / "e.html")})
    assert "dem, ndvi, precipitation, landuse (categorical)" in str(caught.value)
    assert "ndvi, dem" in str(caught.value)


def test_unwritable_output_is_explained(run_alg, small_stack, small_samples, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")  # a folder cannot be made under a file, even by root
    with pytest.raises(QgsProcessingException,
                       match=r"The folder of Trained model \(OUTPUT_MODEL\).*cannot be created"):
        train(run_alg, small_stack, small_samples, tmp_path, "cnn",
              OUTPUT_MODEL=str(blocker / "m.keras"))


def test_unknown_model_in_the_engine(small_stack, small_samples, tmp_path, fake_reporter):
    from landslide_susceptibility.algorithms.engine_runner import run_engine
    from landslide_susceptibility.core.errors import InputError
    from landslide_susceptibility.core.stack import read_stack_info
    from landslide_susceptibility.engine.samples_input import load_samples
    from landslide_susceptibility.engine.training import train

    # not validated here: the engine process refuses it (the spec's choice check) ...
    spec = TrainSpec(stack=small_stack, samples=small_samples, model="lenet",
                     output_model=str(tmp_path / "m.keras"))
    with pytest.raises(QgsProcessingException, match="Model: 'lenet' is not one of: cnn"):
        run_engine(spec, None)
    # ... and so does the training itself, for a caller that skipped the check
    info = read_stack_info(small_stack)
    samples, _ = load_samples(small_samples, info)
    with pytest.raises(InputError, match="Unknown model 'lenet'"):
        train(spec, info, samples, fake_reporter)


def test_every_optimizer_choice_has_a_keras_optimizer():
    from landslide_susceptibility.core.errors import InputError
    from landslide_susceptibility.core.specs.training import OPTIMIZERS
    from landslide_susceptibility.engine.training import KERAS_OPTIMIZERS, make_optimizer

    assert list(KERAS_OPTIMIZERS) == [code for code, _ in OPTIMIZERS]
    with pytest.raises(InputError, match="Optimizer must be one of sgd, adam, adamw"):
        make_optimizer("rmsprop", 0.01)


def test_samples_from_another_grid_are_refused(small_samples, sample_area, tmp_path):
    from landslide_susceptibility.core.align import align_factors
    from landslide_susceptibility.core.errors import InputError
    from landslide_susceptibility.core.stack import read_stack_info
    from landslide_susceptibility.engine.samples_input import load_samples

    files = sample_area["files"]
    coarse = str(tmp_path / "coarse.tif")
    align_factors([files["precipitation"], files["dem"]], [], coarse)  # 100 m grid
    with pytest.raises(InputError, match="built on another stack"):
        load_samples(small_samples, read_stack_info(coarse))


def test_moved_points_are_regridded(small_stack, small_samples, tmp_path):
    from osgeo import gdal, ogr

    from landslide_susceptibility.core.stack import read_stack_info
    from landslide_susceptibility.engine.samples_input import load_samples

    copy = str(tmp_path / "edited.gpkg")
    gdal.VectorTranslate(copy, small_samples)
    dataset = ogr.Open(copy, 1)
    layer = dataset.GetLayer(0)
    feature = layer.GetNextFeature()
    geometry = feature.GetGeometryRef()
    geometry.SetPoint_2D(0, geometry.GetX() + 30.0, geometry.GetY())  # three cells east
    feature.SetGeometry(geometry)
    layer.SetFeature(feature)
    first_col = feature.GetField("col")
    dataset = None

    class Collect:
        warnings = []

        def warning(self, message):
            self.warnings.append(message)

    reporter = Collect()
    (rows, cols, _, _), _ = load_samples(copy, read_stack_info(small_stack), reporter)
    assert cols[0] == first_col + 3
    assert "1 sample points were moved" in reporter.warnings[0]
