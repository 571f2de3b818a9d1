"""Open-loop latency: requests sent at a fixed arrival rate, whatever the answers do, each answer checked.

ab and wrk are closed-loop: a connection sends its next request only when the previous answer has come, so a slow
answer delays the requests behind it and the tail never shows ("coordinated omission"). The open-loop generator
(``openloop_client.py``, run by path with this interpreter and uvloop) sends each request when it is due, on a free
connection or a new one; one that finds every allowed connection waiting for an answer is dropped, and one the
generator sent more than ``late_ms`` after it was due is late. A point with 0.1 % or more of its requests dropped or
late is "not measured": the generator (or the server holding every connection), not the schedule, set its pace.

Why not k6 (used until 2026-12-01): k6 spends about 0.2 ms of CPU per request, more than the aiohttp server it
loads (~0.17 ms). With the server on one CPU and the generator on the other, k6 could not send 80 % of the server's
capacity (4,800 req/s: a whole CPU of k6). This generator spends about 0.055 ms per request.

Each answer is checked (a 2xx carrying the computed position); a request that got no answer at all (its connection
refused or reset, or no answer within the timeout) is a transport error, counted apart: under overload that is a
property of the point, not a wrong answer.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from .errors import LoadFailed
from .loadgen.base import run_timed
from .loadgen.builtin import json_result

CLIENT = Path(__file__).with_name("loadgen") / "openloop_client.py"
VERSION = "openloop-1"
MAX_OFF_SCHEDULE_SHARE = 0.001  # below 0.1 % of requests dropped or late, the generator kept the schedule
ERROR_KINDS = ("connect", "read", "timeout")
# Connections allowed at once: enough for every request of this many seconds to wait for its answer together. A
# request that finds them all waiting is dropped, so the window is the longest answer (or stall of the machine)
# the schedule survives. Connections are opened only when none is free, so at a low rate a few carry everything.
CONNECTION_WINDOW_S = 1.0
MIN_CONNECTIONS, MAX_CONNECTIONS = 50, 5000


@dataclass(frozen=True)
class OpenLoopSettings:
    rate: float  # requests per second, scheduled
    duration_s: float = 10.0
    timeout_s: float = 10.0
    # Later than this, a request no longer went out on schedule: the generator's own pace (a stall of its CPU) set
    # it. Below it, a short stall only bunches a few requests, as real clients' arrivals bunch.
    late_ms: float = 100.0

    def __post_init__(self) -> None:
        if self.rate < 1:
            raise ValueError("the arrival rate must be at least 1 request per second")
        if self.duration_s < 1 or self.duration_s != int(self.duration_s):
            raise ValueError("an open-loop run lasts whole seconds, at least 1")

    @property
    def connections(self) -> int:
        """Connections allowed at once: every request of ``CONNECTION_WINDOW_S`` waiting for its answer together,
        so that only an overloaded server (or a stalled machine) makes requests miss their schedule."""
        return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, round(self.rate * CONNECTION_WINDOW_S)))

    @property
    def deadline_s(self) -> float:
        return self.duration_s + self.timeout_s + 30


@dataclass(frozen=True)
class OpenLoopResult:
    scheduled: int  # requests the schedule called for: sent + dropped
    sent: int
    dropped: int  # not sent: every allowed connection was waiting for an answer
    failed: int  # answers that were not a verified 2xx
    latency_ms: dict[str, float]  # p50, p99, p99.9, max of the answered requests, from each one's send
    generator_cpu_s: float = 0.0
    wall_s: float = 0.0
    transport_errors: int = 0  # requests that got no answer: connect or read error, or the timeout
    late: int = 0  # sent, but more than the settings' late_ms after they were due
    transport_error_kinds: dict[str, int] = field(default_factory=dict)
    lateness_ms: dict[str, float] = field(default_factory=dict)  # p50, p99, max: how late requests went out
    connections: int = 0  # opened during the run
    # The machine meanwhile (the sweep measures it around the run, as the runner does around a closed-loop run).
    server_cpu_s: float = 0.0
    steal_share: float = 0.0  # of the machine's CPU capacity
    other_cpu_share: float = 0.0  # CPU used by neither the server nor the generator, of capacity

    @property
    def off_schedule(self) -> int:
        return self.dropped + self.late

    @property
    def dropped_share(self) -> float:
        """Requests that did not go out on schedule (dropped or late), of those scheduled."""
        return self.off_schedule / self.scheduled if self.scheduled else 1.0

    @property
    def on_schedule(self) -> bool:
        return self.dropped_share < MAX_OFF_SCHEDULE_SHARE

    @property
    def answered(self) -> int:
        return self.sent - self.transport_errors

    def to_dict(self) -> dict:
        return {**asdict(self), "off_schedule": self.off_schedule, "dropped_share": self.dropped_share}

    @classmethod
    def from_dict(cls, data: dict) -> OpenLoopResult:
        """Also reads the records of k6 runs (before 2026-12-01), which lack the newer fields."""
        return cls(**{k: v for k, v in data.items() if k not in ("dropped_share", "off_schedule")})


def version() -> str:
    try:
        loop = f"uvloop {metadata.version('uvloop')}"
    except metadata.PackageNotFoundError:
        loop = "asyncio (no uvloop)"
    return f"{VERSION} (python {platform.python_version()}, {loop})"


def command(url: str, settings: OpenLoopSettings, prefix: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The generator's command line; ``prefix`` goes before it (``taskset -c N``: the generator on a CPU of its
    own)."""
    return [*prefix, sys.executable, str(CLIENT), "--url", url, "--rate", f"{settings.rate:g}",
            "--duration", f"{settings.duration_s:g}", "--connections", str(settings.connections),
            "--timeout", f"{settings.timeout_s:g}", "--late-ms", f"{settings.late_ms:g}"]


def parse(stdout: str, stderr: str, returncode: int) -> OpenLoopResult:
    """Read the generator's JSON line; LoadFailed, with its last error line, when it measured nothing."""
    data = json_result(stdout, stderr, returncode, "the open-loop generator")
    try:
        if not data["sent"]:
            raise LoadFailed("the open-loop generator sent no request")
        latency = {key: float("nan") if value is None else float(value) for key, value in data["latency_ms"].items()}
        errors = {kind: int(data["transport_errors"][kind]) for kind in ERROR_KINDS}
        return OpenLoopResult(
            scheduled=int(data["scheduled"]), sent=int(data["sent"]), dropped=int(data["dropped"]),
            failed=int(data["unverified"]), latency_ms=latency, transport_errors=sum(errors.values()),
            late=int(data["late"]), transport_error_kinds=errors,
            lateness_ms={key: float("nan") if value is None else float(value)
                         for key, value in data["lateness_ms"].items()},
            connections=int(data["connections"]))
    except (KeyError, TypeError, ValueError) as error:
        raise LoadFailed(f"the open-loop generator printed an unreadable result ({error!r}): "
                         f"{json.dumps(data)[:200]}") from None


def run(url: str, settings: OpenLoopSettings, prefix: tuple[str, ...] | list[str] = ()) -> OpenLoopResult:
    """One open-loop run against ``url`` (loopback), bounded in time; the generator's own CPU time recorded.
    ``prefix`` goes before its command line (``taskset -c N``)."""
    done, cpu, wall = run_timed(command(url, settings, prefix), settings.deadline_s, "the open-loop generator")
    result = parse(done.stdout, done.stderr, done.returncode)
    return OpenLoopResult(**{**asdict(result), "generator_cpu_s": cpu, "wall_s": wall})
