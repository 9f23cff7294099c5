# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Every install step lives here; constraints.txt pins the whole tree so pip never backtracks and
# torch resolves to the CPU build (2.13.0) instead of several GB of CUDA packages.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test test-managed-pg test-slow lint bench-ingest clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,evals,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/autocrm demo

test: $(STAMP)
	$(BIN)/ruff check .
	BIN=$(BIN) scripts/lint_imports.sh
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory test-managed-pg

# The database, API and worker tests again, on a second PostgreSQL over TCP with passwords, as an
# application role that is no superuser (docs/postgres.md; tests/db/managed_server.py).
test-managed-pg: $(STAMP)
	$(BIN)/pytest -q --managed-pg tests/db tests/api/test_tickets.py tests/api/test_access_matrix.py tests/api/test_worker.py

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache reports
