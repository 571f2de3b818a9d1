"""The pull-request comment: rendered from the comparison's validated data (``artifact``), every string from it
escaped; its first lines are this code's own: the run's conclusion as GitHub gave it to the comment workflow,
then the verdict counted from the validated rows. Posted or updated by ``api``.

Standard library only: the comment workflow runs this under a bare ``python3`` (nothing installed).
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from benchmarks.harness.formats import (
    LEGEND,
    NOT_CONFIRMED,
    REGRESSION_MARKS,
    counted_title,
    format_change,
    format_value,
    timed_title,
)

from .artifact import _FULL_COMMIT, read_comparison
from .errors import PipelineError
from .errors import show as _show

MARKER = "<!-- planet-tracker-benchmarks -->"
MAX_BODY = 60000  # GitHub refuses comments over 65,536 characters
MAX_ATTRIBUTION = 20_000  # characters of the comment given to attribution; the rest is cut, with a note

# GitHub's workflow_run.conclusion, as the comment workflow passes it: what the header says of each.
CONCLUSIONS = {
    "success": "**succeeded**",
    "failure": "**failed** (a regression, or an error)",
    "cancelled": "was **cancelled**",
    "timed_out": "**timed out**",
    "startup_failure": "**failed to start**",
    "action_required": "is **waiting for approval**",
    "neutral": "ended **neutral**",
    "skipped": "was **skipped**",
    "stale": "is **stale**",
}
_RUN_URL = re.compile(r"https://[A-Za-z0-9.-]+(:\d{1,5})?/[\w.-]+/[\w.-]+/actions/runs/\d+(/attempts/\d+)?")



_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;",
             # GitHub links @names and #numbers in the rendered text, whatever the markdown escapes: a zero-width
             # space after the sign breaks the link (and so the notification), and shows nothing.
             "@": "@&#8203;", "#": "#&#8203;"}


def escape(text: str) -> str:
    """Text from the artifact as literal text in a markdown table cell: no markup, HTML, link, image, mention
    or issue reference survives (every ASCII punctuation character escaped, ``|`` included; ``&``, ``<`` and
    ``>`` as entities; ``@`` and ``#`` followed by a zero-width space); line breaks and other control or
    invisible formatting characters become U+FFFD."""
    out = []
    for char in text:
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in string.punctuation:
            out.append("\\" + char)
        elif not char.isprintable():
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def _ratio(row: dict, digits: int) -> str:
    if row["base_status"] != "ok" or row["head_status"] != "ok" or not row["base"]:
        return ""
    return f"{row['head'] / row['base']:.{digits}f}"


def _line(row: dict) -> str:
    digits = 4 if row["counted"] else 2
    # The values are this code's formatting of validated numbers with a unit from UNITS: nothing to escape.
    cells = [escape(row["mark"]), escape(row["benchmark"]), escape(row["python"]),
             format_value(row["base"], row["base_status"], row["unit"]),
             format_value(row["head"], row["head_status"], row["unit"]), _ratio(row, digits)]
    return "| " + " | ".join(cells) + " |"


def _percent_span(ratios: list[float]) -> str:
    shown = sorted({f"{100 * (ratio - 1):+.1f} %" for ratio in ratios}, key=lambda text: float(text[:-2]))
    return f" ({shown[0]})" if len(shown) == 1 else f" ({shown[0]} to {shown[-1]})" if shown else ""


def dependency_lines(comparison: dict, base_name: str, head_name: str) -> list[str]:
    """reports.compare.dependency_lines, from validated data (escaped): per Python, a side that could not be
    installed with its pins, and the versions that differ with the benchmark marks beside them. Written again
    for the bare python3, as format_value is; tests/pipeline/test_comment.py checks that the two agree."""
    lines = []
    for entry in comparison["dependencies"]:
        python = escape(entry["python"])
        for name, error in ((base_name, entry["base_error"]), (head_name, entry["head_error"])):
            if error:
                lines.append(f"Python {python}: {name} could not be installed with its pins: "
                             + escape(error.rstrip(".")))
        if not entry["moved"]:
            continue
        moved = ", ".join(escape(f"{p['name']} {p['base'] or 'none'} -> {p['head'] or 'none'}") for p in entry["moved"])
        rows = [row for row in comparison["changes"] if row["python"] == entry["python"]]
        ratios = {mark: [row["head"] / row["base"] for row in rows if row["mark"] == mark and row["base_status"] == "ok"
                         and row["head_status"] == "ok" and row["base"]] for mark in ("+", "-")}
        counts = {mark: sum(row["mark"] == mark for row in rows) for mark in ("+", "-")}
        effect = " and ".join(part for part in (
            counts["+"] and f"{counts['+']} slower{_percent_span(ratios['+'])}",
            counts["-"] and f"{counts['-']} faster{_percent_span(ratios['-'])}") if part) or "nothing marked"
        lines.append(f"Python {python}: {moved}: {effect}, of {len(rows)} compared")
    return lines


def attribution_tables(entries: list[dict]) -> list[str]:
    """reports.attribution's tables of each entry (a flagged benchmark's rankings, from validated data), every
    name escaped: one markdown block per entry. The comment and the regressions' issues show them."""
    kinds = {"python": ("Python function", "bytecodes"), "c": ("C function", "instructions")}
    blocks = []
    for entry in entries:
        unit = entry["unit"]
        parts = [f"**Where: {escape(entry['benchmark'])}**, base → head per {unit} (profiles of "
                 f"{escape(entry['target'])}):"]
        for kind, (title, cost) in kinds.items():
            if entry[kind]:
                rows = [f"| {escape(f['name'])} | " + " | ".join(format_change(f[key]) for key in
                                                                  ("calls", "self", "inclusive")) + " |"
                        for f in entry[kind]]
                parts.append(f"| {title} | calls per {unit} | self, {cost} per {unit} | with callees |\n"
                             "|---|---|---|---|\n" + "\n".join(rows))
        blocks.append("\n\n".join(parts))
    return blocks


