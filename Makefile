# The project's commands. CI and the workflows call these, unchanged.
#
#   make test                 lint, the asv suite's smoke run, and the test suite
#   make smoke                asv's check of the suite, then every benchmark once against the working tree
#                             (nothing recorded; part of make test)
#   make bench [QUICK=1]      the main job: the asv suite on HEAD with the default Python, published, summarised
#   make report               the summary, charts and exports (reports/) and the site (site/) from asv's results
#   make history [N=10]       the last N commits on every installed Python of asv.conf.json
#   make compare [BASE=main]  BASE and HEAD measured in one run; fails on a regression (instructions: THRESHOLD;
#                             wall-clock: asv's rule, confirmed by measuring the flagged benchmarks again) and on an
#                             error (python -m pipeline compare: 1 and 2; make turns both into 2)
#   make profile TARGET=ID [AGAINST=HEAD~1]  where one target's instructions go, HEAD against AGAINST: Python functions
#                             by bytecode, C functions by symbol (make compare does it for what it flags)
#   make regressions          the open regressions and drifts in the local results, one line each; fails when any
#   make bisect               place each counted step that lies between two measured commits on its commit
#   make site                 serve the site on 127.0.0.1
#   make sweep                where async overtakes sync: throughput over connections x handler wait, open-loop
#                             latency (open loop); the map and curves in reports/ (not part of make bench: ~7 min)
#   make rehearse             the GitHub workflows themselves, every event, under act on this machine (quick
#                             benchmarks; also part of make test)
#   make ci-measure / ci-merge / ci-publish / ci-announce / ci-bisect / pages-newest / pr-compare / pr-artifact /
#                             pr-comment: the workflows' steps
# BENCH=REGEX limits the benchmarks (asv's --bench); ASV_ARGS passes more options to asv run (e.g. -a rounds=4).
# QUICK=1 (bench, ci-measure) means one thing: every benchmark run once, as asv's --quick runs it, on the same
# commits, recorded as without it; a check that the job runs, not a measurement (pipeline/asvrun.py).
# The recipes that run asv are python -m pipeline commands: pipeline/asvrun.py builds every asv command line
# (machine, environment, PATH with scripts/python-dirs first, and python -m pipeline dependencies after every
# asv run that records); python -m pipeline --help lists them.
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

MACHINE ?= $(shell scripts/machine-name)
PIPELINE = $(BIN)/python -m pipeline
# What the targets that run asv hand on: BENCH and ASV_ARGS as given (empty: none).
RUN_ARGS = --machine $(MACHINE) --bench='$(BENCH)' --asv-args='$(ASV_ARGS)'

.PHONY: venv tools machine provenance test lint smoke bench report history compare profile regressions bisect site \
	sweep rehearse clean \
	ci-measure ci-merge ci-publish ci-announce ci-bisect pages-newest pr-compare pr-artifact pr-comment

# A venv with the pinned dependencies; rebuilt when what it was built from changes, by content: the stamp holds
# their checksum, so a fresh checkout's newer files, or the workflows' cached venv restored into one, rebuild
# nothing. --no-compile: a module is compiled when first imported, and most of pandas' and matplotlib's never are: a
# third of the install's time. The benchmarks run in asv's own environments, never in this one.
VENV_FROM = $(shell cat setup.cfg constraints.txt | cksum)
$(VENV)/.installed: setup.cfg constraints.txt
	@if [ "$$(cat $@ 2>/dev/null)" != "$(VENV_FROM)" ]; then set -x; $(PYTHON) -m venv $(VENV) && \
	  $(BIN)/python -m pip install --quiet --no-compile -c constraints.txt -e '.[$(EXTRAS)]'; fi
	@echo '$(VENV_FROM)' > $@

venv: $(VENV)/.installed

# The measuring tools (ab, wrk, valgrind, cc) from Debian, where that needs no password (root, or passwordless
# sudo as on GitHub's runners); one warning line for each still missing (benchmarks/harness/tools.py).
tools: venv
	@$(BIN)/python -m benchmarks tools --install $(TOOLS_ARGS)

machine: venv
	@$(PIPELINE) machine --name $(MACHINE)

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
	$(PIPELINE) smoke $(RUN_ARGS)

# The rehearsal in a pytest of its own beside the rest (scripts/test-suite says why), unless PYTEST_ARGS chooses.
test: lint smoke
	$(BIN)/python scripts/test-suite $(BIN)/python $(PYTEST_ARGS)

# HEAD on the default Python, recorded; then the report, the summary printed, and the tools still missing. Their
# warnings come once, under the summary (make hands a target's variables down to its prerequisites).
bench: TOOLS_ARGS = --quiet
bench: venv tools machine provenance
	$(PIPELINE) bench $(RUN_ARGS) $(if $(QUICK),--quick)

# Needs results: make bench or make history first (or results fetched by CI).
report: venv
	$(PIPELINE) report --machine $(MACHINE)

