"""Stand-ins for the GitHub actions the workflows use, run by act on this machine: each does to the job what the
real action does on GitHub (the checkout, the interpreter on PATH, caches, artifacts, Pages), nothing more, and
fails with one line on any input or value it does not implement.

    python standins.py <owner/name> main|post

Standard library only: it runs under whatever interpreter the driver names (REHEARSAL_PYTHON). Its folder holds
standin.json, written by the driver from the stand-in's action.yml: the inputs declared, with their defaults; and
rules.py, GitHub's rules (a token's scopes, which attempts' artifacts a download sees, which caches a run reads).
Everything that outlives a job (the origin, caches, artifacts, Pages) lives under $REHEARSAL_STATE.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.parse
import uuid
from pathlib import Path

try:
    from . import rules
except ImportError:  # run as a script, from the action's folder, rules.py beside it
    import rules

HERE = Path(__file__).resolve().parent


class StandinError(Exception):
    """What the stand-in refuses or could not do: printed as one ::error:: line, exit 1."""


def fail(message: str) -> None:
    raise StandinError(message)


# -- the runner's side: inputs, outputs, env, state ------------------------------------------------------------------


def env_name(name: str) -> str:
    return "INPUT_" + name.replace(" ", "_").upper()


def read_inputs(declared: dict[str, dict]) -> dict[str, str]:
    """Every declared input (trimmed, as @actions/core's getInput does); any INPUT_* the runner set for a key the
    stand-in does not declare fails: act passes every `with:` key, declared or not."""
    known = {env_name(name) for name in declared}
    undeclared = sorted(key for key in os.environ if key.startswith("INPUT_") and key not in known)
    if undeclared:
        names = ", ".join(key[len("INPUT_"):].lower() for key in undeclared)
        fail(f"`with: {names}` is not implemented by the rehearsal's stand-in (it implements: "
             f"{', '.join(declared) or 'no inputs'})")
    return {name: os.environ.get(env_name(name), "").strip() for name in declared}


def boolean(inputs: dict[str, str], name: str) -> bool:
    value = inputs[name]
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    fail(f'input {name}: {value!r} does not meet YAML 1.2 "Core Schema" (true | True | TRUE | false | False | FALSE)')
    return False


def needed(variable: str, who: str = "a runner") -> str:
    """An environment variable the runner (or the rehearsal's driver) sets: without it, this is not a job."""
    value = os.environ.get(variable, "")
    if not value:
        fail(f"{variable} is not set: not run by {who}")
    return value


def _file_command(variable: str, name: str, value: str) -> None:
    with open(needed(variable), "a", encoding="utf-8") as out:
        if "\n" in value:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            out.write(f"{name}={value}\n")


def set_output(name: str, value: str) -> None:
    _file_command("GITHUB_OUTPUT", name, value)


def export_env(name: str, value: str) -> None:
    _file_command("GITHUB_ENV", name, value)
    os.environ[name] = value


def save_state(name: str, value: str) -> None:
    _file_command("GITHUB_STATE", name, value)


def get_state(name: str) -> str:
    return os.environ.get(f"STATE_{name}", "")


def add_path(path: Path) -> None:
    with open(needed("GITHUB_PATH"), "a", encoding="utf-8") as out:
        out.write(f"{path}\n")


def info(message: str) -> None:
    print(message, flush=True)


def warning(message: str) -> None:
    print(f"::warning::{message}", flush=True)


def state_dir() -> Path:
    return Path(needed("REHEARSAL_STATE", "the rehearsal's driver"))


def workspace() -> Path:
    return Path(needed("GITHUB_WORKSPACE"))


def resolve(path: str) -> Path:
    """A path input as the actions read it: ~ expanded, relative to the workspace."""
    if path.startswith("~"):
        path = str(Path.home()) + path[1:]
    return (workspace() / path).resolve() if not os.path.isabs(path) else Path(os.path.normpath(path))


def now() -> float:
    """The clock artifacts expire by; REHEARSAL_NOW (epoch seconds) fakes it."""
    faked = os.environ.get("REHEARSAL_NOW")
    return float(faked) if faked else time.time()


def run_id() -> str:
    return os.environ.get("GITHUB_RUN_ID", "1")


def run_attempt() -> str:
    return os.environ.get("GITHUB_RUN_ATTEMPT", "1")


@contextlib.contextmanager
def locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def git(*args: str, cwd: Path | None = None, check: bool = True,
        env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})} if env else None)
    if check and done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
        fail(f"git {' '.join(args)}: {lines[-1]}")
    return done


