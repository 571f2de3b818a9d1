"""The GitHub workflows, as written, run by act on this machine: every event the pipeline must survive.

Each test is one event (or one re-run) of `.github/workflows/*.yml`, in order, against one rehearsed GitHub: a
local bare repository as the origin, stand-ins for the pinned actions (`rehearsal/`: a fresh detached checkout, a
bare interpreter, artifacts per run attempt, Pages deployments recorded in order) and a local GitHub API. Quick
benchmarks (one benchmark, one sample) keep it to minutes; what it checks is the workflows' logic: expressions,
`needs`, matrices, outputs, `if:` conditions, time limits, what reaches the history and the site.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import pytest

from rehearsal.act import Rehearsal, pull_request_payload, workflow_run_payload

ROOT = Path(__file__).resolve().parent.parent
# Quick mode for the workflows' make targets: one benchmark, one sample each (make reads these from the env).
QUICK = {"QUICK": "1", "BENCH": r"^core\.Query", "ASV_ARGS": "-a rounds=1 -a repeat=1"}
IDENTITY = ["-c", "user.name=Rehearsal", "-c", "user.email=rehearsal@example.invalid", "-c", "commit.gpgsign=false"]
BRANCH = "asv-results"
INSTALL = "-m pip install --quiet --no-compile -c constraints.txt -e"  # make venv's install, as the log shows it
# act runs the stand-ins of the actions as JavaScript actions (rehearsal/launch.js); setup-python's stand-in takes
# its interpreters from pyenv (or a runner's tool cache), and a job's bare python3 is pyenv's 3.12.
pytestmark = pytest.mark.needs("node", "pyenv")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def gh(tmp_path_factory):
    with Rehearsal(ROOT, tmp_path_factory.mktemp("github")) as rehearsal:
        yield rehearsal


@pytest.fixture(scope="module")
def work(gh, tmp_path_factory):
    """A developer's clone of the rehearsed origin, pushing to it."""
    path = tmp_path_factory.mktemp("developer") / "work"
    git(path.parent, "clone", "-q", str(gh.origin), str(path))
    return path


def commit(work: Path, count: int, tag: str, branch: str = "main") -> list[str]:
    """``count`` new commits on ``branch``, pushed; newest first."""
    git(work, "checkout", "-q", branch)
    for i in range(count):
        (work / "CHANGES").write_text(f"{tag} {i}\n")
        git(work, "add", "CHANGES")
        git(work, "commit", "-q", "-m", f"{tag} {i}")
    git(work, "push", "-q", "origin", branch)
    return git(work, "rev-list", f"--max-count={count}", "HEAD").splitlines()


def mutated(work: Path, changes: dict[str, tuple[str, str]], subject: str) -> str:
    """A commit on top of origin/main with each file's text ``old`` replaced by ``new`` (on a ref of its own, so
    main moves not): a change made alone to a clean checkout."""
    git(work, "fetch", "-q", "origin")
    git(work, "checkout", "-q", "--detach", "origin/main")
    for name, (old, new) in changes.items():
        text = (work / name).read_text()
        assert old in text, f"{name}: {old!r} is gone; update the test"
        (work / name).write_text(text.replace(old, new))
    git(work, "commit", "-q", "-am", subject)
    sha = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", "origin", f"{sha}:refs/heads/mutated-{sha[:8]}")
    git(work, "checkout", "-q", "main")
    return sha


def history(gh) -> set[tuple[str, str]]:
    """(commit, Python) of every result on the origin's asv-results branch."""
    names = git(gh.origin, "ls-tree", "-r", "--name-only", BRANCH, "--", "results").splitlines()
    found = set()
    for name in names:
        if Path(name).name in ("machine.json", "benchmarks.json") or name.count("/") < 2:
            continue
        data = json.loads(git(gh.origin, "show", f"{BRANCH}:{name}"))
        found.add((data["commit_hash"], data["params"]["python"]))
    return found


def blobs(gh, sha: str, python: str) -> dict[str, str]:
    """{path: blob} of the history's result files of one commit on one Python."""
    found = {}
    for line in git(gh.origin, "ls-tree", "-r", BRANCH, "--", "results").splitlines():
        meta, _, name = line.partition("\t")
        if Path(name).name.startswith(sha[:8]) and f"py{python}" in name:
            found[name] = meta.split()[2]
    return found


