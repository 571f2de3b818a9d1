"""``python -m benchmarks sweep``: a small grid and open-loop run on real servers, a point that fails, and with
stand-ins for the servers and the load (no timing): how the CPUs are split, what a transport error does, and which
records make the sweep exit 1."""

from __future__ import annotations

import os
from typing import ClassVar

import pytest

from benchmarks import __main__ as cli
from benchmarks.harness import openloop, results, runner, scenarios, sweeper
from benchmarks.harness.errors import ServerDied
from benchmarks.harness.loadgen.base import LoadResult
from benchmarks.harness.openloop import OpenLoopResult
from benchmarks.harness.results import OpenLoopRun, Sample, ServerRun


@pytest.mark.needs("wrk")
def test_a_small_sweep_measures_every_point_and_both_shares(tmp_path, capsys):
    out = tmp_path / "sweeper.json"
    status = cli.main(["sweep", "--scenario", "aiohttp-dev", "--scenario", "flask-gunicorn", "--concurrency", "1,4",
                       "--io-ms", "0,10", "--repeats", "2", "--open-loop-scenario", "aiohttp-dev",
                       "--open-loop-seconds", "1", "--json", str(out), "--quiet"])
    assert status == 0, capsys.readouterr().err
    records = results.load(out).records
    grid = [r for r in records if isinstance(r, ServerRun) and r.settings["role"] == "grid"]
    points = {(r.id, r.settings["io_ms"], r.settings["load"]["concurrency"]) for r in grid}
    assert points == {(i, ms, c) for i in ("aiohttp-dev", "flask-gunicorn") for ms in (0, 10) for c in (1, 4)}
    assert all(r.status == "ok" and len(r.samples) == 2 for r in grid)
    # With a 10 ms wait a single connection cannot pass ~100 answers a second, whatever the framework.
    waited = [r.summary.requests_per_s.median for r in grid if r.settings["io_ms"] == 10
              and r.settings["load"]["concurrency"] == 1]
    assert all(rate < 110 for rate in waited)
    # The servers are started once for the whole grid (each point's record carries the same start).
    assert all(len({r.ready_s for r in grid if r.id == i}) == 1 for i in ("aiohttp-dev", "flask-gunicorn"))
    assert all(r.settings["cpu_split"] == sweeper.SHARED.to_dict() for r in grid)
    (capacity,) = [r for r in records if isinstance(r, ServerRun) and r.settings["role"] == "capacity"]
    split = sweeper.cpu_split()
    assert capacity.settings["cpu_split"] == split.to_dict() and capacity.settings["pin"] == split.pinned
    shares = [r for r in records if isinstance(r, OpenLoopRun)]
    assert [r.settings["share"] for r in shares] == list(sweeper.SHARES)
    for run in shares:
        assert run.status in ("ok", "not measured") and run.result.failed == 0
        assert run.settings["cpu_split"] == split.to_dict()
        assert run.settings["rate"] == pytest.approx(run.settings["share"] * capacity.summary.requests_per_s.median,
                                                     abs=1)
    assert "io_ms |   connections | aiohttp-dev" in capsys.readouterr().out


@pytest.mark.needs("wrk")
def test_a_point_that_fails_verification_is_failed_and_exits_1(tmp_path, monkeypatch, capsys):
    # aiohttp's app under gunicorn's sync worker starts, and answers every request with 500.
    broken = scenarios.Scenario("aiohttp", "gunicorn", worker_class="sync")
    monkeypatch.setitem(scenarios.SCENARIOS, broken.id, broken)
    out = tmp_path / "sweeper.json"
    status = cli.main(["sweep", "--scenario", broken.id, "--scenario", "aiohttp-dev", "--concurrency", "2",
                       "--io-ms", "0", "--repeats", "2", "--no-open-loop", "--json", str(out), "--quiet"])
    assert status == 1
    by_id = {r.id: r for r in results.load(out).records}
    assert by_id[broken.id].status == "failed" and not by_id[broken.id].samples
    assert by_id["aiohttp-dev"].status == "ok"
    assert "failed verification: aiohttp-gunicorn-sync" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--concurrency", "0"], ["--scenario", "nope"], ["--repeats", "1"],
                                  ["--io-ms", "2000"]])
def test_bad_settings_are_one_error_line(argv, capsys):
    assert cli.main(["sweep", *argv, "--quiet"]) == 2
    assert capsys.readouterr().err.count("\n") == 1



# -- with stand-ins: no server, no load, nothing timed ---------------------------------------------------------------

