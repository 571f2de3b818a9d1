"""The ``builtin`` load generator: the fallback used when neither ab nor wrk is installed.

This module owns its LoadGenerator side (command line, version, reading the output into a LoadResult); the client
itself is ``builtin_client.py`` next to it, run by path with the current interpreter so that it needs nothing but
the standard library and, optionally, uvloop. Results carry the generator name "builtin" and the event loop used,
so that they are never mistaken for ab's or wrk's.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from importlib import metadata
from pathlib import Path

from ..errors import LoadFailed
from .base import LoadResult, LoadSettings, result

CLIENT = Path(__file__).with_name("builtin_client.py")
VERSION = "builtin-1"
ERROR_KINDS = ("connect", "read", "write", "timeout")


class Builtin:
    """A LoadGenerator running ``builtin_client.py``; ``use_uvloop=False`` keeps it on asyncio's own loop."""

    name = "builtin"
    executable = sys.executable

    def __init__(self, use_uvloop: bool = True) -> None:
        self.use_uvloop = use_uvloop

    def version(self) -> str:
        try:
            loop = f"uvloop {metadata.version('uvloop')}" if self.use_uvloop else "uvloop off"
        except metadata.PackageNotFoundError:
            loop = "no uvloop"
        return f"{VERSION} (python {platform.python_version()}, {loop})"

    def command(self, url: str, settings: LoadSettings) -> list[str]:
        argv = [sys.executable, str(CLIENT), "--url", url, "--concurrency", str(settings.concurrency),
                "--timeout", f"{settings.timeout_s:g}"]
        if settings.requests is not None:
            argv += ["--requests", str(settings.requests)]
        else:
            argv += ["--duration", f"{settings.duration_s:g}"]
        if not settings.keepalive:
            argv.append("--no-keepalive")
        if not self.use_uvloop:
            argv.append("--no-uvloop")
        return argv

    def parse(self, stdout: str, stderr: str, returncode: int, argv: list[str]) -> LoadResult:
        data = json_result(stdout, stderr, returncode, "builtin")
        try:
            return result(
                self, argv, completed=int(data["completed"]), duration_s=float(data["duration_s"]),
                requests_per_s=float(data["requests_per_s"]), non_2xx=int(data["non_2xx"]),
                socket_errors={kind: int(data["socket_errors"][kind]) for kind in ERROR_KINDS},
                failed=0, keepalive_requests=int(data["keepalive_requests"]),
                # null when no request completed: there is no latency to report
                latency_ms={key: math.nan if data["latency_ms"][key] is None else float(data["latency_ms"][key])
                            for key in ("50", "90", "99", "mean")},
                extra={"loop": data["loop"]},
            )
        except (KeyError, TypeError, ValueError) as error:
            raise LoadFailed(f"builtin printed an unreadable result ({error!r}): {json.dumps(data)[:200]}") from None


def json_result(stdout: str, stderr: str, returncode: int, name: str) -> dict:
    """The JSON object a generator of ours printed last (this one, and the open loop's); LoadFailed with its last
    error line when it printed none."""
    lines = stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1]) if lines else None
    except ValueError:
        data = None
    if returncode != 0 or not isinstance(data, dict):
        last = (stderr.strip().splitlines() or ["(no output on stderr)"])[-1]
        raise LoadFailed(f"{name} printed no result (exit status {returncode}): {last}")
    return data
