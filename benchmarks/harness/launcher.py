"""Start a server on 127.0.0.1, know when it is up, and make sure it stops.

A server runs in its own process group, so that stopping it stops its workers too, and with a parent-death
signal, so that it dies with the harness even when the harness is SIGKILLed (asv kills a benchmark's process
group on a timeout, and our group is not in it). Readiness is a poll of its health URL against a deadline, or,
where a request would be counted too (under valgrind), of the kernel's table of listening sockets.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import procstat
from .errors import PortBusy, ServerDied, ServerStartFailed

HOST = "127.0.0.1"
PORT_PLACEHOLDER = "{port}"
# What servers print when the port was taken between our probe and their bind.
BIND_FAILURES = ("address already in use", "connection in use")  # compared in lower case
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the caller retries if it is gone by bind time)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def check_port_free(port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise PortBusy(f"port {port} on {HOST} is busy; choose another or leave it out") from None


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, str, bytes]:
    """One GET on loopback: (status, content type, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


_libc = None
# Process groups started here and not yet reaped: kill_all() ends them (a Ctrl-C while worker threads wait on them).
_LIVE_GROUPS: set[int] = set()


def _bind_failed(log: str) -> bool:
    log = log.lower()
    return any(marker in log for marker in BIND_FAILURES)


def _child_setup(parent: int) -> None:
    """Runs in the child between fork and exec: own process group, and die with the parent."""
    os.setpgid(0, 0)
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def popen_in_group(argv: Sequence[str], **kwargs) -> subprocess.Popen:
    """Start a process in its own process group, armed to die with this one (even when this one is SIGKILLed)."""
    global _libc
    if _libc is None:
        with contextlib.suppress(OSError):
            _libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()
    proc = subprocess.Popen(list(argv), preexec_fn=lambda: _child_setup(parent), **kwargs)
    _LIVE_GROUPS.add(proc.pid)
    return proc


def end_group(proc: subprocess.Popen, first_signal: int = signal.SIGTERM, grace_s: float = 5.0) -> None:
    """Signal the whole group, wait, then SIGKILL whatever is left of it; returns when nothing of it is left."""
    pgid = proc.pid
    try:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, first_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace_s)
    finally:
        # Children (gunicorn's workers) can outlive their parent for a moment; nothing of the group may survive.
        end = time.monotonic() + grace_s
        while procstat.group_pids(pgid) and time.monotonic() < end:
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait()
        while procstat.group_pids(pgid):
            time.sleep(0.01)
        _LIVE_GROUPS.discard(pgid)


def kill_all() -> None:
    """SIGKILL every process group started here that is still running (for an interrupted multi-threaded run)."""
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def run_command(argv: Sequence[str], timeout_s: float, env: Mapping[str, str] | None = None,
                cwd: str | Path | None = None, inherit_env: bool = True) -> subprocess.CompletedProcess:
    """Run a one-shot command in its own process group, capturing its text output; on a timeout (TimeoutExpired)
    or any interruption the whole group is stopped first. ``inherit_env=False``: ``env`` is its whole
    environment."""
    full = None if env is None and inherit_env else {**(os.environ if inherit_env else {}), **(env or {})}
    proc = popen_in_group(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, errors="replace", env=full, cwd=cwd)
    with proc:  # closes the pipes on every path
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except BaseException:
            end_group(proc, signal.SIGKILL, grace_s=1.0)
            raise
        end_group(proc, grace_s=1.0)  # the command's own children, if it left any
    return subprocess.CompletedProcess(list(argv), proc.returncode, stdout, stderr)


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: argv with ``{port}`` where the port goes, extra environment, health path, the
    signal that stops it (gunicorn's graceful SIGTERM waits for its arbiter's 1 s ticks; SIGINT is quick), and
    how to tell it is up: an answer on the health path ("http"), or a listening socket on its port ("listening",
    which costs the server nothing: a poll loop would add a varying number of requests to what it executes)."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    health_path: str = "/healthz"
    stop_signal: int = signal.SIGTERM
    readiness: str = "http"
    inherit_env: bool = True  # False: ``env`` is the server's whole environment (a counted server: callgrind.py)


