"""k6 under open-loop load: its real outputs read field by field, its errors, and live runs on loopback.

The outputs are real k6 v1.1.0 runs of ``k6_open_loop.js`` (tests/data/loadgen/k6_*.json: the summary export,
the exit status and the start of stderr), made on 2026-11-26: ``ok`` at 500 req/s for 3 s against aiohttp's
development server; ``dropped`` at 3000 req/s with 2 VUs, so that k6 could not keep the schedule; ``refused``
against a closed port; ``404`` against ``/planets/pluto``; ``usage`` with a rate that is not a number.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks.harness import openloop, results
from benchmarks.harness.errors import LoadFailed
from benchmarks.harness.launcher import free_port, launch
from benchmarks.harness.openloop import OpenLoopResult, OpenLoopSettings
from benchmarks.harness.results import OpenLoopRun

DATA = Path(__file__).parents[1] / "data" / "loadgen"
AIOHTTP = [sys.executable, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", "{port}",
           "planet_tracker.aiohttp_app:create_app"]
PLANET = "/planets/mars?lon=145.051&lat=-39.754&elevation=0"


def capture(name: str) -> OpenLoopResult:
    data = json.loads((DATA / f"k6_{name}.json").read_text())
    return openloop.parse(data["summary"], data["returncode"], data["stderr"])


def test_a_run_on_schedule_reads_every_figure():
    result = capture("ok")
    assert (result.scheduled, result.sent, result.dropped, result.failed) == (1501, 1501, 0, 0)
    # From the scheduled start (iteration_duration), not from the send (http_req_duration: p50 0.518 ms).
    assert result.latency_ms == {"50": 0.684533, "99": 9.691486, "99.9": 18.46227200000001, "max": 18.815902}
    assert result.on_schedule and result.dropped_share == 0


def test_requests_that_missed_their_schedule_are_counted():
    result = capture("dropped")
    assert (result.sent, result.dropped, result.scheduled) == (4129, 1871, 6000)
    assert result.dropped_share == pytest.approx(0.31183, abs=1e-5) and not result.on_schedule


@pytest.mark.parametrize(("name", "failed"), [("refused", 51), ("404", 50)])
def test_answers_that_are_not_a_verified_2xx_are_failures(name, failed):
    result = capture(name)
    assert result.failed == result.sent == failed


def test_a_run_that_measured_nothing_names_k6s_error():
    with pytest.raises(LoadFailed, match=r"k6 exited with status 255: could not initialize 'script.js'"):
        capture("usage")


@pytest.mark.parametrize(("kwargs", "message"), [({"rate": 0.5}, "at least 1"), ({"rate": 10, "duration_s": 2.5},
                                                                                  "whole seconds")])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OpenLoopSettings(**kwargs)


def test_the_command_stays_on_loopback_and_reports_no_usage():
    argv = openloop.command("http://127.0.0.1:1/x", OpenLoopSettings(rate=200, duration_s=3), Path("/tmp/s.json"))
    assert "--no-usage-report" in argv and openloop.ENV["K6_NO_USAGE_REPORT"] == "true"
    assert "RATE=200" in argv and "DURATION=3s" in argv and f"VUS={OpenLoopSettings(rate=200).vus}" in argv


def test_a_live_run_sends_on_schedule_and_verifies_every_answer():
    with launch(AIOHTTP) as server:
        result = openloop.run(server.url(PLANET), OpenLoopSettings(rate=100, duration_s=2))
    assert result.failed == 0 and result.on_schedule
    assert 190 <= result.sent <= 210  # 100 a second for 2 s, started on a schedule
    assert 0 < result.latency_ms["50"] <= result.latency_ms["99"] <= result.latency_ms["max"]
    assert result.generator_cpu_s > 0 and result.wall_s >= 2


def test_a_live_run_against_nothing_fails_every_request():
    result = openloop.run(f"http://127.0.0.1:{free_port()}/", OpenLoopSettings(rate=20, duration_s=1))
    assert result.sent > 0 and result.failed == result.sent


def test_records_round_trip_and_refuse_inconsistent_states(tmp_path):
    ok = capture("ok")
    records = (OpenLoopRun("aiohttp-dev", {"share": 0.5, "rate": 500}, "ok", None, ok),
               OpenLoopRun("aiohttp-dev", {"share": 0.8}, "not measured", "missed the schedule", capture("dropped")),
               OpenLoopRun("flask-dev", {"share": 0.5}, "failed", "server died"))
    results.dump(results.Results({}, records), tmp_path / "r.json")
    assert results.load(tmp_path / "r.json").records == records
    with pytest.raises(ValueError):
        OpenLoopRun("x", {}, "failed", "why", ok)  # a failed run has no numbers
    with pytest.raises(ValueError):
        OpenLoopRun("x", {}, "not measured", None, ok)  # and one not measured says why
