"""Shared by the report tests: a real asv site for synthetic results, the npm cache, a loopback file server."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from . import synthetic

DAY_S = 86400


@pytest.fixture(scope="session")
def npm_cache(tmp_path_factory) -> Path:
    """One tarball cache for the session: the packages are downloaded once."""
    return tmp_path_factory.mktemp("npm-cache")


@pytest.fixture(scope="session")
def published(tmp_path_factory) -> Path:
    """``asv publish``'s html dir, as asv writes it (CDN links), for a two-commit repo with synthetic results."""
    root = tmp_path_factory.mktemp("project")
    git = ["git", "-c", "user.name=Fixture", "-c", "user.email=fixture@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)  # asv.conf.json's branches: ["main"]
    for day in (1, 2):
        stamp = f"{1_700_000_000 + day * DAY_S} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", f"day {day}"], cwd=root, env=env, check=True)
    log = subprocess.run(["git", "log", "--format=%H %ct"], cwd=root, capture_output=True, text=True, check=True)
    commits = [(sha, int(seconds) * 1000) for sha, seconds in (line.split() for line in log.stdout.splitlines())]
    synthetic.write(root, commits=commits, pythons=["3.11"], machine="fixture-machine")
    subprocess.run([sys.executable, "-m", "asv", "publish", "--config", str(root / "asv.conf.json")], cwd=root,
                   capture_output=True, check=True, timeout=120)
    return root / "html"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextmanager
def serve(directory: Path) -> Iterator[int]:
    """``directory`` over HTTP on 127.0.0.1, in a thread, for the block: its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