history: venv tools machine provenance
	$(PIPELINE) history --count $(N) $(RUN_ARGS)

# BASE and HEAD in one asv run, rounds interleaved; the timed benchmarks flagged measured again; the table in
# reports/compare.md and .json; then where the flagged counts changed (pipeline/gate.py). python -m pipeline
# compare exits 0, 1 on a regression, 2 on an error; make exits 2 for either (make's own status for a failed
# recipe). A failed benchmark is a row of the table; attribution never changes the status.
compare: venv tools machine provenance
	$(PIPELINE) compare --base '$(BASE)' $(RUN_ARGS) --factor='$(FACTOR)' --threshold='$(THRESHOLD)'

# Where one target's instructions go, HEAD against AGAINST, each commit installed by asv with its own pins: the
# rankings and flame graph make compare gives a flagged benchmark (reports/profile.md, reports/attribution/).
# TARGET: a server scenario (python -m benchmarks scenarios), client:STRATEGY or core:FUNCTION. One commit, this
# checkout: python -m benchmarks profile TARGET.
profile: venv tools machine
	$(PIPELINE) profile --machine $(MACHINE) --target '$(TARGET)' --against '$(AGAINST)'

# The sweep's results, then its section and charts, and the report and site with the section when asv results
# exist. SWEEP_ARGS passes options to the harness's sweep. (Its asv benchmarks, benchmarks/sweep.py, measure the
# same again for the history: PLANET_TRACKER_SWEEP=1 make bench BENCH=sweep.) Exit 1 when a point failed (a wrong
# answer, a server that died, nothing measured; after writing everything that was measured), 2 when nothing could
# be measured. Socket errors under overload are counted in the point, not failures.
sweep: venv tools
	$(PIPELINE) sweep --machine $(MACHINE) --sweep-args='$(SWEEP_ARGS)'

# The workflow files themselves, every event, under act (the stand-ins: rehearsal/); part of make test too.
rehearse: venv tools
	$(BIN)/python -m pytest tests/rehearsal tests/test_rehearsal.py

# The open regressions and drifts in the local results (make bench, make history), one line each; fails when any
# is open. (python -m pipeline regressions exits 1 for open, 2 for could not tell; make turns both into 2.)
regressions: venv
	@$(PIPELINE) regressions

# Each open counted step that lies between two measured commits, placed on its commit: the middle commit measured,
# then again, about log2(n) times (pipeline/regressions.py).
bisect: venv tools machine
	$(PIPELINE) bisect --machine $(MACHINE)

site:
	@test -f site/index.html || { echo "no site yet: run make bench (or make report) first" >&2; exit 2; }
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory site $(PORT)

# The workflows' steps. Inputs come from the environment (read by the shell, never pasted into the recipe):
# PY (3.11-3.14), BEFORE and AFTER (the pushed range) or COMMITS (the last N), BISECT, HISTORY_TIP, PR_NUMBER,
# HEAD_SHA, CONCLUSION, RUN_URL, PAGES_URL, REF, REGRESSIONS, GITHUB_REPOSITORY, and GITHUB_TOKEN for the asv-results
# branch and the API. pages-newest, pr-artifact, pr-comment, ci-announce and ci-bisect run under the runner's bare
# python3 (PYTHON): the standard library only, no venv.
ci-measure: venv tools
	$(PIPELINE) measure --python "$$PY" --before "$${BEFORE:-}" --after "$${AFTER:-HEAD}" \
		$${COMMITS:+--last "$$COMMITS"} $${MAX_COMMITS:+--max-commits "$$MAX_COMMITS"} \
		--out "artifacts/results-py$$PY" $(if $(QUICK),--quick) \
		$(if $(BENCH),--bench '$(BENCH)') $(if $(filter true,$(BISECT)),--bisect)

# The one step given the job's write token (build the venv in a step before it): python -m pipeline takes the
# token out of its environment and hands it to git's fetch and push alone.
ci-merge: venv
	$(PIPELINE) merge artifacts --message "Add benchmark results for $$(git rev-parse --short HEAD)"

ci-publish: venv
	$(PIPELINE) publish --no-fetch --site site --pages "$${PAGES_URL:-}"

# The regressions' issues, from the publish job's data (REGRESSIONS), under the runner's bare python3; and the
# bisection's run, dispatched when the publish found steps between two measured commits.
ci-announce:
	$(PYTHON) -m pipeline announce --regressions "$${REGRESSIONS:-regressions/regressions.json}" \
		--repo "$$GITHUB_REPOSITORY" --run-url "$${RUN_URL:-}" --pages "$${PAGES_URL:-}"

ci-bisect:
	$(PYTHON) -m pipeline dispatch --repo "$$GITHUB_REPOSITORY" --workflow benchmarks.yml --ref "$$REF" \
		--input bisect=true

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
