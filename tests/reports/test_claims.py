"""Every table of the report, checked number by number against the golden asv results in tests/data/asv.

The fixture's values (tests/reports/synthetic.py): at the newest commit "ccc..." on Python 3.11 the servers serve
RATES req/s; Python 3.12 is 10 % slower throughout; each older commit is 5 % slower than the next, except
core.Position(mars), which the newest commit made 20 % slower. flask-gunicorn-gthread failed on 3.11 at the
newest commit, KeepAliveOff(aiohttp-dev) was skipped there on 3.12, and the oldest commit had no uvloop scenario.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest

from reports import asvdata, claims, rendering
from reports.suite import Suite

from . import synthetic

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "asv"
SUITE = Suite.from_record(synthetic.PROVENANCE)
SERVER = SUITE.benchmarks["throughput"]
NEWEST, PREVIOUS, OLDEST = "c" * 40, "b" * 40, "a" * 40


@pytest.fixture(scope="module")
def rows():
    conf = asvdata.load_config(FIXTURES / "asv.conf.json")
    return list(asvdata.iter_rows(conf.results_dir, asvdata.benchmark_info(conf), "fixture-machine"))


@pytest.fixture(scope="module")
def df(rows):
    return claims.frame(rows)


def test_rows_keep_failed_skipped_and_missing_apart(rows):
    def find(benchmark, param, commit, python):
        return [r for r in rows if r.benchmark == benchmark and r.params == (repr(param),) and r.commit == commit
                and r.python == python]

    (failed,) = find(SERVER, "flask-gunicorn-gthread", NEWEST, "3.11")
    assert failed.status == "failed" and failed.value is None
    (skipped,) = find(SUITE.benchmarks["keepalive_off"], "aiohttp-dev", NEWEST, "3.12")
    assert skipped.status == "skipped" and math.isnan(skipped.value)
    assert find(SERVER, "aiohttp-gunicorn-uvloop", OLDEST, "3.11") == []  # not in that commit's suite
    (ok,) = find(SERVER, "aiohttp-dev", NEWEST, "3.11")
    assert ok.value == pytest.approx(1000 / 12000) and len(ok.samples) == 12


def test_commits_newest_first(df):
    assert claims.commits_by_date(df) == [NEWEST, PREVIOUS, OLDEST]


def test_server_table(df):
    table = claims.server_table(df, NEWEST, SUITE).set_index(["python", "row"])
    dev, gunicorn, w4 = (table.loc[("3.11", row)] for row in ("development", "gunicorn", "gunicorn_w4"))
    assert (dev["aiohttp"], dev["flask"]) == pytest.approx((12000, 1600))
    assert dev["difference_pct"] == pytest.approx(650.0) and math.isnan(dev["aiohttp_increase_pct"])
    assert (gunicorn["aiohttp"], gunicorn["flask"]) == pytest.approx((12500, 3200))
    assert gunicorn["difference_pct"] == pytest.approx(290.625)
    assert gunicorn["aiohttp_increase_pct"] == pytest.approx(100 * (12500 / 12000 - 1))
    assert gunicorn["flask_increase_pct"] == pytest.approx(100.0)
    assert (w4["difference_pct"], w4["aiohttp_increase_pct"], w4["flask_increase_pct"]) == pytest.approx(
        (260.0, 50.0, 212.5))
    assert dev["aiohttp_low"] < 12000 < dev["aiohttp_high"] and dev["aiohttp_status"] == "ok"
    slower = table.loc[("3.12", "development")]
    assert (slower["aiohttp"], slower["flask"]) == pytest.approx((12000 / 1.1, 1600 / 1.1))
    # 95 % intervals: the fixture's twelve samples spread ±2 % around each value.
    assert dev["aiohttp_low"] == pytest.approx(11911, abs=1) and dev["aiohttp_high"] == pytest.approx(12091, abs=1)
    assert dev["difference_pct_low"] < 650 < dev["difference_pct_high"]
    markdown = rendering.server_markdown(claims.server_table(df, NEWEST, SUITE))
    assert ("| Development server (req/s)         | 12,000 (11,911-12,091) | 1,600 (1,588-1,612)       | "
            "+650.0 (+642.6 to +657.5) |") in markdown
    assert markdown.index("Python 3.11:") < markdown.index("Python 3.12:")


def test_ratios_and_conclusions(df):
    ratios = claims.article_ratios(df, NEWEST, SUITE).set_index("ratio")
    dev = ratios.loc["aiohttp / Flask, development server"]
    assert dev["python 3.11"] == pytest.approx(7.5) and dev["python 3.12"] == pytest.approx(7.5)
    assert dev["python 3.11_low"] < 7.5 < dev["python 3.11_high"]
    assert dev["article"] == pytest.approx(2023.08 / 721.92)
    assert ratios.loc["gunicorn -w 4 / development server, Flask", "python 3.11"] == pytest.approx(5000 / 1600)
    assert ratios.loc["gunicorn / development server, aiohttp", "article"] == pytest.approx(2396.24 / 2023.08)
    found = claims.conclusions(df, NEWEST, SUITE).set_index("conclusion")["here"]
    assert set(found) == {"holds"} and len(found) == 5


def test_a_conclusion_that_does_not_hold_or_cannot_be_told():
    # aiohttp slower than Flask under the development server; gunicorn helps aiohttp more than Flask.
    df = _frame(dev=(1000, 2000), gunicorn=(3000, 1000), w4=(4000, 1000))
    found = claims.conclusions(df, NEWEST, SUITE).set_index("conclusion")["here"]
    assert found["aiohttp serves more requests per second than Flask under every server"] == "does not hold"
    assert found["gunicorn helps Flask more than aiohttp"] == "does not hold"
    # Within noise: gunicorn at 1.04x the development server, with samples that overlap.
    found = claims.conclusions(_frame(dev=(1000, 500), gunicorn=(1040, 1040), w4=(4000, 1000), noise=0.1),
                               NEWEST, SUITE).set_index("conclusion")["here"]
    assert found["gunicorn is faster than the development server, for both"] == "cannot tell (within noise)"
    missing = claims.conclusions(_frame(dev=(1000, math.nan), gunicorn=(1, 1), w4=(1, 1)), NEWEST, SUITE)
    assert missing.set_index("conclusion")["here"].iloc[0] == "cannot tell (missing results)"


def _frame(noise: float = 0.02, **rows):
    """A frame of the article's six scenarios at NEWEST on 3.11: req/s (aiohttp, Flask) per row of the article's
    table, as four rounds of six batch times spread by ``noise`` around each."""
    import numpy as np

    from reports.asvdata import Row

    rng = np.random.default_rng(7)
    records = []
    for short, suffix in (("dev", "dev"), ("gunicorn", "gunicorn"), ("w4", "gunicorn-w4")):
        for framework, rate in zip(("aiohttp", "flask"), rows[short], strict=True):
            if math.isnan(rate):
                continue
            seconds = tuple(1000 / rate * (1 + noise * rng.standard_normal(24)))
            records.append(Row(SERVER, (repr(f"{framework}-{suffix}"),), ("scenario",), "env", "3.11", NEWEST,
                               0, float(np.median(seconds)), {"repeat": 6}, seconds, "seconds", 6))
    return claims.frame(records)


def test_client_table(df):
    table = claims.client_table(df, NEWEST, SUITE).set_index(["python", "strategy"])
    threads = table.loc[("3.11", "requests-threads-10")]
    assert threads["wall_s"] == pytest.approx(0.11) and threads["speedup"] == pytest.approx(1.05 / 0.11)
    assert threads["floor_s"] == pytest.approx(0.1) and threads["efficiency"] == pytest.approx(0.1 / 0.11)
    assert threads["speedup_low"] < threads["speedup"] < threads["speedup_high"]
    assert threads["article_wall_s"] == 2.170 and threads["article_speedup"] == pytest.approx(13.112 / 2.170)
    gather = table.loc[("3.12", "aiohttp-gather")]
    assert gather["wall_s"] == pytest.approx(0.0165) and gather["floor_s"] == pytest.approx(0.01)
    assert math.isnan(table.loc[("3.11", "threadpool"), "article_wall_s"])


def test_methodology_table(df):
    table = claims.methodology_table(df, NEWEST, SUITE).set_index(["python", "setting"])
    io = table.loc[("3.11", "gunicorn, handler waits 20 ms (I/O-bound)")]
    assert (io["aiohttp_req_s"], io["flask_req_s"]) == pytest.approx((820, 50)) and io["async_faster"] == "faster"
    off = table.loc[("3.11", "Development server, a new connection per request")]
    assert off["ratio"] == pytest.approx(7200 / 1520)
    skipped = table.loc[("3.12", "Development server, a new connection per request")]
    assert math.isnan(skipped["aiohttp_req_s"]) and skipped["async_faster"] == "cannot tell (missing results)"
    failed = table.loc[("3.11", "gunicorn: aiohttp worker vs gthread (4 threads)")]
    assert math.isnan(failed["flask_req_s"]) and failed["async_faster"] == "cannot tell (missing results)"
    assert off["ratio_low"] < off["ratio"] < off["ratio_high"]
    assert table.loc[("3.12", "gunicorn: aiohttp worker vs gthread (4 threads)"), "ratio"] == pytest.approx(5.0)


def test_changes(rows):
    changes = claims.changes_table(rows, NEWEST, PREVIOUS, 1.05)
    counted = changes["unit"] == "instructions"
    assert counted.iloc[: counted.sum()].all()  # the counted benchmarks come first
    counts, timed = changes[counted], changes[~counted]
    # 2 % more instructions is a regression, though asv's factor (1.05) would not see it.
    assert list(counts.head(2)["mark"]) == ["+", "+"]
    assert set(counts.head(2)["benchmark"]) == {f"{synthetic.INSTRUCTIONS}(flask-gunicorn)"}
    assert list(counts.head(2)["ratio"]) == pytest.approx([1.02, 1.02])
    assert set(counts.iloc[2:]["mark"]) == {"-"}  # every other count fell by 1/1.05: beyond the 1 % threshold
    # Two commits measured in separate runs: what asv's rule flags in the timings is ?, not + (one measurement).
    top = timed.head(3)
    assert list(top["mark"]) == ["!", "?", "?"]
    assert top.iloc[0]["benchmark"] == "servers.ServerThroughput.time_batch(flask-gunicorn-gthread)"
    assert top.iloc[0]["newer_text"] == "failed"
    assert set(top.iloc[1:]["benchmark"]) == {"core.Position.time_position_body(mars)"}
    assert list(top.iloc[1:]["ratio"]) == pytest.approx([1.2, 1.2])
    assert not set(timed["mark"]) & {"+", "-"}
    assert changes["regression"].sum() == 3  # the two counts and the failure
    markdown = rendering.changes_markdown(changes, {})
    assert markdown.splitlines()[2].startswith(f"| +  | {synthetic.INSTRUCTIONS}(flask-gunicorn)")
    back = claims.changes_table(rows, NEWEST, OLDEST, 1.05)
    assert not back["benchmark"].str.contains("uvloop").any()  # the oldest commit did not measure it


def test_instructions_and_cost_ratios(df):
    table = claims.instructions_table(df, NEWEST, SUITE).set_index("scenario")
    assert list(table.columns) == ["3.11", "3.11 status", "3.12", "3.12 status"] and len(table) == 10
    assert set(table["3.11 status"]) == {"ok"}
    assert table.loc["aiohttp-dev", "3.11"] == pytest.approx(600_000)
    assert table.loc["flask-gunicorn", "3.12"] == pytest.approx(1_300_000 * 1.02 * 1.05 * 1.1)
    ratios = claims.cost_ratios(df, NEWEST, SUITE).set_index(["python", "server"])
    dev = ratios.loc[("3.11", "Development server")]
    assert dev["instructions_ratio"] == pytest.approx(1_300_000 / 600_000)
    assert dev["throughput_ratio"] == pytest.approx(12000 / 1600)
    text = rendering.cost_ratios_markdown(claims.cost_ratios(df, NEWEST, SUITE))
    assert "| Development server | 600,000" in text and "| 2.17 " in text


def test_a_count_without_a_number_says_why(tmp_path):
    """asv records a failed benchmark as null and a skipped one (NotImplementedError in setup: the instructions
    benchmarks skip what PLANET_TRACKER_INSTRUCTIONS leaves out) as NaN; a Python that has no row for a scenario
    did not measure it. Each cell says which."""
    synthetic.write(tmp_path, [("d" * 40, 1764100000000)], ["3.11", "3.12"],
                    failed={(synthetic.INSTRUCTIONS, "flask-dev", 0, 0)},
                    skipped={(synthetic.INSTRUCTIONS, "aiohttp-gunicorn", 0, 0)})
    conf = asvdata.load_config(tmp_path / "asv.conf.json")
    df = claims.frame(asvdata.iter_rows(conf.results_dir, asvdata.benchmark_info(conf), "fixture-machine"))
    df = df[~((df["python"] == "3.12") & (df["param"] == "aiohttp-dev"))]  # never measured there
    table = claims.instructions_table(df, "d" * 40, SUITE)
    cells = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:4]]
             for line in rendering.instructions_markdown(table).splitlines() if line.startswith("| ")}
    assert cells["flask-dev"] == ["failed", "1,430,000"]
    assert cells["aiohttp-gunicorn"] == ["skipped", "660,000"]
    assert cells["aiohttp-dev"] == ["600,000", "not measured"]
    # Why a count is skipped (asv keeps no reason), said under the table when one is.
    assert "PLANET_TRACKER_INSTRUCTIONS" in rendering.instructions_markdown(table)
    unskipped = claims.instructions_table(df[df["status"] != "skipped"], "d" * 40, SUITE)
    assert "PLANET_TRACKER_INSTRUCTIONS" not in rendering.instructions_markdown(unskipped)


def test_rates_follow_the_batch_size_the_suite_recorded(df):
    """No copy of the suite's settings in the reports: change the recorded batch, and every rate follows."""
    record = copy.deepcopy(synthetic.PROVENANCE)
    record["suite"]["batch_requests"][SERVER] = 500
    record["suite"]["client"]["delay_ms"] = 20.0
    suite = Suite.from_record(record)
    table = claims.server_table(df, NEWEST, suite).set_index(["python", "row"])
    assert table.loc[("3.11", "development"), "aiohttp"] == pytest.approx(6000)
    clients = claims.client_table(df, NEWEST, suite).set_index(["python", "strategy"])
    assert clients.loc[("3.11", "requests-sequential"), "floor_s"] == pytest.approx(2.0)


def test_names_figures_and_settings_follow_the_suites_record(df):
    """No benchmark name, figure or setting of the suite's spelled in the reports: change the record, and the
    tables follow."""
    record = copy.deepcopy(synthetic.PROVENANCE)
    record["article"]["figures"]["server"]["requests_per_second"]["development"]["flask"] = 1000.0
    record["suite"]["io_ms"] = 50
    suite = Suite.from_record(record)
    ratios = claims.article_ratios(df, NEWEST, suite).set_index("ratio")
    assert ratios.loc["aiohttp / Flask, development server", "article"] == pytest.approx(2.02308)
    settings = claims.methodology_table(df, NEWEST, suite)["setting"]
    assert "gunicorn, handler waits 50 ms (I/O-bound)" in set(settings)
    record["benchmarks"]["throughput"] = "servers.Elsewhere.time_batch"
    record["suite"]["batch_requests"]["servers.Elsewhere.time_batch"] = 1000
    table = claims.server_table(df, NEWEST, Suite.from_record(record))
    assert set(table["aiohttp_status"]) == {"missing"}  # the fixture has no results of that name
