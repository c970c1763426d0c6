# TrapTagger Lab — the two commands a newcomer needs are `make demo` and `make test`.
#
# Each install profile lives in its own virtual environment, so that one profile's packages
# can never hide another's missing dependency:
#   .venv       the demo's: the whole product (hub, mysql, detect)          make demo
#   .venv-dev   the test-suite's: everything plus the dev tools            make test
#   .venv-base  the base install alone (`pip install .`)                    make check-base

# A system Python first: the servers of organisations' system accounts must be able to run it
# (a pyenv Python under /root is closed to them).
PYTHON ?= $(shell command -v /usr/bin/python3.11 || command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEV := .venv-dev
BASE := .venv-base
DATA ?=
WORKSPACE ?= demo-hub
PORT ?= 8000
# Set DEMO_SERVE=0 to build the demo organisation without starting JupyterHub.
DEMO_SERVE ?= 1
PYTEST_ARGS ?=
NOTEBOOK_ARGS ?=

.PHONY: demo test check-base demo-notebooks lint bench services clean

%/bin/python:
	$(PYTHON) -m venv $*
	$*/bin/python -m pip install --quiet --upgrade pip

# megadetector's ultralytics-yolov5 dependency only exists as an sdist that downloads a
# file while building: build it here once, without that download (see DEVELOPERS.md).
wheels/.built: tools/build-yolov5-wheel.sh | .venv-build/bin/python
	.venv-build/bin/python -m pip install --quiet wheel "setuptools<82"
	PYTHON=.venv-build/bin/python bash tools/build-yolov5-wheel.sh
	touch $@

$(DEV)/.installed: pyproject.toml wheels/.built | $(DEV)/bin/python
	$(DEV)/bin/python -m pip install --quiet --find-links wheels -e ".[dev,detect]"
	$(DEV)/bin/python -m pip check
	touch $@

$(VENV)/.demo-installed: pyproject.toml wheels/.built | $(BIN)/python
	$(BIN)/python -m pip install --quiet --find-links wheels -e ".[hub,mysql,detect]"
	$(BIN)/python -m pip check
	touch $@

$(BASE)/.installed: pyproject.toml | $(BASE)/bin/python
	$(BASE)/bin/python -m pip install --quiet .
	$(BASE)/bin/python -m pip check
	touch $@

# JupyterHub's proxy comes from npm (Node.js from Debian: tools/install-system-packages.sh).
PROXY := hub_config/proxy/node_modules/.bin/configurable-http-proxy
$(PROXY):
	bash tools/install-system-packages.sh
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix hub_config/proxy configurable-http-proxy@5; \
	else echo "npm is missing: JupyterHub cannot start (the hub tests will skip)"; fi

## demo: a demo organisation with the sample survey (or DATA=/your/photos), processed, on JupyterHub
demo: $(VENV)/.demo-installed
	-bash tools/start-services.sh
	$(MAKE) $(PROXY)
	$(BIN)/traptagger-hub demo --state "$(WORKSPACE)" --port $(PORT) \
		$(if $(DATA),--data "$(abspath $(DATA))",) $(if $(filter 0,$(DEMO_SERVE)),--no-serve,)

## test: install the dev extras and run the whole suite (starts local MariaDB/PostgreSQL if down)
test: $(DEV)/.installed
	bash tools/start-services.sh
	bash tools/install-system-packages.sh
	$(MAKE) $(PROXY)
	$(DEV)/bin/python -m pytest $(PYTEST_ARGS)

## check-base: the base install on its own: import what it covers, CLI ingest -> results -> export
check-base: $(BASE)/.installed
	cd "$$(mktemp -d)" && "$(CURDIR)/$(BASE)/bin/python" "$(CURDIR)/tools/check_profile.py" \
		--project "$(CURDIR)/pyproject.toml"

## demo-notebooks: run the user notebooks as the demo's member, in the demo's own environment
demo-notebooks: $(VENV)/.demo-installed
	$(BIN)/python tools/run_demo_notebooks.py --state "$(WORKSPACE)" $(NOTEBOOK_ARGS)

lint: $(DEV)/.installed
	$(DEV)/bin/ruff check traptagger_lab extension tests benchmarks tools
	$(DEV)/bin/ruff format --check traptagger_lab extension tests benchmarks tools
	$(DEV)/bin/mypy

bench: $(DEV)/.installed
	$(DEV)/bin/python benchmarks/ingest.py
	$(DEV)/bin/python benchmarks/detect.py

services:
	bash tools/start-services.sh

clean:
	rm -rf $(VENV) $(DEV) $(BASE) .venv-build wheels .pytest_cache .mypy_cache .ruff_cache \
		test-artifacts *.egg-info
