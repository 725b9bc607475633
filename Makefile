# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO := build/demo

.PHONY: demo test bench lint format postgres clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	$(BIN)/tessera synth nsclc --patients 20000 --seed 7 --pseudonyms --out $(DEMO)
	$(BIN)/tessera summary $(DEMO) --plot $(DEMO)/survival-by-stage.png
	@echo "\nSurvival by COPD (held by the GP network), computed securely among three processes:"
	$(BIN)/tessera local kaplan-meier --party registry=$(DEMO)/registry.parquet \
		--party gp=$(DEMO)/gp.parquet --helper --join pseudonym \
		--time survival_months --event vital_status --by copd

postgres:
	bash scripts/postgres.sh

test: $(STAMP) postgres
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

clean:
	rm -rf $(VENV) build .pytest_cache
