"""Regressions over time: what landed on a line of commits (main's first parents), found in the stored history, per
machine, Python and benchmark, and placed on its commit when the counts allow.

* **Counted benchmarks** (instructions) are deterministic, so a step needs no statistics. A *step* at commit B is
  B's count against the previous measured commit A's, at or beyond the series' threshold. Where no commit lies
  between A and B on the line, the step is *placed* on B; otherwise it is "between A and B" until ``make
  bisect`` measures the commits between. A step up is a regression; it stays *open* until a later count is back
  within the threshold of the count before it, and then reads *recovered* at that commit.
* **Thresholds** are per series, from its own spread: the largest move between two consecutive measured commits
  that built the same subject (the same digest of ``planet_tracker``'s files) with the same dependency versions
  (a no-op pair: nothing the count measures changed), times SPREAD_FACTOR, and never below FLOOR. With no no-op
  pair in the history yet, FLOOR. Each threshold is reported with where it came from.
* **Drift**: the latest count against the baseline's (the newest tag on the line, else DRIFT_COMMITS back) at
  or beyond the threshold, while no single step between reached it; reported once, with the commits that
  moved it, largest first.
* **A part of a count** (the collector's: ``formats.PART_OF``) is judged by what its change adds to the whole,
  as the comparison judges it.
* **Timed benchmarks**: asv's own step detection, as ``asv publish`` computed it (its ``regressions.json``),
  labelled unconfirmed: one timing is not enough to tell (``make compare BASE=A HEAD=B`` confirms one).
* **Dependencies**: a step whose commit was measured with other versions than the commit before names them.

The result is one versioned record (``formats.REGRESSIONS``); ``python -m pipeline regressions`` prints it and
``python -m pipeline announce`` turns it into GitHub issues.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import benchmarks.harness.formats as formats
from benchmarks.harness.formats import COUNTED_UNITS, REGRESSIONS

from . import asvdata
from .asvdata import Row
from .errors import ReportError

FLOOR = 0.005  # a threshold is never below half a percent: what the gate must catch, over the whole history
SPREAD_FACTOR = 3  # a threshold is this many times the largest move seen between no-op pairs
DRIFT_COMMITS = 20  # the drift's baseline when the line has no tag: this many commits back


# -- the line of commits ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """The first-parent line of commits, oldest first, with each commit's subject, and the drift's baseline."""

    commits: tuple[str, ...]
    subjects: dict[str, str]
    baseline: str  # a commit of the line
    baseline_tag: str | None = None

    def index(self, commit: str) -> int | None:
        return self._positions.get(commit)

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {commit: i for i, commit in enumerate(self.commits)}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReportError(f"git {' '.join(args)}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
    return done.stdout


def read_line(repo: Path, tip: str = "HEAD", drift_commits: int = DRIFT_COMMITS) -> Line:
    """The first-parent line ending at ``tip`` in ``repo``, and its drift baseline."""
    log = _git(repo, "log", "--first-parent", "--format=%H%x00%s", tip)
    entries = [line.split("\x00", 1) for line in log.splitlines() if line]
    commits = tuple(commit for commit, _ in reversed(entries))
    subjects = {commit: subject for commit, subject in entries}
    on_line = set(commits)
    for name in _git(repo, "tag", "--merged", tip, "--sort=-creatordate").split():
        target = _git(repo, "rev-list", "-n", "1", name).strip()
        if target in on_line:
            return Line(commits, subjects, target, name)
    return Line(commits, subjects, commits[max(0, len(commits) - 1 - drift_commits)] if commits else "")


# -- the series ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    commit: str
    position: int  # on the line
    value: float | None  # None: failed or skipped
    build: str  # the digest of the subject's files measured, "" when not recorded
    packages: tuple  # the dependency versions measured, sorted


@dataclass
class Series:
    machine: str
    env: str
    python: str
    benchmark: str  # asv's name, with its parameters: the label the reports print
    unit: str
    points: list[Point] = field(default_factory=list)
    whole: Series | None = None  # the count this one is a part of

    @property
    def counted(self) -> bool:
        return self.unit in COUNTED_UNITS

    def value_at(self, commit: str) -> float | None:
        return next((p.value for p in self.points if p.commit == commit), None)


def collect(rows: Iterable[Row], line: Line, machine: str, installs: dict[tuple[str, str], dict]) -> list[Series]:
    """Each (environment, benchmark with its parameters) as a series over the line, its points in line order;
    commits off the line (a pull request's head) are left out. ``installs``: {(commit, env): the dependencies
    record} of that machine's results."""
    found: dict[tuple[str, str], Series] = {}
    for row in rows:
        position = line.index(row.commit)
        if position is None:
            continue
        series = found.setdefault((row.env, row.label), Series(machine, row.env, row.python, row.label, row.unit))
        record = installs.get((row.commit, row.env), {})
        value = row.value if row.status == "ok" else None
        series.points.append(Point(row.commit, position, value, (record.get("build") or {}).get("digest", ""),
                                   tuple(sorted((record.get("packages") or {}).items()))))
    for series in found.values():
        series.points.sort(key=lambda point: point.position)
        benchmark, _, params = series.benchmark.partition("(")
        whole = formats.whole_of(benchmark)
        if whole:
            series.whole = found.get((series.env, whole + (f"({params}" if params else "")))
    return list(found.values())


