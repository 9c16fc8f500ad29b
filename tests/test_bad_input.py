"""Bad input that used to end in a traceback or pass without comment (issue 13,
points 2, 6 and 8): damaged models, an output folder where nothing can be
created, manual breaks outside the raster's values, a categorical factor with
hundreds of classes, samples of another stack, samples without a test split."""

import json
import zipfile

import pytest
from osgeo import gdal
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.model_card import CARD_NAME, read_card

DAMAGED = "is damaged or not a model saved by this plugin"


class Collect(QgsProcessingFeedback):
    """Keeps the log: infos and warnings (engine warnings arrive as non-fatal errors)."""

    def __init__(self):
        super().__init__()
        self.infos, self.warnings, self.order = [], [], []

    def pushInfo(self, info):
        self.infos.append(info)
        self.order.append(("info", info))

    def pushWarning(self, warning):
        self.warnings.append(warning)
        self.order.append(("warning", warning))

    def reportError(self, error, fatalError=False):
        self.pushWarning(error)


@pytest.fixture(scope="module")
def no_test_samples(small_stack, sample_area, tmp_path_factory):
    """Samples on ``small_stack`` with TEST_RATIO 0, built through Processing."""
    return _processing_run("landslide:buildsamples", {
        "STACK": small_stack, "INVENTORY": sample_area["files"]["landslides"],
        "PATCH_SIZE": 16, "SAMPLES_PER_CLASS": 40, "TEST_RATIO": 0.0,
        "OUTPUT": str(tmp_path_factory.mktemp("no_test") / "samples.gpkg")})


