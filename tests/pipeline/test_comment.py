"""The pull-request comment from an artifact a fork's code may have written: validated, escaped, capped, posted
once per pull request (over every page of comments), and importable under a bare Python."""

from __future__ import annotations

import copy
import html
import json
import math
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

import benchmarks.harness.formats as formats
from pipeline import api, artifact, comment
from pipeline.errors import PipelineError
from reports import compare as reports_compare

ROOT = Path(__file__).resolve().parents[2]
HEAD = "ab" * 20
BASE = "cd" * 20
LABEL = "servers.ServerThroughput.time_batch(aiohttp-dev)"


def change(mark="", benchmark=LABEL, unit="seconds", base=1.0, head=1.0, **fields) -> dict:
    row = {"mark": mark, "benchmark": benchmark, "python": "3.12", "unit": unit, "counted": unit == "instructions",
           "base": base, "head": head, "base_status": "ok" if base is not None else "failed",
           "head_status": "ok" if head is not None else "failed", "remeasured": False}
    return {**row, **fields}


def document(changes=None, **fields) -> dict:
    if changes is None:
        changes = [change("+", "instructions.ServerInstructions.track_instructions_per_request(flask-dev)",
                          "instructions", 600_000, 612_000),
                   change("!", "core.Query.time_parse_query", base=5e-6, head=None),
                   change("-", LABEL, base=0.1, head=0.08), change("", "core.Position.time_position_body(mars)")]
    return {"schema": "planet-tracker-compare", "version": 4, "base": {"name": "main", "commit": BASE},
            "head": {"name": "HEAD", "commit": HEAD}, "factor": 1.05, "threshold": 0.01, "confirmed": True,
            "changes": changes, "dependencies": [copy.deepcopy(DEPENDENCIES)], "attribution": [], **fields}


# aiohttp and multidict moved on the changes' Python (3.12): one row of the document's is marked slower.
DEPENDENCIES = {"python": "3.12", "base_error": "", "head_error": "",
                "moved": [{"name": "aiohttp", "base": "3.13.5", "head": "3.14.5"},
                          {"name": "multidict", "base": "6.9.1", "head": "7.2.1"}]}


def package(tmp_path: Path, data=None, raw: str | None = None) -> Path:
    """An artifact folder as the comparison run makes it, its compare.json holding ``data`` (or ``raw`` text)."""
    source = tmp_path / "compare.json"
    source.write_text(raw if raw is not None else json.dumps(data if data is not None else document()))
    artifact.artifact(tmp_path / "pkg", "7", HEAD, source)
    return tmp_path / "pkg"


def refused(data, what: str, head_sha: str | None = HEAD) -> None:
    with pytest.raises(PipelineError, match=what) as error:
        artifact.validate_comparison(data, head_sha)
    assert "\n" not in str(error.value)


# -- the format, shared with reports.compare ---------------------------------------------------------------------


def test_the_comment_reads_the_format_reports_compare_writes():
    """Both sides take the format, the marks and how a value is shown from benchmarks.harness.formats; the reports'
    ordering of the marks covers every mark, and their asv values (null, NaN) map onto the comment's statuses."""
    assert set(formats.MARKS) == set(reports_compare.ORDER)
    for value in (2.5e-5, 0.1234, 3.5, 1.5e-10, 602_307.5, 0.0, 12.0):
        for unit in ("seconds", "instructions", "ms", "ratio"):
            assert comment.format_value(value, "ok", unit) == reports_compare.format_value(value, unit)
    assert comment.format_value(None, "failed", "ms") == reports_compare.format_value(None, "ms") == "failed"
    assert comment.format_value(None, "skipped", "ms") == reports_compare.format_value(math.nan, "ms") == "skipped"
    assert comment.LEGEND is reports_compare.LEGEND is formats.LEGEND  # the marks read the same everywhere
    assert reports_compare.timed_title is formats.timed_title  # one implementation, shared


def test_a_valid_comparison_renders_under_the_trusted_header(tmp_path):
    folder = package(tmp_path)
    assert artifact.read_pr(folder, HEAD) == 7
    run = "https://github.com/owner/repo/actions/runs/123/attempts/2"
    text = comment.body(folder, 7, HEAD, "failure", run)
    assert text.startswith(f"{comment.MARKER}\n### Benchmarks for #7 at `{HEAD[:8]}`\n\nThe comparison run **failed** "
                           f"(a regression, or an error): [see the run]({run}).\n\n**2 regression(s)** in the "
                           "comparison's data, between main \\(cdcdcdcd\\) and HEAD \\(abababab\\)")
    assert text.index("**Instructions**") < text.index("**Wall-clock**") and "flags it the same way" in text
    assert ("| \\+ | instructions\\.ServerInstructions\\.track\\_instructions\\_per\\_request\\(flask\\-dev\\) | "
            "3\\.12 | 600,000 | 612,000 | 1.0200 |") in text
    assert "| \\! | core\\.Query\\.time\\_parse\\_query | 3\\.12 | 5 µs | failed |  |" in text
    assert ("| \\- | servers\\.ServerThroughput\\.time\\_batch\\(aiohttp\\-dev\\) | 3\\.12 | 100 ms | 80 ms | "
            "0.80 |") in text
    calm = comment.render(document([change("-")]), 7, HEAD, "success")
    assert "The comparison run **succeeded**." in calm and "No regression in the comparison's data" in calm