def attribution_block(comparison: dict, run_url: str = "", limit: int = MAX_ATTRIBUTION) -> str:
    """Where each flagged counted benchmark changed (``attribution_tables``), within ``limit`` characters; what
    does not fit is cut, with a pointer to the run's artifact."""
    blocks = attribution_tables(comparison["attribution"])
    if not blocks:
        return ""
    where = f" ([the run]({run_url}))" if run_url else ""
    note = (f"\n\n(Attribution cut to fit the comment: the full tables and the flame graphs are in the comparison "
            f"run's artifact{where}.)")
    text = "\n\n".join(blocks)
    if len(text) <= limit:
        return text + f"\n\nFlame graphs: in the comparison run's artifact{where}."
    kept = []
    for block in blocks:
        if len("\n\n".join([*kept, block])) + len(note) > limit:
            break
        kept.append(block)
    if not kept:  # even the first block is too long: its first lines
        kept = [blocks[0][:max(0, limit - len(note) - 200)].rsplit("\n", 1)[0]]
    return "\n\n".join(kept) + note


def _side_name(side: dict) -> str:
    name, commit = side["name"], side["commit"]
    if commit.startswith(name) or name.startswith(commit):  # given as its hash: once is enough
        return escape(commit[:8])
    return escape(f"{name} ({commit[:8]})")


def header(number: int, head_sha: str, conclusion: str | None, run_url: str = "") -> str:
    """The comment's first lines, from the comment workflow's own inputs only (never from the artifact)."""
    if type(number) is not int or number < 1:
        raise PipelineError(f"not a pull request number: {_show(number)}")
    if not _FULL_COMMIT.fullmatch(head_sha):
        raise PipelineError(f"not a full commit hash: {_show(head_sha)}")
    if conclusion and conclusion not in CONCLUSIONS:
        raise PipelineError(f"not a workflow run's conclusion: {_show(conclusion)} (one of {', '.join(CONCLUSIONS)})")
    if run_url and not _RUN_URL.fullmatch(run_url):
        raise PipelineError(f"not a workflow run's address: {_show(run_url)}")
    outcome = (f"The comparison run {CONCLUSIONS[conclusion]}" if conclusion
               else "The comparison run's conclusion was not given")
    see = f": [see the run]({run_url})." if run_url else "."
    return f"{MARKER}\n### Benchmarks for #{number} at `{head_sha[:8]}`\n\n{outcome}{see}"


