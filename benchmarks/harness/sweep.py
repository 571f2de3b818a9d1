"""Where async overtakes sync: throughput over concurrency x handler wait, and latency at a fixed arrival rate.

The article measured one point (20 connections, a handler that waits for nothing). ``grid`` measures each sweep
scenario at every concurrency and ``io_ms`` of the settings through the runner's verified protocol (the four
servers started together and their runs interleaved at each point, so a ratio's two sides see the same machine);
``open_loop`` measures the article's six scenarios' capacity the harness's default way, then sends k6 load at
fixed shares of it and records the latency from each request's scheduled start (``openloop``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from . import openloop, runner, verify
from .errors import LoadFailed, ServerError, ToolMissing, VerificationFailed
from .launcher import Server
from .loadgen.base import LoadSettings
from .results import OpenLoopRun, ServerRun
from .scenarios import ARTICLE_SCENARIOS, SCENARIOS, Scenario

# aiohttp under its gunicorn worker and its development server; Flask under gunicorn's sync worker with 2 x cores
# + 1 workers (gunicorn's advice), and under gthread.
SWEEP_IDS = ("aiohttp-gunicorn", "aiohttp-dev", "flask-gunicorn-wauto", "flask-gunicorn-gthread")
CONCURRENCY = (1, 8, 32, 128, 512)
IO_MS = (0, 10, 100)
SHARES = (0.5, 0.8)  # of each scenario's measured capacity


@dataclass(frozen=True)
class SweepSettings:
    scenario_ids: tuple[str, ...] = SWEEP_IDS
    concurrency: tuple[int, ...] = CONCURRENCY
    io_ms: tuple[int, ...] = IO_MS
    repeats: int = 3  # 1-second runs per point, after a warm-up; interleaved across the scenarios
    open_loop_ids: tuple[str, ...] = tuple(s.id for s in ARTICLE_SCENARIOS)
    shares: tuple[float, ...] = SHARES
    open_loop_s: int = 20
    capacity_repeats: int = 5

    def __post_init__(self) -> None:
        unknown = [i for i in (*self.scenario_ids, *self.open_loop_ids) if i not in SCENARIOS]
        if unknown:
            raise ValueError(f"unknown scenario(s): {', '.join(unknown)}")
        if not all(c >= 1 for c in self.concurrency) or not all(0 <= ms <= 1000 for ms in self.io_ms):
            raise ValueError("concurrency must be >= 1 and io_ms in 0-1000")
        if not all(0 < share <= 1 for share in self.shares):
            raise ValueError("open-loop shares must be in (0, 1]")
        if self.repeats < 2:
            raise ValueError("a sweep point needs at least 2 repeats for an interval")

    def point(self, concurrency: int, io_ms: int) -> runner.RunSettings:
        # A long per-request timeout: at 512 connections a single sync worker queues answers for seconds, and
        # a queued answer is slow, not failed. wrk gets 2 threads where there are connections for them.
        load = LoadSettings(concurrency=concurrency, duration_s=1.0, timeout_s=30.0, threads=min(2, concurrency))
        return runner.RunSettings(load=load, generator="wrk", repeats=self.repeats, io_ms=io_ms)


def grid(settings: SweepSettings, progress: runner.Progress | None = None) -> list[ServerRun]:
    """Every sweep scenario at every (io_ms, concurrency) point: one ServerRun per scenario and point."""
    say = progress or (lambda message: None)
    scenarios = [SCENARIOS[i] for i in settings.scenario_ids]
    runs: list[ServerRun] = []
    for io_ms in settings.io_ms:
        for concurrency in settings.concurrency:
            say(f"sweep point: {concurrency} connections, handler waits {io_ms} ms")
            runs += [_role(run, "grid") for run in runner.measure(scenarios, settings.point(concurrency, io_ms), say)]
    return runs


def _role(run: ServerRun, role: str) -> ServerRun:
    """The run with what it was for in its settings: a "grid" point, or an open-loop scenario's "capacity"."""
    return replace(run, settings={**run.settings, "role": role})


