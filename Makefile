# `make test` and `make demo` work on a fresh machine: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck wheel-smoke bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check phyper tests bench example
	$(BIN)/ruff format --check phyper tests bench example

test: lint typecheck wheel-smoke
	$(BIN)/pytest -q

# mypy on phyper/, strict but for returning Any ([tool.mypy] in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

# the built wheel in a fresh virtual environment outside the repository (tests/packaging/smoke.py)
wheel-smoke: $(STAMP)
	$(BIN)/python tests/packaging/smoke.py

# the example pipeline end to end: the grid trained by Snakemake (config/default.yaml, options
# from profiles/default), then the notebook executed; job commands run `python` from .venv
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake all
	$(BIN)/python -m example.render_notebook

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_store.py
	$(BIN)/python bench/bench_snakemake.py
	$(BIN)/python bench/bench_run.py
	$(BIN)/python bench/bench_study.py
	$(BIN)/python bench/bench_burr.py

clean:
	rm -rf $(VENV) derived_data results .snakemake
