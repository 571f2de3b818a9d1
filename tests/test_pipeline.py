"""The publishing pipeline rehearsed end to end: a temporary clone, a local bare repository standing in for
GitHub, the workflows' own make targets, real asv runs (quick mode, one benchmark), and the asv-results branch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from asv import results as asv_results

from pipeline import github, history
from pipeline.errors import PipelineError
from reports import asvdata

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)
PY = f"{sys.version_info.major}.{sys.version_info.minor}"
BENCH = r"^core\.Query"
# The runner's bare python3: the base interpreter without site-packages (no asv, no tabulate, nothing installed).
BARE = f"{getattr(sys, '_base_executable', sys.executable)} -S -E"
IDENTITY = ["-c", "user.name=Rehearsal", "-c", "user.email=rehearsal@example.invalid", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def make(cwd: Path, target: str, PYTHON: str = sys.executable, **env: str) -> subprocess.CompletedProcess:
    """A workflow step, as the workflow runs it: `make <target>` with its inputs in the environment."""
    done = subprocess.run(["make", "-o", f"{VENV}/.installed", target, f"VENV={VENV}", f"PYTHON={PYTHON}"],
                          cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**_environ(), "QUICK": "1", "BENCH": BENCH, **env})
    assert done.returncode == 0, f"make {target}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _environ() -> dict:
    import os
    return {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_STEP_SUMMARY")}


def branch_files(origin: Path) -> dict[str, str]:
    """Path -> blob of every file on the origin's asv-results branch."""
    listing = git(origin, "ls-tree", "-r", history.BRANCH)
    return {line.split("\t")[1]: line.split()[2] for line in listing.splitlines()}


def measured_commits(origin: Path) -> set[str]:
    return {Path(name).name[:8] for name in branch_files(origin) if name.startswith("results/")
            and Path(name).name not in ("machine.json", "benchmarks.json")}


def push_commits(work: Path, count: int, tag: str) -> list[str]:
    for i in range(count):
        (work / "CHANGES").write_text(f"{tag} {i}\n")
        git(work, "add", "CHANGES")
        git(work, "commit", "-q", "-m", f"{tag} {i}")
    git(work, "push", "-q", "origin", "main")
    return git(work, "rev-list", f"--max-count={count}", "HEAD").splitlines()


@pytest.fixture(scope="module")
def github_repo(tmp_path_factory):
    """(origin, work): a bare repository standing in for GitHub, and a clone of this project pushing to it."""
    root = tmp_path_factory.mktemp("rehearsal")
    origin, work = root / "origin.git", root / "work"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    git(root, "clone", "-q", str(ROOT), str(work))
    # This checkout may be a pull request's (a detached HEAD, no local branch, no origin): so may the clone be.
    git(work, "checkout", "-q", "-B", "main")
    git(work, "remote", "remove", "origin")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    return origin, work


@pytest.fixture(scope="module")
def pushed(github_repo):
    """Run the push pipeline three times, as GitHub would: an existing history, then two pushes."""
    origin, work = github_repo
    steps = {}
    # The existing asv-results history: one earlier commit, measured and merged.
    first = git(work, "rev-parse", "HEAD")
    make(work, "ci-measure", PY=PY, BEFORE="", AFTER=first)
    make(work, "ci-merge")
    steps["existing"] = branch_files(origin)
    # Push 1 brings two commits: measure both, merge, publish.
    shutil.rmtree(work / "artifacts")
    new = push_commits(work, 2, "push one")
    make(work, "ci-measure", PY=PY, BEFORE=first, AFTER=new[0])
    make(work, "ci-merge")
    make(work, "ci-publish")
    steps["push1"] = branch_files(origin)
    steps["push1_commits"] = new
    steps["site"] = (work / "site" / "index.html").read_text()
    # Push 2 brings one more.
    shutil.rmtree(work / "artifacts")
    steps["push2_commits"] = push_commits(work, 1, "push two")
    make(work, "ci-measure", PY=PY, BEFORE=new[0], AFTER=steps["push2_commits"][0])
    make(work, "ci-merge")
    steps["push2"] = branch_files(origin)
    steps["first"] = first
    return steps


