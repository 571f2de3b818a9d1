"""The ``wrk`` load generator (Debian package wrk): its command line and its report.

This module owns how LoadSettings become wrk's options and how wrk's output (or its error message) becomes a
LoadResult or a LoadFailed. wrk runs with ``wrk_report.lua`` next to this file, whose ``done()`` prints one JSON
line with wrk's exact counters and latency statistics after wrk's own text; only that line is read. Quirks:

* wrk runs for a duration only; ``-d`` and ``--timeout`` take whole seconds (a fractional duration is refused, a
  timeout is rounded up), and it refuses fewer connections than threads.
* Its ``errors.status`` (printed as "Non-2xx or 3xx responses") counts statuses above 399 only: a 1xx or 3xx
  answer is not counted. That count is ``non_2xx``.
* A response slower than ``--timeout`` is counted both as a request and as a timeout error, and is left out of the
  latency statistics; when every response was late there are none, and the latencies are NaN.
* A refused connection at the start makes wrk exit with status 1 and print "unable to connect to ..." only.
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
from pathlib import Path

from ..errors import LoadFailed
from .base import Installed, LoadResult, LoadSettings, result, whole_seconds

SCRIPT = Path(__file__).with_name("wrk_report.lua")
REPORT_KEY = "wrk_report"  # the first key of the script's JSON line
ERROR_KINDS = ("connect", "read", "write", "timeout")


@functools.cache
def _version_of(path: str) -> str:
    # wrk -v prints its version and usage on stdout and exits with status 1.
    done = subprocess.run([path, "-v"], capture_output=True, text=True, errors="replace", timeout=10)
    match = re.match(r"wrk (\S+)", done.stdout)
    return match[1] if match else (done.stdout.strip().splitlines() or ["unknown"])[0]


class Wrk(Installed):
    """A LoadGenerator running wrk."""

    name = "wrk"
    executable = "wrk"
    ask_version = staticmethod(_version_of)  # what ``wrk -v`` says, e.g. "debian/4.1.0-3+b2"; asked once

    def command(self, url: str, settings: LoadSettings) -> list[str]:
        if settings.duration_s is None:
            raise LoadFailed("wrk runs for a duration and cannot make a fixed number of requests: use ab")
        if settings.threads > settings.concurrency:
            raise LoadFailed(f"wrk needs at least as many connections as threads: "
                             f"{settings.concurrency} connections, {settings.threads} threads")
        duration = whole_seconds(settings.duration_s, "wrk's -d")
        timeout = whole_seconds(settings.timeout_s, "wrk's --timeout", round_up=True)
        argv = [self.executable, "-t", str(settings.threads), "-c", str(settings.concurrency),
                "-d", f"{duration}s", "--latency", "--timeout", f"{timeout}s", "-s", str(SCRIPT)]
        if not settings.keepalive:
            argv += ["-H", "Connection: close"]
        return [*argv, url]

    def parse(self, stdout: str, stderr: str, returncode: int, argv: list[str]) -> LoadResult:
        if returncode != 0:
            if returncode < 0:
                raise LoadFailed(f"wrk was killed by signal {-returncode}")
            # Bad options make wrk print only its usage, on stdout.
            raise LoadFailed(_message(stderr) or f"wrk exited with status {returncode} and printed only its usage")
        report = _report(stdout)
        if report is None:
            raise LoadFailed(_message(stderr) or f"wrk printed no {SCRIPT.name} report line")
        try:
            completed = int(report["requests"])
            duration = int(report["duration_us"]) / 1e6
            errors = {kind: int(report["errors"][kind]) for kind in ERROR_KINDS}
            non_2xx = int(report["errors"]["status"])
            latency = {key: math.nan if report["latency_us"][key] is None else report["latency_us"][key] / 1000
                       for key in ("50", "90", "99", "mean")}
            extra = {"bytes": int(report["bytes"]),
                     "latency_max_ms": math.nan if report["latency_us"]["max"] is None
                     else report["latency_us"]["max"] / 1000}
        except (KeyError, TypeError, ValueError) as error:
            raise LoadFailed(f"wrk printed a report line that cannot be read ({error!r})") from None
        if completed == 0:
            counts = ", ".join(f"{kind} {count}" for kind, count in errors.items())
            raise LoadFailed(f"wrk: no response completed in {duration:g} s (socket errors: {counts})")
        # The same fields as ab's parser fills (LoadResult is the one shape every generator reports in); what
        # differs is where each value comes from in the tool's output.
        return result(self, argv, completed=completed, duration_s=duration, requests_per_s=completed / duration,
                      non_2xx=non_2xx, socket_errors=errors, failed=0, keepalive_requests=None, latency_ms=latency,
                      extra=extra)


def _report(stdout: str) -> dict | None:
    """The script's JSON line: the last line of stdout that is one."""
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"' + REPORT_KEY + '"'):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def _message(stderr: str) -> str:
    """wrk's own messages on stderr as one line, or "" when it printed none."""
    messages = [line.strip() for line in stderr.splitlines() if line.strip()]
    return "wrk: " + "; ".join(messages) if messages else ""