def test_the_header_states_the_runs_conclusion_and_takes_nothing_else():
    for conclusion in comment.CONCLUSIONS:
        assert f"The comparison run {comment.CONCLUSIONS[conclusion]}" in comment.header(7, HEAD, conclusion)
    assert "conclusion was not given" in comment.header(7, HEAD, None)
    for bad in ("pwned", "success **0 regressions**", "Success"):
        with pytest.raises(PipelineError, match="not a workflow run's conclusion"):
            comment.header(7, HEAD, bad)
    for url in ("javascript:alert(1)", "https://github.com/o/r/actions/runs/1)](https://evil.example",
                "http://github.com/o/r/actions/runs/1"):
        with pytest.raises(PipelineError, match="not a workflow run's address"):
            comment.header(7, HEAD, "success", url)
    with pytest.raises(PipelineError, match="not a full commit hash"):
        comment.header(7, "HEAD", "success")


def test_no_comparison_says_so(tmp_path):
    source = tmp_path / "missing.json"
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "compare.json").write_text("{}")  # left over from an earlier packaging: removed
    artifact.artifact(tmp_path / "pkg", "7", HEAD, source)
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == ["pr.json"]
    text = comment.body(tmp_path / "pkg", 7, HEAD, "failure")
    assert text.endswith("The comparison run **failed** (a regression, or an error).\n\n"
                         "The comparison produced no data: see the run's log.\n")


def test_the_artifact_carries_the_comparison_as_it_was_written(tmp_path):
    raw = json.dumps(document(), indent=3) + "\n"
    folder = package(tmp_path, raw=raw)
    assert (folder / "compare.json").read_text() == raw
    assert json.loads((folder / "pr.json").read_text()) == {"number": 7, "head_sha": HEAD}


def test_read_pr_keeps_its_checks(tmp_path):
    folder = package(tmp_path)
    with pytest.raises(PipelineError, match="artifact is for commit"):
        artifact.read_pr(folder, "ef" * 20)
    for number in ("7", True, 0, -1, 7.0, 10**12):
        (folder / "pr.json").write_text(json.dumps({"number": number, "head_sha": HEAD}))
        with pytest.raises(PipelineError, match="not a number"):
            artifact.read_pr(folder, HEAD)
    (folder / "pr.json").write_text("[]")
    with pytest.raises(PipelineError, match=r"no readable pr\.json"):
        artifact.read_pr(folder, HEAD)
    (folder / "pr.json").write_text(json.dumps({"number": 7, "head_sha": HEAD, "pad": "x" * 5000}))
    with pytest.raises(PipelineError, match="over the limit"):
        artifact.read_pr(folder, HEAD)
    (folder / "pr.json").unlink()
    with pytest.raises(PipelineError, match=r"no readable pr\.json"):
        artifact.read_pr(folder, HEAD)


# -- what a hostile pull request could put in the artifact -------------------------------------------------------


@pytest.mark.parametrize("label", [
    "@octocat",  # a mention
    "core.Query.time_parse_query(@octocat)",
    "core.Query.time(@org/team)",
    "![x](https://evil.example/x.png)",  # an image
    "core.Query.time_parse_query(![x](https://evil.example/x.png))",
    "[click](https://evil.example)",  # a link
    "core.Query.time(<img src=x onerror=alert(1)>)",  # HTML
    "core.Query.time(</table><h1>hi</h1>)",
    "**No significant regression**",  # a verdict of its own
    "No significant regression",
    "core.Query.time(x) |  | a fake row | 1 s | 1 s | 1.00",  # a table cell
    "core.Query.time(`code`)",
    "core.Query.time(*bold* _it_)",
    "core.Query.time(#1)",  # an issue reference
    "core.Query.time(x)\n\n## Approved",  # a line break
    "core.Query.time(\u202eevil)",  # a bidi override
    "core." + "a" * 300,  # too long
    "",
])
def test_labels_outside_the_pattern_are_refused(label):
    refused(document([change("+", label)]), r"changes\[0\]\.benchmark is not a benchmark's name")


