"""The ``ab`` load generator (ApacheBench, Debian package apache2-utils): its command line and its report.

This module owns how LoadSettings become ab's options and how ab's text report (or its error message) becomes a
LoadResult or a LoadFailed. ab speaks HTTP/1.0 only, and its numbers have quirks that are handled here:

* ``-t`` sets the request count to 50000 (and ab allocates a stats entry per request up front), so a duration run
  passes ``-n`` *after* ``-t``; ab then stops at whichever of the two limits comes first.
* ``-t`` and ``-s`` take whole seconds (``atoi``): a fractional duration is refused, a timeout is rounded up.
* ``-s`` is not a per-request timeout: when no socket at all has an event for that long, ab aborts the whole run
  ("apr_pollset_poll: The timeout specified has expired (70007)", exit status 119) and prints no report.
* With ``-r``, a request that ends in a receive error is still counted in "Complete requests" (a refused connection
  shows up as "Receive" and "Exceptions" failures); those are not responses, so they are taken out of ``completed``.
* "Non-2xx responses" counts every status not starting with 2 (3xx included); ab reuses a connection only when
  the answer's headers contain "Keep-Alive".
* Percentiles are whole milliseconds; the mean is "Time per request (mean)" (concurrency x time taken / requests).
"""

from __future__ import annotations

import functools
import math
import re
import subprocess
from urllib.parse import urlsplit, urlunsplit

from ..errors import LoadFailed
from .base import Installed, LoadResult, LoadSettings, result, whole_seconds

# Request cap per second of a duration run: far above what one machine serves here, and ab allocates
# 32 bytes per request of the cap before it starts.
DURATION_CAP_PER_S = 100_000
ERROR_KINDS = ("connect", "receive", "length", "exceptions", "write", "timeout")

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9 -]*?):[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_BREAKDOWN = re.compile(r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)")
_PERCENTILE = re.compile(r"^\s+(\d+)%\s+(\d+)", re.MULTILINE)
_MEAN = re.compile(r"^Time per request:\s+([\d.]+) \[ms\] \(mean\)$", re.MULTILINE)
_NUMBER = re.compile(r"[\d.]+")
_PROGRESS = re.compile(r"^(Completed|Finished) \d+ requests$")


@functools.cache
def _version_of(path: str) -> str:
    done = subprocess.run([path, "-V"], capture_output=True, text=True, errors="replace", timeout=10)
    match = re.search(r"Version (\S+)(?: <\$Revision: (\d+) \$>)?", done.stdout)
    if match is None:
        return (done.stdout.strip().splitlines() or ["unknown"])[0]
    return match[1] + (f" r{match[2]}" if match[2] else "")


class Ab(Installed):
    """A LoadGenerator running ApacheBench."""

    name = "ab"
    executable = "ab"
    ask_version = staticmethod(_version_of)  # what ``ab -V`` says, e.g. "2.3"; asked once per executable

    def command(self, url: str, settings: LoadSettings) -> list[str]:
        argv = [self.executable, "-l", "-r", "-c", str(settings.concurrency)]
        if settings.keepalive:
            argv.append("-k")
        if settings.requests is not None:
            argv += ["-n", str(settings.requests)]
        else:
            duration = whole_seconds(settings.duration_s, "ab's -t")
            argv += ["-t", str(duration), "-n", str(duration * DURATION_CAP_PER_S)]
        argv += ["-s", str(whole_seconds(settings.timeout_s, "ab's -s", round_up=True))]
        parts = urlsplit(url)
        if not parts.path:  # ab calls a URL without a path invalid
            url = urlunsplit(parts._replace(path="/"))
        return [*argv, url]

    def parse(self, stdout: str, stderr: str, returncode: int, argv: list[str]) -> LoadResult:
        fields = {key: value for key, value in _FIELD.findall(stdout)}
        if returncode != 0 or "Complete requests" not in fields:
            raise LoadFailed(_failure(stdout, stderr, returncode))
        try:
            done = int(fields["Complete requests"])
            failed = int(fields["Failed requests"])
            duration = float(_NUMBER.search(fields["Time taken for tests"])[0])
            breakdown = _BREAKDOWN.search(stdout)
            connect, receive, length, exceptions = map(int, breakdown.groups()) if breakdown else (0, 0, 0, 0)
            write = int(fields.get("Write errors", 0))
            send_timeouts = stdout.count("Send request timed out!")
            non_2xx = int(fields.get("Non-2xx responses", 0))
            # Without -k ab never reuses a connection, and it prints no Keep-Alive line.
            keepalive = int(fields.get("Keep-Alive requests", 0))
            percentiles = {int(p): float(ms) for p, ms in _PERCENTILE.findall(stdout)}
            mean = _MEAN.search(stdout)
            rate = fields.get("Requests per second")
        except (KeyError, TypeError, ValueError) as error:
            raise LoadFailed(f"ab printed a report that cannot be read ({error!r})") from None

        # ab counts a request that ended in a receive or send error as complete; it holds no response.
        completed = max(0, done - receive - write - send_timeouts)
        if completed == 0:
            raise LoadFailed(f"ab: no response received in {done} requests; failed requests {failed}"
                             + (f" {breakdown[0]}" if breakdown else ""))
        if completed == done and rate is not None:
            requests_per_s = float(_NUMBER.search(rate)[0])  # computed by ab from its exact time
        else:
            requests_per_s = completed / duration if duration > 0 else math.nan
        return result(
            self, argv, completed=completed, duration_s=duration, requests_per_s=requests_per_s, non_2xx=non_2xx,
            socket_errors=dict(zip(ERROR_KINDS, (connect, receive, length, exceptions, write, send_timeouts),
                                   strict=True)),
            failed=failed, keepalive_requests=keepalive,
            # ab prints no percentile table for a single request
            latency_ms={"50": percentiles.get(50, math.nan), "90": percentiles.get(90, math.nan),
                        "99": percentiles.get(99, math.nan), "mean": float(mean[1]) if mean else math.nan},
            extra={"complete_requests": done, "longest_ms": percentiles.get(100, math.nan)},
        )


def _failure(stdout: str, stderr: str, returncode: int) -> str:
    """One line saying why ab printed no report, from ab's own last message."""
    messages = []
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("Usage:"):
            break
        if line and not _PROGRESS.match(line):
            messages.append(line)
    if messages:
        message = messages[-1]
        reason = message if message.startswith("ab: ") else f"ab: {message}"
    elif returncode < 0:
        reason = f"ab was killed by signal {-returncode}"
    elif returncode != 0:
        reason = f"ab exited with status {returncode} and printed no report"
    else:
        reason = "ab printed no report"
    completed = re.search(r"^Total of (\d+) requests completed$", stdout, re.MULTILINE)
    if completed:
        reason += f" (after {completed[1]} requests completed)"
    return reason
