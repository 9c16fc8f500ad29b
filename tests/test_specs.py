"""The command specs: one contract between the Processing algorithms and the engine.

Every Processing parameter made from a spec shows the spec's default, range and
choices; every engine command has a spec; specs survive a JSON round trip and
refuse bad values with the label the user sees.
"""

import dataclasses
import os

import pytest

from landslide_susceptibility.core.errors import InputError
from landslide_susceptibility.core.specs import (
    COMMAND_SPECS,
    CompareSpec,
    EvaluateSpec,
    PredictSpec,
    TrainOutcome,
    TrainSpec,
    default_of,
)
from landslide_susceptibility.core.specs.samples import SamplesSpec

EXAMPLES = {
    "pretrain": {"stack": "s.tif", "model": "cnn", "output_encoder": "e.keras", "patches": 500,
                 "mask_ratio": 0.25, "hparams": {"filters": [8, 16]}},
    "train": {"stack": "s.tif", "samples": "p.gpkg", "model": "ctlgnet",
              "output_model": "m.keras", "epochs": 3, "optimizer": "adam",
              "hparams": {"depth": 2}},
    "compare": {"stack": "s.tif", "samples": "p.gpkg", "output_folder": "out",
                "models": ["cnn", "ctlgnet"], "augment": False},
    "evaluate": {"model": "m.keras", "stack": "s.tif", "samples": "p.gpkg", "split": "all"},
    "predict": {"model": "m.keras", "stack": "s.tif", "output": "o.tif", "stride": 2},
    "classify": {"sample": "v.npz", "method": "quantile"},
    "explain": {"model": "m.keras", "stack": "s.tif", "samples": "p.gpkg", "repeats": 3},
    "importance": {"samples": "v.npz", "trees": 30},
    "selftest": {"duration": 0.5, "fail": "boom"},
    "check": {},
    "model_report": {"models": ["cnn"], "input_shape": [16, 16, 3], "speed": False},
}


def test_every_engine_command_has_a_spec():
    from landslide_susceptibility.engine.commands import COMMANDS

    assert set(COMMANDS) == set(COMMAND_SPECS)
    assert set(EXAMPLES) == set(COMMAND_SPECS)


@pytest.mark.parametrize("command", sorted(EXAMPLES))
def test_json_round_trip(command):
    spec_class = COMMAND_SPECS[command]
    spec = spec_class.from_json(EXAMPLES[command]).validate()
    again = spec_class.from_json(spec.to_json())
    assert again == spec
    for name, value in EXAMPLES[command].items():
        assert getattr(spec, name) == value


def test_results_keep_their_shape_when_cancelled():
    cancelled = TrainOutcome(cancelled=True)
    finished = TrainOutcome(model="m.keras", metrics={"auc": 0.9}, best_epoch=3, epochs_run=4)
    assert set(cancelled.to_json()) == set(finished.to_json())
    assert TrainOutcome.from_json(finished.to_json()) == finished


@pytest.mark.parametrize(("spec_class", "values", "message"), [
    (TrainSpec, {"epochs": 0}, "Epochs must be at least 1, not 0."),
    (TrainSpec, {"batch_size": 16.5}, "Batch size must be a whole number"),
    (TrainSpec, {"optimizer": "rmsprop"}, "Optimizer: 'rmsprop' is not one of: sgd = SGD"),
    (TrainSpec, {"label_smoothing": 0.7}, "Label smoothing must be at most 0.5"),
    (TrainSpec, {"model": "lenet"}, "Model: 'lenet' is not one of: cnn = CNN"),
    (TrainSpec, {"output_model": "m.h5"}, "must be a .keras file"),
    (TrainSpec, {"learning_rate": float("nan")}, "Learning rate must be a finite number"),
    (PredictSpec, {"stride": 0}, "Stride must be at least 1"),
    (EvaluateSpec, {"split": "holdout"}, "Split: 'holdout' is not one of: test = Test;"),
    (CompareSpec, {"models": []}, "Models: choose at least one of CNN"),
])
def test_bad_values_name_the_label(spec_class, values, message):
    base = {"train": EXAMPLES["train"], "predict": EXAMPLES["predict"],
            "evaluate": EXAMPLES["evaluate"], "compare": EXAMPLES["compare"]}
    params = dict(base[spec_class.COMMAND], **values)
    with pytest.raises(InputError) as raised:
        spec_class.from_json(params).validate()
    assert message in str(raised.value)


def test_unknown_and_missing_parameters_are_refused():
    with pytest.raises(InputError, match="Unknown parameter.*epoch"):
        TrainSpec.from_json(dict(EXAMPLES["train"], epoch=3))
    with pytest.raises(InputError, match="needs: Trained model"):
        TrainSpec.from_json({"stack": "s.tif", "samples": "p.gpkg"})


