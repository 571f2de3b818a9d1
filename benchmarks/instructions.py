"""The deterministic channel: instructions per request of every server scenario and client strategy, and per call
of the core functions, counted under valgrind (``benchmarks.harness.callgrind``).

A count does not see the machine's noise: repeated on one commit it agrees to well within 1 % (docs/measured.md
gives the spread of each), so ``make compare`` judges these benchmarks by their ratio against a threshold (1 % by
default) rather than by asv's statistics, and they decide whether a pull request passes. What they cannot see
(time in the kernel, waiting, contention, how work spreads over cores) stays the wall-clock benchmarks' job.

Every count runs once per commit and Python, in the shared ``setup_cache`` below: asv keys a ``setup_cache`` by
where it is defined, so the four classes share one run, which counts everything in parallel, one CPU each.
Every benchmark here has "instructions" in its name (``BENCH=instructions`` selects exactly these), the unit
"instructions" (which is how the reports know to judge them by ratio), and an explicit ``version``: editing the
code below does not reset their history; changing what is counted must change the version.

A server's and a client's count come in two parts: the request's own instructions
(``track_instructions_per_request``) and the garbage collector's beside them
(``track_collector_instructions_per_request``). The second is judged by what it adds to the first
(``formats.PART_OF``): one collection more or less in a window is a large share of the collector's own figure
and a small one of the request's.

Under asv, a count made for a commit runs that commit's build or nothing: a server that would import other code
(an editable install, a working tree, an old wheel) fails every count, with the line that says which files came
from where (``harness/build.py``).
"""

import os
from pathlib import Path

from benchmarks import common
from benchmarks.harness import callgrind, client, subject
from benchmarks.harness.errors import ToolMissing

SETTINGS = callgrind.CountSettings()
# A comma-separated subset of the targets to count (the tests, a quick look, make bisect), as target ids or as
# benchmark labels (instructions.ServerInstructions.track_instructions_per_request(flask-dev)); the others are
# then skipped.
ONLY = "PLANET_TRACKER_INSTRUCTIONS"
# Where make compare keeps what it profiles (benchmarks/attribution.py): the counts keep their functions there too,
# in <folder>/<commit>/counted-<environment>/, so that a profile of the same build needs only its bytecode.
FOLDER = "PLANET_TRACKER_ATTRIBUTE_DIR"


def counted_folder() -> Path | None:
    """Where this commit's counts are kept, when make compare asks (FOLDER) under asv."""
    folder, commit, env = os.environ.get(FOLDER), os.environ.get("ASV_COMMIT"), os.environ.get("ASV_ENV_NAME")
    return Path(folder) / commit / f"counted-{env}" if folder and commit and env else None
# The cache's key for why nothing was counted: a tool is missing (valgrind, or the compiler of its window).
MISSING = "tool missing"
# Of what is counted and how: bump it when that changes, and the history starts again. 2: a child's window starts
# after a full garbage collection, after a thrown-away window of 20 requests or calls (aiohttp-gather -15 %).
# 3: every server process collects its garbage before each window, and the collector's instructions are counted
# apart from the request's.
VERSION = "3"


def counted(method):
    """Mark an asv benchmark method as counted: its unit (how the reports know to judge it by ratio) and version."""
    method.unit = "instructions"
    method.version = VERSION
    return method


class InstructionsBenchmark:
    timeout = 900.0

    def setup_cache(self):
        only = list(dict.fromkeys(target_of(item) or item for item in os.environ.get(ONLY, "").split(",") if item))
        try:
            return callgrind.medians(callgrind.measure(only or callgrind.all_ids(), SETTINGS,
                                                       keep_in=counted_folder()))
        except ToolMissing as error:  # a newcomer's machine: every count is skipped, saying why
            return {MISSING: str(error)}

    @staticmethod
    def target(*params) -> str:
        raise NotImplementedError

    def setup(self, cache, *params):
        if (self.target(*params), "request") not in cache:  # asv records a NotImplementedError in setup as skipped
            raise NotImplementedError(cache.get(MISSING) or f"{self.target(*params)} is not counted: {ONLY} leaves "
                                      "it out")

    def _count(self, cache, *params, part="request"):
        try:
            value = cache[self.target(*params), part]
        except KeyError:  # the collector, where callgrind does not name it
            raise NotImplementedError(f"callgrind does not name CPython's collector in this build: "
                                      f"{self.target(*params)} counts it with the request") from None
        if isinstance(value, str):
            raise RuntimeError(f"{self.target(*params)}: {value}")  # recorded by asv as failed, never as a number
        return value


class ServerInstructions(InstructionsBenchmark):
    """Instructions per request, summed over every process of the server, in a window of ~300 million instructions."""

    params = [common.SCENARIO_IDS]
    param_names = ["scenario"]

    @staticmethod
    def target(scenario):
        return scenario

    @counted
    def track_instructions_per_request(self, cache, scenario):
        return self._count(cache, scenario)

    @counted
    def track_collector_instructions_per_request(self, cache, scenario):
        return self._count(cache, scenario, part="collector")


class ClientInstructions(InstructionsBenchmark):
    """Instructions per request of the client's process, for a batch of 100 requests to the latency server."""

    params = [list(client.STRATEGIES)]
    param_names = ["strategy"]

    @staticmethod
    def target(strategy):
        return callgrind.CLIENT_PREFIX + strategy

    @counted
    def track_instructions_per_request(self, cache, strategy):
        return self._count(cache, strategy)

    @counted
    def track_collector_instructions_per_request(self, cache, strategy):
        return self._count(cache, strategy, part="collector")


class QueryInstructions(InstructionsBenchmark):
    """Instructions per call of ``core.parse_query`` on the article's query."""

    @staticmethod
    def target():
        return callgrind.CORE_PREFIX + "parse_query"

    @counted
    def track_instructions_parse_query(self, cache):
        return self._count(cache)


class PositionInstructions(InstructionsBenchmark):
    """Instructions per call of ``core.position_body``, for each planet."""

    params = [list(subject.planets())]
    param_names = ["planet"]

    @staticmethod
    def target(planet):
        return f"{callgrind.CORE_PREFIX}position_body:{planet}"

    @counted
    def track_instructions_position_body(self, cache, planet):
        return self._count(cache, planet)


def target_of(label: str) -> str | None:
    """The channel's target behind a benchmark's label as the reports print it, e.g.
    ``instructions.ServerInstructions.track_instructions_per_request(flask-dev)`` -> ``flask-dev``; None for a
    benchmark that is not counted here."""
    name, _, params = label.partition("(")
    parts = name.split(".")
    benchmark = globals().get(parts[1]) if len(parts) == 3 and parts[0] == "instructions" else None
    if not (isinstance(benchmark, type) and issubclass(benchmark, InstructionsBenchmark)
            and benchmark is not InstructionsBenchmark):
        return None
    values = [value.strip().strip("'") for value in params.rstrip(")").split(",") if value.strip()]
    try:
        return benchmark.target(*values)
    except TypeError:  # the wrong number of parameters for that benchmark
        return None