def test_two_pushes_add_to_the_history(pushed, github_repo):
    origin, _ = github_repo
    short = lambda commits: {c[:8] for c in commits}  # noqa: E731
    assert measured_commits_of(pushed["existing"]) == short([pushed["first"]])
    assert measured_commits_of(pushed["push1"]) == short([pushed["first"], *pushed["push1_commits"]])
    assert measured_commits_of(pushed["push2"]) == short([pushed["first"], *pushed["push1_commits"],
                                                          *pushed["push2_commits"]])
    # Nothing that was there was replaced or lost: every earlier result file is still there, unchanged.
    for earlier in ("existing", "push1"):
        for name, blob in pushed[earlier].items():
            if name.startswith("results/") and not name.endswith(("benchmarks.json", "machine.json")):
                assert pushed["push2"][name] == blob, name
    # Linear history, never forced: each push's commit is a descendant of the previous tip.
    log = git(origin, "log", "--format=%s", history.BRANCH).splitlines()
    assert len(log) == 3 and all(line.startswith("Add benchmark results") for line in log)


def measured_commits_of(files: dict[str, str]) -> set[str]:
    return {Path(name).name[:8] for name in files if name.startswith("results/")
            and Path(name).name not in ("machine.json", "benchmarks.json")}


def test_publish_builds_the_site_from_the_history(pushed):
    site = pushed["site"]
    newest = pushed["push1_commits"][0][:8]
    assert f"planet-tracker benchmarks: <code>{newest}</code>" in site
    assert "3 commit(s) measured on this machine" in site
    assert 'href="asv/#core.Query.time_parse_query"' in site


def test_the_branch_loads_as_asv_results(pushed, github_repo, tmp_path):
    _, work = github_repo
    history.export(work, history.fetch(work, "origin"), tmp_path)
    conf = asvdata.load_config(work / "asv.conf.json")
    rows = list(asvdata.iter_rows(tmp_path / "results", asvdata.benchmark_info(conf)))
    assert {row.commit[:8] for row in rows} == measured_commits_of(pushed["push2"])
    assert all(row.status == "ok" for row in rows if row.benchmark == "core.Query.time_parse_query")
    assert (tmp_path / "provenance").is_dir()


def _artifact(folder: Path, name: str) -> Path:
    path = folder / "results" / "rehearsal-machine" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name}))
    return folder


def test_three_publishes_racing_all_land(pushed, github_repo, tmp_path, monkeypatch):
    """Three pushes' publishes at once: each one's push is refused while another lands first, it merges again on
    top, and every result reaches the branch (no concurrency group queues them, and none is dropped)."""
    origin, work = github_repo
    racers = [_artifact(tmp_path / name, name) for name in ("first", "second", "third")]
    real_fetch = history.fetch
    started = []

    def fetch_while_the_next_one_lands(repo, remote, branch=history.BRANCH, token=None):
        tip = real_fetch(repo, remote, branch, token)
        if len(started) < len(racers):  # each racer's first fetch lets the next racer publish in full first
            racer = racers[len(started)]
            started.append(racer)
            history.merge_and_push(repo, remote, [racer], f"results of {racer.name}")
        return tip

    monkeypatch.setattr(history, "fetch", fetch_while_the_next_one_lands)
    history.merge_and_push(work, "origin", [_artifact(tmp_path / "zeroth", "zeroth")], "results of zeroth")
    files = branch_files(origin)
    for name in ("zeroth", "first", "second", "third"):
        assert f"results/rehearsal-machine/{name}.json" in files, name
    assert measured_commits_of(pushed["push2"]) <= measured_commits_of(files)
    log = git(origin, "log", "--format=%s", "-4", history.BRANCH).splitlines()
    assert sorted(log) == sorted(f"results of {name}" for name in ("zeroth", "first", "second", "third"))


