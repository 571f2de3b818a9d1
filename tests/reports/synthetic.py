"""Synthetic asv results, written with asv's own classes: the golden fixtures of the report tests and the input
of the report's speed check (``scripts/time-report``). A test fixture: it lives with the tests, and may read the
subject (its planets) and the article's figures, which the reports themselves never do.

The values are chosen, not measured, so that every figure in a report can be checked by hand: each sample set
is symmetric around its value, so the median asv computes is exactly that value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from asv import results as asv_results
from asv import util as asv_util
from asv.runner import BenchmarkResult

import benchmarks.harness.formats as formats
from planet_tracker.core import PLANETS as SUBJECT_PLANETS

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["aiohttp-dev", "flask-dev", "aiohttp-gunicorn", "flask-gunicorn", "aiohttp-gunicorn-w4",
             "flask-gunicorn-w4", "flask-gunicorn-gthread", "aiohttp-gunicorn-uvloop", "aiohttp-gunicorn-wauto",
             "flask-gunicorn-wauto"]
ARTICLE = SCENARIOS[:6]
STRATEGIES = ["requests-sequential", "requests-threads-10", "requests-threads-20", "threadpool", "aiohttp-gather"]
PLANETS = list(SUBJECT_PLANETS)
# Offsets of the samples around their value: symmetric, so the median is the value itself.
SPREAD = (-0.02, -0.015, -0.01, -0.005, 0.0, 0.0, 0.0, 0.0, 0.005, 0.01, 0.015, 0.02)

# Requests per second at the newest commit on the first Python (the others scale these, see value()).
RATES = {"aiohttp-dev": 12000, "flask-dev": 1600, "aiohttp-gunicorn": 12500, "flask-gunicorn": 3200,
         "aiohttp-gunicorn-w4": 18000, "flask-gunicorn-w4": 5000, "flask-gunicorn-gthread": 2500,
         "aiohttp-gunicorn-uvloop": 13000, "aiohttp-gunicorn-wauto": 19000, "flask-gunicorn-wauto": 5600}
KEEPALIVE_OFF = {"aiohttp-dev": 7200, "flask-dev": 1520, "aiohttp-gunicorn": 7500, "flask-gunicorn": 3040,
                 "aiohttp-gunicorn-w4": 10800, "flask-gunicorn-w4": 4750}
IO_BOUND = {"aiohttp-dev": 800, "flask-dev": 640, "aiohttp-gunicorn": 820, "flask-gunicorn": 50,
            "aiohttp-gunicorn-w4": 900, "flask-gunicorn-w4": 190}
CLIENT_WALL = {"requests-sequential": 1.05, "requests-threads-10": 0.11, "requests-threads-20": 0.06,
               "threadpool": 0.03, "aiohttp-gather": 0.015}
POSITION_US = {"mercury": 12.0, "venus": 10.0, "mars": 20.0, "jupiter": 25.0, "saturn": 22.0, "uranus": 18.0,
               "neptune": 17.0}
# Instructions per request (servers, clients) and per call (core), as the valgrind channel counts them.
SERVER_INSTRUCTIONS = {s: 600_000.0 if s.startswith("aiohttp") else 1_300_000.0 for s in SCENARIOS}
CLIENT_INSTRUCTIONS = {"requests-sequential": 2_000_000.0, "requests-threads-10": 2_100_000.0,
                       "requests-threads-20": 2_200_000.0, "threadpool": 2_600_000.0, "aiohttp-gather": 1_100_000.0}
# The suite's benchmarks, by the role the reports give them (the record's "benchmarks").
BENCHMARKS = {"throughput": "servers.ServerThroughput.time_batch",
              "instructions": "instructions.ServerInstructions.track_instructions_per_request",
              "keepalive_off": "methodology.KeepAliveOff.time_batch", "io_bound": "methodology.IOBound.time_batch",
              "clients": "clients.ClientStrategies.time_batch"}
INSTRUCTIONS = BENCHMARKS["instructions"]
# The article's own numbers, as the suite records them.
FIGURES = json.loads((ROOT / "benchmarks" / "harness" / "article_figures.json").read_text())


# The suite's record of its settings, as `python -m benchmarks provenance` writes it.
PROVENANCE = formats.PROVENANCE.stamp({
    "environment": {"python": "3.11.9", "packages": {"aiohttp": "3.14.5"}, "tools": {"ab": "2.3"}},
    "load": {"batch": {"generator": "ab", "version": "2.3",
                       "argv": ["ab", "-l", "-r", "-c", "20", "-k", "-n", "1000", "-s", "10",
                                "http://127.0.0.1:{port}/planets/mars?lon=145.051&lat=-39.754&elevation=0"]}},
    "suite": {
        "concurrency": 20, "keepalive": True, "io_ms": 20, "pinned": False,
        "batch_requests": {"servers.ServerThroughput.time_batch": 1000, "methodology.KeepAliveOff.time_batch": 1000,
                           "methodology.IOBound.time_batch": 50},
        "client": {"requests": 100, "delay_ms": 10.0,
                   "concurrency": {"requests-sequential": 1, "requests-threads-10": 10, "requests-threads-20": 20,
                                   "threadpool": 100, "aiohttp-gather": 100}},
        "repeats": {"servers.ServerThroughput.time_batch": {"rounds": 4, "repeat": [6, 6, 60.0]}},
    },
    "benchmarks": BENCHMARKS,
    "pairs": [{"key": "gthread", "label": "gunicorn: aiohttp worker vs gthread (4 threads)",
               "aiohttp": "aiohttp-gunicorn", "flask": "flask-gunicorn-gthread"},
              {"key": "uvloop", "label": "gunicorn: uvloop worker vs sync worker", "aiohttp": "aiohttp-gunicorn-uvloop",
               "flask": "flask-gunicorn"},
              {"key": "wauto", "label": "gunicorn -w (2 x cores + 1)", "aiohttp": "aiohttp-gunicorn-wauto",
               "flask": "flask-gunicorn-wauto"}],
    "article": {
        "rows": [{"key": "development", "label": "Development server", "aiohttp": "aiohttp-dev", "flask": "flask-dev"},
                 {"key": "gunicorn", "label": "gunicorn", "aiohttp": "aiohttp-gunicorn", "flask": "flask-gunicorn"},
                 {"key": "gunicorn_w4", "label": "gunicorn -w 4", "aiohttp": "aiohttp-gunicorn-w4",
                  "flask": "flask-gunicorn-w4"}],
        "client": {"requests-sequential": "requests_sequential", "requests-threads-10": "requests_threads_10",
                   "requests-threads-20": "requests_threads_20", "aiohttp-gather": "aiohttp_gather"},
        "figures": FIGURES,
    },
})


def benchmark_table() -> dict[str, dict]:
    """benchmarks.json entries for the suite's benchmarks (names, parameters, units) as asv discovers them."""
    def entry(name, params, param_names, kind="time", unit="seconds"):
        return {"name": name, "params": [[repr(p) for p in values] for values in params],
                "param_names": param_names, "type": kind, "unit": unit, "version": "1", "code": "", "number": 1,
                "rounds": 4, "repeat": 0, "min_run_count": 2, "sample_time": 0.01, "warmup_time": 0.0,
                "timeout": 120.0}
    return {b["name"]: b for b in (
        entry("servers.ServerThroughput.time_batch", [SCENARIOS], ["scenario"]),
        entry("methodology.KeepAliveOff.time_batch", [ARTICLE], ["scenario"]),
        entry("methodology.IOBound.time_batch", [ARTICLE], ["scenario"]),
        entry("clients.ClientStrategies.time_batch", [STRATEGIES], ["strategy"]),
        entry("core.Position.time_position_body", [PLANETS], ["planet"]),
        entry("core.Query.time_parse_query", [], []),
        entry(INSTRUCTIONS, [SCENARIOS], ["scenario"], "track", "instructions"),
        entry("instructions.ClientInstructions.track_instructions_per_request", [STRATEGIES], ["strategy"], "track",
              "instructions"),
        entry("instructions.QueryInstructions.track_instructions_parse_query", [], [], "track", "instructions"),
        entry("instructions.PositionInstructions.track_instructions_position_body", [PLANETS], ["planet"], "track",
              "instructions"),
    )}


