# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
DEMO := build/demo

.PHONY: demo test bench lint format lock postgres chromium clean

# constraints.txt pins the whole resolved environment, so every run installs the same one
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c constraints.txt
	@rm -f $(VENV)/.installed-* && touch $@

# A hub and four stations as processes on localhost: enrolment, a study approved by every
# data steward, Kaplan-Meier, a cross-table and a Cox model by MPC, an HTML report.
demo: $(STAMP)
	$(BIN)/tessera demo --workdir $(DEMO)

postgres:
	bash scripts/postgres.sh

chromium:
	bash scripts/chromium.sh

test: $(STAMP) postgres chromium
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

# After changing pyproject.toml's dependencies: resolve them afresh and pin the result.
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --upgrade pip
	build/lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	(echo "# The resolved environment \`make test\` and \`make demo\` install (pip -c): regenerate with \`make lock\`"; \
	 build/lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^#') > constraints.txt
	rm -rf build/lock-venv

clean:
	rm -rf $(VENV) build .pytest_cache
