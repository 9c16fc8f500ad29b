# Landslide Susceptibility: install, test, demo, deploy. Every target is idempotent
# and works on a fresh Debian 12 as root (or with sudo).
SHELL := /bin/bash
.DEFAULT_GOAL := help

APT_PACKAGES := qgis python3-qgis qgis-providers python3-gdal gdal-bin python3-venv xvfb xauth
SYSTEM_PYTHON := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST := QT_QPA_PLATFORM=offscreen $(PY) -m pytest
QGIS_PROFILE := $(HOME)/.local/share/QGIS/QGIS3/profiles/default
PLUGIN_NAME := landslide_susceptibility

.PHONY: help install apt venv test test-all lint bench deploy demo clean

help:
	@echo "make install   apt packages + .venv (TensorFlow engine, tests); skips what is there"
	@echo "make demo      install, then run the pipeline on the bundled sample area -> demo_output/"
	@echo "make test      install, then the quick test suite"
	@echo "make test-all  every test, slow ones included"
	@echo "make lint      ruff"
	@echo "make bench     benchmarks -> bench/results.json (BENCH=full for the long run)"
	@echo "make deploy    link the plugin into the default QGIS profile and enable it"

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

$(STAMP): requirements/engine.txt requirements/dev.txt
	@[ -x $(PY) ] || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(PY) -c "import tensorflow, sklearn, numpy, mapclassify; from osgeo import gdal; \
		import qgis.core; assert numpy.__version__ < '2', numpy.__version__; \
		print('engine ready: TensorFlow', tensorflow.__version__, '| numpy', numpy.__version__, \
		'| GDAL', gdal.__version__)"
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

deploy: install
	@mkdir -p $(QGIS_PROFILE)/python/plugins
	@ln -sfn "$(CURDIR)" $(QGIS_PROFILE)/python/plugins/$(PLUGIN_NAME)
	@out=$$(QT_QPA_PLATFORM=offscreen qgis_process.bin plugins enable $(PLUGIN_NAME) 2>&1) \
		|| echo "$$out" | grep -q "already enabled" || { echo "$$out"; exit 1; }
	@echo "Linked $(CURDIR) -> $(QGIS_PROFILE)/python/plugins/$(PLUGIN_NAME) and enabled it;"
	@echo "restart QGIS and open Processing > Toolbox > Landslide susceptibility."

clean:
	rm -rf demo_output .build .pytest_cache .ruff_cache bench/results.json
