"""The pull-request comment: rendered here from the comparison's data, posted (or updated) through GitHub's API.

The artifact comes from a run on the pull request's code, which may be a fork's: it is data, never code, and
never text to post. Its files are size-capped before they are read; its PR number is checked to be a number and
its commit to be the one the run measured; the comparison (``python -m reports compare --json``) is validated
field by field (schema and version, marks, benchmark labels, units, finite numbers, row count) and every string
from it is escaped before it goes into the comment. The comment's first lines are this code's own: the run's
conclusion as GitHub gave it to the comment workflow, then the verdict counted from the validated rows.

Standard library only: the comment workflow runs this under a bare ``python3`` (nothing installed).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
import string
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

from benchmarks.harness.formats import (
    COMPARISON,
    COUNTED_UNITS,
    LEGEND,
    MARKS,
    NOT_CONFIRMED,
    REGRESSION_MARKS,
    counted_title,
    format_value,
)

from .errors import PipelineError

MARKER = "<!-- planet-tracker-benchmarks -->"
MAX_BODY = 60000  # GitHub refuses comments over 65,536 characters
BOT = "github-actions[bot]"  # who posts with the workflow's token: whose comment is "ours"

# What the artifact may hold, and how much of it.
PR_FILE, COMPARISON_FILE = "pr.json", "compare.json"
GRAPHS = "attribution"  # the flame graphs, for whoever downloads the artifact
MAX_PR_BYTES = 4096
MAX_COMPARISON_BYTES = 1_000_000
MAX_ROWS = 1000
MAX_PAGES = 100  # of 100 comments each

# The comparison's format, marks and how a value is shown are formats' (standard library only, as this module).
UNITS = ("seconds", "instructions", "ms", "ratio", "bytes", "unit")
STATUSES = ("ok", "failed", "skipped")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/~^-]{0,99}")  # a commit as given to the comparison: main, HEAD, a hash
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_FULL_COMMIT = re.compile(r"[0-9a-f]{40}")
# asv's benchmark name (module.Class.method), then its parameters: servers.ServerThroughput.time_batch(flask-dev)
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+(\([A-Za-z0-9_.,() -]*\))?")
MAX_LABEL = 200
_PYTHON = re.compile(r"(\d{1,2}\.\d{1,3})?")
_ROW_KEYS = {"mark", "benchmark", "python", "unit", "counted", "base", "head", "base_status", "head_status",
             "remeasured"}
_TOP_KEYS = {"schema", "version", "base", "head", "factor", "threshold", "confirmed", "changes", "dependencies",
             "attribution"}
# Attribution: per flagged benchmark, its target and the top functions of each kind with [base, head] per unit.
_ATTRIBUTION_KEYS = {"benchmark", "target", "unit", "python", "c"}
_FUNCTION_KEYS = {"name", "calls", "self", "inclusive"}
_FUNCTION = re.compile(r"[^\x00-\x1f\x7f]{1,200}")  # a function's name: any printable text, escaped when shown
_TARGET = re.compile(r"[a-z0-9][a-z0-9:_-]{0,99}")
MAX_ATTRIBUTED, MAX_FUNCTIONS = 20, 10
MAX_ATTRIBUTION = 20_000  # characters of the comment given to attribution; the rest is cut, with a note
_DEPENDENCY_KEYS = {"python", "base_error", "head_error", "moved"}
_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a distribution's name (PEP 508)
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]{0,63}")  # a version as installed (PEP 440, or a local one)
MAX_PACKAGES = 500
MAX_ERROR = 500

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


def artifact(out: Path, pr: str, head_sha: str, compare_json: Path, graphs: Path | None = None) -> None:
    """What the comparison run hands to the comment workflow: whose it is (pr.json) and the comparison's data as
    ``reports compare --json`` wrote it (copied as is; none when the comparison wrote none); and, for the reader
    who downloads it (the comment workflow never reads them), the markdown table beside the JSON and the
    attribution's flame graphs (``graphs``: reports/attribution)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / PR_FILE).write_text(json.dumps({"number": int(pr), "head_sha": head_sha}) + "\n")
    for source, target in ((compare_json, out / COMPARISON_FILE),
                           (compare_json.with_suffix(".md"), out / compare_json.with_suffix(".md").name)):
        if source.is_file():
            target.write_bytes(source.read_bytes())
        else:
            target.unlink(missing_ok=True)
    shutil.rmtree(out / GRAPHS, ignore_errors=True)
    for svg in sorted(graphs.glob("*.svg")) if graphs and graphs.is_dir() else []:
        (out / GRAPHS).mkdir(exist_ok=True)
        (out / GRAPHS / svg.name).write_bytes(svg.read_bytes())


