"""Compare two commits' asv results, benchmark by benchmark, as ``asv compare`` does, but without hiding anything.

``asv continuous`` prints no table at all when any benchmark failed; here a failed benchmark is one row among
the others. Two rules, by kind of benchmark:

* **Counted** benchmarks (unit "instructions", the valgrind channel) are deterministic: repeated on one commit
  they agree to well within 1 % (docs/measured.md). A ratio beyond the threshold (1 % by default) is a change:
  ``+`` or ``-``. A part of another count (the collector's instructions beside the request's:
  ``formats.PART_OF``) is judged by the ratio its change makes of the whole, (whole + change) / whole.
* **Timed** benchmarks follow asv's own rule (``asv compare``'s ``_is_result_better``: the ratio beyond
  ``factor`` and asv's test on the samples or intervals), with two differences. Where a side has too little to
  test (a ``track_*`` value, one number per commit, or a single sample), asv trusts the factor alone; we mark it
  ``~``, since one tail-latency run can double on a shared machine with no change in the code. And one
  measurement is not enough: a wall-clock run moves by more than the factor with no change in the code (a no-op
  comparison once marked three KeepAliveOff rows 0.63-0.68), so what asv's rule flags in one measurement is
  ``?``. ``make compare`` measures the flagged benchmarks again, both commits interleaved (``--flagged``, then
  ``--confirm``): a change is ``+`` or ``-`` only if the second measurement flags it the same way, and ``~``
  (measured again, not confirmed) otherwise.

So ``+`` and ``-`` mean the same wherever they appear (compare.md, the pull-request comment, the summary's
changes): established, by a count or by two timed measurements. The marks:

    +   slower, established: a regression            -   faster, established
    ?   timed, flagged by asv's rule in one measurement, not confirmed (the summary's commits, measured in
        separate runs; a comparison without --confirm)
    ~   moved, not established: beyond the factor but not significant, nothing to test, or measured again and
        not confirmed
    !   failed on the new commit (a regression too)  x   failed on the old commit only
    (blank) no change
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from asv.commands.compare import _is_result_better
from tabulate import tabulate

import benchmarks.harness.formats as formats
from benchmarks.harness.formats import (
    COMPARISON,
    COUNTED_UNITS,
    LEGEND,
    NOT_CONFIRMED,
    REGRESSION_MARKS,
    timed_title,
)

from .asvdata import Row

ORDER = {"!": 0, "+": 1, "?": 2, "-": 3, "x": 4, "~": 5, "": 6}  # regressions first (formats.MARKS)
THRESHOLD = 0.01  # a counted benchmark's change of 1 % or more is real: its spread on one commit is 0.2 % at most
FACTOR = 1.05  # the ratio a timed change must pass before asv's test counts (asv's default 1.1 lets 5-10 % by)


def counted(row: Row) -> bool:
    return row.unit in COUNTED_UNITS


@dataclass(frozen=True)
class Change:
    label: str
    env: str
    unit: str
    base: float | None
    head: float | None
    mark: str
    key: tuple = ()  # the row's (benchmark, params, env)
    python: str = ""  # the environment's Python version: what a reader needs of the (long) environment name
    remeasured: bool = False  # timed, flagged by a first comparison and measured again: its values are the second's

    @property
    def counted(self) -> bool:
        return self.unit in COUNTED_UNITS

    @property
    def ratio(self) -> float:
        if self.base is None or self.head is None or not self.base or math.isnan(self.base):
            return math.nan
        return self.head / self.base

    @property
    def regression(self) -> bool:
        return self.mark in REGRESSION_MARKS


def better(a: Row, b: Row, factor: float) -> bool:
    """asv's own verdict that ``a`` is significantly better (lower) than ``b``: the ratio beyond ``factor``, and
    asv's test on the two samples (Mann-Whitney) or intervals. The one place this module calls asv's private
    ``_is_result_better`` (what ``asv compare`` and ``asv continuous`` use): tests pin its behaviour, so that an
    asv upgrade that changes it is noticed."""
    return _is_result_better(a.value, b.value, (a.stats, a.samples), (b.stats, b.samples), factor)


def _testable(row: Row) -> bool:
    # asv's own condition for running its test: statistics (none for track_*), from more than one sample.
    return bool(row.stats) and row.stats.get("repeat", 0) != 1


def mark(base: Row, head: Row, factor: float, threshold: float = THRESHOLD, whole: float | None = None) -> str:
    """The verdict on one benchmark between two commits: by ratio for a counted one, else asv's. ``whole``: the
    base's count that this counted benchmark is a part of (``formats.PART_OF``), which its change is judged
    against."""
    if head.status == "failed" and base.status != "failed":
        return "!"
    if base.status == "failed" and head.status != "failed":
        return "x"
    if base.status != "ok" or head.status != "ok":
        return ""
    if counted(head):
        if whole is not None:
            ratio = (whole + head.value - base.value) / whole if whole else math.nan
        else:
            ratio = head.value / base.value if base.value else math.nan
        return "+" if ratio >= 1 + threshold else "-" if ratio <= 1 / (1 + threshold) else ""
    testable = _testable(base) and _testable(head)
    if testable and better(head, base, factor):
        return "-"
    if testable and better(base, head, factor):
        return "+"
    ratio = head.value / base.value if base.value else math.nan
    if ratio > factor or ratio < 1 / factor:
        return "~"
    return ""


def whole_value(row: Row, rows: dict[tuple, Row]) -> float | None:
    """The value, among ``rows`` (by key), of the count ``row`` is a part of; None when it is no part, or when
    that count is not there as a number (then the part is judged by its own ratio)."""
    whole = formats.whole_of(row.benchmark)
    found = rows.get((whole, row.params, row.env)) if whole else None
    return found.value if found is not None and found.status == "ok" else None


def compare(base_rows: Iterable[Row], head_rows: Iterable[Row], factor: float = FACTOR, threshold: float = THRESHOLD,
            flagged_before: dict[tuple, str] | None = None) -> list[Change]:
    """Every benchmark present on both commits: counted ones first, and in each kind regressions first, then
    improvements, then the rest.

    A timed ``+`` or ``-`` from asv's rule is one measurement's: ``?``, unless ``flagged_before`` confirms it.
    That is {key: mark} of the timed benchmarks a first comparison flagged, which were then measured again: a
    mark stands only where the first comparison gave the same one; any other row it names is ``~`` (measured
    again, not confirmed), unless it failed.
    """
    base = {row.key: row for row in base_rows}
    changes = []
    for row in head_rows:
        old = base.get(row.key)
        if old is None or (old.status == "skipped" and row.status == "skipped"):
            continue  # not measured on both (asv writes NaN for a parameter combination left out of a run)
        verdict = mark(old, row, factor, threshold, whole_value(row, base))
        remeasured = not counted(row) and flagged_before is not None and row.key in flagged_before
        if not counted(row) and verdict in ("+", "-"):
            if flagged_before is None:
                verdict = "?"
            elif flagged_before.get(row.key) != verdict:
                verdict = "~"  # flagged by one of the two measurements only, or each way once
        elif remeasured and verdict == "":
            verdict = "~"  # flagged by the first measurement; within the factor in the second
        changes.append(Change(row.label, row.env, row.unit, old.value, row.value, verdict, row.key, row.python,
                              remeasured))
    return sorted(changes, key=lambda c: (not c.counted, ORDER[c.mark],
                                          -(c.ratio if not math.isnan(c.ratio) else 0), c.label))


@dataclass(frozen=True)
class Dependencies:
    """What differs in one Python's installed versions between the two sides (see ``asvdata.dependencies``)."""

    python: str
    moved: tuple[tuple[str, str | None, str | None], ...] = ()  # (package, base version, head version); None: absent
    base_error: str = ""  # pip's reason when a side could not be installed with its pins
    head_error: str = ""


