"""The shared base of the asv suite: servers started once per benchmark process and checked on every sample.

asv runs ``setup()`` before every sample (and ``teardown()`` after it), so a server cannot be started there:
``kept()`` starts it the first time a benchmark process asks for it, as a context manager entered on an
``ExitStack`` that closes when the process ends (atexit; the launcher's parent-death signal covers a worker that
leaves with ``os._exit`` or is killed on a timeout). Every benchmark that needs a server gets it this one way:
the scenarios' servers (``ServerBenchmark.setup``) and the clients' latency server alike. Every load batch is
verified: a non-2xx answer, a socket error or a dead server raises, so asv records the benchmark as failed and
never as a number.
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Callable
from dataclasses import replace

from benchmarks.harness import verify
from benchmarks.harness.article import ARTICLE
from benchmarks.harness.errors import LoadFailed
from benchmarks.harness.launcher import Server
from benchmarks.harness.loadgen import preferred, run_load
from benchmarks.harness.loadgen.base import LoadSettings
from benchmarks.harness.scenarios import ARTICLE_SCENARIOS, SCENARIOS

SCENARIO_IDS = list(SCENARIOS)
ARTICLE_IDS = [scenario.id for scenario in ARTICLE_SCENARIOS]
# The article's batch. One batch is one sample; asv times it.
BATCH = ARTICLE.load
# Before the first sample: this many requests per worker. With 200 in all, the first sample of every round of the
# four- and five-worker servers was the slowest, by up to 2.5x (each worker warms its own interpreter).
WARMUP = replace(ARTICLE.load, requests=200)

_KEPT: dict[str, Server] = {}
_RUNNING = contextlib.ExitStack()  # closed at exit: stops every kept server
atexit.register(_RUNNING.close)
# Seconds of load as the generator itself timed them (ab's "Time taken for tests"), summed over this process's
# batches: the clock asv reads for the batch benchmarks (see ServerBenchmark.timer).
_LOAD_SECONDS = [0.0]


def load_clock() -> float:
    """A clock that moves only while a generator sends load: a sample is a batch's own duration, without the time
    it takes to start the tool (a noticeable share of a 0.1 s batch)."""
    return _LOAD_SECONDS[0]


def kept(key: str, start: Callable[[], Server], ready: Callable[[Server], None] = lambda server: None) -> Server:
    """The server kept under ``key`` in this process: started with ``start()`` and checked with ``ready()`` the
    first time (stopped again if that fails), then the same one until the process ends."""
    if key not in _KEPT:
        with contextlib.ExitStack() as starting:
            server = starting.enter_context(start())
            ready(server)
            _KEPT[key] = server
            _RUNNING.push(starting.pop_all())
    return _KEPT[key]


def stop_all() -> None:
    """Stop every kept server now (what happens at exit anyway)."""
    _RUNNING.close()
    _KEPT.clear()


def _verified_and_warm(server: Server, workers: int = 1) -> None:
    verify.check_target(server.port, ARTICLE.path)
    load(server, ARTICLE.path, replace(WARMUP, requests=WARMUP.requests * workers))


def server_for(scenario_id: str) -> Server:
    """The running, verified and warmed-up server of a scenario."""
    scenario = SCENARIOS[scenario_id]
    return kept(scenario_id, lambda: Server(scenario.spec()),
                lambda server: _verified_and_warm(server, scenario.resolved_workers))


def load(server: Server, path: str, settings: LoadSettings) -> None:
    """One verified batch against ``server``: raises unless every request got a 2xx answer in time."""
    result = run_load(preferred(fixed_count=settings.requests is not None), server.url(path), settings)
    server.check_alive()
    problem = verify.check_load(result)
    if problem:
        raise LoadFailed(f"{server.command_line}: {problem}")
    _LOAD_SECONDS[0] += result.duration_s



class ServerBenchmark:
    """Timing settings shared by the benchmarks that load a server: one batch per sample, timed by the
    generator's own clock; no asv warm-up (the server is warmed up once when it starts).

    asv runs each scenario of a benchmark in a process of its own, one after the other, in every round: the
    scenarios the report divides one by the other (aiohttp and Flask under the same server, a server and the
    development one) are listed next to each other, so their samples of a round are taken seconds apart, and
    rounds minutes apart. Each round takes exactly ``repeat[0]`` samples, so that the report can pair the two
    sides round by round (``reports.intervals``): the machine's drift between rounds then moves both alike.
    Processes differ more than the samples within one, and asv's Mann-Whitney test needs those differences
    sampled on both sides of a comparison, which ``asv run --interleave-rounds`` alternates between commits."""

    number = 1
    repeat = (6, 6, 60.0)  # exactly 6 samples a round (60 s is a bound, not a target)
    rounds = 4
    warmup_time = 0.0
    timeout = 120.0
    timer = staticmethod(load_clock)

    def setup(self, scenario):
        self.server = server_for(scenario)
