"""pipeline/issues.py: the regressions' issues, opened, updated and closed through a local GitHub API (the
rehearsal's stand-in), from data shaped as python -m reports regressions writes it."""

from __future__ import annotations

import pytest

import benchmarks.harness.formats as formats
from pipeline import api, issues
from rehearsal.api import GitHubAPI

A, B, C, D = ("a" * 40), ("b" * 40), ("c" * 40), ("d" * 40)
HOSTILE = "Speed up @octocat's <img src=x onerror=alert(1)> [click](http://evil) #42 **bold** | pipe"
LABEL = "instructions.ServerInstructions.track_instructions_per_request(flask-dev)"


def step(before=A, after=B, ratio=1.012, python="3.12") -> dict:
    return {"machine": "m", "python": python, "benchmark": LABEL, "before_commit": before, "after_commit": after,
            "before": 1_430_000.0, "after": 1_430_000.0 * ratio, "ratio": ratio, "threshold": 0.005,
            "threshold_source": "3 x the largest of 4 no-op move(s), 0.010 %"}


def data(regressions=(), drifts=()) -> dict:
    return formats.REGRESSIONS.stamp({"tip": D, "baseline": {"commit": A, "tag": None}, "floor": 0.005,
                                      "regressions": list(regressions), "drifts": list(drifts), "thresholds": [],
                                      "timed": [], "timed_how": "not computed"})


def regression(status="open", recovered_at=None, commit=B, subject=HOSTILE, moved=()) -> dict:
    return {"commit": commit, "between": None, "unmeasured": [], "subject": subject, "status": status,
            "recovered_at": recovered_at, "worst_ratio": 1.012, "steps": [step(), step(python="3.11")],
            "moved": list(moved)}


@pytest.fixture
def github():
    server = GitHubAPI().start()
    try:
        yield server
    finally:
        server.stop()


def announce(github, found: dict, mention: str = "") -> list[str]:
    return issues.announce(api.Api(github.repository, github.token, github.url), found,
                           "https://github.com/owner/planet-tracker/actions/runs/9",
                           "https://owner.github.io/planet-tracker/", mention)


def test_a_regression_opens_one_issue_escaped_and_later_runs_update_it(github):
    found = data([regression(moved=[{"python": "3.12", "name": "aiohttp", "before": "3.13.5", "after": "3.14.5"}])])
    assert announce(github, found, "@alice @org/perf")[0].startswith("opened #1 ")
    (issue,) = github.issues_labelled("performance")
    # The title: the short hash, the subject as plain text (one line, no control characters), the worst ratio.
    assert issue["title"] == f"Performance: {B[:8]} {HOSTILE} (+1.20 % instructions)"
    text = issue["body"]
    assert text.startswith(f"<!-- planet-tracker-regression {B} -->\n")
    # The subject is anyone's: no mention, image, link, HTML or emphasis survives it.
    assert "@octocat" not in text and "<img" not in text and "](http://evil)" not in text and "**bold**" not in text
    assert "@&#8203;octocat" in text and "&lt;img src\\=x onerror\\=alert\\(1\\)&gt;" in text
    # Each benchmark per Python with its threshold; the versions that moved; where to look; the graphs.
    assert text.count("| 1,430,000 | 1,447,160 | 1.0120 | 0.5 % |") == 2
    assert "aiohttp 3\\.13\\.5 → 3\\.14\\.5 (Python 3\\.12)" in text
    assert f"AGAINST={A[:8]}` ranks the functions that cost more" in text
    assert "[graph](https://owner.github.io/planet-tracker/asv/#instructions.ServerInstructions" in text
    assert text.rstrip().endswith("cc @alice @org/perf")
    # The same data again (a re-run): nothing to do; a later run (another run's address): updated, not opened.
    assert announce(github, found, "@alice @org/perf") == []
    found["regressions"][0]["steps"][0]["ratio"] = 1.013
    assert announce(github, found, "@alice @org/perf") == [f"updated #1 ({B[:14]})"]
    assert len(github.issues_labelled("performance")) == 1 and github.unexpected == []


