# Avain: `make run` starts the demo on SQLite; `make test` runs every check and test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export IDP_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test install install-test translations lint typecheck migrate seed bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(STAMP) translations

install-test: $(TEST_STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d idp/translations

migrate: install
	$(BIN)/idp db upgrade

# the demo partners receive back-channel logouts on localhost (see outbound_* in idp/config.py)
seed run: export IDP_OUTBOUND_ALLOW_HOSTS ?= localhost:5001,localhost:5002
seed run: export IDP_OUTBOUND_ALLOW_HTTP ?= true

seed: migrate
	$(BIN)/idp seed

run: seed
	$(BIN)/idp serve --bind 127.0.0.1:5000

lint: $(TEST_STAMP)
	$(BIN)/ruff check idp consent tests bench
	$(BIN)/ruff format --check idp consent tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

test: install-test lint typecheck
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python -m bench.ledger

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
