# The project's commands. CI and the workflows call these, unchanged.
#
#   make test                 lint, the asv suite's smoke run, and the test suite
#   make bench [QUICK=1]      the main job: the asv suite on HEAD with the default Python, published, summarised
#   make report               the summary, charts and exports (reports/) and the site (site/) from asv's results
#   make history [N=10]       the last N commits on every installed Python of asv.conf.json
#   make compare [BASE=main]  BASE and HEAD measured in one run; exit 1 on a regression (instructions: THRESHOLD;
#                             wall-clock: asv's rule, confirmed by measuring the flagged benchmarks again)
#   make profile TARGET=ID [AGAINST=HEAD~1]  where one target's instructions go, HEAD against AGAINST: Python functions
#                             by bytecode, C functions by symbol (make compare does it for what it flags)
#   make site                 serve the site on 127.0.0.1
#   make sweep                where async overtakes sync: throughput over connections x handler wait, open-loop
#                             latency (open loop); the map and curves in reports/ (not part of make bench: ~7 min)
#   make rehearse             the GitHub workflows themselves, every event, under act on this machine (quick
#                             benchmarks; also part of make test)
#   make ci-measure / ci-merge / ci-publish / pages-newest / pr-compare / pr-artifact / pr-comment: the workflows'
#                             steps
# BENCH=REGEX limits the benchmarks (asv's --bench); ASV_ARGS passes more options to asv run (e.g. -a rounds=4).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# What the venv holds: the instrument (bench), the reports (report) and the test and lint tools (test); the
# workflows' measuring legs take bench only, their publish and pull-request comparison bench and report.
EXTRAS ?= test,bench,report
N ?= 10
BASE ?= main
TARGET ?=
AGAINST ?= HEAD~1
# FACTOR and THRESHOLD, when given, override reports.compare's defaults (1.05 and 0.01).
FACTOR ?=
THRESHOLD ?=
BENCH ?=
ASV_ARGS ?=
# More arguments for make test's pytest (tests.yml's legs leave the rehearsal to a job of its own).
PYTEST_ARGS ?=
PORT ?= 8080

# asv finds interpreters on PATH: put each installed one's real folder first (pyenv shims crash asv).
PY_DIRS := $(shell scripts/python-dirs 2>/dev/null)
ASV := PATH="$(PY_DIRS):$$PATH" $(BIN)/asv
MACHINE ?= $(shell scripts/machine-name)
DEFAULT_PY = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
BENCH_ARGS = $(if $(BENCH),--bench '$(BENCH)') $(ASV_ARGS)
# After every asv run that records: the versions each commit was installed with, into its results (asv drops
# them when it rewrites a results file; pipeline/installs.py).
DEPENDENCIES = $(BIN)/python -m pipeline dependencies --machine $(MACHINE)
# asv's site, then the summary and ours. The targets that run it after asv run it in their own recipe, not as a
# sub-make: make does not pass -o (make -o .venv/.installed: use this venv as it is) down to a sub-make.
REPORT = $(ASV) publish && $(BIN)/python -m reports summary --machine $(MACHINE) --out reports --site site

.PHONY: venv tools machine provenance test lint smoke bench report history compare profile site sweep rehearse \
	clean \
	ci-measure ci-merge ci-publish pages-newest pr-compare pr-artifact pr-comment

# A venv with the pinned dependencies; rebuilt when what it was built from changes.
$(VENV)/.installed: setup.cfg constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	touch $@

venv: $(VENV)/.installed

# The measuring tools (ab, wrk, valgrind, cc) from Debian, where that needs no password (root, or passwordless
# sudo as on GitHub's runners); one warning line for each still missing (benchmarks/harness/tools.py).
tools: venv
	@$(BIN)/python -m benchmarks tools --install $(TOOLS_ARGS)

machine: venv
	@$(BIN)/python -m pipeline machine --name $(MACHINE)

# What the suite's load looks like on this machine (generator, flags, sizes), for the report's provenance.
provenance: venv
	@$(BIN)/python -m benchmarks provenance --json .asv/provenance/$(MACHINE).json

lint: venv
	$(BIN)/ruff check .
	$(BIN)/actionlint
	$(BIN)/zizmor --offline --quiet .github/workflows
	$(BIN)/zizmor --offline --quiet --persona pedantic .github/workflows
	$(BIN)/zizmor --offline --quiet --persona auditor .github/workflows

# asv's own check of the suite, then every benchmark once against the working tree (nothing recorded).
smoke: venv machine
	$(ASV) check -E existing:$(abspath $(BIN)/python)
	$(ASV) run --quick --show-stderr --machine $(MACHINE) -E existing:$(abspath $(BIN)/python) $(BENCH_ARGS)

