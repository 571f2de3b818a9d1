"""Where async overtakes sync: throughput over concurrency x handler wait, and latency at a fixed arrival rate.

The article measured one point (20 connections, a handler that waits for nothing). ``grid`` measures each sweep
scenario at every concurrency and ``io_ms`` of the settings through the runner's verified protocol: the four servers
are started once for the whole grid (starting, warming up and stopping four servers took longer than a point's
runs) and their runs are interleaved at each point, so a ratio's two sides see the same machine; servers and wrk
share every CPU. ``open_loop`` takes the article's six scenarios one at a time: the server on one CPU and the load
generator on another (``cpu_split``), the server's capacity measured closed-loop (wrk, the harness's default
load), then the open-loop generator (``openloop``) at fixed shares of it against the same server.

Under overload a socket error or a timeout is a property of the point: it is counted in the point's record and
does not fail it. A point fails when an answer was wrong (non-2xx, or not the computed position), its server died
or never started, or nothing could be measured there; ``failed`` lists those records.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from . import openloop, procstat, runner, verify
from .article import ARTICLE
from .errors import LoadFailed, ServerError, VerificationFailed
from .launcher import Server
from .loadgen.base import LoadSettings
from .results import OpenLoopRun, ServerRun
from .scenarios import ARTICLE_SCENARIOS, SCENARIOS, Scenario

# aiohttp under its gunicorn worker and its development server; Flask under gunicorn's sync worker with 2 x cores
# + 1 workers (gunicorn's advice), and under gthread.
SWEEP_IDS = ("aiohttp-gunicorn", "aiohttp-dev", "flask-gunicorn-wauto", "flask-gunicorn-gthread")
# Eight times more connections at each step. Where async overtakes sync lies between 1 and 8 connections at every
# wait; 64 and 512 show how far it goes. (Until 2026-12-01: 1, 8, 32, 128, 512. A fifth column cost a minute, half
# of it Flask's workers draining the connections wrk left queued with a 100 ms wait, and make sweep has 10.)
CONCURRENCY = (1, 8, 64, 512)
IO_MS = (0, 10, 100)
SHARES = (0.5, 0.8)  # of each scenario's measured capacity


@dataclass(frozen=True)
class CpuSplit:
    """Which CPU the server runs on and which one its load generator runs on (``taskset -c``), or None for both
    when they are not pinned; ``note`` says it in words, for the record and the report."""

    server: int | None
    generator: int | None
    note: str

    @property
    def pinned(self) -> bool:
        return self.server is not None

    def to_dict(self) -> dict:
        return asdict(self)


# The map compares the frameworks as each would run on the machine: four servers (Flask's with 2 x cores + 1
# workers) and wrk, all on every CPU.
SHARED = CpuSplit(None, None, "not pinned: the servers and wrk share every CPU")


def cpu_split() -> CpuSplit:
    """The open loop's split: the server on the first CPU this process may use, the generator on the second; not
    pinned, and saying why, with a single CPU or without taskset (util-linux)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return CpuSplit(None, None, f"not pinned: only one CPU ({cpus[0]}) is available, so the server and the load "
                                    "generator share it")
    if not shutil.which("taskset"):
        return CpuSplit(None, None, "not pinned: taskset (util-linux) is not installed, so the server and the load "
                                    "generator share every CPU")
    server, generator = cpus[:2]
    return CpuSplit(server, generator, f"server on CPU {server}, load generator (wrk for the capacity, then the "
                                       f"open-loop generator) on CPU {generator}, with taskset")


