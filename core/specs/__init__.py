"""Command specs: the one contract between the Processing algorithms and the
engine (TF-free, QGIS-free). See :mod:`.spec` for the machinery."""

from .map_comparison import CompareMapsSpec, ExplainOutcome, ExplainSpec
from .maps import (
    BreaksOutcome,
    ClassBreaksSpec,
    ClassifySpec,
    ImportanceOutcome,
    ImportanceSpec,
    PredictOutcome,
    PredictSpec,
)
from .pretraining import PretrainOutcome, PretrainSpec
from .spec import Param, Result, Spec, default_of, param
from .tools import CheckSpec, ModelReportSpec, SelftestSpec
from .training import (
    CompareOutcome,
    CompareSpec,
    ComparisonRow,
    EvaluateOutcome,
    EvaluateSpec,
    TrainingSettings,
    TrainOutcome,
    TrainSpec,
)

COMMAND_SPECS = {spec.COMMAND: spec for spec in (
    CheckSpec, SelftestSpec, ModelReportSpec, ImportanceSpec, TrainSpec, EvaluateSpec,
    CompareSpec, PredictSpec, ClassBreaksSpec, ExplainSpec, PretrainSpec)}

__all__ = ["COMMAND_SPECS", "BreaksOutcome", "CheckSpec", "ClassBreaksSpec", "ClassifySpec",
           "CompareOutcome", "CompareSpec", "ComparisonRow", "EvaluateOutcome", "EvaluateSpec",
           "ImportanceOutcome", "ImportanceSpec", "ModelReportSpec", "Param", "PredictOutcome",
           "PredictSpec", "Result", "SelftestSpec", "Spec", "TrainOutcome", "TrainSpec",
           "TrainingSettings", "default_of", "param",
           "CompareMapsSpec", "ExplainOutcome", "ExplainSpec", "PretrainOutcome", "PretrainSpec"]
