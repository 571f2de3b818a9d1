"""The regressions over time, announced as GitHub issues: one issue per regressing commit, one per drift.

From the data ``python -m reports regressions`` wrote after a publish (formats.REGRESSIONS), and the issues this
project already opened (labelled LABEL, opened by the workflow's token, found by the marker their body starts
with), ``plan`` decides, and ``announce`` does:

* a counted regression placed on its commit and still open: an issue, titled with the commit's short hash and
  subject and the worst ratio, its body the benchmarks' before, after and ratio per Python with their thresholds,
  the dependency versions that moved, what shows where the cost went, and links to the graphs; a later run
  updates the same issue (re-runs and racing publishes included: the announcing job runs one at a time, and
  finds the issue by its marker), never a second one;
* the same regression recovered (a later commit brought every benchmark back within its threshold): a comment
  naming that commit, and the issue closed;
* a drift: an issue of its own, per baseline, updated while it lasts and closed when it is gone;
* a step not yet placed on one commit is not announced: the bisection places it first.

Commit subjects come from anyone's pull request: they are escaped as the pull-request comment escapes its text
(``comment.escape``: no mention, link, image or HTML survives); the title is plain text, cut to GitHub's length.
Standard library only: the announcing step runs under the runner's bare ``python3``, with ``issues: write``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import benchmarks.harness.formats as formats

from .api import BOT, Api
from .comment import attribution_tables, escape
from .errors import PipelineError

LABEL = "performance"
MARKER = "<!-- planet-tracker-regression {key} -->"
_MARKER = re.compile(r"<!-- planet-tracker-regression (\S+) -->")
MAX_TITLE = 256  # GitHub's limit on an issue's title
MAX_BODY = 60000
_MENTION = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9_.-]{1,100})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def read(path: Path) -> dict:
    try:
        return formats.REGRESSIONS.load(path)
    except formats.FormatError as error:
        raise PipelineError(str(error)) from None


def mentions(text: str) -> tuple[str, list[str]]:
    """Who to mention (vars.BENCH_ALERT_MENTION: logins or teams, "@a @org/team", spaces or commas between), and
    what was left out for not being one."""
    words = [word for word in re.split(r"[\s,]+", text or "") if word]
    kept = [word for word in words if _MENTION.fullmatch(word)]
    return " ".join(kept), [word for word in words if word not in kept]


def _plain(text: str) -> str:
    """A title from untrusted text: one line, no control or invisible formatting characters."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _count(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _percent(ratio: float) -> str:
    return f"{100 * (ratio - 1):+.2f} %"


def key_of(regression: dict) -> str:
    return regression["commit"]


def drift_key(data: dict) -> str:
    return f"drift-{data['baseline']['commit']}"


def title(regression: dict) -> str:
    text = (f"Performance: {regression['commit'][:8]} {_plain(regression['subject'])} "
            f"({_percent(regression['worst_ratio'])} instructions)")
    return text if len(text) <= MAX_TITLE else text[:MAX_TITLE - 1] + "…"


def _graph(pages: str, benchmark: str) -> str:
    name = benchmark.split("(")[0]
    return f"[graph]({pages.rstrip('/')}/asv/#{name})" if pages else ""


def _rows(entries: list[dict], pages: str) -> list[str]:
    lines = ["| Python | benchmark | before | after | ratio | threshold | |", "|---|---|---|---|---|---|---|"]
    for entry in entries:
        lines.append(f"| {escape(entry['python'])} | {escape(entry['benchmark'])} | {_count(entry['before'])} | "
                     f"{_count(entry['after'])} | {entry['ratio']:.4f} | {100 * entry['threshold']:.2g} % | "
                     f"{_graph(pages, entry['benchmark'])} |")
    return lines


def _where(step: dict) -> str:
    """How to see where the cost went: the profile of the step's benchmark, the two commits against each other
    (make profile takes a benchmark's label as its target)."""
    return (f"`git checkout {step['after_commit'][:8]} && make profile TARGET='{escape(step['benchmark'])}' "
            f"AGAINST={step['before_commit'][:8]}` ranks the functions that cost more, Python functions by bytecode "
            "and C functions by instructions, with a flame graph (docs/instructions.md, \"Where a change is\").")


