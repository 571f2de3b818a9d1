"""The pipeline's steps one at a time, against a local bare repository standing in for GitHub: the history
branch (racing, interrupted and failing pushes, the suite's definition), the checks of its inputs, and the
pull-request steps under a bare interpreter. The workflows as a whole are rehearsed under act
(tests/test_rehearsal.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import history
from pipeline.errors import PipelineError

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)
# The runner's bare python3: the base interpreter without site-packages (no asv, no tabulate, nothing installed).
BARE = f"{getattr(sys, '_base_executable', sys.executable)} -S -E"
IDENTITY = ["-c", "user.name=Rehearsal", "-c", "user.email=rehearsal@example.invalid", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def make(cwd: Path, target: str, PYTHON: str = sys.executable, **env: str) -> subprocess.CompletedProcess:
    """A workflow step, as the workflow runs it: `make <target>` with its inputs in the environment."""
    done = subprocess.run(["make", "-o", f"{VENV}/.installed", target, f"VENV={VENV}", f"PYTHON={PYTHON}"],
                          cwd=cwd, capture_output=True, text=True, timeout=900, env={**_environ(), **env})
    assert done.returncode == 0, f"make {target}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _environ() -> dict:
    import os
    return {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_STEP_SUMMARY")}


def branch_files(origin: Path) -> dict[str, str]:
    """Path -> blob of every file on the origin's asv-results branch."""
    listing = git(origin, "ls-tree", "-r", history.BRANCH)
    return {line.split("\t")[1]: line.split()[2] for line in listing.splitlines()}


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


def measured_commits_of(files: dict[str, str]) -> set[str]:
    return {Path(name).name[:8] for name in files if name.startswith("results/")
            and Path(name).name not in ("machine.json", "benchmarks.json")}


def _artifact(folder: Path, name: str) -> Path:
    path = folder / "results" / "rehearsal-machine" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name}))
    return folder


def test_three_publishes_racing_all_land(github_repo, tmp_path, monkeypatch):
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
    log = git(origin, "log", "--format=%s", "-4", history.BRANCH).splitlines()
    assert sorted(log) == sorted(f"results of {name}" for name in ("zeroth", "first", "second", "third"))


def test_an_interrupted_publish_leaves_the_history_intact(github_repo, tmp_path):
    origin, work = github_repo
    before = history.merge_and_push(work, "origin", [_artifact(tmp_path / "kept", "kept")], "kept")
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


def test_merge_refuses_empty_artifacts(github_repo, tmp_path):
    _, work = github_repo
    with pytest.raises(PipelineError, match="no results to add"):
        history.merge_and_push(work, "origin", [tmp_path], "nothing")


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
    key = "http.https://github.com/owner/planet-tracker.extraheader"  # keyed on the remote's own URL
    assert env["GIT_CONFIG_KEY_0"] == key
    assert "secret-token" not in env["GIT_CONFIG_VALUE_0"]  # base64, as GitHub's checkout sends it
    # git reads it: the header is in git's configuration for that command, and nowhere in its arguments.
    shown = subprocess.run(["git", "config", "--get-urlmatch", "http.extraheader",
                            "https://github.com/owner/planet-tracker/info/refs"], cwd=repo, capture_output=True,
                           text=True, env={**_environ(), **env}).stdout
    assert shown.startswith("AUTHORIZATION: basic ")
    never_prompt = {"GIT_TERMINAL_PROMPT": "0"}  # without a token git fails at once, on a terminal too
    assert env.items() >= never_prompt.items() and history.auth(repo, "origin", None) == never_prompt
    # Never in clear text to another machine, never to a local path.
    for url in ("http://example.com/owner/planet-tracker", str(tmp_path)):
        git(repo, "remote", "set-url", "origin", url)
        assert history.auth(repo, "origin", "secret-token") == never_prompt


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


def test_the_legs_folders_are_found_however_download_artifact_laid_them_out(tmp_path):
    """download-artifact with a pattern puts one matching artifact's files straight into its path, and two or more
    into a folder each: the merge takes both layouts."""
    from pipeline import legs

    single, several = tmp_path / "single", tmp_path / "several"
    legs.Leg("3.12").write(single)
    legs.Leg("3.11").write(several / "results-py3.11")
    (several / "results-py3.12" / "results").mkdir(parents=True)
    assert legs.folders([single]) == [single]
    assert legs.folders([several]) == [several / "results-py3.11", several / "results-py3.12"]


