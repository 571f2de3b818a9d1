"""Which build of the subject a measurement runs, and the refusal of a measurement made for a commit that would run
other code.

A count is evidence about a commit only if the servers it started ran that commit's code. Three things have
broken that here before: an editable install re-pointed at another checkout, a working tree first on
``sys.path``, and a cached ``.pyc`` taken for its rewritten source. So:

* ``inspect`` asks a process started as the servers are started (the same interpreter and environment, an empty
  working directory: ``launcher.Server``) where ``planet_tracker`` is imported from, and hashes every file of the
  package there as a wheel's ``RECORD`` does. The files and their hashes say what the build is: ``wheel`` (each
  file is the one its distribution installed), ``editable`` (an editable install: the files of a working tree),
  ``modified`` (installed, but files differ from what was installed) or ``path`` (a folder on ``sys.path``, no
  installed distribution of it);
* under asv, for the commit ``ASV_COMMIT``, ``for_measurement`` reads what ``pipeline/installs.py`` recorded when
  it installed that commit's wheel (``formats.INSTALL``), and refuses, with one line that says which files came
  from where, anything but that wheel's files;
* without ``ASV_COMMIT`` (the command line, ``make smoke``: the working tree on purpose) it refuses nothing, and
  the build it names says what was measured.

The check cannot see a module that a server imports from elsewhere after start-up; the bytecode profile, which
names each function's file, can (``attribution``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import HarnessError
from .formats import INSTALL, INSTALLS, SUBJECT, FormatError, describe_build, subject_digest

# Run by the measured interpreter: where the package is, its distribution's record of it, and each file's hash.
_INSPECT = '''
import base64, hashlib, importlib.metadata, importlib.util, json, os, sys
distribution, package = sys.argv[1], sys.argv[2]
spec = importlib.util.find_spec(package)
if spec is None or not spec.submodule_search_locations:
    print(json.dumps(None)); sys.exit()
root = os.path.realpath(list(spec.submodule_search_locations)[0])
try:
    dist = importlib.metadata.distribution(distribution)
except importlib.metadata.PackageNotFoundError:
    dist = None
recorded, direct = {}, None
if dist is not None:
    direct = json.loads(dist.read_text("direct_url.json") or "null")
    for entry in dist.files or ():
        if entry.hash is not None:
            recorded[os.path.realpath(dist.locate_file(entry))] = f"{entry.hash.mode}={entry.hash.value}"
files = {}
for folder, folders, names in os.walk(root):
    folders[:] = sorted(f for f in folders if f != "__pycache__")
    for name in sorted(names):
        path = os.path.join(folder, name)
        with open(path, "rb") as file:
            digest = base64.urlsafe_b64encode(hashlib.sha256(file.read()).digest()).rstrip(b"=").decode()
        files[os.path.relpath(path, os.path.dirname(root))] = ["sha256=" + digest, recorded.get(path)]
print(json.dumps({"root": root, "version": dist.version if dist else None, "direct_url": direct, "files": files}))
'''


class BuildMismatch(HarnessError):
    """A measurement made for a commit would run other code than that commit's build."""


@dataclass(frozen=True)
class Build:
    """What the servers would import as the subject."""

    origin: str  # "wheel", "editable", "modified" or "path" (see the module's docstring)
    location: str  # the package's folder
    digest: str  # formats.subject_digest of the files there
    files: dict[str, str] = field(default_factory=dict, compare=False)  # path under site-packages -> its hash
    version: str | None = None
    changed: tuple[str, ...] = ()  # files that differ from their distribution's record, or that it does not list
    source: str = ""  # an editable install's folder
    commit: str = ""  # the commit whose build it is (under asv, once checked)
    wheel: str = ""  # that build's wheel, and its sha256
    wheel_sha256: str = ""

    def describe(self) -> str:
        """One line: what ran."""
        return describe_build(self.to_dict())

    def to_dict(self) -> dict:
        """As results record it (without the per-file hashes: the digest stands for them)."""
        data = asdict(self)
        data["changed"] = list(self.changed)
        del data["files"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Build:
        return cls(**{**data, "changed": tuple(data.get("changed", ()))})


def inspect(python: str = sys.executable, environ: Mapping[str, str] | None = None) -> Build:
    """The subject as a server started with ``python`` and ``environ`` (default: this process's) would import it."""
    distribution, package = SUBJECT
    with tempfile.TemporaryDirectory(prefix="planet-build-") as empty:
        try:
            done = subprocess.run([python, "-c", _INSPECT, distribution, package], capture_output=True, text=True,
                                  timeout=120, cwd=empty, env=environ)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise HarnessError(f"cannot ask {python} where {package} comes from: {error}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise HarnessError(f"cannot ask {python} where {package} comes from: {last}")
    found = json.loads(done.stdout)
    if found is None:
        raise HarnessError(f"{python} cannot import {package}: install it (make venv)")
    hashes = {path: actual for path, (actual, _) in found["files"].items()}
    changed = tuple(sorted(path for path, (actual, recorded) in found["files"].items() if actual != recorded))
    direct = found["direct_url"] or {}
    where = (found["root"], subject_digest(hashes), hashes, found["version"], changed)
    if (direct.get("dir_info") or {}).get("editable"):
        return Build("editable", *where, source=direct.get("url", "").removeprefix("file://"))
    if found["version"] is None or len(changed) == len(hashes):
        return Build("path", *where)
    return Build("modified" if changed else "wheel", *where)


def installed(env_dir: Path, commit: str) -> dict:
    """What pipeline/installs.py recorded of ``commit``'s build in an asv environment; BuildMismatch without it."""
    path = Path(env_dir) / INSTALLS / f"{commit}.json"
    try:
        record = INSTALL.load(path)
    except FormatError as error:
        raise BuildMismatch(f"no record of {commit[:8]}'s build: {error}") from None
    if "build" not in record:
        raise BuildMismatch(f"{commit[:8]} was not installed: {record.get('error', 'no build recorded')}")
    return record["build"]


def for_measurement(python: str = sys.executable, environ: Mapping[str, str] | None = None,
                    server_env: Mapping[str, str] | None = None) -> Build:
    """The build a measurement runs, where the servers are started with ``server_env`` (default: ``environ``).
    Under asv (``ASV_COMMIT``, ``ASV_ENV_DIR`` in ``environ``, default this process's), it must be that commit's
    build, unmodified: BuildMismatch otherwise, in one line that says which files came from where."""
    environ = os.environ if environ is None else environ
    build = inspect(python, environ if server_env is None else server_env)
    commit, env_dir = environ.get("ASV_COMMIT"), environ.get("ASV_ENV_DIR")
    if not commit or not env_dir:
        return build
    expected = installed(Path(env_dir), commit)
    wanted = expected["files"]
    differ = sorted(path for path in set(build.files) | set(wanted) if build.files.get(path) != wanted.get(path))
    if build.origin != "wheel" or differ:
        what = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "") if differ \
            else "every file"
        raise BuildMismatch(f"measured for {commit[:8]}, but its servers would run {build.describe()}: {what} "
                            f"not as in {expected['wheel']}, the build of {commit[:8]}" if differ else
                            f"measured for {commit[:8]}, but its servers would run {build.describe()}, not "
                            f"{expected['wheel']} (the same files: {what})")
    return Build(**{**asdict(build), "changed": (), "commit": commit, "wheel": expected["wheel"],
                    "wheel_sha256": expected["wheel_sha256"]})
