"""The rehearsal's machinery (rehearsal/): act runs toy workflows, written here into a toy repository, with the
stand-ins for the actions and the local GitHub API; each test checks one thing the stand-ins or the driver do as
GitHub does. The project's own workflows are rehearsed elsewhere (tests/test_rehearsal.py, which also has the
step killed by its time limit: act counts timeout-minutes in whole minutes, too slow to repeat here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rehearsal.act import Rehearsal, RehearsalError, assemble, workflow_run_payload
from rehearsal.api import GitHubAPI

CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"
SETUP_PYTHON = "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97"
CACHE = "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae"
UPLOAD = "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"
DOWNLOAD = "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"
UPLOAD_PAGES = "actions/upload-pages-artifact@fc324d3547104276b827a68afc52ff2a11cc49c9"
DEPLOY_PAGES = "actions/deploy-pages@cd2ce8fcbc39b97be8ca5fce6e763baed58fa128"
IDENTITY = ["-c", "user.name=Toy", "-c", "user.email=toy@example.invalid", "-c", "commit.gpgsign=false"]

WORKFLOWS = {
    "checkout.yml": f"""
        name: Checkout
        on: [push, pull_request]
        jobs:
          full:
            name: full history
            runs-on: ubuntu-24.04
            steps:
              - uses: {CHECKOUT}
                with:
                  fetch-depth: 0
                  persist-credentials: false
              - run: |
                  echo "FACT head=$(git symbolic-ref -q HEAD || echo detached) sha=$(git rev-parse HEAD)"
                  echo "FACT branches=$(git for-each-ref --format='%(refname)' refs/heads | paste -sd, -)"
                  echo "FACT remotes=$(git for-each-ref --format='%(refname)' refs/remotes | paste -sd, -)"
                  echo "FACT origin=$(git remote get-url origin) full-shallow=$(git rev-parse --is-shallow-repository)"
          shallow:
            runs-on: ubuntu-24.04
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - run: echo "FACT shallow=$(git rev-parse --is-shallow-repository) count=$(git rev-list --count HEAD)"
        """,
    "fork.yml": f"""
        name: After a pull request
        on: workflow_run
        jobs:
          head:
            runs-on: ubuntu-24.04
            steps:
              - uses: {CHECKOUT}
                with:
                  ref: ${{{{ github.event.workflow_run.head_sha }}}}
                  persist-credentials: false
              - run: echo "FACT checked=$(git rev-parse HEAD)"
        """,
    "python.yml": f"""
        name: Python
        on: workflow_dispatch
        jobs:
          py:
            name: Python ${{{{ matrix.python }}}}
            runs-on: ubuntu-24.04
            strategy:
              fail-fast: false
              matrix:
                python: ["3.12", "3.14"]
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - id: setup
                uses: {SETUP_PYTHON}
                with:
                  python-version: ${{{{ matrix.python }}}}
                  cache: pip
                  cache-dependency-path: constraints.txt
              - run: |
                  py=py${{{{ matrix.python }}}}
                  echo "FACT $py-python3=$(command -v python3)"
                  echo "FACT $py-version=${{{{ steps.setup.outputs.python-version }}}}"
                  echo "FACT $py-pip=$PIP_CACHE_DIR $py-location=$pythonLocation"
                  if python3 -c 'import asv' 2>/dev/null; then echo "FACT $py-asv=yes"; else echo "FACT $py-asv=no"; fi
          image:
            runs-on: ubuntu-24.04
            steps:
              - run: |
                  echo "FACT image-version=$(python3 -c 'import platform; print(platform.python_version())')"
                  count='import importlib.metadata as m; print(len(list(m.distributions())))'
                  echo "FACT image-packages=$(python3 -c "$count")"
                  echo "FACT image-pyenv=$(command -v pyenv || echo none)"
                  echo "FACT image-make=${{MAKEFLAGS:-none}}${{MAKELEVEL:-none}}"
        """,
    "artifacts.yml": f"""
        name: Artifacts
        on: workflow_dispatch
        jobs:
          up:
            if: github.run_attempt == '1'
            runs-on: ubuntu-24.04
            steps:
              - run: |
                  mkdir -p out/sub && echo "attempt-${{{{ github.run_attempt }}}}" > out/sub/x.txt
                  echo no > out/.hidden
              - uses: {UPLOAD}
                with:
                  name: a
                  path: out
                  retention-days: 7
          twice:
            if: github.run_attempt == '1'
            runs-on: ubuntu-24.04
            steps:
              - run: echo one > one.txt
              - uses: {UPLOAD}
                with:
                  name: b
                  path: one.txt
              - uses: {UPLOAD}
                with:
                  name: b
                  path: one.txt
                  overwrite: true
              - run: echo "FACT overwrite=ok"
              - uses: {UPLOAD}
                with:
                  name: b
                  path: one.txt
              - run: echo "FACT after-conflict=ran"
          down:
            needs: up
            runs-on: ubuntu-24.04
            steps:
              - uses: {DOWNLOAD}
                with:
                  name: a
                  path: got
              - uses: {DOWNLOAD}
                with:
                  pattern: "a*"
                  path: pattern
              - run: |
                  echo "FACT got=$(cat got/sub/x.txt) pattern=$(cat pattern/sub/x.txt)"
                  echo "FACT listed=$(ls -A got | paste -sd, -)"
          again:
            if: github.run_attempt != '1'
            runs-on: ubuntu-24.04
            steps:
              - uses: {DOWNLOAD}
                with:
                  name: b
                  path: got
          reup:
            if: github.run_attempt == '2'
            runs-on: ubuntu-24.04
            steps:
              - run: mkdir -p out/sub && echo "attempt-${{{{ github.run_attempt }}}}" > out/sub/x.txt
              - uses: {UPLOAD}
                with:
                  name: a
                  path: out
          api:
            if: ${{{{ !cancelled() && github.run_attempt != '1' }}}}
            needs: reup
            runs-on: ubuntu-24.04
            permissions:
              actions: read
            steps:
              - uses: {DOWNLOAD}
                with:
                  name: a
                  path: got
                  run-id: ${{{{ github.run_id }}}}
                  github-token: ${{{{ github.token }}}}
              - run: echo "FACT api=$(cat got/sub/x.txt)"
        """,
    "cache.yml": f"""
        name: Cache
        on: [workflow_dispatch, pull_request]
        jobs:
          cached:
            runs-on: ubuntu-24.04
            steps:
              - id: c
                uses: {CACHE}
                with:
                  path: .stuff
                  key: toy-${{{{ vars.KEY }}}}
              - run: |
                  echo "FACT hit=${{{{ steps.c.outputs.cache-hit }}}}"
                  echo "FACT content=$(cat .stuff/f 2>/dev/null || echo none)"
              - run: mkdir -p .stuff && echo "saved-by-run-${{{{ github.run_id }}}}" > .stuff/f
              - if: vars.FAIL == '1'
                run: exit 1
        """,
    "pages.yml": f"""
        name: Pages
        on: push
        jobs:
          publish:
            runs-on: ubuntu-24.04
            steps:
              - run: |
                  mkdir -p site
                  echo "<p>${{{{ github.run_id }}}}/${{{{ github.run_attempt }}}}</p>" > site/index.html
                  echo secret > site/.env && ln -s index.html site/link.html
              - uses: {UPLOAD_PAGES}
                with:
                  path: site
                  name: github-pages-${{{{ github.run_attempt }}}}
          deploy:
            needs: publish
            runs-on: ubuntu-24.04
            permissions:
              pages: write
              id-token: write
            steps:
              - id: deployment
                uses: {DEPLOY_PAGES}
                with:
                  artifact_name: github-pages-${{{{ github.run_attempt }}}}
              - run: echo "FACT url=${{{{ steps.deployment.outputs.page_url }}}}"
          unpermitted:
            if: vars.BARE == '1'
            needs: publish
            runs-on: ubuntu-24.04
            permissions:
              id-token: write
            steps:
              - uses: {DEPLOY_PAGES}
                with:
                  artifact_name: github-pages-${{{{ github.run_attempt }}}}
        """,
    "api.yml": """
        name: API
        on: workflow_dispatch
        jobs:
          call:
            runs-on: ubuntu-24.04
            steps:
              - env:
                  TOKEN: ${{ github.token }}
                run: |
                  python3 - <<'EOF'
                  import json, os, urllib.request
                  url = f"{os.environ['GITHUB_API_URL']}/repos/{os.environ['GITHUB_REPOSITORY']}/pulls/3"
                  request = urllib.request.Request(url, headers={"Authorization": f"Bearer {os.environ['TOKEN']}"})
                  print("FACT head=" + json.load(urllib.request.urlopen(request))["head"]["sha"])
                  EOF
        """,
    "slow.yml": """
        name: Slow
        on: workflow_dispatch
        jobs:
          hang:
            if: vars.HANG == '1'
            runs-on: ubuntu-24.04
            steps:
              - run: |
                  nohup sleep 4244 >/dev/null 2>&1 &
                  env -u GITHUB_ACTION -u GITHUB_WORKSPACE nohup sleep 4245 >/dev/null 2>&1 &
                  sleep 300
        """,
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def facts(run, key: str) -> list[str]:
    """The values printed as `FACT key=value` by the run's steps, in order."""
    return re.findall(rf"FACT (?:.* )?{re.escape(key)}=(\S*)", "\n".join(
        line for line in run.log.splitlines() if "  | FACT " in line))


