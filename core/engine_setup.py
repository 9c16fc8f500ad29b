"""Set up the engine's Python environment without a terminal (Set up engine).

1. Find a Python that sees GDAL's bindings and can make virtual environments
   (:mod:`.base_python`).
2. Create a virtual environment with ``--system-site-packages`` (so GDAL's
   bindings stay visible) in a temporary sibling of the target folder,
   pip-install the pinned requirements one package at a time (progress per
   package, from pip's output), check the modules, write the stamp
   (:mod:`.engine_requirements`) and only then rename the folder into place.
   A cancel kills pip and removes the temporary folder: a half-made
   environment is never where the engine is looked for.

Subprocess and the standard library only (no QGIS, no Qt, no threads).
"""

import glob
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

from .base_python import EngineSetupError, find_base_python, probe_base_python
from .engine_requirements import (
    REQUIREMENTS,
    read_requirements,
    read_stamp,
    required_modules,
    requirements_hash,
    with_variant,
    write_stamp,
)
from .pip_runner import PipOutput, clean_environment, run_logged

PROFILE_SUBFOLDER = ("landslide_susceptibility", "engine-venv")
GPU_CHOICES = (("auto", "Automatic: the CUDA build when nvidia-smi finds a GPU"),
               ("cpu", "CPU only (tensorflow-cpu)"),
               ("gpu", "NVIDIA GPU (tensorflow[and-cuda])"))
MODULE_PROBE = ("import importlib.util as u, sys; "
                "m = [n for n in sys.argv[1:] if u.find_spec(n) is None]; "
                "print(','.join(m)); sys.exit(1 if m else 0)")


@dataclass
class SetupResult:
    python: str  # the engine's interpreter
    status: str  # 'built' or 'up to date'
    variant: str  # 'cpu' or 'gpu'
    base_python: str | None  # the Python the environment was made with (None: kept)


def venv_python(folder, windows=None):
    """The interpreter of the virtual environment in ``folder``."""
    windows = os.name == "nt" if windows is None else windows
    if windows:
        return os.path.join(folder, "Scripts", "python.exe")
    return os.path.join(folder, "bin", "python")


def profile_engine_folder(settings_dir):
    """Where Set up engine puts the engine: in the QGIS profile folder, which a
    plugin upgrade (that replaces the plugin folder) keeps."""
    return os.path.join(settings_dir, *PROFILE_SUBFOLDER)