def change(series: Series, before: Point, after: Point) -> float:
    """The ratio a move from ``before`` to ``after`` makes: of the series itself, or of the whole it is part of."""
    if series.whole is not None:
        whole = series.whole.value_at(before.commit)
        if whole:
            return (whole + after.value - before.value) / whole
    return after.value / before.value if before.value else math.nan


@dataclass(frozen=True)
class Threshold:
    value: float
    source: str


def threshold(series: Series, floor: float = FLOOR) -> Threshold:
    moves = [abs(change(series, a, b) - 1) for a, b in pairwise(series.points)
             if a.value is not None and b.value is not None and a.build and a.build == b.build
             and a.packages == b.packages]
    moves = [move for move in moves if not math.isnan(move)]
    if not moves:
        return Threshold(floor, "the floor: no no-op pair in the history yet")
    spread = max(moves)
    value = max(floor, SPREAD_FACTOR * spread)
    return Threshold(value, f"{SPREAD_FACTOR} x the largest of {len(moves)} no-op move(s), {100 * spread:.3f} %"
                            + (" (below the floor)" if value == floor else ""))


# -- steps, regressions, drifts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    series: Series
    before: Point
    after: Point
    ratio: float
    threshold: Threshold
    recovered_at: str | None = None  # the first later commit back within the threshold

    @property
    def placed(self) -> bool:
        return self.after.position == self.before.position + 1


def steps(series: Series, limit: Threshold) -> list[Step]:
    """The moves between consecutive measured counts at or beyond the threshold, up or down; for each step up,
    where it recovered, if it did."""
    measured = [point for point in series.points if point.value is not None]
    found = []
    for i, (before, after) in enumerate(pairwise(measured)):
        ratio = change(series, before, after)
        if math.isnan(ratio) or 1 / (1 + limit.value) < ratio < 1 + limit.value:
            continue
        recovered = None
        if ratio > 1:
            recovered = next((later.commit for later in measured[i + 2:]
                              if change(series, before, later) < 1 + limit.value), None)
        found.append(Step(series, before, after, ratio, limit, recovered))
    return found


def moved(series: Sequence[Series], before: str, after: str) -> list[dict]:
    """The dependency versions that differ between two commits' installs, per Python."""
    found = {}
    for one in series:
        a = next((p for p in one.points if p.commit == before), None)
        b = next((p for p in one.points if p.commit == after), None)
        if a is None or b is None or not a.packages or not b.packages:
            continue
        old, new = dict(a.packages), dict(b.packages)
        for name in sorted(set(old) | set(new), key=str.lower):
            if old.get(name) != new.get(name):
                found[one.python, name] = {"python": one.python, "name": name, "before": old.get(name),
                                           "after": new.get(name)}
    return list(found.values())


def _step_data(step: Step) -> dict:
    return {"machine": step.series.machine, "python": step.series.python, "benchmark": step.series.benchmark,
            "before_commit": step.before.commit, "after_commit": step.after.commit,
            "before": step.before.value, "after": step.after.value, "ratio": step.ratio,
            "threshold": step.threshold.value, "threshold_source": step.threshold.source}


def _drift(series: Series, limit: Threshold, line: Line, steps_here: list[Step]) -> dict | None:
    base_position = line.index(line.baseline)
    measured = [point for point in series.points if point.value is not None]
    since = [point for point in measured if base_position is not None and point.position >= base_position]
    if len(since) < 2:
        return None
    first, last = since[0], since[-1]
    ratio = change(series, first, last)
    if math.isnan(ratio) or ratio < 1 + limit.value:
        return None
    if any(first.position < step.after.position <= last.position for step in steps_here):
        return None  # a single step reached the threshold: that is a regression, not a drift
    contributions = sorted(((change(series, a, b), b.commit) for a, b in pairwise(since)),
                           key=lambda item: -item[0])
    return {"machine": series.machine, "python": series.python, "benchmark": series.benchmark,
            "since_commit": first.commit, "latest_commit": last.commit, "before": first.value, "after": last.value,
            "ratio": ratio, "threshold": limit.value, "threshold_source": limit.source,
            "commits": [{"commit": commit, "ratio": r} for r, commit in contributions if r > 1]}


