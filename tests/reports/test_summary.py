"""The summary built from the golden asv results: files, exports, charts, and markdown that renders."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pandas as pd
import pytest

from reports import asvdata, compare, summary

from . import synthetic

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "asv"


class Tables(HTMLParser):
    """The cells of every <table>, and the text of paragraphs (to find tables that did not render)."""
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.paragraphs: list[str] = []
        self._cell: list[str] | None = None
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "p":
            self._paragraph = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "p" and self._paragraph is not None:
            self.paragraphs.append("".join(self._paragraph))
            self._paragraph = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._paragraph is not None:
            self._paragraph.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return summary.build(FIXTURES / "asv.conf.json", tmp_path_factory.mktemp("report"))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_files(built):
    # Established regressions only: the two counts and the failure (the timed + of one measurement is ? here).
    assert built.commit == "c" * 40 and built.machine == "fixture-machine" and built.regressions == 3
    for chart in ("server.png", "history.png", "instructions.png"):
        width, height = png_size(built.out / chart)
        assert width > 300 and height > 200
    names = {p.name for p in (built.out / "exports").iterdir()}
    for table in ("server_table", "article_ratios", "article_conclusions", "clients", "methodology", "instructions",
                  "cost_ratios", "changes_previous", "changes_back", "values"):
        assert {f"{table}.csv", f"{table}.json"} <= names
    assert "provenance.json" in names


def test_exports_hold_the_numbers(built):
    server = pd.read_csv(built.out / "exports" / "server_table.csv")
    dev = server[(server["python"] == 3.11) & (server["row"] == "development")].iloc[0]
    assert dev["aiohttp"] == pytest.approx(12000) and dev["difference_pct"] == pytest.approx(650)
    ratios = json.loads((built.out / "exports" / "article_ratios.json").read_text())
    assert ratios[0]["ratio"] == "aiohttp / Flask, development server" and ratios[0]["python 3.12"] == 7.5
    changes = json.loads((built.out / "exports" / "changes_previous.json").read_text())
    assert changes[0]["mark"] == "+" and changes[0]["unit"] == "instructions"
    failed = [change for change in changes if change["mark"] == "!"]
    assert len(failed) == 1 and failed[0]["newer"] is None and failed[0]["newer_text"] == "failed"
    values = pd.read_csv(built.out / "exports" / "values.csv")
    assert set(values["status"]) == {"ok", "failed", "skipped"}


def test_markdown_renders_with_every_table(built):
    html = markdown.markdown(built.markdown, extensions=["tables"])
    parsed = Tables()
    parsed.feed(html)
    # server x2, ratios, conclusions, instructions, cost ratios x2, clients x2, methodology x2, changes x2
    assert len(parsed.tables) == 13
    assert not [p for p in parsed.paragraphs if p.lstrip().startswith("|")]  # no table left as text
    server = parsed.tables[0]
    assert server[0] == ["", "aiohttp", "Flask", "% difference"]
    assert server[1] == ["Development server (req/s)", "12,000 (11,911-12,091)", "1,600 (1,588-1,612)",
                         "+650.0 (+642.6 to +657.5)"]
    assert server[3] == ["% increase over development server", "+4.2 (+3.1 to +5.2)", "+100.0 (+98.0 to +102.0)", ""]
    ratios = parsed.tables[2]
    assert ratios[1] == ["aiohttp / Flask, development server", "7.50 (7.43-7.58)", "7.50 (7.43-7.58)", "2.80"]
    assert parsed.tables[4][1] == ["aiohttp-dev", "600,000", "660,000"]
    changes = parsed.tables[11]
    assert changes[1][:2] == ["+", "instructions.ServerInstructions.track_instructions_per_request(flask-gunicorn)"]
    assert ["!", "servers.ServerThroughput.time_batch(flask-gunicorn-gthread)"] in [row[:2] for row in changes]
    assert '<img alt="requests per second by server and framework" src="server.png"' in html


def test_the_changes_name_the_dependency_bump_beside_the_marks(built):
    """The newest commit of the fixtures moved aiohttp and multidict: the changes against the previous commit
    say so, per Python, with the marked benchmarks beside them; the provenance lists what was measured."""
    changes = built.markdown.split("## Changes", 1)[1].split("## History", 1)[0]
    for python in ("3.11", "3.12"):
        assert f"- Python {python}: aiohttp 3.13.5 -> 3.14.5, multidict 6.9.1 -> 7.2.1: " in changes
    line = next(line for line in changes.splitlines() if line.startswith("- Python 3.11: aiohttp"))
    marked = pd.read_json(built.out / "exports" / "changes_previous.json")
    ours = marked[marked["env"] == "virtualenv-py3.11"]
    slower, faster = (ours["mark"] == "+").sum(), (ours["mark"] == "-").sum()
    assert slower == 1 and faster > 0  # established only: the count 2 % up, not mars's one timed measurement
    assert line.endswith(f": {slower} slower (+2.0 %) and {faster} faster (-4.8 %), of {len(ours)} compared.")
    provenance = built.markdown.split("## Settings and provenance", 1)[1]
    assert "- Python 3.11: aiohttp 3.14.5, ephem 4.2.1, Flask 3.1.3, gunicorn 27.0.1, multidict 7.2.1." in provenance


def test_the_headline_counts_what_is_established_apart_from_what_one_measurement_suggests(built):
    """Counted changes and failures are established (bold where they are regressions); timed changes between two
    commits measured in separate runs are not, and the headline says so rather than calling them regressions."""
    intro = built.markdown.split("\n\n")[1]
    changes = pd.read_json(built.out / "exports" / "changes_previous.json")
    counted = changes["unit"] == "instructions"
    more, fewer = ((counted & (changes["mark"] == mark)).sum() for mark in ("+", "-"))
    failed = (changes["mark"] == "!").sum()
    timed = changes[~counted & (changes["mark"] == "?")]
    assert more and fewer and failed and len(timed)  # the fixture has each kind
    assert (f"Since the previous commit: **{more} counted benchmarks cost more** and {fewer} cost less "
            f"(instructions: deterministic); **{failed} benchmark failed** on the newest commit.") in intro
    assert (f" {len(timed)} timed benchmarks moved beyond asv's rule ({(timed['ratio'] > 1).sum()} slower, "
            f"{(timed['ratio'] < 1).sum()} faster), unconfirmed: measured in separate runs; `make compare` "
            "confirms.") in intro
    assert "significant regression" not in intro
    assert not [bold for bold in re.findall(r"\*\*(.*?)\*\*", intro) if "timed" in bold]


def test_plus_means_in_the_summary_what_it_means_in_the_comparison(built):
    """+ and - are established changes everywhere: here a timed benchmark (one measurement of each commit) is ?
    at most, and the legend under the changes is the comparison's and the comment's."""
    changes = pd.read_json(built.out / "exports" / "changes_previous.json")
    assert set(changes.loc[changes["unit"] != "instructions", "mark"]) <= {"?", "~", "!", "x", ""}
    assert "?" in set(changes["mark"]) and "+" in set(changes.loc[changes["unit"] == "instructions", "mark"])
    section = built.markdown.split("## Changes", 1)[1]
    assert f"Marks: {compare.LEGEND}; regressions first." in section


def test_two_commits_give_one_table_of_changes(tmp_path):
    """The previous commit is also the furthest back: its comparison is printed once."""
    synthetic.write(tmp_path, [("e" * 40, T), ("d" * 40, T - DAY_MS)], ["3.11"])
    built = summary.build(tmp_path / "asv.conf.json", tmp_path / "out")
    section = built.markdown.split("## Changes", 1)[1].split("## History", 1)[0]
    assert section.count("| benchmark") == 1 and "commit(s) back" not in section
    assert pd.read_csv(built.out / "exports" / "changes_previous.csv").shape[0] > 0
    assert (built.out / "exports" / "changes_back.csv").read_text().strip() == ""
    # Three commits: two tables, the previous one and the furthest back.
    synthetic.write(tmp_path, [("f" * 40, T + DAY_MS), ("e" * 40, T), ("d" * 40, T - DAY_MS)], ["3.11"])
    three = summary.build(tmp_path / "asv.conf.json", tmp_path / "out")
    section = three.markdown.split("## Changes", 1)[1].split("## History", 1)[0]
    assert section.count("| benchmark") == 2 and "2 commit(s) back" in section


def test_no_results_is_one_line(tmp_path):
    (tmp_path / "asv.conf.json").write_text('{"version": 1, "repo": ".", "results_dir": "results"}')
    (tmp_path / "results" / "m").mkdir(parents=True)
    (tmp_path / "results" / "m" / "machine.json").write_text('{"machine": "m", "version": 1}')
    (tmp_path / "results" / "benchmarks.json").write_text('{"version": 2}')
    done = subprocess.run([sys.executable, "-m", "reports", "summary", "--config", str(tmp_path / "asv.conf.json"),
                           "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"python -m reports: error: no asv results for machine 'm' in {tmp_path / 'results'}"]


def test_a_partial_suite_still_gives_a_report(tmp_path, monkeypatch):
    """Results of one benchmark only (a run with --bench): every table says what is missing, none fails."""
    everything = synthetic.benchmark_table()
    monkeypatch.setattr(synthetic, "benchmark_table",
                        lambda: {"core.Query.time_parse_query": everything["core.Query.time_parse_query"]})
    synthetic.write(tmp_path, [("d" * 40, 1764100000000)], ["3.11"])
    built = summary.build(tmp_path / "asv.conf.json", tmp_path / "out")
    assert "| Development server (req/s)         | not measured | not measured |" in built.markdown
    # instructions, cost ratios, clients, methodology
    assert built.markdown.count("Not measured at this commit.") == 4
    assert "cannot tell (missing results)" in built.markdown and built.regressions == 0


def test_without_the_suites_record_the_summary_says_what_to_run(tmp_path):
    synthetic.write(tmp_path, [("d" * 40, 1764100000000)], ["3.11"])
    (tmp_path / "provenance" / "fixture-machine.json").unlink()
    done = subprocess.run([sys.executable, "-m", "reports", "summary", "--config", str(tmp_path / "asv.conf.json"),
                           "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "settings are not recorded for this machine" in done.stderr and "make provenance" in done.stderr


def _results(root: Path, machine: str, commits: list[tuple[str, int]], file_time: int) -> None:
    """One benchmark's synthetic results for ``machine``, every file of it dated ``file_time`` (seconds)."""
    query = {"core.Query.time_parse_query": synthetic.benchmark_table()["core.Query.time_parse_query"]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synthetic, "benchmark_table", lambda: query)
        synthetic.write(root, commits, ["3.11"], machine=machine)
    for path in (root / "results" / machine).iterdir():
        os.utime(path, (file_time, file_time))


