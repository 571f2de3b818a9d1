"""`make compare` end to end, in a temporary clone: a commit that breaks a benchmark is reported, and the
comparison of every other benchmark is still printed (asv continuous would print no table at all)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)  # the venv running the tests


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def clone_of(tmp_path: Path) -> Path:
    """A clone of this checkout's HEAD (what is committed: the instrument and its orchestration come with the
    commits asv measures); the commits on top of it are the test's."""
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "--quiet", str(ROOT), str(clone))
    return clone


def test_make_compare_keeps_failures_visible(tmp_path):
    clone = clone_of(tmp_path)
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


def _pin(clone: Path, package: str, version: str, message: str) -> str:
    """Change one line of constraints.txt and commit it, as Dependabot's pull requests do."""
    constraints = clone / "constraints.txt"
    lines = [f"{package}=={version}" if line.split("==")[0] == package else line
             for line in constraints.read_text().splitlines()]
    assert f"{package}=={version}" in lines
    constraints.write_text("\n".join(lines) + "\n")
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", message)
    return git(clone, "rev-parse", "HEAD")


def _compare(clone: Path, base: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-o", f"{VENV}/.installed", "compare", f"VENV={VENV}", f"BASE={base}", r"BENCH=^core\.Position",
         "ASV_ARGS=-a rounds=1 -a repeat=1"], cwd=clone, capture_output=True, text=True, timeout=600)


def _recorded(clone: Path, commit: str) -> dict:
    (path,) = (clone / ".asv" / "results").glob(f"*/{commit[:8]}-*.json")
    return json.loads(path.read_text())


def test_a_bumped_pin_is_measured_on_each_side_with_its_own_version(tmp_path):
    """A pull request that bumps one pin in constraints.txt: its base is measured with the old version and its
    head with the new one, in the same environment (one series in every graph), and the table names the bump.
    Then a pin that cannot be installed: the head fails with pip's reason, the base is still measured."""
    clone = clone_of(tmp_path)
    base = _pin(clone, "ephem", "4.2", "Pin ephem 4.2")  # the state before the bump
    head = _pin(clone, "ephem", "4.2.1", "Bump ephem from 4.2 to 4.2.1")

    done = _compare(clone, base)
    table = clone / "reports" / "compare.md"
    assert table.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    old, new = _recorded(clone, base), _recorded(clone, head)
    assert old["dependencies"]["packages"]["ephem"] == "4.2"
    assert new["dependencies"]["packages"]["ephem"] == "4.2.1"
    assert old["env_name"] == new["env_name"] and old["params"] == new["params"]  # one series across the bump
    text = table.read_text()
    assert re.search(r"^- Python 3\.\d+: ephem 4\.2 -> 4\.2\.1: .*, of 7 compared\.$", text, re.MULTILINE), text
    data = json.loads((clone / "reports" / "compare.json").read_text())
    assert data["dependencies"][0]["moved"] == [{"name": "ephem", "base": "4.2", "head": "4.2.1"}]

    broken = _pin(clone, "ephem", "0.0.0", "Pin an ephem that does not exist")
    done = _compare(clone, head)
    assert done.returncode != 0, done.stdout[-3000:] + done.stderr[-3000:]  # a regression: the head failed
    assert _recorded(clone, broken)["dependencies"]["error"].startswith("ERROR: ")
    text = table.read_text()
    assert re.search(rf"^- Python 3\.\d+: HEAD \({broken[:8]}\) could not be installed with its pins: ERROR: "
                     r".*ephem==0\.0\.0", text, re.MULTILINE), text
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in text.splitlines()
            if line.startswith("| !")]
    assert len(rows) == 7 and all(row[3].endswith("µs") and row[4] == "failed" for row in rows)


@pytest.mark.needs("valgrind", "cc")
def test_a_flagged_count_names_the_function_that_costs_more(tmp_path):
    """Extra work injected into one function of planet_tracker: make compare flags the server and the core
    function that run it, and its attribution names that function first among the Python functions of each,
    with a flame graph beside the table and the rankings in compare.json. (One server: the aiohttp twin's
    profile is read in tests/harness/test_attribution.py.)"""
    clone = clone_of(tmp_path)
    core = clone / "planet_tracker" / "core.py"
    core.write_text(core.read_text().replace(
        "def position_body(query: Query) -> bytes:\n",
        "def position_body(query: Query) -> bytes:\n    waste = 0\n    for step in range(100):\n"
        "        waste += step\n"))
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", "extra work in position_body")
    done = subprocess.run(
        ["make", "-o", f"{VENV}/.installed", "compare", f"VENV={VENV}", "BASE=HEAD~1",
         r"BENCH=^instructions\.(Server|Position)Instructions",
         "PLANET_TRACKER_INSTRUCTIONS=flask-dev,core:position_body:mars"],
        cwd=clone, capture_output=True, text=True, timeout=900)
    assert done.returncode != 0, done.stdout[-3000:] + done.stderr[-3000:]  # a regression: attribution keeps it
    data = json.loads((clone / "reports" / "compare.json").read_text())
    flagged = {row["benchmark"] for row in data["changes"] if row["mark"] == "+"}
    assert flagged == {"instructions.ServerInstructions.track_instructions_per_request(flask-dev)",
                       "instructions.PositionInstructions.track_instructions_position_body(mars)"}
    attributed = {entry["benchmark"]: entry for entry in data["attribution"]}
    assert set(attributed) == flagged
    for label, entry in attributed.items():
        names = [function["name"] for function in entry["python"]]
        assert names[0] == "planet_tracker.core:position_body", (label, names)
        first = entry["python"][0]
        assert first["calls"][0] == first["calls"][1] == 1 and first["self"][1] - first["self"][0] > 500
        assert entry["c"] and entry["c"][0]["self"][1] > entry["c"][0]["self"][0]
    text = (clone / "reports" / "compare.md").read_text()
    assert text.index("## Where the flagged counts changed") > text.index("**Instructions**")
    for target in ("flask-dev", "core_position_body_mars"):
        svg = (clone / "reports" / "attribution" / f"{target}.svg").read_text()
        assert svg.startswith("<svg") and "planet_tracker.core:position_body" in svg
        assert f"(attribution/{target}.svg)" in text
