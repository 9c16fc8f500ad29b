#!/usr/bin/env python3
"""ONNX Runtime against TensorFlow on the per-pixel part (a network's dense-path
tail), one batch at a time: a check of issue 14's "ONNX Runtime for inference",
not part of ``make bench``. The product does not install ONNX Runtime; run it from
a scratch venv that sees the engine's packages:

    python3 -m venv /tmp/ort && echo "$PWD/.venv/lib/python3.11/site-packages" \\
        > /tmp/ort/lib/python3.11/site-packages/engine.pth
    /tmp/ort/bin/pip install --no-deps onnxruntime tf2onnx onnx six requests urllib3 \\
        idna certifi charset_normalizer flatbuffers coloredlogs humanfriendly sympy mpmath
    /tmp/ort/bin/python bench/onnx_tails.py [--models ctlgnet,vit,frit] [--patch 72]

Prints one JSON line per model: pixels/s of the tail with plain TensorFlow, with
XLA and with ONNX Runtime (converted by tf2onnx, opset 17, 2 threads), the
conversion time, and ONNX Runtime's max |difference| from TensorFlow.
"""

import argparse
import json
import os
import runpy
import sys
import time

from tails import tail_and_tokens

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def register_erfc():
    """tf2onnx 1.17 has no converter for TensorFlow's Erfc (Keras's exact GELU):
    1 - Erf(x)."""
    import numpy as np
    from tf2onnx import handler, utils

    @handler.tf_op("Erfc")
    class Erfc:
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            erf = ctx.make_node("Erf", [node.input[0]])
            one = ctx.make_const(utils.make_name("one"), np.array(1, np.float32))
            node.type = "Sub"
            ctx.replace_inputs(node, [one.output[0], erf.output[0]])

    return Erfc


def pixels_per_s(run, batch, repeats=6):
    run()
    started = time.perf_counter()
    for _ in range(repeats):
        run()
    return round(repeats * batch / (time.perf_counter() - started), 1)


def check(name, patch, batch):
    import numpy as np
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    plan, x = tail_and_tokens(name, patch, batch)
    if plan is None:
        return x
    signature = [tf.TensorSpec((None,) + plan.token_shape, tf.float32, name="tokens")]
    plain = tf.function(lambda t: plan.tail(t, training=False), input_signature=signature)
    xla = tf.function(lambda t: plan.tail(t, training=False), input_signature=signature,
                      jit_compile=True)
    started = time.perf_counter()
    proto, _ = tf2onnx.convert.from_function(plain, input_signature=signature, opset=17)
    converted = time.perf_counter() - started
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count()
    session = onnxruntime.InferenceSession(proto.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    difference = float(np.abs(session.run(None, feed)[0] - plain(x).numpy()).max())
    row = {"model": name, "patch": patch, "batch": batch,
           "tensorflow_pixels_per_s": pixels_per_s(lambda: plain(x).numpy(), batch),
           "xla_pixels_per_s": pixels_per_s(lambda: xla(x).numpy(), batch),
           "onnxruntime_pixels_per_s": pixels_per_s(lambda: session.run(None, feed), batch),
           "conversion_s": round(converted, 1), "max_abs_difference": difference,
           "onnxruntime": onnxruntime.__version__}
    row["onnxruntime_over_xla"] = round(row["onnxruntime_pixels_per_s"]
                                        / row["xla_pixels_per_s"], 2)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="ctlgnet,vit,frit")
    parser.add_argument("--patch", type=int, default=72)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    register_erfc()
    for name in args.models.split(","):
        print(json.dumps(check(name, args.patch, args.batch)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
