"""Attribution: two profiles ranked by their difference, into a comparison's table, JSON and flame graphs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from reports import attribution, flamegraph
from reports.errors import ReportError

LABEL = "instructions.ServerInstructions.track_instructions_per_request(flask-dev)"


def profile(extra: float = 0.0, target: str = "flask-dev") -> dict:
    """A profile as benchmarks.harness.attribution writes it; ``extra`` bytecodes in position_body."""
    def cost(calls: float, own: float, inclusive: float) -> dict:
        return {"calls": calls, "self": own, "inclusive": inclusive}

    return {"schema": "planet-tracker-attribution", "version": 2, "target": target, "unit": "request",
            "benchmark": LABEL, "python_version": "3.11.7", "instructions_per_unit": 1_400_000.0,
            "collector_per_unit": 3_000.0,
            "python": {"flask.app:Flask.wsgi_app": cost(1.0, 40.0, 4862.0 + extra),
                       "planet_tracker.core:position_body": cost(1.0, 8.0 + extra, 271.0 + extra),
                       "gunicorn.workers.base:Worker.notify": cost(0.2, 3.0, 3.0 + 0.1 * (extra > 0))},
            "c": {"_PyEval_EvalFrameDefault": cost(148.0, 321_684.0 + 21 * extra, 5_871_729.0),
                  "__cos_fma": cost(1386.0, 135_108.0, 135_108.0)},
            "stacks": {"flask.app:Flask.wsgi_app": 40.0,
                       "flask.app:Flask.wsgi_app;planet_tracker.core:position_body": 8.0 + extra}}


def test_ranked_by_the_change_in_own_cost_and_noise_left_out():
    python = attribution.rank(profile(), profile(708), "python")
    assert [entry.name for entry in python] == ["planet_tracker.core:position_body", "flask.app:Flask.wsgi_app"]
    assert python[0].change == 708 and python[1].change == 0 and python[1].inclusive_change == 708
    # Worker.notify moved by 0.1 bytecode per request (a heartbeat left after the idle window's subtraction).
    assert "gunicorn.workers.base:Worker.notify" not in [entry.name for entry in python]
    (c,) = attribution.rank(profile(), profile(708), "c")
    assert c.name == "_PyEval_EvalFrameDefault" and c.change == 21 * 708
    assert attribution.rank(profile(), profile(), "python") == []


def test_the_section_gives_both_tables_and_the_graph():
    text = attribution.section(LABEL, 1.021, profile(), profile(708), "attribution/flask-dev.svg")
    assert text.startswith(f"**Where: `{LABEL}`** (+2.1 %)")
    assert "| `planet_tracker.core:position_body` | 1 → 1 (+0) | 8 → 716 (+708) | 271 → 979 (+708) |" in text
    assert "| `_PyEval_EvalFrameDefault` | 148 → 148 (+0) | 321,684 → 336,552 (+14,868) |" in text
    assert text.endswith("[flask-dev.svg](attribution/flask-dev.svg)")


def test_a_comparison_gets_its_flagged_benchmarks_attributed(tmp_path):
    base, head = "a" * 40, "b" * 40
    comparison = {"base": {"name": "main", "commit": base}, "head": {"name": "HEAD", "commit": head},
                  "changes": [{"benchmark": LABEL, "counted": True, "mark": "+", "base": 1_400_000,
                               "head": 1_429_400},
                              {"benchmark": "servers.ServerThroughput.time_batch(flask-dev)", "counted": False,
                               "mark": "+", "base": 1.0, "head": 1.2},
                              {"benchmark": "instructions.ServerInstructions.track_instructions_per_request("
                                            "aiohttp-dev)", "counted": True, "mark": "-", "base": 1, "head": 0.9}]}
    assert attribution.flagged(comparison) == [LABEL, "instructions.ServerInstructions.track_instructions_per_"
                                                      "request(aiohttp-dev)"]
    for commit, extra in ((base, 0), (head, 708)):
        (tmp_path / commit).mkdir()
        (tmp_path / commit / "flask-dev.json").write_text(json.dumps(profile(extra)))
    text, data = attribution.attribute(comparison, tmp_path, tmp_path / "graphs")
    assert text.startswith("## Where the flagged counts changed")
    assert "aiohttp-dev)`**: no profile of the base or the head (see the log)." in text
    assert [entry["benchmark"] for entry in data] == [LABEL]
    assert data[0]["python"][0] == {"name": "planet_tracker.core:position_body", "calls": [1.0, 1.0],
                                    "self": [8.0, 716.0], "inclusive": [271.0, 979.0]}
    assert (tmp_path / "graphs" / "flask-dev.svg").read_text().startswith("<svg")
    assert "(graphs/flask-dev.svg)" in text


def test_the_flame_graph_is_svg_red_where_a_frame_costs_more():
    svg = flamegraph.svg(profile()["stacks"], profile(708)["stacks"], "flask-dev: base against head")
    root = ElementTree.fromstring(svg)
    frames = {group.find("{http://www.w3.org/2000/svg}title").text: group.find("{http://www.w3.org/2000/svg}rect")
              for group in root.iter("{http://www.w3.org/2000/svg}g")}
    (body,) = [rect for title, rect in frames.items() if title.startswith("planet_tracker.core:position_body")]
    (outer,) = [rect for title, rect in frames.items() if title.startswith("flask.app:Flask.wsgi_app")]
    assert body.get("fill").startswith("rgb(255,") and outer.get("fill") == "rgb(205,205,205)"
    # Widths follow the cost with callees: the outer frame spans the whole graph, the body most of it.
    assert float(outer.get("width")) > float(body.get("width")) > 0.9 * float(outer.get("width"))
    shrunk = flamegraph.svg(profile(708)["stacks"], profile()["stacks"], "reversed")
    assert "rgb(50,50,255)" in shrunk  # blue: the frame costs less at head


def test_a_missing_or_foreign_profile_is_one_line(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"schema": "something-else"}))
    with pytest.raises(ReportError, match="is not a planet-tracker-attribution file"):
        attribution.read(tmp_path / "x.json")
    with pytest.raises(ReportError, match=r"the profile: .*missing\.json is missing"):
        attribution.read(tmp_path / "missing.json")
    assert attribution.profiles(Path(tmp_path / "nothing")) == {}
