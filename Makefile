# `make run` serves the stack on embedded defaults; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STATE_DIR ?= $(CURDIR)/.state

.PHONY: install os-packages run test unit services integration integration-postgres clusters k8s bench bench-quick clean

$(VENV)/.installed: pyproject.toml
	@echo "installing into $(VENV) (first time: a few minutes, Ray is large)..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --no-color -e ".[test,bench]"
	touch $@

install: $(VENV)/.installed

run: install
	ORGANISM_STATE_DIR=$(STATE_DIR) $(VENV)/bin/routing run --config serve_config.yaml

os-packages:
	bash .ci/os-packages

# every tier, the fastest first; a tier that fails stops the ones after it
test: install os-packages unit services integration integration-postgres clusters

unit: install  # the pure core: nothing started, seconds
	$(PY) -m pytest tests/unit

services: install os-packages  # real PostgreSQL and promtool, no Ray
	$(PY) -m pytest tests/services

integration: install os-packages  # one shared Ray cluster, state in SQLite
	$(PY) -m pytest tests/integration

integration-postgres: install os-packages  # again on PostgreSQL, where the state backend matters
	ROUTING_TEST_STATE=postgres $(PY) -m pytest tests/integration -m backend

clusters: install os-packages  # Ray clusters of their own: several nodes, lost control planes, KubeRay's path
	$(PY) -m pytest tests/clusters

bench: install
	$(PY) -m bench.run

bench-quick: install
	$(PY) -m bench.run --quick

k8s: install
	$(VENV)/bin/routing k8s

clean:
	rm -rf $(VENV) .state .pytest_cache
