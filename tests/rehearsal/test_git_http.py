"""The rehearsal's origin over git's smart HTTP (rehearsal/git_http.py), as the pipeline's own git calls meet it
(pipeline/history.py): no token, no fetch; a read-only token, no push."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline import history
from pipeline.errors import PipelineError
from rehearsal.git_http import GitServer

IDENTITY = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **IDENTITY}).stdout.strip()


@pytest.fixture
def served(tmp_path):
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    tokens = {"reader": {"scopes": {"contents": "read"}, "job": "measure"},
              "writer": {"scopes": {"contents": "write"}, "job": "publish"}}
    server = GitServer(origin, "owner/planet-tracker", tokens).start()
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "remote", "add", "origin", server.url)
    (work / "results").mkdir()
    (work / "results" / "a.json").write_text("{}\n")
    try:
        yield server, work
    finally:
        server.stop()


def test_a_push_needs_a_token_with_contents_write(served):
    server, work = served
    with pytest.raises(PipelineError, match=r"cannot fetch asv-results .* \(git had no token: give this step "
                                            r"GITHUB_TOKEN\)"):
        history.merge_and_push(work, "origin", [work], "no token", retries=0)
    with pytest.raises(PipelineError, match=r"Permission to owner/planet-tracker\.git denied to github-actions"):
        history.merge_and_push(work, "origin", [work], "read-only", token="reader", retries=0)
    tip = history.merge_and_push(work, "origin", [work], "results", token="writer")
    assert history.remote_tip(work, "origin", token="reader") == tip
    assert history.fetch(work, "origin", token="reader") == tip
    assert server.refused == [("git-upload-pack", "no token"), ("git-receive-pack", "measure: lacks contents: write")]


def test_a_fetch_with_an_unknown_token_is_refused(served, monkeypatch):
    server, work = served
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    with pytest.raises(PipelineError, match="cannot fetch asv-results"):
        history.fetch(work, "origin", token="forged")
    assert server.refused == [("git-upload-pack", "a token this repository does not know")]
