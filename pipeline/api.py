"""GitHub's REST API, just the calls the pipeline makes: the pull request's comment, and the regressions' issues.

The token goes to the API's address and nowhere else; every list is followed page by page (``Link``), to a cap.
Standard library only: the posting steps run under a bare ``python3`` (nothing installed).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message

from .comment import MARKER
from .errors import PipelineError
from .errors import oneline as _oneline
from .errors import show as _show

BOT = "github-actions[bot]"  # who posts with the workflow's token: whose comment or issue is "ours"
MAX_PAGES = 100  # of 100 items each

def next_link(header: str) -> str | None:
    """The rel="next" address of GitHub's ``Link`` header (``<url>; rel="next", <url>; rel="last"``), if any."""
    for url, rels in re.findall(r'<([^<>\s]+)>\s*;\s*rel="([^"]*)"', header or ""):
        if "next" in rels.split():
            return url
    return None


class Api:
    """Just the calls the comment needs."""

    def __init__(self, repo: str, token: str, base: str | None = None) -> None:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            raise PipelineError(f"not a repository name: {repo!r}")
        self.repo, self.token = repo, token
        self.base = (base or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")

    def call(self, method: str, path: str, payload: dict | None = None):
        """``path`` under the repository: its JSON."""
        return self.send(method, f"{self.base}/repos/{self.repo}{path}", payload)[0]

    def send(self, method: str, url: str, payload: dict | None = None) -> tuple[object, Message]:
        """Any address under the API's base (the token goes nowhere else): its JSON and the response's headers."""
        if not url.startswith(self.base + "/"):
            raise PipelineError(f"not an address of the GitHub API at {self.base}: {_show(url)}")
        what = f"{method} {url[len(self.base):].split('?')[0]}"
        request = urllib.request.Request(
            url, method=method, data=None if payload is None else json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                     "Content-Type": "application/json", "X-GitHub-Api-Version": "2022-11-28"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null"), response.headers
        except urllib.error.HTTPError as error:
            raise PipelineError(f"GitHub API {what}: {error.code} {error.reason}{_said(error)}") from None
        except urllib.error.URLError as error:
            raise PipelineError(f"GitHub API {what}: {error.reason}") from None
        except ValueError as error:
            raise PipelineError(f"GitHub API {what}: not JSON: {_oneline(error)}") from None

    def pages(self, path: str) -> Iterator[list]:
        """Every page of a list under the repository, following the ``Link`` header's rel="next"."""
        url = f"{self.base}/repos/{self.repo}{path}"
        for _ in range(MAX_PAGES):
            items, headers = self.send("GET", url)
            if not isinstance(items, list):
                raise PipelineError(f"GitHub API GET {path}: not a list")
            yield items
            url = next_link(headers.get("Link", ""))
            if url is None:
                return
        raise PipelineError(f"GitHub API GET {path}: more than {MAX_PAGES} pages")


def _said(error: urllib.error.HTTPError) -> str:
    """What GitHub's answer says went wrong (its JSON ``message``: "Resource not accessible by integration" names
    a missing permission), shown as a value from outside."""
    try:
        message = json.loads(error.read(65536) or b"null").get("message")
    except (OSError, ValueError, AttributeError):
        return ""
    return f": {_show(message)}" if isinstance(message, str) and message else ""


def find_comment(api: Api, number: int, login: str = BOT) -> dict | None:
    """This project's comment on the PR: the first, over all pages, that starts with the marker and was posted by
    ``login`` (anyone, a bot included, can start a comment with the marker)."""
    for page in api.pages(f"/issues/{number}/comments?per_page=100"):
        for comment in page:
            if (isinstance(comment, dict) and isinstance(comment.get("body"), str)
                    and comment["body"].startswith(MARKER) and isinstance(comment.get("user"), dict)
                    and comment["user"].get("login") == login and type(comment.get("id")) is int):
                return comment
    return None


def upsert_comment(api: Api, number: int, head_sha: str, text: str, login: str = BOT) -> str:
    """Update this project's comment on the PR, or create it: one comment per PR. Returns "created"/"updated"."""
    pull = api.call("GET", f"/pulls/{number}")
    if not isinstance(pull, dict) or not isinstance(pull.get("head"), dict) or pull["head"].get("sha") != head_sha:
        raise PipelineError(f"PR #{number} has moved on from {head_sha[:8]}: not commenting on old results")
    mine = find_comment(api, number, login)
    if mine is not None:
        api.call("PATCH", f"/issues/comments/{mine['id']}", {"body": text})
        return "updated"
    api.call("POST", f"/issues/{number}/comments", {"body": text})
    return "created"
