"""The one small interface every load generator implements, and the record each run returns.

A generator only knows how to build its command line and how to read its own output; running it (bounded in
time, its CPU use measured) is done here, the same way for all of them.
"""

from __future__ import annotations

import math
import resource
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

from ..errors import LoadFailed, ToolMissing
from ..launcher import run_command
from ..tools import TOOLS


@dataclass(frozen=True)
class LoadSettings:
    """What one load run does. Exactly one of ``requests`` (a fixed count) or ``duration_s`` is set."""

    concurrency: int
    requests: int | None = None
    duration_s: float | None = 5.0
    keepalive: bool = True
    timeout_s: float = 10.0  # per request: a response slower than this is a timeout error
    threads: int = 1  # wrk's threads; the others are single-threaded

    def __post_init__(self) -> None:
        if (self.requests is None) == (self.duration_s is None):
            raise ValueError("set exactly one of requests and duration_s")
        if self.concurrency < 1 or (self.requests is not None and self.requests < self.concurrency):
            raise ValueError("concurrency must be >= 1 and requests >= concurrency")

    @property
    def deadline_s(self) -> float:
        """How long a run may take before it is killed and failed: every load run is bounded in time."""
        if self.duration_s is not None:
            return self.duration_s + self.timeout_s + 30
        return 120 + self.timeout_s


@dataclass(frozen=True)
class LoadResult:
    """What a generator measured in one run; the same fields whatever the generator."""

    generator: str  # "ab", "wrk" or "builtin"
    version: str
    argv: tuple[str, ...]
    completed: int  # responses received, any status
    duration_s: float
    requests_per_s: float
    non_2xx: int
    socket_errors: dict[str, int]  # connect, read, write, timeout (ab: connect, receive, length, exceptions)
    failed: int  # requests the generator itself counts as failed (ab's "Failed requests"), else 0
    keepalive_requests: int | None  # None where the generator cannot tell (wrk)
    latency_ms: dict[str, float]  # "50", "90", "99" percentiles and "mean"
    generator_cpu_s: float = float("nan")
    extra: dict = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Why this run cannot yield a number; empty when it is clean."""
        reasons = []
        if self.completed == 0:
            reasons.append("no response completed")
        if self.non_2xx:
            reasons.append(f"{self.non_2xx} non-2xx responses")
        errors = {kind: count for kind, count in self.socket_errors.items() if count}
        if errors:
            reasons.append("socket errors " + ", ".join(f"{kind} {count}" for kind, count in sorted(errors.items())))
        if self.failed:
            reasons.append(f"{self.failed} failed requests")
        return reasons

    def to_dict(self) -> dict:
        data = asdict(self)
        data["argv"] = list(self.argv)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> LoadResult:
        return cls(**{**data, "argv": tuple(data["argv"])})


class LoadGenerator(Protocol):
    """A load generator: a command line for a URL and settings, and a reader for what it printed."""

    name: str
    executable: str  # looked up on PATH
    package: str  # the Debian package that provides it

    def version(self) -> str: ...

    def command(self, url: str, settings: LoadSettings) -> list[str]: ...

    def parse(self, stdout: str, stderr: str, returncode: int, argv: list[str]) -> LoadResult:
        """Read one run's output; raise LoadFailed when it holds no measurement."""
        ...


def whole_seconds(value: float, option: str, *, round_up: bool = False) -> int:
    """``value`` as the whole seconds a tool's ``option`` takes (ab and wrk read only those); LoadFailed when it
    is not one and may not be rounded up."""
    seconds = math.ceil(value) if round_up else int(value)
    if seconds < 1 or (not round_up and seconds != value):
        raise LoadFailed(f"{option} takes whole seconds >= 1, not {value:g}")
    return seconds


class Installed:
    """What ab and wrk share: an executable from a Debian package, asked for its version once.

    Subclasses set ``name``, ``executable``, ``package`` and ``ask_version(path)``; ``version`` given here fixes
    the version reported (for reading stored output without the tool installed).
    """

    name: str
    executable: str

    def __init__(self, version: str | None = None) -> None:
        self._version = version

    @staticmethod
    def ask_version(path: str) -> str:
        raise NotImplementedError

    def version(self) -> str:
        if self._version is None:
            self._version = self.ask_version(require(self))
        return self._version


def require(generator: LoadGenerator) -> str:
    """The generator's executable path, or ToolMissing naming the package to install."""
    path = shutil.which(generator.executable)
    if path is None:
        tool = TOOLS.get(generator.executable)
        raise ToolMissing(tool.problem if tool else f"{generator.name} is not installed")
    return path


def result(generator: LoadGenerator, argv: Sequence[str], **measured) -> LoadResult:
    """What a generator's parser returns: its measurements, with its name, version and command line."""
    return LoadResult(generator=generator.name, version=generator.version(), argv=tuple(argv), **measured)


def run_timed(argv: Sequence[str], deadline_s: float, name: str) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run a generator's command line, bounded by ``deadline_s``: its output, its own CPU seconds, wall seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    try:
        # In its own process group, armed to die with us: a harness killed mid-run leaves no load behind.
        done = run_command(list(argv), timeout_s=deadline_s)
    except subprocess.TimeoutExpired:
        raise LoadFailed(f"{name} did not finish within {deadline_s:g} s") from None
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def run_load(generator: LoadGenerator, url: str, settings: LoadSettings, prefix: Sequence[str] = ()) -> LoadResult:
    """Run the generator once against url, bounded by settings.deadline_s; measure its own CPU time.

    ``prefix`` goes before the generator's command line (``taskset -c 1`` when pinning).
    """
    require(generator)
    argv = [*prefix, *generator.command(url, settings)]
    done, cpu, wall = run_timed(argv, settings.deadline_s, generator.name)
    measured = generator.parse(done.stdout, done.stderr, done.returncode, argv)
    return replace(measured, generator_cpu_s=cpu, extra={**measured.extra, "wall_s": wall})
