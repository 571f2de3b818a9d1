"""pipeline.commands: the command line, and what it may import under a bare interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import commands, targets

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_command_line_imports_only_the_standard_library():
    """pages-newest, pr-artifact and pr-comment run python -m pipeline under the runner's bare python3: of the
    project's other layers it takes only the formats module (standard library only, like itself)."""
    probe = ("import sys, pipeline.commands; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in {'asv', 'asv_runner', 'yaml', 'requests', "
             "'benchmarks', 'reports', 'planet_tracker'}))")
    done = subprocess.run([sys.executable, "-S", "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['benchmarks', 'benchmarks.harness', 'benchmarks.harness.formats']"


@pytest.mark.parametrize(("argv", "called"), [
    (["bench", "--machine", "m", "--bench=^x", "--asv-args=-a rounds=1", "--quick"],
     ("bench", "m", "^x", ("-a", "rounds=1"), True)),
    (["history", "--machine", "m", "--count", "3", "--bench=", "--asv-args="], ("history", "m", 3, "", ())),
    (["smoke", "--machine", "m"], ("smoke", "m", "", ())),
    (["profile", "--machine", "m", "--target", "flask-dev", "--against", "v1"], ("profile", "m", "flask-dev", "v1")),
    (["sweep", "--machine", "m", "--sweep-args=--quick --json x"], ("sweep", "m", ("--quick", "--json", "x"))),
    (["report", "--machine", "m"], ("report", "m")),
])
def test_each_make_target_s_command_hands_its_arguments_on(monkeypatch, argv, called):
    seen = []
    monkeypatch.setattr(targets, called[0], lambda *args: seen.append((called[0], *args[:-1])) or 7)
    assert commands.main(argv) == 7
    assert seen == [called]
