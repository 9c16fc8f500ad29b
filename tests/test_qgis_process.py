"""Algorithms run through ``qgis_process.bin`` in a subprocess, as users, scripts and
the graphical modeler's exported commands run them."""

import os
import subprocess


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
