PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m rlsuite.tools.demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check rlsuite envs agents tests
	$(BIN)/ruff format --check rlsuite envs agents tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/rlsuite bench

clean:
	rm -rf $(VENV) runs/*/ .pytest_cache
