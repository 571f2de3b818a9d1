"""``python -m benchmarks`` end to end: real servers and generators, clear errors, nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.harness import procstat, results

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    return lines[0]


def test_server_run_writes_versioned_results(tmp_path):
    out = tmp_path / "r.json"
    done = bench("server", "--framework", "flask", "--server", "gunicorn", "--workers", "2", "--duration", "1",
                 "--repeats", "2", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "| flask-gunicorn-w2" in done.stdout and "repeat 2/2" in done.stderr  # table, and progress
    (run,) = results.load(out).records
    assert run.id == "flask-gunicorn-w2" and run.status == "ok" and len(run.samples) == 2
    assert run.scenario["workers"] == 2 and run.settings["repeats"] == 2


@pytest.mark.needs("ab")
def test_article_in_one_go(tmp_path):
    out = tmp_path / "article.json"
    done = bench("article", "--repeats", "1", "--client-repeats", "1", "--client-delay-ms", "10", "--quiet",
                 "--json", str(out), timeout=300)
    assert done.returncode == 0, done.stderr
    for row in ("Development server (req/s)", "gunicorn -w 4 (req/s)", "% increase over development server",
                "requests-threads-20", "aiohttp-gather", "13.112", "2,023"):
        assert row in done.stdout
    records = results.load(out).records
    assert sorted(r.id for r in records if r.kind == "server") == sorted(
        ["aiohttp-dev", "flask-dev", "aiohttp-gunicorn", "flask-gunicorn", "aiohttp-gunicorn-w4", "flask-gunicorn-w4"])
    server = [r for r in records if r.kind == "server"]
    assert all(r.settings["load"] == {"concurrency": 20, "requests": 1000, "duration_s": None, "keepalive": True,
                                      "timeout_s": 10.0, "threads": 1} for r in server)
    assert all(r.samples[0].load.argv[:8] == ("ab", "-l", "-r", "-c", "20", "-k", "-n", "1000") for r in server)
    assert len([r for r in records if r.kind == "client"]) == 5


def test_failed_scenario_is_reported_not_measured(tmp_path):
    out = tmp_path / "r.json"
    done = bench("server", "--framework", "aiohttp", "--server", "gunicorn", "--worker-class", "sync",
                 "--duration", "1", "--repeats", "1", "--json", str(out))
    assert done.returncode == 1
    assert "FAILED: GET /planets/mars" in done.stdout and "answered 500" in done.stdout
    (run,) = json.loads(out.read_text())["records"]
    assert run["status"] == "failed" and run["samples"] == [] and run["summary"] is None


@pytest.mark.parametrize("args,message", [
    (["server", "--framework", "django"], "invalid choice"),
    (["server"], "say what to measure"),
    (["server", "--framework", "flask", "--duration", "0.5"], "whole seconds"),
    (["server", "--framework", "flask", "--workers", "2"], "workers, worker class and threads apply to gunicorn"),
    (["server", "--framework", "flask", "--load", "wrk", "--requests", "100"], "wrk runs for a duration"),
    (["server", "--scenario", "nope"], "unknown scenario 'nope'"),
    (["server", "--framework", "flask", "--io-ms", "5000"], "--io-ms 5000: the app takes 0-1000 ms"),
    (["sweep", "--io-ms", "0,5000"], "--io-ms 5000: the app takes 0-1000 ms"),
    (["client", "--delay-ms", "-5"], "delay_ms >= 0"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments(args, message):
    assert message in one_error_line(bench(*args))


def test_missing_tool_names_the_package():
    # A PATH with the interpreter but neither ab nor wrk on it.
    done = bench("server", "--framework", "flask", "--load", "ab", env={"PATH": os.path.dirname(sys.executable)})
    assert one_error_line(done).endswith("ab is not installed: `sudo apt-get install apache2-utils`")


def test_busy_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(bench("server", "--framework", "flask", "--port", str(port)))
    assert f"port {port} on 127.0.0.1 is busy" in line


def _children_groups(pid: int) -> set[int]:
    """Process groups of the direct children of pid (the servers it launched)."""
    groups = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                groups.add(int(fields[2]))
    return groups - {os.getpgid(pid)}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_interrupted_run_stops_every_server(sig):
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks", "server", "--scenario", "flask-gunicorn-w4",
                             "--scenario", "aiohttp-dev", "--duration", "5", "--repeats", "5"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        groups: set[int] = set()
        end = time.monotonic() + 30
        while len(groups) < 2 and time.monotonic() < end:  # both servers up
            groups = _children_groups(proc.pid)
            time.sleep(0.1)
        assert len(groups) == 2
        time.sleep(1.5)  # into the load
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130 and "interrupted; servers stopped" in stderr
        assert all(procstat.group_pids(group) == [] for group in groups)
    finally:
        proc.kill()
        proc.wait()