class FakeServer:
    """A server that is never started: it records its spec, and dies when told to."""

    started: ClassVar[list[FakeServer]] = []

    def __init__(self, spec, **kwargs) -> None:
        self.spec = spec
        self.port = 1
        self.ready_s = 0.1
        self.alive = True
        FakeServer.started.append(self)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    pgid = property(lambda self: os.getpgid(0))

    def pids(self) -> list[int]:
        return [os.getpid()]

    def check_alive(self) -> None:
        if not self.alive:
            raise ServerDied("server exited (status -9) during the run: fake")

    def signal_stop(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def load_result(socket_errors=None, non_2xx=0, argv=("wrk",)) -> LoadResult:
    return LoadResult(generator="wrk", version="4.1.0", argv=tuple(argv), completed=28_000, duration_s=1.0,
                      requests_per_s=28_000.0, non_2xx=non_2xx,
                      socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": 0, **(socket_errors or {})},
                      failed=0, keepalive_requests=None, latency_ms={"50": 1.0, "90": 2.0, "99": 3.0, "mean": 1.0},
                      generator_cpu_s=0.5)


@pytest.fixture
def stand_ins(monkeypatch):
    """Servers that are not started and a load that is not run; returns the load commands' prefixes, in order."""
    FakeServer.started = []
    prefixes = []
    monkeypatch.setattr(sweeper, "Server", FakeServer)
    monkeypatch.setattr(sweeper.verify, "check_target", lambda *args, **kwargs: {})
    monkeypatch.setattr(runner.verify, "check_target", lambda *args, **kwargs: {})
    monkeypatch.setattr(runner.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(sweeper.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(sweeper.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(openloop, "version", lambda: "openloop-1")
    # A machine that is never disturbed: no run is measured again, whatever else runs here meanwhile.
    monkeypatch.setattr(runner.procstat.SystemTimes, "read", classmethod(lambda cls: cls(0.0, 0.0, 0.0, 0.0)))

    def fake_load(generator, url, settings, prefix=()):
        prefixes.append(tuple(prefix))
        return load_result(argv=(*prefix, "wrk"))

    monkeypatch.setattr(runner, "run_load", fake_load)
    monkeypatch.setattr(runner.GENERATORS["wrk"], "version", lambda: "4.1.0")
    return prefixes


@pytest.mark.parametrize(("cpus", "split"), [({0, 1}, (0, 1)), ({5, 2, 3}, (2, 3))])
def test_the_server_and_the_generator_get_a_cpu_each(monkeypatch, cpus, split):
    monkeypatch.setattr(sweeper.os, "sched_getaffinity", lambda pid: cpus)
    monkeypatch.setattr(sweeper.shutil, "which", lambda name: "/usr/bin/taskset")
    found = sweeper.cpu_split()
    assert (found.server, found.generator) == split and found.pinned
    assert found.note == (f"server on CPU {split[0]}, load generator (wrk for the capacity, then the open-loop "
                          f"generator) on CPU {split[1]}, with taskset")


def test_with_one_cpu_nothing_is_pinned_and_the_record_says_why(monkeypatch):
    monkeypatch.setattr(sweeper.os, "sched_getaffinity", lambda pid: {3})
    monkeypatch.setattr(sweeper.shutil, "which", lambda name: "/usr/bin/taskset")
    found = sweeper.cpu_split()
    assert not found.pinned and found.generator is None
    assert found.note == "not pinned: only one CPU (3) is available, so the server and the load generator share it"
    assert sweeper.SweepSettings().capacity(found).pin is False


def test_without_taskset_nothing_is_pinned_and_the_record_says_why(monkeypatch):
    monkeypatch.setattr(sweeper.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(sweeper.shutil, "which", lambda name: None)
    found = sweeper.cpu_split()
    assert not found.pinned and "taskset (util-linux) is not installed" in found.note


def test_the_open_loop_puts_the_server_on_one_cpu_and_wrk_and_its_generator_on_the_other(stand_ins, monkeypatch):
    calls = []

    def fake_open_loop(url, load, prefix=()):
        calls.append((load.rate, tuple(prefix)))
        return OpenLoopResult(scheduled=100, sent=100, dropped=0, failed=0, latency_ms=dict.fromkeys(
            ("50", "99", "99.9", "max"), 1.0), generator_cpu_s=0.2, wall_s=10.0)

    monkeypatch.setattr(openloop, "run", fake_open_loop)
    records = sweeper.open_loop(sweeper.SweepSettings(open_loop_ids=("flask-gunicorn",)))
    (server,) = FakeServer.started
    assert server.spec.argv[:3] == ("taskset", "-c", "0")  # the server on CPU 0...
    assert server.spec.argv[3:] == scenarios.SCENARIOS["flask-gunicorn"].spec().argv
    # ... its capacity measured by wrk on CPU 1 (warm-up and 5 repeats), then the open-loop generator on CPU 1 at
    # 50 and 80 % of it.
    assert stand_ins == [("taskset", "-c", "1")] * 6
    assert calls == [(14_000, ("taskset", "-c", "1")), (22_400, ("taskset", "-c", "1"))]
    capacity, *shares = records
    assert capacity.settings["role"] == "capacity" and capacity.settings["pin"] is True
    assert capacity.settings["cpus"] == (0, 1) and capacity.settings["count_transport_errors"] is True
    for record in records:
        assert record.settings["cpu_split"] == {"server": 0, "generator": 1, "note": sweeper.cpu_split().note}
    assert [r.status for r in shares] == ["ok", "ok"]


def test_with_one_cpu_the_open_loop_runs_unpinned(stand_ins, monkeypatch):
    monkeypatch.setattr(sweeper.os, "sched_getaffinity", lambda pid: {0})
    prefixes = []
    monkeypatch.setattr(openloop, "run", lambda url, load, prefix=(): prefixes.append(prefix) or OpenLoopResult(
        100, 100, 0, 0, dict.fromkeys(("50", "99", "99.9", "max"), 1.0), 0.2, 10.0))
    records = sweeper.open_loop(sweeper.SweepSettings(open_loop_ids=("aiohttp-dev",)))
    assert FakeServer.started[0].spec.argv[0] != "taskset" and set(stand_ins) == {()} and prefixes == [(), ()]
    assert records[0].settings["pin"] is False and "only one CPU" in records[1].settings["cpu_split"]["note"]


def test_a_transport_error_is_counted_in_its_point_and_is_not_a_failure(stand_ins, monkeypatch):
    # One read error in 28,000 requests at 512 connections: what once made make sweep exit 1.
    monkeypatch.setattr(runner, "run_load", lambda *args, **kwargs: load_result({"read": 1}))
    settings = sweeper.SweepSettings(scenario_ids=("aiohttp-gunicorn",), concurrency=(512,), io_ms=(0,))
    (run,) = sweeper.grid(settings)
    assert run.status == "ok" and len(run.samples) == 3 and sweeper.transport_errors(run) == 3
    assert run.samples[0].load.socket_errors["read"] == 1 and run.settings["count_transport_errors"] is True
    assert sweeper.failed([run]) == []
    # The runner's own protocol still fails it: the sweep's setting is what counts it instead.
    (strict,) = runner.measure_started([(scenarios.SCENARIOS["aiohttp-gunicorn"], FakeServer(None))],
                                       runner.RunSettings(load=settings.point(512, 0).load, generator="wrk",
                                                          repeats=1))
    assert strict.status == "failed" and "socket errors read 1" in strict.reason


def test_a_wrong_answer_fails_the_point(stand_ins, monkeypatch):
    monkeypatch.setattr(runner, "run_load", lambda *args, **kwargs: load_result({"read": 1}, non_2xx=2))
    (run,) = sweeper.grid(sweeper.SweepSettings(scenario_ids=("aiohttp-dev",), concurrency=(8,), io_ms=(0,)))
    assert run.status == "failed" and run.reason.endswith("2 non-2xx responses")
    assert sweeper.failed([run]) == ["aiohttp-dev"]


def test_the_grid_starts_its_servers_once_and_again_only_after_one_died(stand_ins, monkeypatch):
    warmups = []
    measure = runner.measure_started
    monkeypatch.setattr(runner, "measure_started", lambda ready, settings, say=None: warmups.append(
        settings.warmup) or measure(ready, settings, say))

    def dies_at_32(generator, url, settings, prefix=()):
        if settings.concurrency == 32:
            FakeServer.started[0].alive = False
        return load_result()

    monkeypatch.setattr(runner, "run_load", dies_at_32)
    settings = sweeper.SweepSettings(scenario_ids=("aiohttp-dev", "flask-gunicorn"), concurrency=(8, 32, 128),
                                   io_ms=(0,))
    runs = sweeper.grid(settings)
    assert [s.spec.argv for s in FakeServer.started] == [scenarios.SCENARIOS[i].spec().argv for i in (
        "aiohttp-dev", "flask-gunicorn", "aiohttp-dev")]
    assert warmups == [True, False, True]  # the first point, and the one after a new start
    assert [(r.id, r.settings["load"]["concurrency"], r.status) for r in runs] == [
        ("aiohttp-dev", 8, "ok"), ("flask-gunicorn", 8, "ok"), ("aiohttp-dev", 32, "failed"),
        ("flask-gunicorn", 32, "ok"), ("aiohttp-dev", 128, "ok"), ("flask-gunicorn", 128, "ok")]
    assert "server exited" in runs[2].reason and sweeper.failed(runs) == ["aiohttp-dev"]


def capacity_run() -> ServerRun:
    sample = Sample(load_result(), 0.5, (0.5,), (0.5,), 0, 0.0, 0.0, False, 0)
    return ServerRun({"id": "aiohttp-dev", "framework": "aiohttp"}, {"role": "capacity"}, "ok", samples=(sample,))


@pytest.mark.parametrize(("result", "status", "reason"), [
    (dict(transport_errors=3), "ok", None),
    (dict(failed=2), "failed", "2 of 100 answers were not a verified 2xx"),
    (dict(transport_errors=100), "failed", "no request was answered (100 transport errors)"),
    (dict(dropped=5, scheduled=105), "not measured", "4.76% of requests could not go out on schedule (limit 0.1%); "
                                                     "5 found all 50 connections waiting for answers: the server fell "
                                                     "behind"),
    (dict(late=1), "not measured", "1.00% of requests could not go out on schedule (limit 0.1%); 1 went out more "
                                   "than 100 ms late: the generator fell behind (it used a whole CPU)"),
], ids=["transport errors", "wrong answers", "no answer at all", "dropped", "late"])
def test_an_open_loop_point_is_ok_failed_or_not_measured(monkeypatch, result, status, reason):
    figures = dict(scheduled=100, sent=100, dropped=0, failed=0, latency_ms=dict.fromkeys(("50", "99", "99.9", "max"),
                                                                                         1.0),
                   generator_cpu_s=9.5, wall_s=10.0)
    monkeypatch.setattr(openloop, "run", lambda *args, **kwargs: OpenLoopResult(**{**figures, **result}))
    run = sweeper._one(FakeServer(None), openloop.OpenLoopSettings(rate=40), {"share": 0.5}, "aiohttp-dev", ())
    assert (run.status, run.reason) == (status, reason)
    assert sweeper.failed([run]) == (["aiohttp-dev"] if status == "failed" else [])


def test_a_server_that_died_under_open_loop_load_fails_the_point(monkeypatch):
    monkeypatch.setattr(openloop, "run", lambda *args, **kwargs: OpenLoopResult(
        10, 10, 0, 0, dict.fromkeys(("50", "99", "99.9", "max"), 1.0)))
    server = FakeServer(None)
    server.alive = False
    run = sweeper._one(server, openloop.OpenLoopSettings(rate=10), {"share": 0.5}, "flask-dev", ())
    assert run.status == "failed" and run.reason.startswith("server exited") and sweeper.failed([run]) == ["flask-dev"]


@pytest.mark.parametrize(("open_loop_status", "status"), [("ok", 0), ("not measured", 0), ("failed", 1)])
@pytest.mark.needs("wrk")
def test_the_exit_status(monkeypatch, tmp_path, open_loop_status, status):
    """0 with transport errors counted and points off schedule; 1 only for a record that failed."""
    grid_run = ServerRun({"id": "aiohttp-gunicorn", "framework": "aiohttp"}, {"role": "grid", "io_ms": 0, "load": {
        "concurrency": 512}}, "ok", samples=(Sample(load_result({"read": 1}), 0.5, (0.5,), (0.5,), 0, 0.0, 0.0, False,
                                                    0),))
    result = OpenLoopResult(100, 100, 0, 0, dict.fromkeys(("50", "99", "99.9", "max"), 1.0), transport_errors=4)
    reason = {"ok": None, "not measured": "off schedule", "failed": "2 of 98 answers were not a verified 2xx"}
    open_run = OpenLoopRun("flask-dev", {"share": 0.8}, open_loop_status, reason[open_loop_status],
                           None if open_loop_status == "failed" else result)
    monkeypatch.setattr(sweeper, "grid", lambda *args: [grid_run])
    monkeypatch.setattr(sweeper, "open_loop", lambda *args: [capacity_run(), open_run])
    assert cli.main(["sweep", "--json", str(tmp_path / "r.json"), "--quiet"]) == status


@pytest.mark.parametrize(("other", "attempts"), [(0.5, 2), (0.0, 1)], ids=["disturbed", "quiet"])
def test_a_point_off_schedule_is_measured_again_only_when_the_machine_was_disturbed(monkeypatch, other, attempts):
    figures = dict(scheduled=100, sent=100, dropped=0, failed=0, latency_ms=dict.fromkeys(("50", "99", "99.9", "max"),
                                                                                         1.0),
                   generator_cpu_s=0.5, wall_s=10.0, late=20, other_cpu_share=other)
    runs = iter([OpenLoopResult(**figures), OpenLoopResult(**{**figures, "late": 0, "other_cpu_share": 0.0})])
    monkeypatch.setattr(sweeper, "_watched", lambda *args: next(runs))
    capacity = capacity_run()
    budget = sweeper._Budget(1)
    (first, *_) = sweeper._at_shares(scenarios.SCENARIOS["aiohttp-dev"], FakeServer(None), capacity,
                                   sweeper.SweepSettings(shares=(0.5,)), sweeper.SHARED, "openloop-1", budget,
                                   lambda m: None)
    assert first.settings["attempt"] == attempts
    assert first.status == ("ok" if attempts == 2 else "not measured")
    assert budget.left == 2 - attempts  # and once spent, no point is measured again
