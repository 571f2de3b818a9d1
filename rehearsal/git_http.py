"""The rehearsal's origin over git's smart HTTP on 127.0.0.1, as GitHub serves a private repository: every fetch
and push carries a job's token (``Authorization: basic`` of ``x-access-token:<token>``, as actions/checkout
sends it), a fetch needs ``contents: read`` and a push ``contents: write``. ``git http-backend`` (it ships with
git) does the protocol; this server only authenticates and runs it.

    server = GitServer(origin_dir, "owner/name", tokens).start()
    server.url     # http://127.0.0.1:<port>/owner/name: what the checkout stand-in sets as the remote
    server.refused # [(service, reason)], in order
    server.stop()
"""

from __future__ import annotations

import base64
import os
import subprocess
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from . import rules
from .api import Loopback


class _Handler(BaseHTTPRequestHandler):
    owner: GitServer

    def log_message(self, format, *args):
        pass

    def _serve(self) -> None:
        owner = self.owner
        parts = urlsplit(self.path)
        prefix = f"/{owner.repository}"
        path = parts.path
        for base in (prefix + ".git", prefix):
            if path.startswith(base + "/"):
                rest = path[len(base):]
                break
        else:
            return self._answer(404, "Repository not found.")
        service = "git-receive-pack" if "git-receive-pack" in (rest + parts.query) else "git-upload-pack"
        status, message = owner.check(self.headers.get("Authorization", ""), service)
        if status:
            extra = {"WWW-Authenticate": 'Basic realm="GitHub"'} if status == 401 else {}
            return self._answer(status, message, extra)
        body = self._body()
        env = {"PATH": os.environ.get("PATH", os.defpath), "GIT_PROJECT_ROOT": str(owner.origin.parent),
               "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": "github-actions[bot]", "REMOTE_ADDR": "127.0.0.1",
               "PATH_INFO": f"/{owner.origin.name}{rest}", "QUERY_STRING": parts.query,
               "REQUEST_METHOD": self.command, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)), "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
               "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", "")}
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        headers, status = {}, 200
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name] = value.strip()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, message: str, extra: dict | None = None) -> None:
        data = f"{message}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve


class GitServer(Loopback):
    handler = _Handler

    def __init__(self, origin: Path, repository: str, tokens: dict[str, dict]):
        self.origin, self.repository, self.tokens = Path(origin), repository, tokens
        self.refused: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{self.repository}"

    def check(self, authorization: str, service: str) -> tuple[int, str]:
        """(0, "") when the request may go on, else (status, GitHub's message)."""
        scheme, _, encoded = authorization.partition(" ")
        token = ""
        if scheme.lower() == "basic":
            try:
                token = base64.b64decode(encoded.strip()).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                token = ""
        entry = self.tokens.get(token) if token else None
        if entry is None:
            why = "no token" if not token else "a token this repository does not know"
            self.refused.append((service, why))
            return 401, "Invalid username or token. Password authentication is not supported for Git operations."
        need = "contents: write" if service == "git-receive-pack" else "contents: read"
        if rules.lacking(entry["scopes"], need):
            self.refused.append((service, f"{entry['job']}: lacks {need}"))
            if service == "git-receive-pack":
                return 403, f"Permission to {self.repository}.git denied to github-actions[bot]."
            return 404, "Repository not found."
        return 0, ""
