"""The benchmark history kept on a git branch (``asv-results``): read it, and add results to it safely.

The branch holds only results: ``results/`` (asv's results folder: ``benchmarks.json`` and one folder per
machine) and ``provenance/`` (the harness's settings per machine). Results are added with git's plumbing
(a temporary index, ``commit-tree``) on top of the branch's current tip, never touching the working tree, and
pushed without force: if someone else pushed meanwhile the push is refused, and the merge is redone on top of
their commit. Either the push lands, with everything that was there before plus the new files, or the branch
is left exactly as it was.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from . import legs
from .errors import PipelineError

BRANCH = "asv-results"
# asv's results, the harness's settings per machine, and what the bisection's runs found of each regression's
# cost (regressions/<commit>/py<X.Y>.json and .svg: the rankings and the flame graph its issue shows).
FOLDERS = ("results", "provenance", "regressions")
SUITE_FILE = "results/benchmarks.json"  # the suite's definition: one for the whole branch
SUITE_STAMP = "suite.json"  # which commit it came from


def git(repo: Path, *args: str, env: dict | None = None, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        raise PipelineError(f"git {' '.join(args)}: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    return done.stdout.strip()


def auth(repo: Path, remote: str, token: str | None) -> dict:
    """Environment that authenticates git to GitHub with the job's token, for one command only: the workflows
    check out without persisting credentials, and the token reaches no other process (see ``cli.main``). It goes
    through git's GIT_CONFIG_* variables, not ``-c`` on the command line, which any process may read. The header
    is keyed on the remote's own URL (``http.<url>.extraheader``), so git sends it there and nowhere else; only
    over HTTPS, or plain HTTP to this machine (the rehearsal's origin). git never prompts: without a token it
    fails at once, where a terminal (act gives its steps one) would wait for a user name forever."""
    url = git(repo, "remote", "get-url", remote, check=False)
    quiet = {"GIT_TERMINAL_PROMPT": "0"}
    if not token or not (url.startswith("https://") or urlsplit(url).hostname in ("127.0.0.1", "localhost")):
        return quiet
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {**quiet, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{url}.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"}


def _why(stderr: str, token: str | None) -> str:
    """git's complaint, and what it means when git had no token to give."""
    text = stderr.strip()
    if not token and ("could not read Username" in text or "Authentication failed" in text):
        text += " (git had no token: give this step GITHUB_TOKEN)"
    return text


def fetch(repo: Path, remote: str, branch: str = BRANCH, token: str | None = None) -> str | None:
    """Fetch the history branch into ``refs/history/<branch>``; its tip, or None when it does not exist yet."""
    done = subprocess.run(["git", "fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/history/{branch}"],
                          cwd=repo, capture_output=True, text=True, env={**os.environ, **auth(repo, remote, token)})
    if done.returncode != 0:
        if "couldn't find remote ref" in done.stderr or "could not find remote ref" in done.stderr.lower():
            return None
        raise PipelineError(f"cannot fetch {branch} from {remote}: {_why(done.stderr, token)}")
    return git(repo, "rev-parse", f"refs/history/{branch}")


def remote_tip(repo: Path, remote: str, branch: str = BRANCH, token: str | None = None) -> str | None:
    """The history branch's tip on the remote now, without fetching it; None when it does not exist."""
    done = subprocess.run(["git", "ls-remote", "--heads", remote, f"refs/heads/{branch}"], cwd=repo,
                          capture_output=True, text=True, env={**os.environ, **auth(repo, remote, token)})
    if done.returncode != 0:
        raise PipelineError(f"cannot read {branch} on {remote}: {_why(done.stderr, token)}")
    return done.stdout.split()[0] if done.stdout.strip() else None


def local_tip(repo: Path, branch: str = BRANCH) -> str | None:
    """The history branch as last fetched or pushed from here, without asking the remote."""
    tip = git(repo, "rev-parse", "--verify", "--quiet", f"refs/history/{branch}", check=False)
    return tip or None


def advance(repo: Path, branch: str, newest: str) -> None:
    """Move the local ``branch`` forward to ``newest`` when that descends from it (a checkout made for an older
    push); leave it otherwise. The working tree is not touched: HEAD is detached from the branch first."""
    current = git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    if not current or current == newest or not _is_ancestor(repo, current, newest):
        return
    if git(repo, "symbolic-ref", "--quiet", "HEAD", check=False) == f"refs/heads/{branch}":
        git(repo, "checkout", "--quiet", "--detach")
    git(repo, "update-ref", f"refs/heads/{branch}", newest, current)


def export(repo: Path, tip: str | None, dest: Path) -> None:
    """Write the history's folders (``FOLDERS``) into ``dest`` (nothing if no history)."""
    if tip is None:
        return
    names = git(repo, "ls-tree", "-r", "--name-only", tip, "--", *FOLDERS).splitlines()
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(subprocess.run(["git", "cat-file", "blob", f"{tip}:{name}"], cwd=repo,
                                          capture_output=True, check=True).stdout)


def _files(sources: Iterable[Path]) -> dict[str, Path]:
    """Path in the branch -> file, for every file under each source's results/ and provenance/."""
    found: dict[str, Path] = {}
    for source in sources:
        for folder in FOLDERS:
            for path in sorted((source / folder).rglob("*")):
                if path.is_file():
                    found[path.relative_to(source).as_posix()] = path
    return found


def merge_and_push(repo: Path, remote: str, sources: Iterable[Path], message: str, branch: str = BRANCH,
                   attempts: int = 8, token: str | None = None, pause: float = 2.0, retries: int = 3) -> str:
    """Add every file under the sources' results/ and provenance/ to the history branch and push it.

    Returns the new tip (or the old one when there was nothing new), also kept as ``refs/history/<branch>``.
    Files with the same path (the same commit, machine and environment measured again) are replaced; nothing
    else is ever removed, and the suite's definition (``results/benchmarks.json``) only by one from the same
    commit or a newer one (``suite.json`` on the branch says which commit it came from). A push refused because
    another publish landed first is merged again on top of it, so any number of racing publishes each land; any
    other failed push (the network, GitHub's side) is tried again ``retries`` times after a growing pause, since
    a re-run of the publish job may come too late to find the legs' artifacts.
    """
    sources = list(sources)
    files = _files(sources)
    if not files:
        raise PipelineError("no results to add: the measuring jobs produced nothing")
    failures = 0
    for attempt in range(attempts):
        parent = fetch(repo, remote, branch, token)
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                git(repo, "read-tree", parent, env=env)
            for name, path in _with_suite(repo, parent, sources, files).items():
                blob = _blob(repo, path)
                git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
            tree = git(repo, "write-tree", env=env)
        if parent and tree == git(repo, "rev-parse", f"{parent}^{{tree}}"):
            return parent  # already there
        commit = git(repo, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message,
                     env=_identity())
        pushed = subprocess.run(["git", "push", "--quiet", remote, f"{commit}:refs/heads/{branch}"], cwd=repo,
                                capture_output=True, text=True, env={**os.environ, **auth(repo, remote, token)})
        if pushed.returncode == 0:
            git(repo, "update-ref", f"refs/history/{branch}", commit)
            return commit
        refused = _was_refused(pushed.stderr)
        failures += not refused
        if attempt + 1 == attempts or failures > retries:
            raise PipelineError(f"cannot push {branch} to {remote}: {_why(pushed.stderr, token)}")
        if not refused:
            print(f"push of {branch} failed ({pushed.stderr.strip()}); trying again", file=sys.stderr)
            time.sleep(pause * 2 ** (failures - 1))
    raise AssertionError("unreachable")


def _with_suite(repo: Path, parent: str | None, sources: list[Path],
                files: dict[str, Path]) -> dict[str, Path | bytes]:
    """``files`` with the newest suite definition among the sources and the branch, and ``suite.json`` naming its
    commit: an older push's publish, landing after a newer one's, must not roll the suite back."""
    files = dict(files)
    files.pop(SUITE_FILE, None)
    offers = []
    for source in sources:
        leg = legs.Leg.read(source)
        if leg and leg.suite_commit and (source / SUITE_FILE).is_file():
            offers.append((leg.suite_commit, source / SUITE_FILE))
    current = _suite_commit(repo, parent)
    if current:
        offers.append((current, None))
    if not offers:
        return files  # artifacts from before suite.json: the last one read wins, as it always did
    newest, path = offers[0]
    for commit, candidate in offers[1:]:
        if _is_ancestor(repo, newest, commit):
            newest, path = commit, candidate
    if path is not None:
        files[SUITE_FILE] = path
        files[SUITE_STAMP] = (json.dumps({"commit": newest}) + "\n").encode()
    return files


def _blob(repo: Path, content: Path | bytes) -> str:
    if isinstance(content, Path):
        return git(repo, "hash-object", "-w", str(content))
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=content, capture_output=True,
                          check=True).stdout.decode().strip()


