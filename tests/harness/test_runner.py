"""The measurement protocol against real servers: verified, repeated, interleaved, and failing loudly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from benchmarks.harness import formats, loadgen, results, runner
from benchmarks.harness.article import ARTICLE
from benchmarks.harness.errors import HarnessError, ServerStartFailed
from benchmarks.harness.launcher import ServerSpec
from benchmarks.harness.loadgen.base import LoadResult, LoadSettings
from benchmarks.harness.runner import RunSettings, measure
from benchmarks.harness.scenarios import Scenario

FLAKY = Path(__file__).parent.parent / "data" / "servers" / "flaky_planet.py"
ONE_SECOND = LoadSettings(concurrency=10, duration_s=1)


@dataclass(frozen=True)
class FlakyScenario(Scenario):
    """Answers the planet request correctly twice, then 500s: passes the check before load, fails during it."""

    def spec(self, python: str = sys.executable) -> ServerSpec:
        return ServerSpec((python, str(FLAKY), "--port", "{port}", "--good", "2"))


class SleepyGenerator:
    """A load generator that never finishes: the run must be cut at its deadline."""

    name = "sleepy"
    executable = sys.executable

    def version(self) -> str:
        return "0"

    def command(self, url: str, settings: LoadSettings) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(60)"]

    def parse(self, stdout, stderr, returncode, argv) -> LoadResult:
        raise AssertionError("never reached")


@dataclass(frozen=True)
class ShortDeadline(LoadSettings):
    deadline_s = 1.0


@pytest.mark.needs("wrk")
def test_clean_run_measures_everything():
    settings = RunSettings(load=ONE_SECOND, generator="wrk", repeats=3)
    (run,) = measure([Scenario("aiohttp", "dev")], settings)
    assert run.status == "ok" and run.reason is None and len(run.samples) == 3
    assert 0 < run.ready_s < 20
    for sample in run.samples:
        assert sample.load.generator == "wrk" and sample.load.completed > 100
        assert sample.server_cpu_s > 0 and sample.load.generator_cpu_s > 0
        assert sample.connections >= 10  # wrk opens its 10 connections, then keeps them
        assert len(sample.worker_cpu_s) == 1 and sample.peak_rss_bytes > 10 * 2**20
        assert 0 <= sample.steal_share < 1 and 0 <= sample.other_cpu_share < 1
    rate = run.summary.requests_per_s
    assert rate.min <= rate.ci_low <= rate.median <= rate.ci_high <= rate.max
    assert run.settings["generator"] == "wrk" and run.settings["load"]["duration_s"] == 1
    assert run.settings["path"] == ARTICLE.path and run.scenario["id"] == "aiohttp-dev"


@pytest.mark.parametrize("generator", [pytest.param("ab", marks=pytest.mark.needs("ab")), "builtin"])
def test_keepalive_share_from_the_generator(generator):
    settings = RunSettings(load=ONE_SECOND, generator=generator, repeats=1, warmup=False)
    (kept,) = measure([Scenario("aiohttp", "dev")], settings)
    (closed,) = measure([Scenario("flask", "dev")], settings)  # Werkzeug closes every connection
    assert kept.samples[0].keepalive_share > 0.9 and closed.samples[0].keepalive_share == 0


@pytest.mark.needs("wrk")
def test_workers_share_the_cpu():
    settings = RunSettings(load=ONE_SECOND, generator="wrk", repeats=1, warmup=False)
    (run,) = measure([Scenario("flask", "gunicorn", workers=2)], settings)
    sample = run.samples[0]
    assert len(sample.worker_cpu_s) == 2 and len(sample.process_cpu_s) == 3  # the arbiter is no worker
    assert sample.keepalive_share < 0.05  # gunicorn's sync worker closes every connection
    assert abs(sum(sample.worker_cpu_shares) - 1) < 1e-9


@pytest.mark.needs("wrk")
def test_verification_rejects_a_server_that_answers_500():
    # The aiohttp app under gunicorn's sync worker starts fine and answers every request with 500.
    broken = Scenario("aiohttp", "gunicorn", worker_class="sync")
    (run,) = measure([broken], RunSettings(load=ONE_SECOND, generator="wrk", repeats=2))
    assert run.status == "failed" and run.samples == () and run.summary is None
    assert "answered 500, not 200" in run.reason


@pytest.mark.needs("wrk")
def test_errors_during_load_fail_the_run():
    (run,) = measure([FlakyScenario("flask", "dev")], RunSettings(load=ONE_SECOND, generator="wrk", repeats=2))
    assert run.status == "failed" and "non-2xx responses" in run.reason and run.samples == ()


def test_a_generator_past_its_deadline_fails_the_run_and_leaves_nothing(monkeypatch):
    monkeypatch.setitem(loadgen.GENERATORS, "sleepy", SleepyGenerator())
    settings = RunSettings(load=ShortDeadline(concurrency=10, duration_s=1), generator="sleepy", repeats=1)
    (run,) = measure([Scenario("aiohttp", "dev")], settings)
    assert run.status == "failed" and "did not finish within 1 s" in run.reason
    assert "time.sleep(60)" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_scenarios_are_interleaved(monkeypatch):
    order = []
    real = runner.run_load

    def spy(generator, url, settings, prefix=()):
        order.append(url.split(":")[2].split("/")[0])  # the port tells the servers apart
        return real(generator, url, settings, prefix)

    monkeypatch.setattr(runner, "run_load", spy)
    # No re-runs of disturbed repeats here (the machine may be busy): this is about the order only.
    settings = RunSettings(load=ONE_SECOND, repeats=2, max_reruns=0)
    runs = measure([Scenario("aiohttp", "dev"), Scenario("flask", "dev")], settings)
    a, b = order[0], order[1]
    assert a != b and order == [a, b] * 3  # warm-up, then two rounds of A B
    assert [run.id for run in runs] == ["aiohttp-dev", "flask-dev"]


@pytest.mark.needs("wrk")
def test_disturbed_repeats_are_measured_again():
    # A busy loop on the other core: "other processes" take a large share of the machine during the run.
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        settings = RunSettings(load=ONE_SECOND, generator="wrk", repeats=2, warmup=False, other_limit=0.05,
                               max_reruns=1)
        (run,) = measure([Scenario("aiohttp", "dev")], settings)
    finally:
        hog.kill()
        hog.wait()
    assert run.status == "ok" and run.reruns == 1 and len(run.samples) == 2
    assert all(sample.other_cpu_share > 0.05 and sample.disturbed for sample in run.samples)
    assert run.summary.disturbed_repeats == 2


def test_results_round_trip(tmp_path):
    (run,) = measure([Scenario("aiohttp", "dev")], RunSettings(load=ONE_SECOND, repeats=2, warmup=False))
    failed = results.ServerRun({"id": "x"}, {}, "failed", reason="it broke")
    client = results.ClientRun("aiohttp-gather", "aiohttp", 100, 0.1, {"requests": 100}, "ok", wall_s=(0.2, 0.3))
    original = results.Results(results.environment({"wrk": "4"}), (run, failed, client))
    results.dump(original, tmp_path / "r.json")
    loaded = results.load(tmp_path / "r.json")
    assert json.dumps(loaded.to_dict()) == json.dumps(original.to_dict())
    assert loaded.records[0].samples[0].load == run.samples[0].load
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["schema"] == "planet-tracker-bench" and data["version"] == formats.RESULTS.version == 4
    assert data["records"][1]["summary"] is None and data["environment"]["machine"]["logical_cpus"] >= 1


def test_results_refuse_other_versions(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({"schema": "planet-tracker-bench", "version": 99}))
    with pytest.raises(results.ResultsError, match="version 99"):
        results.load(tmp_path / "r.json")
    (tmp_path / "r.json").write_text("[]")
    with pytest.raises(results.ResultsError, match="not a planet-tracker-bench"):
        results.load(tmp_path / "r.json")


@pytest.mark.needs("ab", "wrk")
def test_choose_generator(monkeypatch):
    assert runner.choose_generator("auto", LoadSettings(concurrency=20, requests=100, duration_s=None)).name == "ab"
    assert runner.choose_generator("auto", LoadSettings(concurrency=20, duration_s=1)).name == "wrk"
    with pytest.raises(HarnessError, match="wrk runs for a duration"):
        runner.choose_generator("wrk", LoadSettings(concurrency=20, requests=100, duration_s=None))
    with pytest.raises(HarnessError, match="unknown load generator"):
        runner.choose_generator("siege", LoadSettings(concurrency=20))
    monkeypatch.setattr(loadgen.shutil, "which", lambda name: None)
    assert runner.choose_generator("auto", LoadSettings(concurrency=20)).name == "builtin"


def test_pinned_run_is_recorded():
    settings = RunSettings(load=ONE_SECOND, repeats=1, warmup=False, pin=True)
    (run,) = measure([Scenario("aiohttp", "dev")], settings)
    assert run.status == "ok" and run.settings["pin"] is True
    assert run.samples[0].load.argv[:3] == ("taskset", "-c", "1")


@pytest.mark.needs("wrk")  # asked for its version before any server starts
def test_pinning_keeps_the_way_a_server_stops(monkeypatch):
    """With --pin the command line gains a taskset prefix; the spec's other fields, gunicorn's quick SIGINT stop
    among them, must survive (they were once rebuilt by position and lost)."""
    started = []

    class Recorder:
        def __init__(self, spec, **kwargs):
            started.append(spec)
            raise ServerStartFailed("not started: only the spec is looked at")

    monkeypatch.setattr(runner, "Server", Recorder)
    monkeypatch.setattr(runner.shutil, "which", lambda name: f"/usr/bin/{name}")
    (run,) = measure([Scenario("flask", "gunicorn")], RunSettings(load=ONE_SECOND, generator="wrk", repeats=1,
                                                                 pin=True))
    assert run.status == "failed"
    (spec,) = started
    assert spec.argv[:3] == ("taskset", "-c", "0") and spec.stop_signal == signal.SIGINT
    assert spec == replace(Scenario("flask", "gunicorn").spec(), argv=spec.argv)
