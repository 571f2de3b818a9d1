"""The comparison of two commits: asv's verdicts, failures kept visible, regressions first."""

from __future__ import annotations

import math
import re

from reports.asvdata import Row
from reports.compare import bench_regex, better, compare, flagged_timed, format_value, mark, markdown

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
    changes = compare(base, head, 1.05)
    assert [(c.label, c.mark) for c in changes] == [
        ("servers.ServerThroughput.time_batch(a)", "!"),
        ("servers.ServerThroughput.time_batch(b)", "+"),
        ("servers.ServerThroughput.time_batch(c)", "-"),
    ]
    assert [c.regression for c in changes] == [True, True, False]
    text = markdown(changes, "main", "HEAD", 1.05)
    assert text.startswith("**2 significant regression(s)** between `main` and `HEAD`")
    assert "| !  | servers.ServerThroughput.time_batch(a) | 3.11     | 1 s    | failed |" in text
    assert "virtualenv" not in text and "| Python" in text  # the Python version, not asv's environment name
    assert "1.20" in text and "0.83" in text


def test_values_are_formatted_with_units():
    assert format_value(2.5e-5, "seconds") == "25 µs"
    assert format_value(0.1234, "seconds") == "123 ms"
    assert format_value(3.5, "ms") == "3.5 ms"
    assert format_value(None, "seconds") == "failed"
    assert format_value(math.nan, "seconds") == "n/a"
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
    changes = compare([base, row(1.0045, SAMPLES_FAST)], [instructions(606_000), row(1.2045, SAMPLES_SLOW)], 1.05)
    assert [(c.counted, c.mark, c.regression) for c in changes] == [(True, "+", True), (False, "+", True)]


def test_a_timed_slowdown_stands_only_when_confirmed():
    fast, slow = row(1.0045, SAMPLES_FAST), row(1.2045, SAMPLES_SLOW)
    (first,) = compare([fast], [slow], 1.05)
    assert first.mark == "+" and first.key == ("servers.ServerThroughput.time_batch", ("'aiohttp-dev'",), "env")
    # Flagged twice: confirmed.
    assert compare([fast], [slow], 1.05, flagged_before={first.key})[0].mark == "+"
    # Flagged first, not when measured again (and the other way round): not confirmed, not a regression.
    (unconfirmed,) = compare([fast], [row(1.0046, SAMPLES_FAST)], 1.05, flagged_before={first.key})
    assert unconfirmed.mark == "?" and not unconfirmed.regression
    assert compare([fast], [slow], 1.05, flagged_before=set())[0].mark == "?"
    # Counted benchmarks need no confirmation.
    assert compare([instructions(600_000)], [instructions(606_000)], 1.05, flagged_before=set())[0].mark == "+"


def test_the_confirmation_selects_exactly_the_flagged_rows():
    fast, slow = row(1.0045, SAMPLES_FAST), row(1.2045, SAMPLES_SLOW)
    changes = compare([fast, row(1.0045, SAMPLES_FAST, params=("'flask-dev'",)), instructions(600_000)],
                      [slow, row(1.0045, SAMPLES_FAST, params=("'flask-dev'",)), instructions(660_000)], 1.05)
    regex = bench_regex(flagged_timed(changes))
    assert regex == r"^servers\.ServerThroughput\.time_batch\('aiohttp\-dev'\)$"
    # asv matches it against "name(params)", the way it names a parameter combination.
    assert re.search(regex, "servers.ServerThroughput.time_batch('aiohttp-dev')")
    assert not re.search(regex, "servers.ServerThroughput.time_batch('flask-dev')")


def test_markdown_puts_the_counted_benchmarks_first():
    changes = compare([row(1.0045, SAMPLES_FAST), instructions(600_000)],
                      [row(1.2045, SAMPLES_SLOW), instructions(603_000)], 1.05)
    text = markdown(changes, "main", "HEAD", 1.05, confirmed=True)
    assert text.index("**Instructions**") < text.index("**Wall-clock**")
    assert "| 600,000 | 603,000 | 1.0050  |" in text and "confirms it" in text


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