test: lint smoke
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Its warnings come once, under the summary (make hands a target's variables down to its prerequisites).
bench: TOOLS_ARGS = --quiet
bench: venv tools machine provenance
ifdef QUICK
	$(ASV) run --quick --show-stderr --machine $(MACHINE) -E existing:$(abspath $(BIN)/python) $(BENCH_ARGS)
	@echo "QUICK=1: every benchmark ran once against the working tree; nothing was recorded."
else
	$(ASV) run HEAD^! --record-samples --show-stderr --machine $(MACHINE) -E virtualenv:$(DEFAULT_PY) $(BENCH_ARGS); \
	status=$$?; $(DEPENDENCIES); exit $$status
	$(REPORT)
	@cat reports/summary.md
	@echo
	@echo "summary: $(abspath reports/summary.md); site: $(abspath site)/index.html (make site serves it)"
	@$(BIN)/python -m benchmarks tools
endif

# Needs results: make bench or make history first (or results fetched by CI).
report: venv
	$(REPORT)

history: venv tools machine provenance
	git rev-list --max-count=$(N) HEAD > .asv/history.hashes
	$(ASV) run HASHFILE:.asv/history.hashes --record-samples --skip-existing --machine $(MACHINE) \
		$(shell scripts/python-dirs --specs) $(BENCH_ARGS); status=$$?; $(DEPENDENCIES); exit $$status
	$(REPORT)

# Both commits in one asv run, rounds interleaved, so that the machine's drift hits both alike. A failed
# benchmark does not stop the comparison: it is one row of the table (and a regression if HEAD broke it).
# Counted (instructions) benchmarks are judged by ratio; a timed benchmark flagged either way is measured again,
# both commits interleaved, and is a regression only if that second measurement flags it too. Then each counted
# benchmark marked + or - is profiled on both commits (benchmarks/attribution.py), and the functions whose cost
# changed are ranked under the tables: attribution explains, it never changes the exit status.
COMPARE = $(BIN)/python -m reports compare '$(BASE)' HEAD --machine $(MACHINE) \
	$(if $(FACTOR),--factor $(FACTOR)) $(if $(THRESHOLD),--threshold $(THRESHOLD))
ATTRIBUTE = $(ASV) run --dry-run --machine $(MACHINE) -E virtualenv:$(DEFAULT_PY) --bench '^attribution\.'
compare: venv tools machine provenance
	@mkdir -p .asv reports && rm -rf reports/compare.md reports/compare.json .asv/compare.flagged \
		.asv/attribution reports/attribution
	git rev-parse --verify '$(BASE)^{commit}' > .asv/compare.hashes
	git rev-parse --verify 'HEAD^{commit}' >> .asv/compare.hashes
	-$(ASV) run HASHFILE:.asv/compare.hashes --record-samples --interleave-rounds --machine $(MACHINE) \
		-E virtualenv:$(DEFAULT_PY) $(BENCH_ARGS)
	@$(DEPENDENCIES)
	@flagged=$$($(COMPARE) --flagged .asv/compare.flagged) || exit 2; \
	if [ -n "$$flagged" ]; then \
		echo "confirming the timed benchmarks flagged as slower or faster: $$flagged"; \
		$(ASV) run HASHFILE:.asv/compare.hashes --record-samples --interleave-rounds --machine $(MACHINE) \
			-E virtualenv:$(DEFAULT_PY) $(ASV_ARGS) --bench "$$flagged" || true; \
		$(DEPENDENCIES); \
	fi
	@$(COMPARE) --confirm .asv/compare.flagged --markdown reports/compare.md --json reports/compare.json; \
	status=$$?; [ $$status -le 1 ] || exit $$status; \
	labels=$$($(BIN)/python -m reports attribution --json reports/compare.json --flagged) || exit 2; \
	if [ -n "$$labels" ]; then \
		echo "where the flagged counts changed: profiling $$labels"; \
		PLANET_TRACKER_ATTRIBUTE="$$labels" PLANET_TRACKER_ATTRIBUTE_DIR="$(abspath .asv/attribution)" \
			$(ATTRIBUTE) HASHFILE:.asv/compare.hashes || true; \
		$(BIN)/python -m reports attribution --json reports/compare.json --markdown reports/compare.md \
			--dir .asv/attribution --graphs reports/attribution || true; \
	fi; \
	exit $$status

# Where one target's instructions go, HEAD against AGAINST, each commit installed by asv with its own pins: the
# rankings and flame graph make compare gives a flagged benchmark (reports/profile.md, reports/attribution/).
# TARGET: a server scenario (python -m benchmarks scenarios), client:STRATEGY or core:FUNCTION. One commit, this
# checkout: python -m benchmarks profile TARGET.
profile: venv tools machine
	@test -n "$(TARGET)" || { echo "make profile TARGET=ID [AGAINST=COMMIT]: ID a server scenario," \
		"client:STRATEGY or core:FUNCTION" >&2; exit 2; }
	@mkdir -p .asv reports && rm -rf .asv/profile reports/profile.md
	git rev-parse --verify '$(AGAINST)^{commit}' > .asv/profile.hashes
	git rev-parse --verify 'HEAD^{commit}' >> .asv/profile.hashes
	PLANET_TRACKER_ATTRIBUTE='$(TARGET)' PLANET_TRACKER_ATTRIBUTE_DIR="$(abspath .asv/profile)" \
		$(ATTRIBUTE) HASHFILE:.asv/profile.hashes
	$(BIN)/python -m reports attribution --base '$(AGAINST)' --head HEAD --dir .asv/profile \
		--markdown reports/profile.md --graphs reports/attribution

# The sweep's results, then its section and charts, and the report and site with the section when asv results
# exist. SWEEP_ARGS passes options to the harness's sweep. (Its asv benchmarks, benchmarks/sweep.py, measure the
# same again for the history: PLANET_TRACKER_SWEEP=1 make bench BENCH=sweep.) Exit 1 when a point failed (a wrong
# answer, a server that died, nothing measured; after writing everything that was measured), 2 when nothing could
# be measured. Socket errors under overload are counted in the point, not failures.
sweep: venv tools
	@mkdir -p reports
	@$(BIN)/python -m benchmarks sweep $(SWEEP_ARGS) --json reports/sweep-results.json; status=$$?; \
	if [ $$status -ge 2 ]; then exit $$status; fi; \
	$(BIN)/python -m reports sweep reports/sweep-results.json --out reports || exit 2; \
	if ls .asv/results/*/*-*.json >/dev/null 2>&1; then $(REPORT) || exit 2; fi; \
	exit $$status

# The workflow files themselves, every event, under act (the stand-ins: rehearsal/); part of make test too.
rehearse: venv tools
	$(BIN)/python -m pytest tests/rehearsal tests/test_rehearsal.py

site:
	@test -f site/index.html || { echo "no site yet: run make bench (or make report) first" >&2; exit 2; }
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory site $(PORT)

# The workflows' steps. Inputs come from the environment (read by the shell, never pasted into the recipe):
# PY (3.11-3.14), BEFORE and AFTER (the pushed range) or COMMITS (the last N), HISTORY_TIP, PR_NUMBER, HEAD_SHA,
# CONCLUSION, RUN_URL, GITHUB_REPOSITORY, and GITHUB_TOKEN for the asv-results branch. pages-newest, pr-artifact
# and pr-comment run under the runner's bare python3 (PYTHON): the standard library only, no venv.
ci-measure: venv tools
	$(BIN)/python -m pipeline measure --python "$$PY" --before "$${BEFORE:-}" --after "$${AFTER:-HEAD}" \
		$${COMMITS:+--last "$$COMMITS"} --out "artifacts/results-py$$PY" $(if $(QUICK),--quick) \
		$(if $(BENCH),--bench '$(BENCH)')

# The one step given the job's write token (build the venv in a step before it): python -m pipeline takes the
# token out of its environment and hands it to git's fetch and push alone.
ci-merge: venv
	$(BIN)/python -m pipeline merge artifacts --message "Add benchmark results for $$(git rev-parse --short HEAD)"

ci-publish: venv
	$(BIN)/python -m pipeline publish --no-fetch --site site

pages-newest:
	$(PYTHON) -m pipeline newest --tip "$$HISTORY_TIP"

# A pull request against the commit it branched from (BASE_SHA: the base branch's tip): commits the base branch
# gained since are not the pull request's doing. (compare runs with BASE set for it; no recursive make.)
pr-compare: BASE = $(shell git merge-base "$$BASE_SHA" HEAD)
pr-compare: compare

pr-artifact:
	$(PYTHON) -m pipeline pr-artifact --pr "$$PR_NUMBER" --head "$$HEAD_SHA" --out pr-comparison

pr-comment:
	$(PYTHON) -m pipeline pr-comment --artifact pr-comparison --repo "$$GITHUB_REPOSITORY" --head-sha "$$HEAD_SHA" \
		--conclusion "$${CONCLUSION:-}" --run-url "$${RUN_URL:-}"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache site reports/summary.md reports/*.png reports/exports \
		reports/sweep.md reports/sweep-results.json
