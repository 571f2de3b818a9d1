"""The tests' own plumbing (conftest.py): @pytest.mark.needs skips a test whose command is not on PATH, naming what
to install, and PLANET_TRACKER_FORBID_SKIPS=1 (.ci/run) turns any skip into a failed session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from benchmarks.harness.tools import TOOLS

ROOT = Path(__file__).resolve().parent.parent

TESTS = '''
import pytest

@pytest.mark.needs("no-such-tool-xyz")
def test_unknown_tool():
    raise AssertionError("ran without its tool")

@pytest.mark.needs("sh", "valgrind")
def test_suite_tool():
    raise AssertionError("ran without its tool")

@pytest.mark.needs("cc")
def test_compiler():
    raise AssertionError("ran without its tool")

@pytest.mark.needs("chromium")
def test_test_only_tool():
    raise AssertionError("ran without its tool")

@pytest.mark.needs("sh")
def test_present():
    pass
'''


def run(tmp_path: Path, source: str, **env: str) -> subprocess.CompletedProcess:
    """pytest, with this project's settings and conftest.py, on one file of tests, with only `sh` on PATH."""
    (tmp_path / "test_generated.py").write_text(textwrap.dedent(source))
    tools = tmp_path / "bin"
    tools.mkdir(exist_ok=True)
    if not (tools / "sh").exists():
        (tools / "sh").symlink_to(shutil.which("sh"))
    # Not this session's options (make test's PYTEST_ADDOPTS, .ci/run's ban on skips).
    environ = {k: v for k, v in os.environ.items()
               if k not in ("PLANET_TRACKER_FORBID_SKIPS", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "setup.cfg"), "--rootdir", str(tmp_path),
         "-p", "tests.conftest", "-p", "no:cacheprovider", "-q", str(tmp_path / "test_generated.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**environ, "PATH": str(tools), **env})


def test_a_test_needing_a_missing_command_is_skipped_with_what_installs_it(tmp_path):
    done = run(tmp_path, TESTS)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("1 passed, 4 skipped"), done.stdout
    skips = sorted(line.split(": ", 1)[1] for line in lines if line.startswith("SKIPPED"))
    assert skips == [f"cc is not installed: `sudo apt-get install {TOOLS['cc'].package}`",
                     "chromium is not installed: `sudo apt-get install chromium`",
                     "no-such-tool-xyz is not installed",
                     "valgrind is not installed: `sudo apt-get install valgrind`"], done.stdout
    assert "ran without its tool" not in done.stdout


def test_forbidden_skips_fail_the_session(tmp_path):
    done = run(tmp_path, TESTS, PLANET_TRACKER_FORBID_SKIPS="1")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-2] == "PLANET_TRACKER_FORBID_SKIPS=1: 4 skipped, and every test must run here: the run fails"
    assert lines[-1].startswith("1 passed, 4 skipped")
    assert len([line for line in lines if line.startswith("SKIPPED")]) == 4  # each named, with its reason


def test_without_skips_a_forbidding_session_passes(tmp_path):
    done = run(tmp_path, TESTS.split("@pytest.mark.needs(\"no-such-tool-xyz\")")[0] + textwrap.dedent('''
        @pytest.mark.needs("sh")
        def test_present():
            pass
        '''), PLANET_TRACKER_FORBID_SKIPS="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PLANET_TRACKER_FORBID_SKIPS" not in done.stdout
