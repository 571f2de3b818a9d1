"""``make regressions`` and ``make bisect``: the regressions over time in the local results, one line each, and
the placing of a counted step that lies between two measured commits on the commit that made it.

``python -m reports regressions`` finds them (reports/regressions.py) and writes them as data (formats.REGRESSIONS);
this reads that data, standard library only. Exit status of ``regressions``: 0 when nothing is open, 1 when a
regression or a drift is open, 2 when it could not tell (no results, a git or asv failure). GNU make exits 2
whenever a recipe fails, whatever the recipe returned, so the distinction between 1 and 2 survives only in
``python -m pipeline regressions`` itself, not in ``make regressions``.

``bisect`` measures, for each open counted step "between A and B", the middle of the commits between them that
were not measured, with asv, for that step's benchmarks and Python only; then finds the steps again, until each
sits on one commit: about log2(n + 1) measurements for n commits between, with no repeats (the counts are
exact). The results join the history like any other.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import benchmarks.harness.formats as formats

from . import asvrun
from .errors import PipelineError

DATA = Path(".asv/regressions.json")
DATA_PATH = asvrun.ROOT / DATA
HASHES = Path(".asv/bisect.hashes")


def detect(run: asvrun.RunCommand, python: str = sys.executable, out: Path = DATA, tip: str = "HEAD",
           machines: Sequence[str] = ()) -> dict:
    """The regressions of the local results along ``tip``'s line (of ``machines``, or all), as data
    (PipelineError when they cannot be found)."""
    done = run([python, "-m", "reports", "regressions", "--json", str(out), "--tip", tip,
                *(word for machine in machines for word in ("--machine", machine))], capture=True)
    if done.returncode != 0:
        raise PipelineError(f"finding the regressions failed (python -m reports regressions: status {done.returncode})")
    try:
        return formats.REGRESSIONS.load(asvrun.ROOT / out)
    except formats.FormatError as error:
        raise PipelineError(str(error)) from None


def _short(commit: str) -> str:
    return commit[:8]


def _count(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def where(regression: dict) -> str:
    if regression["commit"]:
        subject = regression["subject"]
        return f"{_short(regression['commit'])}" + (f" ({subject})" if subject else "")
    before, after = regression["between"]
    return f"between {_short(before)} and {_short(after)} ({len(regression['unmeasured'])} not measured)"


def lines(data: dict) -> list[str]:
    """One line per open regression's benchmark and Python, and per drift."""
    found = []
    for regression in data["regressions"]:
        if regression["status"] != "open":
            continue
        for step in regression["steps"]:
            found.append(f"regression {where(regression)}: Python {step['python']} {step['benchmark']} "
                         f"{_count(step['before'])} -> {_count(step['after'])} ({step['ratio']:.4f}; threshold "
                         f"{100 * step['threshold']:.2g} %)")
    for drift in data["drifts"]:
        made = ", ".join(f"{_short(c['commit'])} ({100 * (c['ratio'] - 1):+.2f} %)" for c in drift["commits"][:5])
        found.append(f"drift since {_short(drift['since_commit'])}: Python {drift['python']} {drift['benchmark']} "
                     f"{_count(drift['before'])} -> {_count(drift['after'])} ({drift['ratio']:.4f}; threshold "
                     f"{100 * drift['threshold']:.2g} %), made of {made}")
    return found


def is_open(data: dict) -> bool:
    return any(r["status"] == "open" for r in data["regressions"]) or bool(data["drifts"])


def report(data: dict) -> int:
    """Print the open ones, one line each, then what else was found; 1 when any is open, else 0."""
    for line in lines(data):
        print(line)
    recovered = sum(r["status"] == "recovered" for r in data["regressions"])
    print(f"{'open' if is_open(data) else 'nothing open'}; {recovered} recovered; {len(data['timed'])} timed "
          f"step(s), unconfirmed ({data['timed_how']}); thresholds per series in {DATA}", file=sys.stderr)
    return 1 if is_open(data) else 0


