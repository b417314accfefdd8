# Two commands set everything up on a fresh machine: `make docs` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: docs test test-offline test-browser bench bench-sphinx lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,docs,browser]"
	touch $(STAMP)

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

test: $(STAMP)
	$(BIN)/python -m pytest -m "not browser" -q

# The suite and a docs build that runs every snippet again, in a network namespace that has only
# loopback (root, for unshare): nothing can leave the machine there, and a page whose text
# depends on another address (a DNS answer included) fails its test or its :expect:.
test-offline: $(STAMP)
	unshare --net sh -c 'ip link set lo up && out=$$(mktemp -d) \
	  && $(BIN)/python -m pytest -m "not browser" -q -p no:cacheprovider \
	  && $(BIN)/sphinx-build -q -W -D layertrace_execute=always -b html docs "$$out"; \
	  code=$$?; rm -rf "$$out"; exit $$code'

test-browser: $(STAMP) docs
	bash tests/browser/ensure-chromium.sh
	$(BIN)/python -m pytest -m browser -q tests/browser

bench: $(STAMP)
	$(BIN)/python bench/capture_latency.py
	$(BIN)/python bench/sphinx_bench.py

# plain Sphinx vs layertrace vs IPython's directive; IPython goes into bench/_work/venv only
bench-sphinx: $(STAMP)
	$(BIN)/python bench/sphinx_bench.py

# ruff with the complexity rules on, and mypy as configured in pyproject.toml (strict for the
# model, meaning and render)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf docs/_build build .layertrace-cache docs/.layertrace-cache