DAY_MS = 86_400_000
T = 1_764_100_000_000


def test_the_default_machine_is_the_one_with_the_newest_commit_not_the_newest_files(tmp_path):
    """On GitHub every results file comes out of one git export with one time, and runners differ in CPU model:
    the landing page shows the machine that measured the newest commit, whatever the file times (here they say
    the opposite) or the names (the alphabetically last one used to win a tie)."""
    _results(tmp_path, "a-runner", [("b" * 40, T)], file_time=1_000_000_000)
    _results(tmp_path, "z-runner", [("a" * 40, T - DAY_MS), ("9" * 40, T - 2 * DAY_MS)], file_time=2_000_000_000)
    conf = asvdata.load_config(tmp_path / "asv.conf.json")
    assert asvdata.machines(conf) == ["a-runner", "z-runner"]
    built = summary.build(tmp_path / "asv.conf.json", tmp_path / "out")
    assert built.machine == "a-runner" and built.commit == "b" * 40
    assert summary.build(tmp_path / "asv.conf.json", tmp_path / "out", machine="z-runner").commit == "a" * 40


def test_default_machine_ties_go_to_more_commits_then_to_the_name(tmp_path):
    same = 1_500_000_000  # one git export: every file has the same time
    _results(tmp_path, "c-one", [("c" * 40, T)], same)
    _results(tmp_path, "b-two", [("c" * 40, T), ("d" * 40, T - DAY_MS)], same)
    _results(tmp_path, "a-one", [("c" * 40, T)], same)
    _results(tmp_path, "0-older", [("e" * 40, T - DAY_MS)], same)
    (tmp_path / "results" / "0-empty").mkdir()  # recorded by `asv machine`, nothing measured yet
    (tmp_path / "results" / "0-empty" / "machine.json").write_text('{"machine": "0-empty", "version": 1}')
    conf = asvdata.load_config(tmp_path / "asv.conf.json")
    assert asvdata.machines(conf) == ["b-two", "a-one", "c-one", "0-older", "0-empty"]
    assert asvdata.measured_commits(tmp_path / "results" / "b-two") == {"c" * 40: T, "d" * 40: T - DAY_MS}