# -- actions/checkout ------------------------------------------------------------------------------------------------

SHA = re.compile(r"(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})")
PR_REF = re.compile(r"refs/pull/[0-9]+/(?:head|merge)")


def _event() -> dict:
    path = os.environ.get("GITHUB_EVENT_PATH")
    try:
        return json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError):
        return {}


def _lookup(data: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _assert_safe_pr_checkout(ref: str, commit: str) -> None:
    """actions/checkout v7 refuses a fork pull request's code in a workflow_run or pull_request_target run."""
    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    if event_name not in ("pull_request_target", "workflow_run"):
        return
    event = _event()
    base_id = _lookup(event, "repository.id")
    if not isinstance(base_id, int) or isinstance(base_id, bool):
        return
    shas = []
    if event_name == "pull_request_target":
        head_id = _lookup(event, "pull_request.head.repo.id")
        shas += [_lookup(event, "pull_request.head.sha"), _lookup(event, "pull_request.merge_commit_sha")]
    else:
        run_event = _lookup(event, "workflow_run.event")
        if not isinstance(run_event, str) or not run_event.startswith("pull_request"):
            return
        head_id = _lookup(event, "workflow_run.head_repository.id")
        shas.append(_lookup(event, "workflow_run.head_commit.id"))
        if run_event != "pull_request_target":
            shas.append(_lookup(event, "workflow_run.head_sha"))
    if not isinstance(head_id, int) or head_id == base_id:
        return
    shas = [s.lower() for s in shas if isinstance(s, str) and s]
    if PR_REF.fullmatch(ref or "") or (commit and commit.lower() in shas):
        fail(f"Refusing to check out fork pull request code from a '{event_name}' workflow "
             "(actions/checkout's guard; allow-unsafe-pr-checkout is not implemented here)")


def checkout(phase: str, inputs: dict[str, str]) -> None:
    if inputs["persist-credentials"] != "false":
        fail("persist-credentials other than false is not implemented by the rehearsal's checkout")
    try:
        depth = int(inputs["fetch-depth"] or "1")
    except ValueError:
        fail(f"fetch-depth {inputs['fetch-depth']!r} is not a number")
    if depth < 0:
        depth = 0
    url = needed("REHEARSAL_GIT_URL", "the rehearsal's driver")
    if not inputs["token"]:
        fail("Input required and not supplied: token")
    # As the real action: the token in an extra header keyed on the server's URL while it fetches, then gone
    # (persist-credentials: false).
    auth = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{url}/.extraheader",
            "GIT_CONFIG_VALUE_0": rules.basic_auth(inputs["token"]), "GIT_TERMINAL_PROMPT": "0"}

    ref, commit = inputs["ref"], ""
    if not ref:
        ref, commit = os.environ.get("GITHUB_REF", ""), os.environ.get("GITHUB_SHA", "")
        if commit and ref and not ref.startswith("refs/"):
            ref = f"refs/heads/{ref}"
    elif SHA.fullmatch(ref):
        ref, commit = "", ref
        _assert_safe_pr_checkout(ref, commit)
    else:
        _assert_safe_pr_checkout(ref, commit)
    if not ref and not commit:
        fail("neither a ref nor a commit to check out (GITHUB_REF and GITHUB_SHA are empty)")

    root = workspace()
    root.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    git("init", "-q", str(root))
    git("remote", "add", "origin", url, cwd=root)
    git("config", "--local", "gc.auto", "0", cwd=root)
    shallow = [f"--depth={depth}"] if depth > 0 else []
    fetch = ["-c", "protocol.version=2", "fetch", "--no-tags", "--prune", "--no-recurse-submodules", *shallow,
             "origin"]

    upper = ref.upper()
    if depth == 0:
        specs = ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]
        if upper.startswith("REFS/PULL/"):
            specs.append(f"+{commit or ref}:refs/remotes/pull/{ref[len('refs/pull/'):]}")
        git(*fetch, *specs, cwd=root, env=auth)
        if not _ref_ok(root, ref, commit):
            git(*fetch, *_refspec(ref, commit), cwd=root, env=auth)
    else:
        git(*fetch, *_refspec(ref, commit), cwd=root, env=auth)

    target, start = _checkout_info(root, ref, commit)
    if start:
        git("checkout", "-q", "--force", "-B", target, start, cwd=root)
    else:
        git("checkout", "-q", "--force", target, cwd=root)
    head = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    if commit and head.lower() != commit.lower():
        fail(f"the checked-out commit {head} is not the expected {commit}")
    info(f"checked out {ref or commit} at {head} (fetch-depth {depth}) from {url}")
    set_output("ref", ref)
    set_output("commit", head)


