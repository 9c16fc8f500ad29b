# Landslide Susceptibility: install, test, demo, deploy. Every target is idempotent
# and works on a fresh Debian 12 as root (or with sudo).
SHELL := /bin/bash
.DEFAULT_GOAL := help

APT_PACKAGES := qgis python3-qgis qgis-providers python3-gdal gdal-bin python3-venv xvfb xauth
SYSTEM_PYTHON := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
GPU ?= auto
TF_BUILD := $(VENV)/.tensorflow-build
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST := QT_QPA_PLATFORM=offscreen $(PY) -m pytest
QGIS_PROFILE := $(HOME)/.local/share/QGIS/QGIS3/profiles/default
PLUGIN_NAME := landslide_susceptibility

.PHONY: help install apt venv test test-all lint bench deploy demo cluster-demo package clean FORCE

help:
	@echo "make install   apt packages + .venv (TensorFlow engine, tests); skips what is there"
	@echo "               (GPU=1 / GPU=0: TensorFlow with CUDA or CPU only; default: CUDA"
	@echo "               when nvidia-smi finds a GPU)"
	@echo "make demo      install, then run the pipeline on the bundled sample area -> demo_output/"
	@echo "make cluster-demo  the demo's map on a local Dask cluster, compared (after make demo)"
	@echo "make test      install, then the quick test suite"
	@echo "make test-all  every test, slow ones included"
	@echo "make lint      ruff"
	@echo "make bench     benchmarks -> bench/results.json (BENCH=full for the long run)"
	@echo "make deploy    link the plugin into the default QGIS profile and enable it"
	@echo "make package   the plugin zip for the Plugin Manager -> dist/"

install: apt venv

apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		$(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Debian packages: present"; fi

venv: $(STAMP)

# The TensorFlow build (cpu or gpu); rewritten only when it changes, so that a
# change (GPU=1 on a CPU .venv) reinstalls.
$(TF_BUILD): FORCE
	@mkdir -p $(VENV); build=$$($(SYSTEM_PYTHON) tools/engine_env.py variant --gpu $(GPU)); \
		[ "$$(cat $@ 2>/dev/null)" = "$$build" ] || echo "$$build" > $@

$(STAMP): requirements/engine.txt requirements/dev.txt $(TF_BUILD)
	@[ -x $(PY) ] || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	@build=$$(cat $(TF_BUILD)); other=$$([ $$build = gpu ] && echo tensorflow-cpu || echo tensorflow); \
		if $(PY) -m pip show -q $$other 2>/dev/null; then \
		echo "TensorFlow: switching to the $$build build"; $(PY) -m pip uninstall -y -q $$other; fi
	$(SYSTEM_PYTHON) tools/engine_env.py requirements --gpu $$(cat $(TF_BUILD)) \
		requirements/dev.txt > $(VENV)/.requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check -r $(VENV)/.requirements.txt
	$(PY) -c "import tensorflow, sklearn, numpy, mapclassify; from osgeo import gdal; \
		import qgis.core; assert numpy.__version__ < '2', numpy.__version__; \
		print('engine ready: TensorFlow', tensorflow.__version__, '| numpy', numpy.__version__, \
		'| GDAL', gdal.__version__)"
	$(SYSTEM_PYTHON) tools/engine_env.py stamp $(VENV) --gpu $$(cat $(TF_BUILD)) --built-by make
	@touch $(STAMP)

test: install
	$(PYTEST) -m "not slow"

test-all: install
	$(PYTEST)

lint: install
	$(PY) -m ruff check .

bench: install
	QT_QPA_PLATFORM=offscreen $(PY) bench/run.py --mode $${BENCH:-quick} --output bench/results.json

demo: install
	QT_QPA_PLATFORM=offscreen $(SYSTEM_PYTHON) tools/demo.py --output demo_output

# The demo's map on a local Dask cluster (dask scheduler + 2 workers), compared with
# the map made on this computer (README: Running on a Dask cluster). After make demo.
cluster-demo: install
	QT_QPA_PLATFORM=offscreen $(SYSTEM_PYTHON) tools/cluster_demo.py --output demo_output

deploy: install
	@mkdir -p $(QGIS_PROFILE)/python/plugins
	@ln -sfn "$(CURDIR)" $(QGIS_PROFILE)/python/plugins/$(PLUGIN_NAME)
	@out=$$(QT_QPA_PLATFORM=offscreen qgis_process.bin plugins enable $(PLUGIN_NAME) 2>&1) \
		|| echo "$$out" | grep -q "already enabled" || { echo "$$out"; exit 1; }
	@echo "Linked $(CURDIR) -> $(QGIS_PROFILE)/python/plugins/$(PLUGIN_NAME) and enabled it;"
	@echo "restart QGIS and open Processing > Toolbox > Landslide susceptibility."

package:
	$(SYSTEM_PYTHON) tools/package.py --output dist

clean:
	rm -rf demo_output .build .pytest_cache .ruff_cache bench/results.json