def test_a_fake_verdict_in_a_label_stays_a_row_of_the_table():
    data = artifact.validate_comparison(document([change("-", "core.Verdict.no_regression(0 regressions, all clear)")]))
    text = comment.render(data, 7, HEAD, "failure")
    line = next(line for line in text.splitlines() if "all clear" in line)
    assert line.startswith("| \\- | core\\.Verdict\\.no\\_regression\\(0 regressions\\, all clear\\) |")
    assert text.index("The comparison run **failed**") < text.index("all clear")


@pytest.mark.parametrize("mutate, what", [
    (lambda d: d.update(schema="something-else"), "not a planet-tracker-compare document"),
    (lambda d: d.update(version=3), "schema version 3; this code reads version 4"),
    (lambda d: d.update(version="4"), "schema version '4'"),
    (lambda d: d.update(version=True), "schema version True"),
    (lambda d: d.update(verdict="**0 regressions**"), "unexpected \\['verdict'\\]"),
    (lambda d: d.pop("factor"), "missing factor"),
    (lambda d: d["base"].update(name="@octocat"), "base.name is not a commit's name"),
    (lambda d: d["base"].update(name="main <b>"), "base.name is not a commit's name"),
    (lambda d: d["head"].update(commit="HEAD"), "head.commit is not a commit hash"),
    (lambda d: d["head"].update(commit="ef" * 20), "its head efefefef"),
    (lambda d: d.update(factor=math.inf), "factor is not a number"),
    (lambda d: d.update(factor="1.05"), "factor is not a number"),
    (lambda d: d.update(threshold=True), "threshold is not a fraction"),
    (lambda d: d.update(confirmed="yes"), "confirmed is not true or false"),
    (lambda d: d.update(changes={"0": {}}), "changes is not a list"),
    (lambda d: d.update(changes=[change()] * 5000), "5000 rows, over the limit of 1000"),
    (lambda d: d["changes"].append("a row"), r"changes\[4\] is not an object"),
    (lambda d: d["changes"][0].update(mark="++"), r"changes\[0\]\.mark is not one of"),
    (lambda d: d["changes"][0].update(mark="✅"), r"changes\[0\]\.mark"),
    (lambda d: d["changes"][0].update(python="3.12 <b>"), r"changes\[0\]\.python is not a Python version"),
    (lambda d: d["changes"][0].update(unit="<b>parsecs</b>"), r"changes\[0\]\.unit is not one of"),
    (lambda d: d["changes"][0].update(counted=False), r"changes\[0\]\.counted is not True"),
    (lambda d: d["changes"][0].update(counted=1), r"changes\[0\]\.counted is not True"),
    (lambda d: d["changes"][1].update(base=math.nan), r"changes\[1\]\.base is not a finite number"),
    (lambda d: d["changes"][1].update(base=math.inf), r"changes\[1\]\.base is not a finite number"),
    (lambda d: d["changes"][1].update(base="1 s"), r"changes\[1\]\.base is not a finite number"),
    (lambda d: d["changes"][1].update(base=True), r"changes\[1\]\.base is not a finite number"),
    (lambda d: d["changes"][1].update(head=1.0), r"changes\[1\]\.head is 1.0 for status failed"),
    (lambda d: d["changes"][1].update(head_status="ok"), r"changes\[1\]\.head is not a finite number"),
    (lambda d: d["changes"][1].update(head_status="great"), r"changes\[1\]\.head_status is not one of"),
    (lambda d: d["changes"][2].update(note="hi"), r"changes\[2\]: unexpected"),
    (lambda d: d["changes"][2].pop("remeasured"), r"changes\[2\]: missing remeasured"),
    (lambda d: d["changes"][2].update(remeasured=1), r"changes\[2\]\.remeasured is not false, or true for a timed"),
    (lambda d: d["changes"][0].update(remeasured=True), r"changes\[0\]\.remeasured is not false, or true for a timed"),
    (lambda d: d.pop("dependencies"), "missing dependencies"),
    (lambda d: d.update(dependencies={}), "dependencies is not a list"),
    (lambda d: d["dependencies"][0].update(python="<b>"), r"dependencies\[0\]\.python is not a Python version"),
    (lambda d: d["dependencies"][0].update(head_error=7), r"dependencies\[0\]\.head_error is not a text"),
    (lambda d: d["dependencies"][0].update(base_error="x" * 501), r"dependencies\[0\]\.base_error is not a text"),
    (lambda d: d["dependencies"][0]["moved"][0].update(name="[aiohttp](https://evil)"),
     r"dependencies\[0\]\.moved\[0\]\.name is not a package's name"),
    (lambda d: d["dependencies"][0]["moved"][1].update(head="7.2.1 <img>"),
     r"dependencies\[0\]\.moved\[1\]\.head is not a version"),
    (lambda d: d["dependencies"][0]["moved"][1].update(base=7), r"dependencies\[0\]\.moved\[1\]\.base is not"),
    (lambda d: d["dependencies"][0]["moved"].append({"name": "yarl"}), r"moved\[2\]: missing base, head"),
])
def test_anything_off_is_refused_with_one_line(mutate, what):
    data = document()
    mutate(data)
    refused(data, what)


