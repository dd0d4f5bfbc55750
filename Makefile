# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv and node_modules on first use and reinstall when the pins change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test install lint format clean

$(BIN)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "taocun needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed

demo: install
	$(BIN)/taocun demo

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src benchmarks tools
	$(BIN)/ruff format --check src benchmarks tools

format: install
	$(BIN)/ruff format src benchmarks tools
	$(BIN)/ruff check --fix src benchmarks tools

clean:
	rm -rf $(VENV) node_modules var
