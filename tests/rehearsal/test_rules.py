"""GitHub's rules as the rehearsal applies them (rehearsal/rules.py), and the stand-ins' declared pins against the
workflows (rehearsal/act.py: check_workflows)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rehearsal import rules
from rehearsal.act import ACTIONS, RehearsalError, check_workflows, pull_request_payload, stands_for, with_tokens

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def scopes_of(workflow: str, job: str, event: str = "push", payload: dict | None = None) -> dict[str, str]:
    spec = yaml.safe_load((WORKFLOWS / workflow).read_text())
    return rules.token_scopes(spec, spec["jobs"][job], event, payload or {})


def test_a_jobs_permissions_replace_the_workflows():
    assert scopes_of("benchmarks.yml", "measure") == {"contents": "read"}  # the workflow's
    assert scopes_of("benchmarks.yml", "publish") == {"contents": "write", "actions": "read"}  # not merged
    assert scopes_of("pr-comment.yml", "comment", "workflow_run") == {
        "contents": "read", "actions": "read", "pull-requests": "write"}  # the base repository's token
    assert rules.token_scopes({}, {}, "push", {}) == {"contents": "read", "packages": "read"}  # restricted
    assert rules.token_scopes({"permissions": {}}, {}, "push", {}) == {}
    assert rules.token_scopes({}, {"permissions": "write-all"}, "push", {})["id-token"] == "write"
    assert "id-token" not in rules.token_scopes({}, {"permissions": "read-all"}, "push", {})
    for bad in ({"contents": "admin"}, {"id-token": "read"}, {"content": "read"}, "all"):
        with pytest.raises(rules.RuleError):
            rules.token_scopes({}, {"permissions": bad}, "push", {})


def test_a_forks_pull_request_gets_a_read_only_token_whatever_is_declared():
    spec = {"permissions": {"contents": "write", "pull-requests": "write", "id-token": "write"}}
    fork = pull_request_payload(7, "a" * 40, "b" * 40, "feature", "owner/planet-tracker")
    own = pull_request_payload(7, "a" * 40, "b" * 40, "feature", "owner/planet-tracker", fork=False)
    assert rules.token_scopes(spec, {}, "pull_request", fork) == {"contents": "read", "pull-requests": "read"}
    assert rules.token_scopes(spec, {}, "pull_request", own) == spec["permissions"]
    assert rules.lacking({"contents": "read"}, "contents: read", "contents: write") == ["contents: write"]


def test_artifacts_a_download_sees_across_attempts():
    copies = [{"name": "a", "attempt": 1, "id": 1}, {"name": "b", "attempt": 1, "id": 2},
              {"name": "a", "attempt": 2, "id": 3}]
    assert [a["id"] for a in rules.visible(copies, 2, through_api=False)] == [3]  # this attempt's only
    assert [a["id"] for a in rules.visible(copies, 2, through_api=True)] == [3, 2, 1]  # the oldest written last


def test_the_caches_a_run_may_restore():
    assert rules.cache_refs("refs/heads/main", "", "main") == ["refs/heads/main"]
    assert rules.cache_refs("refs/heads/topic", "", "main") == ["refs/heads/topic", "refs/heads/main"]
    assert rules.cache_refs("refs/pull/7/merge", "release", "main") == [
        "refs/pull/7/merge", "refs/heads/release", "refs/heads/main"]


def test_each_job_gets_its_own_token_also_in_an_actions_default():
    spec = yaml.safe_load((WORKFLOWS / "benchmarks.yml").read_text())
    tokens = {key: f"token-of-{key}" for key in spec["jobs"]}
    jobs = with_tokens(spec, tokens)["jobs"]
    merge = next(s for s in jobs["publish"]["steps"] if s.get("run") == "make ci-merge")
    assert merge["env"]["GITHUB_TOKEN"] == "token-of-publish"
    deploy = next(s for s in jobs["deploy"]["steps"] if "deploy-pages" in str(s.get("uses")))
    assert deploy["with"]["token"] == "token-of-deploy"  # deploy-pages's own default: ${{ github.token }}
    checkout = jobs["measure"]["steps"][0]
    assert checkout["with"]["token"] == "token-of-measure"
    assert "github.token" not in str(jobs)


# -- the pins -------------------------------------------------------------------------------------------------------


def copy_of_workflows(tmp_path: Path) -> Path:
    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder)
    return folder


def test_every_pin_of_the_workflows_is_declared():
    used = check_workflows(WORKFLOWS)
    assert used and all(ref in stands_for(action) for action, refs in used.items() for ref in refs)


def test_a_pin_no_stand_in_declares_fails_naming_it(tmp_path):
    """A Dependabot bump to a release nobody has reviewed the stand-in against: the rehearsal refuses it."""
    folder = copy_of_workflows(tmp_path)
    path = folder / "benchmarks.yml"
    path.write_text(path.read_text().replace("actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
                                             "actions/upload-artifact@043fb46d1a93c77aae656e7c1c64a875d1fc6a0a"))
    with pytest.raises(RehearsalError, match=r"benchmarks\.yml: job measure, step \d+: `uses: actions/upload-artifact@"
                                             r"043fb46d1a93c77aae656e7c1c64a875d1fc6a0a`: no stand-in declares this "
                                             r"pin .* review the stand-in"):
        check_workflows(folder)


def test_an_input_or_output_the_real_action_lacks_fails(tmp_path):
    folder = copy_of_workflows(tmp_path)
    path = folder / "pr-comment.yml"
    original = path.read_text()
    path.write_text(original.replace("          path: pr-comparison\n", "          paths: pr-comparison\n"))
    with pytest.raises(RehearsalError, match=r"`with: paths` is not an input of actions/download-artifact at "
                                             r"3e5f45b2cfb9"):
        check_workflows(folder)
    path.write_text(original)
    path = folder / "benchmarks.yml"
    path.write_text(path.read_text().replace("steps.python.outputs.python-version", "steps.python.outputs.version"))
    with pytest.raises(RehearsalError, match=r"`steps\.python\.outputs\.version`: actions/setup-python has no such "
                                             r"output \(the real action does not set it\)"):
        check_workflows(folder)


@pytest.mark.parametrize("stand_in", sorted(ACTIONS.glob("*.yml")), ids=lambda p: p.stem)
def test_a_stand_in_implements_the_real_actions_inputs_and_outputs_as_declared(stand_in):
    """What a stand-in implements is the real action's, with the real defaults, at every SHA it stands for."""
    spec = yaml.safe_load(stand_in.read_text())
    assert spec["stands-for"], f"{stand_in.name} stands for no SHA"
    for sha, real in spec["stands-for"].items():
        for name, value in (spec.get("inputs") or {}).items():
            assert name in real["inputs"], f"{stand_in.name}: {name} is not an input at {sha}"
            assert str((value or {}).get("default", "")) == (real["inputs"][name] or ""), f"{name} at {sha}"
        assert set(spec.get("outputs") or {}) <= set(real["outputs"]), sha