@dataclass(frozen=True)
class SweepSettings:
    scenario_ids: tuple[str, ...] = SWEEP_IDS
    concurrency: tuple[int, ...] = CONCURRENCY
    io_ms: tuple[int, ...] = IO_MS
    repeats: int = 3  # 1-second runs per point, interleaved across the scenarios
    open_loop_ids: tuple[str, ...] = tuple(s.id for s in ARTICLE_SCENARIOS)
    shares: tuple[float, ...] = SHARES
    open_loop_s: int = 10
    capacity_repeats: int = 5
    # An open-loop point off schedule while the machine was disturbed (steal, or other processes' CPU, above the
    # runner's limits) is measured once more, for this many points at most in all: the other processes, not the
    # server, may have set its pace (a bound, so that a busy machine cannot stretch the sweep by minutes).
    open_loop_reruns: int = 3
    # A grid run disturbed by steal or other processes is kept and flagged, not run again: on a shared machine
    # re-runs were a large, unpredictable share of the time, and a point's scenarios are interleaved, so a
    # disturbance hits both sides of its ratio. A capacity run is: the open loop's rates are shares of it.
    max_reruns: int = 0
    capacity_reruns: int = 3

    def __post_init__(self) -> None:
        unknown = [i for i in (*self.scenario_ids, *self.open_loop_ids) if i not in SCENARIOS]
        if unknown:
            raise ValueError(f"unknown scenario(s): {', '.join(unknown)}")
        # io_ms's upper limit is the subject's: a server's first answer names it.
        if not all(c >= 1 for c in self.concurrency) or not all(ms >= 0 for ms in self.io_ms):
            raise ValueError("concurrency must be >= 1 and io_ms >= 0")
        if not all(0 < share <= 1 for share in self.shares):
            raise ValueError("open-loop shares must be in (0, 1]")
        if self.repeats < 2:
            raise ValueError("a sweep point needs at least 2 repeats for an interval")

    def point(self, concurrency: int, io_ms: int) -> runner.RunSettings:
        # A long per-request timeout: at 512 connections a single sync worker queues answers for seconds, and
        # a queued answer is slow, not failed. wrk gets 2 threads where there are connections for them.
        load = LoadSettings(concurrency=concurrency, duration_s=1.0, timeout_s=30.0, threads=min(2, concurrency))
        return runner.RunSettings(load=load, generator="wrk", repeats=self.repeats, io_ms=io_ms,
                                  max_reruns=self.max_reruns, count_transport_errors=True)

    def capacity(self, split: CpuSplit) -> runner.RunSettings:
        """The harness's default load (wrk, 20 connections, 1 s runs), pinned as the open loop will be."""
        cpus = (split.server, split.generator) if split.pinned else (0, 1)
        return runner.RunSettings(repeats=self.capacity_repeats, max_reruns=self.capacity_reruns,
                                  count_transport_errors=True, pin=split.pinned, cpus=cpus)


def grid(settings: SweepSettings, progress: runner.Progress | None = None) -> list[ServerRun]:
    """Every sweep scenario at every (io_ms, concurrency) point: one ServerRun per scenario and point."""
    say = progress or (lambda message: None)
    scenarios = [SCENARIOS[i] for i in settings.scenario_ids]
    servers: dict[str, Server] = {}
    runs: list[ServerRun] = []
    with contextlib.ExitStack() as stack:
        try:
            for io_ms in settings.io_ms:
                for concurrency in settings.concurrency:
                    say(f"sweep point: {concurrency} connections, handler waits {io_ms} ms")
                    point = settings.point(concurrency, io_ms)
                    ready, started = _ready(stack, servers, scenarios, point, say)
                    # A server's first runs after its start are the warm-up; later points need none.
                    measured = runner.measure_started(ready, replace(point, warmup=started), say)
                    for run in measured:
                        if transport_errors(run):
                            say(f"  {run.id}: {transport_errors(run)} transport error(s), counted")
                    runs += mark_best([_role(run, "grid", SHARED) for run in measured])
        finally:
            for server in servers.values():  # every server told to stop at once; the stack then waits for each
                server.signal_stop()
    return runs


def _ready(stack: contextlib.ExitStack, servers: dict[str, Server], scenarios: Sequence[Scenario],
           point: runner.RunSettings, say: runner.Progress) -> tuple[list[tuple[Scenario, Server | str]], bool]:
    """Each scenario's server for this point, its answer at the point's path verified: the one already running,
    or a new one where there is none yet or it died (or the reason it has none). Also whether one was started."""
    ready: list[tuple[Scenario, Server | str]] = []
    started = False
    for scenario in scenarios:
        server = servers.get(scenario.id)
        try:
            if server is None or not _alive(server):
                if server is not None:
                    say(f"  {scenario.id} died: starting it again")
                    server.stop()
                spec = scenario.spec()
                say(f"starting {scenario.id}: {' '.join(spec.argv[1:])}")
                server = servers[scenario.id] = stack.enter_context(Server(spec))
                started = True
            verify.check_target(server.port, point.path)
            ready.append((scenario, server))
        except (ServerError, VerificationFailed) as error:
            ready.append((scenario, str(error).splitlines()[0]))
            say(f"  {scenario.id} FAILED: {ready[-1][1]}")
    return ready, started


def _alive(server: Server) -> bool:
    try:
        server.check_alive()
    except ServerError:
        return False
    return True


def _role(run: ServerRun, role: str, split: CpuSplit) -> ServerRun:
    """The run with what it was for in its settings (a "grid" point, or an open-loop scenario's "capacity") and
    how the CPUs were split."""
    return replace(run, settings={**run.settings, "role": role, "cpu_split": split.to_dict()})