def fact(run, key: str) -> str:
    found = facts(run, key)
    assert len(found) == 1, f"{key}: {found}\n{run.tail()}"
    return found[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toy") / "project"
    (root / ".github" / "workflows").mkdir(parents=True)
    for name, text in WORKFLOWS.items():
        (root / ".github" / "workflows" / name).write_text(textwrap.dedent(text).lstrip())
    (root / "constraints.txt").write_text("asv==0.6.6\n")
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a toy project")
    return root


@pytest.fixture(scope="module")
def gh(project, tmp_path_factory):
    with Rehearsal(project, tmp_path_factory.mktemp("state")) as rehearsal:
        yield rehearsal
        assert rehearsal.leftovers() == []


@pytest.fixture(scope="module")
def work(gh, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("work") / "clone"
    git(path.parent, "clone", "-q", str(gh.origin), str(path))
    return path


def push_commit(work: Path, files: dict[str, str], message: str, ref: str = "main") -> str:
    git(work, "checkout", "-q", "--detach", "origin/main")
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "-f", "origin", f"HEAD:{ref}")
    return git(work, "rev-parse", "HEAD")


# -- checkout ----------------------------------------------------------------------------------------------------


@pytest.mark.needs("node")
def test_checkout_of_a_push_is_a_local_branch(gh, work):
    side = push_commit(work, {"side.txt": "side\n"}, "a side branch", "refs/heads/side")
    run = gh.run("push", "checkout.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=1)
    assert run.jobs == {"full": "success", "shallow": "success"}, run.tail()
    assert run.names == {"full history": "success", "shallow": "success"}
    assert fact(run, "head") == "refs/heads/main" and fact(run, "sha") == gh.main_sha
    assert fact(run, "branches") == "refs/heads/main"
    assert {"refs/remotes/origin/main", "refs/remotes/origin/side"} <= set(fact(run, "remotes").split(","))
    assert side != gh.main_sha
    assert fact(run, "origin") == gh.git.url  # the origin as GitHub serves it: over HTTP(S), with a token
    assert fact(run, "full-shallow") == "false" and fact(run, "shallow") == "true"  # fetch-depth 0, the default 1
    assert fact(run, "count") == "1"


@pytest.mark.needs("node")
def test_checkout_of_a_pull_request_is_detached_without_a_branch(gh, work):
    head = push_commit(work, {"feature.txt": "feature\n"}, "a feature", "refs/pull/5/head")
    git(work, "checkout", "-q", "--detach", "origin/main")
    git(work, "merge", "-q", "--no-ff", "-m", "Merge the feature", head)
    merge = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", "origin", f"{merge}:refs/pull/5/merge")
    run = gh.run("pull_request", "checkout.yml", {"pull_request": {"head": {"sha": head}}}, sha=merge,
                 ref="refs/pull/5/merge", run_id=2)
    assert run.jobs == {"full": "success", "shallow": "success"}, run.tail()
    assert fact(run, "head") == "detached" and fact(run, "sha") == merge
    assert fact(run, "branches") == ""
    assert "refs/remotes/pull/5/merge" in fact(run, "remotes").split(",")


@pytest.mark.needs("node")
def test_checkout_refuses_a_forks_code_after_its_pull_request_as_github_does(gh, work):
    """A workflow_run after a fork's pull request: actions/checkout's guard refuses its head commit (the payload
    names the fork's repository by its id, as GitHub's does); the same commit from a branch of the repository is
    checked out."""
    head = push_commit(work, {"fork.txt": "a fork's change\n"}, "a fork's change", "refs/pull/6/head")
    forked = gh.run("workflow_run", "fork.yml", workflow_run_payload(60, "pull_request", "success", head, "feature",
                                                                    gh.repository),
                    sha=gh.main_sha, ref="refs/heads/main", run_id=61)
    assert forked.jobs == {"head": "failure"}
    assert "Refusing to check out fork pull request code from a 'workflow_run' workflow" in forked.log
    own = gh.run("workflow_run", "fork.yml", workflow_run_payload(62, "pull_request", "success", head, "feature",
                                                                 gh.repository, fork=False),
                 sha=gh.main_sha, ref="refs/heads/main", run_id=63)
    assert own.jobs == {"head": "success"} and fact(own, "checked") == head


# -- setup-python ------------------------------------------------------------------------------------------------


def pyenv_prefix(version: str) -> Path | None:
    if not shutil.which("pyenv"):
        return None
    done = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True)
    return Path(done.stdout.strip()) if done.returncode == 0 else None


@pytest.mark.skipif(pyenv_prefix("3.12") is None, reason="setup-python's stand-in takes Python 3.12 from pyenv")
@pytest.mark.needs("node")
def test_setup_python_puts_a_bare_interpreter_first_and_gives_its_full_version(gh, monkeypatch):
    prefix = pyenv_prefix("3.12")
    # As when the rehearsal runs under make with a variable given (make rehearse PYTEST_ARGS=...): a job on GitHub
    # gets none of the developer's make, whose command-line variables would reach every make of every job.
    monkeypatch.setenv("MAKEFLAGS", " -- PYTEST_ARGS=")
    monkeypatch.setenv("MAKELEVEL", "1")
    run = gh.run("workflow_dispatch", "python.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=3)
    missing = "success" if pyenv_prefix("3.14") else "failure"  # GitHub has 3.14; this machine, so far, not
    assert run.jobs == {"py (3.12)": "success", "py (3.14)": missing, "image": "success"}, run.tail()
    assert run.names == {"Python 3.12": "success", "Python 3.14": missing, "image": "success"}
    # The tool cache's layout, as the runner image has it: $RUNNER_TOOL_CACHE/Python/<X.Y.Z>/x64.
    location = Path(fact(run, "py3.12-location"))
    assert location.parts[-3:] == ("Python", prefix.name, "x64") and location.resolve() == prefix.resolve()
    assert fact(run, "py3.12-python3") == str(location / "bin" / "python3")
    assert fact(run, "py3.12-version") == prefix.name and re.fullmatch(r"3\.12\.\d+", prefix.name)
    assert fact(run, "py3.12-asv") == "no"  # nothing installed, though the test run's own Python has asv
    # A job without setup-python: the image's python3, ubuntu-24.04's 3.12 with nothing installed (pip and its
    # kin only), and no pyenv on PATH.
    assert fact(run, "image-version") == prefix.name and int(fact(run, "image-packages")) <= 3
    assert fact(run, "image-pyenv") == "none" and fact(run, "image-make") == "nonenone"
    key = f"setup-python-Linux-X64-python-{prefix.name}-pip-"
    assert fact(run, "py3.12-pip").startswith(str(gh.state / "pip-cache" / "refs%2Fheads%2Fmain" / key))
    if missing == "failure":
        assert "Python 3.14 is on GitHub's runners but not on this machine" in run.log
        assert run.result("py") == "failure"


# -- artifacts ---------------------------------------------------------------------------------------------------


@pytest.mark.needs("node")
def test_artifacts_belong_to_their_run_attempt(gh):
    """v4 artifacts as GitHub's users report them: without a token a download sees its own attempt's only (a
    re-run cannot find what attempt 1 uploaded); by run id with a token it sees every attempt's, each attempt's
    copy of a name apart, and the older copy may be the one taken; the token needs actions: read."""
    first = gh.run("workflow_dispatch", "artifacts.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=40)
    assert first.jobs == {"up": "success", "twice": "failure", "down": "success", "again": "skipped",
                          "reup": "skipped", "api": "skipped"}, first.tail()
    assert fact(first, "overwrite") == "ok" and facts(first, "after-conflict") == []
    assert "(409) Conflict: an artifact with this name already exists" in first.log
    assert fact(first, "got") == "attempt-1"
    assert fact(first, "listed") == "sub"  # the hidden file stayed out; the folder's contents, not the folder
    assert fact(first, "pattern") == "attempt-1"  # one artifact matched: straight into path, as v8 does
    assert sorted(gh.artifacts(40)) == ["a", "b"]

    second = gh.run("workflow_dispatch", "artifacts.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=40,
                    attempt=2)
    assert second.jobs == {"up": "skipped", "twice": "skipped", "down": "skipped", "again": "failure",
                           "reup": "success", "api": "success"}, second.tail()
    assert "Artifact not found for name: b (in run 40 attempt 2)" in second.log
    assert fact(second, "api") == "attempt-1"  # attempt 2 uploaded its own "a"; attempt 1's copy was taken
    assert "2 artifacts named a in run 40, every attempt" in second.log

    later = gh.run("workflow_dispatch", "artifacts.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=41,
                   job="up")
    assert later.jobs == {"up": "success"}
    expired = gh.run("workflow_dispatch", "artifacts.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=41,
                     attempt=3, job="api", now=time.time() + 8 * 86400)
    assert expired.jobs == {"api": "failure", "reup": "skipped"}, expired.tail()  # retention-days: 7
    assert "Artifact not found for name: a" in expired.log


# -- cache -------------------------------------------------------------------------------------------------------


@pytest.mark.needs("node")
def test_cache_saves_after_a_successful_job_and_restores(gh):
    def cached(run_id: int, **variables: str):
        return gh.run("workflow_dispatch", "cache.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=run_id,
                      vars=variables)

    miss = cached(50, KEY="one")
    assert miss.jobs == {"cached": "success"} and fact(miss, "hit") == "" and fact(miss, "content") == "none"
    hit = cached(51, KEY="one")
    assert fact(hit, "hit") == "true" and fact(hit, "content") == "saved-by-run-50", hit.tail()
    assert "not saving cache" in hit.log
    failed = cached(52, KEY="two", FAIL="1")
    assert failed.jobs == {"cached": "failure"}
    after = cached(53, KEY="two")
    assert fact(after, "hit") == "" and fact(after, "content") == "none", after.tail()  # a failed job saves nothing


@pytest.mark.needs("node")
def test_caches_are_scoped_by_branch_as_github_scopes_them(gh):
    """A branch reads its own caches and the default branch's; a sibling branch's, or a pull request's, never."""
    def cached(run_id: int, ref: str, key: str, event: str = "workflow_dispatch"):
        return gh.run(event, "cache.yml", {}, sha=gh.main_sha, ref=ref, run_id=run_id, vars={"KEY": key})

    assert fact(cached(54, "refs/heads/main", "scoped"), "content") == "none"
    from_main = cached(55, "refs/heads/topic", "scoped")
    assert fact(from_main, "content") == "saved-by-run-54", from_main.tail()
    cached(56, "refs/heads/topic", "topic-only")
    assert fact(cached(57, "refs/heads/sibling", "topic-only"), "content") == "none"
    assert fact(cached(58, "refs/heads/topic", "topic-only"), "content") == "saved-by-run-56"
    assert fact(cached(59, "refs/heads/main", "topic-only"), "content") == "none"


# -- Pages -------------------------------------------------------------------------------------------------------


@pytest.mark.needs("node")
def test_pages_deployments_are_recorded_and_a_failed_one_is_run_again(gh):
    (gh.state / "fail").mkdir(exist_ok=True)
    (gh.state / "fail" / "deploy-pages").write_text("once\n")
    first = gh.run("push", "pages.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=60)
    assert first.jobs == {"publish": "success", "deploy": "failure", "unpermitted": "skipped"}, first.tail()
    assert not (gh.state / "fail" / "deploy-pages").exists()
    again = gh.run("push", "pages.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=60, attempt=2)
    assert again.jobs == {"publish": "success", "deploy": "success", "unpermitted": "skipped"}, again.tail()
    assert fact(again, "url") == "https://owner.github.io/planet-tracker/"
    records = [json.loads(line) for line in (gh.state / "pages" / "deployments.jsonl").read_text().splitlines()]
    assert records[-1] | {"time": 0} == {"n": len(records), "run_id": 60, "attempt": 2, "artifact": "github-pages-2",
                                         "artifact_attempt": 2, "sha": gh.main_sha, "time": 0,
                                         "files": ["index.html", "link.html"]}
    site = gh.state / "pages" / "current"
    assert (site / "index.html").read_text() == "<p>60/2</p>\n"
    assert not (site / "link.html").is_symlink() and not (site / ".env").exists()
    # A job without pages: write is refused, as GitHub refuses its token; and attempt 1's artifact is not this
    # attempt's: deploy-pages sees its own attempt only.
    refused = gh.run("push", "pages.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=61, vars={"BARE": "1"})
    assert refused.jobs == {"publish": "success", "deploy": "success", "unpermitted": "failure"}, refused.tail()
    assert "job unpermitted's GITHUB_TOKEN lacks pages: write; add it to the job's permissions" in refused.log
    stale = gh.run("push", "pages.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=61, attempt=2,
                   job="deploy", rerun_of=refused, again=("deploy",))
    assert stale.jobs["deploy"] == "failure" and 'No artifacts named "github-pages-2"' in stale.log, stale.tail()


# -- the API -----------------------------------------------------------------------------------------------------


def test_a_step_reaches_the_api_with_the_runs_token(gh):
    gh.api.add_pull(3, "c0ffee" * 6 + "c0ff")
    run = gh.run("workflow_dispatch", "api.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=70)
    assert run.jobs == {"call": "success"}, run.tail()
    assert fact(run, "head") == "c0ffee" * 6 + "c0ff"
    assert [(r.method, r.path, r.status, r.authorized) for r in gh.api.requests][-1] == \
        ("GET", "/repos/owner/planet-tracker/pulls/3", 200, True)
    assert gh.api.unexpected == []


def call(api: GitHubAPI, method: str, url: str, body=None, token: str | None = "t0ken", agent: bool = True):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url if url.startswith("http") else api.url + url, method=method,
                                     data=json.dumps(body).encode() if body is not None else None, headers=headers)
    if not agent:
        request.add_header("User-Agent", "")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            data = answer.read()
            return answer.status, json.loads(data) if data else None, answer.headers.get("Link", "")
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), error.headers.get("Link", "")


def test_the_api_paginates_as_github_and_wants_the_token():
    api = GitHubAPI(token="t0ken").start()
    try:
        api.add_pull(9, "ab" * 20)
        for i in range(230):
            api.add_comment(9, f"comment {i}", login="reviewer" if i % 2 else "dependabot[bot]",
                            type="User" if i % 2 else "Bot")
        base = "/repos/owner/planet-tracker/issues/9/comments"
        assert call(api, "GET", base, token=None)[0] == 401
        assert call(api, "GET", base, token="wrong")[0] == 401
        assert call(api, "GET", base, agent=False)[0] == 403
        status, page, link = call(api, "GET", base)
        assert status == 200 and len(page) == 30 and 'rel="next"' in link  # GitHub's default page size
        bodies, url, pages = [], f"{base}?per_page=500", 0
        while url:
            status, page, link = call(api, "GET", url)
            assert status == 200 and len(page) <= 100
            bodies += [c["body"] for c in page]
            pages += 1
            found = re.search(r'<([^>]+)>; rel="next"', link)
            url = found[1] if found else ""
        assert pages == 3 and bodies == [f"comment {i}" for i in range(230)]
        status, posted, _ = call(api, "POST", base, {"body": "ours"})
        assert status == 201 and posted["user"] == {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
        status, edited, _ = call(api, "PATCH", f"/repos/owner/planet-tracker/issues/comments/{posted['id']}",
                                 {"body": "ours, edited"})
        assert status == 200 and edited["body"] == "ours, edited"
        assert [c["body"] for c in api.comments_by("github-actions[bot]", 9)] == ["ours, edited"]
        assert call(api, "POST", base, {"body": "x" * 65537})[0] == 422
        assert call(api, "POST", base, {"body": "x" * 65536})[0] == 201
        assert api.unexpected == []
        assert call(api, "DELETE", f"/repos/owner/planet-tracker/issues/comments/{posted['id']}")[0] == 404
        assert call(api, "GET", "/repos/owner/planet-tracker/actions/runs")[0] == 404
        assert [(r.method, r.path) for r in api.unexpected] == [
            ("DELETE", f"/repos/owner/planet-tracker/issues/comments/{posted['id']}"),
            ("GET", "/repos/owner/planet-tracker/actions/runs")]
    finally:
        api.stop()


def test_the_api_refuses_what_the_jobs_token_may_not_do():
    tokens = {"read": {"scopes": {"contents": "read"}, "job": "reader"},
              "pulls": {"scopes": {"pull-requests": "write"}, "job": "commenter"},
              "issues": {"scopes": {"issues": "write", "actions": "write"}, "job": "announcer"}}
    api = GitHubAPI(tokens=tokens).start()
    try:
        api.add_pull(9, "ab" * 20)
        comments = "/repos/owner/planet-tracker/issues/9/comments"
        status, answer, _ = call(api, "POST", comments, {"body": "x"}, token="read")
        assert (status, answer["message"]) == (403, "Resource not accessible by integration")
        assert call(api, "GET", comments, token="read")[0] == 200  # reading a public repository needs none
        assert call(api, "POST", comments, {"body": "x"}, token="pulls")[0] == 201
        issue = {"title": "Performance: x", "body": "y"}
        assert call(api, "POST", "/repos/owner/planet-tracker/issues", issue, token="pulls")[0] == 403
        status, opened, _ = call(api, "POST", "/repos/owner/planet-tracker/issues", issue, token="issues")
        assert status == 201
        assert call(api, "POST", f"/repos/owner/planet-tracker/issues/{opened['number']}/comments", {"body": "z"},
                    token="pulls")[0] == 403  # an issue, not a pull request: issues: write
        dispatch = "/repos/owner/planet-tracker/actions/workflows/benchmarks.yml/dispatches"
        assert call(api, "POST", dispatch, {"ref": "main"}, token="pulls")[0] == 403
        assert call(api, "POST", dispatch, {"ref": "main"}, token="issues")[0] == 204
        assert api.refused == [
            "reader: POST /repos/owner/planet-tracker/issues/9/comments needs issues: write or pull-requests: write",
            "commenter: POST /repos/owner/planet-tracker/issues needs issues: write",
            f"commenter: POST /repos/owner/planet-tracker/issues/{opened['number']}/comments needs issues: write",
            "commenter: POST /repos/owner/planet-tracker/actions/workflows/benchmarks.yml/dispatches needs actions: "
            "write"]
    finally:
        api.stop()


# -- what the driver refuses, and what it cleans up --------------------------------------------------------------


def test_an_input_no_stand_in_implements_fails_before_act_runs(gh, work):
    logs = sorted(gh.logs.iterdir())
    bad = push_commit(work, {".github/workflows/bad.yml": textwrap.dedent(f"""
        name: Bad
        on: push
        jobs:
          j:
            runs-on: ubuntu-24.04
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
                  lfs: true
        """)}, "a workflow with an input the stand-in lacks", "refs/heads/bad")
    with pytest.raises(RehearsalError, match=r"bad\.yml: job j, step 1: `with: lfs` is not implemented by the "
                                             r"stand-in for actions/checkout"):
        gh.run("push", "checkout.yml", {}, sha=bad, ref="refs/heads/bad", run_id=80)
    other = push_commit(work, {".github/workflows/bad.yml": textwrap.dedent("""
        name: Bad
        on: push
        jobs:
          j:
            runs-on: ubuntu-24.04
            steps:
              - uses: actions/setup-node@v4
        """)}, "an action with no stand-in", "refs/heads/bad")
    with pytest.raises(RehearsalError, match=r"`uses: actions/setup-node` has no stand-in"):
        gh.run("push", "checkout.yml", {}, sha=other, ref="refs/heads/bad", run_id=81)
    assert sorted(gh.logs.iterdir()) == logs  # act never ran


def test_the_stand_in_itself_refuses_an_input_it_does_not_declare(tmp_path):
    folder = assemble("actions/checkout", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    env.update({"INPUT_PERSIST-CREDENTIALS": "false", "INPUT_LFS": "true", "INPUT_FETCH-DEPTH": "1"})
    done = subprocess.run([sys.executable, str(folder / "standins.py"), "actions/checkout", "main"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["::error::actions/checkout (rehearsal stand-in): `with: lfs` is not "
                                        "implemented by the rehearsal's stand-in (it implements: ref, fetch-depth, "
                                        "token, persist-credentials)"]


def sleepers(*numbers: int) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline[:1] in ([b"sleep"], [b"/usr/bin/sleep"], [b"/bin/sleep"]) and \
                cmdline[1:2] in [[str(n).encode()] for n in numbers]:
            found.append(pid)
    return found


def test_acts_wall_clock_limit_stops_it_and_its_orphans(gh):
    started = time.monotonic()
    run = gh.run("workflow_dispatch", "slow.yml", {}, sha=gh.main_sha, ref="refs/heads/main", run_id=90, job="hang",
                 vars={"HANG": "1"}, timeout=4)
    assert time.monotonic() - started < 30
    assert run.timed_out and run.returncode != 0
    # there were orphans, and they are gone: one the step's own, one only the marker tells
    assert {"sleep 4244", "sleep 4245"} <= {entry.split(" ", 1)[1].strip() for entry in run.killed}, run.killed
    assert sleepers(4244, 4245) == [] and gh.leftovers() == []


# -- the snapshot of the project ---------------------------------------------------------------------------------


def test_the_origin_holds_the_projects_working_tree(tmp_path):
    project = tmp_path / "project"
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "w.yml").write_text("name: W\non: push\njobs: {}\n")
    (project / "tracked.txt").write_text("committed\n")
    (project / ".gitignore").write_text("ignored/\n")
    git(tmp_path, "init", "-q", "-b", "main", str(project))
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "first")
    head = git(project, "rev-parse", "HEAD")
    (project / "tracked.txt").write_text("changed, not committed\n")
    (project / "new.txt").write_text("new\n")
    (project / "ignored").mkdir()
    (project / "ignored" / "x").write_text("x\n")
    objects_before = subprocess.run(["git", "count-objects"], cwd=project, capture_output=True, text=True).stdout
    with Rehearsal(project, tmp_path / "state") as rehearsal:
        assert git(rehearsal.origin, "rev-parse", "main") == rehearsal.main_sha != head
        assert git(rehearsal.origin, "rev-parse", "main~1") == head
        assert git(rehearsal.origin, "show", "main:tracked.txt") == "changed, not committed"
        assert git(rehearsal.origin, "show", "main:new.txt") == "new"
        assert "ignored" not in git(rehearsal.origin, "ls-tree", "--name-only", "main")
    assert subprocess.run(["git", "count-objects"], cwd=project, capture_output=True,
                          text=True).stdout == objects_before  # the project's .git was only read


def test_a_pages_artifact_is_extracted_safely_without_tarfiles_filter(tmp_path, monkeypatch):
    """Debian 12's python3 (3.11.2) has no tarfile.data_filter: the deploy stand-in makes the same checks by hand
    there, and refuses what the filter refuses (a path outside the site, a device)."""
    import io
    import tarfile

    from rehearsal import standins

    def archive(*members: tuple[str, bytes, bytes]) -> tarfile.TarFile:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as out:
            for name, kind, content in members:
                info = tarfile.TarInfo(name)
                info.type, info.size = kind, len(content)
                out.addfile(info, io.BytesIO(content))
        buffer.seek(0)
        return tarfile.open(fileobj=buffer)

    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    good = archive(("index.html", tarfile.REGTYPE, b"<html>"), ("asv", tarfile.DIRTYPE, b""))
    standins.extract(good, good.getmembers(), tmp_path / "site")
    assert (tmp_path / "site" / "index.html").read_bytes() == b"<html>"
    for bad in (("../outside", tarfile.REGTYPE, b"x"), ("/etc/x", tarfile.REGTYPE, b"x"),
                ("dev", tarfile.CHRTYPE, b"")):
        refused = archive(bad)
        with pytest.raises(standins.StandinError, match="Pages refuses the artifact"):
            standins.extract(refused, refused.getmembers(), tmp_path / "other")