def base_value(benchmark: str, param: str | None) -> float:
    """The value at the newest commit on the first Python."""
    if benchmark == "servers.ServerThroughput.time_batch":
        return 1000 / RATES[param]
    if benchmark == "methodology.KeepAliveOff.time_batch":
        return 1000 / KEEPALIVE_OFF[param]
    if benchmark == "methodology.IOBound.time_batch":
        return 50 / IO_BOUND[param]
    if benchmark == "clients.ClientStrategies.time_batch":
        return CLIENT_WALL[param]
    if benchmark == "core.Position.time_position_body":
        return POSITION_US[param] * 1e-6
    if benchmark == "core.Query.time_parse_query":
        return 5e-6
    if benchmark == INSTRUCTIONS:
        return SERVER_INSTRUCTIONS[param]
    if benchmark == "instructions.ClientInstructions.track_instructions_per_request":
        return CLIENT_INSTRUCTIONS[param]
    if benchmark == "instructions.QueryInstructions.track_instructions_parse_query":
        return 80_000.0
    return POSITION_US[param] * 12_000  # instructions.PositionInstructions.track_instructions_position_body


ValueFn = Callable[[str, str | None, int, int], float | None]


def default_value(benchmark: str, param: str | None, commit: int, python: int) -> float | None:
    """The golden fixture's values: the newest commit (index 0) is the base; each older commit is 5 % slower
    than the next one, except core.Position(mars), which the newest commit made 20 % slower (a regression), and
    flask-gunicorn's instructions per request, which it made 2 % more (a regression only the counted channel
    sees); the second Python is 10 % slower throughout."""
    value = base_value(benchmark, param) * (1.05 ** commit) * (1.1 ** python)
    if benchmark == "core.Position.time_position_body" and param == "mars" and commit == 0:
        value *= 1.2 * 1.05  # 20 % slower than the commit before
    if benchmark == INSTRUCTIONS and param == "flask-gunicorn" and commit == 0:
        value *= 1.02 * 1.05  # 2 % more than the commit before
    return value


