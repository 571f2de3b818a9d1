"""pipeline.gate (make compare), phase by phase, with a fake command runner: the command lines it builds, and
its flow on each exit status."""

from __future__ import annotations

import sys

import pytest

from pipeline import asvrun, gate
from pipeline.asvrun import Done

from .fakes import FakeRunner

MACHINE = "box"
COMPARISON = gate.Comparison("main", MACHINE, bench=r"^core\.", asv_args=("-a", "rounds=1"), python="py")
BOTH = ["run", "HASHFILE:.asv/compare.hashes", "--record-samples", "--interleave-rounds", "--machine", MACHINE,
        "-E", asvrun.virtualenv()]
FLAGGED = r"^(core\.Query\.time_parse_query)$"


def test_prepare_removes_the_last_outputs_and_writes_both_commits(root):
    for path in ("reports/compare.md", "reports/compare.json", ".asv/compare.flagged",
                 ".asv/attribution/abc/x.json", "reports/attribution/x.svg"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("old")
    run = FakeRunner({"main^{commit}": Done(0, "b" * 40 + "\n"), "HEAD^{commit}": Done(0, "h" * 40 + "\n")})
    assert gate.prepare(COMPARISON, run) == "HASHFILE:.asv/compare.hashes"
    assert (root / ".asv/compare.hashes").read_text() == "b" * 40 + "\n" + "h" * 40 + "\n"
    assert not any((root / path).exists() for path in ("reports/compare.md", "reports/compare.json",
                                                        ".asv/compare.flagged", ".asv/attribution",
                                                        "reports/attribution"))
    assert run.commands() == [["git", "rev-parse", "--verify", "main^{commit}"],
                              ["git", "rev-parse", "--verify", "HEAD^{commit}"]]


def test_a_base_that_is_no_commit_is_an_error(root, capsys):
    run = FakeRunner({"nope^{commit}": Done(128)})
    assert gate.compare(gate.Comparison("nope", MACHINE, python="py"), run) == 2
    assert "'nope' is not a commit" in capsys.readouterr().err
    assert run.kinds() == ["git rev-parse"]  # nothing measured


def test_measure_runs_both_commits_and_records_the_dependencies(root):
    run = FakeRunner({"run": Done(2)})  # a benchmark failed: a row of the table, not the end
    assert gate.measure(COMPARISON, asvrun.Asv(run, "py")) == 2
    (asv, env, _), (dependencies, _, _) = run.calls
    assert asv == ["py", "-m", "asv", *BOTH, "-a", "rounds=1", "--bench", r"^core\."]
    assert env["PATH"].startswith("/py/3.11/bin:")  # pyenv's shims crash asv: the real folders first
    # The counts keep their functions where attribution will look for them.
    assert env["PLANET_TRACKER_ATTRIBUTE_DIR"] == str(root / ".asv/attribution")
    assert dependencies == ["py", "-m", "pipeline", "dependencies", "--machine", MACHINE]


def test_flag_writes_the_flags_and_returns_the_regex(root):
    run = FakeRunner({"--flagged": Done(0, FLAGGED + "\n")})
    comparison = gate.Comparison("main", MACHINE, factor="1.1", threshold="0.02", python="py")
    assert gate.flag(comparison, run) == FLAGGED
    ((argv, _, captured),) = run.calls
    assert captured and argv == ["py", "-m", "reports", "compare", "main", "HEAD", "--machine", MACHINE,
                                 "--factor", "1.1", "--threshold", "0.02", "--flagged", ".asv/compare.flagged"]


def test_confirm_runs_only_the_flagged_with_asv_args_but_not_bench(root, capsys):
    run = FakeRunner()
    asv = asvrun.Asv(run, "py")
    assert not gate.confirm(COMPARISON, asv, "")
    assert run.calls == []
    assert gate.confirm(COMPARISON, asv, FLAGGED)
    assert run.asv_runs() == [[*BOTH, "-a", "rounds=1", "--bench", FLAGGED]]
    assert run.kinds() == ["asv run", "pipeline dependencies"]
    assert f"confirming the timed benchmarks flagged as slower or faster: {FLAGGED}" in capsys.readouterr().err


def test_table_confirms_the_flags_and_says_the_status(root):
    run = FakeRunner({"--confirm": Done(1)})
    assert gate.table(COMPARISON, run) == 1
    assert run.commands() == [["py", "-m", "reports", "compare", "main", "HEAD", "--machine", MACHINE, "--confirm",
                               ".asv/compare.flagged", "--markdown", "reports/compare.md", "--json",
                               "reports/compare.json"]]


def test_attribute_profiles_only_the_flagged_labels(root):
    run = FakeRunner({"--flagged": Done(0, "\n")})
    assert not gate.attribute(COMPARISON, asvrun.Asv(run, "py"), run)
    assert run.kinds() == ["reports attribution"]

    labels = "aiohttp-dev;core:position_body:mars"
    run = FakeRunner({"--flagged": Done(0, labels + "\n"), "--dry-run": Done(1), "--graphs": Done(2)})
    assert gate.attribute(COMPARISON, asvrun.Asv(run, "py"), run)  # its failures change nothing
    assert run.kinds() == ["reports attribution", "asv run", "reports attribution"]  # a dry run records nothing
    (_, env, _) = run.calls[1]
    assert env["PLANET_TRACKER_ATTRIBUTE"] == labels
    assert env["PLANET_TRACKER_ATTRIBUTE_DIR"] == str(root / ".asv/attribution")
    assert run.asv_runs() == [["run", "HASHFILE:.asv/compare.hashes", "--dry-run", "--machine", MACHINE, "-E",
                               asvrun.virtualenv(), "--bench", r"^attribution\."]]
    assert run.commands()[2] == ["py", "-m", "reports", "attribution", "--json", "reports/compare.json",
                                 "--markdown", "reports/compare.md", "--dir", ".asv/attribution", "--graphs",
                                 "reports/attribution"]


def flow(root, **answers) -> tuple[int, list[str]]:
    run = FakeRunner(answers)
    status = gate.compare(COMPARISON, run)
    return status, [kind for kind in run.kinds() if kind != "git rev-parse"]


MEASURED = ["asv run", "pipeline dependencies", "reports compare"]


@pytest.mark.parametrize("status", [0, 1])
def test_the_flow_with_nothing_flagged(root, status):
    assert flow(root, **{"--confirm": Done(status)}) == (status, [*MEASURED, "reports compare",
                                                                   "reports attribution"])


def test_the_flow_with_everything_flagged_and_failing_around_it(root):
    status, kinds = flow(root, **{"--flagged": Done(0, "x\n"), "--confirm": Done(1), "run": Done(2),
                                  "--markdown": Done(1)})
    assert status == 1  # the regression decides, not asv's failures nor the attribution's
    assert kinds == [*MEASURED, "asv run", "pipeline dependencies", "reports compare", "reports attribution",
                     "asv run", "reports attribution"]


@pytest.mark.parametrize(("status", "exit"), [(2, 2), (-9, 2), (3, 3)])
def test_an_error_in_the_table_stops_before_the_attribution(root, status, exit):
    assert flow(root, **{"--confirm": Done(status)}) == (exit, [*MEASURED, "reports compare"])


@pytest.mark.parametrize("failing", ["--flagged", "dependencies"])
def test_the_first_comparison_or_the_dependencies_failing_is_an_error(root, failing, capsys):
    status, kinds = flow(root, **{failing: Done(3)})
    assert status == 2 and "reports attribution" not in kinds
    assert "python -m pipeline compare: error:" in capsys.readouterr().err


def test_the_command_line_hands_make_s_variables_on(monkeypatch):
    from pipeline import commands

    seen = []
    monkeypatch.setattr(gate, "compare", lambda comparison: seen.append(comparison) or 1)
    assert commands.main(["compare", "--base", "main", "--machine", MACHINE, "--bench=", "--asv-args=-a rounds=1 "
                          "-a repeat=1", "--factor=", "--threshold=0.02"]) == 1
    assert seen == [gate.Comparison("main", MACHINE, "HEAD", "", "0.02", "", ("-a", "rounds=1", "-a", "repeat=1"),
                                    sys.executable)]
