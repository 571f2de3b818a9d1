"""The shared base of the asv suite: servers started once per benchmark process and checked on every sample.

asv runs ``setup()`` before every sample (and ``teardown()`` after it), so a server cannot be started there:
it is started the first time a benchmark process asks for it, kept in ``_SERVERS`` for the rest of that
process, and stopped when the process ends (atexit, or the launcher's parent-death signal when asv's worker
leaves with ``os._exit`` or is killed on a timeout). Every load batch is verified: a non-2xx answer, a socket
error or a dead server raises, so asv records the benchmark as failed and never as a number.
"""

from __future__ import annotations

import atexit

from benchmarks.harness import verify
from benchmarks.harness.errors import LoadFailed
from benchmarks.harness.launcher import Server
from benchmarks.harness.loadgen import preferred, run_load
from benchmarks.harness.loadgen.base import LoadSettings
from benchmarks.harness.runner import PLANET_PATH
from benchmarks.harness.scenarios import ARTICLE_SCENARIOS, SCENARIOS

SCENARIO_IDS = list(SCENARIOS)
ARTICLE_IDS = [scenario.id for scenario in ARTICLE_SCENARIOS]
# The article's batch: ab -k -c 20 -n 1000. One batch is one sample; asv times it.
BATCH = LoadSettings(concurrency=20, requests=1000, duration_s=None, keepalive=True)
WARMUP = LoadSettings(concurrency=20, requests=200, duration_s=None, keepalive=True)

_SERVERS: dict[str, Server] = {}


def server_for(scenario_id: str) -> Server:
    """The running, verified and warmed-up server of a scenario, started on first use in this process."""
    server = _SERVERS.get(scenario_id)
    if server is None:
        server = Server(SCENARIOS[scenario_id].spec())
        server.__enter__()  # stops what it started if it fails
        try:
            verify.check_target(server.port, PLANET_PATH)
            load(server, PLANET_PATH, WARMUP)
        except BaseException:
            server.stop()
            raise
        _SERVERS[scenario_id] = server
    return server


def load(server: Server, path: str, settings: LoadSettings) -> None:
    """One verified batch against ``server``: raises unless every request got a 2xx answer in time."""
    result = run_load(preferred(fixed_count=settings.requests is not None), server.url(path), settings)
    server.check_alive()
    problem = verify.check_load(result)
    if problem:
        raise LoadFailed(f"{server.command_line}: {problem}")


@atexit.register
def _stop_servers() -> None:
    for server in _SERVERS.values():
        server.stop()
    _SERVERS.clear()


class ServerBenchmark:
    """Timing settings shared by the benchmarks that load a server: one batch per sample, no asv warm-up (the
    server is warmed up once when it starts), enough samples for asv's significance test."""

    number = 1
    # Per round: at least 3 samples, at most 5, stopping after 3 s. Two rounds, each in its own process (with
    # its own server), so 6-10 samples in all: processes differ more than samples within one, and asv's
    # Mann-Whitney test needs those differences sampled on both sides of a comparison, which
    # `asv run --interleave-rounds` alternates between commits. (Four rounds before the instructions channel
    # took over the trend: a wall-clock slowdown is confirmed by measuring it again, see `make compare`.)
    repeat = (3, 5, 3.0)
    rounds = 2
    warmup_time = 0.0
    timeout = 120.0
