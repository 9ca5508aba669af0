# fuzzplug: `make test` (the suite) and `make fuzz` (the main job) set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FUZZ_TIME ?= 60
JOBS ?= 1

.PHONY: all venv test test-fast fuzz bench coverage clean

all: test

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

fuzz: $(STAMP)
	$(BIN)/fuzzplug fuzz insert_pfn --time $(FUZZ_TIME) --jobs $(JOBS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info work findings .pytest_cache .hypothesis