def test_an_interrupted_publish_leaves_the_history_intact(pushed, github_repo, tmp_path):
    origin, work = github_repo
    before = git(origin, "rev-parse", history.BRANCH)
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'interrupted' >&2\nexit 1\n")  # the push never lands
    hook.chmod(0o755)
    try:
        with pytest.raises(PipelineError, match="cannot push asv-results"):
            history.merge_and_push(work, "origin", [_artifact(tmp_path, "lost")], "never lands")
    finally:
        hook.unlink()
    assert git(origin, "rev-parse", history.BRANCH) == before
    assert "results/rehearsal-machine/lost.json" not in branch_files(origin)
    subprocess.run(["git", "fsck", "--no-dangling"], cwd=origin, check=True, capture_output=True)


def test_a_failed_leg_loses_only_its_own_results(pushed, github_repo, tmp_path):
    """One Python's leg fails: the others' results are published, and the summary names it, with the reason, and
    the legs that sent nothing at all."""
    origin, work = github_repo
    shutil.rmtree(work / "artifacts", ignore_errors=True)
    (head,) = push_commits(work, 1, "a failed leg")
    make(work, "ci-measure", PY=PY, BEFORE="", AFTER=head)
    broken = subprocess.run(["make", "-o", f"{VENV}/.installed", "ci-measure", f"VENV={VENV}",
                             f"PYTHON={sys.executable}"], cwd=work, capture_output=True, text=True, timeout=900,
                            env={**_environ(), "QUICK": "1", "BENCH": BENCH, "PY": "3.99", "AFTER": head})
    assert broken.returncode != 0
    summary = tmp_path / "summary.md"
    make(work, "ci-merge", GITHUB_STEP_SUMMARY=str(summary))
    assert head[:8] in measured_commits_of(branch_files(origin))
    text = summary.read_text()
    assert f"| {PY} | measured | 1 commit(s), 1 new result file(s) |" in text
    assert "| 3.99 | **failed** |" in text and "asv run failed" in text
    for other in set(asvdata.load_config(ROOT / "asv.conf.json").pythons) - {PY}:
        assert f"| {other} | **missing** |" in text


def test_a_rerun_of_the_same_commit_changes_no_result(pushed, github_repo):
    """"Re-run all jobs": what each Python has measured is skipped, and the merge adds nothing (and fails not)."""
    origin, work = github_repo
    shutil.rmtree(work / "artifacts", ignore_errors=True)
    before = branch_files(origin)
    commit = pushed["push2_commits"][0]
    done = make(work, "ci-measure", PY=PY, BEFORE=pushed["push1_commits"][0], AFTER=commit)
    assert "0 new result file(s)" in done.stderr
    make(work, "ci-merge")
    after = branch_files(origin)
    assert {n: b for n, b in after.items() if "/" in n[len("results/"):] and commit[:8] in n} == \
        {n: b for n, b in before.items() if "/" in n[len("results/"):] and commit[:8] in n}
    assert measured_commits_of(after) == measured_commits_of(before)


def test_a_backfill_measures_a_python_the_commit_lacks(pushed, github_repo, tmp_path):
    """A commit measured on another Python only is still measured on this one (asv --skip-existing works per
    environment; --skip-existing-commits would have skipped the commit)."""
    origin, work = github_repo
    (commit,) = push_commits(work, 1, "measured elsewhere")
    # The history has this commit from Python 3.99 only: a copy of one of this Python's files, relabelled.
    template = next(name for name in branch_files(origin) if name.startswith("results/")
                    and Path(name).name.startswith(pushed["first"][:8]))
    data = json.loads(git(origin, "show", f"{history.BRANCH}:{template}"))
    data["commit_hash"], data["params"]["python"] = commit, "3.99"
    data["env_name"] = data["env_name"].replace(f"py{PY}", "py3.99")
    folder = tmp_path / "elsewhere"
    machine = Path(template).parent.name
    target = folder / "results" / asv_results.get_filename(machine, commit, data["env_name"])
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(data))
    history.merge_and_push(work, "origin", [folder], "results from another Python")
    shutil.rmtree(work / "artifacts", ignore_errors=True)
    done = make(work, "ci-measure", PY=PY, BEFORE="", AFTER=commit)
    assert "1 new result file(s)" in done.stderr
    make(work, "ci-merge")
    pythons = {json.loads(git(origin, "show", f"{history.BRANCH}:{name}"))["params"]["python"]
               for name in branch_files(origin) if Path(name).name.startswith(commit[:8])}
    assert pythons == {PY, "3.99"}


