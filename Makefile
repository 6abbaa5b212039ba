# mintong — `make help` lists the targets. `make up` and `make test` install what
# they need into .venv on a fresh clone.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto' | sort)
CATALOGUE_SCHEMA := protos/mintong/booking/v1/catalogue.schema.json

.PHONY: help install up observe prometheus test lint format gen gen-check boundaries pytest lock openapi bench clean chromium trace

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	@# The repository and the generated protobuf code are importable from the venv.
	printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/gen" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mintong.pth"
	touch $@

install: $(STAMP) ## create .venv with the pinned dependencies

up: $(STAMP) ## run the whole platform on this machine (Ctrl-C stops it)
	$(PY) deploy/local/up.py

observe: $(STAMP) prometheus ## Prometheus scraping what `make up` runs, with the SLO rules (Ctrl-C stops it)
	$(PY) deploy/prometheus/observe.py

prometheus: ## install Debian's prometheus (and promtool) where missing
	deploy/prometheus/install-prometheus.sh

test: $(STAMP) lint gen-check boundaries chromium-if-possible prometheus-if-possible pytest ## lint, proto freshness, boundaries and every test

# ID is the X-Request-Id or X-Trace-Id of an answer (errors carry both); without it,
# the last 20 requests. MINTONG_DATA_DIR, as for make up, says where the traces are.
ID ?=
trace: $(STAMP) ## print one request's trace from the data dir's trace files: make trace ID=<request or trace id>
	@$(PY) -m services.runtime.traceview $(if $(ID),'$(ID)',--recent 20)

chromium: ## install Debian's Chromium for the browser tests (tests/browser) where it is missing
	tests/browser/install-chromium.sh

# Likewise promtool: the rule tests (tests/unit/test_prometheus_rules.py) fail under
# CI=true without it, naming `make prometheus`, and are skipped elsewhere.
.PHONY: prometheus-if-possible
prometheus-if-possible:
	-@deploy/prometheus/install-prometheus.sh

# Under make test a Chromium that cannot be installed is not the end: the browser tests
# then fail under CI=true (naming `make chromium`) and are skipped elsewhere.
.PHONY: chromium-if-possible
chromium-if-possible:
	-@tests/browser/install-chromium.sh

lint: $(STAMP) ## ruff, mypy and buf lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd protos && ../$(VENV)/bin/buf lint

format: $(STAMP) ## format the Python code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

gen: $(STAMP) ## regenerate gen/ from protos/ (the output is committed)
	rm -rf gen && mkdir gen
	$(PY) -m grpc_tools.protoc -I protos --python_out=gen --pyi_out=gen --grpc_python_out=gen $(PROTOS)

gen-check: $(STAMP) ## fail when gen/ is not what protos/ generate
	@tmp=$$(mktemp -d) && \
	$(PY) -m grpc_tools.protoc -I protos --python_out=$$tmp --pyi_out=$$tmp --grpc_python_out=$$tmp $(PROTOS) && \
	if diff -r -x __pycache__ $$tmp gen > /dev/null; then echo "gen/ is fresh"; rm -rf $$tmp; \
	else diff -r -x __pycache__ $$tmp gen | head -20; rm -rf $$tmp; echo "gen/ is stale: run 'make gen' and commit"; exit 1; fi

boundaries: $(STAMP) ## import-linter contracts between services, layers and the runtime
	$(VENV)/bin/lint-imports

# Several workers (pytest-xdist): the tests use free ports, their own tmp dirs and
# PostgreSQL schema prefixes, so they run side by side. They are handed out one at a
# time, the longest first, and the tests sharing a launched platform to one worker
# (pyproject's addopts and tests/conftest.py's LONGEST; decision 90).
# One worker more than the cores (decision 135): a worker spends much of its time
# waiting on PostgreSQL's DDL, launched processes and servers starting, and the third
# runs while the others wait. PYTEST_WORKERS sets the number.
# PYTEST_ARGS adds options, e.g. PYTEST_ARGS="-n 0 -k booking" for one process.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST_ARGS ?=
pytest: $(STAMP) ## unit, integration and e2e tests (real NATS, SQLite and PostgreSQL)
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lock: ## re-resolve requirements.txt into constraints.txt in a scratch venv
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -r requirements.txt
	( echo "# Exact versions for requirements.txt; regenerate with 'make lock'."; .lock-venv/bin/pip freeze ) > constraints.txt
	rm -rf .lock-venv

openapi: $(STAMP) ## regenerate docs/openapi.json from the gateway (and the catalogue file's schema it shows)
	$(PY) -c 'from services.booking.service_layer.catalogue_file import json_schema; print(json_schema(), end="")' > $(CATALOGUE_SCHEMA)
	$(PY) -m gateway openapi > docs/openapi.json

bench: $(STAMP) ## vacancy-read, flash-crowd, register-import, hall, cards-journey and scale-out benchmarks (writes docs/performance.md)
	$(PY) bench/vacancy_read.py --write docs/performance.md
	$(PY) bench/flash_crowd.py --write docs/performance.md
	$(PY) bench/register_import.py --profile 20000 --write docs/performance.md
	$(PY) bench/hall.py --write docs/performance.md
	$(PY) bench/cards_journey.py --write docs/performance.md
	$(PY) bench/scale_out.py --write docs/performance.md

clean: ## remove the venv and local data
	rm -rf $(VENV) var
