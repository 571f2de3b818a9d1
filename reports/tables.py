"""The report's tables, as pandas DataFrames built from asv's rows (``asvdata``).

Every table is a plain DataFrame (what the exports write) plus a function that renders it as markdown. Rates
are requests per second: a ``time_batch`` benchmark records the seconds one batch takes, so the rate is the
batch's request count divided by it, and asv's 99 % confidence interval of the median converts the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from . import compare
from .asvdata import Row

SERVER = "servers.ServerThroughput.time_batch"
INSTRUCTIONS = "instructions.ServerInstructions.track_instructions_per_request"
KEEPALIVE_OFF = "methodology.KeepAliveOff.time_batch"
IO_BOUND = "methodology.IOBound.time_batch"
CLIENTS = "clients.ClientStrategies.time_batch"
# Requests in one batch of each benchmark (benchmarks/common.py and methodology.py).
BATCH_REQUESTS = {SERVER: 1000, KEEPALIVE_OFF: 1000, IO_BOUND: 50}
# The client batch: 100 requests to a server that answers after 10 ms (benchmarks/clients.py).
CLIENT_REQUESTS, CLIENT_DELAY_S = 100, 0.010
CLIENT_CONCURRENCY = {"requests-sequential": 1, "requests-threads-10": 10, "requests-threads-20": 20,
                      "threadpool": 100, "aiohttp-gather": 100}
ARTICLE_CLIENT = {"requests-sequential": "requests_sequential", "requests-threads-10": "requests_threads_10",
                  "requests-threads-20": "requests_threads_20", "aiohttp-gather": "aiohttp_gather"}
# The article's rows: (key in figures.json, label, scenario suffix).
ARTICLE_ROWS = (("development", "Development server", "dev"), ("gunicorn", "gunicorn", "gunicorn"),
                ("gunicorn_w4", "gunicorn -w 4", "gunicorn-w4"))
FIGURES = Path(__file__).resolve().parent.parent / "benchmarks" / "harness" / "article_figures.json"


NOT_MEASURED = "Not measured at this commit."


def article_figures() -> dict:
    return json.loads(FIGURES.read_text())


def frame(rows: Iterable[Row]) -> pd.DataFrame:
    """One row per value: benchmark, param, python, commit, date, value, status and asv's statistics."""
    records = []
    for row in rows:
        stats = row.stats or {}
        records.append({
            "benchmark": row.benchmark, "param": row.params[0].strip("'") if row.params else "", "env": row.env,
            "python": row.python, "commit": row.commit, "date": row.date, "status": row.status, "unit": row.unit,
            "value": row.value if row.status == "ok" else math.nan,
            "ci_low": stats.get("ci_99_a", math.nan), "ci_high": stats.get("ci_99_b", math.nan),
            "samples": len(row.samples or ()),
        })
    columns = ["benchmark", "param", "env", "python", "commit", "date", "status", "unit", "value", "ci_low",
               "ci_high", "samples"]
    return pd.DataFrame.from_records(records, columns=columns)


def commits_by_date(df: pd.DataFrame) -> list[str]:
    """Commits with results, newest first."""
    return list(df.groupby("commit")["date"].max().sort_values(ascending=False).index)


