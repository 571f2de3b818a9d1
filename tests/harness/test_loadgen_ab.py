"""ab behind the LoadGenerator interface: its command lines, its real outputs read field by field, live runs.

The outputs are captures of the real ab on real servers (tests/data/loadgen/ab_*.json, made by capture.py there).
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

from benchmarks.harness.article import ARTICLE
from benchmarks.harness.errors import LoadFailed
from benchmarks.harness.launcher import launch
from benchmarks.harness.loadgen.ab import DURATION_CAP_PER_S, Ab
from benchmarks.harness.loadgen.base import LoadResult, LoadSettings, run_load

DATA = Path(__file__).parents[1] / "data" / "loadgen"
AIOHTTP = [sys.executable, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", "{port}",
           "planet_tracker.aiohttp_app:create_app"]
ANSWER500 = [sys.executable, str(DATA / "answer500.py"), "{port}"]
PLANET = "/planets/mars?lon=145.051&lat=-39.754&elevation=0"
URL = "http://127.0.0.1:8080" + PLANET
NO_ERRORS = {"connect": 0, "receive": 0, "length": 0, "exceptions": 0, "write": 0, "timeout": 0}


def golden(name: str) -> dict:
    data = json.loads((DATA / f"{name}.json").read_text())
    data["stdout"], data["stderr"] = "".join(data["stdout"]), "".join(data["stderr"])
    return data


def parse(name: str, edit=lambda stdout: stdout) -> LoadResult:
    data = golden(name)
    return Ab(version=data["version"]).parse(edit(data["stdout"]), data["stderr"], data["returncode"], data["argv"])


def fails(name: str) -> str:
    with pytest.raises(LoadFailed) as raised:
        parse(name)
    return str(raised.value)


# -- command lines ---------------------------------------------------------------------------------------------


def test_article_preset():
    assert (ARTICLE.load.concurrency, ARTICLE.load.requests, ARTICLE.load.keepalive) == (20, 1000, True)
    assert Ab().command(URL, ARTICLE.load) == ["ab", "-l", "-r", "-c", "20", "-k", "-n", "1000", "-s", "10", URL]


def test_duration_run_puts_the_cap_after_t():
    # -t resets the request count to 50000, so the cap must come after it (ab_duration.json shows it obeyed).
    argv = Ab().command(URL, LoadSettings(concurrency=8, duration_s=5, keepalive=False, timeout_s=2))
    assert argv == ["ab", "-l", "-r", "-c", "8", "-t", "5", "-n", str(5 * DURATION_CAP_PER_S), "-s", "2", URL]
    assert argv.index("-t") < argv.index("-n")


def test_whole_seconds():
    assert Ab().command(URL, LoadSettings(concurrency=2, requests=10, duration_s=None, timeout_s=0.3))[-3:] == [
        "-s", "1", URL]  # rounded up: ab's -s 0 would give up at once
    with pytest.raises(LoadFailed, match=r"ab's -t takes whole seconds >= 1, not 2\.5$"):
        Ab().command(URL, LoadSettings(concurrency=20, duration_s=2.5))
    with pytest.raises(LoadFailed, match=r"not 0\.5$"):
        Ab().command(URL, LoadSettings(concurrency=20, duration_s=0.5))


def test_url_without_path_gets_one():
    assert Ab().command("http://127.0.0.1:8080", ARTICLE.load)[-1] == "http://127.0.0.1:8080/"


@pytest.mark.needs("ab")
def test_version_is_asked_once():
    assert re.fullmatch(r"\d+\.\d+\S*( r\d+)?", Ab().version())
    assert Ab(version="2.3 r1").version() == "2.3 r1"


# -- real outputs ----------------------------------------------------------------------------------------------


def test_keepalive_run_against_aiohttp():
    result = parse("ab_keepalive_aiohttp")
    assert result.generator == "ab" and result.version == "2.3"
    assert result.argv == tuple(golden("ab_keepalive_aiohttp")["argv"])
    assert result.argv[:9] == ("ab", "-l", "-r", "-c", "20", "-k", "-n", "1000", "-s")
    assert result.completed == 1000
    assert result.duration_s == 0.088
    assert result.requests_per_s == 11349.32
    assert result.non_2xx == 0
    assert result.socket_errors == NO_ERRORS
    assert result.failed == 0
    assert result.keepalive_requests == 1000
    assert result.latency_ms == {"50": 2.0, "90": 2.0, "99": 5.0, "mean": 1.762}
    assert result.extra == {"complete_requests": 1000, "longest_ms": 5.0}
    assert math.isnan(result.generator_cpu_s)  # run_load measures it, not the parser
    assert result.problems() == []


def test_no_keepalive_prints_no_keepalive_line():
    data = golden("ab_close_aiohttp")
    assert "-k" not in data["argv"] and "Keep-Alive" not in data["stdout"]
    result = parse("ab_close_aiohttp")
    assert (result.completed, result.duration_s, result.requests_per_s) == (200, 0.052, 3833.33)
    assert result.keepalive_requests == 0
    assert result.latency_ms == {"50": 1.0, "90": 1.0, "99": 4.0, "mean": 1.043}
    assert result.problems() == []


def test_flask_dev_server_closes_every_connection():
    result = parse("ab_flask")
    assert "-k" in result.argv
    assert (result.completed, result.duration_s, result.requests_per_s) == (200, 0.713, 280.47)
    assert result.keepalive_requests == 0
    assert result.latency_ms == {"50": 14.0, "90": 17.0, "99": 21.0, "mean": 14.262}
    assert result.problems() == []


def test_duration_run_is_bounded_by_time():
    result = parse("ab_duration")
    assert result.argv[6:10] == ("-t", "1", "-n", "100000")
    assert result.duration_s == 1.0
    assert result.completed == result.keepalive_requests == 8920  # far below the cap
    assert result.requests_per_s == 8919.5
    assert result.latency_ms == {"50": 0.0, "90": 1.0, "99": 2.0, "mean": 0.448}  # whole milliseconds
    assert result.extra["longest_ms"] == 49.0
    assert result.problems() == []


@pytest.mark.parametrize("name,rate,latency", [
    ("ab_non2xx", 17850.77, {"50": 0.0, "90": 0.0, "99": 1.0, "mean": 0.224}),
    ("ab_404", 11970.31, {"50": 0.0, "90": 0.0, "99": 3.0, "mean": 0.334}),
])
def test_non_2xx_answers_are_counted_not_failed(name, rate, latency):
    result = parse(name)
    assert (result.completed, result.non_2xx, result.failed, result.keepalive_requests) == (100, 100, 0, 100)
    assert result.requests_per_s == rate
    assert result.latency_ms == latency
    assert result.socket_errors == NO_ERRORS
    assert result.problems() == ["100 non-2xx responses"]


def test_refused_connections_are_no_measurement():
    # ab -r counts every refused attempt as a complete request with a receive error: there is no response.
    assert "Complete requests:      40" in golden("ab_refused")["stdout"]
    assert fails("ab_refused") == ("ab: no response received in 40 requests; failed requests 60 "
                                   "(Connect: 0, Receive: 40, Length: 0, Exceptions: 20)")


def test_timeout_aborts_the_run():
    data = golden("ab_timeout")
    assert data["returncode"] == 119 and "Complete requests" not in data["stdout"]
    assert fails("ab_timeout") == "ab: apr_pollset_poll: The timeout specified has expired (70007)"


def test_usage_error_gives_abs_message_not_its_usage():
    assert golden("ab_usage")["returncode"] == 22
    assert fails("ab_usage") == "ab: Cannot use concurrency level greater than total number of requests"


def test_receive_errors_are_not_responses():
    def edit(stdout: str) -> str:
        return stdout.replace("Failed requests:        0\n",
                              "Failed requests:        5\n   (Connect: 0, Receive: 3, Length: 0, Exceptions: 2)\n")

    result = parse("ab_keepalive_aiohttp", edit)
    assert result.completed == 997
    assert result.extra["complete_requests"] == 1000
    assert result.requests_per_s == pytest.approx(997 / 0.088)
    assert result.failed == 5
    assert result.socket_errors == {**NO_ERRORS, "receive": 3, "exceptions": 2}
    assert result.problems() == ["socket errors exceptions 2, receive 3", "5 failed requests"]


def test_messages_when_ab_printed_no_report():
    with pytest.raises(LoadFailed, match=r"^ab: apr_socket_connect\(\): Connection refused \(111\) "
                                         r"\(after 12 requests completed\)$"):
        Ab(version="2.3").parse("Benchmarking 127.0.0.1 (be patient)\nTotal of 12 requests completed\n",
                                "Completed 100 requests\n\nTest aborted after 10 failures\n\n"
                                "apr_socket_connect(): Connection refused (111)\n", 111, [])
    with pytest.raises(LoadFailed, match=r"^ab was killed by signal 9$"):
        Ab(version="2.3").parse("", "", -9, [])
    with pytest.raises(LoadFailed, match=r"^ab printed no report$"):
        Ab(version="2.3").parse("This is ApacheBench, Version 2.3\n", "", 0, [])


# -- live runs -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aiohttp_server():
    with launch(AIOHTTP) as server:
        yield server


@pytest.mark.needs("ab")
def test_live_duration_run(aiohttp_server):
    result = run_load(Ab(), aiohttp_server.url(PLANET), LoadSettings(concurrency=4, duration_s=1, timeout_s=5))
    assert result.completed > 0
    assert result.non_2xx == 0
    assert result.problems() == []
    assert result.keepalive_requests == result.completed
    assert 0.9 <= result.duration_s < 2
    assert result.generator_cpu_s > 0
    assert result.version == Ab().version()


@pytest.mark.needs("ab")
def test_live_500_answers_fail_the_run():
    with launch(ANSWER500) as server:
        result = run_load(Ab(), server.url(PLANET), LoadSettings(concurrency=4, requests=100, duration_s=None))
    assert result.completed == result.non_2xx == 100
    assert result.problems() == ["100 non-2xx responses"]