def dependencies(base: dict[str, dict], head: dict[str, dict], pythons: dict[str, str]) -> list[Dependencies]:
    """Per environment, the packages whose version differs between the two sides' records, and either side's
    install error; an environment where nothing differs and nothing failed is left out (as is one recorded on
    one side only). ``pythons``: environment name -> Python version."""
    found = []
    for env in sorted(set(base) | set(head)):
        old, new = base.get(env, {}), head.get(env, {})
        before, after = old.get("packages") or {}, new.get("packages") or {}
        names = sorted(set(before) | set(after), key=str.lower) if before and after else []
        moved = tuple((name, before.get(name), after.get(name)) for name in names
                      if before.get(name) != after.get(name))
        entry = Dependencies(pythons.get(env, env), moved, old.get("error", ""), new.get("error", ""))
        if moved or entry.base_error or entry.head_error:
            found.append(entry)
    return found


def builds(base: dict[str, dict], head: dict[str, dict], pythons: dict[str, str],
           base_name: str, head_name: str) -> list[str]:
    """One line per Python: the build each side's benchmarks ran, as the install records name it (asv's
    environments record it since 2026-12-07; older results name none)."""
    lines = []
    for env in sorted(set(base) | set(head)):
        sides = [f"{name} ran {formats.describe_build(record[env]['build'])}" for name, record in
                 ((base_name, base), (head_name, head)) if record.get(env, {}).get("build")]
        if sides:
            lines.append(f"Python {pythons.get(env, env)}: " + "; ".join(sides))
    return lines


