"""The pull-request comment: built from the comparison artifact, posted (or updated) through GitHub's REST API.

The artifact comes from a run on the pull request's code, which may be a fork's: it is data, never code. Its
PR number is checked to be a number, and the pull request's current head to be the commit that run measured,
before anything is posted; the table is posted as text.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from .errors import PipelineError

MARKER = "<!-- planet-tracker-benchmarks -->"
MAX_BODY = 60000  # GitHub refuses comments over 65,536 characters


def artifact(out: Path, pr: str, head_sha: str, table: Path) -> None:
    """What the comparison run hands to the comment workflow: the table and whose it is."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "pr.json").write_text(json.dumps({"number": int(pr), "head_sha": head_sha}) + "\n")
    (out / "compare.md").write_text(table.read_text() if table.exists() else
                                    "The comparison produced no table: see the run's log.\n")


def body(folder: Path, run_url: str = "") -> str:
    table = (folder / "compare.md").read_text()
    if len(table) > MAX_BODY:
        table = table[:MAX_BODY] + "\n\n(cut: the full table is in the run's artifact)\n"
    link = f" ([run]({run_url}))" if run_url else ""
    return f"{MARKER}\n### Benchmarks: this pull request against its base{link}\n\n{table}"


def read_pr(folder: Path, expected_head: str) -> int:
    """The PR number from the artifact, after checking that it is one and that the artifact is for this run."""
    try:
        data = json.loads((folder / "pr.json").read_text())
        number, head = data["number"], data["head_sha"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PipelineError(f"artifact has no readable pr.json: {error}") from None
    if not isinstance(number, int) or number < 1:
        raise PipelineError(f"artifact's PR number is not a number: {number!r}")
    if not re.fullmatch(r"[0-9a-f]{40}", str(head)) or head != expected_head:
        raise PipelineError(f"artifact is for commit {head!r}, not the run's {expected_head!r}")
    return number


class Api:
    """Just the calls the comment needs."""

    def __init__(self, repo: str, token: str, base: str | None = None) -> None:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            raise PipelineError(f"not a repository name: {repo!r}")
        self.repo, self.token = repo, token
        self.base = (base or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")

    def call(self, method: str, path: str, payload: dict | None = None):
        request = urllib.request.Request(
            f"{self.base}/repos/{self.repo}{path}", method=method,
            data=None if payload is None else json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                     "Content-Type": "application/json", "X-GitHub-Api-Version": "2022-11-28"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise PipelineError(f"GitHub API {method} {path}: {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise PipelineError(f"GitHub API {method} {path}: {error.reason}") from None


def upsert_comment(api: Api, number: int, head_sha: str, text: str) -> str:
    """Update this project's comment on the PR, or create it: one comment per PR. Returns "created"/"updated"."""
    pull = api.call("GET", f"/pulls/{number}")
    if pull.get("head", {}).get("sha") != head_sha:
        raise PipelineError(f"PR #{number} has moved on from {head_sha[:8]}: not commenting on old results")
    comments = api.call("GET", f"/issues/{number}/comments?per_page=100")
    mine = [c for c in comments if c.get("body", "").startswith(MARKER)
            and c.get("user", {}).get("type") == "Bot"]
    if mine:
        api.call("PATCH", f"/issues/comments/{mine[0]['id']}", {"body": text})
        return "updated"
    api.call("POST", f"/issues/{number}/comments", {"body": text})
    return "created"