def _ref_ok(root: Path, ref: str, commit: str) -> bool:
    """refHelper.testRef: after fetching all history, is the ref (or the commit) there as the event saw it?"""
    upper = ref.upper()
    if not ref:
        return git("cat-file", "-e", f"{commit}^{{commit}}", cwd=root, check=False).returncode == 0
    if upper.startswith("REFS/HEADS/"):
        local = f"refs/remotes/origin/{ref[len('refs/heads/'):]}"
    elif upper.startswith("REFS/PULL/"):
        local = f"refs/remotes/pull/{ref[len('refs/pull/'):]}"
    elif upper.startswith("REFS/TAGS/"):
        local = ref
    else:
        return True
    found = git("rev-parse", "-q", "--verify", f"{local}^{{commit}}", cwd=root, check=False)
    if found.returncode != 0:
        return False
    return not commit or found.stdout.strip().lower() == commit.lower()


def _refspec(ref: str, commit: str) -> list[str]:
    upper = ref.upper()
    if commit:
        if upper.startswith("REFS/HEADS/"):
            return [f"+{commit}:refs/remotes/origin/{ref[len('refs/heads/'):]}"]
        if upper.startswith("REFS/PULL/"):
            return [f"+{commit}:refs/remotes/pull/{ref[len('refs/pull/'):]}"]
        if upper.startswith("REFS/TAGS/"):
            return [f"+{ref}:{ref}"]
        return [commit]
    if not upper.startswith("REFS/"):
        return [f"+refs/heads/{ref}*:refs/remotes/origin/{ref}*", f"+refs/tags/{ref}*:refs/tags/{ref}*"]
    if upper.startswith("REFS/HEADS/"):
        return [f"+{ref}:refs/remotes/origin/{ref[len('refs/heads/'):]}"]
    if upper.startswith("REFS/PULL/"):
        return [f"+{ref}:refs/remotes/pull/{ref[len('refs/pull/'):]}"]
    return [f"+{ref}:{ref}"]


def _checkout_info(root: Path, ref: str, commit: str) -> tuple[str, str]:
    """refHelper.getCheckoutInfo: (what to check out, start point of a local branch or "")."""
    upper = ref.upper()
    if not ref:
        return commit, ""
    if upper.startswith("REFS/HEADS/"):
        branch = ref[len("refs/heads/"):]
        return branch, f"refs/remotes/origin/{branch}"
    if upper.startswith("REFS/PULL/"):
        return f"refs/remotes/pull/{ref[len('refs/pull/'):]}", ""
    if upper.startswith("REFS/TAGS/"):
        return ref, ""
    if upper.startswith("REFS/"):
        return commit or ref, ""
    if git("rev-parse", "-q", "--verify", f"refs/remotes/origin/{ref}", cwd=root, check=False).returncode == 0:
        return ref, f"refs/remotes/origin/{ref}"
    if git("rev-parse", "-q", "--verify", f"refs/tags/{ref}", cwd=root, check=False).returncode == 0:
        return f"refs/tags/{ref}", ""
    fail(f"A branch or tag with the name '{ref}' could not be found")
    return "", ""


# -- actions/setup-python --------------------------------------------------------------------------------------------


def _pyenv() -> list[str]:
    root = os.environ.get("PYENV_ROOT")
    found = shutil.which("pyenv")
    if root and (Path(root) / "bin" / "pyenv").exists():
        found = str(Path(root) / "bin" / "pyenv")
    if not found:
        fail("pyenv is not on this machine: setup-python's stand-in takes its interpreters from pyenv")
    return [found]