def body(regression: dict, floor: float, run_url: str = "", pages: str = "", mention: str = "") -> str:
    key = key_of(regression)
    lines = [MARKER.format(key=key),
             f"**`{key[:8]}`** ({escape(regression['subject'])}) made counted benchmarks cost more, found on the "
             f"default branch by the benchmarks workflow" + (f" ([the run]({run_url}))" if run_url else "") + ".",
             "", *_rows(regression["steps"], pages), "",
             "Each threshold is its benchmark's own, from the spread of its counts between commits that changed "
             "nothing it measures, and never below " + f"{100 * floor:g} %; where each came "
             "from: " + "; ".join(sorted({f"Python {escape(s['python'])}: {escape(s['threshold_source'])}"
                                          for s in regression["steps"]})) + "."]
    moved = regression.get("moved") or []
    if moved:
        lines += ["", "**Dependencies** that moved at this commit (a bump is the likeliest cause): "
                  + ", ".join(f"{escape(m['name'])} {escape(m['before'] or 'none')} → {escape(m['after'] or 'none')} "
                              f"(Python {escape(m['python'])})" for m in moved) + "."]
    explained = regression.get("attribution") or {}
    for python, entries in sorted(explained.items()):
        graph = f"{pages.rstrip('/')}/regressions/{regression['commit']}/py{python}.svg" if pages else ""
        lines += ["", f"**Where the cost went** on Python {escape(python)}, the commit against the one before "
                      "(found by the bisection's run" + (f"; [flame graph]({graph})" if graph else "") + "):", "",
                  *attribution_tables(entries)[:2]]
    if not explained:
        lines += ["", "**Where**: not profiled yet (the bisection's run profiles it); by hand: "
                      + _where(regression["steps"][0])]
    if pages:
        lines += ["", f"Graphs of every benchmark: [the published site]({pages}); asv's regressions feed: "
                      f"[regressions.xml]({pages.rstrip('/')}/asv/regressions.xml)."]
    if regression["status"] == "recovered":
        lines += ["", f"**Recovered** at `{regression['recovered_at'][:8]}`: every benchmark is back within its "
                      "threshold."]
    else:
        lines += ["", "This issue is updated by each run of the workflow, and closed when a later commit brings every "
                      "benchmark back within its threshold."]
    if mention:
        lines += ["", f"cc {mention}"]
    text = "\n".join(lines) + "\n"
    return text if len(text) <= MAX_BODY else text[:MAX_BODY - 80] + "\n\n(cut to fit GitHub's limit)\n"


def drift_title(data: dict) -> str:
    worst = max(d["ratio"] for d in data["drifts"])
    base = data["baseline"]
    since = base["tag"] or base["commit"][:8]
    return f"Performance drift since {_plain(since)} ({_percent(worst)} instructions, no single step)"[:MAX_TITLE]


def drift_body(data: dict, run_url: str = "", pages: str = "", mention: str = "") -> str:
    base = data["baseline"]
    since = f"{escape(base['tag'])} (`{base['commit'][:8]}`)" if base["tag"] else f"`{base['commit'][:8]}`"
    lines = [MARKER.format(key=drift_key(data)),
             f"Counted benchmarks cost more than at {since}, by at least their threshold, though no single commit "
             "moved them that far" + (f" ([the run]({run_url}))" if run_url else "") + ".", ""]
    lines += _rows(data["drifts"], pages)
    for drift in data["drifts"]:
        made = ", ".join(f"`{c['commit'][:8]}` ({_percent(c['ratio'])})" for c in drift["commits"][:10])
        lines.append(f"\n{escape(drift['benchmark'])} (Python {escape(drift['python'])}) is made of: {made}.")
    lines += ["", "Closed when the counts are back within their thresholds of the baseline, or the baseline moves "
                  "(a new tag)."]
    if mention:
        lines += ["", f"cc {mention}"]
    return "\n".join(lines) + "\n"


# -- what to do, then doing it -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str  # "create", "update", "close"
    key: str
    number: int | None = None
    title: str = ""
    body: str = ""
    comment: str = ""


def existing(api: Api) -> dict[str, dict]:
    """This project's announcements, open or closed, by their key: issues labelled LABEL, opened by the workflow's
    token, whose body starts with the marker (anyone can write the marker; only the token's issues count)."""
    found: dict[str, dict] = {}
    for page in api.pages(f"/issues?labels={LABEL}&state=all&per_page=100"):
        for issue in page:
            if not isinstance(issue, dict) or "pull_request" in issue or type(issue.get("number")) is not int:
                continue
            match = _MARKER.match(issue.get("body") or "")
            if match and isinstance(issue.get("user"), dict) and issue["user"].get("login") == BOT:
                known = found.get(match[1])
                if known is None or issue["number"] < known["number"]:  # the first opened, should there be two
                    found[match[1]] = issue
    return found


