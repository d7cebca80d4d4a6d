# `make test` and `make demo` work on a fresh machine: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint docs typecheck wheel-smoke bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check phyper tests bench example docs/_hooks
	$(BIN)/ruff format --check phyper tests bench example docs/_hooks

# the documentation site in strict mode (a warning fails it), into site/
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint docs typecheck wheel-smoke
	$(BIN)/pytest -q

# mypy on phyper/, strict but for returning Any ([tool.mypy] in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

# the built wheel in a fresh virtual environment outside the repository (tests/packaging/smoke.py)
wheel-smoke: $(STAMP)
	$(BIN)/python tests/packaging/smoke.py

# the example pipeline end to end: the grid trained by Snakemake (config/default.yaml, options
# from profiles/default), then the notebook executed; job commands run `python` from .venv.
# Last, one more model trained up to a go/no-go gate (exit code 3: it waits for a decision),
# and the command that opens the dashboard over the results.
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake all halving
	$(BIN)/python -m example.render_notebook
	$(BIN)/python -m example review || test $$? -eq 3
	@echo
	@echo "Watch the results, and answer the run waiting at its gate, in the dashboard:"
	@echo "  $(BIN)/phyper dashboard --root derived_data --on-decision '$(BIN)/python -m example train-model --hash {hash}'"

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_store.py
	$(BIN)/python bench/bench_snakemake.py
	$(BIN)/python bench/bench_run.py
	$(BIN)/python bench/bench_study.py
	$(BIN)/python bench/bench_burr.py
	$(BIN)/python bench/bench_dashboard.py

clean:
	rm -rf $(VENV) derived_data results .snakemake site
