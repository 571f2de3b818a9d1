"""pipeline/installs.py: what asv's install_command runs for each commit, and the records it leaves, put into the
results. The whole path (asv installing two commits with their own pins) is in tests/test_make_compare.py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from asv import results as asv_results

from benchmarks.harness.formats import INSTALL, INSTALLS, subject_digest
from pipeline import installs
from reports import asvdata

from . import wheels

ROOT = Path(__file__).resolve().parent.parent


def test_the_suite_extra_is_what_the_bench_extra_installs():
    suite = installs.suite_requirements(ROOT)
    assert {requirement.split(">=")[0] for requirement in suite} == {"requests", "tabulate", "uvloop"}
    setup = (ROOT / "setup.cfg").read_text()
    assert "bench =\n    planet-tracker[suite]\n" in setup


def test_pips_reason_is_one_line_naming_the_pins_that_clash():
    # pip 26's output for a pin no release satisfies, as asv's log showed it (indentation and all).
    output = """Processing ./asv-build-cache/e6a1/planet_tracker-1.0.0-py3-none-any.whl
             Requirement already satisfied: requests>=2.31 in ./lib/python3.11/site-packages (2.34.2)
             ERROR: Cannot install planet-tracker==1.0.0 because these package versions have conflicting dependencies.

             The conflict is caused by:
                 planet-tracker 1.0.0 depends on ephem>=4.1
                 The user requested (constraint) ephem==9.9.9

             Additionally, some packages in these conflicts have no matching distributions available:
                 ephem

             To fix this you could try to:
             ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/
"""
    assert installs.reason(output) == (
        "ERROR: Cannot install planet-tracker==1.0.0 because these package versions have conflicting dependencies: "
        "planet-tracker 1.0.0 depends on ephem>=4.1; The user requested (constraint) ephem==9.9.9")
    assert installs.reason("x\n" + "ERROR: " + "y" * 400, limit=50) == "ERROR: " + "y" * 40 + "..."
    assert installs.reason("") == "pip failed and said nothing"


def _install(tmp_path: Path, constraints: str | None, wheel: str, conf: Path = ROOT) -> tuple[int, str, dict]:
    """installs.py as asv's install_command runs it, in a new venv, with no package index (pip cannot download):
    its exit status, its stderr, and the record it left."""
    env = tmp_path / "env"
    done = wheels.install(env, tmp_path / "checkout", wheel, COMMIT, constraints, conf)
    record = INSTALL.load(env / INSTALLS / f"{COMMIT}.json")
    assert record["commit"] == COMMIT and record["env_name"] == "virtualenv-py3"
    return done.returncode, done.stdout + done.stderr, record


COMMIT = "c" * 40


def test_a_failed_install_records_pips_reason_and_fails(tmp_path):
    """Real pip: a pinned version that cannot be found. The record keeps pip's line; the command fails, so that
    asv records the commit's benchmarks as failed."""
    status, output, record = _install(tmp_path, "tabulate==0.0.1\n", "tabulate")
    assert status == 1 and "packages" not in record
    assert record["error"].startswith("ERROR: ") and "(constraint) tabulate==0.0.1" in record["error"]
    assert "\n" not in record["error"]
    assert f"{COMMIT[:8]} cannot be installed with its pins: ERROR:" in output
    # A commit without constraints.txt pins nothing: refused, not installed with whatever pip finds.
    status, _, record = _install(tmp_path, None, "tabulate")
    assert status == 1 and "has no constraints.txt" in record["error"]


