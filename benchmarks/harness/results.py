"""Results as versioned JSON: the records a run produces, and the one place that writes and reads them.

A results file is ``{"schema": ..., "version": ..., "environment": {...}, "records": [...]}``, its schema name and
versions those of ``formats.RESULTS`` (shared with the reports, which read these files too). Each record is one
measured scenario: its id, every setting, its status (a failed run carries a reason and no numbers), its samples
(one per repeat) and their summary. Derived figures are written out for readers' sake and recomputed, not
trusted, when a file is read back.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from statistics import median

from . import procstat
from .errors import ResultsError
from .formats import RESULTS, FormatError
from .loadgen.base import LoadResult
from .openloop import OpenLoopResult
from .stats import Summary, summarize

PACKAGES = ("planet-tracker", "aiohttp", "flask", "werkzeug", "gunicorn", "ephem", "uvloop", "requests")


@dataclass(frozen=True)
class Sample:
    """One repeat of a server scenario: what the generator saw and what the machine did meanwhile."""

    load: LoadResult
    server_cpu_s: float  # the whole process group
    process_cpu_s: tuple[float, ...]  # per process of the group, busiest first (gunicorn: arbiter included)
    worker_cpu_s: tuple[float, ...]  # per worker, busiest first (the server itself when it has no workers)
    connections: int  # TCP connections accepted on the whole machine during the run (kernel counter)
    steal_share: float  # of the machine's CPU capacity during the run
    other_cpu_share: float  # CPU used by neither server nor generator, of capacity
    disturbed: bool
    peak_rss_bytes: int  # sum of each server process's peak RSS

    @property
    def requests_per_s(self) -> float:
        return self.load.requests_per_s

    @property
    def server_cpu_per_request_ms(self) -> float:
        return 1000 * self.server_cpu_s / self.load.completed

    @property
    def keepalive_share(self) -> float:
        """Requests answered on a connection that stayed open: the generator's own count where it keeps one
        (ab, builtin); for wrk, from the kernel's count of accepted connections, which is machine-wide and
        so too high when other processes open connections meanwhile (such runs are flagged as disturbed)."""
        if self.load.keepalive_requests is not None:
            return self.load.keepalive_requests / self.load.completed
        return max(0.0, 1 - self.connections / self.load.completed)

    @property
    def worker_cpu_shares(self) -> tuple[float, ...]:
        total = sum(self.worker_cpu_s)
        return tuple(cpu / total for cpu in self.worker_cpu_s) if total else ()

    def to_dict(self) -> dict:
        return {
            "load": self.load.to_dict(),
            "server_cpu_s": self.server_cpu_s,
            "process_cpu_s": list(self.process_cpu_s),
            "worker_cpu_s": list(self.worker_cpu_s),
            "connections": self.connections,
            "steal_share": self.steal_share,
            "other_cpu_share": self.other_cpu_share,
            "disturbed": self.disturbed,
            "peak_rss_bytes": self.peak_rss_bytes,
            # derived, for readers of the file
            "requests_per_s": self.requests_per_s,
            "server_cpu_per_request_ms": self.server_cpu_per_request_ms,
            "keepalive_share": self.keepalive_share,
            "worker_cpu_shares": list(self.worker_cpu_shares),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Sample:
        return cls(
            load=LoadResult.from_dict(data["load"]),
            server_cpu_s=data["server_cpu_s"],
            process_cpu_s=tuple(data["process_cpu_s"]),
            worker_cpu_s=tuple(data["worker_cpu_s"]),
            connections=data["connections"],
            steal_share=data["steal_share"],
            other_cpu_share=data["other_cpu_share"],
            disturbed=data["disturbed"],
            peak_rss_bytes=data["peak_rss_bytes"],
        )


@dataclass(frozen=True)
class ServerSummary:
    """What the repeats of a server scenario say, computed once (written to JSON for readers' sake only)."""

    requests_per_s: Summary
    latency_ms: dict[str, float]  # medians of the repeats' p50, p90, p99
    server_cpu_per_request_ms: Summary
    generator_cpu_s: float
    generator_cpu_share: float  # of one CPU
    keepalive_share: float
    worker_cpu_shares: tuple[float, ...]  # busiest worker first
    peak_rss_bytes: int
    steal_share: float  # the worst repeat's
    other_cpu_share: float
    disturbed_repeats: int


@dataclass(frozen=True)
class ClientSummary:
    wall_s: Summary
    floor_s: float
    efficiency: float  # floor / median wall time


@dataclass(frozen=True)
class CountSummary:
    median: float
    min: float
    max: float
    repeats: int
    spread_pct: float | None  # (max - min) / median, in %; None for a single count


def _as_dict(summary) -> dict | None:
    """A summary as JSON wants it (Summary objects with their derived half-width)."""
    if summary is None:
        return None
    return {key: value.to_dict() if isinstance(value, Summary) else list(value) if isinstance(value, tuple) else value
            for key, value in vars(summary).items()}


@dataclass(frozen=True)
class ServerRun:
    """One server scenario measured: warm-up discarded, then the repeats (disturbed ones re-run)."""

    scenario: dict  # id, framework, server, workers, worker_class, threads, label
    settings: dict  # generator, concurrency, requests or duration, keep-alive, io_ms, path, repeats, pinning...
    status: str  # "ok" or "failed"
    reason: str | None = None
    ready_s: float | None = None
    samples: tuple[Sample, ...] = ()
    reruns: int = 0  # disturbed repeats that were measured again

    kind = "server"

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise ValueError(f"status must be ok or failed, not {self.status!r}")
        if self.status == "failed" and (self.samples or not self.reason):
            raise ValueError("a failed run has a reason and no samples")

    @property
    def id(self) -> str:
        return self.scenario["id"]

    @cached_property
    def summary(self) -> ServerSummary | None:
        """Figures over the repeats (computed once), or None for a failed run."""
        if self.status != "ok":
            return None
        samples = self.samples
        worker_totals = [sum(s.worker_cpu_s[i] for s in samples if i < len(s.worker_cpu_s))
                         for i in range(max(len(s.worker_cpu_s) for s in samples))]
        total = sum(worker_totals)
        return ServerSummary(
            requests_per_s=summarize([s.requests_per_s for s in samples]),
            latency_ms={pct: median([s.load.latency_ms[pct] for s in samples]) for pct in ("50", "90", "99")},
            server_cpu_per_request_ms=summarize([s.server_cpu_per_request_ms for s in samples]),
            generator_cpu_s=median([s.load.generator_cpu_s for s in samples]),
            generator_cpu_share=median([s.load.generator_cpu_s / s.load.duration_s for s in samples]),
            keepalive_share=median([s.keepalive_share for s in samples]),
            worker_cpu_shares=tuple(cpu / total for cpu in worker_totals) if total else (),
            peak_rss_bytes=max(s.peak_rss_bytes for s in samples),
            steal_share=max(s.steal_share for s in samples),
            other_cpu_share=max(s.other_cpu_share for s in samples),
            disturbed_repeats=sum(s.disturbed for s in samples),
        )

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.id,
            "scenario": self.scenario,
            "settings": self.settings,
            "status": self.status,
            "reason": self.reason,
            "ready_s": self.ready_s,
            "reruns": self.reruns,
            "samples": [sample.to_dict() for sample in self.samples],
            "summary": _as_dict(self.summary),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ServerRun:
        return cls(
            scenario=data["scenario"], settings=data["settings"], status=data["status"], reason=data["reason"],
            ready_s=data["ready_s"], samples=tuple(Sample.from_dict(s) for s in data["samples"]),
            reruns=data["reruns"],
        )


@dataclass(frozen=True)
class ClientRun:
    """One client strategy measured: wall times of its repeats against the local latency server."""

    strategy: str
    library: str  # "requests" or "aiohttp"
    concurrency: int
    floor_s: float  # the least time physics allows: requests x delay / concurrency
    settings: dict  # requests, delay_ms, repeats, timeout_s
    status: str
    reason: str | None = None
    wall_s: tuple[float, ...] = ()

    kind = "client"

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise ValueError(f"status must be ok or failed, not {self.status!r}")
        if (self.status == "failed") != bool(self.reason) or (self.status == "failed") == bool(self.wall_s):
            raise ValueError("a failed run has a reason and no wall times; an ok run has wall times")

    @property
    def id(self) -> str:
        return self.strategy

    @cached_property
    def summary(self) -> ClientSummary | None:
        if self.status != "ok":
            return None
        wall = summarize(list(self.wall_s))
        return ClientSummary(wall, self.floor_s, self.floor_s / wall.median)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "id": self.id, "strategy": self.strategy, "library": self.library,
            "concurrency": self.concurrency, "floor_s": self.floor_s, "settings": self.settings,
            "status": self.status, "reason": self.reason, "wall_s": list(self.wall_s),
            "summary": _as_dict(self.summary),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ClientRun:
        return cls(strategy=data["strategy"], library=data["library"], concurrency=data["concurrency"],
                   floor_s=data["floor_s"], settings=data["settings"], status=data["status"],
                   reason=data["reason"], wall_s=tuple(data["wall_s"]))


@dataclass(frozen=True)
class InstructionRun:
    """One target counted under valgrind: instructions per request (a server, a client strategy) or per call (a
    core function), one count per repeat, each repeat in fresh processes."""

    id: str
    target: str  # "server", "client" or "core"
    unit: str  # "request" or "call"
    settings: dict  # window size, warm-up, valgrind version and options, hash seed, address-space randomisation
    status: str
    reason: str | None = None
    counts: tuple[float, ...] = ()  # instructions per unit, one per repeat
    processes: tuple[tuple[int, ...], ...] = ()  # per repeat, each process's instructions in the window, most first
    idle: tuple[tuple[int, ...], ...] = ()  # per repeat, the idle window scaled to the requests' length (subtracted)
    units: tuple[int, ...] = ()  # per repeat, requests or calls in the window
    seconds: tuple[float, ...] = ()  # per repeat, wall time of the whole count, start-up included
    # Per repeat, the garbage collector's instructions per unit (not in ``counts``), and the collections they
    # come from; empty where callgrind does not name the collector (settings["collector"] is None then).
    collector: tuple[float, ...] = ()
    collections: tuple[int, ...] = ()

    kind = "instructions"

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise ValueError(f"status must be ok or failed, not {self.status!r}")
        if (self.status == "failed") != bool(self.reason) or (self.status == "failed") == bool(self.counts):
            raise ValueError("a failed count has a reason and no counts; an ok count has counts")

    @cached_property
    def summary(self) -> CountSummary | None:
        """Median, extremes and spread ((max - min) / median, in %) over the repeats; None for a failed count."""
        if self.status != "ok":
            return None
        middle = median(self.counts)
        spread = 100 * (max(self.counts) - min(self.counts)) / middle if len(self.counts) > 1 else None
        return CountSummary(middle, min(self.counts), max(self.counts), len(self.counts), spread)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "target": self.target, "unit": self.unit,
                "settings": self.settings, "status": self.status, "reason": self.reason, "counts": list(self.counts),
                "processes": [list(p) for p in self.processes], "idle": [list(p) for p in self.idle],
                "units": list(self.units), "seconds": list(self.seconds), "collector": list(self.collector),
                "collections": list(self.collections), "summary": _as_dict(self.summary)}

    @classmethod
    def from_dict(cls, data: dict) -> InstructionRun:
        return cls(id=data["id"], target=data["target"], unit=data["unit"], settings=data["settings"],
                   status=data["status"], reason=data["reason"], counts=tuple(data["counts"]),
                   processes=tuple(tuple(p) for p in data["processes"]), idle=tuple(tuple(p) for p in data["idle"]),
                   units=tuple(data["units"]), seconds=tuple(data["seconds"]),
                   collector=tuple(data.get("collector", ())), collections=tuple(data.get("collections", ())))