@pytest.fixture(scope="module")
def trained(provider, small_stack, no_test_samples, tmp_path_factory):
    """A one-epoch CNN trained on the samples without a test split: the result,
    the log, the number of rows of its metrics table and the context (the model
    is the source of the damaged copies)."""
    folder = tmp_path_factory.mktemp("trained")
    feedback = Collect()
    result, _, context = _processing_run("landslide:trainmodel", {
        "STACK": small_stack, "SAMPLES": no_test_samples[0]["OUTPUT"], "MODEL": 0,
        "EPOCHS": 1, "BATCH_SIZE": 16, "SEED": 3, "OUTPUT_MODEL": str(folder / "cnn.keras"),
        "OUTPUT_METRICS": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": str(folder / "cnn.html")},
        feedback)
    metric_rows = len(list(result["OUTPUT_METRICS"].getFeatures()))
    return result, feedback, metric_rows, context  # the context owns the metrics layer


def _processing_run(algorithm_id, params, feedback=None):
    import processing

    feedback = feedback or Collect()
    context = QgsProcessingContext()
    result = processing.run(algorithm_id, params, context=context, feedback=feedback)
    return result, feedback, context


# --- damaged models ----------------------------------------------------------

def _copy_with(source, target, card=None, entries=None):
    """A copy of the .keras zip ``source`` with the card text replaced by ``card``
    and other entries changed by ``entries[name](bytes)``."""
    entries = entries or {}
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for name in dict.fromkeys(archive.namelist()):
            data = archive.read(name)
            if name == CARD_NAME and card is not None:
                data = card(data.decode())
            elif name in entries:
                data = entries[name](data)
            out.writestr(name, data)
    return str(target)


def _without(key):
    def edit(text):
        card = json.loads(text)
        card.pop(key)
        return json.dumps(card)
    return edit


def _evaluate(run_alg, model, stack, samples, tmp_path):
    return run_alg("landslide:evaluatemodel", {
        "MODEL": model, "STACK": stack, "SAMPLES": samples,
        "OUTPUT_METRICS": "TEMPORARY_OUTPUT", "OUTPUT_REPORT": str(tmp_path / "e.html")})


def _predict(run_alg, model, stack, tmp_path):
    return run_alg("landslide:predictsusceptibility", {
        "MODEL": model, "STACK": stack, "OUTPUT": str(tmp_path / "p.tif")})


@pytest.mark.parametrize("damage, detail", [
    (lambda text: text[: len(text) // 2], "not valid JSON"),
    (_without("factors"), "lacks 'factors'"),
    (_without("normalisation"), "lacks 'normalisation'"),
])
@pytest.mark.parametrize("algorithm", ["predict", "evaluate"])
def test_damaged_model_card_is_a_message(run_alg, trained, small_stack, small_samples,
                                         tmp_path, damage, detail, algorithm):
    model = _copy_with(trained[0]["OUTPUT_MODEL"], tmp_path / "m.keras", card=damage)
    with pytest.raises(QgsProcessingException) as raised:
        if algorithm == "predict":
            _predict(run_alg, model, small_stack, tmp_path)
        else:
            _evaluate(run_alg, model, small_stack, small_samples, tmp_path)
    message = str(raised.value)
    assert f"Trained model (.keras or .skops) '{model}' {DAMAGED}" in message
    assert detail in message and "train it again" in message
    assert "Traceback" not in message and not (tmp_path / "p.tif").exists()


@pytest.mark.parametrize("card, detail", [
    ({"factors": "dem"}, "bad 'factors'"),
    ({"patch_size": "16"}, "bad 'patch_size'"),
    ({"categorical": [False]}, "4 factors but categorical 1"),
    ({"normalisation": {"mean": [0.0] * 4, "std": [1.0] * 3}}, "normalisation std 3"),
])
def test_read_card_checks_every_required_key(trained, tmp_path, card, detail):
    model = _copy_with(trained[0]["OUTPUT_MODEL"], tmp_path / "m.keras",
                       card=lambda text: json.dumps(dict(json.loads(text), **card)))
    with pytest.raises(InputError, match=DAMAGED) as raised:
        read_card(model)
    assert detail in str(raised.value)


def test_truncated_model_file_is_a_message(run_alg, trained, small_stack, tmp_path):
    data = open(trained[0]["OUTPUT_MODEL"], "rb").read()
    model = tmp_path / "cut.keras"
    model.write_bytes(data[: len(data) // 2])
    with pytest.raises(QgsProcessingException, match=f"{DAMAGED}.*train it again"):
        _predict(run_alg, str(model), small_stack, tmp_path)


def test_truncated_weights_in_the_engine_predict(run_alg, trained, small_stack, tmp_path):
    model = _copy_with(trained[0]["OUTPUT_MODEL"], tmp_path / "w.keras",
                       entries={"model.weights.h5": lambda data: data[: len(data) // 3]})
    with pytest.raises(QgsProcessingException) as raised:
        _predict(run_alg, model, small_stack, tmp_path)
    message = str(raised.value)
    assert f"'{model}' {DAMAGED}" in message and "train it again" in message
    assert "truncated file" in message and "Traceback" not in message
    assert not (tmp_path / "p.tif").exists()


def test_broken_config_in_the_engine_evaluate(run_alg, trained, small_stack, small_samples,
                                              tmp_path):
    def no_class(data):
        config = json.loads(data)
        config.pop("class_name")
        return json.dumps(config)

    model = _copy_with(trained[0]["OUTPUT_MODEL"], tmp_path / "c.keras",
                       entries={"config.json": no_class})
    with pytest.raises(QgsProcessingException) as raised:
        _evaluate(run_alg, model, small_stack, small_samples, tmp_path)
    message = str(raised.value)
    assert f"'{model}' {DAMAGED}" in message and "KerasSaveable" in message
    assert "Traceback" not in message and not (tmp_path / "e.html").exists()


# --- outputs where nothing can be created --------------------------------------

def test_align_output_in_proc_is_a_message(run_alg, sample_area):
    from landslide_susceptibility.core.align import align_factors

    files = sample_area["files"]
    with pytest.raises(QgsProcessingException) as raised:
        run_alg("landslide:alignfactors", {"CONTINUOUS_FACTORS": [files["dem"]],
                                           "CATEGORICAL_FACTORS": [files["landuse"]],
                                           "OUTPUT": "/proc/x.tif"})
    message = str(raised.value)
    assert "factor stack (output)" in message.lower() and "'/proc'" in message
    assert "Choose a folder you can write to" in message
    with pytest.raises(InputError, match=r"folder of the factor stack \(OUTPUT\) '/proc' is "
                                         "not writable"):
        align_factors([files["dem"]], [files["landuse"]], "/proc/x.tif")


# --- manual breaks -------------------------------------------------------------

def test_manual_breaks_outside_the_values_are_refused(run_alg, sample_area, tmp_path):
    probability = sample_area["files"]["true_probability"]
    dataset = gdal.Open(probability)  # kept open while its band is used
    values = dataset.GetRasterBand(1).ComputeRasterMinMax(False)
    dataset = None
    for breaks, outside in [("-4,-3,-2,-1", "BREAKS: -4, -3, -2, -1 are outside"),
                            ("0.2,0.4,0.6,7", "BREAKS: 7 is outside")]:
        with pytest.raises(QgsProcessingException) as raised:
            run_alg("landslide:classifysusceptibility", {
                "SUSCEPTIBILITY": probability, "METHOD": 3, "BREAKS": breaks,
                "OUTPUT": str(tmp_path / "c.tif"), "OUTPUT_TABLE": "TEMPORARY_OUTPUT",
                "OUTPUT_REPORT": str(tmp_path / "c.html")})
        message = str(raised.value)
        assert outside in message
        assert f"{values[0]:.6g} … {values[1]:.6g}" in message
        assert not (tmp_path / "c.tif").exists()


# --- warnings ------------------------------------------------------------------

def test_integer_dem_as_categorical_warns(run_alg, sample_area, tmp_path):
    from landslide_susceptibility.core.stack import read_stack_info

    files = sample_area["files"]
    dem = str(tmp_path / "dem_int.tif")
    gdal.Translate(dem, files["dem"], outputType=gdal.GDT_Int16)
    feedback = Collect()
    result = run_alg("landslide:alignfactors", {
        "CONTINUOUS_FACTORS": [files["dem"]], "CATEGORICAL_FACTORS": [dem],
        "OUTPUT": str(tmp_path / "stack.tif")}, feedback)
    count = len(read_stack_info(result["OUTPUT"]).band("dem_int").classes)
    assert count > 50
    found = [w for w in feedback.warnings if "dem_int" in w and "is it continuous?" in w]
    assert found and f"has {count} classes: is it continuous?" in found[0], feedback.warnings
    few = Collect()
    run_alg("landslide:alignfactors", {"CONTINUOUS_FACTORS": [files["dem"]],
                                       "CATEGORICAL_FACTORS": [files["landuse"]],
                                       "OUTPUT": str(tmp_path / "ok.tif")}, few)
    assert not [w for w in few.warnings if "is it continuous?" in w]


def _other_stack(sample_area, path, continuous, categorical=()):
    from landslide_susceptibility.core.align import align_factors

    files = sample_area["files"]
    align_factors([files[n] for n in continuous], [files[n] for n in categorical], str(path))
    return str(path)


def test_samples_of_another_stack_warn_or_are_refused(small_samples, sample_area, tmp_path,
                                                      fake_reporter):
    from landslide_susceptibility.core.stack import read_stack_info
    from landslide_susceptibility.engine.samples_input import load_samples

    reordered = _other_stack(sample_area, tmp_path / "reordered.tif",
                             ["dem", "precipitation", "ndvi"], ["landuse"])
    load_samples(small_samples, read_stack_info(reordered), fake_reporter)
    warning = [m for m in fake_reporter.messages if "were built on a stack" in m]
    assert warning, fake_reporter.messages
    assert "dem, ndvi, precipitation, landuse" in warning[0]
    assert "dem, precipitation, ndvi, landuse" in warning[0]
    fewer = _other_stack(sample_area, tmp_path / "fewer.tif", ["dem", "ndvi"])
    with pytest.raises(InputError, match=r"4 factors \(dem, ndvi, precipitation, landuse\)"
                                         r".* has 2 \(dem, ndvi\)"):
        load_samples(small_samples, read_stack_info(fewer), fake_reporter)


def test_no_test_split_is_announced(no_test_samples, trained):
    built, log, _context = no_test_samples
    assert any("No sample is in the test split" in w for w in log.warnings)
    result, feedback, metric_rows, _context = trained
    kinds = [(kind, text) for kind, text in feedback.order
             if "no test split" in text or text.startswith("epoch 1/")]
    assert kinds and kinds[0][0] == "warning" and "no test split" in kinds[0][1], kinds
    assert "no test metrics will be computed" in kinds[0][1]
    assert result["AUC"] is None and result["OA"] is None and metric_rows == 0
    assert read_card(result["OUTPUT_MODEL"])["model"] == "cnn"
