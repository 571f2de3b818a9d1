"""The pull-request comparison's artifact: written by the comparison run, read and validated by the comment
workflow.

The artifact comes from a run on the pull request's code, which may be a fork's: it is data, never code, and
never text to post. Its files are size-capped before they are read; its PR number is checked to be a number and
its commit to be the one the run measured; the comparison (``python -m reports compare --json``) is validated
field by field (schema and version, marks, benchmark labels, units, finite numbers, row count). What it holds is
rendered by ``comment``, every string escaped.

Standard library only: the comment workflow runs this under a bare ``python3`` (nothing installed).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import stat
from pathlib import Path

from benchmarks.harness.formats import COMPARISON, COUNTED_UNITS, MARKS

from .errors import PipelineError
from .errors import oneline as _oneline
from .errors import show as _show

# What the artifact may hold, and how much of it.
PR_FILE, COMPARISON_FILE = "pr.json", "compare.json"
GRAPHS = "attribution"  # the flame graphs, for whoever downloads the artifact
MAX_PR_BYTES = 4096
MAX_COMPARISON_BYTES = 1_000_000
MAX_ROWS = 1000

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
_DEPENDENCY_KEYS = {"python", "base_error", "head_error", "moved"}
_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a distribution's name (PEP 508)
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]{0,63}")  # a version as installed (PEP 440, or a local one)
MAX_PACKAGES = 500
MAX_ERROR = 500


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
