"""``predict``: the susceptibility map of a stack with a trained model.

Params: ``model`` (.keras with a model card), ``stack`` (the factor stack),
``output`` (GeoTIFF path), and optionally ``batch_size`` (256), ``stride``
(1 = every pixel), ``tile_size`` (output tile side; default 512 for dense,
256 for per-patch evaluation), ``method`` (``auto``: dense where the model
allows it; ``patch``: always per patch; ``dense``: fail when not possible).
Result: output path, evaluation path, valid and evaluated pixel counts,
timings, pixels/s and the map's statistics (see :func:`..predict.predict_map`).
"""

from ...core.errors import InputError
from ..predict import predict_map


def run(params, reporter):
    for key in ("model", "stack", "output"):
        if not params.get(key):
            raise InputError(f"The predict command needs '{key}'.")
    try:
        stride = float(params.get("stride", 1))
        batch_size = int(params.get("batch_size", 256))
    except (TypeError, ValueError) as exc:
        raise InputError(f"STRIDE and BATCH_SIZE must be whole numbers: {exc}") from exc
    return predict_map(params["model"], params["stack"], params["output"], reporter,
                       batch_size=batch_size, stride=stride,
                       tile_size=params.get("tile_size"), method=params.get("method", "auto"))
