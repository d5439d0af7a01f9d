# opschub: `make serve` runs the system on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export OPSCHUB_DATA_DIR ?= $(CURDIR)/var

.PHONY: serve worker test install install-dev lint format typecheck demo i18n clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml package.json | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@# axe-core (accessibility checks in the browser tests) comes from npm; without npm those
	@# checks are skipped with the reason.
	if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility checks will be skipped"; fi
	touch $@ $(STAMP)

install: $(STAMP)
install-dev: $(DEV_STAMP)

serve: $(STAMP)
	$(BIN)/opschub db upgrade
	$(BIN)/opschub user ensure-admin
	$(BIN)/opschub serve

# A job worker of its own (with OPSCHUB_BROKER_URL; `make serve` alone runs jobs without one).
worker: $(STAMP)
	$(BIN)/opschub worker

demo: $(STAMP)
	$(BIN)/opschub db upgrade
	$(BIN)/opschub user ensure-admin
	@# --force: add the (marked, removable) demo data even where reports exist; when the demo is
	@# loaded already, the command says so and exits 0.
	$(BIN)/opschub demo load --force
	$(BIN)/opschub serve

test: $(DEV_STAMP)
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(DEV_STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

i18n: $(DEV_STAMP)
	$(BIN)/python -m opschub.web.catalogues update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