def rates(df: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """A throughput benchmark as req/s, with its 99 % interval: index (commit, python, param)."""
    part = df[df["benchmark"] == benchmark].copy()
    n = BATCH_REQUESTS[benchmark]
    part["req_s"] = n / part["value"]
    part["req_s_low"] = n / part["ci_high"]
    part["req_s_high"] = n / part["ci_low"]
    return part.set_index(["commit", "python", "param"])


def _get(table: pd.DataFrame, key: tuple, column: str) -> float:
    try:
        return float(table.loc[key, column])
    except KeyError:
        return math.nan


def server_table(df: pd.DataFrame, commit: str) -> pd.DataFrame:
    """The article's table for one commit: per Python and row, each framework's req/s with its interval, the %
    difference (aiohttp over Flask) and the % increase over the development server, as the article defines them."""
    table = rates(df, SERVER)
    records = []
    for python in sorted(df.loc[df["commit"] == commit, "python"].unique()):
        dev = {}
        for key, label, suffix in ARTICLE_ROWS:
            record = {"python": python, "row": key, "label": label}
            for framework in ("aiohttp", "flask"):
                scenario = (commit, python, f"{framework}-{suffix}")
                record[framework] = _get(table, scenario, "req_s")
                record[f"{framework}_low"] = _get(table, scenario, "req_s_low")
                record[f"{framework}_high"] = _get(table, scenario, "req_s_high")
                record[f"{framework}_status"] = _status(df, commit, python, SERVER, f"{framework}-{suffix}")
                if key == "development":
                    dev[framework] = record[framework]
                record[f"{framework}_increase_pct"] = (
                    math.nan if key == "development" else 100 * (record[framework] / dev[framework] - 1))
            record["difference_pct"] = 100 * (record["aiohttp"] / record["flask"] - 1)
            records.append(record)
    return pd.DataFrame.from_records(records)


def _status(df: pd.DataFrame, commit: str, python: str, benchmark: str, param: str) -> str:
    match = df[(df["commit"] == commit) & (df["python"] == python) & (df["benchmark"] == benchmark)
               & (df["param"] == param)]
    return match["status"].iloc[0] if len(match) else "missing"


def _rate_cell(rate: float, low: float, high: float, status: str) -> str:
    if status != "ok":
        return {"failed": "failed", "skipped": "skipped", "missing": "not measured"}.get(status, status)
    return f"{rate:,.0f} ({low:,.0f}-{high:,.0f})"


def _pct(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:+.1f}"


def server_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return NOT_MEASURED
    parts = []
    for python, rows in table.groupby("python", sort=True):
        lines = []
        for _, r in rows.iterrows():
            lines.append([f"{r['label']} (req/s)",
                          _rate_cell(r["aiohttp"], r["aiohttp_low"], r["aiohttp_high"], r["aiohttp_status"]),
                          _rate_cell(r["flask"], r["flask_low"], r["flask_high"], r["flask_status"]),
                          _pct(r["difference_pct"])])
            if r["row"] != "development":
                lines.append(["% increase over development server", _pct(r["aiohttp_increase_pct"]),
                              _pct(r["flask_increase_pct"]), ""])
        parts.append(f"Python {python}:\n\n" + tabulate(lines, ["", "aiohttp", "Flask", "% difference"],
                                                          tablefmt="github", disable_numparse=True))
    return "\n\n".join(parts)


RATIOS = (
    ("aiohttp / Flask, development server", "difference", "development"),
    ("aiohttp / Flask, gunicorn", "difference", "gunicorn"),
    ("aiohttp / Flask, gunicorn -w 4", "difference", "gunicorn_w4"),
    ("gunicorn / development server, aiohttp", "aiohttp", "gunicorn"),
    ("gunicorn / development server, Flask", "flask", "gunicorn"),
    ("gunicorn -w 4 / development server, aiohttp", "aiohttp", "gunicorn_w4"),
    ("gunicorn -w 4 / development server, Flask", "flask", "gunicorn_w4"),
)


def article_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Ratios, which carry across machines where absolute rates do not: ours per Python beside the article's."""
    published = article_figures()["server"]["requests_per_second"]

    def ratio(values: dict, kind: str, row: str) -> float:
        if kind == "difference":
            return values[row]["aiohttp"] / values[row]["flask"]
        return values[row][kind] / values["development"][kind]

    records = []
    for label, kind, row in RATIOS:
        record = {"ratio": label, "article": ratio(published, kind, row)}
        for python, rows in table.groupby("python", sort=True):
            ours = {r["row"]: {"aiohttp": r["aiohttp"], "flask": r["flask"]} for _, r in rows.iterrows()}
            record[f"python {python}"] = ratio(ours, kind, row)
        records.append(record)
    return pd.DataFrame.from_records(records)


# The article's conclusions: the ratios each needs, and the test they must pass.
CLAIMS = (
    ("aiohttp serves more requests per second than Flask under every server",
     ("aiohttp / Flask, development server", "aiohttp / Flask, gunicorn", "aiohttp / Flask, gunicorn -w 4"),
     lambda dev, gunicorn, w4: dev > 1 and gunicorn > 1 and w4 > 1),
    ("gunicorn is faster than the development server, for both",
     ("gunicorn / development server, aiohttp", "gunicorn / development server, Flask"),
     lambda aiohttp, flask: aiohttp > 1 and flask > 1),
    ("gunicorn helps Flask more than aiohttp",
     ("gunicorn / development server, aiohttp", "gunicorn / development server, Flask"),
     lambda aiohttp, flask: flask > aiohttp),
    ("4 workers help Flask more than aiohttp",
     ("gunicorn -w 4 / development server, aiohttp", "gunicorn -w 4 / development server, Flask"),
     lambda aiohttp, flask: flask > aiohttp),
    ("the gap between them narrows from development server to gunicorn to gunicorn -w 4",
     ("aiohttp / Flask, development server", "aiohttp / Flask, gunicorn", "aiohttp / Flask, gunicorn -w 4"),
     lambda dev, gunicorn, w4: dev > gunicorn > w4),
)


def conclusions(ratios: pd.DataFrame) -> pd.DataFrame:
    """The article's conclusions, and whether our ratios bear them out on every Python measured."""
    by = ratios.set_index("ratio")
    pythons = [c for c in ratios.columns if c.startswith("python ")]
    records = []
    for text, needs, test in CLAIMS:
        verdicts = {}
        for column in pythons:
            values = [by.loc[label, column] for label in needs]
            verdicts[column.split()[1]] = None if any(math.isnan(v) for v in values) else test(*values)
        if not verdicts or None in verdicts.values():
            here = "cannot tell (missing results)"
        elif all(verdicts.values()):
            here = "holds"
        elif not any(verdicts.values()):
            here = "does not hold"
        else:
            here = "holds on Python " + ", ".join(p for p, ok in verdicts.items() if ok) + " only"
        records.append({"conclusion": text, "here": here, "article": "holds"})
    return pd.DataFrame.from_records(records)


def ratios_markdown(ratios: pd.DataFrame, found: pd.DataFrame) -> str:
    ours = [c for c in ratios.columns if c.startswith("python ")]
    lines = [[r["ratio"], *(_ratio(r[c]) for c in ours), _ratio(r["article"])] for _, r in ratios.iterrows()]
    table = tabulate(lines, ["ratio", *(f"here, {c}" for c in ours), "article (2018)"], tablefmt="github",
                     disable_numparse=True)
    verdicts = tabulate(found[["conclusion", "here"]].values.tolist(), ["the article's conclusion", "here"],
                        tablefmt="github")
    return table + "\n\n" + verdicts


def _ratio(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.2f}"


def client_table(df: pd.DataFrame, commit: str) -> pd.DataFrame:
    """Client strategies: wall time, speed-up over sequential, floor and efficiency; the article's times."""
    part = df[(df["benchmark"] == CLIENTS) & (df["commit"] == commit)]
    published = article_figures()["client"]["wall_seconds"]
    paper_sequential = published["requests_sequential"]
    records = []
    for python in sorted(part["python"].unique()):
        here = part[part["python"] == python].set_index("param")
        sequential = here["value"].get("requests-sequential", math.nan)
        for strategy, concurrency in CLIENT_CONCURRENCY.items():
            wall = here["value"].get(strategy, math.nan)
            floor = CLIENT_REQUESTS * CLIENT_DELAY_S / concurrency
            paper = published.get(ARTICLE_CLIENT.get(strategy, ""), math.nan)
            records.append({
                "python": python, "strategy": strategy, "concurrency": concurrency, "wall_s": wall,
                "status": here["status"].get(strategy, "missing"), "speedup": sequential / wall,
                "floor_s": floor, "efficiency": floor / wall, "article_wall_s": paper,
                "article_speedup": paper_sequential / paper,
            })
    return pd.DataFrame.from_records(records)


def client_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return NOT_MEASURED
    parts = []
    for python, rows in table.groupby("python", sort=True):
        lines = [[r["strategy"], r["concurrency"],
                  f"{r['wall_s']:.3f}" if r["status"] == "ok" else r["status"], _x(r["speedup"]),
                  f"{r['floor_s']:.3f}", _share(r["efficiency"]),
                  "-" if math.isnan(r["article_wall_s"]) else f"{r['article_wall_s']:.3f}",
                  _x(r["article_speedup"])] for _, r in rows.iterrows()]
        parts.append(f"Python {python}:\n\n" + tabulate(
            lines, ["strategy", "concurrency", "wall s", "speed-up", "floor s", "efficiency", "article wall s",
                    "article speed-up"], tablefmt="github", disable_numparse=True))
    return "\n\n".join(parts)


def _x(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}x"


def _share(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f} %"


# What changes the verdict "async is faster": (label, aiohttp benchmark and scenario, Flask's).
METHODOLOGY = [
    *((f"{label}, keep-alive on (the article's ab -k)", (SERVER, f"aiohttp-{s}"), (SERVER, f"flask-{s}"))
      for _, label, s in ARTICLE_ROWS),
    *((f"{label}, a new connection per request", (KEEPALIVE_OFF, f"aiohttp-{s}"), (KEEPALIVE_OFF, f"flask-{s}"))
      for _, label, s in ARTICLE_ROWS),
    *((f"{label}, handler waits 20 ms (I/O-bound)", (IO_BOUND, f"aiohttp-{s}"), (IO_BOUND, f"flask-{s}"))
      for _, label, s in ARTICLE_ROWS),
    ("gunicorn: uvloop worker vs sync worker", (SERVER, "aiohttp-gunicorn-uvloop"), (SERVER, "flask-gunicorn")),
    ("gunicorn: aiohttp worker vs gthread (4 threads)", (SERVER, "aiohttp-gunicorn"),
     (SERVER, "flask-gunicorn-gthread")),
    ("gunicorn -w (2 x cores + 1)", (SERVER, "aiohttp-gunicorn-wauto"), (SERVER, "flask-gunicorn-wauto")),
]
TIE = 1.05  # within 5 % either way, on this kind of machine, is no verdict


def methodology_table(df: pd.DataFrame, commit: str) -> pd.DataFrame:
    tables = {benchmark: rates(df, benchmark) for benchmark in (SERVER, KEEPALIVE_OFF, IO_BOUND)}
    records = []
    for python in sorted(df.loc[df["commit"] == commit, "python"].unique()):
        for label, (abench, ascenario), (fbench, fscenario) in METHODOLOGY:
            aiohttp = _get(tables[abench], (commit, python, ascenario), "req_s")
            flask = _get(tables[fbench], (commit, python, fscenario), "req_s")
            ratio = aiohttp / flask
            verdict = ("n/a" if math.isnan(ratio) else "yes" if ratio > TIE else "no" if ratio < 1 / TIE
                       else "tie")
            records.append({"python": python, "setting": label, "aiohttp_req_s": aiohttp, "flask_req_s": flask,
                            "ratio": ratio, "async_faster": verdict})
    return pd.DataFrame.from_records(records)


def methodology_markdown(table: pd.DataFrame) -> str:
    if table.empty or table["ratio"].isna().all():
        return NOT_MEASURED
    parts = []
    for python, rows in table.groupby("python", sort=True):
        lines = [[r["setting"], _rate(r["aiohttp_req_s"]), _rate(r["flask_req_s"]), _ratio(r["ratio"]),
                  r["async_faster"]] for _, r in rows.iterrows()]
        parts.append(f"Python {python}:\n\n" + tabulate(
            lines, ["setting", "aiohttp req/s", "Flask req/s", "aiohttp / Flask", "async faster?"],
            tablefmt="github", disable_numparse=True))
    return "\n\n".join(parts)


def _rate(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def changes_table(rows: list[Row], newer: str, older: str, factor: float) -> pd.DataFrame:
    """Every benchmark of one commit against another, with asv's marks, regressions first."""
    changes = compare.compare([r for r in rows if r.commit == older], [r for r in rows if r.commit == newer], factor)
    return pd.DataFrame.from_records([{
        "mark": c.mark, "benchmark": c.label, "env": c.env, "unit": c.unit, "older": c.base, "newer": c.head,
        "older_text": compare.format_value(c.base, c.unit), "newer_text": compare.format_value(c.head, c.unit),
        "ratio": c.ratio, "regression": c.regression} for c in changes],
        columns=["mark", "benchmark", "env", "unit", "older", "newer", "older_text", "newer_text", "ratio",
                 "regression"])


def changes_markdown(table: pd.DataFrame, envs: dict[str, str]) -> str:
    """The marked rows (the exports hold them all), and how many benchmarks did not change."""
    if table.empty:
        return "Nothing to compare."
    marked = table[table["mark"] != ""]
    unchanged = len(table) - len(marked)
    if marked.empty:
        return f"No change beyond the factor in {unchanged} benchmarks."
    lines = [[r["mark"], r["benchmark"], envs.get(r["env"], r["env"]), r["older_text"], r["newer_text"],
              "" if math.isnan(r["ratio"]) else f"{r['ratio']:.2f}"] for _, r in marked.iterrows()]
    return tabulate(lines, ["", "benchmark", "Python", "older", "newer", "ratio"], tablefmt="github",
                    disable_numparse=True) + f"\n\n{unchanged} other benchmarks: no change beyond the factor."


def instructions_table(df: pd.DataFrame, commit: str) -> pd.DataFrame:
    """Instructions per request of every server scenario at one commit: one row per scenario, a column per Python
    (NaN where it failed or was not counted)."""
    part = df[(df["benchmark"] == INSTRUCTIONS) & (df["commit"] == commit)]
    if part.empty:
        return pd.DataFrame()
    table = part.pivot_table(index="param", columns="python", values="value", aggfunc="first", dropna=False)
    order = list(dict.fromkeys(part["param"]))
    return table.reindex(order).rename_axis(index="scenario", columns=None).reset_index()


def instructions_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return NOT_MEASURED
    pythons = [c for c in table.columns if c != "scenario"]
    lines = [[r["scenario"], *("failed" if math.isnan(r[p]) else f"{r[p]:,.0f}" for p in pythons)]
             for _, r in table.iterrows()]
    return tabulate(lines, ["scenario", *(f"Python {p}" for p in pythons)], tablefmt="github", disable_numparse=True)


def cost_ratios(df: pd.DataFrame, commit: str) -> pd.DataFrame:
    """For each of the article's servers and each Python: how many times more instructions Flask executes per
    request than aiohttp, beside how many times more requests per second aiohttp serves (wall-clock)."""
    counts = df[(df["benchmark"] == INSTRUCTIONS) & (df["commit"] == commit)].set_index(["python", "param"])["value"]
    throughput = rates(df, SERVER)
    records = []
    for python in sorted(df.loc[df["commit"] == commit, "python"].unique()):
        for _, label, suffix in ARTICLE_ROWS:
            aiohttp, flask = (float(counts.get((python, f"{framework}-{suffix}"), math.nan))
                              for framework in ("aiohttp", "flask"))
            rate_ratio = (_get(throughput, (commit, python, f"aiohttp-{suffix}"), "req_s")
                          / _get(throughput, (commit, python, f"flask-{suffix}"), "req_s"))
            records.append({"python": python, "server": label, "aiohttp_instructions": aiohttp,
                            "flask_instructions": flask, "instructions_ratio": flask / aiohttp,
                            "throughput_ratio": rate_ratio})
    return pd.DataFrame.from_records(records)


def cost_ratios_markdown(table: pd.DataFrame) -> str:
    if table.empty or table["instructions_ratio"].isna().all():
        return NOT_MEASURED
    parts = []
    for python, rows in table.groupby("python", sort=True):
        lines = [[r["server"], _count(r["aiohttp_instructions"]), _count(r["flask_instructions"]),
                  _ratio(r["instructions_ratio"]), _ratio(r["throughput_ratio"])] for _, r in rows.iterrows()]
        parts.append(f"Python {python}:\n\n" + tabulate(
            lines, ["server", "aiohttp instructions / request", "Flask instructions / request",
                    "Flask / aiohttp (instructions)", "aiohttp / Flask (req/s, wall-clock)"],
            tablefmt="github", disable_numparse=True))
    return "\n\n".join(parts)


def _count(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"
