"""The client scenarios against a real latency server: each strategy completes, obeys physics, and fails loudly."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

import pytest
import requests

from benchmarks.harness import client, procstat
from benchmarks.harness.client import (
    DELAY_PATH,
    STRATEGIES,
    ClientSettings,
    check_answer,
    latency_server,
    run_scenarios,
    run_strategy,
    theoretical_floor_s,
)
from benchmarks.harness.errors import LoadFailed, VerificationFailed
from benchmarks.harness.launcher import http_get
from benchmarks.harness.results import ClientRun

# Short waits and few requests keep the module to seconds; 20 divides evenly by every strategy's concurrency.
SETTINGS = ClientSettings(requests=20, delay_ms=20, repeats=2, timeout_s=5)
DELAY_S = SETTINGS.delay_ms / 1000
POOL_FULL = "Connection pool is full"


@pytest.fixture(scope="module")
def server():
    with latency_server(SETTINGS) as running:
        pgid = running.pgid
        yield running
    assert procstat.group_pids(pgid) == []


@pytest.fixture(scope="module")
def delay_url(server) -> str:
    return server.url(DELAY_PATH)


@pytest.fixture(scope="module")
def dead_url() -> str:
    """The URL of a latency server that was started, answered, and was stopped: its whole group is gone."""
    with latency_server(SETTINGS) as stopped:
        url, pgid = stopped.url(DELAY_PATH), stopped.pgid
        assert http_get(stopped.port, "/healthz")[0] == 200
    assert procstat.group_pids(pgid) == []
    return url


# -- the latency server ------------------------------------------------------------------------------------------


def test_latency_server_waits_the_delay_and_echoes_the_request(server):
    start = time.perf_counter()
    status, content_type, body = http_get(server.port, f"{DELAY_PATH}?n=7")
    elapsed = time.perf_counter() - start
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body) == {"ok": True, "n": "7", "delay_ms": SETTINGS.delay_ms}
    assert elapsed >= DELAY_S


def test_latency_server_takes_a_per_request_delay(server):
    start = time.perf_counter()
    status, _, body = http_get(server.port, f"{DELAY_PATH}?n=x&ms=60")
    assert time.perf_counter() - start >= 0.060
    assert status == 200 and json.loads(body) == {"ok": True, "n": "x", "delay_ms": 60.0}


@pytest.mark.parametrize("query", ["ms=abc", "ms=-1", "status=99", "status=x"])
def test_latency_server_refuses_nonsense(server, query):
    assert http_get(server.port, f"{DELAY_PATH}?{query}")[0] == 400


def test_latency_server_serves_100_requests_at_once(delay_url):
    settings = ClientSettings(requests=100, delay_ms=20)
    wall = run_strategy("aiohttp-gather", delay_url, settings)
    # Queued one by one they would take 2 s; concurrently, the wait once plus connection set-up.
    assert theoretical_floor_s("aiohttp-gather", settings) <= wall < 100 * 0.020 / 4


# -- every strategy: completes, and obeys physics -----------------------------------------------------------------


@pytest.mark.parametrize("strategy_id", list(STRATEGIES))
def test_strategy_completes_no_faster_than_its_floor(delay_url, strategy_id):
    wall = run_strategy(strategy_id, delay_url, SETTINGS)
    floor = theoretical_floor_s(strategy_id, SETTINGS)
    concurrency = STRATEGIES[strategy_id].concurrency(SETTINGS.requests)
    assert floor == pytest.approx(SETTINGS.requests * DELAY_S / concurrency)
    assert wall >= floor
    assert 0 < floor / wall <= 1


def test_sequential_takes_at_least_every_delay_in_turn(delay_url):
    assert run_strategy("requests-sequential", delay_url, SETTINGS) >= SETTINGS.requests * DELAY_S


def test_concurrencies_are_the_articles_and_gathers():
    assert {s.id: s.concurrency(100) for s in STRATEGIES.values()} == {
        "requests-sequential": 1, "requests-threads-10": 10, "requests-threads-20": 20,
        "threadpool": 100, "aiohttp-gather": 100,
    }


def test_uneven_shares_floor_on_the_busiest_thread():
    settings = ClientSettings(requests=25, delay_ms=10)
    assert theoretical_floor_s("requests-threads-10", settings) == pytest.approx(0.030)  # 3 rounds, not 2.5


def test_unknown_strategy_is_named(delay_url):
    with pytest.raises(ValueError, match="unknown strategy 'curl'"):
        run_strategy("curl", delay_url, SETTINGS)


# -- wrong answers and dead servers fail the scenario, with a reason ----------------------------------------------


@pytest.mark.parametrize("strategy_id", list(STRATEGIES))
@pytest.mark.parametrize(("path", "reason"), [
    ("/nope", "answered status 404, not 200"),
    (f"{DELAY_PATH}?status=500", "answered status 500, not 200"),
    ("/healthz", "answered a body that is not JSON"),  # a 200, but not the answer
])
def test_a_wrong_answer_fails_the_strategy(server, strategy_id, path, reason):
    with pytest.raises(VerificationFailed, match=reason) as failure:
        run_strategy(strategy_id, server.url(path), SETTINGS)
    message = str(failure.value)
    assert message.startswith(f"{strategy_id}: ") and "requests failed" in message and "\n" not in message


@pytest.mark.parametrize("strategy_id", list(STRATEGIES))
def test_a_dead_server_fails_the_strategy(dead_url, strategy_id):
    with pytest.raises(LoadFailed, match="Connection refused") as failure:
        run_strategy(strategy_id, dead_url, SETTINGS)
    assert "\n" not in str(failure.value)


@pytest.mark.parametrize("strategy_id", ["requests-sequential", "requests-threads-10", "aiohttp-gather"])
def test_a_slow_answer_times_out(server, strategy_id):
    settings = ClientSettings(requests=SETTINGS.requests, delay_ms=SETTINGS.delay_ms, timeout_s=0.2)
    # The first ms wins on the server, so every request waits 1 s.
    with pytest.raises(LoadFailed, match=r"no answer within 0\.2 s"):
        run_strategy(strategy_id, server.url(f"{DELAY_PATH}?ms=1000"), settings)


def test_an_answer_for_another_request_is_wrong():
    body = json.dumps({"ok": True, "n": "4", "delay_ms": 20.0}).encode()
    check_answer("u", 4, 200, body, SETTINGS)
    with pytest.raises(VerificationFailed, match=re.escape("not {'ok': True, 'n': '5'")):
        check_answer("u", 5, 200, body, SETTINGS)


# -- threads and urllib3's connection pool ----------------------------------------------------------------------


def test_twenty_threads_fill_no_connection_pool(delay_url, caplog):
    caplog.set_level(logging.WARNING, logger="urllib3")
    run_strategy("requests-threads-20", delay_url, ClientSettings(requests=40, delay_ms=SETTINGS.delay_ms))
    assert not [record for record in caplog.records if POOL_FULL in record.getMessage()]


def test_one_session_shared_by_twenty_threads_does_fill_the_pool(delay_url, caplog):
    """The control for the test above: the article's shared Session, and caplog does see urllib3's warning."""
    caplog.set_level(logging.WARNING, logger="urllib3")
    session = requests.Session()
    session.trust_env = False
    barrier = threading.Barrier(20)

    def fetch() -> None:
        barrier.wait()
        session.get(f"{delay_url}?n=0", timeout=5).raise_for_status()

    with session:
        threads = [threading.Thread(target=fetch) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [record for record in caplog.records if POOL_FULL in record.getMessage()]


# -- the scenario ---------------------------------------------------------------------------------------------------


def test_scenario_interleaves_records_and_stops_its_server(monkeypatch):
    calls: list[str] = []
    servers = []
    real_run, real_server = client.run_strategy, client.latency_server

    def recording(strategy_id, base_url, settings):
        calls.append(strategy_id)
        return real_run(strategy_id, base_url, settings)

    def keep(settings):
        servers.append(real_server(settings))
        return servers[-1]

    monkeypatch.setattr(client, "run_strategy", recording)
    monkeypatch.setattr(client, "latency_server", keep)
    runs = run_scenarios(SETTINGS)

    ids = list(STRATEGIES)
    assert calls == ids * (1 + SETTINGS.repeats)  # warm-up, then A B C D E per round
    assert servers[0].proc is None and servers[0].ready_s > 0  # stopped, after it was ready
    assert [run.id for run in runs] == ids
    for run in runs:
        assert run.status == "ok" and run.reason is None and len(run.wall_s) == SETTINGS.repeats
        summary = run.summary
        assert run.floor_s <= summary.wall_s.min <= summary.wall_s.median <= summary.wall_s.max
        assert 0 < summary.efficiency <= 1
    data = json.loads(json.dumps(runs[0].to_dict()))
    assert data["settings"]["requests"] == SETTINGS.requests and data["kind"] == "client"
    assert ClientRun.from_dict(data) == runs[0]


def test_a_failed_strategy_yields_no_number_and_the_others_go_on(monkeypatch):
    real = client.run_strategy

    def failing(strategy_id, base_url, settings):
        if strategy_id == "requests-threads-10":
            raise LoadFailed("requests-threads-10: 1 of 4 requests failed; first: made up")
        return real(strategy_id, base_url, settings)

    monkeypatch.setattr(client, "run_strategy", failing)
    settings = ClientSettings(requests=4, delay_ms=10, repeats=1)
    failed, fine = run_scenarios(settings, ["requests-threads-10", "aiohttp-gather"])
    assert failed.status == "failed" and failed.wall_s == () and failed.summary is None
    assert failed.reason == ("warm-up: requests-threads-10: 1 of 4 requests failed; first: made up; "
                             "repeat 1: requests-threads-10: 1 of 4 requests failed; first: made up")
    assert fine.status == "ok" and fine.summary.wall_s.median > 0
    assert json.loads(json.dumps(failed.to_dict()))["summary"] is None


def test_a_record_is_ok_or_failed_never_both():
    with pytest.raises(ValueError):
        ClientRun("x", "requests", 1, 0.01, {}, "ok")  # ok without wall times
    with pytest.raises(ValueError):
        ClientRun("x", "requests", 1, 0.01, {}, "failed", "why", (0.1,))  # failed with a number
