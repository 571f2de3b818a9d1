"""`make compare` end to end, in a temporary clone: a commit that breaks a benchmark is reported, and the
comparison of every other benchmark is still printed (asv continuous would print no table at all)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)  # the venv running the tests


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_make_compare_keeps_failures_visible(tmp_path):
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "--quiet", str(ROOT), str(clone))
    base = git(clone, "rev-parse", "HEAD")
    core = clone / "planet_tracker" / "core.py"
    core.write_text(core.read_text().replace(
        "def position_body(query: Query) -> bytes:\n",
        "def position_body(query: Query) -> bytes:\n    raise RuntimeError('broken on purpose')\n"))
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", "break position_body")

    done = subprocess.run(
        # -o: use this test's venv as it is, without rebuilding it from the clone's files.
        ["make", "-o", f"{VENV}/.installed", "compare", f"VENV={VENV}", f"BASE={base}", r"BENCH=^core\.",
         "ASV_ARGS=-a rounds=1 -a repeat=1"],
        cwd=clone, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and (clone / "reports" / "compare.md").exists(), done.stdout[-2000:] + done.stderr
    table = (clone / "reports" / "compare.md").read_text()
    assert table.startswith("**7 significant regression(s)**")
    # mark, benchmark, environment, base, head, ratio (the rows of the tables, without headers and rules)
    cells = [[cell.strip() for cell in line.split("|")[1:-1]] for line in table.splitlines() if line.startswith("|")]
    rows = [row for row in cells if row[1] != "benchmark" and not row[1].startswith("---")]
    failed = [row for row in rows if row[0] == "!"]
    assert len(failed) == 7
    assert all(row[1].startswith("core.Position.time_position_body(") and row[3].endswith("µs")
               and row[4] == "failed" for row in failed)
    # The benchmark that still works is compared, with numbers on both sides.
    (parse,) = [row for row in rows if row[1] == "core.Query.time_parse_query"]
    assert parse[3].endswith("µs") and parse[4].endswith("µs") and parse[5]
