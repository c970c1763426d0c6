# TrapTagger Lab — the two commands a newcomer needs are `make demo` and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA ?=
WORKSPACE ?= demo-workspace
SURVEY ?= Demo survey
PORT ?= 8888
# Set DEMO_SERVE=0 to build the demo workspace without starting Jupyter.
DEMO_SERVE ?= 1
PYTEST_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: demo test lint bench services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# megadetector's ultralytics-yolov5 dependency only exists as an sdist that downloads a
# file while building: build it here once, without that download (see DEVELOPERS.md).
wheels/.built: tools/build-yolov5-wheel.sh | $(BIN)/python
	$(BIN)/python -m pip install --quiet wheel "setuptools<82"
	PYTHON=$(BIN)/python bash tools/build-yolov5-wheel.sh
	touch $@

$(VENV)/.dev-installed: pyproject.toml wheels/.built | $(BIN)/python
	$(BIN)/python -m pip install --quiet --find-links wheels -e ".[dev,detect]"
	$(BIN)/python -m pip check
	touch $@

# JupyterHub's proxy comes from npm (Node.js from Debian: tools/install-system-packages.sh).
PROXY := hub_config/proxy/node_modules/.bin/configurable-http-proxy
$(PROXY):
	bash tools/install-system-packages.sh
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix hub_config/proxy configurable-http-proxy@5; \
	else echo "npm is missing: JupyterHub cannot start (the hub tests will skip)"; fi

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[hub]"
	$(BIN)/python -m pip check
	touch $@

## demo: build a workspace from the sample survey (or DATA=/your/photos), process it, open it in Jupyter
demo: $(VENV)/.demo-installed
	$(BIN)/traptagger demo --workspace "$(WORKSPACE)" --survey "$(SURVEY)" $(if $(DATA),--data "$(DATA)",)
ifeq ($(DEMO_SERVE),1)
	@echo "Opening the workspace in JupyterLab on http://127.0.0.1:$(PORT) (Ctrl-C stops it)"
	TRAPTAGGER_WORKSPACE="$(abspath $(WORKSPACE))" \
	TRAPTAGGER_DEMO_SURVEY="$(SURVEY)" \
	TRAPTAGGER_DEMO_DATA="$(if $(DATA),$(abspath $(DATA)),$(abspath $(WORKSPACE))/sample-data)" \
	$(BIN)/jupyter lab --ip 127.0.0.1 --port $(PORT) --no-browser $(ROOT_FLAG) \
		--ServerApp.root_dir="$(CURDIR)" notebooks/getting_started.ipynb
endif

## test: install the dev extras and run the whole suite (starts local MariaDB/PostgreSQL if down)
test: $(VENV)/.dev-installed
	bash tools/start-services.sh
	bash tools/install-system-packages.sh
	$(MAKE) $(PROXY)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check traptagger_lab extension tests benchmarks
	$(BIN)/ruff format --check traptagger_lab extension tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/detect.py

services:
	bash tools/start-services.sh

clean:
	rm -rf $(VENV) wheels .pytest_cache .mypy_cache .ruff_cache test-artifacts *.egg-info
