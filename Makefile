# The project's commands. CI and the workflows call these, unchanged.
#
#   make test                 lint, the asv suite's smoke run, and the test suite
#   make bench [QUICK=1]      the main job: the asv suite on HEAD with the default Python, published, summarised
#   make history [N=10]       the last N commits on every installed Python of asv.conf.json
#   make compare [BASE=main]  BASE and HEAD measured in one run; exit 1 on a significant regression
#   make site                 serve the published site on 127.0.0.1
# BENCH=REGEX limits the benchmarks (asv's --bench); ASV_ARGS passes more options to asv run (e.g. -a rounds=4).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
N ?= 10
BASE ?= main
FACTOR ?= 1.05
BENCH ?=
ASV_ARGS ?=
PORT ?= 8080

# asv finds interpreters on PATH: put each installed one's real folder first (pyenv shims crash asv).
PY_DIRS := $(shell scripts/python-dirs 2>/dev/null)
ASV := PATH="$(PY_DIRS):$$PATH" $(BIN)/asv
MACHINE ?= $(shell scripts/machine-name)
DEFAULT_PY = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
BENCH_ARGS = $(if $(BENCH),--bench '$(BENCH)') $(ASV_ARGS)

.PHONY: venv tools machine test lint smoke bench history compare site clean

# A venv with the pinned dependencies; rebuilt when what it was built from changes.
$(VENV)/.installed: setup.cfg constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $@

venv: $(VENV)/.installed

tools:
	@scripts/load-tools

machine: venv
	@$(ASV) machine --yes --machine $(MACHINE) >/dev/null

lint: venv
	$(BIN)/ruff check .

# asv's own check of the suite, then every benchmark once against the working tree (nothing recorded).
smoke: venv machine
	$(ASV) check -E existing:$(abspath $(BIN)/python)
	$(ASV) run --quick --show-stderr --machine $(MACHINE) -E existing:$(abspath $(BIN)/python) $(BENCH_ARGS)

test: lint smoke
	$(BIN)/python -m pytest

bench: venv tools machine
ifdef QUICK
	$(ASV) run --quick --show-stderr --machine $(MACHINE) -E existing:$(abspath $(BIN)/python) $(BENCH_ARGS)
	@echo "QUICK=1: every benchmark ran once against the working tree; nothing was recorded."
else
	$(ASV) run HEAD^! --record-samples --show-stderr --machine $(MACHINE) -E virtualenv:$(DEFAULT_PY) $(BENCH_ARGS)
endif
	$(ASV) publish
	@echo "asv site: $(abspath .asv/html)/index.html (make site serves it on http://127.0.0.1:$(PORT)/)"

history: venv tools machine
	git rev-list --max-count=$(N) HEAD > .asv/history.hashes
	$(ASV) run HASHFILE:.asv/history.hashes --record-samples --skip-existing-commits --machine $(MACHINE) \
		$(shell scripts/python-dirs --specs) $(BENCH_ARGS)
	$(ASV) publish

# Both commits in one asv run, rounds interleaved, so that the machine's drift hits both alike. A failed
# benchmark does not stop the comparison: it is one row of the table (and a regression if HEAD broke it).
compare: venv tools machine
	@mkdir -p .asv reports && rm -f reports/compare.md
	git rev-parse --verify '$(BASE)^{commit}' > .asv/compare.hashes
	git rev-parse --verify 'HEAD^{commit}' >> .asv/compare.hashes
	-$(ASV) run HASHFILE:.asv/compare.hashes --record-samples --interleave-rounds --machine $(MACHINE) \
		-E virtualenv:$(DEFAULT_PY) $(BENCH_ARGS)
	$(BIN)/python -m reports compare '$(BASE)' HEAD --machine $(MACHINE) --factor $(FACTOR) \
		--markdown reports/compare.md

site:
	@test -d .asv/html || { echo "no site yet: run make bench first" >&2; exit 2; }
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory .asv/html $(PORT)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