def render(comparison: dict | None, number: int, head_sha: str, conclusion: str | None, run_url: str = "",
           limit: int = MAX_BODY) -> str:
    """The comment: the trusted header, then the verdict counted from the validated comparison, then its tables
    (instructions, then wall-clock), with rows cut (least important first) to keep it within ``limit``."""
    top = header(number, head_sha, conclusion, run_url)
    if comparison is None:
        return f"{top}\n\nThe comparison produced no data: see the run's log.\n"
    rows = comparison["changes"]
    regressions = sum(row["mark"] in REGRESSION_MARKS for row in rows)
    verdict = f"**{regressions} regression(s)**" if regressions else "No regression"
    base, head = _side_name(comparison["base"]), _side_name(comparison["head"])
    flagged = sum(row["mark"] == "?" for row in rows)
    pending = (f" {flagged} timed benchmark(s) flagged by asv's rule in one measurement, not confirmed: "
               "`make compare` measures them again." if flagged else "")
    intro = (f"{verdict} in the comparison's data, between {base} and {head}.{pending} Marks: {LEGEND}. The tables "
             "are the pull request's own run's data, checked and escaped.")
    columns = f"|  | benchmark | Python | {base} | {head} | ratio |\n|---|---|---|---|---|---|"
    titles = {True: counted_title(comparison["threshold"]),
              False: timed_title(comparison["factor"], comparison["confirmed"])}
    lines = [_line(row) for row in rows]
    # The rows measured again and not confirmed, named under the wall-clock table (each counted in the cut below).
    notes = {i: f"{escape(row['benchmark'])} (Python {escape(row['python'])})" for i, row in enumerate(rows)
             if row["remeasured"] and row["mark"] == "~"}
    deps = dependency_lines(comparison, base, head)
    if deps:
        intro += ("\n\n**Dependencies** (each side measured with the versions its constraints.txt pins):\n\n"
                  + "\n".join(f"- {line}." for line in deps))

    where = attribution_block(comparison, run_url, min(MAX_ATTRIBUTION, limit // 3))

    def text(kept: set[int]) -> str:
        parts = [top, intro]
        for counted in (True, False):
            shown = [lines[i] for i, row in enumerate(rows) if row["counted"] is counted and i in kept]
            if shown:
                parts.append(titles[counted] + "\n\n" + columns + "\n" + "\n".join(shown))
        unconfirmed = [notes[i] for i in sorted(kept) if i in notes]
        if unconfirmed:
            parts.append(NOT_CONFIRMED + ", ".join(unconfirmed) + ".")
        if where:
            parts.append(where)
        if len(kept) < len(rows):
            parts.append(f"({len(rows) - len(kept)} of {len(rows)} rows cut to fit GitHub's limit on a comment's "
                         "length, regressions kept first: the full comparison is in the run's artifact.)")
        return "\n\n".join(parts) + "\n"

    kept = set(range(len(rows)))
    full = text(kept)
    if len(full) <= limit:
        return full
    # Regressions first, then the rest in the table's order (which puts what changed before what did not).
    priority = sorted(kept, key=lambda i: (rows[i]["mark"] not in REGRESSION_MARKS, i))
    budget, kept = limit - len(text(set())) - 2 * len(columns) - 500, set()
    for i in priority:
        cost = len(lines[i]) + 1 + (len(notes[i]) + 2 if i in notes else 0)
        if cost > budget:
            break
        budget -= cost
        kept.add(i)
    result = text(kept)
    while len(result) > limit and kept:  # not expected: the budget above leaves room; but never over the limit
        kept.discard(max(kept, key=priority.index))
        result = text(kept)
    if len(result) > limit:
        raise PipelineError(f"the comment's header alone is over {limit} characters")
    return result


def body(folder: Path, number: int, head_sha: str, conclusion: str | None, run_url: str = "") -> str:
    """The comment for the artifact in ``folder``: its comparison read, validated (its head must be
    ``head_sha``) and rendered under the header."""
    return render(read_comparison(folder, head_sha), number, head_sha, conclusion, run_url)
