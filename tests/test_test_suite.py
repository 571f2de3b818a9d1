"""scripts/test-suite: make test's two pytests, run with a stand-in for the interpreter that records its arguments
and answers as told."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A "python" that prints how it was called, sleeps a little when told, and exits with the status it is told to.
FAKE = """#!/bin/sh
echo "called: $*"
case "$*" in *"pytest tests/rehearsal"*) sleep 0.3; exit "${REHEARSAL_STATUS:-0}";; *) exit "${REST_STATUS:-0}";; esac
"""


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    fake = tmp_path / "python"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    environ = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "test-suite"), str(fake), *args],
                          capture_output=True, text=True, timeout=60, env={**environ, **env})


def test_the_rehearsal_runs_beside_the_rest_and_shows_last(tmp_path):
    done = run(tmp_path, "--durations=5")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == ("called: -m pytest --ignore=tests/rehearsal --ignore=tests/test_rehearsal.py "
                        "--durations=5")
    assert lines[-1] == "called: -m pytest tests/rehearsal tests/test_rehearsal.py --durations=5"
    assert "run beside the rest" in lines[-2]


def test_either_failing_fails_it(tmp_path):
    assert run(tmp_path, REHEARSAL_STATUS="1").returncode == 1
    assert run(tmp_path, REST_STATUS="5").returncode == 5
    assert run(tmp_path, REST_STATUS="1", REHEARSAL_STATUS="2").returncode == 2


def test_arguments_that_choose_run_one_pytest_as_given(tmp_path):
    for args in (["--ignore=tests/rehearsal", "--ignore=tests/test_rehearsal.py"], ["tests/test_core.py"],
                 ["-k", "flask"]):
        done = run(tmp_path, *args)
        assert done.stdout.splitlines() == [f"called: -m pytest {' '.join(args)}"], args
    done = run(tmp_path, PYTEST_ADDOPTS="tests/test_pipeline.py")
    assert done.stdout.splitlines() == ["called: -m pytest"]
