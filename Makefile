# `make run` serves the stack on embedded defaults; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STATE_DIR ?= $(CURDIR)/.state

.PHONY: install os-packages run test unit k8s bench bench-quick clean

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

# every test on SQLite, then the integration suite again with its state in PostgreSQL
test: install os-packages
	$(PY) -m pytest
	ROUTING_TEST_STATE=postgres $(PY) -m pytest tests/integration

unit: install
	$(PY) -m pytest tests/unit

bench: install
	$(PY) -m bench.run

bench-quick: install
	$(PY) -m bench.run --quick

k8s: install
	$(VENV)/bin/routing k8s

clean:
	rm -rf $(VENV) .state .pytest_cache
