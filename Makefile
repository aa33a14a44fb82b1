# Two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

## demo: ingest the shipped sample folder into the embedded ledger and show cases, canonicals, deltas
demo: $(STAMP)
	rm -rf .provledger-demo
	PROVLEDGER_HOME=.provledger-demo $(BIN)/provledger ingest examples/records
	PROVLEDGER_HOME=.provledger-demo $(BIN)/provledger cases
	PROVLEDGER_HOME=.provledger-demo $(BIN)/provledger history run-3

## test: lint, type-check, then every test (starts its own throwaway PostgreSQL and S3 endpoint)
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .provledger .provledger-demo
