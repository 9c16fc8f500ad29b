"""Processing algorithms: thin wrappers over core/ and the engine.

The provider registers exactly the classes listed here.
"""

from .align_factors import AlignFactors
from .build_samples import BuildSamples
from .check_engine import CheckEngine
from .classify_susceptibility import ClassifySusceptibility
from .compare_maps import CompareMaps
from .compare_models import CompareModels
from .create_sample_area import CreateSampleArea
from .derive_terrain_factors import DeriveTerrainFactors
from .distance_to_features import DistanceToFeatures
from .evaluate_model import EvaluateModel
from .explain_model import ExplainModel
from .factor_importance import FactorImportance
from .multicollinearity import Multicollinearity
from .predict_susceptibility import PredictSusceptibility
from .pretrain_encoder import PretrainEncoder
from .setup_engine import SetupEngine
from .susceptibility_workflow import SusceptibilityWorkflow
from .train_model import TrainModel

ALGORITHMS = [
    SusceptibilityWorkflow,
    CreateSampleArea,
    CheckEngine,
    SetupEngine,
    DeriveTerrainFactors,
    DistanceToFeatures,
    AlignFactors,
    Multicollinearity,
    FactorImportance,
    BuildSamples,
    TrainModel,
    EvaluateModel,
    CompareModels,
    PredictSusceptibility,
    ClassifySusceptibility,
    CompareMaps,
    ExplainModel,
    PretrainEncoder,
]
