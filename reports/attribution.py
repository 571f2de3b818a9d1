"""Where a flagged counted benchmark's change is: two commits' profiles of its target (``python -m benchmarks``'s
attribution files), ranked by the change in each function's own cost per request, as tables and a differential
flame graph.

Two rankings, each in its own unit, because the two meters count different things:

* **Python functions** (``module:qualname``), in bytecode instructions executed per request (or call);
* **C functions** (by symbol), in machine instructions per request, from callgrind.

Each entry gives calls, self and inclusive cost per request at the base and the head. Attribution explains a
flagged change; it never decides the comparison's verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.formats import ATTRIBUTION, FormatError, describe_build, format_change

from . import flamegraph
from .errors import ReportError

TOP = 10
# Less than this per request is no change: what a heartbeat landing in one window and not the other leaves in a
# function (two profiles of one commit: docs/measured.md).
NOISE = 0.5
# An own change below this per request does not rank a function before the callers of a real one: above what two
# profiles of one commit differ by in any one function (the allocator's, the evaluation loop's: docs/measured.md).
FLOOR = {"python": 3.0, "c": 300.0}
KINDS = {"python": ("Python function", "bytecodes"), "c": ("C function", "instructions")}


@dataclass(frozen=True)
class Entry:
    name: str
    calls: tuple[float, float]  # per request (or call), base and head
    own: tuple[float, float]
    inclusive: tuple[float, float]

    @property
    def change(self) -> float:
        return self.own[1] - self.own[0]

    @property
    def inclusive_change(self) -> float:
        return self.inclusive[1] - self.inclusive[0]


def read(path: Path) -> dict:
    try:
        return ATTRIBUTION.load(path)
    except FormatError as error:
        raise ReportError(f"the profile: {error}") from None


def rank(base: dict, head: dict, kind: str, top: int = TOP) -> list[Entry]:
    """The ``top`` functions of one kind whose cost changed most, largest first; functions whose calls and costs
    moved by less than NOISE per unit are left out."""
    old, new = base.get(kind, {}), head.get(kind, {})
    entries = []
    none = {"calls": 0.0, "self": 0.0, "inclusive": 0.0}
    for name in set(old) | set(new):
        a, b = old.get(name, none), new.get(name, none)
        entry = Entry(name, (a["calls"], b["calls"]), (a["self"], b["self"]), (a["inclusive"], b["inclusive"]))
        if max(abs(b[key] - a[key]) for key in none) >= NOISE:
            entries.append(entry)
    # Where the change is comes first: the function whose own cost moved most (a change below FLOOR per unit
    # counts as none: background work, or a caller's bookkeeping), then the functions that carry it (a caller's
    # change is all inclusive). A C function's inclusive cost counts a cycle more than once (the evaluation loop
    # calls C, which calls the loop again), so it only breaks ties.
    floor = FLOOR[kind]
    entries.sort(key=lambda e: (-(abs(e.change) if abs(e.change) >= floor else 0.0), -abs(e.inclusive_change),
                                e.name))
    return entries[:top]


def table(entries: list[Entry], kind: str, unit: str) -> str:
    title, cost = KINDS[kind]
    lines = [f"| {title} | calls per {unit} | self, {cost} per {unit} | with callees |", "|---|---|---|---|"]
    for entry in entries:
        cells = (format_change(pair) for pair in (entry.calls, entry.own, entry.inclusive))
        lines.append(f"| `{entry.name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section(label: str, ratio: float, base: dict, head: dict, graph: str | None = None, top: int = TOP) -> str:
    """The markdown under one flagged benchmark: both rankings, and a link to its flame graph."""
    unit = head.get("unit", "request")
    change = "" if math.isnan(ratio) else f" ({100 * (ratio - 1):+.1f} %)"
    parts = [f"**Where: `{label}`**{change}, base → head per {unit}; {head.get('python_version', '')} "
             f"profiles of `{head['target']}` over the same fixed {unit}s, of "
             + " and ".join(f"{side} {describe_build(data['build'])}" for side, data in (("base", base), ("head", head))
                            if data.get("build")) + "."]
    for kind in KINDS:
        entries = rank(base, head, kind, top)
        parts.append(table(entries, kind, unit) if entries else f"No {KINDS[kind][0]} changed.")
    if graph:
        parts.append(f"Flame graph (Python functions, base against head): [{Path(graph).name}]({graph})")
    return "\n\n".join(parts)


def as_data(label: str, base: dict, head: dict, top: int = TOP) -> dict:
    """One benchmark's attribution as the comparison's JSON carries it (compare.json's ``attribution``)."""
    return {"benchmark": label, "target": head["target"], "unit": head.get("unit", "request"),
            **{kind: [{"name": e.name, "calls": list(e.calls), "self": list(e.own), "inclusive": list(e.inclusive)}
                      for e in rank(base, head, kind, top)] for kind in KINDS}}


def flame(base: dict, head: dict, label: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    unit = head.get("unit", "request")
    out.write_text(flamegraph.svg(base.get("stacks", {}), head.get("stacks", {}), f"{label}: base against head",
                                  f"bytecodes per {unit}"))
    return out


# -- a comparison's attribution ----------------------------------------------------------------------------------


def flagged(comparison: dict) -> list[str]:
    """The counted benchmarks a comparison marked + or -: what attribution profiles."""
    return [row["benchmark"] for row in comparison["changes"] if row["counted"] and row["mark"] in ("+", "-")]


def profiles(folder: Path) -> dict[str, dict]:
    """{benchmark label: profile} of one commit's folder (``<dir>/<commit>/``)."""
    found = {}
    for path in sorted(Path(folder).glob("*.json")):
        data = read(path)
        found[data.get("benchmark", data["target"])] = data
    return found


def attribute(comparison: dict, folder: Path, graphs: Path, top: int = TOP) -> tuple[str, list[dict]]:
    """The markdown to append under a comparison's tables, and its ``attribution`` data: for each flagged counted
    benchmark, both rankings and a flame graph in ``graphs`` (or why there is none)."""
    ratios = {row["benchmark"]: (row["head"] / row["base"] if row["base"] and row["head"] else math.nan)
              for row in comparison["changes"]}
    return between(Path(folder) / comparison["base"]["commit"], Path(folder) / comparison["head"]["commit"],
                   flagged(comparison), graphs, ratios, top, "Where the flagged counts changed")


def between(base_folder: Path, head_folder: Path, labels: list[str] | None, graphs: Path,
            ratios: dict[str, float] | None = None, top: int = TOP,
            heading: str = "Where the instructions went, base against head") -> tuple[str, list[dict]]:
    """Both rankings and a flame graph for each of ``labels`` (every benchmark profiled on both sides when
    None), from two commits' profile folders."""
    base, head = profiles(base_folder), profiles(head_folder)
    ratios = ratios or {}
    parts, data = [], []
    for label in labels if labels is not None else sorted(set(base) & set(head)):
        if label not in base or label not in head:
            parts.append(f"**Where: `{label}`**: no profile of " + " or ".join(
                side for side, found in (("the base", base), ("the head", head)) if label not in found)
                + " (see the log).")
            continue
        graph = flame(base[label], head[label], label, Path(graphs) / (head[label]["target"].replace(":", "_")
                                                                        + ".svg"))
        parts.append(section(label, ratios.get(label, math.nan), base[label], head[label],
                             f"{Path(graphs).name}/{graph.name}", top))
        data.append(as_data(label, base[label], head[label], top))
    if not parts:
        return "", []
    return f"## {heading}\n\n" + "\n\n".join(parts) + "\n", data
