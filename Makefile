# fuzzplug: `make test` (the suite) and `make fuzz` (the main job) set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FUZZ_TIME ?= 60
TARGETS ?= insert_pfn dax_fault insert_pfn_pmd
JOBS ?= 1

.PHONY: all venv test test-fast fuzz bench bench-races coverage clean

all: test

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The suite on every core (pytest-xdist); tests that share a cache of the process run in
# one worker (tests/conftest.py, SHARED). `make test TEST_WORKERS=0`: in this process alone.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# `make fuzz`: every target in turn, FUZZ_TIME seconds each (`make fuzz TARGETS=dax_fault`).
fuzz: $(STAMP)
	set -e; for t in $(TARGETS); do $(BIN)/fuzzplug fuzz $$t --time $(FUZZ_TIME) --jobs $(JOBS); done

bench: $(STAMP)
	$(BIN)/python bench/run.py

# `make bench-races`: bench/run.py's part races alone, `fuzz dax_fault` of the code of
# BENCH_OLD against this checkout (bench/races.json, docs/img/race-causes.svg).
BENCH_OLD ?= d6aaf96
bench-races: $(STAMP)
	$(BIN)/python bench/bench_races.py --old $(BENCH_OLD)

clean:
	rm -rf $(VENV) build dist *.egg-info work findings .pytest_cache .hypothesis

# `make coverage`: line and branch coverage of the models (coverage.py) over a corpus, into
# work/coverage/ (html/ and coverage.json), measured as OSS-Fuzz's Python coverage build
# measures it: the harness runs under coverage.py with -atheris_runs=<inputs + 1> (libFuzzer
# runs one empty input first), so each input runs once and the process exits through Python,
# which saves the data. Divergent inputs are recorded (FUZZPLUG_RECORD), not raised. The
# corpus: the compiled seeds plus COVERAGE_CORPUS if it exists (`make fuzz` grows the
# default), deduplicated by name (the SHA-1 of the content). Beside it, the semantic report:
# the model branch ids the same inputs reach (work/coverage/branch_ids.json).
COVERAGE_TARGET ?= insert_pfn
COVERAGE_CORPUS ?= work/$(COVERAGE_TARGET)/corpus
COV := work/coverage

coverage: $(STAMP)
	rm -rf $(COV)
	mkdir -p $(COV)/new $(COV)/record
	$(BIN)/fuzzplug seeds $(COVERAGE_TARGET) -o $(COV)/corpus
	if [ -d $(COVERAGE_CORPUS) ]; then \
	  find $(COVERAGE_CORPUS) -maxdepth 1 -type f ! -name '.*' -exec cp {} $(COV)/corpus/ \; ; fi
	FUZZPLUG_RECORD=$(COV)/record $(BIN)/python -m coverage run --branch \
	  --data-file=$(COV)/.coverage --source=fuzzplug.kernel,fuzzplug.explore,fuzzplug.targets \
	  harnesses/fuzz_$(COVERAGE_TARGET).py $(COV)/new $(COV)/corpus \
	  -atheris_runs=$$(( $$(find $(COV)/corpus -type f | wc -l) + 1 ))
	$(BIN)/python -m coverage html --data-file=$(COV)/.coverage -d $(COV)/html
	$(BIN)/python -m coverage json --data-file=$(COV)/.coverage -o $(COV)/coverage.json
	$(BIN)/fuzzplug coverage $(COVERAGE_TARGET) $(COV)/corpus --json > $(COV)/branch_ids.json.tmp
	mv $(COV)/branch_ids.json.tmp $(COV)/branch_ids.json
