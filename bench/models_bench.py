#!/usr/bin/env python3
"""Model zoo benchmark: parameters, FLOPs per patch and CPU inference speed.

Runs the engine's ``model_report`` command in-process (the same code path as
``engine/launcher.py model_report``) and prints its result as JSON on stdout;
progress and log lines go to stderr.

    .venv/bin/python bench/models_bench.py                     # 72x72x9, batch 256, all
    .venv/bin/python bench/models_bench.py --models cnn ctlgnet --repeats 1
    .venv/bin/python bench/models_bench.py --markdown          # the README table only
"""

import argparse
import json
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="model names (default: all)")
    parser.add_argument("--input-shape", nargs=3, type=int, default=[72, 72, 9],
                        metavar=("H", "W", "C"))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true", help="skip the speed test")
    parser.add_argument("--markdown", action="store_true", help="print only the Markdown table")
    parser.add_argument("--output", help="also write the JSON result to this file")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    from landslide_susceptibility.engine import commands
    from landslide_susceptibility.engine.protocol import Reporter

    params = {"input_shape": args.input_shape, "batch_size": args.batch_size,
              "repeats": args.repeats, "speed": not args.no_speed}
    if args.models:
        params["models"] = args.models
    result = commands.run_command("model_report", params, Reporter(sys.stderr, human=True))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    print(result["table"] if args.markdown else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