@dataclass(frozen=True)
class OpenLoopRun:
    """One scenario under open-loop load at a share of its measured capacity (``openloop``): "ok", "failed" (an
    answer was not a verified 2xx, or the generator measured nothing: a reason, no numbers), or "not measured"
    (the schedule was not kept: its numbers are kept, and are not the server's)."""

    id: str  # the scenario
    settings: dict  # rate, share of capacity, capacity req/s, duration, connections, generator
    status: str
    reason: str | None = None
    result: OpenLoopResult | None = None

    kind = "openloop"
    STATUSES = ("ok", "failed", "not measured")

    def __post_init__(self) -> None:
        if self.status not in self.STATUSES:
            raise ValueError(f"status must be one of {', '.join(self.STATUSES)}, not {self.status!r}")
        if (self.status == "failed") != (self.result is None) or (self.status != "ok") != bool(self.reason):
            raise ValueError("a failed run has a reason and no result; a run not measured has both; an ok run a "
                             "result only")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "settings": self.settings, "status": self.status,
                "reason": self.reason, "result": self.result.to_dict() if self.result else None}

    @classmethod
    def from_dict(cls, data: dict) -> OpenLoopRun:
        result = OpenLoopResult.from_dict(data["result"]) if data["result"] else None
        return cls(data["id"], data["settings"], data["status"], data["reason"], result)


