"""The per-pixel part (a network's dense-path tail) and a batch of random tokens
for it: what ``tail_workers.py``, ``tail_precision.py`` and ``onnx_tails.py`` time."""

BANDS = 9  # the bench's stack: 72 x 72 x 9 like the paper's


def tail_and_tokens(name, patch, batch):
    """``(plan, tokens)``: network ``name``'s dense plan for ``patch`` x ``patch``
    x :data:`BANDS` and a float32 batch of ``batch`` random tokens for its tail;
    ``(None, row)`` with a note when the network has no per-pixel tail."""
    import numpy as np

    from landslide_susceptibility.engine.dense_plan import dense_plan
    from landslide_susceptibility.models import build_model

    plan, reason = dense_plan(build_model(name, (patch, patch, BANDS)))
    if plan is None or plan.tail is None:
        return None, {"model": name, "patch": patch, "note": reason or "no per-pixel tail"}
    tokens = np.random.default_rng(0).standard_normal((batch,) + plan.token_shape)
    return plan, tokens.astype(np.float32)