def test_merge_refuses_empty_artifacts(github_repo, tmp_path):
    _, work = github_repo
    with pytest.raises(PipelineError, match="no results to add"):
        history.merge_and_push(work, "origin", [tmp_path], "nothing")


# -- the pull-request side ---------------------------------------------------------------------------------------


def test_pull_request_rehearsal_produces_the_comment(github_repo):
    """A pull request whose base branch moved on after it branched: it is compared with where it branched."""
    _, work = github_repo
    base = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "-b", "feature")
    (work / "CHANGES").write_text("a pull request\n")
    git(work, "add", "CHANGES")
    git(work, "commit", "-q", "-m", "a pull request")
    head = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "main")
    (work / "LATER").write_text("the base branch moves on\n")
    git(work, "add", "LATER")
    git(work, "commit", "-q", "-m", "main moves on")
    moved = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "feature")
    try:
        done = subprocess.run(["make", "-o", f"{VENV}/.installed", "pr-compare", f"VENV={VENV}", f"BENCH={BENCH}",
                               "ASV_ARGS=-a rounds=1 -a repeat=1"], cwd=work, capture_output=True, text=True,
                              timeout=900, env={**_environ(), "BASE_SHA": moved})
        # Whatever the verdict (one sample each here: noise may pass the factor), the table is made, and the
        # workflow packages it in any case (its step runs `if: always()`).
        assert (work / "reports" / "compare.md").exists(), done.stdout[-2000:] + done.stderr[-2000:]
        # Under a bare interpreter, as the runner's python3: the standard library only, no venv, no site-packages.
        make(work, "pr-artifact", PR_NUMBER="7", HEAD_SHA=head, PYTHON=BARE)
        comment = subprocess.run([*BARE.split(), "-m", "pipeline", "pr-comment", "--artifact", "pr-comparison",
                                  "--repo", "owner/planet-tracker", "--head-sha", head, "--conclusion", "success",
                                  "--dry-run"], cwd=work, capture_output=True, text=True, check=True).stdout
    finally:
        git(work, "checkout", "-q", "main")
    assert comment.startswith(github.MARKER + "\n### Benchmarks for #7 at")
    assert "regression" in comment and base[:8] in comment and moved[:8] not in comment
    assert "core\\.Query\\.time\\_parse\\_query" in comment
    assert json.loads((work / "pr-comparison" / "pr.json").read_text()) == {"number": 7, "head_sha": head}


# -- units of the push side ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("last", [0, -3, 101])
def test_the_number_of_commits_is_checked(last):
    from pipeline import measure

    with pytest.raises(PipelineError, match="whole number from 1 to 100"):
        measure.commits_to_measure("", "HEAD", 10, last)


def test_the_token_never_reaches_a_command_line(tmp_path):
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "remote", "add", "origin", "https://github.com/owner/planet-tracker")
    env = history.auth(repo, "origin", "secret-token")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    assert "secret-token" not in env["GIT_CONFIG_VALUE_0"]  # base64, as GitHub's checkout sends it
    # git reads it: the header is in git's configuration for that command, and nowhere in its arguments.
    shown = subprocess.run(["git", "config", "--get", "http.https://github.com/.extraheader"], cwd=repo,
                           capture_output=True, text=True, env={**_environ(), **env}).stdout
    assert shown.startswith("AUTHORIZATION: basic ")
    assert history.auth(repo, "origin", None) == {}