def test_compare_trains_each_model_with_the_shared_settings():
    spec = CompareSpec.from_json(dict(EXAMPLES["compare"], epochs=7, hparams={"cnn": {"x": 1}}))
    one = spec.train_spec("cnn")
    assert one.settings() == spec.settings()
    assert one.output_model.endswith("cnn.keras") and one.hparams == {"x": 1}
    assert spec.train_spec("ctlgnet").hparams == {}


def _specs_of(algorithm):
    return getattr(algorithm, "spec_classes", ())


def test_processing_parameters_show_the_spec(provider):
    """Every parameter made from a spec: default, options, range as in the spec."""
    from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber

    checked = 0
    algorithms = [a for a in provider.algorithms() if _specs_of(a)]
    assert {a.name() for a in algorithms} >= {
        "trainmodel", "comparemodels", "evaluatemodel", "predictsusceptibility",
        "factorimportance", "buildsamples", "classifysusceptibility"}
    for algorithm in algorithms:
        for spec_class in _specs_of(algorithm):
            for name, p in spec_class.params():
                definition = algorithm.parameterDefinition(p.key) if p.key else None
                if definition is None:
                    continue
                default = default_of(spec_class, name)
                assert definition.description() == p.label, (algorithm.name(), p.key)
                if isinstance(definition, QgsProcessingParameterEnum):
                    assert definition.options() == p.labels(), (algorithm.name(), p.key)
                    wanted = [p.codes().index(c) for c in default] \
                        if isinstance(default, list) else p.codes().index(default)
                    assert definition.defaultValue() == wanted, (algorithm.name(), p.key)
                elif isinstance(definition, QgsProcessingParameterNumber):
                    assert definition.defaultValue() == default, (algorithm.name(), p.key)
                    if p.minimum is not None:
                        assert definition.minimum() == p.minimum, (algorithm.name(), p.key)
                    if p.maximum is not None:
                        assert definition.maximum() == p.maximum, (algorithm.name(), p.key)
                elif p.kind == "bool":
                    assert definition.defaultValue() == default, (algorithm.name(), p.key)
                advanced = bool(definition.flags() & definition.FlagAdvanced)
                assert advanced == p.advanced, (algorithm.name(), p.key)
                checked += 1
    assert checked >= 40


def test_models_are_offered_by_display_name(provider):
    algorithm = provider.algorithm("trainmodel")
    options = algorithm.parameterDefinition("MODEL").options()
    assert "CTLGNet" in options and "DenseNet-BC" in options and "ctlgnet" not in options
    assert options.index("Random forest") == \
        algorithm.parameterDefinition("MODEL").defaultValue()


def test_samples_spec_matches_the_model_specs():
    """One patch-size default: the samples' is the one the model commands fall back to."""
    from landslide_susceptibility.core.specs.samples import DEFAULT_PATCH_SIZE

    assert default_of(SamplesSpec, "patch_size") == DEFAULT_PATCH_SIZE
    fields = {f.name for f in dataclasses.fields(TrainSpec)}
    assert {"stack", "samples", "epochs", "seed"} <= fields


@pytest.mark.parametrize(("algorithm", "key", "value", "message"), [
    ("landslide:buildsamples", "PATCH_SIZE", 16.5,
     r"Patch size \(pixels\) must be a whole number, not 16.5"),
    ("landslide:trainmodel", "EPOCHS", 2.5, "Epochs must be a whole number, not 2.5"),
])
def test_fractional_whole_numbers_are_refused_not_rounded(run_alg, small_stack, small_samples,
                                                          sample_area, tmp_path, algorithm,
                                                          key, value, message):
    from qgis.core import QgsProcessingException

    params = {"STACK": small_stack, "INVENTORY": sample_area["files"]["landslides"],
              "SAMPLES": small_samples, "OUTPUT": str(tmp_path / "samples.gpkg"),
              "OUTPUT_MODEL": str(tmp_path / "m.keras"), "OUTPUT_METRICS": "TEMPORARY_OUTPUT",
              "OUTPUT_REPORT": str(tmp_path / "r.html"),
              key: value}
    with pytest.raises(QgsProcessingException, match=message):
        run_alg(algorithm, params)
    assert not os.path.exists(tmp_path / "samples.gpkg")


@pytest.mark.parametrize(("algorithm", "key", "value"), [
    ("landslide:buildsamples", "PATCH_SIZE", 8),
    ("landslide:trainmodel", "EPOCHS", 0),
    ("landslide:trainmodel", "BATCH_SIZE", 0),
    ("landslide:predictsusceptibility", "STRIDE", 0),
    ("landslide:predictsusceptibility", "BATCH_SIZE", 0),
])
def test_numbers_below_their_minimum_are_refused_by_the_definition(provider, algorithm, key,
                                                                   value):
    """The range is in the parameter definition: the dialog's spin box and qgis_process
    refuse the value before the algorithm runs."""
    definition = provider.algorithm(algorithm.split(":")[1]).parameterDefinition(key)
    assert definition.minimum() > value
    assert not definition.checkValueIsAcceptable(value)
    assert definition.checkValueIsAcceptable(definition.defaultValue())