KINDS = {"server": ServerRun, "client": ClientRun, "instructions": InstructionRun, "openloop": OpenLoopRun}


def _git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def environment(tools: dict[str, str] | None = None) -> dict:
    """Interpreter, package and tool versions, machine facts and commit: what a number depends on."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "packages": packages,
        "tools": dict(tools or {}),
        "machine": procstat.machine_facts(),
        "commit": _git_commit(),
    }


@dataclass(frozen=True)
class Results:
    environment: dict
    records: tuple = field(default=())

    def to_dict(self) -> dict:
        return RESULTS.stamp({"environment": self.environment,
                              "records": [record.to_dict() for record in self.records]})

    @classmethod
    def from_dict(cls, data: dict) -> Results:
        try:
            RESULTS.check(data, "the results")
        except FormatError as error:
            raise ResultsError(str(error)) from None
        return cls(data["environment"], tuple(KINDS[r["kind"]].from_dict(r) for r in data["records"]))


def dump(results: Results, path: str | Path) -> None:
    """Write atomically: a crash mid-write never leaves half a file where results were."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results.to_dict(), indent=1, allow_nan=True) + "\n")
    partial.replace(path)


def load(path: str | Path) -> Results:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ResultsError(f"cannot read results {path}: {error}") from None
    return Results.from_dict(data)
