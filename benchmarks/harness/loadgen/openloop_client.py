"""The open-loop generator: GETs started on a fixed schedule, whatever the answers do, each answer checked.

It is run by path (``python openloop_client.py --url URL --rate R --duration S``) with the harness's interpreter,
so it needs only the standard library and, when importable, uvloop; ``openloop`` runs it and reads the JSON object
it prints. It is not k6: k6 spends about 0.2 ms of CPU per request, and on the one CPU the sweep gives the
generator it could not send 80 % of a one-CPU aiohttp server's capacity; this loop spends a fraction of that.

Request i is due at ``start + i / rate``. When it is due it goes out on the connection freed most recently (last in,
first out: at a low rate a few warm connections carry every request, as they would from real clients), or on a new
one while fewer than ``--connections`` are open; with every connection waiting for an answer it is dropped (as k6
drops an iteration that finds no free VU). The loop wakes at most once a millisecond and sends what is due; a request
sent more than ``--late-ms`` after it was due counts as late: the generator, not the server, set its pace. Latency
runs from the moment a request is sent (never later than due, bar the generator's lateness, which is reported) to
the end of its answer: an answer that is slow shows in full, and never delays the requests behind it.

Every answer is checked: a 2xx whose body carries ``--expect`` (the computed position); any other answer is
"unverified". A request that gets no answer (its connection refused or closed, or no answer within ``--timeout``)
is a transport error, by kind.

Output, one JSON object on stdout: scheduled, sent, dropped, late, answered, unverified, transport_errors {connect,
read, timeout}, latency_ms {50, 99, 99.9, max} of answered requests, lateness_ms {50, 99, max}, connections (opened),
cpu_s (this process's own), loop, uvloop, python.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from array import array
from time import perf_counter

# The closed-loop generator next to it frames the same requests. Run by path (as the sweep runs it), this folder
# is first on sys.path; asv's discovery imports it as a module of the suite.
try:
    from builtin_client import Target, _percentile, arguments, build_request, run_loop
except ImportError:
    from .builtin_client import Target, _percentile, arguments, build_request, run_loop

ERROR_KINDS = ("connect", "read", "timeout")
TICK_S = 0.001  # the schedule's resolution: the loop sleeps no less than this between sends


class Run(Target):
    """The schedule's tallies and the connections, idle (a stack) and waiting for an answer."""

    def __init__(self, host: str, port: int, request: bytes, expect: bytes, *, timeout_s: float, connections: int,
                 late_s: float) -> None:
        super().__init__(host, port, request, timeout_s, ERROR_KINDS)
        self.expect = expect
        self.max_connections = connections
        self.late_s = late_s
        self.idle: list[Connection] = []
        self.waiting: set[Connection] = set()
        self.connecting: set[asyncio.Task] = set()
        self.open = 0  # connected, connecting or waiting
        self.opened = 0
        self.sent = 0
        self.dropped = 0
        self.late = 0
        self.answered = 0
        self.unverified = 0
        self.lateness = array("d")

    def send(self, due: float) -> None:
        """Send the request due at ``due`` on a free connection, a new one, or drop it."""
        now = perf_counter()
        if self.idle:
            connection = self.idle.pop()
        elif self.open < self.max_connections:
            self.open += 1
            self.opened += 1
            connection = None
        else:
            self.dropped += 1
            return
        self.sent += 1
        self.lateness.append(now - due)
        if now - due > self.late_s:
            self.late += 1
        if connection is None:
            task = asyncio.ensure_future(self._connect_and_send(now))
            self.connecting.add(task)
            task.add_done_callback(self.connecting.discard)
        else:
            connection.send(now)

    async def _connect_and_send(self, started: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: Connection(self), self.host, self.port), self.timeout_s)
        except (TimeoutError, OSError):
            self.open -= 1
            self.errors["connect"] += 1
            return
        connection.send(started)  # the latency includes the connection's set-up

    def expire(self) -> None:
        """Requests waiting longer than the timeout: transport errors, their connections closed."""
        now = perf_counter()
        for connection in [c for c in self.waiting if now - c.sent_at > self.timeout_s]:
            connection.fail("timeout")

    def summary(self, loop_name: str, uvloop_version: str | None, cpu_s: float) -> dict:
        latency = sorted(self.latencies)
        lateness = sorted(self.lateness)
        return {
            "scheduled": self.sent + self.dropped, "sent": self.sent, "dropped": self.dropped, "late": self.late,
            "answered": self.answered, "unverified": self.unverified, "transport_errors": self.errors,
            "latency_ms": {key: _percentile(latency, float(key)) for key in ("50", "99", "99.9")}
            | {"max": latency[-1] * 1000 if latency else None},
            "lateness_ms": {key: _percentile(lateness, float(key)) for key in ("50", "99")}
            | {"max": lateness[-1] * 1000 if lateness else None},
            "connections": self.opened, "cpu_s": cpu_s, "loop": loop_name, "uvloop": uvloop_version,
            "python": platform.python_version(),
        }