def test_the_dependency_changes_are_named_beside_the_marks_they_come_with():
    data = artifact.validate_comparison(document(), HEAD)
    text = comment.render(data, 7, HEAD, "failure")
    line = next(line for line in text.splitlines() if "aiohttp" in line and "multidict" in line)
    # Escaped as every string from the artifact is; GitHub shows "aiohttp 3.13.5 -> 3.14.5".
    assert line == ("- Python 3\\.12: aiohttp 3\\.13\\.5 \\-&gt; 3\\.14\\.5, multidict 6\\.9\\.1 \\-&gt; 7\\.2\\.1: "
                    "1 slower (+2.0 %) and 1 faster (-20.0 %), of 4 compared.")
    assert text.index("**Dependencies**") < text.index("**Instructions**")
    broken = document(dependencies=[{"python": "3.12", "base_error": "", "moved": [],
                                     "head_error": "ERROR: Cannot install aiohttp==3.14.5 and multidict==6.9.1"}])
    text = comment.render(artifact.validate_comparison(broken, HEAD), 7, HEAD, "failure")
    assert ("- Python 3\\.12: HEAD \\(abababab\\) could not be installed with its pins: ERROR\\: Cannot install "
            "aiohttp\\=\\=3\\.14\\.5 and multidict\\=\\=6\\.9\\.1.") in text
    plain = artifact.validate_comparison(document(dependencies=[]))
    assert "**Dependencies**" not in comment.render(plain, 7, HEAD, "")


def test_the_comments_dependency_lines_are_reports_compares():
    data = artifact.validate_comparison(document(), HEAD)
    entry = data["dependencies"][0]
    deps = [reports_compare.Dependencies(entry["python"], tuple((p["name"], p["base"], p["head"])
                                                                for p in entry["moved"]))]
    marks = [(row["python"], row["mark"], row["head"] / row["base"] if row["base"] and row["head"] else math.nan)
             for row in data["changes"]]
    ours = reports_compare.dependency_lines(deps, marks, "main", "HEAD")
    theirs = comment.dependency_lines(data, "main", "HEAD")
    unescape = {"\\": "", "&gt;": ">"}
    for old, new in unescape.items():
        theirs = [line.replace(old, new) for line in theirs]
    assert ours == theirs and len(ours) == 1


ATTRIBUTED = {"benchmark": "instructions.ServerInstructions.track_instructions_per_request(flask-dev)",
              "target": "flask-dev", "unit": "request",
              "python": [{"name": "planet_tracker.core:position_body", "calls": [1, 1], "self": [8, 716],
                          "inclusive": [271, 979]}],
              "c": [{"name": "_PyEval_EvalFrameDefault", "calls": [148, 148], "self": [321684, 336878],
                     "inclusive": [5871729, 6024361]}]}


def test_the_attribution_is_rendered_escaped_under_the_tables():
    data = artifact.validate_comparison(document(attribution=[copy.deepcopy(ATTRIBUTED)]), HEAD)
    url = "https://github.com/o/r/actions/runs/42"
    text = comment.render(data, 7, HEAD, "failure", url)
    assert text.index("**Wall-clock**") < text.index("**Where: instructions\\.ServerInstructions")
    assert "| planet\\_tracker\\.core\\:position\\_body | 1 → 1 (+0) | 8 → 716 (+708) | 271 → 979 (+708) |" in text
    assert f"Flame graphs: in the comparison run's artifact ([the run]({url}))." in text


def test_a_long_attribution_is_cut_with_a_link_to_the_artifact():
    many = []
    for i in range(MAX := artifact.MAX_ATTRIBUTED):
        entry = copy.deepcopy(ATTRIBUTED)
        entry["python"] = [{**entry["python"][0], "name": f"module{i}.{'x' * 150}:f{j}"} for j in range(10)]
        many.append(entry)
    data = artifact.validate_comparison(document(attribution=many), HEAD)
    url = "https://github.com/o/r/actions/runs/42"
    block = comment.attribution_block(data, url)
    assert len(block) <= comment.MAX_ATTRIBUTION and len(many) == MAX
    assert block.endswith(f"the full tables and the flame graphs are in the comparison run's artifact ([the run]"
                          f"({url})).)")
    text = comment.render(data, 7, HEAD, "failure", url)
    assert len(text) <= comment.MAX_BODY and "Attribution cut to fit the comment" in text
    tight = comment.render(data, 7, HEAD, "failure", url, limit=9000)
    assert len(tight) <= 9000 and "Attribution cut" in tight