def test_a_successful_install_records_what_the_environment_holds_and_the_build(tmp_path):
    # A wheel of the project's name that needs nothing, and no suite extra: nothing to download.
    wheel = wheels.make_wheel(tmp_path)
    status, output, record = _install(tmp_path, "", str(wheel), conf=tmp_path / "no-conf")
    assert status == 0, output
    listed = subprocess.run([tmp_path / "env" / "bin" / "python", "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True).stdout
    assert record["packages"] == {package["name"]: package["version"] for package in json.loads(listed)
                                  if package["name"] != "planet-tracker"}
    assert "pip" in record["packages"]
    # The project's own build: the commit, the wheel and its hash, and each of its files as its RECORD hashes it.
    files = {path: wheels.record_hash(content) for path, content in wheels.FILES.items()}
    assert record["build"] == {"commit": COMMIT, "wheel": wheel.name,
                               "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
                               "digest": subject_digest(files), "files": files}


def _result(folder: Path, machine: str, commit: str, env: str) -> Path:
    result = asv_results.Results({"machine": machine, "python": "3.11"}, {}, commit, 1_700_000_000_000, "3.11", env,
                                 {})
    result.save(str(folder))
    return folder / asv_results.get_filename(machine, commit, env)


def _record(env_root: Path, env: str, commit: str, **fields) -> None:
    folder = env_root / "abc" / INSTALLS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{commit}.json").write_text(json.dumps({"commit": commit, "env_name": env, **fields}))


def test_embed_puts_each_record_into_its_commits_results_and_asv_still_reads_them(tmp_path):
    results, envs = tmp_path / "results", tmp_path / "env"
    a, b, c = "a" * 40, "b" * 40, "c" * 40
    mine = _result(results, "here", a, "virtualenv-py3.11")
    _result(results, "here", b, "virtualenv-py3.11")
    unrecorded = _result(results, "here", c, "virtualenv-py3.11")
    other_machine = _result(results, "there", a, "virtualenv-py3.11")
    built = {"commit": a, "wheel": "planet_tracker-1.0.0-py3-none-any.whl", "wheel_sha256": "f" * 64,
             "digest": "d" * 64}
    _record(envs, "virtualenv-py3.11", a, packages={"aiohttp": "3.14.5", "multidict": "7.2.1"},
            build={**built, "files": {"planet_tracker/core.py": "sha256=x"}})
    _record(envs, "virtualenv-py3.11", b, error="ERROR: Cannot install aiohttp==3.14.5 and multidict==6.9.1")
    (envs / "abc" / INSTALLS / "cut-short.json").write_text("{")  # an install killed midway
    for path in results.rglob("*.json"):  # asv writes its results after the install
        os.utime(path, ns=(time.time_ns() + 10**9,) * 2)
    before = {path: path.read_text() for path in (unrecorded, other_machine)}

    assert installs.embed(results / "here", envs) == 2
    assert installs.embed(results / "here", envs) == 0  # nothing new: nothing rewritten
    # a installed again later (another wheel) and skipped by asv: its result keeps the build it was measured with.
    _record(envs, "virtualenv-py3.11", a, packages={"aiohttp": "3.14.5", "multidict": "7.2.1"},
            build={**built, "wheel_sha256": "e" * 64, "files": {}})
    os.utime(envs / "abc" / INSTALLS / f"{a}.json", ns=(time.time_ns() + 2 * 10**9,) * 2)
    assert installs.embed(results / "here", envs) == 0
    assert {path: path.read_text() for path in before} == before
    # The build goes with the versions, without its files (its digest stands for them).
    assert json.loads(mine.read_text())["dependencies"] == {"packages": {"aiohttp": "3.14.5", "multidict": "7.2.1"},
                                                            "build": built}
    assert asvdata.dependencies(results, "here", b) == {
        "virtualenv-py3.11": {"error": "ERROR: Cannot install aiohttp==3.14.5 and multidict==6.9.1"}}
    assert asvdata.dependencies(results, "here", c) == {}
    assert asvdata.DEPENDENCIES == installs.KEY
    # asv reads a file with the key as before (it ignores what it does not know).
    assert asv_results.Results.load(str(mine)).commit_hash == a


def test_the_command_records_nothing_where_there_are_no_results():
    """(That it runs after every asv run that records: tests/pipeline/test_asvrun.py.)"""
    done = subprocess.run([sys.executable, "-m", "pipeline", "dependencies", "--machine", "no-such-machine"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "no-such-machine: versions recorded in 0 results file(s)" in done.stderr