def open_loop(settings: SweepSettings, progress: runner.Progress | None = None) -> list[ServerRun | OpenLoopRun]:
    """Capacity of each open-loop scenario (closed-loop, the harness's default protocol), then k6 at each share
    of it; the capacity runs come first in the list."""
    say = progress or (lambda message: None)
    scenarios = [SCENARIOS[i] for i in settings.open_loop_ids]
    version = openloop.version()  # ToolMissing before any server starts
    say(f"open loop: capacity of {len(scenarios)} scenario(s), then {version} at "
        f"{', '.join(f'{share:.0%}' for share in settings.shares)} of it for {settings.open_loop_s} s each")
    capacity = [_role(run, "capacity")
                for run in runner.measure(scenarios, runner.RunSettings(repeats=settings.capacity_repeats), say)]
    runs: list[ServerRun | OpenLoopRun] = list(capacity)
    for scenario, measured in zip(scenarios, capacity, strict=True):
        runs += _at_shares(scenario, measured, settings, version, say)
    return runs


def _at_shares(scenario: Scenario, capacity: ServerRun, settings: SweepSettings, version: str,
               say: runner.Progress) -> list[OpenLoopRun]:
    if capacity.summary is None:
        return [OpenLoopRun(scenario.id, {"share": share}, "failed", f"no capacity: {capacity.reason}")
                for share in settings.shares]
    rate_max = capacity.summary.requests_per_s.median
    runs = []
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(Server(scenario.spec()))
            verify.check_target(server.port, runner.PLANET_PATH)
        except (ServerError, VerificationFailed) as error:
            return [OpenLoopRun(scenario.id, {"share": share}, "failed", str(error)) for share in settings.shares]
        for share in settings.shares:
            load = openloop.OpenLoopSettings(rate=max(1.0, round(share * rate_max)), duration_s=settings.open_loop_s)
            recorded = {"share": share, "capacity_req_s": rate_max, "rate": load.rate, "duration_s": load.duration_s,
                        "vus": load.vus, "generator": version, "path": runner.PLANET_PATH}
            runs.append(_one(server, load, recorded, scenario.id))
            say(f"  {scenario.id} at {share:.0%} ({load.rate:,.0f} req/s): {_line(runs[-1])}")
    return runs


def _one(server: Server, load: openloop.OpenLoopSettings, recorded: dict, scenario_id: str) -> OpenLoopRun:
    try:
        result = openloop.run(server.url(runner.PLANET_PATH), load)
        server.check_alive()
    except (LoadFailed, ServerError, ToolMissing) as error:
        return OpenLoopRun(scenario_id, recorded, "failed", str(error))
    if result.failed:
        return OpenLoopRun(scenario_id, recorded, "failed",
                           f"{result.failed} of {result.sent} answers were not a verified 2xx")
    if not result.on_schedule:
        # Who fell behind: k6 itself (a whole CPU busy on a 2-core machine), or the server (every VU waiting for
        # an answer, none free to start the next request). Either way the missing requests' latency is unknown.
        behind = ("k6 used a whole CPU: the generator fell behind" if result.generator_cpu_s >= 0.9 * result.wall_s
                  else f"all {load.vus} VUs were waiting for answers: the server fell behind")
        return OpenLoopRun(scenario_id, recorded, "not measured",
                           f"{result.dropped_share:.2%} of requests could not start on schedule (limit "
                           f"{openloop.MAX_DROPPED_SHARE:.1%}); {behind}", result)
    return OpenLoopRun(scenario_id, recorded, "ok", None, result)


def _line(run: OpenLoopRun) -> str:
    if run.result is None:
        return f"FAILED: {run.reason}"
    lat = run.result.latency_ms
    text = f"p50 {lat['50']:.2f} ms, p99 {lat['99']:.2f} ms, p99.9 {lat['99.9']:.2f} ms"
    return text if run.status == "ok" else f"{text}; NOT MEASURED: {run.reason}"


def best_ratio(runs: Sequence[ServerRun]) -> float:
    """Among one point's runs, the best aiohttp scenario's median req/s over the best Flask one's (NaN when a
    side has no run that measured cleanly)."""
    best = {framework: max((r.summary.requests_per_s.median for r in runs
                            if r.status == "ok" and r.scenario["framework"] == framework), default=math.nan)
            for framework in ("aiohttp", "flask")}
    return best["aiohttp"] / best["flask"]


def failed(records: Sequence[ServerRun | OpenLoopRun]) -> list[str]:
    """The records that failed verification (a point "not measured" is not a failure of the server)."""
    return [r.id for r in records if r.status == "failed"]
