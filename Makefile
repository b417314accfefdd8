# Two commands set everything up on a fresh machine: `make docs` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: docs docs-live test test-faults fuzz test-offline test-browser bench bench-sphinx bench-render lint format clean dist test-matrix test-matrix-edges

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,docs,browser,themes,tools]"
	touch $(STAMP)

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# Rebuild on every edit (sphinx-autobuild, loopback only); the capture cache is ignored so its
# writes never start another build (docs/guides/live-preview.md).
docs-live: $(STAMP)
	$(BIN)/sphinx-autobuild --host 127.0.0.1 --re-ignore '/\.layertrace-cache(/|$$)' docs docs/_build/html

test: $(STAMP)
	$(BIN)/python -m pytest -m "not browser and not faults" -q

# sphinx-build of a few hundred snippets SIGKILLed and interrupted at 30+ random points: no stray
# process, no wrong entry served, no temporary file left (tests/test_faults.py; the seed is
# printed, LAYERTRACE_FAULT_SEED=N replays it). About 3 minutes.
test-faults: $(STAMP)
	$(BIN)/python -m pytest -m faults -q -s -p no:cacheprovider tests/test_faults.py

# The property tests (tests/test_fuzz_*.py) with the long Hypothesis profile: minutes, not the
# seconds of their `ci` profile in `make test`. tests/FUZZ.md says how long it ran and what it found.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q --durations=0 tests/test_fuzz_*.py

# The suite and a docs build that runs every snippet again, in a network namespace that has only
# loopback (root, for unshare): nothing can leave the machine there, and a page whose text
# depends on another address (a DNS answer included) fails its test or its :expect:.
test-offline: $(STAMP)
	LAYERTRACE_OFFLINE=1 unshare --net sh -c 'ip link set lo up && out=$$(mktemp -d) \
	  && $(BIN)/python -m pytest -m "not browser and not faults" -q -p no:cacheprovider \
	  && $(BIN)/sphinx-build -q -W -D layertrace_execute=always -b html docs "$$out"; \
	  code=$$?; rm -rf "$$out"; exit $$code'

test-browser: $(STAMP) docs
	bash tests/browser/ensure-chromium.sh
	$(BIN)/python -m pytest -m browser -q tests/browser

bench: $(STAMP)
	$(BIN)/python bench/capture_latency.py
	$(BIN)/python bench/sphinx_bench.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/explain_render.py
	$(BIN)/python bench/fork_floor.py

# one 45-frame chain explained and rendered in the main process (goal: at most 2 ms)
bench-render: $(STAMP)
	$(BIN)/python bench/explain_render.py

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

# -- packaging and compatibility (noxfile.py) -------------------------------------------------------

# sdist and wheel into dist/, checked as PyPI would check them.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

# Every Sphinx x CPython cell this machine can run (see noxfile.py), then the results file the docs
# render (docs/_data/compatibility.json). The file is written even when a cell fails.
NOX := $(BIN)/nox --no-error-on-missing-interpreters
test-matrix: $(STAMP)
	$(NOX) -s matrix; status=$$?; $(NOX) -s matrix_report && exit $$status

# The oldest and the newest cell only (CI): a few minutes.
test-matrix-edges: $(STAMP)
	$(NOX) -s "matrix-3.10(sphinx='7.2')" "matrix-3.13(sphinx='9.x')"