def test_rerun_failed_jobs_runs_the_failed_and_every_job_that_needs_them():
    """GitHub's "Re-run failed jobs" on the benchmarks workflow after one leg failed: the measuring job and all
    that follow run again; after only the deploy failed, the deploy alone, the others reporting what they left."""
    from rehearsal.act import ActRun, Leg, keep_what_succeeded

    spec = yaml.safe_load((WORKFLOWS / "benchmarks.yml").read_text())
    legs = [Leg("measure", "measure (Python 3.11)", {"python": "3.11"}, "success", "measure (3.11)"),
            Leg("measure", "measure (Python 3.12)", {"python": "3.12"}, "failure", "measure (3.12)"),
            Leg("publish", "publish", {}, "success", "publish"), Leg("deploy", "deploy", {}, "success", "deploy"),
            Leg("announce", "announce", {}, "success", "announce"), Leg("bisect", "bisect", {}, "skipped", "bisect")]
    previous = ActRun(returncode=1, jobs={}, log="", legs=legs, run_id=7, attempt=1,
                      outputs={"publish": {"publish": {"history-tip": "abc", "pending": "0"}}})
    after_a_leg = keep_what_succeeded(spec, previous)["jobs"]
    assert all(after_a_leg[job] == spec["jobs"][job] for job in spec["jobs"])  # everything needs measure
    legs[1].result = "success"
    legs[3].result = "failure"
    after_the_deploy = keep_what_succeeded(spec, previous)["jobs"]
    assert after_the_deploy["deploy"] == spec["jobs"]["deploy"]
    kept = after_the_deploy["publish"]
    assert kept["outputs"]["history-tip"] == "abc" and kept["outputs"]["site-artifact"] == "site-1"
    assert "make" not in str(kept["steps"]) and after_the_deploy["bisect"]["if"] == "${{ false }}"