def test_what_a_machine_without_the_tools_could_not_measure_is_a_row_that_says_why(tmp_path):
    """A newcomer's machine without valgrind and ab: the counts are skipped (NaN, as the suite's setup records them)
    and the suite's record names the missing tools; the summary says, in the counts' rows and under the headline,
    what is not measured and the command that installs it, and never shows a number or "failed" for them."""

    commit = "d" * 40
    scenarios = [s.strip("'") for s in synthetic.benchmark_table()[synthetic.INSTRUCTIONS]["params"][0]]
    synthetic.write(tmp_path, [(commit, T)], ["3.11"],
                    skipped={(synthetic.INSTRUCTIONS, scenario, 0, 0) for scenario in scenarios})
    record_file = tmp_path / "provenance" / "fixture-machine.json"
    record = json.loads(record_file.read_text())
    record["missing"] = [
        {"command": "ab", "install": "sudo apt-get install apache2-utils",
         "without": "the built-in generator stands in for ab, the article's load generator"},
        {"command": "valgrind", "install": "sudo apt-get install valgrind", "without": "instructions are not counted"}]
    record_file.write_text(json.dumps(record))
    text = summary.build(tmp_path / "asv.conf.json", tmp_path / "out").markdown
    assert ("- valgrind is not installed, so instructions are not counted: `sudo apt-get install valgrind`."
            in text.split("## The article's table", 1)[0])
    assert "- ab is not installed, so the built-in generator stands in for ab" in text
    counts = text.split("## What a request costs, in instructions", 1)[1].split("The two frameworks", 1)[0]
    rows = [line for line in counts.splitlines() if line.startswith("| ") and "scenario" not in line]
    assert len(rows) == len(scenarios) and all(row.split("|")[2].strip() == "not measured" for row in rows)
    assert "Not measured: valgrind is not installed: `sudo apt-get install valgrind`." in counts
    assert "failed" not in counts


def test_a_machine_with_every_tool_names_none_missing(built):
    assert "Not measured on this machine" not in built.markdown
