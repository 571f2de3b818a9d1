"""The part of GitHub's REST API the workflows call, on 127.0.0.1: pull requests, issues and their comments, and
a workflow's dispatch.

    api = GitHubAPI(token="rehearsal-token").start()   # api.url: what GITHUB_API_URL points at
    api.add_pull(7, head_sha)                          # GET /repos/o/r/pulls/7
    api.add_comment(7, "hello", login="someone")       # a comment by someone else
    ...
    api.comments, api.opened, api.dispatches           # what happened, in order
    api.requests, api.unexpected
    api.stop()

As GitHub: a token is required (`Authorization: Bearer <token>` or `token <token>`: 401 otherwise) and so is a
User-Agent (403); each token has its job's scopes (rehearsal/rules.py) and a call its scope does not allow is
answered 403 "Resource not accessible by integration" (commenting: issues or, on a pull request, pull-requests:
write; opening or editing an issue: issues: write; a dispatch: actions: write; reading needs none, the repository
being public); comment lists are paginated (per_page up to 100, default 30) with a `Link` header whose URLs are
followed as given (GitHub's use the /repositories/<id>/ form, served here too); a comment body over 65,536
characters is refused (422). Posted comments and opened issues are the token's: github-actions[bot], a Bot. The
issue list filters by label and state and lists the newest first, pull requests among them, as GitHub's does;
pull requests and issues share their numbers. A dispatch is answered 204 and recorded for the test to run. Any
other request is answered 404 and recorded in ``unexpected`` (tests assert there is none).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from . import rules

MAX_BODY = 65536
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
REPOSITORY_ID = 424242


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0
    authorized: bool = False
    job: str = ""  # whose token it carried


class _Handler(BaseHTTPRequestHandler):
    owner: GitHubAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer, extra = self.owner.handle(self.command, parts.path, query, body, headers)
        data = b"" if status == 204 else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class Loopback:
    """A server of the rehearsal's on 127.0.0.1 (a free port), answering in threads of its own from start() to
    stop(); its ``handler`` reaches it as ``self.owner``."""
    handler: type[BaseHTTPRequestHandler]
    _server: ThreadingHTTPServer | None = None

    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (self.handler,), {"owner": self}))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=f"rehearsal-{type(self).__name__}",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass
class GitHubAPI(Loopback):
    handler = _Handler
    token: str = "rehearsal-token"  # alone (without ``tokens``): one token that may do everything
    repository: str = "owner/planet-tracker"
    tokens: dict[str, dict] | None = None  # {token: {"scopes", "job"}}: the jobs' tokens, shared with the driver
    pulls: dict[int, dict] = field(default_factory=dict)
    issues: set[int] = field(default_factory=set)
    comments: list[dict] = field(default_factory=list)
    opened: dict[int, dict] = field(default_factory=dict)  # issues opened through the API, by number
    dispatches: list[dict] = field(default_factory=list)  # {"workflow", "ref", "inputs"}
    requests: list[Request] = field(default_factory=list)
    unexpected: list[Request] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "<job>: <method> <path> needs <scope>", in order

    def __post_init__(self):
        if self.tokens is None:
            self.tokens = {}
            self.tokens[self.token] = {"scopes": rules.declared("write-all"), "job": "the test"}
        self._lock = threading.Lock()
        self._next_id = 1000

    # -- what a test sets up and reads ---------------------------------------------------------------------------

    def issues_labelled(self, label: str) -> list[dict]:
        with self._lock:
            return [json.loads(json.dumps(i)) for i in self.opened.values()
                    if label in [entry["name"] for entry in i["labels"]]]

    def _number(self) -> int:
        return max([*self.issues, *self.opened, 0]) + 1

    def add_pull(self, number: int, head_sha: str, **extra: Any) -> dict:
        """A pull request (also an issue, for its comments); ``extra`` joins GET /pulls/<n>'s answer."""
        with self._lock:
            pull = {"number": number, "state": "open", "head": {"sha": head_sha}, **extra}
            self.pulls[number] = pull
            self.issues.add(number)
            return pull

    def add_comment(self, issue: int, body: str, *, login: str = "someone", type: str = "User") -> dict:
        """A comment already there, by anyone (login, type: User, Bot, Organization)."""
        with self._lock:
            self.issues.add(issue)
            return self._new_comment(issue, body, {"login": login, "id": abs(hash(login)) % 10**8, "type": type})

    def comments_on(self, issue: int) -> list[dict]:
        with self._lock:
            return [dict(c) for c in self.comments if c["issue"] == issue]

    def comments_by(self, login: str, issue: int | None = None) -> list[dict]:
        with self._lock:
            return [dict(c) for c in self.comments
                    if c["user"]["login"] == login and (issue is None or c["issue"] == issue)]

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the API is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- the endpoints -------------------------------------------------------------------------------------------

    def _new_comment(self, issue: int, body: str, user: dict) -> dict:
        self._next_id += 1
        stamp = _now()
        comment = {"id": self._next_id, "issue": issue, "body": body, "user": dict(user),
                   "html_url": f"https://github.com/{self.repository}/pull/{issue}#issuecomment-{self._next_id}",
                   "created_at": stamp, "updated_at": stamp}
        self.comments.append(comment)
        return comment

    def _public(self, comment: dict) -> dict:
        shown = {k: v for k, v in comment.items() if k != "issue"}
        shown["issue_url"] = f"{self.url}/repos/{self.repository}/issues/{comment['issue']}"
        return shown

    def handle(self, method: str, path: str, query: dict[str, str], body: Any,
               headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON answer, extra headers) for one request, recorded."""
        request = Request(method, path, query, body)
        with self._lock:
            self.requests.append(request)
            if isinstance(body, str):
                status, answer, extra = 400, {"message": "Problems parsing JSON"}, {}
            else:
                status, answer, extra = self._route(request, headers)
            request.status = status
            if status == 404 and answer.get("_unexpected"):
                answer.pop("_unexpected")
                self.unexpected.append(request)
            return status, answer, extra

    def _route(self, request: Request, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if not headers.get("user-agent"):
            return 403, {"message": "Request forbidden by administrative rules. Please make sure your request has "
                                    "a User-Agent header"}, {}
        scheme, _, given = headers.get("authorization", "").partition(" ")
        entry = self.tokens.get(given.strip()) if scheme.lower() in ("bearer", "token") else None
        request.authorized = entry is not None
        if entry is None:
            return 401, _error(401, "Bad credentials"), {}
        request.job = entry["job"]
        needs = self._needs(request)
        if needs and not any(rules.allows(entry["scopes"], *need.split(": ")) for need in needs):
            self.refused.append(f"{entry['job']}: {request.method} {request.path} needs {' or '.join(needs)}")
            return 403, _error(403, rules.FORBIDDEN), {}
        repo = re.escape(self.repository)
        method, path = request.method, request.path.rstrip("/")
        if m := re.fullmatch(rf"/repos/{repo}/pulls/(\d+)", path):
            if method != "GET":
                return self._unexpected()
            pull = self.pulls.get(int(m[1]))
            return (200, json.loads(json.dumps(pull)), {}) if pull else (404, _error(404, "Not Found"), {})
        listing = re.fullmatch(rf"/repos/{repo}/issues/(\d+)/comments", path) or \
            re.fullmatch(rf"/repositories/{REPOSITORY_ID}/issues/(\d+)/comments", path)
        if listing and method == "GET":
            return self._list_comments(int(listing[1]), request.query)
        if (m := re.fullmatch(rf"/repos/{repo}/issues/(\d+)/comments", path)) and method == "POST":
            issue = int(m[1])
            if issue not in self.issues:
                return 404, _error(404, "Not Found"), {}
            problem = _body_problem(request.body)
            if problem:
                return 422, problem, {}
            return 201, self._public(self._new_comment(issue, request.body["body"], BOT)), {}
        if path in (f"/repos/{self.repository}/issues", f"/repositories/{REPOSITORY_ID}/issues") and method == "GET":
            return self._list_issues(request.query)
        if path == f"/repos/{self.repository}/issues" and method == "POST":
            body = request.body
            if not isinstance(body, dict) or not isinstance(body.get("title"), str) or not body["title"]:
                return 422, {"message": "Validation Failed", "errors": [{"field": "title", "code": "missing"}]}, {}
            problem = _body_problem({"body": body.get("body", "")})
            if problem or len(body["title"]) > 256:
                return 422, problem or {"message": "Validation Failed"}, {}
            number = self._number()
            stamp = _now()
            self.opened[number] = {"number": number, "title": body["title"], "body": body.get("body", ""),
                                   "state": "open", "state_reason": None, "user": dict(BOT),
                                   "labels": [{"name": name} for name in body.get("labels") or []],
                                   "html_url": f"https://github.com/{self.repository}/issues/{number}",
                                   "created_at": stamp, "updated_at": stamp}
            self.issues.add(number)
            return 201, json.loads(json.dumps(self.opened[number])), {}
        if (m := re.fullmatch(rf"/repos/{repo}/issues/(\d+)", path)) and method == "PATCH":
            issue = self.opened.get(int(m[1]))
            if issue is None:
                return 404, _error(404, "Not Found"), {}
            body = request.body if isinstance(request.body, dict) else {}
            if body.get("state") not in (None, "open", "closed"):
                return 422, {"message": "Validation Failed"}, {}
            for key in ("title", "body", "state", "state_reason"):
                if key in body:
                    issue[key] = body[key]
            issue["updated_at"] = _now()
            return 200, json.loads(json.dumps(issue)), {}
        if (m := re.fullmatch(rf"/repos/{repo}/actions/workflows/([\w.-]+)/dispatches", path)) and method == "POST":
            body = request.body if isinstance(request.body, dict) else {}
            if not isinstance(body.get("ref"), str):
                return 422, {"message": "Invalid request.\n\n\"ref\" wasn't supplied."}, {}
            self.dispatches.append({"workflow": m[1], "ref": body["ref"], "inputs": dict(body.get("inputs") or {})})
            return 204, None, {}
        if (m := re.fullmatch(rf"/repos/{repo}/issues/comments/(\d+)", path)) and method == "PATCH":
            found = [c for c in self.comments if c["id"] == int(m[1])]
            if not found:
                return 404, _error(404, "Not Found"), {}
            problem = _body_problem(request.body)
            if problem:
                return 422, problem, {}
            found[0]["body"] = request.body["body"]
            found[0]["updated_at"] = _now()
            return 200, self._public(found[0]), {}
        return self._unexpected()

    def _needs(self, request: Request) -> list[str]:
        """The scopes any one of which lets the token make this call (none: reading a public repository)."""
        path = request.path.rstrip("/")
        if request.method == "GET":
            return []
        if re.search(r"/actions/workflows/[^/]+/dispatches$", path):
            return ["actions: write"]
        if m := re.search(r"/issues/(\d+)/comments$", path):
            return ["issues: write", "pull-requests: write"] if int(m[1]) in self.pulls else ["issues: write"]
        if m := re.search(r"/issues/comments/(\d+)$", path):
            issue = next((c["issue"] for c in self.comments if c["id"] == int(m[1])), 0)
            return ["issues: write", "pull-requests: write"] if issue in self.pulls else ["issues: write"]
        return ["issues: write"]

    def _unexpected(self) -> tuple[int, Any, dict[str, str]]:
        return 404, {**_error(404, "Not Found"), "_unexpected": True}, {}

    def _list_issues(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        state, labels = query.get("state", "open"), [x for x in query.get("labels", "").split(",") if x]
        everything = [json.loads(json.dumps(i)) for i in sorted(self.opened.values(), key=lambda i: -i["number"])
                      if state in ("all", i["state"]) and all(x in [e["name"] for e in i["labels"]] for x in labels)]
        return self._page(everything, query, f"/repositories/{REPOSITORY_ID}/issues")

    def _list_comments(self, issue: int, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if issue not in self.issues:
            return 404, _error(404, "Not Found"), {}
        everything = [self._public(c) for c in self.comments if c["issue"] == issue]
        return self._page(everything, query, f"/repositories/{REPOSITORY_ID}/issues/{issue}/comments")

    def _page(self, everything: list, query: dict[str, str], path: str) -> tuple[int, Any, dict[str, str]]:
        """One page of a list, with GitHub's ``Link`` header (prev, first, next, last) for the others."""
        try:
            per_page = min(max(int(query.get("per_page", "30")), 1), 100)
            page = max(int(query.get("page", "1")), 1)
        except ValueError:
            return 422, {"message": "Validation Failed"}, {}
        last = max((len(everything) + per_page - 1) // per_page, 1)
        rest = {k: v for k, v in query.items() if k not in ("page", "per_page")}

        def link(number: int, rel: str) -> str:
            return f'<{self.url}{path}?{urlencode({**rest, "per_page": per_page, "page": number})}>; rel="{rel}"'

        links = [link(page - 1, "prev"), link(1, "first")] if page > 1 else []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return 200, everything[(page - 1) * per_page: page * per_page], ({"Link": ", ".join(links)} if links else {})


def _error(status: int, message: str) -> dict:
    return {"message": message, "documentation_url": "https://docs.github.com/rest", "status": str(status)}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _body_problem(body: Any) -> dict | None:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        return {"message": "Invalid request.\n\n\"body\" wasn't supplied.", "status": "422"}
    if len(body["body"]) > MAX_BODY:
        return {"message": "Validation Failed", "status": "422",
                "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                            "message": f"body is too long (maximum is {MAX_BODY} characters)"}]}
    return None