def _prefix(version: str) -> Path:
    """The folder of a bare CPython ``version`` as setup-python gives it, in the tool cache's layout
    (``$RUNNER_TOOL_CACHE/Python/<X.Y.Z>/x64``): the rehearsal's cache, filled from pyenv's interpreters; on a
    GitHub runner (the test suite rehearsing there), the runner's own tool cache."""
    runner = Path("/opt/hostedtoolcache") / "Python"
    cached = sorted((p / "x64" for p in runner.glob(f"{version}.*") if (p / "x64" / "bin" / "python").exists()),
                    key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)])
    if not shutil.which("pyenv") and not os.environ.get("PYENV_ROOT") and cached:
        return cached[-1]
    found = _pyenv_prefix(version)
    cache = Path(os.environ.get("RUNNER_TOOL_CACHE") or state_dir() / "toolcache") / "Python" / found.name / "x64"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        link = cache.parent / f".x64-{uuid.uuid4().hex}"
        link.symlink_to(found)
        os.replace(link, cache)  # atomic: two jobs may set up the same version at once
    return cache


def _pyenv_prefix(version: str) -> Path:
    done = subprocess.run([*_pyenv(), "prefix", version], capture_output=True, text=True)
    if done.returncode != 0:
        have = subprocess.run([*_pyenv(), "versions", "--bare", "--skip-aliases"], capture_output=True, text=True)
        here = [v for v in have.stdout.split() if re.fullmatch(r"3\.\d+\.\d+", v)]
        fail(f"Python {version} is on GitHub's runners but not on this machine (pyenv here has "
             f"{', '.join(here) or 'none'})")
    return Path(done.stdout.strip().splitlines()[0])


def _hash_files(patterns: list[str]) -> tuple[str, list[Path]]:
    root = workspace()
    files: set[Path] = set()
    for pattern in patterns:
        if pattern.startswith("!"):
            fail(f"cache-dependency-path: exclusions ({pattern}) are not implemented")
        files.update(p for p in root.glob(pattern) if p.is_file())
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest(), sorted(files)


