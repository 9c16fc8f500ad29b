"""The engine's command line, also the headless (server) entry point.

Usage::

    .venv/bin/python engine/launcher.py list
    .venv/bin/python engine/launcher.py COMMAND [--params JSON_OR_FILE] [--human]
                                                [--scheduler ADDRESS]

``--params`` takes a JSON object or the path of a JSON file; it is read into
the command's spec (``core/specs``: names, types, ranges and choices checked
there) and the command receives the validated spec. Without
``--human`` the engine speaks the JSON-lines protocol of :mod:`.protocol` on
stdout; with it, plain text. Exit status: 0 success, 1 error, 2 bad usage,
130 cancelled. The first info line names TensorFlow's version and the device.
``--scheduler`` runs ``predict`` and ``compare`` on a Dask cluster (README:
"Running on a Dask cluster").
"""

import argparse
import json
import os
import sys
import traceback

from ..core.errors import CancelledError, LandslideError
from ..core.specs.cluster import SCHEDULER_ENV
from . import commands
from .protocol import Reporter, protocol_stream

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
CLUSTER_COMMANDS = ("predict", "compare")  # commands that run on a Dask cluster


def _parse_params(text):
    if text is None:
        return {}
    if os.path.isfile(text):
        with open(text, encoding="utf-8") as handle:
            text = handle.read()
    params = json.loads(text)
    if not isinstance(params, dict):
        raise ValueError("--params must be a JSON object")
    return params


def with_scheduler(params, flag, environ):
    """``params`` with the Dask scheduler of a cluster command: ``--scheduler``,
    else the params' own ``scheduler``, else ``$LANDSLIDE_DASK_SCHEDULER``."""
    if flag is not None:
        return dict(params, scheduler=flag)
    if "scheduler" not in params and environ.get(SCHEDULER_ENV):
        return dict(params, scheduler=environ[SCHEDULER_ENV])
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="landslide-engine",
        description="Landslide susceptibility engine (TensorFlow runs here).")
    parser.add_argument("command", help="one of: list, " + ", ".join(commands.COMMANDS))
    parser.add_argument("--params", help="JSON object, or path of a JSON file")
    parser.add_argument("--human", action="store_true", help="plain text instead of JSON lines")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help=f"{', '.join(CLUSTER_COMMANDS)}: run on the Dask scheduler at "
                             f"ADDRESS (default: the params' scheduler, else ${SCHEDULER_ENV}; "
                             "empty: this computer)")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name, (_, description) in commands.COMMANDS.items():
            print(f"{name:16s} {description}")
        return EXIT_OK

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    reporter = Reporter(protocol_stream(), human=args.human)
    reporter.install_signal_handlers()
    if args.command not in commands.COMMANDS:
        reporter.error(f"Unknown engine command '{args.command}'. "
                       f"Known: {', '.join(commands.COMMANDS)}.")
        return EXIT_USAGE
    try:
        params = _parse_params(args.params)
    except (ValueError, OSError) as exc:
        reporter.error(f"Could not read --params: {exc}")
        return EXIT_USAGE
    if args.scheduler is not None and args.command not in CLUSTER_COMMANDS:
        reporter.error(f"--scheduler is for {', '.join(CLUSTER_COMMANDS)}, not "
                       f"'{args.command}'.")
        return EXIT_USAGE
    if args.command in CLUSTER_COMMANDS:
        params = with_scheduler(params, args.scheduler, os.environ)

    try:
        from . import device

        described = device.describe()
        reporter.info(f"Engine: TensorFlow {described['tensorflow']} "
                      f"(Keras {described['keras']}) on {described['device']}")
        result = commands.run_command(args.command, params, reporter)
    except CancelledError as exc:
        reporter.error(str(exc))
        return EXIT_CANCELLED
    except LandslideError as exc:
        reporter.error(str(exc))
        return EXIT_ERROR
    except MemoryError:
        reporter.error("The engine ran out of memory. Use a smaller batch size or tile.")
        return EXIT_ERROR
    except Exception as exc:  # unexpected: full traceback to stderr, one line to the caller
        traceback.print_exc(file=sys.stderr)
        reporter.error(f"Engine failed in '{args.command}': {type(exc).__name__}: {exc}")
        return EXIT_ERROR
    # A command that stopped early on cancel but kept something (e.g. the best
    # model so far) returns normally with ``"cancelled": true`` in its result.
    reporter.result(result.to_json() if hasattr(result, "to_json") else (result or {}))
    return EXIT_OK
