"""Each commit measured with the dependencies it pins, and each result saying which versions it measured.

asv keeps one environment per Python, shared by every commit it measures: asv.conf.json has no matrix of
versions, since a matrix value makes a new environment, and a new series in every graph, at each bump. For each
commit, asv's ``install_command`` runs this file with the environment's own Python (the standard library only):

    python {conf_dir}/pipeline/installs.py {conf_dir} {build_dir} {wheel_file} {env_dir} {env_name} {commit}

It installs the commit's wheel, and what the asv suite needs beside it (setup.cfg's ``suite`` extra, read from
the checkout asv runs from), under the commit's own constraints.txt. pip then moves every package that file pins
to that commit's version, up or down. Then it records what the environment holds, in
``{env_dir}/installs/{commit}.json`` (``formats.INSTALL``): every other package's version, and the project's own
build, the wheel's name and sha256 and each of the subject's files as the wheel's RECORD hashes it, which the
measurements check before they count (benchmarks/harness/build.py). When pip cannot install the pins (a
conflict, a missing wheel), the record keeps pip's one-line reason and the command fails: asv records that
commit's benchmarks as failed, and measures the other commits.

After asv has run, ``embed`` copies each record into the results of that commit and environment, under the key
``dependencies``: the versions go wherever the results go (the history branch, a pull request's comparison).
asv does not read the key, and drops it when it rewrites a results file, so every command that runs asv embeds
again afterwards (``python -m pipeline dependencies``).
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

if __package__ in (None, ""):
    # Run by path with the environment's Python: the checkout's formats module, loaded by path too. Not by putting
    # the checkout on sys.path, where an editable install's metadata (planet_tracker.egg-info) would stand in for
    # the installed build's.
    _spec = importlib.util.spec_from_file_location(
        "planet_tracker_formats", Path(__file__).resolve().parent.parent / "benchmarks" / "harness" / "formats.py")
    formats = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(formats)
else:
    import benchmarks.harness.formats as formats
INSTALL, INSTALLS, SUBJECT, subject_digest = formats.INSTALL, formats.INSTALLS, formats.SUBJECT, formats.subject_digest

# In asv's results files: {"packages": {name: version}, "build": {...}} or {"error": pip's reason}
KEY = "dependencies"
CONSTRAINTS = "constraints.txt"
PROJECT, PACKAGE = SUBJECT
SUITE_EXTRA = "suite"


def suite_requirements(conf_dir: Path) -> list[str]:
    """What the asv suite imports inside asv's environments, from setup.cfg's ``suite`` extra (the checkout asv
    runs from: the suite measuring an old commit is today's)."""
    parser = configparser.ConfigParser()
    parser.read(conf_dir / "setup.cfg")
    text = parser.get("options.extras_require", SUITE_EXTRA, fallback="")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def reason(output: str, limit: int = 300) -> str:
    """pip's reason for a failure, on one line: its first ``ERROR:`` line, with the causes it lists under "The
    conflict is caused by:" (which name the pins that clash), cut to ``limit`` characters."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    first = next((i for i, line in enumerate(lines) if line.startswith("ERROR:")), None)
    if first is None:
        return (lines or ["pip failed and said nothing"])[-1][:limit]
    text = lines[first].rstrip(".")
    if "The conflict is caused by:" in lines[first:]:
        start = lines.index("The conflict is caused by:", first) + 1
        causes = []
        for line in lines[start:]:
            if line.endswith(":") or line.startswith(("ERROR:", "To fix this")):
                break
            causes.append(line)
        text += ": " + "; ".join(causes)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def installed() -> dict[str, str]:
    """Every distribution this interpreter sees, by name, but the project's own."""
    found = {dist.metadata["Name"]: dist.version for dist in metadata.distributions() if dist.metadata["Name"]}
    return dict(sorted(((name, version) for name, version in found.items()
                        if name.lower().replace("_", "-") != PROJECT), key=lambda item: item[0].lower()))


def build(wheel: str, commit: str) -> dict:
    """The project's build as installed: its commit, its wheel's name and sha256, and its package's files with
    the hashes the wheel's RECORD gives them (a .pyc is compiled at install, not part of the build)."""
    files = {str(entry): f"{entry.hash.mode}={entry.hash.value}" for entry in metadata.distribution(PROJECT).files
             if entry.hash is not None and entry.parts[0] == PACKAGE and "__pycache__" not in entry.parts}
    return {"commit": commit, "wheel": Path(wheel).name,
            "wheel_sha256": hashlib.sha256(Path(wheel).read_bytes()).hexdigest(),
            "digest": subject_digest(files), "files": files}


def install(conf_dir: Path, build_dir: Path, wheel: str, env_dir: Path, env_name: str, commit: str) -> int:
    record: dict = INSTALL.stamp({"commit": commit, "env_name": env_name})
    constraints = build_dir / CONSTRAINTS
    if not constraints.exists():
        record["error"] = f"the commit has no {CONSTRAINTS}: nothing says which versions to measure it with"
        status = 1
    else:
        command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-c", str(constraints),
                   wheel, *suite_requirements(conf_dir)]
        # Not in the checkout: pip would take its folders for installed packages (as asv's own default avoids).
        done = subprocess.run(command, cwd=env_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sys.stdout.write(done.stdout)  # asv shows it when the install fails
        status = done.returncode
        if status:
            record["error"] = reason(done.stdout)
        else:
            record["packages"] = installed()
            record["build"] = build(wheel, commit)
    folder = env_dir / INSTALLS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{commit}.json").write_text(json.dumps(record, indent=1) + "\n")
    if status:
        print(f"{commit[:8]} cannot be installed with its pins: {record['error']}", file=sys.stderr)
    return status


def records(env_root: Path) -> dict[tuple[str, str], tuple[dict, int]]:
    """Every install record in asv's environments, by (commit, environment name): what goes into the results
    (the build without its files, which its digest stands for), and when it was written (ns)."""
    found = {}
    for path in Path(env_root).glob(f"*/{INSTALLS}/*.json"):
        try:
            record = json.loads(path.read_text())
            kept = {key: record[key] for key in ("packages", "error") if key in record}
            if "build" in record:
                kept["build"] = {key: value for key, value in record["build"].items() if key != "files"}
            found[record["commit"], record["env_name"]] = (kept, path.stat().st_mtime_ns)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an install that was cut short: that commit has no record, as if never installed
    return found


def embed(machine_dir: Path, env_root: Path) -> int:
    """Put each install record into one machine's results of its commit and environment; the number of files
    changed. A result with no record keeps what it has (a history brought from elsewhere has its versions), and so
    does a result asv has not written since that install: a commit installed again and skipped (asv's
    --skip-existing) was measured with the build it already names, not this one."""
    found, changed = records(env_root), 0
    for path in Path(machine_dir).glob("*.json"):
        if path.name in ("machine.json", "benchmarks.json"):
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        record, written = found.get((data.get("commit_hash"), data.get("env_name")), (None, 0)) \
            if isinstance(data, dict) else (None, 0)
        if record is None or data.get(KEY) == record or path.stat().st_mtime_ns < written:
            continue
        data[KEY] = record
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))  # asv's own compact form (its files are plain json.dump output)
        os.replace(tmp, path)
        changed += 1
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print("usage: installs.py CONF_DIR BUILD_DIR WHEEL_FILE ENV_DIR ENV_NAME COMMIT", file=sys.stderr)
        return 2
    conf_dir, build_dir, wheel, env_dir, env_name, commit = argv
    return install(Path(conf_dir), Path(build_dir), wheel, Path(env_dir), env_name, commit)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