class Server:
    """A running server; use as a context manager so that it is stopped on every path.

    ``ready_s`` is the time from process start to the first HTTP answer on the health path, ``health_status``
    that answer's status.
    """

    def __init__(self, spec: ServerSpec, *, port: int | None = None, ready_timeout_s: float = 20.0,
                 log_path: Path | None = None, port_attempts: int = 3) -> None:
        self.spec = spec
        self.requested_port = port
        self.ready_timeout_s = ready_timeout_s
        self.port_attempts = 1 if port else port_attempts
        self._log_path = log_path
        self.port = 0
        self.ready_s = float("nan")
        self.health_status = 0
        self.proc: subprocess.Popen | None = None
        self._log = None
        self._last_log = ""  # the log's last lines, kept when the server stops
        self._workdir = ""  # an empty folder the server runs in (see _spawn)
        self._started = 0.0

    # -- lifecycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> Server:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        if self.requested_port:
            check_port_free(self.requested_port)
        for attempt in range(self.port_attempts):
            self.port = self.requested_port or free_port()
            self._spawn()
            try:
                self._wait_ready()
                return
            except ServerStartFailed as error:
                bind_race = _bind_failed(error.log_tail)
                self.stop()
                if not bind_race:
                    raise
                if attempt + 1 == self.port_attempts:
                    raise PortBusy(f"could not bind a free port on {HOST} in {self.port_attempts} attempts") from error

    def _spawn(self) -> None:
        if self._log is not None:
            self._log.close()
        if self._log_path:
            self._log = open(self._log_path, "w+b")
        else:
            self._log = tempfile.TemporaryFile()
        argv = [arg.replace(PORT_PLACEHOLDER, str(self.port)) for arg in self.spec.argv]
        # An empty working directory: `python -m`, gunicorn and flask put the working directory first on sys.path,
        # and under asv that is a checkout whose planet_tracker is not the build being measured.
        self._workdir = tempfile.mkdtemp(prefix="planet-bench-")
        self._started = time.monotonic()
        env = {**(os.environ if self.spec.inherit_env else {}), **self.spec.env}
        self.proc = popen_in_group(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                   cwd=self._workdir, env=env)

    def _wait_ready(self) -> None:
        deadline = self._started + self.ready_timeout_s
        pause = 0.005
        while True:
            if self.proc.poll() is not None:
                raise ServerStartFailed(f"server exited with status {self.proc.returncode} before it was ready: "
                                        f"{self.command_line}", self.log_tail())
            if self.spec.readiness == "listening":
                if procstat.listening(self.port):
                    self.ready_s = time.monotonic() - self._started
                    return
            else:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    # Any HTTP answer means the server is up; whether it answers *correctly* is for verification
                    # to judge (the aiohttp app under a sync gunicorn worker is up, and answers 500 to everything).
                    self.health_status = http_get(self.port, self.spec.health_path, timeout=1.0)[0]
                    self.ready_s = time.monotonic() - self._started
                    return
            if time.monotonic() > deadline:
                raise ServerStartFailed(f"server not ready after {self.ready_timeout_s:g} s: {self.command_line}",
                                        self.log_tail())
            if _bind_failed(self.log_tail(5)):
                raise ServerStartFailed(f"server could not bind port {self.port}", self.log_tail())
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def signal_stop(self) -> None:
        """Ask the group to stop without waiting (to stop several servers at once); stop() then waits."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, self.spec.stop_signal)

    def stop(self, grace_s: float = 5.0) -> None:
        """Signal the whole group (SIGTERM unless the spec says otherwise), wait, then SIGKILL whatever is left of
        it. Safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            end_group(proc, self.spec.stop_signal, grace_s)
        finally:
            if self._log is not None and not self._log_path:
                self._last_log = self.log_tail(50)
                self._log.close()
                self._log = None
            if self._workdir:
                shutil.rmtree(self._workdir, ignore_errors=True)

    # -- observation -----------------------------------------------------------------------------------------

    @property
    def command_line(self) -> str:
        return " ".join(arg.replace(PORT_PLACEHOLDER, str(self.port)) for arg in self.spec.argv)

    @property
    def pgid(self) -> int:
        assert self.proc is not None, "server is not running"
        return self.proc.pid

    def pids(self) -> list[int]:
        return procstat.group_pids(self.pgid)

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            status = None if self.proc is None else self.proc.returncode
            raise ServerDied(f"server exited (status {status}) during the run: {self.command_line}", self.log_tail())

    def log_tail(self, lines: int = 20) -> str:
        if self._log is None or self._log.closed:
            return self._last_log
        # pread: the server shares this file's offset, so seeking it would move where the server writes.
        fd = self._log.fileno()
        size = os.fstat(fd).st_size
        text = os.pread(fd, 16384, max(0, size - 16384)).decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


def launch(argv: Sequence[str], env: Mapping[str, str] | None = None, **kwargs) -> Server:
    """Shorthand: ``with launch([...]) as server:``."""
    return Server(ServerSpec(tuple(argv), dict(env or {})), **kwargs)
