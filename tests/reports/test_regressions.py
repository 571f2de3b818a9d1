"""reports/regressions.py's rules on series made here (the real counts, in a clone: tests/test_regressions.py):
thresholds from no-op pairs, a part judged by its whole, where a drift's baseline is, asv's timed steps."""

from __future__ import annotations

import json
import subprocess

import pytest

from reports import regressions
from reports.regressions import Line, Point, Series

COMMITS = tuple(f"{i:040x}" for i in range(1, 13))
LINE = Line(COMMITS, {c: f"subject {i}" for i, c in enumerate(COMMITS)}, COMMITS[0])
REQUEST = "instructions.ServerInstructions.track_instructions_per_request(flask-dev)"
COLLECTOR = "instructions.ServerInstructions.track_collector_instructions_per_request(flask-dev)"


def series(values: list[float | None], benchmark: str = REQUEST, builds: list[str] | None = None) -> Series:
    """Values on the first commits of the line; each commit's build its own unless ``builds`` says."""
    points = [Point(COMMITS[i], i, value, (builds or COMMITS)[i], (("aiohttp", "3.14.5"),))
              for i, value in enumerate(values) if value != "-"]
    return Series("m", "virtualenv-py3.12", "3.12", benchmark, "instructions", points)


def test_the_threshold_comes_from_the_no_op_pairs_and_is_floored():
    same = ["x"] * 5
    quiet = series([1000.0, 1000.2, 999.9, 1000.1, 1000.0], builds=same)
    assert regressions.threshold(quiet).value == 0.005 and "below the floor" in regressions.threshold(quiet).source
    noisy = series([1000.0, 1003.0, 998.0, 1000.0, 1001.0], builds=same)  # moved 0.5 % between no-op pairs
    limit = regressions.threshold(noisy)
    assert limit.value == pytest.approx(3 * 5 / 1003) and "4 no-op move(s)" in limit.source
    # Different builds are not no-op pairs: their moves are changes, not spread.
    assert regressions.threshold(series([1000.0, 1030.0])).source == "the floor: no no-op pair in the history yet"


def test_steps_are_placed_or_between_and_recover():
    found = regressions.steps(series([1000.0, 1000.0, 1012.0, "-", "-", 1012.0, 1000.5]),
                              regressions.Threshold(0.005, "test"))
    up, down = found
    assert up.placed and up.after.commit == COMMITS[2] and up.recovered_at == COMMITS[6]
    assert down.ratio < 1 and down.placed and down.recovered_at is None  # a step down: no recovery to look for
    gap = regressions.steps(series([1000.0, "-", "-", 1012.0]), regressions.Threshold(0.005, "test"))
    assert [step.placed for step in gap] == [False]


def test_a_part_is_judged_by_what_it_adds_to_its_whole():
    whole = series([1_000_000.0] * 3)
    part = series([3000.0, 4000.0, 4000.0], COLLECTOR)  # a third more of itself, 0.1 % of the whole
    part.whole = whole
    assert regressions.steps(part, regressions.Threshold(0.005, "test")) == []
    part = series([3000.0, 9000.0, 9000.0], COLLECTOR)  # 0.6 % of the whole
    part.whole = whole
    (step,) = regressions.steps(part, regressions.Threshold(0.005, "test"))
    assert step.ratio == pytest.approx(1.006)


def test_a_drift_is_no_single_step_and_names_its_commits_largest_first():
    drifting = series([1000.0, 1002.0, 1006.0, 1009.0])
    limit = regressions.Threshold(0.005, "test")
    drift = regressions._drift(drifting, limit, LINE, regressions.steps(drifting, limit))
    assert drift["ratio"] == pytest.approx(1.009)
    assert [c["commit"] for c in drift["commits"]] == [COMMITS[2], COMMITS[3], COMMITS[1]]
    stepped = series([1000.0, 1002.0, 1009.0])  # one step of 0.7 %: a regression, not a drift
    assert regressions._drift(stepped, limit, LINE, regressions.steps(stepped, limit)) is None


def test_the_baseline_is_the_newest_tag_on_the_line(tmp_path):
    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                              check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    made = []
    for i in range(5):
        git("commit", "-q", "--allow-empty", "-m", f"c{i}")
        made.append(git("rev-parse", "HEAD"))
    assert regressions.read_line(tmp_path, drift_commits=2).baseline == made[2]  # no tag: 2 back
    git("tag", "v1", made[1])
    line = regressions.read_line(tmp_path)
    assert (line.baseline, line.baseline_tag) == (made[1], "v1") and line.commits == tuple(made)
    assert line.subjects[made[4]] == "c4"


def test_asvs_timed_steps_are_read_unconfirmed(tmp_path):
    """asv's regressions.json names its steps by revision number (ints; None: before the first), which its
    index.json maps to commits."""
    (tmp_path / "index.json").write_text(json.dumps({"revision_to_hash": {"7": COMMITS[3], "9": COMMITS[5]}}))
    (tmp_path / "regressions.json").write_text(json.dumps({"regressions": [
        ["servers.ServerThroughput.time_batch(flask-dev)", "graphs/x.json", {"python": "3.12", "machine": "m"}, 0,
         1.2, 1.0, [[None, 7, 1.0, 1.2]]],
        ["servers.ServerThroughput.time_batch(aiohttp-dev)", "graphs/y.json", {"python": "3.12", "machine": "m"}, 0,
         1.3, 1.0, [[7, 9, 1.0, 1.3]]],
        ["instructions.ServerInstructions.track_instructions_per_request(flask-dev)", "g", {}, 0, 1, 1, []]]}))
    found, how = regressions.timed(tmp_path, LINE)
    first, step = found
    assert first["ratio"] == pytest.approx(1.2) and first["confirm"] == f"make compare BASE={COMMITS[3][:8]}^ " \
                                                                       f"HEAD={COMMITS[3][:8]}"
    assert (step["before_commit"], step["after_commit"]) == (COMMITS[3], COMMITS[5])
    assert step["confirm"] == f"make compare BASE={COMMITS[3][:8]} HEAD={COMMITS[5][:8]}"
    assert "unconfirmed" in how
    assert regressions.timed(tmp_path / "none", LINE)[0] == []
