"""pipeline.asvrun: the one builder of asv's command lines, and what runs after asv."""

from __future__ import annotations

import os
import sys

import pytest

from pipeline import asvrun
from pipeline.asvrun import Done, Run
from pipeline.errors import PipelineError

from .fakes import FakeRunner


def test_a_run_says_everything_it_was_given_in_asv_s_words():
    run = Run("box", "HASHFILE:h", (asvrun.virtualenv("3.12"), "virtualenv:3.13"), record_samples=True,
              interleave_rounds=True, skip_existing=True, show_stderr=True, bench=r"^core\.",
              extra=("-a", "rounds=4"))
    assert run.args() == ["run", "HASHFILE:h", "--record-samples", "--interleave-rounds", "--skip-existing",
                          "--show-stderr", "--machine", "box", "-E", "virtualenv:3.12", "-E", "virtualenv:3.13",
                          "-a", "rounds=4", "--bench", r"^core\."]
    assert Run("box").args() == ["run", "--machine", "box"]


def test_quick_is_asv_s_quick_spelled_so_that_a_recording_run_keeps_its_results():
    quick = Run("box", "HEAD^!", (asvrun.virtualenv(),), quick=True)
    assert quick.records and "--quick" not in quick.args()
    assert quick.args()[-8:] == ["-a", "number=1", "-a", "repeat=1", "-a", "rounds=1", "-a", "warmup_time=0"]


def test_the_environments():
    assert asvrun.virtualenv() == "virtualenv:{}.{}".format(*sys.version_info[:2])
    assert asvrun.existing("x/python") == f"existing:{os.path.abspath('x/python')}"


@pytest.mark.parametrize(("run", "records"), [
    (Run("box", "HEAD^!", (asvrun.virtualenv(),)), True),
    (Run("box", "HASHFILE:h"), True),  # asv.conf.json's environments
    (Run("box", "HEAD^!", (asvrun.virtualenv(),), dry_run=True), False),
    (Run("box", environments=(asvrun.existing(),), quick=True), False),  # asv never records an installed one
])
def test_only_a_run_that_records_is_followed_by_the_dependencies(run, records):
    runner = FakeRunner({"run": Done(2)})
    assert asvrun.Asv(runner, "py").run(run, env={"X": "1"}) == 2  # asv's status, whatever follows
    (asv, env, _), *rest = runner.calls
    assert asv == ["py", "-m", "asv", *run.args()] and env["X"] == "1"
    assert [argv for argv, _, _ in rest] == ([["py", "-m", "pipeline", "dependencies", "--machine", "box"]]
                                             if records else [])


def test_the_dependencies_failing_is_an_error():
    with pytest.raises(PipelineError, match="dependencies"):
        asvrun.Asv(FakeRunner({"dependencies": Done(1)}), "py").run(Run("box", "HEAD^!"))


def test_path_puts_the_real_python_folders_first_and_asks_once(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    runner = FakeRunner(python_dirs="/a/bin:/b/bin\n")
    asv = asvrun.Asv(runner, "py")
    assert asv.environment() == {"PATH": "/a/bin:/b/bin:/usr/bin"}
    assert asv.installed() == ("virtualenv:3.11", "virtualenv:3.13")
    asv("publish")
    assert runner.calls == [(["py", "-m", "asv", "publish"], {"PATH": "/a/bin:/b/bin:/usr/bin"}, False)]
    assert asvrun.Asv(FakeRunner(python_dirs=""), "py").environment() == {"PATH": "/usr/bin"}


def test_asv_args_are_split_as_the_shell_would():
    assert asvrun.split("-a rounds=4 --bench 'a b'") == ("-a", "rounds=4", "--bench", "a b")
    assert asvrun.split("") == asvrun.split(None) == ()


def test_hashfile_resolves_each_revision(root):
    run = FakeRunner()
    assert asvrun.hashfile(root.joinpath("x.hashes").relative_to(root), ["main", "HEAD"], run) == "HASHFILE:x.hashes"
    assert (root / "x.hashes").read_text().splitlines() == ["main".ljust(40, "0"), "HEAD".ljust(40, "0")]
    with pytest.raises(PipelineError, match="'gone' is not a commit"):
        asvrun.hashfile(root / "y", ["gone"], FakeRunner({"gone^{commit}": Done(128)}))


def test_the_runner_runs_in_the_checkout_and_captures_when_asked(root, capsys):
    done = asvrun.Runner()([sys.executable, "-c", "import os, sys; print(os.getcwd()); sys.exit(3)"], capture=True,
                           env={"PLANET_TRACKER_X": "1"})
    assert done == Done(3, f"{root}\n")
    assert "+ PLANET_TRACKER_X=1 " in capsys.readouterr().err
