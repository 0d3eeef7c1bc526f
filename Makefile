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
# the demo runs under the tire shop company's brand (a plain install has the neutral Avain one)
run: export IDP_THEME_FILE ?= config/themes/rengasverkkokauppa/theme.toml

seed: migrate
	$(BIN)/idp seed

# Avain, the tire shop and the garage (examples/) under honcho: one Ctrl-C stops all three
DEMO_STAMP := $(VENV)/.installed-demo
$(DEMO_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[demo]'
	touch $@

run: seed $(DEMO_STAMP)
	@echo
	@echo "Avain                  http://localhost:5000/account/"
	@echo "Rengasverkkokauppa     http://localhost:5001/"
	@echo "Korjaamo Virtanen      http://localhost:5002/"
	@echo "Sign in as demo@avain.example, password in $(IDP_INSTANCE_PATH)/demo-password.txt. Ctrl-C stops all three."
	@echo
	$(BIN)/honcho start

lint: $(TEST_STAMP)
	$(BIN)/ruff check idp consent tests bench examples
	$(BIN)/ruff format --check idp consent tests bench examples

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# one pytest-xdist worker per core; each worker has its own databases (tests/conftest.py)
PYTEST_WORKERS ?= auto
test: install-test lint typecheck
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# the HTTP benchmark on both backends at 1,000 and 1,000,000 customers (and as many issued
# tokens), as issue 14 asks (about an hour), then the ledger's (~7 min). A quicker look:
#   make bench BENCH_CUSTOMERS=1000
BENCH_CUSTOMERS ?= 1000 1000000
bench: install-test
	$(BIN)/python -m bench.http --backend both --customers $(BENCH_CUSTOMERS)
	$(BIN)/python -m bench.ledger

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