@pytest.mark.parametrize("mutate, what", [
    (lambda e: e.update(target="flask dev; rm"), r"attribution\[0\]\.target is not a target's name"),
    (lambda e: e.update(unit="hour"), r"attribution\[0\]\.unit is not request or call"),
    (lambda e: e["python"][0].update(name="a\nb"), r"attribution\[0\]\.python\[0\]\.name is not"),
    (lambda e: e["c"][0].update(self=[1, math.inf]), r"attribution\[0\]\.c\[0\]\.self is not two finite"),
    (lambda e: e["c"][0].update(calls=[1]), r"attribution\[0\]\.c\[0\]\.calls is not two finite"),
    (lambda e: e.update(python=[e["python"][0]] * 11), r"attribution\[0\]\.python is not a list of at most 10"),
    (lambda e: e.update(note="x"), r"attribution\[0\]: unexpected"),
])
def test_an_attribution_off_is_refused(mutate, what):
    entry = copy.deepcopy(ATTRIBUTED)
    mutate(entry)
    refused(document(attribution=[entry]), what)


def test_a_timed_change_measured_again_and_not_confirmed_is_named_under_its_table():
    label = "methodology.KeepAliveOff.time_batch(aiohttp-dev)"
    rows = [change("~", label, base=0.15, head=0.149, remeasured=True), change("~", base=1.0, head=1.2),
            change("-", "core.Query.time_parse_query", base=1.0, head=0.8, remeasured=True)]
    text = comment.render(artifact.validate_comparison(document(rows)), 7, HEAD, "success")
    assert "No regression in the comparison's data" in text
    assert "+ or - only when the second flags it the same way" in text
    note = comment.NOT_CONFIRMED + "methodology\\.KeepAliveOff\\.time\\_batch\\(aiohttp\\-dev\\) (Python 3\\.12)."
    assert note in text.splitlines()  # only the row not confirmed: not the plain ~, not the confirmed -
    assert text.index("**Wall-clock**") < text.index(note)
    assert comment.NOT_CONFIRMED not in comment.render(artifact.validate_comparison(document(rows[1:])), 7, HEAD,
                                                     "success")


def test_an_unconfirmed_comparison_says_what_its_question_marks_are():
    text = comment.render(artifact.validate_comparison(document([change("?", base=1.0, head=1.2)], confirmed=False)),
                         7, HEAD, "success")
    assert "No regression" in text and "1 timed benchmark(s) flagged by asv's rule in one measurement" in text
    assert "one measurement: what it flags is ? until `make compare` measures it again" in text


def test_the_documents_own_values_are_kept_and_a_blank_mark_is_no_mark():
    data = document([change(" "), change("x", base=None, head=2.0)])
    clean = artifact.validate_comparison(copy.deepcopy(data), HEAD)
    assert [row["mark"] for row in clean["changes"]] == ["", "x"]
    assert artifact.validate_comparison(document(head={"name": "HEAD", "commit": HEAD[:12]}), HEAD)["head"]["commit"]


@pytest.mark.parametrize("raw, what", [
    ('{"schema": "planet-tracker-compare", "version": 3, "factor": NaN}', "not valid JSON: NaN"),
    ('{"a": Infinity}', "not valid JSON: Infinity"),
    ('{"a": 1, "a": 2}', "not valid JSON: duplicate key"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ("\xff\xfe", "not valid JSON"),
    ("1" * 10_000, "not valid JSON"),
    ("null", "not a planet-tracker-compare document"),
])
def test_what_is_not_strict_json_is_refused(tmp_path, raw, what):
    folder = package(tmp_path, raw=raw)
    with pytest.raises(PipelineError, match=what):
        artifact.read_comparison(folder, HEAD)


def test_a_nan_written_by_a_lenient_encoder_is_refused(tmp_path):
    data = document()
    data["changes"][0]["head"] = math.nan
    folder = package(tmp_path, raw=json.dumps(data))  # Python's json writes a bare NaN
    with pytest.raises(PipelineError, match="NaN is not a JSON number"):
        artifact.read_comparison(folder, HEAD)
    data["changes"][0]["head"] = 1e400  # parses as infinity
    folder = package(tmp_path, raw=json.dumps(data).replace("Infinity", "1e400"))
    with pytest.raises(PipelineError, match=r"changes\[0\]\.head is not a finite number"):
        artifact.read_comparison(folder, HEAD)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    folder = package(tmp_path)
    with (folder / "compare.json").open("r+b") as file:
        file.truncate(10 * 2**20)  # 10 MB (sparse)
    opened = []
    monkeypatch.setattr(Path, "open", lambda self, *args, **kwargs: opened.append(self))
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(self))
    monkeypatch.setattr(Path, "read_text", lambda self, *args, **kwargs: opened.append(self))
    with pytest.raises(PipelineError, match=r"compare.json is 10485760 bytes, over the limit of 1000000: not read"):
        artifact.read_comparison(folder, HEAD)
    assert opened == []