def _span(ratios: list[float]) -> str:
    shown = sorted({f"{100 * (ratio - 1):+.1f} %" for ratio in ratios if not math.isnan(ratio)},
                   key=lambda text: float(text[:-2]))
    return f" ({shown[0]})" if len(shown) == 1 else f" ({shown[0]} to {shown[-1]})" if shown else ""


def dependency_lines(found: list[Dependencies], changes: Iterable[tuple[str, str, float]], base_name: str,
                     head_name: str) -> list[str]:
    """One line per Python whose versions differ, with the benchmark changes beside them: ``changes`` are (Python,
    mark, ratio) of every compared benchmark. pipeline.comment renders the comment's lines the same way."""
    changes = list(changes)
    lines = []
    for entry in found:
        for name, error in ((base_name, entry.base_error), (head_name, entry.head_error)):
            if error:
                lines.append(f"Python {entry.python}: {name} could not be installed with its pins: {error.rstrip('.')}")
        if not entry.moved:
            continue
        moved = ", ".join(f"{package} {old or 'none'} -> {new or 'none'}" for package, old, new in entry.moved)
        marks = [(mark, ratio) for python, mark, ratio in changes if python == entry.python]
        slower = [ratio for mark, ratio in marks if mark == "+"]
        faster = [ratio for mark, ratio in marks if mark == "-"]
        effect = " and ".join(part for part in (
            slower and f"{len(slower)} slower{_span(slower)}", faster and f"{len(faster)} faster{_span(faster)}")
            if part) or "nothing marked"
        lines.append(f"Python {entry.python}: {moved}: {effect}, of {len(marks)} compared")
    return lines


def flagged_timed(changes: Iterable[Change]) -> list[Change]:
    """The timed benchmarks asv's rule flagged in one measurement, slower or faster (``?``): what a confirmation
    measures again."""
    return [change for change in changes if change.mark == "?" and not change.counted]


def flags(changes: Iterable[Change]) -> list:
    """The first comparison's flags as JSON can carry them, for ``compare(flagged_before=...)``: [benchmark,
    params, env, mark] each. asv's rule flags only a ratio beyond the factor, so the ratio says which way."""
    return [[change.key[0], list(change.key[1]), change.key[2], "+" if change.ratio > 1 else "-"]
            for change in flagged_timed(changes)]


def read_flags(data) -> dict[tuple, str]:
    """``flags``'s list back as ``flagged_before``: {key: mark}."""
    return {(name, tuple(params), env): flag for name, params, env, flag in data}


def bench_regex(changes: Iterable[Change]) -> str:
    """An asv ``--bench`` regex selecting exactly these benchmarks and parameter combinations."""
    names = sorted({change.key[0] + (f"({', '.join(change.key[1])})" if change.key[1] else "")
                    for change in changes})
    return "|".join(f"^{re.escape(name)}$" for name in names)


def format_value(value: float | None, unit: str) -> str:
    """An asv value as the tables print it: asv's null is a failure, its NaN a skip (NotImplementedError in setup,
    or a combination left out of the run)."""
    status = "failed" if value is None else "skipped" if math.isnan(value) else "ok"
    return formats.format_value(value, status, unit)


