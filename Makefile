# `make run` serves the stack on embedded defaults; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STATE_DIR ?= $(CURDIR)/.state

.PHONY: install run test unit k8s bench bench-quick clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $@

install: $(VENV)/.installed

run: install
	ORGANISM_STATE_DIR=$(STATE_DIR) $(VENV)/bin/routing run --config serve_config.yaml

test: install
	$(PY) -m pytest

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