class Connection(asyncio.Protocol):
    """One keep-alive connection: sends a request, frames the answer (Content-Length, or to the end of the
    connection), checks it, and goes back to the idle stack when the server keeps it open."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.busy = False
        self.closed = False
        self.head = -1  # where the body starts, once the head is in
        self.status = 0
        self.length = -1
        self.keep = True

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def send(self, started: float) -> None:
        """Send the request, whose latency runs from ``started`` (when the schedule sent it here)."""
        if self.closed:  # closed by the server before the request could go: no answer
            self.run.errors["read"] += 1
            return
        self.busy = True
        self.head = -1
        self.buffer.clear()
        self.run.waiting.add(self)
        self.sent_at = started
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            return
        self.buffer += data
        if self.head < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = end + 4
            try:
                self._read_head(bytes(self.buffer[:end]))
            except ValueError:
                self.fail("read")
                return
        if self.length >= 0 and len(self.buffer) - self.head >= self.length:
            self._answered()

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        self.status = int(rest[:3])
        self.length = -1
        connection = b""
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                self.length = int(value)
            elif name == b"connection":
                connection = value.strip().lower()
        self.keep = connection != b"close" and (version == b"HTTP/1.1" or connection == b"keep-alive")

    def _answered(self) -> None:
        run = self.run
        run.latencies.append(perf_counter() - self.sent_at)
        run.answered += 1
        body = self.buffer[self.head:]
        if not (200 <= self.status < 300 and run.expect in body):
            run.unverified += 1
        self.busy = False
        run.waiting.discard(self)
        if self.keep and not self.closed:
            run.idle.append(self)
        else:
            self._close()

    def eof_received(self) -> bool:
        if self.busy and self.head >= 0 and self.length < 0:
            self._answered()  # a body that runs to the end of the connection
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.fail("read")
        elif not self.closed:
            self.closed = True
            self.run.open -= 1
            if self in self.run.idle:
                self.run.idle.remove(self)

    def fail(self, kind: str) -> None:
        self.run.errors[kind] += 1
        self.busy = False
        self.run.waiting.discard(self)
        self._close(abort=True)

    def _close(self, abort: bool = False) -> None:
        if not self.closed:
            self.closed = True
            self.run.open -= 1
            self.transport.abort() if abort else self.transport.close()


async def drive(run: Run, rate: float, duration_s: float) -> None:
    count = round(rate * duration_s)
    start = perf_counter() + TICK_S
    sent = 0
    last_expiry = start
    while sent < count:
        now = perf_counter()
        while sent < count and start + sent / rate <= now:
            run.send(start + sent / rate)
            sent += 1
        if now - last_expiry > 0.1:
            run.expire()
            last_expiry = now
        if sent < count:
            await asyncio.sleep(max(TICK_S, start + sent / rate - perf_counter()))
    # The last answers: each has its timeout (a connection's set-up too), and a little more to notice it.
    end = perf_counter() + run.timeout_s + 0.5
    while (run.waiting or run.connecting) and perf_counter() < end:
        run.expire()
        await asyncio.sleep(0.01)
    for connection in list(run.waiting):
        connection.fail("timeout")
    for connection in list(run.idle):
        connection._close()
    await asyncio.sleep(0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = arguments(__doc__.split("\n\n")[0], "seconds a request may wait for its answer")
    parser.add_argument("--rate", type=float, required=True, help="requests per second, on a fixed schedule")
    parser.add_argument("--duration", type=float, required=True, help="seconds of schedule")
    parser.add_argument("--connections", type=int, default=1000, help="at most this many open at once")
    parser.add_argument("--late-ms", type=float, default=100.0, help="a request sent later than this is late")
    parser.add_argument("--expect", default='"az"', help="what a verified answer's body carries")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.timeout <= 0 or args.connections < 1:
        parser.error("--rate, --duration, --timeout and --connections must be positive")
    return args


def allow_files(count: int) -> None:
    """Raise the soft limit on open files to what ``count`` connections need, as far as the hard limit allows."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 64
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard),
                                                    hard))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    allow_files(args.connections)
    try:
        host, port, request = build_request(args.url, keepalive=True)
    except ValueError as error:
        print(f"openloop_client: {error}", file=sys.stderr)
        return 2
    run = Run(host, port, request, args.expect.encode(), timeout_s=args.timeout, connections=args.connections,
              late_s=args.late_ms / 1000)
    loop_name, uvloop_version = run_loop(drive(run, args.rate, args.duration), not args.no_uvloop)
    times = os.times()
    print(json.dumps(run.summary(loop_name, uvloop_version, times.user + times.system)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