def write(root: Path, commits: list[tuple[str, int]], pythons: list[str], machine: str = "fixture-machine",
          value: ValueFn = default_value, failed: set = frozenset(), skipped: set = frozenset(),
          missing: dict | None = None, spread: tuple[float, ...] = SPREAD,
          dependencies: Callable[[int, int], dict] | None = None) -> None:
    """Write an asv project at ``root``: asv.conf.json, results/benchmarks.json, machine.json and one results
    file per commit and Python.

    ``commits`` is newest first: (hash, date in ms). ``failed`` and ``skipped`` hold (benchmark, param, commit
    index, python index) to store as None (failed) and NaN (skipped); ``missing`` maps (commit index) to
    scenarios that commit's suite did not have yet. ``spread`` holds each sample's offset from its value, as a
    fraction (the same for every timed benchmark). ``dependencies`` gives (commit index, python index) the record
    pipeline/installs.py would add to that results file (``{"packages": ...}`` or ``{"error": ...}``).
    """
    results_dir = root / "results"
    (results_dir / machine).mkdir(parents=True, exist_ok=True)
    (root / "asv.conf.json").write_text(json.dumps({
        "version": 1, "project": "planet-tracker", "project_url": "https://example.invalid/", "repo": ".",
        "branches": ["main"], "environment_type": "virtualenv", "pythons": pythons, "results_dir": "results",
        "html_dir": "html", "benchmark_dir": "benchmarks"}, indent=1))
    table = benchmark_table()
    asv_util.write_json(results_dir / "benchmarks.json", table, api_version=2)
    asv_util.write_json(results_dir / machine / "machine.json", {
        "machine": machine, "cpu": "Fixture CPU @ 2.0GHz", "num_cpu": "2", "os": "Linux", "arch": "x86_64",
        "ram": str(24 * 2**30)}, api_version=1)
    provenance = root / "provenance" / f"{machine}.json"
    provenance.parent.mkdir(parents=True, exist_ok=True)
    provenance.write_text(json.dumps(PROVENANCE, indent=1) + "\n")
    missing = missing or {}
    for c, (commit, date) in enumerate(commits):
        for p, python in enumerate(pythons):
            env = f"virtualenv-py{python}"
            result = asv_results.Results(
                {"machine": machine, "python": python, "cpu": "Fixture CPU @ 2.0GHz", "num_cpu": "2"},
                {}, commit, date, python, env, {})
            for name, info in table.items():
                values = [v.strip("'") for v in info["params"][0]] if info["params"] else [None]
                values = [v for v in values if v not in missing.get(c, ())]
                bench = {**info, "params": [[repr(v) for v in values]] if info["params"] else []}
                numbers, samples, counts = [], [], []
                for param in values:
                    if (name, param, c, p) in failed:
                        numbers.append(None), samples.append(None), counts.append(None)
                    elif (name, param, c, p) in skipped:
                        numbers.append(math.nan), samples.append(None), counts.append(None)
                    else:
                        v = value(name, param, c, p)
                        numbers.append(v)
                        samples.append([v * (1 + d) for d in spread] if info["type"] == "time" else None)
                        counts.append(1 if info["type"] == "time" else None)
                result.add_result(bench, BenchmarkResult(numbers, samples, counts, 0, "", None),
                                  record_samples=True)
            result.save(str(results_dir))
            if dependencies is not None:
                path = results_dir / asv_results.get_filename(machine, commit, env)
                data = json.loads(path.read_text())
                path.write_text(json.dumps({**data, "dependencies": dependencies(c, p)}))
