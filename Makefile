# The two commands of the README: `make demo` and `make test`. Each sets itself up, in
# either order, in the one .venv: the demo installs only what it needs (s3po and the codecs
# it shows, no extras for tests or docs); `make test` installs the full set on top.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Already there when the full set is installed and up to date.
$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test $(STAMP) -nt pyproject.toml || $(BIN)/python -m pip install --quiet -e '.[zstd,brotli]'
	touch $(DEMO_STAMP)

.PHONY: demo test lint bench docs
# One pytest-xdist worker per core, at most 4 (each worker starts its own moto and SeaweedFS
# on free ports); `make test PYTEST_WORKERS=` runs the suite in one process.
PYTEST_WORKERS ?= --numprocesses=auto --maxprocesses=4
demo: $(DEMO_STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_WORKERS)

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py $(BENCH_ARGS)
