"""The built-in load generator's client: a minimal HTTP/1.1 GET loop on raw asyncio streams.

It owns the wire side of the ``builtin`` generator: connections, request bytes, response framing, per-request
timeouts, and the one JSON object it prints. It is run by path (``python builtin_client.py --url ...``) so it uses
only the standard library and, when importable, uvloop. It is not built on an HTTP client library: those cost more
CPU per request than the servers it measures.

Output, one JSON object on stdout: completed, requests (attempted), duration_s (first request start to last
request end), requests_per_s, non_2xx, status_classes, socket_errors {connect, read, write, timeout},
keepalive_requests (responses after which the connection stayed open, as ab counts them), reused_requests
(requests sent on an already open connection), connections, latency_ms {50, 90, 99, mean} of completed requests,
loop, uvloop, python.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import sys
from array import array
from collections.abc import Coroutine
from time import perf_counter
from urllib.parse import urlsplit

ERROR_KINDS = ("connect", "read", "write", "timeout")
USER_AGENT = b"planet-tracker-builtin/1"


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x we can frame."""


class Target:
    """Where a run sends its one request, over and over, and what any run tallies: errors by kind, latencies (the
    open-loop generator's runs are Targets too)."""

    def __init__(self, host: str, port: int, request: bytes, timeout_s: float, error_kinds: tuple[str, ...]) -> None:
        self.host, self.port, self.request, self.timeout_s = host, port, request, timeout_s
        self.errors = dict.fromkeys(error_kinds, 0)
        self.latencies = array("d")


class Run(Target):
    """The shared budget (a request count or an end time) and tallies of one load run."""

    def __init__(self, host: str, port: int, request: bytes, *, requests: int | None, duration_s: float | None,
                 timeout_s: float, keepalive: bool) -> None:
        super().__init__(host, port, request, timeout_s, ERROR_KINDS)
        self.remaining = requests
        self.duration_s = duration_s
        self.keepalive = keepalive
        self.end = math.inf
        self.first_start: float | None = None
        self.last_end: float | None = None
        self.attempted = 0
        self.completed = 0
        self.status_classes = [0] * 6
        self.keepalive_requests = 0
        self.reused_requests = 0
        self.connections = 0

    def claim(self) -> bool:
        """Take one request from the budget; False once it is spent (or the duration is over)."""
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        elif perf_counter() >= self.end:
            return False
        self.attempted += 1
        return True

    def summary(self, loop_name: str, uvloop_version: str | None) -> dict:
        duration = 0.0 if self.first_start is None else self.last_end - self.first_start
        ordered = sorted(self.latencies)
        latency: dict[str, float | None] = {key: _percentile(ordered, float(key)) for key in ("50", "90", "99")}
        latency["mean"] = sum(ordered) / len(ordered) * 1000 if ordered else None
        classes = {f"{n}xx": count for n, count in enumerate(self.status_classes) if count}
        return {
            "completed": self.completed,
            "requests": self.attempted,
            "duration_s": duration,
            "requests_per_s": self.completed / duration if duration > 0 else 0.0,
            "non_2xx": self.completed - self.status_classes[2],
            "status_classes": classes,
            "socket_errors": self.errors,
            "keepalive_requests": self.keepalive_requests,
            "reused_requests": self.reused_requests,
            "connections": self.connections,
            "latency_ms": latency,
            "loop": loop_name,
            "uvloop": uvloop_version,
            "python": platform.python_version(),
        }


