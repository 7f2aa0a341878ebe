# driftloop developer entry points. `make demo` and `make test` bootstrap everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
REGION      := us-east-1
# The interpreter the venv is built from: the template's runtime is python3.13.
# pyenv shims answer `command -v` even when the version is not active, so each candidate is run.
PYTHON313   ?= $(shell for p in $$HOME/.pyenv/versions/3.13*/bin/python3.13 $$(command -v python3.13); do \
                 "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$p"; break; }; \
               done)
export SAM_CLI_TELEMETRY := 0
export PATH := $(abspath $(BIN)):$(PATH)
export AWS_DEFAULT_REGION ?= $(REGION)

FUNCTION ?= ProbeFunction
EVENT    ?= events/probe/eventbridge-probe-requested.json
ENV      ?= dev


.PHONY: sync-queries help venv lint typecheck validate build unit integration e2e test demo local invoke lock clean bench dashboard

help:
	@echo "make demo       run the whole loop on the local stack and show the result"
	@echo "make test       lint, type-check, sam validate --lint, sam build, unit + integration + e2e tests"
	@echo "make local      start the local stack in the foreground (port DRIFTLOOP_PORT, default 4566)"
	@echo "make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json   docker-free sam local invoke"
	@echo "make dashboard  render the KPI named queries of a running local stack to .driftloop/dashboard.html"
	@echo "make bench      run the benchmarks"

$(STAMP): requirements/dev.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (install it, e.g. pyenv install 3.13)"; exit 1; }
	test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers/core/driftloop local/driftloop_local functions

validate: $(STAMP)
	$(BIN)/sam validate --lint --region $(REGION)
	$(BIN)/cfn-lint template.yaml
	$(PY) -m driftloop_local check-asl
	$(PY) -m driftloop_local sync-queries --check

build: $(STAMP)
	$(BIN)/sam build --region $(REGION)
	$(PY) -m driftloop_local check-build

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q -n 2

integration: $(STAMP)
	$(PY) -m pytest tests/integration -q

e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -q

test: lint typecheck validate build unit integration e2e

demo: $(STAMP)
	$(PY) -m driftloop_local demo --env $(ENV)

local: $(STAMP)
	$(PY) -m driftloop_local up --env $(ENV)

invoke: $(STAMP)
	$(PY) -m driftloop_local invoke $(FUNCTION) --event $(EVENT) --env $(ENV)

bench: $(STAMP)
	@for script in benchmarks/*_bench.py; do echo "== $$script"; $(PY) $$script || exit 1; done

dashboard: $(STAMP)
	$(PY) -m driftloop_local dashboard

sync-queries: $(STAMP)
	$(PY) -m driftloop_local sync-queries

lock: $(STAMP)
	{ head -n 2 requirements/dev.txt; $(PY) -m pip freeze --exclude-editable; } > requirements/dev.txt.new
	mv requirements/dev.txt.new requirements/dev.txt

clean:
	rm -rf .aws-sam .driftloop .pytest_cache .mypy_cache .ruff_cache