def counted(series_list: list[Series], line: Line) -> tuple[list[dict], list[dict], list[dict]]:
    """(regressions, drifts, thresholds) of the counted series."""
    groups: dict[tuple[str, str], list[Step]] = {}
    drifts, thresholds = [], []
    for series in series_list:
        if not series.counted:
            continue
        limit = threshold(series)
        thresholds.append({"machine": series.machine, "python": series.python, "benchmark": series.benchmark,
                           "threshold": limit.value, "source": limit.source})
        found = steps(series, limit)
        for step in found:
            if step.ratio > 1:
                groups.setdefault((step.before.commit, step.after.commit), []).append(step)
        drift = _drift(series, limit, line, found)
        if drift:
            drifts.append(drift)
    regressions = []
    for (before, after), found in groups.items():
        placed = found[0].placed
        recovered = [step.recovered_at for step in found]
        status = "recovered" if all(recovered) else "open"
        # Recovered where the last of its benchmarks came back.
        recovered_at = max(recovered, key=line.index) if status == "recovered" else None
        regressions.append({
            "commit": after if placed else None, "between": None if placed else [before, after],
            "unmeasured": list(line.commits[line.index(before) + 1:line.index(after)]),
            "subject": line.subjects.get(after, "") if placed else "",
            "status": status, "recovered_at": recovered_at,
            "worst_ratio": max(step.ratio for step in found),
            "steps": [_step_data(step) for step in sorted(found, key=lambda s: -s.ratio)],
            "moved": moved([step.series for step in found], before, after)})
    regressions.sort(key=lambda r: (line.index(r["commit"] or r["between"][1]), -r["worst_ratio"]))
    return regressions, drifts, thresholds


def timed(html_dir: Path, line: Line) -> tuple[list[dict], str]:
    """asv's own regressions of the timed benchmarks (``asv publish``'s regressions.json), each with the commits
    around its step; and how they were found ("" when publish has not run)."""
    path = Path(html_dir) / "regressions.json"
    try:
        data = json.loads(path.read_text())["regressions"]
        # asv's steps name revisions (its own numbering), which its index.json maps to commits.
        commit_of = json.loads((Path(html_dir) / "index.json").read_text())["revision_to_hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return [], f"not computed: no {path.name} (asv publish writes it: make report)"
    found = []
    for entry in data:
        try:
            name, graph, params, _, _, _, jumps = entry
        except (TypeError, ValueError):
            continue
        if "instructions" in name:
            continue  # the counted benchmarks are judged above, by their counts
        for first, last, old, new in jumps or ():
            before, after = commit_of.get(str(first)) if first is not None else None, commit_of.get(str(last))
            if not after:
                continue
            found.append({"benchmark": name, "python": str(params.get("python", "")), "graph": graph,
                          "machine": str(params.get("machine", "")), "before_commit": before, "after_commit": after,
                          "before": old, "after": new, "ratio": new / old if old else None,
                          "confirm": f"make compare BASE={before[:8] if before else after[:8] + '^'} "
                                     f"HEAD={after[:8]}"})
    return found, "asv's step detection (asv publish), unconfirmed"


def detect(config: Path, repo: Path, tip: str = "HEAD", machines: Sequence[str] = ()) -> dict:
    """Everything above over the results ``config`` names, as REGRESSIONS data."""
    conf = asvdata.load_config(config)
    line = read_line(repo, tip)
    info = asvdata.benchmark_info(conf)
    regressions, drifts, thresholds = [], [], []
    for machine in machines or asvdata.machines(conf):
        installs = installs_of(Path(conf.results_dir) / machine)
        series = collect(asvdata.iter_rows(conf.results_dir, info, machine), line, machine, installs)
        found = counted(series, line)
        regressions += found[0]
        drifts += found[1]
        thresholds += found[2]
    timed_found, how = timed(Path(conf.html_dir), line)
    return REGRESSIONS.stamp({
        "tip": line.commits[-1] if line.commits else "", "baseline": {"commit": line.baseline,
                                                                       "tag": line.baseline_tag},
        "floor": FLOOR, "regressions": regressions, "drifts": drifts, "thresholds": thresholds,
        "timed": timed_found, "timed_how": how})


def installs_of(machine_dir: Path) -> dict[tuple[str, str], dict]:
    """{(commit, environment): the dependencies record} of every results file of one machine."""
    found = {}
    for path in machine_dir.glob("*.json"):
        if path.name in ("machine.json", "benchmarks.json"):
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        record = data.get(asvdata.DEPENDENCIES) if isinstance(data, dict) else None
        if isinstance(record, dict):
            found[data.get("commit_hash", ""), data.get("env_name", "")] = record
    return found
