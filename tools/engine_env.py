#!/usr/bin/env python3
"""``make install``'s side of the engine set-up (core/engine_setup.py is the
plugin's): the TensorFlow build to install, the requirement list with it, and
the stamp that Check engine reads to tell an out-of-date engine::

    python3 tools/engine_env.py variant --gpu auto          # prints cpu or gpu
    python3 tools/engine_env.py requirements --gpu gpu requirements/dev.txt
    python3 tools/engine_env.py stamp .venv --gpu gpu --built-by make

``--gpu``: auto (the CUDA build when ``nvidia-smi`` finds a GPU), 1/gpu or 0/cpu.
``requirements`` follows ``-r`` includes and puts ``tensorflow[and-cuda]`` of the
same version in place of ``tensorflow-cpu`` for the GPU build.
"""

import argparse
import os
import runpy
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup_modules():
    runpy.run_path(os.path.join(REPO, "engine", "launcher.py"))["register_package"](REPO)
    from landslide_susceptibility.core import engine_requirements, engine_setup

    return engine_requirements, engine_setup


def expand(path):
    """The requirement lines of ``path``, ``-r`` includes replaced by their lines."""
    lines = []
    folder = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.split("#", 1)[0].strip()
            if line.startswith(("-r ", "--requirement ")):
                lines += expand(os.path.join(folder, line.split(None, 1)[1].strip()))
            elif line:
                lines.append(" ".join(line.split()))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    variant = commands.add_parser("variant", help="print the TensorFlow build: cpu or gpu")
    variant.add_argument("--gpu", default="auto")
    requirements = commands.add_parser("requirements", help="print the requirement lines")
    requirements.add_argument("--gpu", default="auto")
    requirements.add_argument("files", nargs="+")
    stamp = commands.add_parser("stamp", help="stamp an environment as built from "
                                              "requirements/engine.txt")
    stamp.add_argument("folder")
    stamp.add_argument("--gpu", default="auto")
    stamp.add_argument("--built-by", default="make")
    args = parser.parse_args(argv)

    engine_requirements, engine_setup = _setup_modules()
    chosen = engine_setup.choose_variant(args.gpu)
    if args.command == "variant":
        print(chosen)
    elif args.command == "requirements":
        lines = [line for path in args.files for line in expand(path)]
        print("\n".join(engine_requirements.with_variant(lines, chosen)))
    else:
        lines = engine_requirements.read_requirements()
        engine_requirements.write_stamp(args.folder, lines, chosen, args.built_by,
                                        python=engine_setup.venv_python(
                                            os.path.abspath(args.folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
