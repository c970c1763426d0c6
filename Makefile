# TrapTagger Lab — the two commands a newcomer needs are `make demo` and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA ?=
WORKSPACE ?= demo-hub
PORT ?= 8000
# Set DEMO_SERVE=0 to build the demo organisation without starting JupyterHub.
DEMO_SERVE ?= 1
PYTEST_ARGS ?=

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
	$(BIN)/python -m pip install --quiet -e ".[hub,mysql]"
	$(BIN)/python -m pip check
	touch $@

## demo: a demo organisation with the sample survey (or DATA=/your/photos), processed, on JupyterHub
demo: $(VENV)/.demo-installed
	-bash tools/start-services.sh
	$(MAKE) $(PROXY)
	$(BIN)/traptagger-hub demo --state "$(WORKSPACE)" --port $(PORT) \
		$(if $(DATA),--data "$(abspath $(DATA))",) $(if $(filter 0,$(DEMO_SERVE)),--no-serve,)

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
