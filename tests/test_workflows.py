"""The GitHub workflows: actionlint and zizmor report nothing, and the security rules hold in every file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import json5
import pytest
import yaml

from benchmarks.harness.tools import TOOLS

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key "on" as True
    return data


def steps(workflow: dict):
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield name, job, step


def test_the_four_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["benchmarks.yml", "pr-benchmarks.yml", "pr-comment.yml", "tests.yml"]


def test_actionlint_reports_nothing():
    done = subprocess.run([BIN / "actionlint", "-no-color"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "", done.stdout


@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
def test_zizmor_reports_nothing(persona):
    done = subprocess.run([BIN / "zizmor", "--offline", "--persona", persona, "--format", "plain",
                           ".github/workflows"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr
    # Every finding ignored in place says why, on the line above.
    for path in WORKFLOWS:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if "zizmor: ignore[" in line:
                assert lines[number - 1].lstrip().startswith("#") or "#" in line.split("zizmor:")[0], path.name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_pinned_actions(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}  # the default for every job
    assert "pull_request_target" not in workflow["on"]
    for name, job, step in steps(workflow):
        granted = job.get("permissions", {})
        if "pages" in granted or "id-token" in granted:
            assert path.name == "benchmarks.yml" and name == "deploy"
        if granted.get("pull-requests") == "write":
            assert path.name == "pr-comment.yml"
        if "uses" in step:
            action, _, ref = step["uses"].partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action} is not pinned to a commit"
            line = next(line for line in path.read_text().splitlines() if step["uses"] in line)
            assert re.search(r"# v\d+\.\d+\.\d+$", line), f"{action}: no version comment"
        if "run" in step:
            # Every step is a project command, and nothing from the event is pasted into a script.
            assert "${{" not in step["run"], f"{path.name}: expression in a run script"
            assert re.fullmatch(r"(make [\w-]+|bash \.ci/run)", step["run"].strip())
        # The write token is given to one step only, whose command is the merge.
        if "GITHUB_TOKEN" in step.get("env", {}) and job.get("permissions", {}).get("contents") == "write":
            assert step["run"] == "make ci-merge"
        if step.get("uses", "").startswith(("actions/upload-artifact", "actions/upload-pages-artifact")):
            # One artifact per attempt: a download by run id sees every attempt's copies of a name.
            assert step["with"]["name"].endswith("-${{ github.run_attempt }}"), step["with"]["name"]


def test_pages_deployment_and_history_push():
    workflow = load(ROOT / ".github" / "workflows" / "benchmarks.yml")
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["on"]["workflow_dispatch"]["inputs"]["commits"]["type"] == "number"
    jobs = workflow["jobs"]
    # The supported CPythons, one leg each, as asv.conf.json lists them.
    pythons = json5.loads((ROOT / "asv.conf.json").read_text())["pythons"]
    assert jobs["measure"]["strategy"]["matrix"]["python"] == pythons == ["3.11", "3.12", "3.13", "3.14"]
    assert jobs["measure"]["strategy"]["fail-fast"] is False
    # No group may drop a push's results: none for the workflow, measuring or publishing; the deploy has one.
    assert "concurrency" not in workflow and "concurrency" not in jobs["measure"]
    assert "concurrency" not in jobs["publish"]
    assert jobs["deploy"]["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    # One failed leg does not stop the others' results from being published, from main only.
    assert jobs["publish"]["if"] == "${{ !cancelled() && github.ref == 'refs/heads/main' }}"
    assert jobs["deploy"]["if"] == "${{ !cancelled() && needs.publish.result == 'success' }}"
    upload = next(step for step in jobs["measure"]["steps"] if "upload-artifact" in step.get("uses", ""))
    assert upload["if"] == "${{ always() }}"  # the leg's status, also when it failed
    assert jobs["publish"]["permissions"] == {"contents": "write", "actions": "read"}
    assert jobs["deploy"]["permissions"] == {"contents": "read", "actions": "read", "pages": "write",
                                             "id-token": "write"}
    # The step that measures stops under the job's limit, so that the upload after it still runs.
    (measuring,) = [step for step in jobs["measure"]["steps"] if step.get("run") == "make ci-measure"]
    assert "80" in measuring["timeout-minutes"] and jobs["measure"]["timeout-minutes"] == 90
    used = [step.get("uses", "").split("@")[0] for _, _, step in steps(workflow)]
    assert "actions/upload-pages-artifact" in used and "actions/deploy-pages" in used
    assert not any("--force" in step.get("run", "") or " -f" in step.get("run", "") for _, _, step in
                   steps(workflow))


def test_the_comment_workflow_runs_no_pull_request_code():
    workflow = load(ROOT / ".github" / "workflows" / "pr-comment.yml")
    assert workflow["on"] == {"workflow_run": {"workflows": ["PR benchmarks"], "types": ["completed"]}}
    for _, _, step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout"):
            assert "ref" not in step.get("with", {})  # the default branch, never the PR's head
    pr = load(ROOT / ".github" / "workflows" / "pr-benchmarks.yml")
    assert pr["name"] == "PR benchmarks" and set(pr["on"]) == {"pull_request"}
    # Two forks' branches of the same name are two pull requests: the group tells them apart.
    assert "head_repository.full_name" in workflow["concurrency"]["group"]


def test_dependabot_keeps_the_pins_moving():
    """Actions and Python packages both arrive as pull requests (measured by the gate). The pip updates look in
    the folder of constraints.txt, and aiohttp's libraries, which pin each other, move together."""
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    assert updates["pip"]["directory"] == "/" and (ROOT / "constraints.txt").exists()
    pins = {line.split("==")[0] for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    aio = updates["pip"]["groups"]["aio-libs"]["patterns"]
    assert "aiohttp" in aio and "multidict" in aio and set(aio) <= pins


def test_the_measuring_jobs_install_valgrind():
    """The push and pull-request jobs call make targets that run make tools first, which installs the load
    generators and valgrind (with a compiler for the counting window) on the runner (passwordless sudo)."""
    makefile = (ROOT / "Makefile").read_text()
    for target in ("ci-measure", "compare", "bench"):
        assert "tools" in re.search(rf"^{target}: ([^=]*)$", makefile, re.MULTILINE)[1].split(), target
    assert re.search(r"^tools:.*\n\t@\$\(BIN\)/python -m benchmarks tools --install", makefile, re.MULTILINE)
    assert {"ab", "wrk", "valgrind", "cc"} <= set(TOOLS) and "libc6-dev" in TOOLS["cc"].package
    runs = {path.name: [step.get("run", "") for _, _, step in steps(load(path))] for path in WORKFLOWS}
    assert "make ci-measure" in runs["benchmarks.yml"]
    assert "make pr-compare" in runs["pr-benchmarks.yml"]
    assert re.search(r"^pr-compare: compare$", makefile, re.MULTILINE)
