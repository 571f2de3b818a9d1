"""Compare two commits' asv results, benchmark by benchmark, as ``asv compare`` does, but without hiding anything.

``asv continuous`` prints no table at all when any benchmark failed; here a failed benchmark is one row among
the others. Significance is asv's own rule (``asv compare``'s ``_is_result_better``: the ratio beyond
``factor`` and asv's test on the samples or intervals), with one difference: where a side has too little to
test (a ``track_*`` value, one number per commit, or a single sample), asv trusts the factor alone; we mark it
``~``, since one tail-latency run can double on a shared machine with no change in the code. Marks, as asv's:

    +   slower: a significant regression          -   faster: a significant improvement
    ~   beyond the factor but not significant     !   failed on the new commit (a regression too)
    x   failed on the old commit only             (blank) no change
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from asv.commands.compare import _is_result_better
from tabulate import tabulate

from .asvdata import Row

REGRESSION_MARKS = ("+", "!")
ORDER = {"!": 0, "+": 1, "-": 2, "x": 3, "~": 4, "": 5}


@dataclass(frozen=True)
class Change:
    label: str
    env: str
    unit: str
    base: float | None
    head: float | None
    mark: str

    @property
    def ratio(self) -> float:
        if self.base is None or self.head is None or not self.base or math.isnan(self.base):
            return math.nan
        return self.head / self.base

    @property
    def regression(self) -> bool:
        return self.mark in REGRESSION_MARKS


def _stats(row: Row) -> tuple:
    return (row.stats, row.samples)


def _testable(row: Row) -> bool:
    # asv's own condition for running its test: statistics (none for track_*), from more than one sample.
    return bool(row.stats) and row.stats.get("repeat", 0) != 1


def mark(base: Row, head: Row, factor: float) -> str:
    """asv's verdict on one benchmark between two commits."""
    if head.status == "failed" and base.status != "failed":
        return "!"
    if base.status == "failed" and head.status != "failed":
        return "x"
    if base.status != "ok" or head.status != "ok":
        return ""
    testable = _testable(base) and _testable(head)
    if testable and _is_result_better(head.value, base.value, _stats(head), _stats(base), factor):
        return "-"
    if testable and _is_result_better(base.value, head.value, _stats(base), _stats(head), factor):
        return "+"
    ratio = head.value / base.value if base.value else math.nan
    if ratio > factor or ratio < 1 / factor:
        return "~"
    return ""


def compare(base_rows: Iterable[Row], head_rows: Iterable[Row], factor: float = 1.1) -> list[Change]:
    """Every benchmark present on both commits, regressions first, then improvements, then the rest."""
    base = {row.key: row for row in base_rows}
    changes = []
    for row in head_rows:
        old = base.get(row.key)
        if old is None or (old.status == "skipped" and row.status == "skipped"):
            continue  # not measured on both (asv writes NaN for a parameter combination left out of a run)
        changes.append(Change(row.label, row.env, row.unit, old.value, row.value, mark(old, row, factor)))
    return sorted(changes, key=lambda c: (ORDER[c.mark], -(c.ratio if not math.isnan(c.ratio) else 0), c.label))


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "failed"
    if math.isnan(value):
        return "n/a"
    if unit == "seconds":
        for scale, suffix in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {suffix}"
        return f"{value:.3g} s"
    return f"{value:.3g} {unit}"


def markdown(changes: list[Change], base_name: str, head_name: str, factor: float) -> str:
    rows = [[c.mark, c.label, c.env, format_value(c.base, c.unit), format_value(c.head, c.unit),
             "" if math.isnan(c.ratio) else f"{c.ratio:.2f}"] for c in changes]
    table = tabulate(rows, ["", "benchmark", "environment", base_name, head_name, "ratio"], tablefmt="github",
                     disable_numparse=True)
    regressions = sum(c.regression for c in changes)
    verdict = (f"**{regressions} significant regression(s)**" if regressions
               else "No significant regression")
    return (f"{verdict} between `{base_name}` and `{head_name}` (factor {factor:g}; "
            "+ slower, - faster, ~ not significant, ! failed on the new commit, x failed on the old one; "
            "lower is better for every benchmark).\n\n" + table + "\n")