def _percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of sorted seconds, in ms; None when there is no sample."""
    if not ordered:
        return None
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1] * 1000


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response off the stream: (status, whether the server lets the connection be reused)."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(rest) < 3 or not rest[:3].isdigit():
            raise ProtocolError(f"bad status line {lines[0][:80]!r}")
        status = int(rest[:3])
        length = -1
        chunked = False
        connection = b""
        for line in lines[1:-2]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise ProtocolError(f"bad header line {line[:80]!r}")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
                if length < 0:
                    raise ProtocolError(f"bad Content-Length {value[:40]!r}")
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                connection = value.lower()
        # Interim answers (100 Continue, 103 Early Hints) come before the real one; 101 would switch protocols.
        if 100 <= status < 200 and status != 101:
            continue
        break
    reusable = b"close" not in connection and (version == b"HTTP/1.1" or b"keep-alive" in connection)
    if status in (204, 304) or 100 <= status < 200:
        return status, reusable
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields
                    pass
                break
            await reader.readexactly(size + 2)
    elif length >= 0:
        await reader.readexactly(length)
    else:
        await reader.read()  # no framing: the body runs to the end of the connection
        reusable = False
    return status, reusable


class Worker:
    """One connection's loop: take a request from the budget, send it, read the answer, tally it."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.task: asyncio.Task | None = None
        self.expired = False
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def _expire(self) -> None:
        self.expired = True
        self.task.cancel()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def loop(self) -> None:
        run = self.run
        events = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        while run.claim():
            started = perf_counter()
            if run.first_start is None:
                run.first_start = started
            # One timer that cancels this task, rather than asyncio.wait_for: that costs a task per request.
            self.expired = False
            timer = events.call_later(run.timeout_s, self._expire)
            phase = "connect"
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(run.host, run.port)
                    run.connections += 1
                else:
                    run.reused_requests += 1
                phase = "write"
                self.writer.write(run.request)
                await self.writer.drain()  # where a write to a reset connection surfaces
                phase = "read"
                status, reusable = await read_response(self.reader)
            except asyncio.CancelledError:
                if not self.expired:
                    raise
                if hasattr(self.task, "uncancel"):
                    self.task.uncancel()
                run.errors["timeout"] += 1
                self.close()
            except (OSError, EOFError, ProtocolError, ValueError, asyncio.LimitOverrunError):
                # EOFError includes IncompleteReadError: the server closed mid-answer or before answering.
                run.errors[phase] += 1
                self.close()
            else:
                run.completed += 1
                run.status_classes[min(status // 100, 5)] += 1
                run.latencies.append(perf_counter() - started)
                # A server may close after answering without saying so; don't send the next request into that.
                if reusable and run.keepalive and not self.reader.at_eof():
                    run.keepalive_requests += 1
                else:
                    self.close()
            finally:
                timer.cancel()
                run.last_end = perf_counter()
        self.close()


async def drive(run: Run, concurrency: int) -> None:
    if run.duration_s is not None:
        run.end = perf_counter() + run.duration_s
    workers = [Worker(run) for _ in range(concurrency)]
    await asyncio.gather(*(worker.loop() for worker in workers))
    await asyncio.sleep(0)  # let the transports' close callbacks run before the loop goes


def build_request(url: str, keepalive: bool) -> tuple[str, int, bytes]:
    """(host, port, request bytes) for a GET of an http:// URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"need an http:// URL with a host, got {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rpartition("@")[2]
    lines = [f"GET {target} HTTP/1.1", f"Host: {host_header}", f"User-Agent: {USER_AGENT.decode()}", "Accept: */*"]
    if not keepalive:
        lines.append("Connection: close")
    return parts.hostname, parts.port or 80, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def run_loop(main: Coroutine, use_uvloop: bool) -> tuple[str, str | None]:
    """Run ``main`` to the end on a fresh event loop, uvloop's when wanted and importable, else asyncio's: the loop's
    name and uvloop's version."""
    name, version, new_loop = "asyncio", None, asyncio.new_event_loop
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            name, version, new_loop = "uvloop", uvloop.__version__, uvloop.new_event_loop
    loop = new_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return name, version


def arguments(description: str, timeout: str) -> argparse.ArgumentParser:
    """The options both of our generators take: the URL, the per-request timeout, the event loop."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="http://host:port/path?query to GET")
    parser.add_argument("--timeout", type=float, default=10.0, help=timeout)
    parser.add_argument("--no-uvloop", action="store_true", help="asyncio's own event loop even if uvloop is here")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = arguments(__doc__.split("\n\n")[0], "seconds one request may take, connect included")
    parser.add_argument("--concurrency", type=int, required=True, help="connections, each one request at a time")
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--requests", type=int, help="stop after this many requests")
    budget.add_argument("--duration", type=float, help="stop starting requests after this many seconds")
    parser.add_argument("--no-keepalive", action="store_true", help="send Connection: close, one connection each")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or (args.requests is not None and args.requests < 1):
        parser.error("--concurrency and --requests must be at least 1")
    if (args.duration is not None and args.duration <= 0) or args.timeout <= 0:
        parser.error("--duration and --timeout must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        host, port, request = build_request(args.url, not args.no_keepalive)
    except ValueError as error:
        print(f"builtin_client: {error}", file=sys.stderr)
        return 2
    run = Run(host, port, request, requests=args.requests, duration_s=args.duration, timeout_s=args.timeout,
              keepalive=not args.no_keepalive)
    loop_name, uvloop_version = run_loop(drive(run, min(args.concurrency, args.requests or args.concurrency)),
                                         not args.no_uvloop)
    print(json.dumps(run.summary(loop_name, uvloop_version)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