# -- reading the artifact ----------------------------------------------------------------------------------------


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key in {sorted(keys)[:5]}")
    return dict(pairs)


def read_json(path: Path, limit: int):
    """A JSON file from the artifact: a regular file of at most ``limit`` bytes (checked before reading), strict
    JSON (no NaN or Infinity, no duplicate keys)."""
    try:
        info = path.lstat()
    except OSError as error:
        raise PipelineError(f"artifact has no readable {path.name}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise PipelineError(f"artifact's {path.name} is not a regular file")
    if info.st_size > limit:
        raise PipelineError(f"artifact's {path.name} is {info.st_size} bytes, over the limit of {limit}: not read")
    try:
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except OSError as error:
        raise PipelineError(f"artifact has no readable {path.name}: {error.strerror}") from None
    if len(raw) > limit:
        raise PipelineError(f"artifact's {path.name} is over the limit of {limit} bytes: not read")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise PipelineError(f"artifact's {path.name} is not valid JSON: {_oneline(error)}") from None


def read_pr(folder: Path, expected_head: str) -> int:
    """The PR number from the artifact, after checking that it is one and that the artifact is for this run."""
    try:
        data = read_json(folder / PR_FILE, MAX_PR_BYTES)
        number, head = data["number"], data["head_sha"]
    except (KeyError, TypeError) as error:
        raise PipelineError(f"artifact has no readable pr.json: {_oneline(error)}") from None
    if type(number) is not int or not 1 <= number < 10**9:
        raise PipelineError(f"artifact's PR number is not a number: {_show(number)}")
    if not isinstance(head, str) or not _FULL_COMMIT.fullmatch(head) or head != expected_head:
        raise PipelineError(f"artifact is for commit {_show(head)}, not the run's {_show(expected_head)}")
    return number


def read_comparison(folder: Path, head_sha: str | None = None) -> dict | None:
    """The artifact's comparison, validated (see ``validate_comparison``); None when the run wrote none."""
    path = folder / COMPARISON_FILE
    if not path.exists() and not path.is_symlink():
        return None
    return validate_comparison(read_json(path, MAX_COMPARISON_BYTES), head_sha)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _oneline(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]


def _fail(what: str):
    raise PipelineError(f"artifact's comparison refused: {what}")


def _number(value) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _keys(value, expected: set, where: str) -> None:
    if not isinstance(value, dict):
        _fail(f"{where} is not an object")
    if value.keys() != expected:
        missing, extra = sorted(expected - value.keys()), sorted(value.keys() - expected)
        _fail(f"{where}: " + "; ".join(part for part in (missing and f"missing {', '.join(missing)}",
                                                         extra and f"unexpected {_show(extra)}") if part))


def _commit(value, where: str) -> dict:
    _keys(value, {"name", "commit"}, where)
    name, commit = value["name"], value["commit"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        _fail(f"{where}.name is not a commit's name: {_show(name)}")
    if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        _fail(f"{where}.commit is not a commit hash: {_show(commit)}")
    return {"name": name, "commit": commit}


def _row(row, i: int) -> dict:
    where = f"changes[{i}]"
    _keys(row, _ROW_KEYS, where)
    mark, label, python, unit = row["mark"], row["benchmark"], row["python"], row["unit"]
    if mark == " ":
        mark = ""
    if not isinstance(mark, str) or mark not in MARKS:
        _fail(f"{where}.mark is not one of {' '.join(MARKS)}: {_show(mark)}")
    if not isinstance(label, str) or len(label) > MAX_LABEL or not _LABEL.fullmatch(label):
        _fail(f"{where}.benchmark is not a benchmark's name (module.Class.method(parameters)): {_show(label)}")
    if not isinstance(python, str) or not _PYTHON.fullmatch(python):
        _fail(f"{where}.python is not a Python version: {_show(python)}")
    if not isinstance(unit, str) or unit not in UNITS:
        _fail(f"{where}.unit is not one of {', '.join(UNITS)}: {_show(unit)}")
    if row["counted"] is not (unit in COUNTED_UNITS):
        _fail(f"{where}.counted is not {unit in COUNTED_UNITS} for unit {unit}: {_show(row['counted'])}")
    if not isinstance(row["remeasured"], bool) or (row["remeasured"] and row["counted"]):
        _fail(f"{where}.remeasured is not false, or true for a timed benchmark: {_show(row['remeasured'])}")
    clean = {"mark": mark, "benchmark": label, "python": python, "unit": unit, "counted": row["counted"],
             "remeasured": row["remeasured"]}
    for side in ("base", "head"):
        value, status = row[side], row[f"{side}_status"]
        if status not in STATUSES:
            _fail(f"{where}.{side}_status is not one of {', '.join(STATUSES)}: {_show(status)}")
        if status == "ok" and not _number(value):
            _fail(f"{where}.{side} is not a finite number: {_show(value)}")
        if status != "ok" and value is not None:
            _fail(f"{where}.{side} is {_show(value)} for status {status} (null expected)")
        clean[side], clean[f"{side}_status"] = value, status
    return clean


def _dependencies(entry, i: int) -> dict:
    where = f"dependencies[{i}]"
    _keys(entry, _DEPENDENCY_KEYS, where)
    python, moved = entry["python"], entry["moved"]
    if not isinstance(python, str) or not _PYTHON.fullmatch(python):
        _fail(f"{where}.python is not a Python version: {_show(python)}")
    for side in ("base_error", "head_error"):
        if not isinstance(entry[side], str) or len(entry[side]) > MAX_ERROR:
            _fail(f"{where}.{side} is not a text of at most {MAX_ERROR} characters")
    if not isinstance(moved, list) or len(moved) > MAX_PACKAGES:
        _fail(f"{where}.moved is not a list of at most {MAX_PACKAGES} packages")
    clean = []
    for j, package in enumerate(moved):
        _keys(package, {"name", "base", "head"}, f"{where}.moved[{j}]")
        if not isinstance(package["name"], str) or not _PACKAGE.fullmatch(package["name"]):
            _fail(f"{where}.moved[{j}].name is not a package's name: {_show(package['name'])}")
        for side in ("base", "head"):
            version = package[side]
            if version is not None and (not isinstance(version, str) or not _VERSION.fullmatch(version)):
                _fail(f"{where}.moved[{j}].{side} is not a version: {_show(version)}")
        clean.append({"name": package["name"], "base": package["base"], "head": package["head"]})
    return {"python": python, "base_error": entry["base_error"], "head_error": entry["head_error"], "moved": clean}


def _attribution(entry, i: int) -> dict:
    where = f"attribution[{i}]"
    _keys(entry, _ATTRIBUTION_KEYS, where)
    label, target, unit = entry["benchmark"], entry["target"], entry["unit"]
    if not isinstance(label, str) or len(label) > MAX_LABEL or not _LABEL.fullmatch(label):
        _fail(f"{where}.benchmark is not a benchmark's name: {_show(label)}")
    if not isinstance(target, str) or not _TARGET.fullmatch(target):
        _fail(f"{where}.target is not a target's name: {_show(target)}")
    if unit not in ("request", "call"):
        _fail(f"{where}.unit is not request or call: {_show(unit)}")
    clean = {"benchmark": label, "target": target, "unit": unit}
    for kind in ("python", "c"):
        functions = entry[kind]
        if not isinstance(functions, list) or len(functions) > MAX_FUNCTIONS:
            _fail(f"{where}.{kind} is not a list of at most {MAX_FUNCTIONS} functions")
        clean[kind] = []
        for j, function in enumerate(functions):
            _keys(function, _FUNCTION_KEYS, f"{where}.{kind}[{j}]")
            if not isinstance(function["name"], str) or not _FUNCTION.fullmatch(function["name"]):
                _fail(f"{where}.{kind}[{j}].name is not a function's name")
            for key in ("calls", "self", "inclusive"):
                pair = function[key]
                if not isinstance(pair, list) or len(pair) != 2 or not all(map(_number, pair)):
                    _fail(f"{where}.{kind}[{j}].{key} is not two finite numbers")
            clean[kind].append({key: function[key] for key in _FUNCTION_KEYS})
    return clean


def validate_comparison(data, head_sha: str | None = None) -> dict:
    """The comparison's data checked field by field, or a PipelineError with one line saying what is wrong;
    ``head_sha``, when given, must be the comparison's head commit. Returns a clean copy (" " marks as "")."""
    if not isinstance(data, dict) or data.get("schema") != COMPARISON.schema:
        _fail(f"not a {COMPARISON.schema} document")
    version = data.get("version")
    if type(version) is not int or version not in COMPARISON.readable:
        _fail(f"schema version {_show(version)}; this code reads version {COMPARISON.version}")
    _keys(data, _TOP_KEYS, "the document")
    base, head = _commit(data["base"], "base"), _commit(data["head"], "head")
    if head_sha is not None and not head_sha.startswith(head["commit"]):
        _fail(f"its head {head['commit']} is not the run's {_show(head_sha)}")
    factor, threshold, confirmed = data["factor"], data["threshold"], data["confirmed"]
    if not _number(factor) or not 1 <= factor <= 10:
        _fail(f"factor is not a number from 1 to 10: {_show(factor)}")
    if not _number(threshold) or not 0 < threshold < 1:
        _fail(f"threshold is not a fraction: {_show(threshold)}")
    if not isinstance(confirmed, bool):
        _fail(f"confirmed is not true or false: {_show(confirmed)}")
    changes = data["changes"]
    if not isinstance(changes, list):
        _fail("changes is not a list")
    if len(changes) > MAX_ROWS:
        _fail(f"{len(changes)} rows, over the limit of {MAX_ROWS}")
    deps, attributed = data["dependencies"], data["attribution"]
    if not isinstance(deps, list) or len(deps) > 10:
        _fail("dependencies is not a list of at most 10 Pythons")
    if not isinstance(attributed, list) or len(attributed) > MAX_ATTRIBUTED:
        _fail(f"attribution is not a list of at most {MAX_ATTRIBUTED} benchmarks")
    return {"schema": COMPARISON.schema, "version": COMPARISON.version, "base": base, "head": head, "factor": factor,
            "threshold": threshold, "confirmed": confirmed,
            "changes": [_row(row, i) for i, row in enumerate(changes)],
            "dependencies": [_dependencies(entry, i) for i, entry in enumerate(deps)],
            "attribution": [_attribution(entry, i) for i, entry in enumerate(attributed)]}


# -- rendering ---------------------------------------------------------------------------------------------------

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
    for the bare python3, as format_value is; tests/test_github.py checks that the two agree."""
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


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}".rstrip("0").rstrip(".")


def _pair(pair: list) -> str:
    delta = pair[1] - pair[0]
    return f"{_amount(pair[0])} → {_amount(pair[1])} ({'+' if delta >= 0 else '-'}{_amount(abs(delta))})"


def attribution_block(comparison: dict, run_url: str = "", limit: int = MAX_ATTRIBUTION) -> str:
    """Where each flagged counted benchmark changed: reports.attribution's tables, from validated data (names
    escaped), within ``limit`` characters; what does not fit is cut, with a pointer to the run's artifact."""
    kinds = {"python": ("Python function", "bytecodes"), "c": ("C function", "instructions")}
    blocks = []
    for entry in comparison["attribution"]:
        unit = entry["unit"]
        parts = [f"**Where: {escape(entry['benchmark'])}**, base → head per {unit} (profiles of "
                 f"{escape(entry['target'])}):"]
        for kind, (title, cost) in kinds.items():
            if entry[kind]:
                rows = [f"| {escape(f['name'])} | {_pair(f['calls'])} | {_pair(f['self'])} | {_pair(f['inclusive'])} |"
                        for f in entry[kind]]
                parts.append(f"| {title} | calls per {unit} | self, {cost} per {unit} | with callees |\n"
                             "|---|---|---|---|\n" + "\n".join(rows))
        blocks.append("\n\n".join(parts))
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


def timed_title(factor: float, confirmed: bool) -> str:
    """reports.compare.timed_title, written again for the bare python3 (tests/test_github.py checks the two agree):
    how the wall-clock marks were decided."""
    how = ("measured again, both commits interleaved, where the first measurement flagged a change: + or - only "
           "when the second flags it the same way" if confirmed
           else "one measurement: what it flags is ? until `make compare` measures it again")
    return f"**Wall-clock** (asv's rule, factor {factor:g}; {how}):"


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


# -- GitHub's API ------------------------------------------------------------------------------------------------


def next_link(header: str) -> str | None:
    """The rel="next" address of GitHub's ``Link`` header (``<url>; rel="next", <url>; rel="last"``), if any."""
    for url, rels in re.findall(r'<([^<>\s]+)>\s*;\s*rel="([^"]*)"', header or ""):
        if "next" in rels.split():
            return url
    return None


class Api:
    """Just the calls the comment needs."""

    def __init__(self, repo: str, token: str, base: str | None = None) -> None:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            raise PipelineError(f"not a repository name: {repo!r}")
        self.repo, self.token = repo, token
        self.base = (base or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")

    def call(self, method: str, path: str, payload: dict | None = None):
        """``path`` under the repository: its JSON."""
        return self.send(method, f"{self.base}/repos/{self.repo}{path}", payload)[0]

    def send(self, method: str, url: str, payload: dict | None = None) -> tuple[object, Message]:
        """Any address under the API's base (the token goes nowhere else): its JSON and the response's headers."""
        if not url.startswith(self.base + "/"):
            raise PipelineError(f"not an address of the GitHub API at {self.base}: {_show(url)}")
        what = f"{method} {url[len(self.base):].split('?')[0]}"
        request = urllib.request.Request(
            url, method=method, data=None if payload is None else json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                     "Content-Type": "application/json", "X-GitHub-Api-Version": "2022-11-28"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null"), response.headers
        except urllib.error.HTTPError as error:
            raise PipelineError(f"GitHub API {what}: {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise PipelineError(f"GitHub API {what}: {error.reason}") from None
        except ValueError as error:
            raise PipelineError(f"GitHub API {what}: not JSON: {_oneline(error)}") from None

    def pages(self, path: str) -> Iterator[list]:
        """Every page of a list under the repository, following the ``Link`` header's rel="next"."""
        url = f"{self.base}/repos/{self.repo}{path}"
        for _ in range(MAX_PAGES):
            items, headers = self.send("GET", url)
            if not isinstance(items, list):
                raise PipelineError(f"GitHub API GET {path}: not a list")
            yield items
            url = next_link(headers.get("Link", ""))
            if url is None:
                return
        raise PipelineError(f"GitHub API GET {path}: more than {MAX_PAGES} pages")


def find_comment(api: Api, number: int, login: str = BOT) -> dict | None:
    """This project's comment on the PR: the first, over all pages, that starts with the marker and was posted by
    ``login`` (anyone, a bot included, can start a comment with the marker)."""
    for page in api.pages(f"/issues/{number}/comments?per_page=100"):
        for comment in page:
            if (isinstance(comment, dict) and isinstance(comment.get("body"), str)
                    and comment["body"].startswith(MARKER) and isinstance(comment.get("user"), dict)
                    and comment["user"].get("login") == login and type(comment.get("id")) is int):
                return comment
    return None


def upsert_comment(api: Api, number: int, head_sha: str, text: str, login: str = BOT) -> str:
    """Update this project's comment on the PR, or create it: one comment per PR. Returns "created"/"updated"."""
    pull = api.call("GET", f"/pulls/{number}")
    if not isinstance(pull, dict) or not isinstance(pull.get("head"), dict) or pull["head"].get("sha") != head_sha:
        raise PipelineError(f"PR #{number} has moved on from {head_sha[:8]}: not commenting on old results")
    mine = find_comment(api, number, login)
    if mine is not None:
        api.call("PATCH", f"/issues/comments/{mine['id']}", {"body": text})
        return "updated"
    api.call("POST", f"/issues/{number}/comments", {"body": text})
    return "created"