# -- bisect -------------------------------------------------------------------------------------------------------


def unplaced(data: dict, python: str | None = None) -> list[dict]:
    """The open regressions that lie between two measured commits, with commits between (of one Python: its steps
    on the others left out)."""
    found = []
    for regression in data["regressions"]:
        steps = [step for step in regression["steps"] if python is None or step["python"] == python]
        if regression["status"] == "open" and not regression["commit"] and regression["unmeasured"] and steps:
            found.append({**regression, "steps": steps})
    return found


def measure(commit: str, steps: Sequence[dict], machine: str, asv: asvrun.Asv) -> None:
    """One commit, the steps' benchmarks alone, on each of their Pythons, recorded."""
    by_python: dict[str, set[str]] = {}
    for step in steps:
        by_python.setdefault(step["python"], set()).add(step["benchmark"])
    asv_range = asvrun.hashfile(HASHES, [commit], asv.command)
    for python, labels in sorted(by_python.items()):
        # The benchmarks by name (asv names a parameter combination with its values quoted), and the counts of
        # these benchmarks' targets alone (benchmarks/instructions.py takes their labels): the suite's other
        # parameters are skipped.
        names = sorted({label.split("(")[0] for label in labels})
        bench = "|".join(rf"^{re.escape(name)}(\(|$)" for name in names)
        status = asv.run(asvrun.Run(machine, asv_range, (asvrun.virtualenv(python),), bench=bench),
                         env={"PLANET_TRACKER_INSTRUCTIONS": ",".join(sorted(labels))})
        if status not in (0, 2):
            raise PipelineError(f"measuring {_short(commit)} on Python {python} failed (asv: status {status})")


def bisect(machine: str, run: asvrun.RunCommand | None = None, python: str = sys.executable,
           only: str | None = None) -> tuple[list[str], dict]:
    """Place every open counted step of ``machine`` (of Python ``only``, or every one); the commits measured, in
    order, and the regressions found after. Stops when every step is placed, or when a round places nothing new
    (a commit that cannot be measured: asv records it as failed)."""
    run = run or asvrun.Runner()
    asv = asvrun.Asv(run, python)
    measured: list[str] = []
    data = detect(run, python, machines=[machine])
    pending = unplaced(data, only)
    rounds = max((math.ceil(math.log2(len(r["unmeasured"]) + 1)) for r in pending), default=0) + 1
    for _ in range(rounds):
        if not pending:
            break
        for regression in pending:
            middle = regression["unmeasured"][len(regression["unmeasured"]) // 2]
            print(f"bisect: {where(regression)}: measuring {_short(middle)}", file=sys.stderr, flush=True)
            measure(middle, regression["steps"], machine, asv)
            measured.append(middle)
        before = {json.dumps(r["between"]) for r in pending}
        data = detect(run, python, machines=[machine])
        pending = unplaced(data, only)
        if {json.dumps(r["between"]) for r in pending} == before:
            break  # nothing moved: the middle commits did not give a number
    for regression in data["regressions"]:
        if regression["status"] == "open":
            print(f"bisect: {where(regression)}", file=sys.stderr)
    print(f"bisect: {len(measured)} commit(s) measured; {len(pending)} step(s) still between two commits",
          file=sys.stderr)
    return measured, data


def unexplained(data: dict, explained: Path, python: str | None = None) -> list[tuple[dict, dict]]:
    """(regression, its worst step) of each open regression placed on its commit whose cost on that step's
    Python has not been profiled yet (``explained``/<commit>/py<X.Y>.json: the history's regressions folder)."""
    found = []
    for regression in data["regressions"]:
        if regression["status"] != "open" or not regression["commit"]:
            continue
        for version in sorted({step["python"] for step in regression["steps"]}):
            if python is not None and version != python:
                continue
            if not (explained / regression["commit"] / f"py{version}.json").exists():
                worst = max((s for s in regression["steps"] if s["python"] == version), key=lambda s: s["ratio"])
                found.append((regression, worst))
    return found