def open_loop(settings: SweepSettings, progress: runner.Progress | None = None) -> list[ServerRun | OpenLoopRun]:
    """Each open-loop scenario in turn: its capacity (closed-loop, the harness's default protocol), then the
    open-loop generator at each share of it, on the same server; per scenario, the capacity run first."""
    say = progress or (lambda message: None)
    scenarios = [SCENARIOS[i] for i in settings.open_loop_ids]
    version = openloop.version()
    split = cpu_split()
    say(f"open loop ({split.note}): for each of {len(scenarios)} scenario(s), its capacity, then {version} at "
        f"{', '.join(f'{share:.0%}' for share in settings.shares)} of it for {settings.open_loop_s} s each")
    runs: list[ServerRun | OpenLoopRun] = []
    reruns = _Budget(settings.open_loop_reruns)
    for scenario in scenarios:
        runs += _scenario_open_loop(scenario, settings, split, version, reruns, say)
    return runs


@dataclass
class _Budget:
    left: int

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def _scenario_open_loop(scenario: Scenario, settings: SweepSettings, split: CpuSplit, version: str, reruns: _Budget,
                        say: runner.Progress) -> list[ServerRun | OpenLoopRun]:
    spec = scenario.spec()
    if split.pinned:
        spec = replace(spec, argv=(*runner.on_cpu(split.server), *spec.argv))
    say(f"starting {scenario.id}: {' '.join(spec.argv)}")
    with contextlib.ExitStack() as stack:
        try:
            server: Server | str = stack.enter_context(Server(spec))
            verify.check_target(server.port, ARTICLE.path)
        except (ServerError, VerificationFailed) as error:
            server = str(error).splitlines()[0]
            say(f"  {scenario.id} FAILED: {server}")
        (capacity,) = runner.measure_started([(scenario, server)], settings.capacity(split), say)
        capacity = _role(capacity, "capacity", split)
        if capacity.summary is None:
            return [capacity, *(OpenLoopRun(scenario.id, {"share": share, "cpu_split": split.to_dict()}, "failed",
                                            f"no capacity: {capacity.reason}") for share in settings.shares)]
        return [capacity, *_at_shares(scenario, server, capacity, settings, split, version, reruns, say)]


def _at_shares(scenario: Scenario, server: Server, capacity: ServerRun, settings: SweepSettings, split: CpuSplit,
               version: str, reruns: _Budget, say: runner.Progress) -> list[OpenLoopRun]:
    rate_max = capacity.summary.requests_per_s.median
    prefix = runner.on_cpu(split.generator) if split.pinned else ()
    limits = settings.capacity(split)  # the runner's limits of steal and other processes' CPU
    runs = []
    for share in settings.shares:
        load = openloop.OpenLoopSettings(rate=max(1.0, round(share * rate_max)), duration_s=settings.open_loop_s)
        recorded = {"share": share, "capacity_req_s": rate_max, "rate": load.rate, "duration_s": load.duration_s,
                    "connections": load.connections, "late_ms": load.late_ms, "generator": version,
                    "path": ARTICLE.path, "cpu_split": split.to_dict()}
        run = _one(server, load, {**recorded, "attempt": 1}, scenario.id, prefix)
        if (run.status == "not measured" and (run.result.steal_share > limits.steal_limit
                                              or run.result.other_cpu_share > limits.other_limit)
                and reruns.take()):
            say(f"  {scenario.id} at {share:.0%} off schedule while the machine was disturbed (steal "
                f"{run.result.steal_share:.1%}, other {run.result.other_cpu_share:.1%}): measuring again")
            run = _one(server, load, {**recorded, "attempt": 2}, scenario.id, prefix)
        runs.append(run)
        say(f"  {scenario.id} at {share:.0%} ({load.rate:,.0f} req/s): {_line(runs[-1])}")
    return runs


def _one(server: Server, load: openloop.OpenLoopSettings, recorded: dict, scenario_id: str,
         prefix: Sequence[str]) -> OpenLoopRun:
    try:
        result = _watched(server, load, prefix)
        server.check_alive()
    except (LoadFailed, ServerError) as error:
        return OpenLoopRun(scenario_id, recorded, "failed", str(error).splitlines()[0])
    if result.failed:
        return OpenLoopRun(scenario_id, recorded, "failed",
                           f"{result.failed} of {result.answered} answers were not a verified 2xx")
    if not result.answered:
        return OpenLoopRun(scenario_id, recorded, "failed",
                           f"no request was answered ({result.transport_errors} transport errors)")
    if not result.on_schedule:
        return OpenLoopRun(scenario_id, recorded, "not measured", _off_schedule(result, load), result)
    return OpenLoopRun(scenario_id, recorded, "ok", None, result)


