"""pipeline.measure runs asv through pipeline.asvrun: one asv run per commit, the dependencies after each."""

from __future__ import annotations

import pytest

from pipeline import asvrun, legs, measure
from pipeline.asvrun import Done
from pipeline.errors import PipelineError

from .fakes import FakeRunner


@pytest.fixture
def leg(tmp_path, monkeypatch):
    monkeypatch.setattr(measure, "ROOT", tmp_path)
    monkeypatch.setattr(measure.history, "fetch", lambda *args, **kwargs: "tip")
    monkeypatch.setattr(measure.history, "export", lambda *args: None)
    monkeypatch.setattr(measure, "commits_to_measure", lambda *args: (["c2", "c1"], ""))
    monkeypatch.setattr(measure, "record_machine", lambda name: {})
    monkeypatch.setattr(measure.subprocess, "run", lambda *args, **kwargs: None)  # the provenance
    return legs.Leg("3.12")


def measured(monkeypatch, leg, tmp_path, runner, quick):
    asv = asvrun.Asv(runner, "py")
    monkeypatch.setattr(asvrun, "Asv", lambda: asv)
    measure.measure(leg, tmp_path / "out", before="", after="HEAD", limit=10, last=None, machine="box",
                    remote="origin", token=None, quick=quick, bench=r"^core\.")


@pytest.mark.parametrize("quick", [False, True])
def test_each_commit_is_one_asv_run_then_its_dependencies(leg, tmp_path, monkeypatch, quick):
    runner = FakeRunner({"run": Done(2)})  # a failed benchmark is a result
    measured(monkeypatch, leg, tmp_path, runner, quick)
    assert runner.kinds() == ["asv run", "pipeline dependencies"] * 2
    assert runner.asv_runs()[0] == ["run", "HASHFILE:.asv/measure.hashes", "--record-samples", "--skip-existing",
                                    "--machine", "box", "-E", "virtualenv:3.12", *(asvrun.QUICK if quick else ()),
                                    "--bench", r"^core\."]
    assert leg.measured == ["c2", "c1"]


def test_asv_failing_otherwise_fails_the_leg(leg, tmp_path, monkeypatch):
    with pytest.raises(PipelineError, match="asv run failed with status 1 on c2"):
        measured(monkeypatch, leg, tmp_path, FakeRunner({"run": Done(1)}), False)
    assert leg.measured == []
