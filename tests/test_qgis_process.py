"""Algorithms run through ``qgis_process.bin`` in a subprocess, as users, scripts and
the graphical modeler's exported commands run them."""

import json
import os
import signal
import subprocess
import time

import pytest

from landslide_susceptibility.core.model_card import read_card

ENGINE_TEMP_PREFIXES = ("landslide_engine_", "landslide_train_")
VENV_PYTHON = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           ".venv", "bin", "python")


def test_list_shows_the_provider(qgis_process):
    done = subprocess.run(["qgis_process.bin", "list"], env=qgis_process.env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Landslide susceptibility" in done.stdout
    assert "landslide:createsamplearea" in done.stdout
    assert "landslide:checkengine" in done.stdout


def test_check_engine_through_qgis_process(qgis_process):
    payload = qgis_process("landslide:checkengine", {})
    assert payload["results"]["TENSORFLOW"].startswith("2.")


def test_create_sample_area_through_qgis_process(qgis_process, tmp_path):
    folder = tmp_path / "area"
    payload = qgis_process("landslide:createsamplearea",
                           {"OUTPUT_FOLDER": folder, "SEED": 3, "SIZE": 96})
    results = payload["results"]
    files = results["FILES"]
    assert files and all(os.path.exists(path) for path in files)
    assert {os.path.basename(path) for path in files} >= {
        "dem.tif", "landslides.gpkg", "true_probability.tif", "lithology.gpkg"}
    assert results["LANDSLIDE_COUNT"] > 0


def test_bad_parameter_fails_with_a_clear_message(qgis_process, tmp_path):
    done = qgis_process("landslide:createsamplearea",
                        {"OUTPUT_FOLDER": tmp_path / "x", "SIZE": 10}, check=False)
    assert done.returncode != 0
    assert "SIZE" in done.stdout + done.stderr


def _start(qgis_process, algorithm_id, params, tmpdir, out, err):
    """``qgis_process.bin --json run`` in the background with TMPDIR=``tmpdir``;
    stdout to ``out``, stderr to ``err`` (open files)."""
    args = ["qgis_process.bin", "--json", "run", algorithm_id, "--"]
    args += [f"{key}={value}" for key, value in params.items()]
    return subprocess.Popen(args, env=dict(qgis_process.env, TMPDIR=str(tmpdir)),
                            stdout=out, stderr=err, stdin=subprocess.DEVNULL)


def _wait_for(path, process, timeout):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"qgis_process.bin ended ({process.returncode})"
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.2)


def _processes_mentioning(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if text.encode() in handle.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def _interrupted_training(qgis_process, stack, samples, folder, sig):
    """Start a 300-epoch training, send ``sig`` once the first epoch is done (its
    checkpoint ``.model.keras.best.keras`` appears); ``(exit status, stdout, stderr,
    seconds from the signal to the end)``."""
    params = {"STACK": stack, "SAMPLES": samples, "MODEL": 0, "EPOCHS": 300,
              "OUTPUT_MODEL": folder / "model.keras", "OUTPUT_METRICS": folder / "metrics.csv",
              "OUTPUT_REPORT": folder / "report.html"}
    with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:
        process = _start(qgis_process, "landslide:trainmodel", params, folder / "tmp", out, err)
        try:
            _wait_for(folder / ".model.keras.best.keras", process, timeout=300)
            process.send_signal(sig)
            signalled = time.monotonic()
            process.wait(timeout=120)
            elapsed = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return (process.returncode, (folder / "stdout.txt").read_text(),
            (folder / "stderr.txt").read_text(), elapsed)


@pytest.mark.parametrize("sig", [signal.SIGINT,
                                 pytest.param(signal.SIGTERM, marks=pytest.mark.slow)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_to_qgis_process_cancels_training_and_keeps_the_best_model(
        qgis_process, small_stack, small_samples, tmp_path, sig):
    """Ctrl-C (SIGINT) or kill (SIGTERM) on a headless run reaches the engine as a
    cancel: it stops within seconds, the best model so far is written and loads,
    and the temporary folders are removed. (SIGINT was ignored with --json, SIGTERM
    killed qgis_process.bin and left the engine's folders behind.)"""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    status, out, err, elapsed = _interrupted_training(qgis_process, small_stack,
                                                      small_samples, tmp_path, sig)
    print(f"{sig.name}: qgis_process.bin ended {elapsed:.1f} s after the signal")
    assert status == 0, err[-3000:]
    assert elapsed < 30, f"{elapsed:.1f} s after {sig.name}"
    payload = json.loads(out[out.find("{"):])
    assert payload["results"]["CANCELLED"] is True
    assert any(line.startswith(f"{sig.name} received") for line in payload["log"]["info"])
    card = read_card(payload["results"]["OUTPUT_MODEL"])
    assert card["factors"], card
    left = [p.name for p in tmpdir.iterdir() if p.name.startswith(ENGINE_TEMP_PREFIXES)]
    assert not left, f"temporary folders left in TMPDIR: {left}"
    assert not _processes_mentioning(str(tmpdir)), "the engine outlived qgis_process.bin"


FAKE_ENGINE = """#!/bin/sh
# An engine that warns and fails; '-c' is the plugin's interpreter probe.
if [ "$1" = "-c" ]; then exec "{python}" "$@"; fi
echo "TensorFlow noise on stderr" >&2
echo '{{"type": "warning", "message": "fake engine warning 1234"}}'
echo '{{"type": "error", "message": "fake engine error 5678: the input is wrong"}}'
exit 1
"""


def test_engine_warning_and_error_are_printed_once(qgis_process, tmp_path):
    """The engine's warning is printed once, as a warning (it was printed twice, as an
    ERROR); its error has one ERROR line (the bare copies on stderr are qgis_process's
    own message log, the same for QGIS's native algorithms)."""
    fake = tmp_path / "fake_engine"
    fake.write_text(FAKE_ENGINE.format(python=VENV_PYTHON))
    fake.chmod(0o755)
    env = dict(qgis_process.env, LANDSLIDE_ENGINE_PYTHON=str(fake))
    done = subprocess.run(["qgis_process.bin", "run", "landslide:checkengine", "--"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert output.count("fake engine warning 1234") == 1, output
    assert "WARNING:\tfake engine warning 1234" in done.stdout
    assert output.count("ERROR:\tfake engine error 5678: the input is wrong") == 1, output
    assert "ERROR:\tfake engine warning" not in output
