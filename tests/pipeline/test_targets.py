"""pipeline.targets (make smoke, bench, report, history, profile, sweep) with a fake command runner: the command
lines, and the exit status each recipe had."""

from __future__ import annotations

import sys

import pytest

from pipeline import asvrun, targets
from pipeline.asvrun import Done

from .fakes import FakeRunner

PY = sys.executable
REPORT = ["asv publish", "reports summary"]


def summary(root):
    (root / "reports").mkdir(exist_ok=True)
    (root / "reports" / "summary.md").write_text("# Summary\n")


@pytest.mark.parametrize("quick", [False, True])
def test_bench_measures_head_recorded_then_reports(root, quick, capsys):
    summary(root)
    run = FakeRunner()
    assert targets.bench("box", "^core", ("-a", "rounds=2"), quick, run) == 0
    assert run.kinds() == ["asv run", "pipeline dependencies", *REPORT, "benchmarks tools"]
    assert run.asv_runs() == [["run", "HEAD^!", "--record-samples", "--show-stderr", "--machine", "box", "-E",
                               asvrun.virtualenv(), *(asvrun.QUICK if quick else ()), "-a", "rounds=2", "--bench",
                               "^core"]]
    assert run.commands()[3] == [PY, "-m", "reports", "summary", "--machine", "box", "--out", "reports", "--site",
                                 "site"]
    out = capsys.readouterr().out
    assert out.startswith("# Summary\n\nsummary: ") and ("QUICK=1" in out) == quick


def test_bench_stops_when_asv_fails(root):
    run = FakeRunner({"run": Done(2)})
    assert targets.bench("box", "", (), False, run) == 2
    assert run.kinds() == ["asv run", "pipeline dependencies"]  # recorded all the same, nothing published


def test_report_stops_when_publish_fails(root):
    run = FakeRunner({"publish": Done(1)})
    assert targets.report("box", run) == 1 and run.kinds() == ["asv publish"]


def test_smoke_checks_then_runs_the_working_tree_once_recording_nothing(root):
    run = FakeRunner()
    assert targets.smoke("box", "", (), run) == 0
    assert run.kinds() == ["asv check", "asv run"]  # nothing recorded: no dependencies
    assert run.commands()[0][-2:] == ["-E", asvrun.existing()]
    assert run.asv_runs() == [["run", "--show-stderr", "--machine", "box", "-E", asvrun.existing(), *asvrun.QUICK]]
    run = FakeRunner({"check": Done(1)})
    assert targets.smoke("box", "", (), run) == 1 and run.kinds() == ["asv check"]


def test_history_measures_the_last_commits_on_every_installed_python(root):
    run = FakeRunner({"rev-list": Done(0, "a\nb\n")})
    assert targets.history("box", 2, "", (), run) == 0
    assert (root / ".asv" / "history.hashes").read_text() == "a\nb\n"
    assert run.commands()[0] == ["git", "rev-list", "--max-count=2", "HEAD"]
    assert run.asv_runs() == [["run", "HASHFILE:.asv/history.hashes", "--record-samples", "--skip-existing",
                               "--machine", "box", "-E", "virtualenv:3.11", "-E", "virtualenv:3.13"]]
    assert run.kinds()[1:] == ["asv run", "pipeline dependencies", *REPORT]
    run = FakeRunner({"rev-list": Done(0, "a\n"), "run": Done(2)})
    assert targets.history("box", 1, "", (), run) == 2 and "asv publish" not in run.kinds()


def test_profile_needs_a_target(root, capsys):
    run = FakeRunner()
    assert targets.profile("box", "", "HEAD~1", run) == 2 and run.calls == []
    assert "make profile TARGET=ID" in capsys.readouterr().err


def test_profile_profiles_the_target_on_both_commits(root):
    (root / ".asv" / "profile").mkdir(parents=True)
    (root / ".asv" / "profile" / "old.json").write_text("{}")
    run = FakeRunner()
    assert targets.profile("box", "flask-dev", "v1", run) == 0
    assert not (root / ".asv" / "profile" / "old.json").exists()
    assert run.kinds() == ["git rev-parse", "git rev-parse", "asv run", "reports attribution"]
    assert run.asv_runs() == [["run", "HASHFILE:.asv/profile.hashes", "--dry-run", "--machine", "box", "-E",
                               asvrun.virtualenv(), "--bench", asvrun.ATTRIBUTION]]
    assert run.calls[2][1]["PLANET_TRACKER_ATTRIBUTE"] == "flask-dev"
    assert run.commands()[3][-10:] == ["--base", "v1", "--head", "HEAD", "--dir", ".asv/profile", "--markdown",
                                       "reports/profile.md", "--graphs", "reports/attribution"]
    run = FakeRunner({"run": Done(1)})
    assert targets.profile("box", "flask-dev", "v1", run) == 1 and "reports attribution" not in run.kinds()


@pytest.mark.parametrize(("swept", "section", "results", "published", "status", "kinds"), [
    (0, 0, False, 0, 0, ["benchmarks sweep", "reports sweep"]),
    (1, 0, True, 0, 1, ["benchmarks sweep", "reports sweep", *REPORT]),  # a point failed: all written, then 1
    (2, 0, True, 0, 2, ["benchmarks sweep"]),  # nothing measured
    (0, 1, True, 0, 2, ["benchmarks sweep", "reports sweep"]),
    (1, 0, True, 1, 2, ["benchmarks sweep", "reports sweep", "asv publish"]),
])
def test_sweep_keeps_its_exit_statuses(root, swept, section, results, published, status, kinds):
    if results:
        (root / ".asv" / "results" / "box").mkdir(parents=True)
        (root / ".asv" / "results" / "box" / "abcd1234-env.json").write_text("{}")
    run = FakeRunner({"publish": Done(published), "summary": Done(0), "--out": Done(section), "--json": Done(swept)})
    assert targets.sweep("box", ("--quick",), run) == status
    assert run.kinds() == kinds
    assert run.commands()[0] == [PY, "-m", "benchmarks", "sweep", "--quick", "--json", "reports/sweep-results.json"]
