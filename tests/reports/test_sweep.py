"""The sweep's map, curves and section, from results files built for the purpose in the harness's JSON shape."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from reports import summary, sweep
from reports.errors import ReportError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "asv"


def grid_record(scenario: str, framework: str, io_ms: int, concurrency: int, rates, completed: int = 1000) -> dict:
    samples = [{"requests_per_s": rate, "load": {"completed": completed}} for rate in rates]
    return {"kind": "server", "id": scenario, "scenario": {"id": scenario, "framework": framework},
            "settings": {"role": "grid", "io_ms": io_ms, "load": {"concurrency": concurrency}},
            "status": "ok" if rates else "failed", "reason": None if rates else "answered 500", "samples": samples}


def openloop_record(scenario: str, share: float, rate: float, p99: float, status: str = "ok") -> dict:
    result = {"scheduled": 100, "sent": 100, "dropped": 0 if status == "ok" else 5, "failed": 0,
              "latency_ms": {"50": p99 / 4, "99": p99, "99.9": p99 * 2, "max": p99 * 3},
              "dropped_share": 0.0 if status == "ok" else 0.05}
    return {"kind": "openloop", "id": scenario, "settings": {"share": share, "rate": rate}, "status": status,
            "reason": None if status == "ok" else "k6 missed the schedule", "result": result}


def write(tmp_path: Path, records: list[dict]) -> Path:
    path = tmp_path / "sweep-results.json"
    path.write_text(json.dumps({"schema": "planet-tracker-bench", "version": 3, "environment": {},
                                "records": records}))
    return path


RECORDS = [
    # Clearly separated: aiohttp ~2x Flask's best in every repeat.
    grid_record("aiohttp-gunicorn", "aiohttp", 0, 32, [2000, 2050, 1980]),
    grid_record("flask-gunicorn-wauto", "flask", 0, 32, [1000, 990, 1010]),
    grid_record("flask-gunicorn-gthread", "flask", 0, 32, [700, 720, 690]),
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
    openloop_record("flask-dev", 0.8, 960, 9.0),
]


def test_each_cell_gets_the_three_way_verdict(tmp_path):
    cells = {(c.io_ms, c.concurrency): c for c in sweep.cells(sweep.load(write(tmp_path, RECORDS)))}
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
    text = sweep.build(write(tmp_path, RECORDS), out)
    assert "aiohttp served more requests per second than Flask at 1, fewer at 1, and the interval could not tell at " \
           "2." in text
    assert "Not measured (a side failed): 512 connections / 100 ms." in text
    assert "Flask was faster at 1 connections / 0 ms." in text
    assert "| aiohttp-dev | 6,400 (80%) | 10.00 | 40.00 | 80.00 | 5 (5.00%) | not measured: k6 missed the schedule |" \
        in text
    for chart in ("sweep_heatmap.png", "latency.png"):
        width, height = png_size(out / chart)
        assert width > 300 and height > 200
    built = summary.build(FIXTURES / "asv.conf.json", out)
    assert "## When is async faster" in built.markdown
    assert built.markdown.index("## When is async faster") < built.markdown.index("## Settings and provenance")


def test_a_file_that_is_not_results_is_a_clear_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[]")
    with pytest.raises(ReportError, match="not a planet-tracker-bench results file"):
        sweep.load(path)
    with pytest.raises(ReportError, match="cannot read sweep results"):
        sweep.load(tmp_path / "missing.json")
