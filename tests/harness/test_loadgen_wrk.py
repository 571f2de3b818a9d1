"""wrk behind the LoadGenerator interface: its command lines, its real outputs read field by field, live runs.

The outputs are captures of the real wrk on real servers (tests/data/loadgen/wrk_*.json, made by capture.py
there); the numbers come from the JSON line of wrk_report.lua, and are checked against wrk's own text too.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

from benchmarks.harness.errors import LoadFailed
from benchmarks.harness.launcher import launch
from benchmarks.harness.loadgen.base import LoadResult, LoadSettings, run_load
from benchmarks.harness.loadgen.wrk import SCRIPT, Wrk

DATA = Path(__file__).parents[1] / "data" / "loadgen"
AIOHTTP = [sys.executable, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", "{port}",
           "planet_tracker.aiohttp_app:create_app"]
ANSWER500 = [sys.executable, str(DATA / "answer500.py"), "{port}"]
PLANET = "/planets/mars?lon=145.051&lat=-39.754&elevation=0"
URL = "http://127.0.0.1:8080" + PLANET
NO_ERRORS = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
MEASURED = ["wrk_ok", "wrk_close", "wrk_flask", "wrk_non2xx", "wrk_404", "wrk_timeout"]


def golden(name: str) -> dict:
    data = json.loads((DATA / f"{name}.json").read_text())
    data["stdout"], data["stderr"] = "".join(data["stdout"]), "".join(data["stderr"])
    return data


def parse(name: str, edit=lambda stdout: stdout) -> LoadResult:
    data = golden(name)
    return Wrk(version=data["version"]).parse(edit(data["stdout"]), data["stderr"], data["returncode"], data["argv"])


def fails(name: str, edit=lambda stdout: stdout) -> str:
    with pytest.raises(LoadFailed) as raised:
        parse(name, edit)
    return str(raised.value)


# -- command lines ---------------------------------------------------------------------------------------------


def test_command_line():
    assert Wrk().command(URL, LoadSettings(concurrency=20, duration_s=5)) == [
        "wrk", "-t", "1", "-c", "20", "-d", "5s", "--latency", "--timeout", "10s", "-s", str(SCRIPT), URL]
    assert Wrk().command(URL, LoadSettings(concurrency=8, duration_s=2, threads=2, timeout_s=0.5, keepalive=False)) == [
        "wrk", "-t", "2", "-c", "8", "-d", "2s", "--latency", "--timeout", "1s", "-s", str(SCRIPT),
        "-H", "Connection: close", URL]
    assert SCRIPT.is_file()


def test_settings_wrk_cannot_run():
    with pytest.raises(LoadFailed, match="cannot make a fixed number of requests"):
        Wrk().command(URL, LoadSettings(concurrency=20, requests=1000, duration_s=None))
    with pytest.raises(LoadFailed, match="at least as many connections as threads: 2 connections, 4 threads"):
        Wrk().command(URL, LoadSettings(concurrency=2, threads=4))
    with pytest.raises(LoadFailed, match=r"wrk's -d takes whole seconds >= 1, not 1\.5$"):
        Wrk().command(URL, LoadSettings(concurrency=20, duration_s=1.5))


@pytest.mark.needs("wrk")
def test_version():
    assert re.fullmatch(r"\S*\d+\.\d+\S*", Wrk().version())
    assert Wrk(version="4.2.0").version() == "4.2.0"


# -- real outputs ----------------------------------------------------------------------------------------------


def test_keepalive_run_against_aiohttp():
    result = parse("wrk_ok")
    assert result.generator == "wrk" and result.version == "debian/4.1.0-3+b2"
    assert result.argv == tuple(golden("wrk_ok")["argv"])
    assert result.completed == 11761
    assert result.duration_s == 1.000426
    assert result.requests_per_s == pytest.approx(11755.99, abs=0.005)  # wrk's "Requests/sec:  11755.99"
    assert result.non_2xx == 0
    assert result.socket_errors == NO_ERRORS
    assert result.failed == 0
    assert result.keepalive_requests is None
    assert result.latency_ms == {"50": 0.329, "90": 0.369, "99": 0.485, "mean": pytest.approx(0.344456244187)}
    assert result.extra == {"bytes": 3545753, "latency_max_ms": 3.583}
    assert math.isnan(result.generator_cpu_s)
    assert result.problems() == []


def test_connection_close():
    result = parse("wrk_close")
    assert result.argv[-2:-1] == ("Connection: close",)
    assert (result.completed, result.duration_s) == (5234, 1.100284)
    assert result.requests_per_s == pytest.approx(4756.95, abs=0.005)
    assert result.latency_ms == {"50": 0.751, "90": 0.956, "99": 2.175, "mean": pytest.approx(0.816604585604)}
    assert result.problems() == []


def test_flask_dev_server():
    result = parse("wrk_flask")
    assert (result.completed, result.duration_s) == (1123, 1.002928)
    assert result.latency_ms == {"50": 3.35, "90": 5.544, "99": 8.304, "mean": pytest.approx(3.545133503401)}
    assert result.problems() == []


@pytest.mark.parametrize("name,count,duration", [("wrk_non2xx", 25648, 1.000344), ("wrk_404", 21804, 1.097494)])
def test_non_2xx_answers(name, count, duration):
    result = parse(name)
    assert (result.completed, result.non_2xx, result.duration_s) == (count, count, duration)
    assert result.socket_errors == NO_ERRORS
    assert result.problems() == [f"{count} non-2xx responses"]


def test_late_answers_are_requests_and_timeouts_without_latency():
    result = parse("wrk_timeout")
    assert (result.completed, result.duration_s) == (8, 2.004922)
    assert result.socket_errors == {**NO_ERRORS, "timeout": 8}
    assert all(math.isnan(value) for value in result.latency_ms.values())
    assert result.problems() == ["socket errors timeout 8"]


@pytest.mark.parametrize("name", MEASURED)
def test_report_line_agrees_with_wrks_text(name):
    stdout = golden(name)["stdout"]
    result = parse(name)
    assert int(re.search(r"^  (\d+) requests in ", stdout, re.MULTILINE)[1]) == result.completed
    non_2xx = re.search(r"^  Non-2xx or 3xx responses: (\d+)$", stdout, re.MULTILINE)
    assert (int(non_2xx[1]) if non_2xx else 0) == result.non_2xx
    errors = re.search(r"^  Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)$", stdout,
                       re.MULTILINE)
    assert dict(zip(NO_ERRORS, map(int, errors.groups()) if errors else (0, 0, 0, 0), strict=True)) == \
        result.socket_errors
    assert float(re.search(r"^Requests/sec:\s+([\d.]+)$", stdout, re.MULTILINE)[1]) == pytest.approx(
        result.requests_per_s, abs=0.005)


def test_refused_connection():
    assert golden("wrk_refused")["returncode"] == 1
    assert re.fullmatch(r"wrk: unable to connect to 127\.0\.0\.1:\d+ Connection refused", fails("wrk_refused"))


def test_usage_error():
    assert fails("wrk_usage") == "wrk: number of connections must be >= threads"


def test_missing_report_line():
    def without_report(stdout: str) -> str:
        return "".join(line for line in stdout.splitlines(keepends=True) if not line.startswith("{"))

    assert fails("wrk_ok", without_report) == "wrk printed no wrk_report.lua report line"
    with pytest.raises(LoadFailed, match=r"^wrk: /x\.lua: cannot open /x\.lua: No such file or directory$"):
        Wrk(version="4.1").parse("Running 1s test\n", "/x.lua: cannot open /x.lua: No such file or directory\n",
                                 0, [])
    with pytest.raises(LoadFailed, match=r"^wrk exited with status 1 and printed only its usage$"):
        Wrk(version="4.1").parse("Usage: wrk <options> <url>\n", "", 1, [])


def test_nothing_completed_is_no_measurement():
    def nothing(stdout: str) -> str:
        return re.sub(r'"requests": \d+', '"requests": 0', stdout)

    assert fails("wrk_timeout", nothing) == "wrk: no response completed in 2.00492 s (socket errors: connect 0, " \
                                            "read 0, write 0, timeout 8)"


# -- live runs -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aiohttp_server():
    with launch(AIOHTTP) as server:
        yield server


@pytest.mark.needs("wrk")
def test_live_duration_run(aiohttp_server):
    result = run_load(Wrk(), aiohttp_server.url(PLANET), LoadSettings(concurrency=4, duration_s=1, timeout_s=5))
    assert result.completed > 0
    assert result.non_2xx == 0
    assert result.problems() == []
    assert 0.9 <= result.duration_s < 2
    assert 0 < result.latency_ms["50"] <= result.latency_ms["90"] <= result.latency_ms["99"]
    assert result.generator_cpu_s > 0


@pytest.mark.needs("wrk")
def test_live_500_answers_fail_the_run():
    with launch(ANSWER500) as server:
        result = run_load(Wrk(), server.url(PLANET), LoadSettings(concurrency=2, duration_s=1, timeout_s=5))
    assert result.completed == result.non_2xx > 0
    assert result.problems() == [f"{result.completed} non-2xx responses"]