def test_a_link_or_a_device_instead_of_a_file_is_refused(tmp_path):
    folder = package(tmp_path)
    (folder / "compare.json").unlink()
    (folder / "compare.json").symlink_to("/dev/zero")
    with pytest.raises(PipelineError, match=r"compare\.json is not a regular file"):
        artifact.read_comparison(folder, HEAD)
    (folder / "compare.json").unlink()
    (folder / "compare.json").symlink_to(tmp_path / "nowhere")
    with pytest.raises(PipelineError, match=r"compare\.json is not a regular file"):
        artifact.read_comparison(folder, HEAD)


# -- escaping ----------------------------------------------------------------------------------------------------


def test_escaping_leaves_no_markup_mention_or_html():
    text = comment.escape("@octocat #12 <img src=x> [a](b) ![c](d) `e` *f* _g_ | h & i \\ j\nk\u202el")
    assert text == ("@&#8203;octocat #&#8203;12 &lt;img src\\=x&gt; \\[a\\]\\(b\\) \\!\\[c\\]\\(d\\) \\`e\\` \\*f\\* "
                    "\\_g\\_ \\| h &amp; i \\\\ j\ufffdk\ufffdl")
    # What GitHub's mention and reference filters see, once the markdown is rendered: no @name, no #number.
    shown = html.unescape(re.sub(r"\\(.)", r"\1", text))
    assert "@\u200boctocat" in shown and not re.search(r"@[A-Za-z0-9]", shown) and not re.search(r"#[0-9]", shown)
    assert "<" not in text and ">" not in text and "\n" not in text
    # Every ASCII punctuation character is escaped or part of an entity this function wrote.
    bare = re.sub(r"&(amp|lt|gt|#8203);", "", text)
    assert not re.search(r"(?<!\\)[!\"$%'()*+,\-./:;<=>?\[\]^_`{|}~]", bare.replace("\\\\", ""))


def test_no_mention_or_markup_reaches_the_comment_from_a_valid_document(tmp_path):
    # The most a valid document can carry: every character its patterns allow.
    label = "a_b.C9.d_e(" + "".join(sorted(set("AZaz09_.,() -"))) + ")"
    data = artifact.validate_comparison(document([change("?", label)], base={"name": "feature/x~1^2", "commit": BASE}))
    text = comment.render(data, 7, HEAD, "success")
    assert "@" not in text
    body = text.split("\n", 1)[1]  # after the marker (an HTML comment of ours)
    assert "<" not in body and ">" not in body and "![" not in body and "](" not in body.replace("(see the run)", "")


# -- the length cap ----------------------------------------------------------------------------------------------


def test_a_huge_comparison_is_cut_to_githubs_limit_keeping_the_header_and_regressions(tmp_path):
    long = "servers.S.time_" + "x" * 150 + "(flask-gunicorn-wauto, 1 x 200 ms)"
    assert len(long) <= artifact.MAX_LABEL
    rows = [change("~", long, base=1.0 + i, head=2.0 + i) for i in range(997)]
    rows += [change("+", "core.Late.regression"), change("!", "core.Late.failure", head=None),
             change("+", "instructions.Late.counted", "instructions", 100, 200)]
    folder = package(tmp_path, document(rows, confirmed=False))
    assert (folder / "compare.json").stat().st_size < artifact.MAX_COMPARISON_BYTES
    text = comment.body(folder, 7, HEAD, "failure", "https://github.com/o/r/actions/runs/1")
    assert len(text) <= comment.MAX_BODY < 65_536
    assert text.startswith(comment.MARKER + "\n### Benchmarks for #7")
    assert "**3 regression(s)**" in text  # counted over every row, not just the ones shown
    cut = re.search(r"\((\d+) of 1000 rows cut to fit GitHub's limit", text)
    shown = [line for line in text.splitlines() if line.startswith("| ") and "benchmark" not in line]
    assert cut and int(cut.group(1)) == 1000 - len(shown) > 0
    assert "core\\.Late\\.regression" in text and "core\\.Late\\.failure" in text
    assert "instructions\\.Late\\.counted" in text
    assert len(text) > comment.MAX_BODY - 1000  # cut to the limit, not far below it


def test_the_cap_holds_at_any_limit():
    data = artifact.validate_comparison(document([change("~", base=float(i), remeasured=i % 2 == 0)
                                                for i in range(1, 300)]))
    full = comment.render(data, 7, HEAD, "success")
    for limit in (2000, 5000, len(full) - 1, len(full)):
        text = comment.render(data, 7, HEAD, "success", limit=limit)
        assert len(text) <= limit
        assert ("rows cut" in text) == (limit < len(full))


