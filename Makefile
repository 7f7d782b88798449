# Two commands: `make run` (node with demo data on SQLite) and `make test` (lint, types, tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest install bytecode clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Byte-compile our own sources (only what changed since the last time). An editable install leaves
# them uncompiled, and where PYTHONDONTWRITEBYTECODE is set (CI machines) every process compiled
# them again: about 0.2 s of each command's start, paid by every CLI call and server a test spawns.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q src

# The local demo's peers and webhooks live on this machine: allow loopback for it alone.
run: export COLSEC_OUTBOUND_ALLOW ?= 127.0.0.0/8,::1,localhost
run: $(STAMP) bytecode
	$(BIN)/colsec demo
	$(BIN)/colsec serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Parallel (pytest-xdist): many tests wait on subprocesses, servers and browsers, so more workers than
# cores pays. loadscope runs a module (or a test class) on one worker, so a module-scoped fixture (a
# server, a node, a medallion peer) is set up once, not once per worker.
PYTEST_WORKERS ?= 3
pytest: $(STAMP) bytecode
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) colsec-data