def plan(data: dict, issues: dict[str, dict], run_url: str = "", pages: str = "", mention: str = "") -> list[Action]:
    actions = []
    for regression in data["regressions"]:
        if not regression["commit"]:
            continue  # not yet placed: bisect first
        key, issue = key_of(regression), issues.get(key_of(regression))
        if regression["status"] == "open":
            if issue is None:
                actions.append(Action("create", key, title=title(regression),
                                      body=body(regression, data["floor"], run_url, pages, mention)))
            else:
                text = body(regression, data["floor"], run_url, pages, mention)
                if issue.get("body") != text or issue.get("title") != title(regression):
                    actions.append(Action("update", key, issue["number"], title(regression), text))
        elif issue is not None and issue.get("state") == "open":
            actions.append(Action("close", key, issue["number"], title(regression),
                                  body(regression, data["floor"], run_url, pages, mention),
                                  comment=f"Recovered at `{regression['recovered_at'][:8]}`: every benchmark is back "
                                          "within its threshold. Closing."))
    current = drift_key(data) if data["drifts"] else None
    if current:
        issue = issues.get(current)
        if issue is None:
            actions.append(Action("create", current, title=drift_title(data),
                                  body=drift_body(data, run_url, pages, mention)))
        elif issue.get("body") != drift_body(data, run_url, pages, mention):
            actions.append(Action("update", current, issue["number"], drift_title(data),
                                  drift_body(data, run_url, pages, mention)))
    for key, issue in issues.items():
        if key.startswith("drift-") and key != current and issue.get("state") == "open":
            actions.append(Action("close", key, issue["number"], comment=(
                "The drift is gone: the counts are back within their thresholds of the baseline, or the baseline "
                "moved. Closing.")))
    return actions


def announce(api: Api, data: dict, run_url: str = "", pages: str = "", mention: str = "") -> list[str]:
    """Carry out the plan; one line per thing done."""
    done = []
    for action in plan(data, existing(api), run_url, pages, mention):
        if action.kind == "create":
            issue = api.call("POST", "/issues", {"title": action.title, "body": action.body, "labels": [LABEL]})
            done.append(f"opened #{issue.get('number') if isinstance(issue, dict) else '?'} for {action.key[:14]}")
        elif action.kind == "update":
            api.call("PATCH", f"/issues/{action.number}", {"title": action.title, "body": action.body})
            done.append(f"updated #{action.number} ({action.key[:14]})")
        else:
            api.call("POST", f"/issues/{action.number}/comments", {"body": action.comment})
            change = {"state": "closed", "state_reason": "completed"}
            if action.body:
                change.update(title=action.title, body=action.body)
            api.call("PATCH", f"/issues/{action.number}", change)
            done.append(f"closed #{action.number} ({action.key[:14]})")
    return done


def summary(data: dict, pages: str = "") -> str:
    """The open regressions and drifts, for the top of the publish job's summary and of the landing page."""
    lines = []
    for regression in data["regressions"]:
        if regression["status"] != "open":
            continue
        where = (f"`{regression['commit'][:8]}` {escape(regression['subject'])}" if regression["commit"] else
                 f"between `{regression['between'][0][:8]}` and `{regression['between'][1][:8]}` (being placed)")
        worst = max(regression["steps"], key=lambda s: s["ratio"])
        lines.append(f"- **Regression** at {where}: {len(regression['steps'])} counted benchmark(s), worst "
                     f"{escape(worst['benchmark'])} on Python {escape(worst['python'])}, {_percent(worst['ratio'])} "
                     f"{_graph(pages, worst['benchmark'])}")
    for drift in data["drifts"]:
        lines.append(f"- **Drift** since `{drift['since_commit'][:8]}`: {escape(drift['benchmark'])} on Python "
                     f"{escape(drift['python'])}, {_percent(drift['ratio'])} {_graph(pages, drift['benchmark'])}")
    feed = f" asv's regressions feed: [regressions.xml]({pages.rstrip('/')}/asv/regressions.xml)." if pages else ""
    if not lines:
        return f"**No open regression** over the stored history.{feed}\n"
    return "**Open regressions** over the stored history:\n\n" + "\n".join(lines) + f"\n\n{feed.strip()}\n"