def setup_python(phase: str, inputs: dict[str, str]) -> None:
    version = inputs["python-version"]
    if not version:
        fail("python-version is required here (python-version-file and the runner's own Python are not "
             "implemented)")
    if not re.fullmatch(r"3\.\d+(\.\d+)?", version):
        fail(f"python-version {version!r}: only 3.X or 3.X.Y is implemented")
    if inputs["cache"] not in ("", "pip"):
        fail(f"cache: {inputs['cache']!r} is not implemented (only pip, or none)")
    prefix = _prefix(version)
    binary = prefix / "bin" / "python"
    if not binary.exists():
        fail(f"pyenv's {prefix} has no bin/python")
    full = subprocess.run([str(binary), "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    export_env("pythonLocation", str(prefix))
    export_env("PKG_CONFIG_PATH", str(prefix / "lib" / "pkgconfig"))
    for name in ("Python_ROOT_DIR", "Python2_ROOT_DIR", "Python3_ROOT_DIR"):
        export_env(name, str(prefix))
    libs = os.environ.get("LD_LIBRARY_PATH", "")
    if str(prefix / "lib") not in libs.split(":"):
        export_env("LD_LIBRARY_PATH", str(prefix / "lib") + (f":{libs}" if libs else ""))
    add_path(prefix / "bin")
    set_output("python-version", full)
    set_output("python-path", str(binary))
    info(f"Successfully set up CPython ({full}) from {prefix}")
    if inputs["cache"] == "pip":
        patterns = [p.strip() for p in re.split(r"[\n,]", inputs["cache-dependency-path"]) if p.strip()]
        patterns = patterns or ["**/requirements.txt"]
        digest, files = _hash_files(patterns)
        if not files:
            fail(f"No file in {workspace()} matched to [{', '.join(patterns)}], make sure you have checked out the "
                 "target repository")
        key = f"setup-python-{os.environ.get('RUNNER_OS', 'Linux')}-{os.environ.get('RUNNER_ARCH', 'X64')}-python-" \
              f"{full}-pip-{digest}"
        found, folder = scoped_cache("pip-cache", key)
        hit = found is not None
        if hit and found != folder:  # another ref's (the default branch's): restored into this ref's own
            shutil.copytree(found, folder, symlinks=True, dirs_exist_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        export_env("PIP_CACHE_DIR", str(folder))
        set_output("cache-hit", "true" if hit else "false")
        info(f"pip cache {'restored' if hit else 'not found'}: {key}")


# -- actions/cache ---------------------------------------------------------------------------------------------------


def scoped_cache(kind: str, key: str) -> tuple[Path | None, Path]:
    """(the entry of ``key`` this run may restore, or None; where this run saves it): caches kept per ref, and
    read from the refs GitHub lets a run read (rules.cache_refs)."""
    root = state_dir() / kind
    default = _lookup(_event(), "repository.default_branch") or "main"
    refs = rules.cache_refs(os.environ.get("GITHUB_REF", ""), os.environ.get("GITHUB_BASE_REF", ""), default)

    def entry(ref: str) -> Path:
        return root / urllib.parse.quote(ref, safe="") / urllib.parse.quote(key, safe="-_.+=@")

    found = next((entry(ref) for ref in refs if entry(ref).is_dir() and any(entry(ref).iterdir())), None)
    return found, entry(refs[0])


def _cache_paths(inputs: dict[str, str]) -> tuple[str, Path, Path | None, Path]:
    key = inputs["key"]
    if not key:
        fail("Input required and not supplied: key")
    if len(key) > 512 or "," in key:
        fail(f"Key Validation Error: {key} cannot be larger than 512 characters or contain commas")
    lines = [line.strip() for line in inputs["path"].splitlines() if line.strip()]
    if len(lines) != 1:
        fail(f"path: {len(lines)} paths; the rehearsal's cache implements exactly one directory")
    if any(c in lines[0] for c in "*?[!"):
        fail(f"path {lines[0]!r}: patterns are not implemented by the rehearsal's cache")
    found, folder = scoped_cache("cache", key)
    return key, resolve(lines[0]), found, folder


def cache(phase: str, inputs: dict[str, str]) -> None:
    key, target, found, folder = _cache_paths(inputs)
    if phase == "main":
        save_state("CACHE_KEY", key)
        if found is not None:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copytree(found, target, symlinks=True, dirs_exist_ok=True)
            save_state("CACHE_RESULT", key)
            set_output("cache-hit", "true")
            info(f"Cache restored from key: {key}")
        else:
            info(f"Cache not found for input keys: {key}")
        return
    if get_state("CACHE_RESULT") == key:
        info(f"Cache hit occurred on the primary key {key}, not saving cache.")
        return
    if not target.exists():
        warning("Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache "
                "is being saved.")
        return
    if not target.is_dir():
        fail(f"path {target} is a file: the rehearsal's cache implements a directory")
    if folder.exists():
        warning(f"Failed to save: Unable to reserve cache with key {key}, another job may be creating this cache.")
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.parent / f".saving-{uuid.uuid4().hex}"
    shutil.copytree(target, scratch, symlinks=True)
    try:
        os.rename(scratch, folder)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        warning(f"Failed to save: Unable to reserve cache with key {key}, another job may be creating this cache.")
        return
    info(f"Cache saved with key: {key}")


# -- artifacts -------------------------------------------------------------------------------------------------------

FORBIDDEN_NAME = set('":<>|*?\r\n\\/')


def artifacts_dir() -> Path:
    return state_dir() / "artifacts"


def _new_artifact_id() -> int:
    counter = artifacts_dir() / ".next-id"
    with locked(artifacts_dir() / ".lock"):
        number = int(counter.read_text()) if counter.exists() else 1
        counter.write_text(str(number + 1))
    return number


def store_artifact(name: str, files: list[Path], root: Path, retention: int, overwrite: bool) -> dict:
    """v4 artifacts: a name exists once per run attempt; an existing one is replaced only with overwrite."""
    bad = sorted(FORBIDDEN_NAME & set(name))
    if not name or bad:
        fail(f"The artifact name is not valid: {name!r} (forbidden characters: {' '.join(map(repr, bad))})")
    attempt_dir = artifacts_dir() / run_id() / run_attempt()
    attempt_dir.mkdir(parents=True, exist_ok=True)
    scratch = attempt_dir / f".uploading-{uuid.uuid4().hex}"
    listed = []
    for path in files:
        relative = path.relative_to(root) if path != root else Path(path.name)
        (scratch / "files" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, scratch / "files" / relative)
        listed.append(relative.as_posix())
    meta = {"name": name, "id": _new_artifact_id(), "run_id": run_id(), "attempt": int(run_attempt()),
            "time": now(), "retention-days": retention, "files": sorted(listed),
            "size": sum(p.stat().st_size for p in files), "sha": os.environ.get("GITHUB_SHA", ""),
            "job": os.environ.get("GITHUB_JOB", "")}
    (scratch / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    target = attempt_dir / name
    with locked(attempt_dir / ".lock"):
        if target.exists():
            if not overwrite:
                shutil.rmtree(scratch, ignore_errors=True)
                fail("Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an "
                     f"artifact with this name already exists on the workflow run ({name!r}, attempt "
                     f"{run_attempt()})")
            shutil.rmtree(target)
        os.rename(scratch, target)
    info(f"Artifact {name} has been successfully uploaded ({len(listed)} file(s)); artifact ID {meta['id']}")
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    set_output("artifact-id", str(meta["id"]))
    set_output("artifact-url", f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{run_id()}/"
                               f"artifacts/{meta['id']}")
    return meta


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")


def find_files(pattern_lines: list[str], include_hidden: bool) -> tuple[list[Path], Path | None]:
    """@actions/glob as upload-artifact uses it: each line a path or pattern, directories taken whole, links
    followed, hidden files and folders left out unless asked; the root is the search path (the least common
    ancestor of several), a lone file's own folder."""
    search_paths, found = [], []
    for line in pattern_lines:
        if line.startswith("!"):
            fail(f"path: exclusion patterns ({line}) are not implemented by the rehearsal's upload-artifact")
        literal = []
        parts = Path(line).parts
        for part in parts:
            if any(c in part for c in "*?["):
                break
            literal.append(part)
        search = resolve(os.path.join(*literal)) if literal else workspace()
        search_paths.append(search)
        if len(literal) == len(parts):
            candidates = [search] if search.exists() else []
        else:
            absolute = line if os.path.isabs(line) else os.path.join(str(workspace()), line)
            candidates = [Path(p) for p in glob.glob(absolute, recursive=True)]
        for candidate in candidates:
            if not include_hidden and _hidden(candidate) and candidate != workspace():
                continue
            if candidate.is_dir():
                for dirpath, dirnames, filenames in os.walk(candidate, followlinks=True):
                    if not include_hidden:
                        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                        filenames = [f for f in filenames if not f.startswith(".")]
                    found += [Path(dirpath) / f for f in filenames if (Path(dirpath) / f).is_file()]
            elif candidate.is_file():
                found.append(candidate)
    found = sorted(set(found))
    if not found:
        return [], None
    if len(search_paths) > 1:
        root = Path(os.path.commonpath([str(p) for p in search_paths]))
    elif len(found) == 1 and found[0] == search_paths[0]:
        root = found[0].parent
    else:
        root = search_paths[0]
    return found, root


def _retention(value: str, default: int) -> int:
    if not value:
        return default
    try:
        days = int(value)
    except ValueError:
        fail(f"Invalid retention-days: {value!r}")
    if days == 0:
        return default
    if not 1 <= days <= 90:
        fail(f"retention-days {days}: 1 to 90 are implemented")
    return days


def upload_artifact(phase: str, inputs: dict[str, str]) -> None:
    name = inputs["name"] or "artifact"
    lines = [line.strip() for line in inputs["path"].splitlines() if line.strip()]
    if not lines:
        fail("Input required and not supplied: path")
    mode = inputs["if-no-files-found"] or "warn"
    if mode not in ("warn", "error", "ignore"):
        fail(f"Unrecognized if-no-files-found input. Provided: {mode}. Available options: warn,error,ignore")
    retention = _retention(inputs["retention-days"], 90)
    files, root = find_files(lines, boolean(inputs, "include-hidden-files"))
    overwrite = boolean(inputs, "overwrite")
    if not files:
        message = f"No files were found with the provided path: {inputs['path']}. No artifacts will be uploaded."
        if mode == "error":
            fail(message)
        (warning if mode == "warn" else info)(message)
        return
    store_artifact(name, files, root, retention, overwrite)


def list_artifacts(run: str) -> list[dict]:
    """The run's unexpired artifacts, of all its attempts (which a download sees: rules.visible)."""
    base = artifacts_dir() / run
    if not base.is_dir():
        return []
    found = []
    for folder in (d for d in base.iterdir() if d.is_dir()):
        for entry in folder.iterdir():
            meta_path = entry / "meta.json"
            if entry.name.startswith(".") or not meta_path.exists():
                continue
            meta = json.loads(meta_path.read_text())
            if now() > meta["time"] + meta["retention-days"] * 86400:
                continue
            meta["dir"] = str(entry)
            found.append(meta)
    return sorted(found, key=lambda m: (m["attempt"], m["id"]))


def job_token(token: str, *needed: str) -> dict:
    """The job's token as GitHub checks it: known (401 otherwise), with every scope ``needed`` (403 otherwise)."""
    entry = rules.token_of(state_dir(), token)
    if entry is None:
        fail("Bad credentials (HTTP 401): the token is not a job's token of this repository")
    missing = rules.lacking(entry["scopes"], *needed)
    if missing:
        fail(f"{rules.FORBIDDEN} (HTTP 403): job {entry['job']}'s GITHUB_TOKEN lacks {' and '.join(missing)}; "
             "add it to the job's permissions")
    return entry


def download_artifact(phase: str, inputs: dict[str, str]) -> None:
    token = inputs["github-token"]
    if token:  # the public API: any run, every attempt's artifacts, with the token's actions: read
        job_token(token, "actions: read")
        run = inputs["run-id"] or run_id()
        if not run.isdigit():
            fail(f"run-id {run!r} is not a number")
    else:  # the runner's artifact service: this run attempt only (run-id is ignored without a token)
        run = run_id()
    available = rules.visible(list_artifacts(run), int(run_attempt()), through_api=bool(token))
    path = inputs["path"] or str(workspace())
    destination = resolve(path)
    merge = boolean(inputs, "merge-multiple")
    name, pattern = inputs["name"], inputs["pattern"]
    scope = f"run {run}, every attempt" if token else f"run {run} attempt {run_attempt()}"
    if name:
        copies = [m for m in available if m["name"] == name]
        if not copies:
            fail(f"Unable to download artifact(s): Artifact not found for name: {name} (in {scope})")
        if len(copies) > 1:
            warning(f"{len(copies)} artifacts named {name} in {scope}: the attempts' copies; this one may be any")
        chosen, single = copies[-1:], True
    else:
        chosen = [m for m in available if fnmatch.fnmatchcase(m["name"], pattern)] if pattern else available
        single = False
        if pattern:
            info(f"Filtering artifacts by pattern '{pattern}'")
    for meta in chosen:
        # download-artifact v8: one artifact matched (or merge-multiple, or by name) goes straight into path
        into = destination if single or merge or len(chosen) == 1 else destination / meta["name"]
        into.mkdir(parents=True, exist_ok=True)
        shutil.copytree(Path(meta["dir"]) / "files", into, dirs_exist_ok=True)
        info(f"Artifact {meta['name']} (attempt {meta['attempt']}) downloaded to {into}")
    info(f"Total of {len(chosen)} artifact(s) downloaded")
    set_output("download-path", str(destination))


# -- GitHub Pages ----------------------------------------------------------------------------------------------------


def upload_pages_artifact(phase: str, inputs: dict[str, str]) -> None:
    source = inputs["path"] or "_site/"
    temp = Path(os.environ.get("RUNNER_TEMP") or "/tmp")
    tarball = temp / "artifact.tar"
    hidden = [] if boolean(inputs, "include-hidden-files") else ["--exclude=.[^/]*"]
    done = subprocess.run(["tar", "--dereference", "--hard-dereference", "--directory", str(resolve(source)),
                           "-cf", str(tarball), "--exclude=.git", "--exclude=.github", *hidden, "."],
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"tar exited {done.returncode}"]
        fail(f"Archive artifact: {lines[0]}")
    meta = store_artifact(inputs["name"] or "github-pages", [tarball], temp,
                          _retention(inputs["retention-days"] or "1", 1), overwrite=False)
    set_output("artifact_id", str(meta["id"]))


def extract(archive: tarfile.TarFile, members: list[tarfile.TarInfo], into: Path) -> None:
    """The archive's regular files and folders into ``into``, as tarfile's "data" filter allows them (no absolute
    path, none outside ``into``, no device): the filter itself where the interpreter has it (3.11.4 and later),
    the same checks by hand on Debian 12's 3.11.2."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(into, filter="data")
        return
    root = into.resolve()
    for member in members:
        target = (into / member.name).resolve()
        if member.name.startswith("/") or not (target == root or root in target.parents):
            fail(f"Pages refuses the artifact: {member.name} lies outside the site")
        if not (member.isfile() or member.isdir()):
            fail(f"Pages refuses the artifact: {member.name} is neither a file nor a folder")
    archive.extractall(into)


def deploy_pages(phase: str, inputs: dict[str, str]) -> None:
    name = inputs["artifact_name"] or "github-pages"
    # An OIDC token (id-token: write) and the deployment itself (pages: write), as the real action asks for them.
    job_token(inputs["token"], "id-token: write", "pages: write")
    injected = state_dir() / "fail" / "deploy-pages"
    if injected.exists():
        injected.unlink()
        fail("Deployment failed, try again later. (injected: $REHEARSAL_STATE/fail/deploy-pages)")
    info(f'Fetching artifact metadata for "{name}" in this workflow run')
    # The runner's artifact service: this attempt's artifacts only.
    matching = [m for m in rules.visible(list_artifacts(run_id()), int(run_attempt()), False)
                if m["name"] == name]
    if not matching:
        fail(f'No artifacts named "{name}" were found for this workflow run. Ensure artifacts are uploaded with '
             "actions/upload-artifact@v4 or later.")
    if len(matching) > 1:
        fail(f'Multiple artifacts named "{name}" were unexpectedly found for this workflow run. Artifact count is '
             f"{len(matching)}.")
    (meta,) = matching
    tarball = Path(meta["dir"]) / "files" / "artifact.tar"
    if meta["files"] != ["artifact.tar"] or not tarball.exists():
        fail(f"the artifact {name!r} is not a Pages artifact (one artifact.tar): it holds {meta['files'][:5]}")
    with tarfile.open(tarball) as archive:
        members = archive.getmembers()
        links = [m.name for m in members if m.issym() or m.islnk()]
        if links:
            fail(f"Pages refuses the artifact: it contains links ({links[0]})")
        pages = state_dir() / "pages"
        pages.mkdir(parents=True, exist_ok=True)
        with locked(pages / ".lock"):
            log = pages / "deployments.jsonl"
            number = (len(log.read_text().splitlines()) if log.exists() else 0) + 1
            site = pages / str(number)
            extract(archive, members, site)
            files = sorted(str(Path(m.name)) for m in members if m.isfile())
            record = {"n": number, "run_id": int(run_id()), "attempt": int(run_attempt()), "artifact": name,
                      "artifact_attempt": meta["attempt"], "sha": os.environ.get("GITHUB_SHA", ""),
                      "time": time.time(), "files": files}
            with open(log, "a") as out:
                out.write(json.dumps(record) + "\n")
            link = pages / f".current-{uuid.uuid4().hex}"
            link.symlink_to(str(number))
            os.replace(link, pages / "current")
    owner, _, repo = os.environ.get("GITHUB_REPOSITORY", "owner/repo").partition("/")
    url = f"https://{owner}.github.io/{repo}/"
    set_output("page_url", url)
    info(f"Deployment {number} of {len(files)} file(s) from {name} (attempt {meta['attempt']}): {url}")


STANDINS = {
    "actions/checkout": checkout,
    "actions/setup-python": setup_python,
    "actions/cache": cache,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/upload-pages-artifact": upload_pages_artifact,
    "actions/deploy-pages": deploy_pages,
}


def main(argv: list[str]) -> int:
    action, phase = [*argv, "", ""][:2]
    try:
        if action not in STANDINS or phase not in ("main", "post"):
            fail(f"usage: standins.py <{'|'.join(STANDINS)}> main|post (got {' '.join(argv)!r})")
        spec_path = HERE / "standin.json"
        declared = json.loads(spec_path.read_text())["inputs"] if spec_path.exists() else {}
        STANDINS[action](phase, read_inputs(declared))
    except StandinError as error:
        print(f"::error::{action} (rehearsal stand-in): {error}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
