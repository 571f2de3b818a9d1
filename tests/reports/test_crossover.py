"""The sweep's map, curves and section, from results files built for the purpose in the harness's JSON shape."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from reports import crossover, summary
from reports.errors import ReportError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "asv"


GRID_CPUS = {"server": None, "generator": None, "note": "not pinned: the servers and wrk share every CPU"}
OPEN_LOOP_CPUS = {"server": 0, "generator": 1, "note": "server on CPU 0, load generator on CPU 1, with taskset"}


def grid_record(scenario: str, framework: str, io_ms: int, concurrency: int, rates, completed: int = 1000,
                errors: dict | None = None, best: bool = True) -> dict:
    """``errors``: socket errors of the first run, by kind (wrk's connect, read, write, timeout); ``best``: the
    harness chose this run as its framework's best at this point (``settings.best``)."""
    samples = [{"requests_per_s": rate, "load": {"completed": completed, "socket_errors": {
        "connect": 0, "read": 0, "write": 0, "timeout": 0, **(errors if i == 0 and errors else {})}}}
        for i, rate in enumerate(rates)]
    return {"kind": "server", "id": scenario, "scenario": {"id": scenario, "framework": framework},
            "settings": {"role": "grid", "io_ms": io_ms, "load": {"concurrency": concurrency}, "cpu_split": GRID_CPUS,
                         **({"best": True} if best and rates else {})},
            "status": "ok" if rates else "failed", "reason": None if rates else "answered 500", "samples": samples}


def openloop_record(scenario: str, share: float, rate: float, p99: float, status: str = "ok",
                    transport_errors: int = 0) -> dict:
    result = {"scheduled": 100, "sent": 100, "dropped": 0 if status == "ok" else 5, "failed": 0,
              "latency_ms": {"50": p99 / 4, "99": p99, "99.9": p99 * 2, "max": p99 * 3},
              "dropped_share": 0.0 if status == "ok" else 0.05, "transport_errors": transport_errors}
    return {"kind": "openloop", "id": scenario, "settings": {"share": share, "rate": rate, "cpu_split": OPEN_LOOP_CPUS},
            "status": status, "reason": None if status == "ok" else "k6 missed the schedule", "result": result}


def write(tmp_path: Path, records: list[dict]) -> Path:
    path = tmp_path / "sweep-results.json"
    path.write_text(json.dumps({"schema": "planet-tracker-bench", "version": 3, "environment": {},
                                "records": records}))
    return path


RECORDS = [
    # Clearly separated: aiohttp ~2x Flask's best in every repeat; one read error and two timeouts under that load.
    grid_record("aiohttp-gunicorn", "aiohttp", 0, 32, [2000, 2050, 1980], errors={"read": 1}),
    grid_record("flask-gunicorn-gthread", "flask", 0, 32, [700, 720, 690], errors={"timeout": 2}, best=False),
    grid_record("flask-gunicorn-wauto", "flask", 0, 32, [1000, 990, 1010]),
    # Clearly reversed.
    grid_record("aiohttp-gunicorn", "aiohttp", 0, 1, [800, 810, 790]),
    grid_record("flask-gunicorn-wauto", "flask", 0, 1, [1000, 1010, 990]),
    # Overlapping, 1.04x at the median.
    grid_record("aiohttp-gunicorn", "aiohttp", 10, 32, [1040, 900, 1200]),
    grid_record("flask-gunicorn-wauto", "flask", 10, 32, [1000, 1150, 880]),
    # Separated by 11 %, but with nine answers a run one answer is 11 %: too coarse to tell.
    grid_record("aiohttp-gunicorn", "aiohttp", 100, 1, [10, 10, 10], completed=10),
    grid_record("flask-gunicorn-wauto", "flask", 100, 1, [9, 9, 9], completed=9),
    # Flask failed here.
    grid_record("aiohttp-gunicorn", "aiohttp", 100, 512, [3000, 3100, 2900]),
    grid_record("flask-gunicorn-wauto", "flask", 100, 512, []),
    openloop_record("aiohttp-dev", 0.5, 4000, 3.0),
    openloop_record("aiohttp-dev", 0.8, 6400, 40.0, status="not measured"),
    openloop_record("flask-dev", 0.5, 600, 5.0),
    openloop_record("flask-dev", 0.8, 960, 9.0, transport_errors=3),
]


def test_each_cell_gets_the_three_way_verdict(tmp_path):
    cells = {(c.io_ms, c.concurrency): c for c in crossover.cells(crossover.load(write(tmp_path, RECORDS)))}
    assert cells[0, 32].verdict == "faster" and cells[0, 32].flask == "flask-gunicorn-wauto"  # the best Flask
    assert cells[0, 32].ratio.value == pytest.approx(2000 / 1000)
    assert cells[0, 1].verdict == "slower" and cells[0, 1].ratio.high < 1
    assert cells[10, 32].verdict == "cannot tell" and cells[10, 32].ratio.value == pytest.approx(1.04)
    assert cells[100, 1].verdict == "cannot tell" and cells[100, 1].ratio.low > 1  # coarse, not uncertain
    assert cells[100, 512].verdict == "not measured" and cells[100, 512].failed == ("flask-gunicorn-wauto",)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_section_answers_from_the_map_and_the_summary_includes_it(tmp_path):
    out = tmp_path / "out"
    text = crossover.build(write(tmp_path, RECORDS), out)
    assert "aiohttp served more requests per second than Flask at 1, fewer at 1, and the interval could not tell at " \
           "2." in text
    assert "Not measured (a side failed): 512 connections / 100 ms." in text
    assert "Flask was faster at 1 connections / 0 ms." in text
    assert "| aiohttp-dev | 6,400 (80%) | 10.00 | 40.00 | 80.00 | 5 (5.00%) | 0 | not measured: k6 missed the " \
           "schedule |" in text
    assert "| flask-dev | 960 (80%) | 2.25 | 9.00 | 18.00 | 0 (0.00%) | 3 | ok |" in text
    assert "3 of 4 open-loop points measured, 1 not measured (requests off schedule)." in text
    for chart in ("sweep_heatmap.png", "latency.png"):
        width, height = png_size(out / chart)
        assert width > 300 and height > 200
    built = summary.build(FIXTURES / "asv.conf.json", out)
    assert "## When is async faster" in built.markdown
    assert built.markdown.index("## When is async faster") < built.markdown.index("## Settings and provenance")


def test_a_file_that_is_not_results_is_a_clear_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[]")
    with pytest.raises(ReportError, match="is not a planet-tracker-bench file"):
        crossover.load(path)
    with pytest.raises(ReportError, match=r"missing\.json is missing: measure again with python -m benchmarks"):
        crossover.load(tmp_path / "missing.json")
    path.write_text("{not json")
    with pytest.raises(ReportError, match="cannot read"):
        crossover.load(path)


def test_each_cell_divides_the_runs_the_harness_marked_best(tmp_path):
    """The harness chooses each framework's best run at a point; the report divides those, whatever it would
    have chosen itself, and a point where a framework has no marked run has no ratio."""
    records = [grid_record("aiohttp-gunicorn", "aiohttp", 0, 32, [2000, 2050, 1980]),
               grid_record("flask-gunicorn-gthread", "flask", 0, 32, [700, 720, 690]),
               grid_record("flask-gunicorn-wauto", "flask", 0, 32, [1000, 990, 1010], best=False),
               grid_record("aiohttp-gunicorn", "aiohttp", 0, 1, [800, 810, 790]),
               grid_record("flask-gunicorn-wauto", "flask", 0, 1, [1000, 1010, 990], best=False)]
    cells = {(c.io_ms, c.concurrency): c for c in crossover.cells(crossover.load(write(tmp_path, records)))}
    assert cells[0, 32].flask == "flask-gunicorn-gthread" and cells[0, 32].ratio.value == pytest.approx(2000 / 700)
    assert cells[0, 1].flask is None and cells[0, 1].verdict == "not measured"
    assert "| 0 ms | 1 | aiohttp-gunicorn | - | n/a | not measured |" in crossover.build(write(tmp_path, records),
                                                                                     tmp_path / "out")


def test_results_without_the_best_marked_are_refused(tmp_path):
    """Written before the harness marked each point's best runs: measured again, not guessed."""
    unmarked = [{**r, "settings": {k: v for k, v in r["settings"].items() if k != "best"}} for r in RECORDS]
    with pytest.raises(ReportError, match=r"mark no point's best runs .*run `make sweep` again"):
        crossover.build(write(tmp_path, unmarked), tmp_path / "out")
    twice = [grid_record("aiohttp-gunicorn", "aiohttp", 0, 1, [800]),
             grid_record("aiohttp-dev", "aiohttp", 0, 1, [900])]
    with pytest.raises(ReportError, match="2 best aiohttp runs at 1 connections / 0 ms"):
        crossover.cells(crossover.load(write(tmp_path, twice)))


def test_transport_errors_are_counted_in_their_cell_and_shown(tmp_path):
    records = crossover.load(write(tmp_path, RECORDS))
    cells = {(c.io_ms, c.concurrency): c for c in crossover.cells(records)}
    assert cells[0, 32].transport_errors == (("aiohttp-gunicorn", "read", 1), ("flask-gunicorn-gthread", "timeout", 2))
    assert cells[0, 32].verdict == "faster" and cells[0, 32].requests == 9000
    assert cells[0, 1].transport_errors == ()
    text = crossover.build(write(tmp_path, RECORDS), tmp_path / "out")
    (row,) = [line for line in text.splitlines() if line.startswith("| 0 ms | 32 |")]
    assert row.endswith("| faster | 3 (aiohttp-gunicorn: read 1; flask-gunicorn-gthread: timeout 2) |")
    assert "Transport errors (requests that got no answer: a socket error or a timeout), counted as a property of " \
           "the point and not as a failure: 3 of 9,003 requests at 32 connections / 0 ms (aiohttp-gunicorn: read 1; " \
           "flask-gunicorn-gthread: timeout 2)." in text


def test_the_section_says_how_the_cpus_were_split(tmp_path):
    text = crossover.build(write(tmp_path, RECORDS), tmp_path / "out")
    assert "CPUs: the map: not pinned: the servers and wrk share every CPU; the open loop (capacity and latency): " \
           "server on CPU 0, load generator on CPU 1, with taskset." in text
    older = [{**r, "settings": {k: v for k, v in r["settings"].items() if k != "cpu_split"}} for r in RECORDS]
    assert "How the CPUs were split is not recorded in these results." in crossover.build(write(tmp_path, older),
                                                                                       tmp_path / "old")


def test_requests_off_schedule_count_the_late_with_the_dropped(tmp_path):
    late = openloop_record("flask-gunicorn", 0.8, 1900, 30.0, status="not measured")
    late["result"].update(dropped=5, late=3, off_schedule=8, dropped_share=0.08)
    text = crossover.build(write(tmp_path, [late]), tmp_path / "out")
    assert "| flask-gunicorn | 1,900 (80%) | 7.50 | 30.00 | 60.00 | 8 (8.00%) | 0 | not measured:" in text