def test_each_attempts_artifact_is_merged_oldest_first(github_repo, tmp_path):
    """A leg re-run by "re-run failed jobs" uploads results-py3.12-2 beside attempt 1's results-py3.12-1 (a
    download by run id sees both): what attempt 2 measured again replaces attempt 1's copy, what only attempt 1
    measured stays, and the summary shows the newest attempt's leg, whatever order the folders are listed in."""
    from pipeline import legs

    _origin, work = github_repo
    downloaded = tmp_path / "artifacts"
    for attempt, files in ((10, {"a": "10", "c": "10"}), (1, {"a": "1", "b": "1"}), (2, {"a": "2", "c": "2"})):
        folder = downloaded / f"results-py3.12-{attempt}"
        for name, text in files.items():
            _artifact(folder, name)
            (folder / "results" / "rehearsal-machine" / f"{name}.json").write_text(text)
        legs.Leg("3.12", status="measured" if attempt == 10 else "did not finish").write(folder)
    sources = legs.folders([downloaded])
    assert [s.name for s in sources] == ["results-py3.12-1", "results-py3.12-2", "results-py3.12-10"]
    tip = history.merge_and_push(work, "origin", sources, "three attempts")
    shown = {name: git(work, "show", f"{tip}:results/rehearsal-machine/{name}.json") for name in "abc"}
    assert shown == {"a": "10", "b": "1", "c": "10"}
    text, _ = legs.summary(sources, ["3.12"])
    assert "| 3.12 | measured |" in text


def test_a_leg_stopped_midway_is_named_with_what_it_finished(tmp_path):
    from pipeline import legs

    leg = legs.Leg("3.12", commits=["a" * 40, "b" * 40, "c" * 40], measured=["a" * 40], new_results=1)
    leg.write(tmp_path / "leg")
    text, _ = legs.summary([tmp_path / "leg"], ["3.12", "3.13"])
    assert "| 3.12 | **did not finish** | 1 of 3 commit(s), 1 new result file(s) | the leg stopped" in text
    assert "| 3.13 | **missing** |" in text


def test_the_pull_request_steps_run_under_a_bare_interpreter(github_repo):
    """make pr-artifact and make pr-comment as the workflows run them: the runner's python3 with nothing installed
    (here the base interpreter without site-packages), against a local stand-in of GitHub's API."""
    from rehearsal.api import GitHubAPI

    _, work = github_repo
    head = git(work, "rev-parse", "HEAD")
    api = GitHubAPI(token="secret-token").start()
    try:
        api.add_pull(7, head)
        make(work, "pr-artifact", PYTHON=BARE, PR_NUMBER="7", HEAD_SHA=head)
        for _ in range(2):
            make(work, "pr-comment", PYTHON=BARE, GITHUB_REPOSITORY="owner/planet-tracker", HEAD_SHA=head,
                 CONCLUSION="failure", GITHUB_TOKEN="secret-token", GITHUB_API_URL=api.url)
        (ours,) = api.comments_by("github-actions[bot]", 7)
    finally:
        api.stop()
    assert "**failed**" in ours["body"] and "produced no data" in ours["body"]
    assert api.unexpected == []


def test_publish_follows_the_branch_as_it_is_now(github_repo, tmp_path):
    """A run started by an older push publishes after a newer one: its checkout's main is moved forward to the
    remote's, so that asv's graphs show the newer commits too; the working tree is left as it is."""
    _, work = github_repo
    clone = tmp_path / "older"
    git(tmp_path, "clone", "-q", str(work), str(clone))
    git(clone, "checkout", "-q", "-B", "main", "HEAD~1")
    older, newer = git(clone, "rev-parse", "HEAD"), git(work, "rev-parse", "HEAD")
    history.advance(clone, "main", newer)
    assert git(clone, "rev-parse", "main") == newer and git(clone, "rev-parse", "HEAD") == older
    assert git(clone, "status", "--porcelain") == ""
    history.advance(clone, "main", older)  # never backwards
    assert git(clone, "rev-parse", "main") == newer