def test_a_transient_push_failure_is_tried_again(github_repo, tmp_path):
    """A push that fails for another reason than a refusal (GitHub's side, the network) is tried again, so that
    the publish does not fail for a moment's trouble; one that keeps failing fails the step after a few tries."""
    origin, work = github_repo
    hook = origin / "hooks" / "pre-receive"
    count = origin / "hook-calls"
    hook.write_text(f"#!/bin/sh\necho x >> {count}\n[ $(wc -l < {count}) -ge 3 ] && exit 0\n"
                    "echo 'remote: Internal Server Error' >&2\nexit 1\n")
    hook.chmod(0o755)
    try:
        tip = history.merge_and_push(work, "origin", [_artifact(tmp_path / "flaky", "flaky")], "flaky", pause=0.01)
        assert "results/rehearsal-machine/flaky.json" in branch_files(origin)
        assert git(origin, "rev-parse", history.BRANCH) == tip
        count.unlink()
        hook.write_text("#!/bin/sh\necho 'remote: Internal Server Error' >&2\nexit 1\n")
        with pytest.raises(PipelineError, match="Internal Server Error"):
            history.merge_and_push(work, "origin", [_artifact(tmp_path / "down", "down")], "down", pause=0.01)
    finally:
        hook.unlink()
    assert "results/rehearsal-machine/down.json" not in branch_files(origin)


def _suite(folder: Path, commit: str, marker: str) -> Path:
    from pipeline import legs

    path = folder / history.SUITE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"suite": marker}))
    legs.Leg("3.12", status="measured", suite_commit=commit, measured=[commit], commits=[commit]).write(folder)
    return folder


def test_an_older_push_never_rolls_the_suite_back(github_repo, tmp_path):
    """Two pushes' publishes land in the wrong order: the suite's definition stays the newer commit's."""
    origin, work = github_repo
    older, newer = git(work, "rev-parse", "HEAD~1"), git(work, "rev-parse", "HEAD")
    history.merge_and_push(work, "origin", [_suite(tmp_path / "new", newer, "newer")], "newer lands first")
    history.merge_and_push(work, "origin", [_suite(tmp_path / "old", older, "older")], "older lands last")
    tip = git(origin, "rev-parse", history.BRANCH)
    assert json.loads(git(origin, "show", f"{tip}:{history.SUITE_FILE}")) == {"suite": "newer"}
    assert json.loads(git(origin, "show", f"{tip}:{history.SUITE_STAMP}")) == {"commit": newer}
    # In the right order, the newer one replaces it.
    (child,) = push_commits(work, 1, "a newer suite")
    history.merge_and_push(work, "origin", [_suite(tmp_path / "newest", child, "newest")], "newest")
    tip = git(origin, "rev-parse", history.BRANCH)
    assert json.loads(git(origin, "show", f"{tip}:{history.SUITE_FILE}")) == {"suite": "newest"}


def test_newest_says_whether_the_history_moved_on(github_repo, tmp_path):
    origin, work = github_repo
    tip = history.merge_and_push(work, "origin", [_artifact(tmp_path / "site", "site")], "a site's history")
    outputs = tmp_path / "outputs"
    run = lambda t: subprocess.run([sys.executable, "-m", "pipeline", "newest", "--tip", t, "--remote",  # noqa: E731
                                    str(origin)], cwd=ROOT, capture_output=True, text=True,
                                   env={**_environ(), "GITHUB_OUTPUT": str(outputs)})
    assert run(tip).returncode == 0 and outputs.read_text() == "newest=true\n"
    assert run("0" * 40).returncode == 0 and outputs.read_text().endswith("newest=false\n")
    assert run("HEAD").returncode == 1