def _suite_commit(repo: Path, tip: str | None) -> str:
    if tip is None:
        return ""
    text = git(repo, "show", f"{tip}:{SUITE_STAMP}", check=False)
    try:
        return str(json.loads(text)["commit"]) if text else ""
    except (ValueError, KeyError, TypeError):
        return ""


def _is_ancestor(repo: Path, older: str, newer: str) -> bool:
    """Whether ``newer`` descends from ``older`` (and is not it); unknown commits count as not."""
    if older == newer:
        return False
    return subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=repo,
                          capture_output=True).returncode == 0


def _was_refused(stderr: str) -> bool:
    """The remote moved under us (someone else pushed first): worth merging again."""
    return any(word in stderr for word in ("rejected", "non-fast-forward", "fetch first", "stale info"))


def _identity() -> dict:
    """Who commits the results: the configured user, else the Actions bot (as on GitHub's runners)."""
    name = os.environ.get("GIT_AUTHOR_NAME") or "github-actions[bot]"
    email = os.environ.get("GIT_AUTHOR_EMAIL") or "41898282+github-actions[bot]@users.noreply.github.com"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email}


def replace_folder(source: Path, target: Path) -> None:
    """Make ``target`` a copy of ``source`` (or empty when the source does not exist)."""
    shutil.rmtree(target, ignore_errors=True)
    if source.exists():
        shutil.copytree(source, target)
    else:
        target.mkdir(parents=True, exist_ok=True)
