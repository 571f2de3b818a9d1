"""The launcher starts real servers, knows when they are ready, and leaves nothing behind on any path."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from benchmarks.harness import launcher, procstat
from benchmarks.harness.errors import PortBusy, ServerDied, ServerStartFailed
from benchmarks.harness.launcher import launch
from benchmarks.harness.scenarios import Scenario

AIOHTTP = Scenario("aiohttp", "dev").spec().argv
GUNICORN_2 = Scenario("flask", "gunicorn", workers=2).spec().argv
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_group_gone(pgid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while procstat.group_pids(pgid):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_start_ready_and_stop():
    with launch(AIOHTTP) as server:
        assert 0 < server.ready_s < 20
        assert launcher.http_get(server.port, "/healthz")[0] == 200
        pgid = server.pgid
        assert procstat.group_pids(pgid) == [server.proc.pid]
    assert procstat.group_pids(pgid) == []


def test_workers_are_in_the_group_and_stop_with_it():
    with launch(GUNICORN_2) as server:
        pgid = server.pgid
        end = time.monotonic() + 15
        while len(server.pids()) < 3 and time.monotonic() < end:
            time.sleep(0.05)
        assert len(server.pids()) == 3  # arbiter and two workers
    assert procstat.group_pids(pgid) == []


def test_exception_inside_stops_the_server():
    with pytest.raises(RuntimeError), launch(AIOHTTP) as server:
        pgid = server.pgid
        raise RuntimeError("boom")
    assert procstat.group_pids(pgid) == []


def test_never_ready_times_out_and_leaves_nothing():
    # A "server" that never listens, with a child of its own: both must go.
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);" \
             "print('starting', flush=True); time.sleep(60)"
    server = launch([sys.executable, "-c", script], ready_timeout_s=1.0)
    start = time.monotonic()
    with pytest.raises(ServerStartFailed) as info:
        server.__enter__()
    assert time.monotonic() - start < 10
    assert "not ready after 1 s" in str(info.value) and "starting" in info.value.log_tail
    assert not any("time.sleep(60)" in _cmdline(pid) for pid in _all_pids())


def test_exit_before_ready_shows_the_log():
    with pytest.raises(ServerStartFailed) as info:
        launch([sys.executable, "-c", "import sys; print('no such app', flush=True); sys.exit(3)"]).__enter__()
    assert "status 3" in str(info.value) and "no such app" in info.value.log_tail


def test_died_mid_run():
    with launch(AIOHTTP) as server:
        server.check_alive()
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        with pytest.raises(ServerDied):
            server.check_alive()


def test_requested_port_busy():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(PortBusy, match=f"port {taken.getsockname()[1]} on 127.0.0.1 is busy"):
            launch(AIOHTTP, port=taken.getsockname()[1]).__enter__()


def test_bind_race_is_retried(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        real = launcher.free_port
        monkeypatch.setattr(launcher, "free_port", lambda: next(ports, None) or real())
        with launch(AIOHTTP) as server:
            assert server.port != taken.getsockname()[1]
            assert launcher.http_get(server.port, "/healthz")[0] == 200


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


DRIVER = textwrap.dedent("""
    import sys, time
    from benchmarks.harness.launcher import launch
    with launch({argv!r}) as server:
        print(server.pgid, flush=True)
        time.sleep(120)
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
def test_harness_killed_leaves_no_server(sig):
    """Ctrl-C unwinds through the context manager; SIGKILL and SIGTERM are covered by the parent-death signal."""
    driver = subprocess.Popen([sys.executable, "-c", DRIVER.format(argv=list(GUNICORN_2))], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        pgid = int(driver.stdout.readline())
        assert procstat.group_pids(pgid)
        driver.send_signal(sig)
        driver.wait(20)
        assert wait_group_gone(pgid), f"orphans after {sig.name}: {procstat.group_pids(pgid)}"
    finally:
        driver.kill()
        driver.wait()
        driver.stdout.close()


LOADING_DRIVER = textwrap.dedent("""
    import sys
    from benchmarks.harness.launcher import launch
    from benchmarks.harness.loadgen import GENERATORS, run_load
    from benchmarks.harness.loadgen.base import LoadSettings
    with launch({argv!r}) as server:
        print(server.pgid, flush=True)
        run_load(GENERATORS[{generator!r}], server.url("/healthz"), LoadSettings(concurrency=2, **{size!r}))
""")


def _children(parent: int, name: str) -> list[int]:
    found = []
    for pid in _all_pids():
        try:
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rsplit(")", 1)
        except OSError:
            continue
        if f"({name}" in fields[0] and int(fields[1].split()[1]) == parent:
            found.append(pid)
    return found


@pytest.mark.parametrize(("generator", "size"), [
    pytest.param("wrk", {"duration_s": 60}, marks=pytest.mark.needs("wrk")),
    pytest.param("ab", {"requests": 10**7, "duration_s": None}, marks=pytest.mark.needs("ab"))])
def test_a_harness_killed_mid_load_leaves_no_generator(generator, size):
    """SIGKILL gives the harness no chance to clean up: the server and the load generator die with it all the same
    (parent-death signal), rather than sending load until their own deadline."""
    driver = subprocess.Popen([sys.executable, "-c", LOADING_DRIVER.format(argv=list(AIOHTTP), generator=generator,
                                                                          size=size)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        pgid = int(driver.stdout.readline())
        deadline = time.monotonic() + 20
        while not _children(driver.pid, generator) and time.monotonic() < deadline:
            time.sleep(0.05)
        (tool,) = _children(driver.pid, generator)
        driver.kill()
        driver.wait(20)
        assert wait_group_gone(pgid) and wait_group_gone(tool), f"{generator} or the server outlived the harness"
    finally:
        driver.kill()
        driver.wait()
        driver.stdout.close()


def test_servers_do_not_import_from_the_working_directory(tmp_path, monkeypatch):
    # Under asv the working directory is a checkout of another commit: the server must load the installed app.
    fake = tmp_path / "planet_tracker"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('the checkout in the working directory was imported')\n")
    monkeypatch.chdir(tmp_path)
    for scenario in (Scenario("aiohttp", "dev"), Scenario("flask", "dev"), Scenario("flask", "gunicorn")):
        with launch(scenario.spec().argv, scenario.spec().env) as server:
            assert launcher.http_get(server.port, "/planets/mars")[0] == 200, server.log_tail()


def test_a_one_shot_command_is_bounded_and_leaves_nothing(tmp_path):
    done = launcher.run_command([sys.executable, "-c", "print('out'); import sys; print('err', file=sys.stderr)"],
                                timeout_s=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "out\n", "err\n")
    # A command that outlives its bound is stopped, with the child it started.
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);" \
             " print('started', flush=True); time.sleep(60)"
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        launcher.run_command([sys.executable, "-c", script], timeout_s=2)
    assert time.monotonic() - started < 15
    assert not [pid for pid in _all_pids() if "time.sleep(60)" in _cmdline(pid)]
    assert not launcher._LIVE_GROUPS