def test_a_recovered_regression_is_commented_and_closed_once(github):
    announce(github, data([regression()]))
    assert announce(github, data([regression("recovered", C)])) == [f"closed #1 ({B[:14]})"]
    (issue,) = github.issues_labelled("performance")
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    (note,) = github.comments_on(1)
    assert note["body"].startswith(f"Recovered at `{C[:8]}`") and note["user"]["login"] == "github-actions[bot]"
    assert announce(github, data([regression("recovered", C)])) == []  # already closed: nothing more


def test_a_step_not_yet_placed_is_not_announced_and_a_drift_has_its_own_issue(github):
    between = {**regression(commit=None), "between": [A, C], "unmeasured": [B]}
    drift = {"machine": "m", "python": "3.12", "benchmark": LABEL, "since_commit": A, "latest_commit": D,
             "before": 1_430_000.0, "after": 1_441_000.0, "ratio": 1.0077, "threshold": 0.005,
             "threshold_source": "the floor", "commits": [{"commit": C, "ratio": 1.004}, {"commit": B, "ratio": 1.003}]}
    assert announce(github, data([between], [drift])) == [f"opened #1 for drift-{A[:8]}"]
    (issue,) = github.issues_labelled("performance")
    assert issue["title"].startswith(f"Performance drift since {A[:8]} (+0.77 %")
    assert f"`{C[:8]}` (+0.40 %), `{B[:8]}` (+0.30 %)" in issue["body"]  # largest first
    assert announce(github, data([between])) == [f"closed #1 (drift-{A[:8]})"]


def test_only_the_tokens_own_issues_count(github):
    """Anyone can open an issue that starts with the marker: it is not ours, and ours is opened beside it."""
    github.opened[5] = {"number": 5, "title": "x", "body": issues.MARKER.format(key=B), "state": "open",
                        "state_reason": None, "user": {"login": "mallory", "type": "User"},
                        "labels": [{"name": "performance"}]}
    assert announce(github, data([regression()]))[0].startswith("opened #6 ")


def test_mentions_are_logins_or_teams():
    assert issues.mentions("@alice, @org/perf-team  bob @x;y") == ("@alice @org/perf-team", ["bob", "@x;y"])
    assert issues.mentions("") == ("", [])


def test_the_summary_opens_with_what_is_open():
    between = {**regression(commit=None), "between": [A, C], "unmeasured": [B]}
    text = issues.summary(data([regression(), between, regression("recovered", C, commit=D)]), "https://x.io/p/")
    assert text.startswith("**Open regressions** over the stored history:\n\n- **Regression** at `bbbbbbbb` ")
    assert f"between `{A[:8]}` and `{C[:8]}` (being placed)" in text and text.count("- **Regression**") == 2
    assert "[regressions.xml](https://x.io/p/asv/regressions.xml)" in text
    assert issues.summary(data()).startswith("**No open regression**")


def test_a_profiled_regression_shows_where_its_cost_went(github):
    """The bisection's run profiled it: the rankings (names escaped: a qualname holds <locals>) and the flame graph
    on the published site."""
    entry = {"benchmark": LABEL, "target": "flask-dev", "unit": "request",
             "python": [{"name": "planet_tracker.core:position_body.<locals>.spin", "calls": [0, 1],
                         "self": [0, 708], "inclusive": [0, 708]}],
             "c": [{"name": "_PyEval_EvalFrameDefault", "calls": [128, 128], "self": [279_177, 294_371],
                    "inclusive": [3_553_502, 3_642_037]}]}
    found = data([{**regression(), "attribution": {"3.12": [entry]}}])
    announce(github, found)
    (issue,) = github.issues_labelled("performance")
    text = issue["body"]
    assert "**Where the cost went** on Python 3\\.12" in text
    assert f"[flame graph](https://owner.github.io/planet-tracker/regressions/{B}/py3.12.svg)" in text
    assert "| planet\\_tracker\\.core\\:position\\_body\\.&lt;locals&gt;\\.spin | 0 → 1 (+1) | 0 → 708 (+708) |" in text
    assert "| \\_PyEval\\_EvalFrameDefault | 128 → 128 (+0) | 279,177 → 294,371 (+15,194) |" in text
    assert "not profiled yet" not in text