# -- the TensorFlow build ------------------------------------------------------
def gpu_present():
    """True when ``nvidia-smi -L`` lists a GPU."""
    program = shutil.which("nvidia-smi")
    if not program:
        return False
    try:
        done = subprocess.run([program, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and "GPU" in done.stdout


def choose_variant(gpu="auto"):
    """'gpu' or 'cpu' for the GPU choice 'auto', 'cpu' or 'gpu' (also 1/0)."""
    choice = {"1": "gpu", "0": "cpu"}.get(str(gpu).strip().lower(), str(gpu).strip().lower())
    if choice not in ("auto", "cpu", "gpu"):
        raise EngineSetupError(f"Unknown GPU choice '{gpu}': use auto, cpu or gpu (1 or 0).")
    if choice == "auto":
        return "gpu" if gpu_present() else "cpu"
    return choice


# -- commands -------------------------------------------------------------------
def venv_command(base_python, folder):
    return [base_python, "-m", "venv", "--system-site-packages", folder]


def pip_command(python, requirement, constraints):
    return [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
            "--progress-bar", "off", "-c", constraints, requirement]


def module_probe(python, modules, timeout=60):
    """Run ``python`` to find ``modules`` without importing them: exit status 1
    and the missing ones, comma-separated, on stdout when some are missing."""
    return subprocess.run([python, "-c", MODULE_PROBE, *modules], env=clean_environment(),
                          capture_output=True, text=True, timeout=timeout)


def manual_commands(base_python, folder, lines, variant, windows=None):
    """The terminal commands that do what Set up engine does."""
    windows = os.name == "nt" if windows is None else windows
    join = subprocess.list2cmdline if windows else shlex.join
    python = venv_python(folder, windows)
    base = base_python or ("python" if windows else "python3")
    return (f"  {join(venv_command(base, folder))}\n"
            f"  {join([python, '-m', 'pip', 'install', *with_variant(lines, variant)])}\n"
            f"then set 'Engine Python interpreter' (Settings › Options › Processing › "
            f"Providers › Landslide susceptibility) to {python}")




# -- building -------------------------------------------------------------------
def setup_engine(folder, gpu="auto", base_python=None, rebuild=False, requirements=REQUIREMENTS,
                 candidates=None, built_by="setupengine", progress=None, is_cancelled=None,
                 log=None):
    """Make, or keep, the engine's environment in ``folder``: a :class:`SetupResult`.

    Nothing is done when ``folder`` holds a complete environment built from the
    same requirements and TensorFlow build whose modules are all there (unless
    ``rebuild``). ``base_python``: the interpreter to make it with (default:
    the first usable of ``candidates``, or of :func:`base_python_candidates`).
    """
    progress = progress or (lambda _value: None)
    is_cancelled = is_cancelled or (lambda: False)
    log = log or (lambda _text: None)
    folder = os.path.abspath(folder)
    lines = read_requirements(requirements)
    variant = choose_variant(gpu)
    log(f"TensorFlow build: {'CUDA (GPU)' if variant == 'gpu' else 'CPU'}")
    reason = "Rebuilding on request." if rebuild else rebuild_reason(folder, lines, variant)
    if reason is None:
        log(f"The engine in {folder} is complete and up to date: nothing to do.")
        progress(100.0)
        return SetupResult(venv_python(folder), "up to date", variant, None)
    log(reason)
    check_replaceable(folder)
    if base_python:
        problem = probe_base_python(base_python)
        if problem:
            raise EngineSetupError(f"The Base Python {base_python} cannot build the engine: "
                                   f"{problem}.")
    else:
        base_python = find_base_python(candidates)
    log(f"Base Python: {base_python}")
    python = build_engine(folder, base_python, lines, variant, progress, is_cancelled, log,
                          built_by)
    return SetupResult(python, "built", variant, base_python)


def rebuild_reason(folder, lines, variant):
    """None when ``folder`` holds a complete, current engine, else why it is (re)built."""
    stamp = read_stamp(folder)
    if stamp is None:
        if os.path.exists(folder):
            return f"{folder} holds no complete engine (no stamp): building it anew."
        return f"Building the engine in {folder}."
    if stamp.get("requirements_sha256") != requirements_hash(lines):
        return f"The engine in {folder} was built for other requirements: updating it."
    if stamp.get("variant") != variant:
        return (f"The engine in {folder} has the {stamp.get('variant')} build of TensorFlow: "
                f"building the {variant} one.")
    try:
        done = module_probe(venv_python(folder), required_modules(lines))
    except (OSError, subprocess.SubprocessError) as exc:
        return f"The engine in {folder} does not start ({exc}): rebuilding it."
    if done.returncode != 0:
        missing = done.stdout.strip() or done.stderr.strip()[-200:]
        return f"The engine in {folder} lacks {missing}: rebuilding it."
    return None


def check_replaceable(folder):
    """Refuse a ``folder`` that holds something other than a Python environment."""
    if not os.path.lexists(folder):
        return
    if not os.path.isdir(folder):
        raise EngineSetupError(f"The engine folder '{folder}' is a file: choose a new or "
                               "empty folder.")
    if os.listdir(folder) and not os.path.exists(os.path.join(folder, "pyvenv.cfg")):
        raise EngineSetupError(f"The engine folder '{folder}' is not empty and holds no Python "
                               "environment: choose a new or empty folder (nothing there "
                               "was changed).")


def build_engine(folder, base_python, lines, variant, progress, is_cancelled, log, built_by):
    """Build the environment in a temporary sibling of ``folder`` and rename it
    into place once complete and stamped; on error or cancel the sibling is
    removed and ``folder`` is as before. Returns the engine's interpreter."""
    parent, name = os.path.split(folder)
    os.makedirs(parent, exist_ok=True)
    _remove_leftovers(parent, name)
    log_path = os.path.join(parent, f"{name}-setup.log")
    with open(log_path, "w", encoding="utf-8") as handle:
        handle.write(f"Set up engine {time.strftime('%Y-%m-%d %H:%M:%S')} -> {folder}\n")
    work = tempfile.mkdtemp(prefix=f".{name}.partial-", dir=parent)
    try:
        _build_into(work, folder, base_python, lines, variant, progress, is_cancelled, log,
                    log_path)
        write_stamp(work, lines, variant, built_by, python=venv_python(folder))
        _replace(folder, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # already gone when it was renamed
    progress(100.0)
    log(f"The engine is ready: {venv_python(folder)} (log: {log_path})")
    return venv_python(folder)


def _build_into(work, folder, base_python, lines, variant, progress, is_cancelled, log,
                log_path):
    requirements = with_variant(lines, variant)
    steps = len(requirements) + 2
    env = clean_environment()

    def advance(done, fraction=0.0):
        progress(min(100.0, 100.0 * (done + fraction) / steps))

    def fail(text):
        by_hand = manual_commands(base_python, folder, lines, variant)
        return EngineSetupError(f"{text}\nTo do it by hand, in a terminal:\n{by_hand}\n"
                                f"Full log: {log_path}")

    log(f"Creating a virtual environment that sees the system's packages (GDAL's "
        f"bindings) with {base_python}")
    output = PipOutput()
    status = run_logged(venv_command(base_python, work), log_path, output.feed, is_cancelled,
                        env)
    if status:
        raise fail(f"Creating the virtual environment failed (exit status {status}): "
                   f"{' '.join(output.tail[-2:])}")
    advance(1)
    python = venv_python(work)
    constraints = os.path.join(work, "engine-requirements.txt")
    with open(constraints, "w", encoding="utf-8") as handle:
        handle.write("\n".join(requirements) + "\n")
    for index, requirement in enumerate(requirements):
        log(f"[{index + 1}/{len(requirements)}] Installing {requirement}")
        output = PipOutput()
        status = run_logged(pip_command(python, requirement, constraints), log_path,
                            _shower(output, log, lambda f, i=index: advance(1 + i, f)),
                            is_cancelled, env)
        if status:
            raise fail(output.failure(requirement, status))
        advance(2 + index)
    done = module_probe(python, required_modules(lines))
    if done.returncode != 0:
        raise fail(f"After the installation the engine still lacks "
                   f"{done.stdout.strip() or done.stderr.strip()[-300:]}.")
    advance(steps - 0.5)


def _shower(output, log, advance):
    """An ``on_line`` for :func:`run_logged`: feed pip's line, show what matters,
    advance the progress within the step."""
    def on_line(line):
        shown = output.feed(line)
        if shown:
            log("    " + shown)
        advance(output.fraction)
    return on_line


def _replace(folder, work):
    """Rename ``work`` to ``folder``; a previous ``folder`` is removed after."""
    old = None
    if os.path.lexists(folder):
        old = f"{folder}.old-{os.getpid()}-{int(time.time())}"
        try:
            os.rename(folder, old)
        except OSError as exc:
            raise EngineSetupError(f"Cannot replace the engine in {folder} ({exc.strerror}): is "
                                   "it in use? Let running steps finish, then run Set up engine "
                                   "again.") from exc
    try:
        os.rename(work, folder)
    except OSError as exc:
        if old:
            os.rename(old, folder)
        raise EngineSetupError(f"Cannot move the new engine to {folder}: {exc.strerror}.") \
            from exc
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(parent, name, max_age_s=6 * 3600):
    """Remove half-made or replaced environments of runs that crashed (not ones
    younger than ``max_age_s``, which may belong to a run in progress)."""
    patterns = (os.path.join(parent, f".{name}.partial-*"), os.path.join(parent, f"{name}.old-*"))
    for pattern in patterns:
        for path in glob.glob(pattern):
            try:
                if time.time() - os.path.getmtime(path) > max_age_s:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass
