"""``predict``: the susceptibility map of a stack with a trained model.

Spec: :class:`..core.specs.PredictSpec` (``model``: .keras with a model card,
``stack``, ``output`` GeoTIFF path; ``batch_size``, ``stride`` (1 = every
pixel), ``tile_size`` (0: 512 for dense, 256 for per-patch evaluation),
``method`` (``auto``: dense where the model allows it; ``patch``: always per
patch; ``dense``: fail when not possible)). Result:
:class:`..core.specs.PredictOutcome` (see :func:`..predict.predict_map`).
"""

from ...core.specs import PredictOutcome
from ..predict import predict_map


def run(spec, reporter):
    return PredictOutcome.from_json(predict_map(spec, reporter))
