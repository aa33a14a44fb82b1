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

DEMO := PROVLEDGER_HOME=.provledger-demo PROVLEDGER_ARCHIVE_URL= $(BIN)/provledger

## demo: the main job on the embedded default (SQLite + local archive folder): ingest the shipped
## samples, show cases with canonicals and deltas, persist records and ship the log, then audit
demo: $(STAMP)
	rm -rf .provledger-demo
	$(DEMO) ingest examples/records
	$(DEMO) cases
	$(DEMO) history run-3
	$(DEMO) persist
	$(DEMO) archive
	$(DEMO) audit
	$(DEMO) status

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