def deployments(gh) -> list[dict]:
    path = gh.state / "pages" / "deployments.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def deployed_commits(gh) -> set[str]:
    """The commits the site deployed last shows (asv's own index of them)."""
    index = json.loads((gh.state / "pages" / "current" / "asv" / "index.json").read_text())
    return set(index["revision_to_hash"].values())


def push(gh, work: Path, count: int, tag: str, run_id: int, **options):
    before = git(work, "rev-parse", "origin/main")
    commits = commit(work, count, tag)
    run = gh.run("push", "benchmarks.yml", {"before": before, "after": commits[0]}, sha=commits[0],
                 ref="refs/heads/main", run_id=run_id, env=QUICK, **options)
    return commits, run


def assert_jobs(run, **expected: str) -> None:
    """Each job's result, by the job's key in the workflow (a matrix job: every leg of it that ran)."""
    for job, result in expected.items():
        found = {name: res for name, res in run.jobs.items() if name == job or name.startswith(job + " ")
                 or name.startswith(job + "-")}
        assert found and set(found.values()) == {result}, f"{job}: {found}\n{run.log[-4000:]}"


def test_two_pushes_racing_the_first_of_two_commits_on_two_pythons(gh, work):
    """Two pushes close together: the first brings two commits, measured on two Pythons, the second one commit;
    both runs measure and publish at once. Everything reaches the history, and whatever order the deploys land in,
    the site deployed last holds it all."""
    base = git(work, "rev-parse", "origin/main")
    first = commit(work, 2, "push one")
    second = commit(work, 1, "push two")
    runs = {}

    def run(name, before, after, run_id, pythons):
        runs[name] = gh.run("push", "benchmarks.yml", {"before": before, "after": after}, sha=after,
                            ref="refs/heads/main", run_id=run_id, matrix={"python": pythons}, env=QUICK)

    threads = [threading.Thread(target=run, args=("one", base, first[0], 100, ["3.11", "3.12"])),
               threading.Thread(target=run, args=("two", first[0], second[0], 101, ["3.11"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in ("one", "two"):
        assert_jobs(runs[name], measure="success", publish="success", deploy="success")
    assert {(c, py) for c in first for py in ("3.11", "3.12")} | {(second[0], "3.11")} <= history(gh)
    assert {*first, *second} <= deployed_commits(gh)
    # The legs installed the instrument only: neither the reports nor the test tools.
    assert f"{INSTALL} .[bench]" in runs["one"].log


def test_a_manual_backfill_with_a_new_python(gh, work):
    """A push measured on 3.11, one more commit, then a run by hand with the typed input: the last 2 commits on
    3.11, one of which it has (not measured again), and on 3.13, which has no results at all yet."""
    measured, run = push(gh, work, 1, "before the backfill", 599, matrix={"python": ["3.11"]})
    assert_jobs(run, measure="success", publish="success")
    # The tools' venvs the first runs cached on main: restored, and make venv installs nothing.
    assert "Cache restored from key: venv-Linux-py3.11" in run.log and INSTALL not in run.log
    head = commit(work, 1, "after the push")[0]
    kept = blobs(gh, measured[0], "3.11")
    assert kept and not {py for _, py in history(gh)} & {"3.13"}
    run = gh.run("workflow_dispatch", "benchmarks.yml", {"inputs": {"commits": 2}}, sha=head, ref="refs/heads/main",
                 run_id=600, inputs={"commits": "2"}, matrix={"python": ["3.11", "3.13"]}, env=QUICK)
    assert_jobs(run, measure="success", publish="success", deploy="success")
    assert {(c, py) for c in (head, measured[0]) for py in ("3.11", "3.13")} <= history(gh)
    assert blobs(gh, measured[0], "3.11") == kept  # the same file: not measured again


def test_a_leg_stopped_by_its_time_limit_then_re_run_with_a_failed_leg(gh, work):
    """3.14 is not on this machine, so its leg fails at set-up (on GitHub it runs); 3.12, asked for 36 commits
    with a one-minute limit, is stopped midway (it measures about 17 a minute here): the commits it finished reach
    the history, and the summary names both legs. "Re-run failed jobs": both legs and everything after them run
    again (attempt 2 uploads its own artifacts beside attempt 1's), and the history holds every commit."""
    commits = commit(work, 36, "backfill")
    first = gh.run("workflow_dispatch", "benchmarks.yml", {"inputs": {"commits": 36}}, sha=commits[0],
                   ref="refs/heads/main", run_id=200, inputs={"commits": "36"}, vars={"BENCH_LEG_MINUTES": "1"},
                   matrix={"python": ["3.12", "3.14"]}, env=QUICK)
    assert_jobs(first, measure="failure", publish="success", deploy="success")
    measured = {c for c, py in history(gh) if py == "3.12" and c in commits}
    assert 1 <= len(measured) < 36, len(measured)
    assert commits[0] in measured  # newest first
    assert re.search(rf"\| 3\.12 \| \*\*did not finish\*\* \| {len(measured)} of 36 commit\(s\)", first.log), \
        first.log[-3000:]
    assert "| 3.14 | **missing** |" in first.log
    second = gh.rerun_failed(first, vars={})
    assert_jobs(second, **{"measure (3.12)": "success", "measure (3.14)": "failure"}, publish="success",
                deploy="success")
    assert "results-py3.12-2" in gh.artifacts(200, attempt=2) and "site-2" in gh.artifacts(200, attempt=2)
    assert {(c, "3.12") for c in commits} <= history(gh)
    assert set(commits) <= deployed_commits(gh)
    assert gh.leftovers() == []


def test_rerun_failed_jobs_after_a_failed_publish_then_a_failed_deploy(gh, work):
    """Attempt 1: the publish cannot push (GitHub's side fails every time). "Re-run failed jobs": attempt 2 runs
    the publish and what follows it, which finds the legs' artifacts of attempt 1 (by run id) and publishes; its
    deploy fails. "Re-run failed jobs" again: attempt 3 runs the deploy alone, which finds the site attempt 2
    built."""
    hook = gh.origin / "hooks" / "pre-receive"
    # GitHub's side fails every push of the history branch (and lets the developer's pushes through).
    hook.write_text(f"#!/bin/sh\nif grep -q refs/heads/{BRANCH}; then echo 'remote: Internal Server Error' >&2; "
                    "exit 1; fi\n")
    hook.chmod(0o755)
    try:
        commits, first = push(gh, work, 1, "publish fails", 300, matrix={"python": ["3.11"]})
    finally:
        hook.unlink()
    assert_jobs(first, measure="success", publish="failure", deploy="skipped")
    assert (commits[0], "3.11") not in history(gh)
    (gh.state / "fail").mkdir(exist_ok=True)
    (gh.state / "fail" / "deploy-pages").write_text("once\n")
    second = gh.rerun_failed(first)
    assert_jobs(second, publish="success", deploy="failure")
    assert (commits[0], "3.11") in history(gh)
    # What GitHub shows of attempt 2: the legs uploaded nothing (they were not run again), the publish its site
    # and the deploy its Pages artifact.
    assert sorted(gh.artifacts(300, attempt=2)) == ["github-pages-2", "regressions-2", "site-2"]
    third = gh.rerun_failed(second)
    assert_jobs(third, deploy="success")
    assert sorted(gh.artifacts(300, attempt=3)) == ["github-pages-3"]  # the deploy's own, from site-2
    assert deployments(gh)[-1]["attempt"] == 3 and deployments(gh)[-1]["artifact"] == "github-pages-3"
    assert commits[0] in deployed_commits(gh)


def test_the_publish_without_its_token_fails_naming_it(gh, work):
    """The token withheld from the step that pushes (a change made alone): the history's fetch is refused, as
    GitHub refuses it, and the job says why. Re-run as the publish job of an earlier run, whose legs' artifacts it
    reads."""
    _commits, run = push(gh, work, 1, "for the token", 310, matrix={"python": ["3.11"]})
    assert_jobs(run, publish="success")
    sha = mutated(work, {".github/workflows/benchmarks.yml": (
        "        env:\n          GITHUB_TOKEN: ${{ github.token }}  # taken by python -m pipeline for git's fetch and "
        "push alone\n", "")}, "the merge step without its token")
    withheld = gh.run("push", "benchmarks.yml", run.payload, sha=sha, ref="refs/heads/main", run_id=310, attempt=2,
                      matrix={"python": ["3.11"]}, env=QUICK, rerun_of=run, again=("publish",))
    assert_jobs(withheld, publish="failure")
    assert "cannot fetch asv-results from origin" in withheld.log and "give this step GITHUB_TOKEN" in withheld.log
    assert ("git-upload-pack", "no token") in gh.git.refused


# -- regressions over time ------------------------------------------------------------------------------------------

# The counted benchmark of the core's parse_query alone (a count of a few seconds): what the regressions are found in.
COUNTED = {"BENCH": r"^instructions\.QueryInstructions", "PLANET_TRACKER_INSTRUCTIONS": "core:parse_query"}
PARSE = "def parse_query(name: str, params: Iterable[tuple[str, str]]) -> Query:\n"
HOSTILE = "Cache @octocat's <script>alert(1)</script> [x](http://evil.invalid) #1 in parse_query"


def parse_query_cost(work: Path, calls: int) -> None:
    """Every call of parse_query makes ``calls`` calls of len() more (about 0.24 % of a call each)."""
    core = work / "planet_tracker" / "core.py"
    text = re.sub(r"    _spin = len\(name\)\n", "", core.read_text())
    core.write_text(text.replace(PARSE, PARSE + "    _spin = len(name)\n" * calls))


def commit_as(work: Path, subject: str) -> str:
    git(work, "add", "-A")
    git(work, "commit", "-q", "--allow-empty", "-m", subject)
    return git(work, "rev-parse", "HEAD")


def test_a_regression_is_placed_announced_once_and_closed_when_fixed(gh, work):
    """A push of 8 commits whose leg measures the newest 2: the step lies between the commit before and the 7th;
    the publish dispatches the bisection, whose run places it on the 4th (its subject anyone's text) and opens one
    issue. A re-run of the announcement and a racing push update it; a fixing push comments and closes it."""
    git(work, "checkout", "-q", "main")
    git(work, "pull", "-q", "origin", "main")
    base = commit_as(work, "counts: the baseline")
    git(work, "push", "-q", "origin", "main")
    first = gh.run("push", "benchmarks.yml", {"before": git(work, "rev-parse", "HEAD~1"), "after": base}, sha=base,
                   ref="refs/heads/main", run_id=900, matrix={"python": ["3.11"]}, env={**QUICK, **COUNTED})
    assert_jobs(first, measure="success", publish="success", announce="success", bisect="skipped")
    eight = []
    for i in range(8):
        if i == 3:
            parse_query_cost(work, 4)
        eight.append(commit_as(work, HOSTILE if i == 3 else f"counts: nothing {i}"))
    git(work, "push", "-q", "origin", "main")
    pushed = gh.run("push", "benchmarks.yml", {"before": base, "after": eight[-1]}, sha=eight[-1],
                    ref="refs/heads/main", run_id=901, matrix={"python": ["3.11"]}, env={**QUICK, **COUNTED},
                    vars={"BENCH_MAX_COMMITS": "2"})
    assert_jobs(pushed, measure="success", publish="success", announce="success", bisect="success")
    assert {(c, "3.11") for c in eight[-2:]} <= history(gh) and (eight[0], "3.11") not in history(gh)
    assert gh.api.issues_labelled("performance") == []  # not yet placed: not announced
    (dispatch,) = gh.api.dispatches
    assert dispatch == {"workflow": "benchmarks.yml", "ref": "main", "inputs": {"bisect": "true"}}
    summary = (gh.state / "pages" / "current" / "summary.md").read_text()
    assert f"between `{base[:8]}` and `{eight[-2][:8]}` (being placed)" in summary

    placed = gh.run("workflow_dispatch", "benchmarks.yml", {"inputs": {"bisect": "true"}}, sha=eight[-1],
                    ref="refs/heads/main", run_id=902, inputs={"bisect": "true"}, matrix={"python": ["3.11"]},
                    env={**QUICK, **COUNTED})
    assert_jobs(placed, measure="success", publish="success", announce="success", bisect="skipped")
    measured = {c for c, py in history(gh) if py == "3.11" and c in eight}
    assert eight[3] in measured and len(measured - set(eight[-2:])) <= 4  # about log2(6) more
    (issue,) = gh.api.issues_labelled("performance")
    assert issue["title"].startswith(f"Performance: {eight[3][:8]} Cache @octocat") and issue["state"] == "open"
    body = issue["body"]
    assert "<script>" not in body and "@octocat" not in body and "](http://evil" not in body
    assert "&lt;script&gt;alert\\(1\\)&lt;\\/script&gt;" in body and "@&#8203;octocat" in body
    assert "instructions\\.QueryInstructions\\.track\\_instructions\\_parse\\_query" in body
    # The bisection's run profiled it: where the cost went, and its flame graph on the published site.
    assert "**Where the cost went** on Python 3\\.11" in body and "planet\\_tracker\\.core\\:parse\\_query" in body
    assert f"planet-tracker/regressions/{eight[3]}/py3.11.svg)" in body
    assert (gh.state / "pages" / "current" / "regressions" / eight[3] / "py3.11.svg").read_text().startswith("<svg")
    # The summary (the job's, the landing page's) opens with it.
    summary = (gh.state / "pages" / "current" / "summary.md").read_text()
    _, _, rest = summary.partition("\n\n")
    assert rest.startswith(f"**Open regressions** over the stored history:\n\n- **Regression** at `{eight[3][:8]}`")

    # A re-run of the announcement, and a push racing it: the same issue, updated; never a second.
    racing = {}
    nothing = commit_as(work, "counts: nothing after")
    git(work, "push", "-q", "origin", "main")
    threads = [threading.Thread(target=lambda: racing.update(rerun=gh.rerun_failed(placed, again=("announce",)))),
               threading.Thread(target=lambda: racing.update(push=gh.run(
                   "push", "benchmarks.yml", {"before": eight[-1], "after": nothing}, sha=nothing,
                   ref="refs/heads/main", run_id=903, matrix={"python": ["3.11"]}, env={**QUICK, **COUNTED})))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert_jobs(racing["rerun"], announce="success")
    assert_jobs(racing["push"], measure="success", publish="success", announce="success")
    (issue,) = gh.api.issues_labelled("performance")
    assert issue["state"] == "open" and issue["updated_at"] >= issue["created_at"]

    parse_query_cost(work, 0)
    fixed = commit_as(work, "counts: parse_query as it was")
    git(work, "push", "-q", "origin", "main")
    closing = gh.run("push", "benchmarks.yml", {"before": nothing, "after": fixed}, sha=fixed, ref="refs/heads/main",
                     run_id=904, matrix={"python": ["3.11"]}, env={**QUICK, **COUNTED})
    assert_jobs(closing, measure="success", publish="success", announce="success")
    (issue,) = gh.api.issues_labelled("performance")
    assert issue["state"] == "closed"
    (note,) = gh.api.comments_on(issue["number"])
    assert note["body"].startswith(f"Recovered at `{fixed[:8]}`")
    assert gh.api.unexpected == []


# -- pull requests ---------------------------------------------------------------------------------------------------


def open_pull_request(gh, work: Path, number: int, tag: str) -> dict:
    """A fork's pull request: its head on refs/pull/N/head, GitHub's merge commit on refs/pull/N/merge."""
    base = git(work, "rev-parse", "origin/main")
    branch = f"feature-{number}"
    known = subprocess.run(["git", "rev-parse", "-q", "--verify", branch], cwd=work, capture_output=True)
    git(work, "checkout", "-q", "-B", branch, branch if known.returncode == 0 else base)
    (work / "FEATURE").write_text(f"{tag}\n")
    git(work, "add", "FEATURE")
    git(work, "commit", "-q", "-m", tag)
    head = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "--detach", base)
    git(work, "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", head)
    merge = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", "-f", "origin", f"{head}:refs/pull/{number}/head", f"{merge}:refs/pull/{number}/merge")
    git(work, "checkout", "-q", "main")
    gh.api.add_pull(number, head)
    return {"number": number, "head": head, "merge": merge, "base": base,
            "payload": pull_request_payload(number, head, base, f"feature-{number}", gh.repository)}


def comment_after(gh, pr: dict, compare, run_id: int, sha: str = ""):
    main = sha or git(gh.origin, "rev-parse", "main")
    payload = workflow_run_payload(compare.run_id, "pull_request", "success" if compare.returncode == 0 else
                                   "failure", pr["head"], f"feature-{pr['number']}", gh.repository)
    return gh.run("workflow_run", "pr-comment.yml", payload, sha=main, ref="refs/heads/main", run_id=run_id)


def test_a_pull_request_from_a_fork_is_commented_once(gh, work):
    pr = open_pull_request(gh, work, 7, "a pull request")
    compare = gh.run("pull_request", "pr-benchmarks.yml", pr["payload"], sha=pr["merge"], ref="refs/pull/7/merge",
                     run_id=700, env=QUICK)
    assert "pr-comparison-1" in gh.artifacts(700)
    posted = comment_after(gh, pr, compare, 701)
    assert_jobs(posted, comment="success")
    (ours,) = gh.api.comments_by("github-actions[bot]", 7)
    # Rendered by the comment workflow from the validated data, every name escaped.
    assert pr["head"][:8] in ours["body"] and r"core\.Query\.time\_parse\_query" in ours["body"]
    # A second push to the pull request: compared again, and the same comment updated.
    pr = open_pull_request(gh, work, 7, "a second push")
    compare = gh.run("pull_request", "pr-benchmarks.yml", pr["payload"], sha=pr["merge"], ref="refs/pull/7/merge",
                     run_id=702, env=QUICK)
    assert_jobs(comment_after(gh, pr, compare, 703), comment="success")
    (ours,) = gh.api.comments_by("github-actions[bot]", 7)
    assert pr["head"][:8] in ours["body"]
    assert gh.api.unexpected == []

    # Each change, made alone to the default branch, fails the comment job, and the log names the cause.
    without = mutated(work, {".github/workflows/pr-comment.yml": ("      pull-requests: write  # to post the comment\n",
                                                                  "")}, "the comment job without pull-requests")
    refused = comment_after(gh, pr, compare, 704, sha=without)
    assert_jobs(refused, comment="failure")
    assert "Resource not accessible by integration" in refused.log
    assert re.fullmatch(r"comment: PATCH \S+/issues/comments/\d+ needs issues: write or pull-requests: write",
                        gh.api.refused[-1])
    # Code that runs on 3.11 and not on 3.12 (distutils is gone), where the job runs the runner's bare python3.
    older = mutated(work, {"pipeline/comment.py": ("from __future__ import annotations\n",
                                                    "from __future__ import annotations\n\nimport distutils\n")},
                    "the comment's code needs 3.11")
    broken = comment_after(gh, pr, compare, 705, sha=older)
    assert_jobs(broken, comment="failure")
    assert "ModuleNotFoundError: No module named 'distutils'" in broken.log


# Its test job runs .ci/run, which installs what is missing (as root, or with sudo) before make test.
@pytest.mark.needs("ab", "wrk", "valgrind", "cc", "chromium")
def test_tests_workflow_on_a_fork_pull_request_and_a_branch_push(gh, work):
    """tests.yml in a pull request's detached checkout and on a branch other than main. The inner test run is cut
    to the pipeline's own tests (the whole suite runs in CI once, not once per rehearsal)."""
    pr = open_pull_request(gh, work, 8, "tests on a pull request")
    inner = {"BENCH": r"^core\.Query", "PYTEST_ADDOPTS": "tests/test_pipeline.py -k 'checked or token or newest'"}
    off = {"REHEARSE_WORKFLOWS": "false"}  # the rehearsal job would rehearse itself
    run = gh.run("pull_request", "tests.yml", pr["payload"], sha=pr["merge"], ref="refs/pull/8/merge", run_id=800,
                 matrix={"python": ["3.12"]}, env=inner, vars=off)
    assert_jobs(run, tests="success", lint="success", rehearse="skipped")
    assert "--ignore=tests/rehearsal --ignore=tests/test_rehearsal.py" in run.log
    git(work, "checkout", "-q", "-B", "topic", "origin/main")
    (work / "TOPIC").write_text("a branch\n")
    git(work, "add", "TOPIC")
    git(work, "commit", "-q", "-m", "a branch")
    git(work, "push", "-q", "origin", "topic")
    topic = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "main")
    run = gh.run("push", "tests.yml", {"before": "0" * 40, "after": topic}, sha=topic, ref="refs/heads/topic",
                 run_id=801, matrix={"python": ["3.12"]}, env=inner, vars=off)
    assert_jobs(run, tests="success", lint="success", rehearse="skipped")
    # A pull request from a branch of this repository: its push was tested, so nothing runs for it.
    same = open_pull_request(gh, work, 9, "a pull request from this repository")
    same["payload"] = pull_request_payload(9, same["head"], same["base"], "feature-9", gh.repository, fork=False)
    run = gh.run("pull_request", "tests.yml", same["payload"], sha=same["merge"], ref="refs/pull/9/merge",
                 run_id=802, matrix={"python": ["3.12"]}, env=inner)
    assert_jobs(run, tests="skipped", lint="skipped", rehearse="skipped")