def _watched(server: Server, load: openloop.OpenLoopSettings, prefix: Sequence[str]) -> openloop.OpenLoopResult:
    """One open-loop run, with the server's CPU time and the machine's steal and other processes around it."""
    cpu_before = procstat.cpu_seconds(server.pids())
    machine_before = procstat.SystemTimes.read()
    result = openloop.run(server.url(ARTICLE.path), load, prefix)
    machine = procstat.SystemTimes.read() - machine_before
    cpu_after = procstat.cpu_seconds(server.pids())
    server_cpu = sum(cpu - cpu_before.get(pid, 0.0) for pid, cpu in cpu_after.items())
    capacity = machine.capacity or 1.0
    return replace(result, server_cpu_s=server_cpu, steal_share=machine.steal / capacity,
                   other_cpu_share=max(0.0, machine.tasks - server_cpu - result.generator_cpu_s) / capacity)


def _off_schedule(result: openloop.OpenLoopResult, load: openloop.OpenLoopSettings) -> str:
    """Why requests missed their schedule, and who fell behind: the server (every allowed connection waiting for an
    answer), or the generator (requests sent late: its CPU was all used, or taken by other processes). Either way
    the missing requests' latency is unknown."""
    who = []
    if result.dropped:
        who.append(f"{result.dropped:,} found all {load.connections:,} connections waiting for answers: the server "
                   "fell behind")
    if result.late:
        cpu = ("it used a whole CPU" if result.generator_cpu_s >= 0.9 * result.wall_s
               else f"other processes used {result.other_cpu_share:.0%} of the machine")
        who.append(f"{result.late:,} went out more than {load.late_ms:g} ms late: the generator fell behind ({cpu})")
    return (f"{result.dropped_share:.2%} of requests could not go out on schedule (limit "
            f"{openloop.MAX_OFF_SCHEDULE_SHARE:.1%}); " + "; ".join(who))


def _line(run: OpenLoopRun) -> str:
    if run.result is None:
        return f"FAILED: {run.reason}"
    lat = run.result.latency_ms
    text = f"p50 {lat['50']:.2f} ms, p99 {lat['99']:.2f} ms, p99.9 {lat['99.9']:.2f} ms"
    if run.result.wall_s:
        text += (f"; generator CPU {run.result.generator_cpu_s / run.result.wall_s:.0%}, server CPU "
                 f"{run.result.server_cpu_s / run.result.wall_s:.0%}")
    if run.result.transport_errors:
        text += f", {run.result.transport_errors} transport error(s)"
    return text if run.status == "ok" else f"{text}; NOT MEASURED: {run.reason}"


def transport_errors(run: ServerRun | OpenLoopRun) -> int:
    """Requests of a measured point that got no answer (socket errors and timeouts): counted, never a failure."""
    if isinstance(run, OpenLoopRun):
        return run.result.transport_errors if run.result else 0
    return sum(sum(sample.load.socket_errors.values()) for sample in run.samples)


def mark_best(runs: Sequence[ServerRun]) -> list[ServerRun]:
    """One point's runs, the best of each framework (highest median req/s among those that measured cleanly)
    marked ``settings["best"]``: the point's headline is the ratio of the two, and the reports read the mark
    rather than choose again."""
    best = {}
    for run in runs:
        framework = run.scenario["framework"]
        if run.status == "ok" and (framework not in best or
                                   run.summary.requests_per_s.median > best[framework].summary.requests_per_s.median):
            best[framework] = run
    chosen = {id(run) for run in best.values()}
    return [replace(run, settings={**run.settings, "best": True}) if id(run) in chosen else run for run in runs]


def best_ratio(runs: Sequence[ServerRun]) -> float:
    """Among one point's runs (marked by ``mark_best``), the best aiohttp scenario's median req/s over the best
    Flask one's (NaN when a side has no run that measured cleanly)."""
    best = {run.scenario["framework"]: run.summary.requests_per_s.median for run in runs if run.settings.get("best")}
    return best.get("aiohttp", math.nan) / best.get("flask", math.nan)


def failed(records: Sequence[ServerRun | OpenLoopRun]) -> list[str]:
    """The records that make the sweep exit 1: a wrong answer (non-2xx, or not the computed position), a server that
    died or never started, a point where nothing could be measured. Transport errors under overload are counted in
    their points, and a point "not measured" (requests off schedule) keeps its numbers: neither is a failure."""
    return [r.id for r in records if r.status == "failed"]
