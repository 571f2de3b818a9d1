"""Verified, repeated load runs against server scenarios: the harness's measurement protocol.

For a set of scenarios: start every server (measuring start-to-ready time) and verify its answer; run one
warm-up per scenario (discarded); then ``repeats`` rounds with the scenarios interleaved (A B A B ...), so that
a slow spell of the machine hits all of them alike. Around every run the server's process group, the generator
and the whole machine are measured from /proc; a repeat disturbed by steal time or other processes is run again.
Any non-2xx answer, socket error, timeout or dead server fails the scenario, which then yields no number (unless
the settings count socket errors and timeouts instead: the sweep's overloaded points). ``measure`` starts and stops
the servers; ``measure_started`` applies the same protocol to servers the caller keeps, for several settings in turn.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

from . import procstat, verify
from .article import ARTICLE
from .errors import HarnessError, LoadFailed, ServerError, ToolMissing, VerificationFailed
from .launcher import Server
from .loadgen import GENERATORS, preferred
from .loadgen.base import LoadGenerator, LoadSettings, run_load
from .results import Sample, ServerRun
from .scenarios import Scenario

Progress = Callable[[str], None]


# Many short runs rather than a few long ones: on this kind of machine the run-to-run spread (CV ~5 %) does not
# shrink with longer runs (1, 2, 5 and 10 s runs all gave 3-6 %), while the median's confidence interval shrinks
# with the number of runs. 30 runs of 1 s put its half-width near 2 %.
DEFAULT_LOAD = replace(ARTICLE.load, requests=None, duration_s=1.0)
DEFAULT_REPEATS = 30


@dataclass(frozen=True)
class RunSettings:
    """The measurement protocol; every field is recorded with the results."""

    load: LoadSettings = DEFAULT_LOAD
    generator: str = "auto"  # "ab", "wrk", "builtin", or "auto": the best one installed
    repeats: int = DEFAULT_REPEATS
    warmup: bool = True
    io_ms: int = 0  # the handler's simulated downstream wait
    pin: bool = False  # server on CPU 0, generator on CPU 1 (taskset); off by default: it made spread worse here
    cpus: tuple[int, int] = (0, 1)  # with pin: the server's CPU and the generator's
    # Socket errors and timeouts counted in the samples instead of failing the run (non-2xx answers still fail it):
    # under overload they are a property of the point (the sweep).
    count_transport_errors: bool = False
    steal_limit: float = 0.05  # a repeat with more steal than this share of capacity is disturbed...
    other_limit: float = 0.10  # ... or with more CPU used by other processes than this share
    max_reruns: int = 3  # disturbed repeats measured again, per scenario

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError("repeats must be >= 1")
        if self.io_ms < 0:  # its upper limit is the subject's: the server's first answer names it
            raise ValueError("io_ms must be >= 0")
        if self.pin and (os.cpu_count() or 1) < 2:
            raise ValueError("pinning needs at least 2 CPUs")

    @property
    def path(self) -> str:
        return ARTICLE.waiting(self.io_ms)

    def to_dict(self, generator: LoadGenerator) -> dict:
        data = asdict(self)
        data["load"] = asdict(self.load)
        data.update(generator=generator.name, generator_version=generator.version(), path=self.path)
        return data


def on_cpu(cpu: int) -> tuple[str, ...]:
    """The prefix that runs a command on one CPU only (util-linux's taskset)."""
    return ("taskset", "-c", str(cpu))


def choose_generator(name: str, load: LoadSettings) -> LoadGenerator:
    """The generator asked for (ToolMissing if absent), or for "auto" the best installed one for this load."""
    if name != "auto":
        try:
            generator = GENERATORS[name]
        except KeyError:
            raise HarnessError(f"unknown load generator {name!r}; choose from auto, {', '.join(GENERATORS)}") from None
        if generator.name == "wrk" and load.requests is not None:
            raise HarnessError("wrk runs for a duration, not a request count: use --duration, or --load ab")
        return generator
    return preferred(fixed_count=load.requests is not None)


class _Measured:
    """A scenario's server and what has been measured on it so far."""

    def __init__(self, scenario: Scenario, server: Server | None, failure: str | None) -> None:
        self.scenario = scenario
        self.server = server
        self.failure = failure
        self.samples: list[Sample] = []
        self.reruns = 0


def measure(scenarios: Sequence[Scenario], settings: RunSettings, progress: Progress | None = None,
            port: int | None = None) -> list[ServerRun]:
    """Measure each scenario under the protocol; one ServerRun per scenario, in the order given.

    ``port`` fixes the port of a single scenario (PortBusy if it is taken); by default each gets a free one.
    """
    if port and len(scenarios) != 1:
        raise ValueError("a fixed port applies to a single scenario")
    if settings.pin and not shutil.which("taskset"):
        raise ToolMissing("taskset is not installed: apt-get install util-linux")
    say = progress or (lambda message: None)
    generator = choose_generator(settings.generator, settings.load)
    generator.version()  # ToolMissing now, before any server starts, not as every scenario's warm-up failure
    with contextlib.ExitStack() as stack:
        states = _start(stack, scenarios, settings, port, say)
        _rounds(states, generator, settings, say)
        return [_record(state, settings.to_dict(generator)) for state in states]


def measure_started(servers: Sequence[tuple[Scenario, Server | str]], settings: RunSettings,
                    progress: Progress | None = None) -> list[ServerRun]:
    """``measure`` on servers the caller started, verified and will stop (each scenario with its server, or the
    reason it has none: recorded as failed): to measure several settings on the same servers, whose start, warm-up
    and stop cost more than one setting's runs, or to do more with a server once it is measured. With ``pin`` the
    caller starts each server on ``cpus[0]`` (``on_cpu``)."""
    if settings.pin and not shutil.which("taskset"):
        raise ToolMissing("taskset is not installed: apt-get install util-linux")
    say = progress or (lambda message: None)
    generator = choose_generator(settings.generator, settings.load)
    generator.version()
    states = [_Measured(scenario, None, server) if isinstance(server, str) else _Measured(scenario, server, None)
              for scenario, server in servers]
    _rounds(states, generator, settings, say)
    return [_record(state, settings.to_dict(generator)) for state in states]


def _rounds(states: Sequence[_Measured], generator: LoadGenerator, settings: RunSettings, say: Progress) -> None:
    """The warm-up (if any), then the repeats, the scenarios interleaved within each."""
    rounds = [("warm-up", 0)] if settings.warmup else []
    rounds += [(f"repeat {r + 1}/{settings.repeats}", r + 1) for r in range(settings.repeats)]
    for label, number in rounds:
        for state in states:
            if not state.failure:
                _one_round(state, generator, settings, label, number, say)


def _start(stack: contextlib.ExitStack, scenarios: Sequence[Scenario], settings: RunSettings, port: int | None,
           say: Progress) -> list[_Measured]:
    """Every scenario's server started and its answer checked; a server that fails is recorded, not raised."""
    states = []
    for scenario in scenarios:
        spec = scenario.spec()
        if settings.pin:
            spec = replace(spec, argv=(*on_cpu(settings.cpus[0]), *spec.argv))  # keeps the stop signal and the rest
        say(f"starting {scenario.id}: {' '.join(spec.argv[1:])}")
        try:
            server = stack.enter_context(Server(spec, port=port))
            verify.check_target(server.port, settings.path)
            states.append(_Measured(scenario, server, None))
        except (ServerError, VerificationFailed) as error:
            states.append(_Measured(scenario, None, str(error).splitlines()[0]))
            say(f"  {scenario.id} FAILED: {states[-1].failure}")
    # Runs first on the way out (callbacks unwind last-in first-out): every server is told to stop at once,
    # then each one's stop() waits for it.
    stack.callback(lambda: [state.server.signal_stop() for state in states if state.server])
    return states


def _one_round(state: _Measured, generator: str, settings: RunSettings, label: str, number: int,
               say: Progress) -> None:
    """One load run against one server (round 0 is the warm-up, kept nowhere); a disturbed repeat is measured
    again up to ``max_reruns`` times; a failure ends the scenario."""
    pin_load = on_cpu(settings.cpus[1]) if settings.pin else ()
    try:
        sample = _run_once(state.server, generator, settings, pin_load)
        while sample.disturbed and number and state.reruns < settings.max_reruns:
            state.reruns += 1
            say(f"  {state.scenario.id} {label} disturbed (steal {sample.steal_share:.1%}, other "
                f"{sample.other_cpu_share:.1%}): measuring again")
            sample = _run_once(state.server, generator, settings, pin_load)
    except (LoadFailed, ServerError, VerificationFailed, ToolMissing) as error:
        state.failure = str(error).splitlines()[0]
        say(f"  {state.scenario.id} {label} FAILED: {state.failure}")
        return
    if number:
        state.samples.append(sample)
    say(f"  {state.scenario.id} {label}: {sample.requests_per_s:,.0f} req/s"
        + (" (disturbed)" if sample.disturbed else ""))


def _record(state: _Measured, recorded: dict) -> ServerRun:
    scenario = _scenario_dict(state.scenario)
    if state.failure:
        return ServerRun(scenario, recorded, "failed", reason=state.failure,
                         ready_s=state.server.ready_s if state.server else None)
    return ServerRun(scenario, recorded, "ok", ready_s=state.server.ready_s, samples=tuple(state.samples),
                     reruns=state.reruns)


def _scenario_dict(scenario: Scenario) -> dict:
    return {"id": scenario.id, "framework": scenario.framework, "server": scenario.server,
            "workers": scenario.resolved_workers, "worker_class": scenario.worker_class,
            "threads": scenario.threads, "label": scenario.label}


def _run_once(server: Server, generator: LoadGenerator, settings: RunSettings, prefix: Sequence[str]) -> Sample:
    """One load run with everything around it measured; LoadFailed/ServerDied when it cannot count."""
    leader = server.pgid
    pids = server.pids()
    cpu_before = procstat.cpu_seconds(pids)
    opens_before = procstat.tcp_passive_opens()
    machine_before = procstat.SystemTimes.read()

    result = run_load(generator, server.url(settings.path), settings.load, prefix=prefix)

    machine = procstat.SystemTimes.read() - machine_before
    opens = procstat.tcp_passive_opens() - opens_before
    pids = server.pids()
    cpu_after = procstat.cpu_seconds(pids)
    server.check_alive()
    # Counted transport errors stay in the sample (result.socket_errors); only the answers are judged.
    problem = verify.check_load(replace(result, socket_errors={}) if settings.count_transport_errors else result)
    if problem:
        raise LoadFailed(f"{generator.name} against {server.url(settings.path)}: {problem}")
    # Still answering correctly after the load, within a request's own timeout: an overloaded server may first
    # have to drain the connections the generator left queued.
    verify.check_target(server.port, settings.path, timeout=settings.load.timeout_s)

    used = {pid: cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in cpu_after}
    server_cpu = sum(used.values())
    workers = [cpu for pid, cpu in used.items() if pid != leader] or [used.get(leader, 0.0)]
    capacity = machine.capacity or 1.0
    steal = machine.steal / capacity
    other = max(0.0, machine.tasks - server_cpu - result.generator_cpu_s) / capacity
    return Sample(
        load=result,
        server_cpu_s=server_cpu,
        process_cpu_s=tuple(sorted(used.values(), reverse=True)),
        worker_cpu_s=tuple(sorted(workers, reverse=True)),
        connections=opens,
        steal_share=steal,
        other_cpu_share=other,
        disturbed=steal > settings.steal_limit or other > settings.other_limit,
        peak_rss_bytes=sum(procstat.peak_rss_bytes(pids).values()),
    )