# -- GitHub's API: one comment per pull request, over every page -------------------------------------------------

TOKEN = "secret-token"


class PagedGitHub(BaseHTTPRequestHandler):
    """GitHub's comments API as far as the comment goes: 100 comments a page, the next page named in a Link header
    (under /repositories/ID/, as GitHub names it)."""

    state: ClassVar[dict] = {}

    def _reply(self, status: int, payload, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        self.state["requests"].append((self.command, self.path))
        if self.headers["Authorization"] != f"Bearer {TOKEN}":
            self._reply(401, {"message": "Bad credentials"})
            return False
        return True

    def do_GET(self):
        if not self._authorised():
            return
        url = urlsplit(self.path)
        if url.path == "/repos/owner/repo/pulls/7":
            return self._reply(200, {"number": 7, "head": {"sha": self.state["head"]}})
        if url.path in ("/repos/owner/repo/issues/7/comments", "/repositories/42/issues/7/comments"):
            query = parse_qs(url.query)
            per_page, page = int(query.get("per_page", ["30"])[0]), int(query.get("page", ["1"])[0])
            comments = self.state["comments"]
            last = max(1, -(-len(comments) // per_page))
            base = f"http://127.0.0.1:{self.server.server_address[1]}/repositories/42/issues/7/comments"
            links = [f'<{self.state.get("next_base", base)}?per_page={per_page}&page={page + 1}>; rel="next"'] \
                if page < last else []
            links.append(f'<{base}?per_page={per_page}&page={last}>; rel="last"')
            return self._reply(200, comments[(page - 1) * per_page:page * per_page], {"Link": ", ".join(links)})
        self._reply(404, {"message": "Not Found"})

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_POST(self):
        if not self._authorised():
            return
        comment = {"id": 10_000 + len(self.state["comments"]), "body": self._body()["body"],
                   "user": {"type": "Bot", "login": "github-actions[bot]"}}
        self.state["comments"].append(comment)
        self._reply(201, comment)

    def do_PATCH(self):
        if not self._authorised():
            return
        comment_id = int(self.path.rsplit("/", 1)[1])
        for posted in self.state["comments"]:
            if posted["id"] == comment_id:
                posted["body"] = self._body()["body"]
        self._reply(200, {})

    def log_message(self, *args):
        pass


def comments(ours_at: int | None) -> list[dict]:
    """250 comments: a user's, and evil[bot]'s (a bot, starting with the marker) on page 1; ours at ``ours_at``."""
    found = [{"id": i, "body": f"comment {i}", "user": {"login": f"user{i % 7}", "type": "User"}}
             for i in range(1, 251)]
    found[4] = {"id": 5, "body": comment.MARKER + "\n**0 regressions**, merge me", "user": {"login": "evil[bot]",
                                                                                           "type": "Bot"}}
    found[9] = {"id": 10, "body": comment.MARKER + " a person", "user": {"login": "github-actions", "type": "User"}}
    if ours_at is not None:
        found[ours_at - 1] = {"id": ours_at, "body": comment.MARKER + "\nold results",
                              "user": {"login": "github-actions[bot]", "type": "Bot"}}
    return found


@pytest.fixture
def paged_github():
    PagedGitHub.state = {"head": HEAD, "comments": [], "requests": []}
    server = ThreadingHTTPServer(("127.0.0.1", 0), PagedGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api.Api("owner/repo", TOKEN, f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()
    thread.join()


def test_our_comment_on_the_third_page_is_updated_and_a_bots_lookalike_left_alone(paged_github):
    PagedGitHub.state["comments"] = comments(ours_at=230)
    before = copy.deepcopy(PagedGitHub.state["comments"])
    assert api.upsert_comment(paged_github, 7, HEAD, comment.MARKER + "\nnew results") == "updated"
    after = PagedGitHub.state["comments"]
    assert len(after) == 250
    assert after[229]["body"] == comment.MARKER + "\nnew results"
    assert [c for c in after if c["id"] != 230] == [c for c in before if c["id"] != 230]  # evil[bot]'s untouched
    requests = PagedGitHub.state["requests"]
    assert [path for method, path in requests if method == "GET"] == [
        "/repos/owner/repo/pulls/7", "/repos/owner/repo/issues/7/comments?per_page=100",
        "/repositories/42/issues/7/comments?per_page=100&page=2",
        "/repositories/42/issues/7/comments?per_page=100&page=3"]
    assert [(m, p) for m, p in requests if m != "GET"] == [("PATCH", "/repos/owner/repo/issues/comments/230")]


def test_without_our_comment_every_page_is_read_then_one_is_created(paged_github):
    PagedGitHub.state["comments"] = comments(ours_at=None)
    assert api.upsert_comment(paged_github, 7, HEAD, comment.MARKER + "\nfirst") == "created"
    assert sum(method == "GET" for method, _ in PagedGitHub.state["requests"]) == 4
    assert PagedGitHub.state["comments"][-1]["body"] == comment.MARKER + "\nfirst"
    assert PagedGitHub.state["comments"][4]["body"].startswith(comment.MARKER + "\n**0 regressions**")
    # The next run finds the one it made (now on page 3) and updates it.
    assert api.upsert_comment(paged_github, 7, HEAD, comment.MARKER + "\nsecond") == "updated"
    assert len(PagedGitHub.state["comments"]) == 251
    assert PagedGitHub.state["comments"][-1]["body"] == comment.MARKER + "\nsecond"


def test_the_author_is_a_parameter(paged_github):
    PagedGitHub.state["comments"] = comments(ours_at=None)
    assert api.upsert_comment(paged_github, 7, HEAD, "x", login="evil[bot]") == "updated"
    assert PagedGitHub.state["comments"][4]["body"] == "x"


def test_a_moved_pull_request_gets_no_comment(paged_github):
    PagedGitHub.state.update(comments=comments(ours_at=230), head="ef" * 20)
    with pytest.raises(PipelineError, match="has moved on"):
        api.upsert_comment(paged_github, 7, HEAD, "x")
    assert [method for method, _ in PagedGitHub.state["requests"]] == ["GET"]


def test_the_token_follows_no_link_away_from_the_api(paged_github):
    PagedGitHub.state.update(comments=comments(ours_at=230),
                             next_base="http://127.0.0.2:1/repositories/42/issues/7/comments")
    with pytest.raises(PipelineError, match="not an address of the GitHub API"):
        api.upsert_comment(paged_github, 7, HEAD, "x")
    assert len(PagedGitHub.state["requests"]) == 2  # the pull request and page 1: nothing else was asked


def test_next_link_parsing():
    assert api.next_link('<https://api.github.com/repositories/1/issues/7/comments?page=2>; rel="next", '
                            '<https://api.github.com/repositories/1/issues/7/comments?page=3>; rel="last"') \
        == "https://api.github.com/repositories/1/issues/7/comments?page=2"
    assert api.next_link('<https://a/x?page=1>; rel="prev", <https://a/x?page=1>; rel="first"') is None
    assert api.next_link("") is None


# -- a bare python3 ----------------------------------------------------------------------------------------------

BARE = """
import importlib.util, json, sys
from pathlib import Path
sys.path[:] = [ROOT] + [p for p in sys.path if "-packages" not in p]
assert importlib.util.find_spec("asv") is None and importlib.util.find_spec("tabulate") is None
before = set(sys.modules)
from pipeline import api, artifact, comment
folder = Path(FOLDER)
number = artifact.read_pr(folder, HEAD)
text = comment.body(folder, number, HEAD, "failure", "https://github.com/o/r/actions/runs/1")
loaded = sorted(set(sys.modules) - before)
outside = [name for name in loaded if name.split(".")[0] not in sys.stdlib_module_names
           and name.split(".")[0] != "pipeline" and name not in ("benchmarks", "benchmarks.harness",
                                                                   "benchmarks.harness.formats")]
print(json.dumps({"outside": outside, "length": len(text), "files": [m.__file__ for m in map(sys.modules.get, loaded)
                  if getattr(m, "__file__", None) and "-packages" in m.__file__]}))
"""


def test_the_comment_needs_only_the_standard_library(tmp_path):
    """pipeline's artifact, comment and api, and the formats module they read the comparison's format from (with
    the two packages' docstring-only __init__ files), and nothing else outside the standard library."""
    folder = package(tmp_path)
    code = BARE.replace("ROOT", repr(str(ROOT))).replace("FOLDER", repr(str(folder))).replace("HEAD", repr(HEAD))
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {"outside": [], "length": result["length"], "files": []} and result["length"] > 500


def test_githubs_reason_for_a_refusal_is_in_the_one_line(paged_github):
    """A 401 or 404 says which: GitHub's JSON message is kept (a token without a scope is answered 403 "Resource
    not accessible by integration", which names the cause)."""
    wrong = api.Api("owner/repo", "not-the-token", paged_github.base)
    with pytest.raises(PipelineError, match=r"GET /repos/owner/repo/pulls/7: 401 Unauthorized: 'Bad credentials'$"):
        wrong.call("GET", "/pulls/7")
    with pytest.raises(PipelineError, match=r"GET /repos/owner/repo/pulls/8: 404 Not Found: 'Not Found'$"):
        paged_github.call("GET", "/pulls/8")
