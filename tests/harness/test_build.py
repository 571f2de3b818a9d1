"""build.py: which build of the subject a measurement runs, and the refusal of one made for a commit that would run
other code. A wheel is installed as asv installs a commit (pipeline/installs.py, in a new venv); then the same
measurement is asked for that commit with the wheel's files, with one of them changed, with a working tree first
on sys.path, and from the project's own venv (an editable install of this checkout)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from benchmarks.harness import attribution, build, callgrind

from .. import wheels

ROOT = Path(__file__).resolve().parents[2]
COMMIT = "a" * 40


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Path:
    """A venv with a wheel of the subject installed for COMMIT, and its install record."""
    tmp = tmp_path_factory.mktemp("build")
    done = wheels.install(tmp / "env", tmp / "checkout", str(wheels.make_wheel(tmp)), COMMIT, conf=tmp / "no-conf")
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "env"


def asv(env: Path, **more: str) -> dict[str, str]:
    """The environment asv gives a benchmark measuring COMMIT in ``env``."""
    return {**os.environ, "ASV_COMMIT": COMMIT, "ASV_ENV_DIR": str(env), **more}


def test_the_commits_wheel_is_its_build(env):
    python = str(env / "bin" / "python")
    found = build.inspect(python)
    assert found.origin == "wheel" and found.version == "9.9" and not found.changed
    assert Path(found.location).parent.name == "site-packages"
    checked = build.for_measurement(python, asv(env))
    assert checked.commit == COMMIT and checked.wheel == "planet_tracker-9.9-py3-none-any.whl"
    assert checked.describe().startswith(f"the build of {COMMIT[:8]} (planet_tracker-9.9-py3-none-any.whl, sha256 ")
    # Without asv's variables (the command line), nothing is refused and the build is named.
    assert build.for_measurement(python, {**os.environ}).describe().startswith("planet-tracker 9.9 installed at ")


def test_a_changed_file_is_refused_by_name(env):
    python = str(env / "bin" / "python")
    core = Path(build.inspect(python).location) / "core.py"
    original = core.read_bytes()
    try:
        core.write_bytes(original + b"EXTRA = 1\n")
        with pytest.raises(build.BuildMismatch, match=r"^measured for aaaaaaaa, but its servers would run an install "
                                                       r"at .* whose files differ from it: planet_tracker/core\.py: "
                                                       r"planet_tracker/core\.py not as in planet_tracker-9\.9-py3"):
            build.for_measurement(python, asv(env))
    finally:
        core.write_bytes(original)


def test_a_working_tree_on_the_path_is_refused(env, tmp_path):
    (tmp_path / "tree" / "planet_tracker").mkdir(parents=True)
    for path, content in wheels.FILES.items():
        (tmp_path / "tree" / path).write_bytes(content)
    with pytest.raises(build.BuildMismatch, match=r"would run the folder .*/tree/planet_tracker \(on sys\.path, not "
                                                   r"installed\), not planet_tracker-9\.9-py3-none-any\.whl \(the same "
                                                   r"files: every file\)"):
        build.for_measurement(str(env / "bin" / "python"), asv(env, PYTHONPATH=str(tmp_path / "tree")))


def test_an_editable_install_or_an_unrecorded_commit_is_refused(env, tmp_path):
    with pytest.raises(build.BuildMismatch, match=rf"would run the working tree {ROOT} \(an editable install\): "):
        build.for_measurement(sys.executable, asv(env))
    with pytest.raises(build.BuildMismatch, match=r"^no record of bbbbbbbb's build: .*bbbb\.json is missing"):
        build.for_measurement(sys.executable, asv(env, ASV_COMMIT="b" * 40))


@pytest.mark.needs("valgrind", "cc")
def test_a_count_or_a_profile_for_a_commit_that_runs_other_code_is_refused(env, monkeypatch):
    """The project's venv runs this checkout (editable): asked for COMMIT, every count fails with the line that
    says so, and no number; a profile raises it."""
    monkeypatch.setenv("ASV_COMMIT", COMMIT)
    monkeypatch.setenv("ASV_ENV_DIR", str(env))
    (run,) = callgrind.measure(["core:parse_query"])
    assert run.status == "failed" and not run.counts
    assert run.reason.startswith(f"measured for {COMMIT[:8]}, but its servers would run the working tree {ROOT}")
    with pytest.raises(build.BuildMismatch, match="an editable install"):
        attribution.profile("core:parse_query")


def test_a_profile_of_other_files_than_the_build_is_refused():
    built = build.Build("wheel", "/site-packages/planet_tracker", "d" * 64)
    attribution.check_files({"planet_tracker.core:parse_query": "/site-packages/planet_tracker/core.py",
                             "flask.app:Flask.wsgi_app": "/elsewhere/flask/app.py"}, built)
    with pytest.raises(build.BuildMismatch, match=r"^the profiled server ran planet_tracker from /tmp/clone/"
                                                   r"planet_tracker/core\.py, not from /site-packages/planet_tracker"):
        attribution.check_files({"planet_tracker.core:parse_query": "/tmp/clone/planet_tracker/core.py"}, built)
