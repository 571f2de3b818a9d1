"""The comparison of two commits: asv's verdicts, failures kept visible, regressions first."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness.formats import COMPARISON
from pipeline import artifact, comment
from reports.asvdata import Row
from reports.compare import (
    LEGEND,
    NOT_CONFIRMED,
    Dependencies,
    as_data,
    bench_regex,
    better,
    builds,
    compare,
    dependencies,
    dependency_lines,
    flagged_timed,
    flags,
    format_value,
    mark,
    markdown,
    read_flags,
)

from . import synthetic

ROOT = Path(__file__).resolve().parents[2]

SAMPLES_FAST = tuple(1.00 + 0.001 * i for i in range(10))
SAMPLES_SLOW = tuple(1.20 + 0.001 * i for i in range(10))


def row(value, samples=None, name="servers.ServerThroughput.time_batch", params=("'aiohttp-dev'",), unit="seconds",
        stats=True):
    stats = {"ci_99_a": value * 0.99, "ci_99_b": value * 1.01, "q_25": value, "q_75": value, "repeat": 10,
             "number": 1} if stats and value is not None and not math.isnan(value) else None
    return Row(name, params, ("scenario",), "env", "3.11", "abc", 0, value, stats, samples, unit)


def test_marks():
    fast, slow = row(1.0045, SAMPLES_FAST), row(1.2045, SAMPLES_SLOW)
    assert mark(fast, slow, 1.05) == "+"  # slower, and the samples do not overlap
    assert mark(slow, fast, 1.05) == "-"
    assert mark(fast, row(1.0046, SAMPLES_FAST), 1.05) == ""
    assert mark(fast, row(None), 1.05) == "!"  # failed on the new commit
    assert mark(row(None), fast, 1.05) == "x"
    assert mark(row(math.nan), fast, 1.05) == ""  # skipped: no verdict
    # Beyond the factor, but with samples that overlap: not significant.
    noisy_a = row(1.0, (0.7, 1.3, 0.8, 1.2, 1.0, 0.9, 1.1, 0.75, 1.25, 1.05))
    noisy_b = row(1.1, (0.8, 1.4, 0.9, 1.3, 1.1, 1.0, 1.2, 0.85, 1.35, 1.15))
    assert mark(noisy_a, noisy_b, 1.05) == "~"


def test_a_value_without_statistics_is_never_a_significant_change():
    # A track_* value (one p99 latency per commit) has no statistics: asv alone would call a doubling significant.
    def p99(value):
        return row(value, name="servers.ServerCost.track_p99_latency", unit="ms", stats=False)

    assert mark(p99(2.3), p99(4.6), 1.05) == "~"
    assert mark(p99(4.6), p99(2.3), 1.05) == "~"
    assert mark(p99(2.3), p99(2.35), 1.05) == ""
    assert mark(p99(2.3), row(None, name="servers.ServerCost.track_p99_latency", unit="ms"), 1.05) == "!"
    assert not compare([p99(2.3)], [p99(4.6)], 1.05)[0].regression
    # Nor is a single sample (asv --quick, or -a repeat=1).
    one = row(1.0, (1.0,))
    one.stats["repeat"] = 1
    assert mark(one, row(1.2045, SAMPLES_SLOW), 1.05) == "~"


def test_failures_do_not_hide_the_rest_and_regressions_come_first():
    base = [row(1.0045, SAMPLES_FAST, params=("'a'",)), row(1.0045, SAMPLES_FAST, params=("'b'",)),
            row(1.2045, SAMPLES_SLOW, params=("'c'",)), row(1.0, SAMPLES_FAST, params=("'gone'",))]
    head = [row(None, params=("'a'",)), row(1.2045, SAMPLES_SLOW, params=("'b'",)),
            row(1.0045, SAMPLES_FAST, params=("'c'",)), row(1.0, SAMPLES_FAST, params=("'new'",))]
    # b and c measured again, and flagged the same way: confirmed.
    confirmed = {c.key: "+" if c.ratio > 1 else "-" for c in compare(base, head, 1.05) if c.mark == "?"}
    changes = compare(base, head, 1.05, flagged_before=confirmed)
    assert [(c.label, c.mark) for c in changes] == [
        ("servers.ServerThroughput.time_batch(a)", "!"),
        ("servers.ServerThroughput.time_batch(b)", "+"),
        ("servers.ServerThroughput.time_batch(c)", "-"),
    ]
    assert [c.regression for c in changes] == [True, True, False]
    text = markdown(changes, "main", "HEAD", 1.05, confirmed=True)
    assert text.startswith("**2 significant regression(s)** between `main` and `HEAD`")
    assert "| !  | servers.ServerThroughput.time_batch(a) | 3.11     | 1 s    | failed |" in text
    assert "virtualenv" not in text and "| Python" in text  # the Python version, not asv's environment name
    assert "1.20" in text and "0.83" in text


def test_values_are_formatted_with_units():
    assert format_value(2.5e-5, "seconds") == "25 µs"
    assert format_value(0.1234, "seconds") == "123 ms"
    assert format_value(3.5, "ms") == "3.5 ms"
    assert format_value(None, "seconds") == "failed"
    assert format_value(math.nan, "seconds") == "skipped"  # asv's NaN; its null is a failure
    assert format_value(602_307.5, "instructions") == "602,308"


def instructions(value, params=("'aiohttp-dev'",)):
    return row(value, name="instructions.ServerInstructions.track_instructions_per_request", params=params,
               unit="instructions", stats=False)


def test_counted_benchmarks_are_judged_by_their_ratio_against_the_threshold():
    base = instructions(600_000)
    assert mark(base, instructions(606_000), 1.05) == "+"  # 1 %: a regression, though asv would see nothing
    assert mark(base, instructions(605_000), 1.05) == ""  # 0.83 %: below the threshold
    assert mark(base, instructions(594_000), 1.05) == "-"
    assert mark(base, instructions(605_000), 1.05, threshold=0.005) == "+"
    assert mark(base, instructions(None), 1.05) == "!"
    # One measurement: the count is established, the timing is not (it is ? until measured again).
    changes = compare([base, row(1.0045, SAMPLES_FAST)], [instructions(606_000), row(1.2045, SAMPLES_SLOW)], 1.05)
    assert [(c.counted, c.mark, c.regression) for c in changes] == [(True, "+", True), (False, "?", False)]


def test_the_collectors_count_is_judged_by_what_it_adds_to_the_requests():
    """A third more collector (one collection more in the window) is 0.13 % of the request: no change; 8,000
    more instructions of collection are 1.3 % of it: a regression, though its own ratio is the same 1.33x."""
    collector = "instructions.ServerInstructions.track_collector_instructions_per_request"

    def part(value):
        return row(value, name=collector, params=("'flask-gunicorn'",), unit="instructions", stats=False)

    whole = instructions(600_000, params=("'flask-gunicorn'",))
    [change] = [c for c in compare([whole, part(2_400)], [whole, part(3_200)], 1.05) if c.label.startswith(collector)]
    assert change.mark == "" and change.ratio == pytest.approx(4 / 3)
    [change] = [c for c in compare([whole, part(24_000)], [whole, part(32_000)], 1.05)
                if c.label.startswith(collector)]
    assert change.mark == "+"
    # Without the request's count beside it, a part is judged by its own ratio.
    assert mark(part(2_400), part(3_200), 1.05) == "+"


def test_each_sides_build_is_named_per_python():
    built = {"commit": "a" * 40, "wheel": "planet_tracker-1.0.0-py3-none-any.whl", "wheel_sha256": "f" * 64,
             "digest": "d" * 64}
    base = {"virtualenv-py3.11": {"packages": {}, "build": built}, "virtualenv-py3.12": {"packages": {}}}
    head = {"virtualenv-py3.11": {"packages": {}, "build": {**built, "commit": "b" * 40}}}
    lines = builds(base, head, {"virtualenv-py3.11": "3.11"}, "main (aaaaaaaa)", "HEAD (bbbbbbbb)")
    assert lines == ["Python 3.11: main (aaaaaaaa) ran the build of aaaaaaaa (planet_tracker-1.0.0-py3-none-any.whl, "
                     "sha256 ffffffffffff); HEAD (bbbbbbbb) ran the build of bbbbbbbb (planet_tracker-1.0.0-py3-none-"
                     "any.whl, sha256 ffffffffffff)"]
    text = markdown([], "main", "HEAD", 1.05, built=lines)
    assert "**Builds** (what each side's benchmarks ran, checked before they counted):\n\n- Python 3.11: " in text


def test_a_timed_change_is_unconfirmed_in_one_measurement_either_way():
    fast, slow = row(1.0045, SAMPLES_FAST), row(1.2045, SAMPLES_SLOW)
    (slower,), (faster,) = compare([fast], [slow], 1.05), compare([slow], [fast], 1.05)
    assert (slower.mark, faster.mark) == ("?", "?") and not slower.regression
    assert markdown([slower, faster], "main", "HEAD", 1.05).startswith(
        "No significant regression between `main` and `HEAD`. 2 timed benchmark(s) flagged by asv's rule in one "
        f"measurement, not confirmed: `make compare` measures them again. Marks: {LEGEND}.\n")


def test_a_timed_change_stands_only_when_a_second_measurement_flags_it_the_same_way():
    fast, slow = row(1.0045, SAMPLES_FAST), row(1.2045, SAMPLES_SLOW)
    same = row(1.0046, SAMPLES_FAST)
    key = ("servers.ServerThroughput.time_batch", ("'aiohttp-dev'",), "env")
    # Slower twice, faster twice: confirmed, each way.
    (confirmed,) = compare([fast], [slow], 1.05, flagged_before={key: "+"})
    assert confirmed.mark == "+" and confirmed.regression and confirmed.remeasured
    assert compare([slow], [fast], 1.05, flagged_before={key: "-"})[0].mark == "-"
    # Flagged first, not when measured again (the no-op's KeepAliveOff rows, faster at 0.63-0.68 once): ~.
    for first in ("+", "-"):
        (again,) = compare([fast], [same], 1.05, flagged_before={key: first})
        assert again.mark == "~" and again.remeasured and not again.regression
    # Each way once, or flagged only by the second: not confirmed either.
    assert compare([fast], [slow], 1.05, flagged_before={key: "-"})[0].mark == "~"
    (second_only,) = compare([fast], [slow], 1.05, flagged_before={})
    assert second_only.mark == "~" and not second_only.remeasured
    # A failure stays a failure; counted benchmarks need no confirmation.
    assert compare([fast], [row(None)], 1.05, flagged_before={key: "+"})[0].mark == "!"
    (count,) = compare([instructions(600_000)], [instructions(606_000)], 1.05, flagged_before={})
    assert count.mark == "+" and not count.remeasured


def test_the_confirmation_measures_again_what_was_flagged_either_way():
    fast, slow = row(1.0045, SAMPLES_FAST), row(1.2045, SAMPLES_SLOW)
    keep = row(1.0045, SAMPLES_FAST, params=("'flask-dev'",))
    changes = compare([fast, row(1.2045, SAMPLES_SLOW, params=("'aiohttp-gunicorn'",)), keep, instructions(600_000)],
                      [slow, row(1.0045, SAMPLES_FAST, params=("'aiohttp-gunicorn'",)), keep,
                       instructions(660_000)], 1.05)
    regex = bench_regex(flagged_timed(changes))
    assert regex == (r"^servers\.ServerThroughput\.time_batch\('aiohttp\-dev'\)$|"
                     r"^servers\.ServerThroughput\.time_batch\('aiohttp\-gunicorn'\)$")
    # asv matches it against "name(params)", the way it names a parameter combination.
    assert re.search(regex, "servers.ServerThroughput.time_batch('aiohttp-dev')")
    assert re.search(regex, "servers.ServerThroughput.time_batch('aiohttp-gunicorn')")
    assert not re.search(regex, "servers.ServerThroughput.time_batch('flask-dev')")
    # The file between the two comparisons carries which way each moved, through JSON.
    written = json.loads(json.dumps(flags(changes)))
    assert sorted(written) == [["servers.ServerThroughput.time_batch", ["'aiohttp-dev'"], "env", "+"],
                               ["servers.ServerThroughput.time_batch", ["'aiohttp-gunicorn'"], "env", "-"]]
    assert read_flags(written) == {("servers.ServerThroughput.time_batch", ("'aiohttp-dev'",), "env"): "+",
                                   ("servers.ServerThroughput.time_batch", ("'aiohttp-gunicorn'",), "env"): "-"}


def test_markdown_puts_the_counted_benchmarks_first_and_names_what_was_not_confirmed():
    base = [row(1.0045, SAMPLES_FAST), row(1.2045, SAMPLES_SLOW, name="methodology.KeepAliveOff.time_batch"),
            instructions(600_000)]
    head = [row(1.2045, SAMPLES_SLOW), row(1.2046, SAMPLES_SLOW, name="methodology.KeepAliveOff.time_batch"),
            instructions(603_000)]
    # The first measurement flagged both: the server slower, KeepAliveOff faster (as in the no-op comparison).
    first = {("servers.ServerThroughput.time_batch", ("'aiohttp-dev'",), "env"): "+",
             ("methodology.KeepAliveOff.time_batch", ("'aiohttp-dev'",), "env"): "-"}
    changes = compare(base, head, 1.05, flagged_before=first)
    text = markdown(changes, "main", "HEAD", 1.05, confirmed=True)
    assert text.index("**Instructions**") < text.index("**Wall-clock**")
    assert "| 600,000 | 603,000 | 1.0050  |" in text and "+ or - only when the second flags it the same way" in text
    table = text.split("**Wall-clock**", 1)[1]
    assert "| ~  | methodology.KeepAliveOff.time_batch(aiohttp-dev)" in table
    assert "| +  | servers.ServerThroughput.time_batch(aiohttp-dev)" in table
    assert text.rstrip().endswith(NOT_CONFIRMED + "`methodology.KeepAliveOff.time_batch(aiohttp-dev)` (Python 3.11).")
    # Not confirmed is not a regression, and nothing else is named.
    assert text.startswith("**1 significant regression(s)**") and text.count("(Python 3.11)") == 1


def test_asvs_own_rule_as_pinned_here():
    """What reports.compare.better takes from asv: significant only beyond the factor *and* with samples that
    differ. If an asv release changes that, this fails first."""
    fast, slow = row(1.0045, SAMPLES_FAST), row(1.2045, SAMPLES_SLOW)
    assert better(fast, slow, 1.05) and not better(slow, fast, 1.05)
    assert not better(fast, slow, 1.25)  # within the factor
    close = row(1.0046, tuple(s + 0.0001 for s in SAMPLES_FAST))
    assert not better(fast, close, 1.0) and not better(close, fast, 1.0)  # samples that overlap
    spread = tuple(1.00 + 0.05 * i for i in range(10))
    assert not better(row(1.2, spread), row(1.3, tuple(s + 0.1 for s in spread)), 1.05)  # overlapping, 8 % apart


# -- the comparison as data (python -m reports compare --json): what the pull request's comment is made from ----


def test_the_data_carries_what_the_markdown_shows_and_no_nan():
    changes = compare([row(1.0045, SAMPLES_FAST, params=("'a'",)), row(1.0045, SAMPLES_FAST, params=("'b'",)),
                       instructions(600_000)],
                      [row(None, params=("'a'",)), row(math.nan, params=("'b'",)), instructions(606_000)], 1.05)
    data = as_data(changes, ("main", "a" * 40), ("HEAD", "b" * 40), 1.05, confirmed=True)
    text = json.dumps(data, allow_nan=False)  # raises on a NaN or an infinity
    assert data["schema"] == COMPARISON.schema and data["version"] == COMPARISON.version == 4
    assert data["dependencies"] == []
    assert data["attribution"] == []  # filled by python -m reports attribution
    assert data["base"] == {"name": "main", "commit": "a" * 40} and data["confirmed"] is True
    assert data["changes"] == [
        {"mark": "+", "benchmark": "instructions.ServerInstructions.track_instructions_per_request(aiohttp-dev)",
         "python": "3.11", "unit": "instructions", "counted": True, "base": 600_000, "head": 606_000,
         "base_status": "ok", "head_status": "ok", "remeasured": False},
        {"mark": "!", "benchmark": "servers.ServerThroughput.time_batch(a)", "python": "3.11", "unit": "seconds",
         "counted": False, "base": 1.0045, "head": None, "base_status": "ok", "head_status": "failed",
         "remeasured": False},
        {"mark": "", "benchmark": "servers.ServerThroughput.time_batch(b)", "python": "3.11", "unit": "seconds",
         "counted": False, "base": 1.0045, "head": None, "base_status": "ok", "head_status": "skipped",
         "remeasured": False}]
    assert "NaN" not in text and "Infinity" not in text


def test_the_versions_that_differ_per_python_and_a_side_that_could_not_be_installed():
    old = {"virtualenv-py3.11": {"packages": {"aiohttp": "3.13.5", "multidict": "6.9.1", "yarl": "1.25.1",
                                              "gone": "1.0"}},
           "virtualenv-py3.12": {"packages": {"aiohttp": "3.14.5"}},
           "virtualenv-py3.13": {"packages": {"aiohttp": "3.14.5"}}}
    new = {"virtualenv-py3.11": {"packages": {"aiohttp": "3.14.5", "multidict": "7.2.1", "yarl": "1.25.1",
                                              "added": "2.0"}},
           "virtualenv-py3.12": {"packages": {"aiohttp": "3.14.5"}},  # nothing differs: left out
           "virtualenv-py3.13": {"error": "ERROR: Cannot install aiohttp==3.14.5 and multidict==6.9.1."}}
    pythons = {f"virtualenv-py3.{minor}": f"3.{minor}" for minor in (11, 12, 13)}
    found = dependencies(old, new, pythons)
    assert found == [
        Dependencies("3.11", (("added", None, "2.0"), ("aiohttp", "3.13.5", "3.14.5"), ("gone", "1.0", None),
                              ("multidict", "6.9.1", "7.2.1"))),
        Dependencies("3.13", (), "", "ERROR: Cannot install aiohttp==3.14.5 and multidict==6.9.1.")]
    marks = [("3.11", "+", 1.025), ("3.11", "+", 1.028), ("3.11", "", 1.001), ("3.11", "-", 0.99),
             ("3.12", "+", 1.5), ("3.13", "!", math.nan)]
    assert dependency_lines(found, marks, "main", "HEAD") == [
        "Python 3.11: added none -> 2.0, aiohttp 3.13.5 -> 3.14.5, gone 1.0 -> none, multidict 6.9.1 -> 7.2.1: "
        "2 slower (+2.5 % to +2.8 %) and 1 faster (-1.0 %), of 4 compared",
        "Python 3.13: HEAD could not be installed with its pins: ERROR: Cannot install aiohttp==3.14.5 and "
        "multidict==6.9.1"]
    # The bump the issue measured: about 0.1 %, under the 1 % threshold, so nothing is marked.
    quiet = dependency_lines(found[:1], [("3.11", "", 1.001), ("3.11", "", 0.999)], "main", "HEAD")
    assert quiet[0].endswith(": nothing marked, of 2 compared")
    text = markdown([], "main", "HEAD", 1.05, deps=found)
    assert "**Dependencies** (each side measured with the versions its constraints.txt pins):" in text
    assert "- Python 3.11: added none -> 2.0, aiohttp 3.13.5 -> 3.14.5" in text
    assert "**Dependencies**" not in markdown([], "main", "HEAD", 1.05)


def _results(tmp_path: Path) -> tuple[str, str]:
    """Two commits of synthetic asv results in a git repository: (base, head)."""
    git = ["git", "-c", "user.name=Fixture", "-c", "user.email=fixture@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    for day in (1, 2):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", f"day {day}"], cwd=tmp_path, check=True)
    head, base = subprocess.run(["git", "log", "--format=%H"], cwd=tmp_path, capture_output=True, text=True,
                                check=True).stdout.split()

    def value(benchmark: str, param: str | None, commit: int, python: int) -> float | None:
        # synthetic's values (mars 20 % slower at the head), and jupiter 20 % faster there
        found = synthetic.default_value(benchmark, param, commit, python)
        return found / 1.2 if benchmark == "core.Position.time_position_body" and param == "jupiter" and not commit \
            else found

    synthetic.write(tmp_path, commits=[(head, 1_700_172_800_000), (base, 1_700_086_400_000)], pythons=["3.11"],
                    value=value, failed={("core.Query.time_parse_query", None, 0, 0)},
                    skipped={("core.Position.time_position_body", "venus", 0, 0)},
                    dependencies=lambda commit, python: {"packages": {"ephem": ["4.2.1", "4.2"][commit],
                                                                      "Flask": "3.1.3"}})
    return base, head


def _reports_compare(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reports", "compare", *args, "--config", "asv.conf.json",
                           "--machine", "fixture-machine"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_compare_json_round_trips_through_the_comments_validator(tmp_path):
    """``python -m reports compare`` on real (synthetic) asv results, in make compare's two steps (--flagged, then
    --confirm with the same file; here nothing is measured in between, so what was flagged repeats), its --json
    read back as the comment workflow reads it: validated, then rendered with the same verdict as the markdown."""
    base, head = _results(tmp_path)
    first = _reports_compare(tmp_path, base, head, "--flagged", "flagged.json")
    assert first.returncode == 0, first.stderr
    written = {(name, tuple(params)): flag for name, params, _, flag in json.loads((tmp_path / "flagged.json")
                                                                                    .read_text())}
    # Slower and faster alike are measured again.
    assert written == {("core.Position.time_position_body", ("'mars'",)): "+",
                       ("core.Position.time_position_body", ("'jupiter'",)): "-"}
    assert re.search(first.stdout.strip(), "core.Position.time_position_body('mars')")
    assert re.search(first.stdout.strip(), "core.Position.time_position_body('jupiter')")
    done = _reports_compare(tmp_path, base, head, "--confirm", "flagged.json", "--markdown", "out/compare.md",
                            "--json", "out/compare.json")
    assert done.returncode == 1, done.stderr  # core.Position(mars) is 20 % slower, core.Query failed
    raw = (tmp_path / "out" / "compare.json").read_text()
    assert "NaN" not in raw
    data = artifact.read_comparison(tmp_path / "out", head)
    assert data["base"] == {"name": base, "commit": base} and data["head"]["commit"] == head
    assert data["confirmed"] is True
    marks = {change["benchmark"]: change["mark"] for change in data["changes"]}
    assert marks["core.Query.time_parse_query"] == "!"
    assert marks["core.Position.time_position_body(mars)"] == "+"
    assert marks["core.Position.time_position_body(jupiter)"] == "-"
    assert sorted(c["benchmark"] for c in data["changes"] if c["remeasured"]) == [
        "core.Position.time_position_body(jupiter)", "core.Position.time_position_body(mars)"]
    venus = next(c for c in data["changes"] if c["benchmark"] == "core.Position.time_position_body(venus)")
    assert venus["head"] is None and venus["head_status"] == "skipped"
    markdown_text = (tmp_path / "out" / "compare.md").read_text()
    regressions = int(re.match(r"\*\*(\d+) significant regression", markdown_text).group(1))
    rendered = comment.render(data, 7, head, "failure")
    assert f"**{regressions} regression(s)** in the comparison's data" in rendered
    assert rendered.index("**Instructions**") < rendered.index("**Wall-clock**")
    assert "| \\! | core\\.Query\\.time\\_parse\\_query | 3\\.11 | 5.25 µs | failed |  |" in rendered
    for text in (rendered, markdown_text):  # venus, on the head: skipped, not failed
        (venus_line,) = [line for line in text.splitlines() if "time" in line and "venus" in line]
        assert [cell.strip() for cell in venus_line.split("|")][5] == "skipped"
    # The versions each side recorded, named in both.
    assert data["dependencies"] == [{"python": "3.11", "base_error": "", "head_error": "",
                                     "moved": [{"name": "ephem", "base": "4.2", "head": "4.2.1"}]}]
    assert "- Python 3.11: ephem 4.2 -> 4.2.1: " in markdown_text
    assert "- Python 3\\.11: ephem 4\\.2 \\-&gt; 4\\.2\\.1: " in rendered


def test_what_the_second_measurement_does_not_repeat_is_named_in_the_table_and_the_comment(tmp_path):
    """The first measurement flagged mars faster (say); the second, slower: measured again, not confirmed."""
    base, head = _results(tmp_path)
    assert _reports_compare(tmp_path, base, head, "--flagged", "flagged.json").returncode == 0
    flagged = json.loads((tmp_path / "flagged.json").read_text())
    for entry in flagged:
        if entry[:2] == ["core.Position.time_position_body", ["'mars'"]]:
            entry[3] = "-"
    (tmp_path / "flagged.json").write_text(json.dumps(flagged))
    done = _reports_compare(tmp_path, base, head, "--confirm", "flagged.json", "--markdown", "out/compare.md",
                            "--json", "out/compare.json")
    assert done.returncode == 1, done.stderr  # core.Query failed still
    data = artifact.read_comparison(tmp_path / "out", head)
    (mars,) = [c for c in data["changes"] if c["benchmark"] == "core.Position.time_position_body(mars)"]
    assert mars["mark"] == "~" and mars["remeasured"]
    text = (tmp_path / "out" / "compare.md").read_text()
    assert NOT_CONFIRMED + "`core.Position.time_position_body(mars)` (Python 3.11)." in text
    rendered = comment.render(data, 7, head, "failure")
    assert (comment.NOT_CONFIRMED + "core\\.Position\\.time\\_position\\_body\\(mars\\) (Python 3\\.11).") in rendered