def _table(changes: list[Change], base_name: str, head_name: str, digits: int) -> str:
    rows = [[c.mark, c.label, c.python or c.env, format_value(c.base, c.unit), format_value(c.head, c.unit),
             "" if math.isnan(c.ratio) else f"{c.ratio:.{digits}f}"] for c in changes]
    return tabulate(rows, ["", "benchmark", "Python", base_name, head_name, "ratio"], tablefmt="github",
                    disable_numparse=True)




def markdown(changes: list[Change], base_name: str, head_name: str, factor: float,
             threshold: float = THRESHOLD, confirmed: bool = False, deps: list[Dependencies] = (),
             built: list[str] = ()) -> str:
    """The verdict, the builds measured (``builds``), the dependency versions that differ, then the counted
    benchmarks' table, then the timed benchmarks' with the rows measured again and not confirmed named under
    it."""
    regressions = sum(c.regression for c in changes)
    verdict = (f"**{regressions} significant regression(s)**" if regressions
               else "No significant regression")
    flagged = sum(c.mark == "?" for c in changes)
    pending = (f" {flagged} timed benchmark(s) flagged by asv's rule in one measurement, not confirmed: "
               "`make compare` measures them again." if flagged else "")
    parts = [f"{verdict} between `{base_name}` and `{head_name}`.{pending} Marks: {LEGEND}."]
    if built:
        parts.append("**Builds** (what each side's benchmarks ran, checked before they counted):\n\n"
                     + "\n".join(f"- {line}." for line in built))
    lines = dependency_lines(deps, ((c.python, c.mark, c.ratio) for c in changes), base_name, head_name)
    if lines:
        parts.append("**Dependencies** (each side measured with the versions its constraints.txt pins):\n\n"
                     + "\n".join(f"- {line}." for line in lines))
    counted_rows = [c for c in changes if c.counted]
    timed_rows = [c for c in changes if not c.counted]
    if counted_rows:
        parts.append(formats.counted_title(threshold) + "\n\n" + _table(counted_rows, base_name, head_name, 4))
    if timed_rows:
        parts.append(timed_title(factor, confirmed) + "\n\n" + _table(timed_rows, base_name, head_name, 2))
    unconfirmed = [f"`{c.label}` (Python {c.python or c.env})" for c in timed_rows if c.remeasured and c.mark == "~"]
    if unconfirmed:
        parts.append(NOT_CONFIRMED + ", ".join(unconfirmed) + ".")
    return "\n\n".join(parts) + "\n"


def _side(value: float | None) -> tuple[float | None, str]:
    """One side's value as JSON can carry it: a finite number, or null with why ("failed", or "skipped": asv's NaN,
    which JSON has no spelling for)."""
    if value is None:
        return None, "failed"
    if not math.isfinite(value):
        return None, "skipped"
    return value, "ok"


def as_data(changes: list[Change], base: tuple[str, str], head: tuple[str, str], factor: float,
            threshold: float = THRESHOLD, confirmed: bool = False, deps: list[Dependencies] = ()) -> dict:
    """The comparison as versioned data, from the same records as ``markdown``: ``base`` and ``head`` are each
    (name as given, full commit hash). Only finite numbers and null: ``json.dumps(..., allow_nan=False)`` holds."""
    rows = []
    for change in changes:
        (base_value, base_status), (head_value, head_status) = _side(change.base), _side(change.head)
        rows.append({"mark": change.mark, "benchmark": change.label, "python": change.python, "unit": change.unit,
                     "counted": change.counted, "base": base_value, "head": head_value,
                     "base_status": base_status, "head_status": head_status, "remeasured": change.remeasured})
    return {"schema": COMPARISON.schema, "version": COMPARISON.version,
            "base": {"name": base[0], "commit": base[1]}, "head": {"name": head[0], "commit": head[1]},
            "factor": factor, "threshold": threshold, "confirmed": confirmed, "changes": rows,
            "dependencies": [{"python": entry.python, "base_error": entry.base_error, "head_error": entry.head_error,
                              "moved": [{"name": name, "base": old, "head": new} for name, old, new in entry.moved]}
                             for entry in deps],
            "attribution": []}  # filled by python -m reports attribution, for the flagged counted benchmarks
