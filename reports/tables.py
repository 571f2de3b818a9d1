"""The report's tables, as pandas DataFrames built from asv's rows (``asvdata``).

Every table is a plain DataFrame (what the exports write) plus a function that renders it as markdown. Rates
are requests per second: a ``time_batch`` benchmark records the seconds one batch takes, so each sample's rate is
the batch's request count divided by it. Every median and every ratio carries a 95 % interval, and every yes/no
cell is decided by it (``intervals``): "holds" or "does not hold" only when the interval settles it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from . import compare, intervals
from .asvdata import Row
from .intervals import Estimate, Series
from .suite import Suite

SERVER = "servers.ServerThroughput.time_batch"
INSTRUCTIONS = "instructions.ServerInstructions.track_instructions_per_request"
KEEPALIVE_OFF = "methodology.KeepAliveOff.time_batch"
IO_BOUND = "methodology.IOBound.time_batch"
CLIENTS = "clients.ClientStrategies.time_batch"
# The article's figures for each strategy are keyed by the suite's record (Suite.article_client); the article's
# table rows by Suite.article_rows. Batch sizes and the client batch come from the same record.
FIGURES = Path(__file__).resolve().parent.parent / "benchmarks" / "harness" / "article_figures.json"


NOT_MEASURED = "Not measured at this commit."
# What a cell without a number says, by the row's status (asv's null is "failed", its NaN "skipped"; no row at all
# is "missing").
STATUS_TEXT = {"failed": "failed", "skipped": "skipped", "missing": "not measured"}


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
            "samples": len(row.samples or ()), "sample_values": tuple(row.samples or ()),
            "per_round": row.per_round,
        })
    columns = ["benchmark", "param", "env", "python", "commit", "date", "status", "unit", "value", "ci_low",
               "ci_high", "samples", "sample_values", "per_round"]
    return pd.DataFrame.from_records(records, columns=columns)


def commits_by_date(df: pd.DataFrame) -> list[str]:
    """Commits with results, newest first."""
    return list(df.groupby("commit")["date"].max().sort_values(ascending=False).index)


def rates(df: pd.DataFrame, benchmark: str, suite: Suite) -> pd.DataFrame:
    """A throughput benchmark as req/s (the median's): index (commit, python, param)."""
    part = df[df["benchmark"] == benchmark].copy()
    part["req_s"] = suite.batch_requests[benchmark] / part["value"]
    return part.set_index(["commit", "python", "param"])


class Samples:
    """The samples of one commit's benchmarks, looked up by (benchmark, python, param): req/s for the throughput
    benchmarks, seconds for the others; the statuses for the cells that have no number."""

    def __init__(self, df: pd.DataFrame, commit: str, suite: Suite) -> None:
        part = df[df["commit"] == commit]
        self.batch_requests = suite.batch_requests
        self.pythons = sorted(part["python"].unique())
        self._rows = {(r.benchmark, r.python, r.param): r for r in part.itertuples(index=False)}

    def status(self, benchmark: str, python: str, param: str) -> str:
        row = self._rows.get((benchmark, python, param))
        return row.status if row is not None else "missing"

    def series(self, benchmark: str, python: str, param: str) -> Series:
        """Empty when the benchmark failed, was skipped or was not measured (its estimates are then NaN)."""
        row = self._rows.get((benchmark, python, param))
        if row is None or row.status != "ok":
            return Series(())
        values = row.sample_values or (row.value,)  # without recorded samples, the median alone
        if benchmark in self.batch_requests:
            values = tuple(self.batch_requests[benchmark] / v for v in values)
        per_round = None if pd.isna(row.per_round) else int(row.per_round)
        return Series(tuple(values), per_round)

    def median(self, benchmark: str, python: str, param: str) -> Estimate:
        return intervals.median(self.series(benchmark, python, param))

    def ratio(self, a: tuple[str, str], b: tuple[str, str], python: str) -> Estimate:
        """(benchmark, param) a over b."""
        return intervals.ratio(self.series(a[0], python, a[1]), self.series(b[0], python, b[1]))

    def product(self, terms: tuple[tuple[str, str, int], ...], python: str) -> Estimate:
        """(benchmark, param, exponent) terms: a product of medians, paired by round."""
        return intervals.product([(self.series(b, python, p), e) for b, p, e in terms])


def _columns(prefix: str, estimate: Estimate, scale: float = 1.0, offset: float = 0.0) -> dict:
    """An estimate as three columns: value, low and high, each as value x scale + offset."""
    return {prefix: estimate.value * scale + offset, f"{prefix}_low": estimate.low * scale + offset,
            f"{prefix}_high": estimate.high * scale + offset}


def server_table(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """The article's table for one commit: per Python and row, each framework's req/s with its 95 % interval,
    the % difference (aiohttp over Flask) and the % increase over the development server, as the article defines
    them, each with the 95 % interval of the ratio behind it."""
    samples = Samples(df, commit, suite)
    development = suite.article_rows[0]
    records = []
    for python in samples.pythons:
        for row in suite.article_rows:
            record = {"python": python, "row": row.key, "label": row.label}
            for framework in ("aiohttp", "flask"):
                scenario = getattr(row, framework)
                record.update(_columns(framework, samples.median(SERVER, python, scenario)))
                record[f"{framework}_status"] = samples.status(SERVER, python, scenario)
                increase = (Estimate(math.nan) if row == development else
                            samples.ratio((SERVER, scenario), (SERVER, getattr(development, framework)), python))
                record.update(_columns(f"{framework}_increase_pct", increase, 100, -100))
            record.update(_columns("difference_pct", samples.ratio((SERVER, row.aiohttp), (SERVER, row.flask), python),
                                   100, -100))
            records.append(record)
    return pd.DataFrame.from_records(records)


def _rate_cell(rate: float, low: float, high: float, status: str) -> str:
    if status != "ok":
        return STATUS_TEXT.get(status, status)
    return f"{rate:,.0f} ({low:,.0f}-{high:,.0f})" if not math.isnan(low) else f"{rate:,.0f}"


def _pct(value: float, low: float = math.nan, high: float = math.nan) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:+.1f} ({low:+.1f} to {high:+.1f})" if not math.isnan(low) else f"{value:+.1f}"


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
                          _pct(r["difference_pct"], r["difference_pct_low"], r["difference_pct_high"])])
            if r["row"] != "development":
                lines.append(["% increase over development server",
                              *(_pct(r[f"{f}_increase_pct"], r[f"{f}_increase_pct_low"], r[f"{f}_increase_pct_high"])
                                for f in ("aiohttp", "flask")), ""])
        parts.append(f"Python {python}:\n\n" + tabulate(lines, ["", "aiohttp", "Flask", "% difference"],
                                                          tablefmt="github", disable_numparse=True))
    return "\n\n".join(parts)


# The article's ratios: (label, numerator, denominator) as (framework, row of the article's table).
RATIOS = (
    ("aiohttp / Flask, development server", ("aiohttp", "development"), ("flask", "development")),
    ("aiohttp / Flask, gunicorn", ("aiohttp", "gunicorn"), ("flask", "gunicorn")),
    ("aiohttp / Flask, gunicorn -w 4", ("aiohttp", "gunicorn_w4"), ("flask", "gunicorn_w4")),
    ("gunicorn / development server, aiohttp", ("aiohttp", "gunicorn"), ("aiohttp", "development")),
    ("gunicorn / development server, Flask", ("flask", "gunicorn"), ("flask", "development")),
    ("gunicorn -w 4 / development server, aiohttp", ("aiohttp", "gunicorn_w4"), ("aiohttp", "development")),
    ("gunicorn -w 4 / development server, Flask", ("flask", "gunicorn_w4"), ("flask", "development")),
)
def _scenario(suite: Suite, framework: str, key: str) -> str:
    """The scenario that fills ``framework``'s cell in the article's row ``key``."""
    return getattr(next(row for row in suite.article_rows if row.key == key), framework)


def article_ratios(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """Ratios, which carry across machines where absolute rates do not: ours per Python, each with its 95 %
    interval (the two sides paired by round), beside the article's."""
    published = article_figures()["server"]["requests_per_second"]
    samples = Samples(df, commit, suite)
    records = []
    for label, (top_fw, top_row), (bottom_fw, bottom_row) in RATIOS:
        record = {"ratio": label, "article": published[top_row][top_fw] / published[bottom_row][bottom_fw]}
        for python in samples.pythons:
            estimate = samples.ratio((SERVER, _scenario(suite, top_fw, top_row)),
                                     (SERVER, _scenario(suite, bottom_fw, bottom_row)), python)
            record.update(_columns(f"python {python}", estimate))
        records.append(record)
    return pd.DataFrame.from_records(records)


# The article's conclusions, each as the comparisons it needs: products of medians, ((framework, row), exponent),
# that must all exceed 1. A ratio of two ratios compares how much something helps each framework.
CLAIMS = (
    ("aiohttp serves more requests per second than Flask under every server",
     tuple(((("aiohttp", row), 1), (("flask", row), -1)) for row in ("development", "gunicorn", "gunicorn_w4"))),
    ("gunicorn is faster than the development server, for both",
     tuple((((fw, "gunicorn"), 1), ((fw, "development"), -1)) for fw in ("aiohttp", "flask"))),
    ("gunicorn helps Flask more than aiohttp",
     (((("flask", "gunicorn"), 1), (("flask", "development"), -1), (("aiohttp", "gunicorn"), -1),
       (("aiohttp", "development"), 1)),)),
    ("4 workers help Flask more than aiohttp",
     (((("flask", "gunicorn_w4"), 1), (("flask", "development"), -1), (("aiohttp", "gunicorn_w4"), -1),
       (("aiohttp", "development"), 1)),)),
    ("the gap between them narrows from development server to gunicorn to gunicorn -w 4",
     tuple(((("aiohttp", wide), 1), (("flask", wide), -1), (("aiohttp", narrow), -1), (("flask", narrow), 1))
           for wide, narrow in (("development", "gunicorn"), ("gunicorn", "gunicorn_w4")))),
)


def conclusions(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """The article's conclusions, judged per Python by the 95 % intervals of the comparisons each needs."""
    samples = Samples(df, commit, suite)
    records = []
    for text, comparisons in CLAIMS:
        verdicts = {python: intervals.combine([
            samples.product(tuple((SERVER, _scenario(suite, *cell), exponent) for cell, exponent in terms),
                            python).verdict()
            for terms in comparisons]) for python in samples.pythons}
        found = set(verdicts.values())
        if len(found) == 1:
            here = found.pop()
        elif not verdicts:
            here = intervals.NO_SAMPLES
        else:
            here = "; ".join(f"Python {python}: {verdict}" for python, verdict in verdicts.items())
        records.append({"conclusion": text, "here": here, "article": "holds",
                        **{f"python {python}": verdict for python, verdict in verdicts.items()}})
    return pd.DataFrame.from_records(records)


def ratios_markdown(ratios: pd.DataFrame, found: pd.DataFrame) -> str:
    ours = [c for c in ratios.columns if c.startswith("python ") and not c.endswith(("_low", "_high"))]
    lines = [[r["ratio"], *(_ratio(r[c], r[f"{c}_low"], r[f"{c}_high"]) for c in ours), _ratio(r["article"])]
             for _, r in ratios.iterrows()]
    table = tabulate(lines, ["ratio", *(f"here, {c} (95 % interval)" for c in ours), "article (2018)"],
                     tablefmt="github", disable_numparse=True)
    verdicts = tabulate(found[["conclusion", "here"]].values.tolist(), ["the article's conclusion", "here"],
                        tablefmt="github")
    return table + "\n\n" + verdicts


def _ratio(value: float, low: float = math.nan, high: float = math.nan) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.2f} ({low:.2f}-{high:.2f})" if not math.isnan(low) else f"{value:.2f}"


def client_table(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """Client strategies: wall time, speed-up over sequential and efficiency (floor / wall time), each with its
    95 % interval; the article's times."""
    samples = Samples(df, commit, suite)
    published = article_figures()["client"]["wall_seconds"]
    paper_sequential = published[suite.article_client["requests-sequential"]]
    records = []
    for python in samples.pythons:
        if all(samples.status(CLIENTS, python, strategy) == "missing" for strategy in suite.client_concurrency):
            continue
        for strategy, concurrency in suite.client_concurrency.items():
            wall = samples.median(CLIENTS, python, strategy)
            floor = math.ceil(suite.client_requests / concurrency) * suite.client_delay_s
            paper = published.get(suite.article_client.get(strategy, ""), math.nan)
            records.append({
                "python": python, "strategy": strategy, "concurrency": concurrency,
                **_columns("wall_s", wall), "status": samples.status(CLIENTS, python, strategy),
                **_columns("speedup", samples.ratio((CLIENTS, "requests-sequential"), (CLIENTS, strategy), python)),
                "floor_s": floor, "efficiency": floor / wall.value, "efficiency_low": floor / wall.high,
                "efficiency_high": floor / wall.low, "article_wall_s": paper,
                "article_speedup": paper_sequential / paper,
            })
    return pd.DataFrame.from_records(records)


def client_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return NOT_MEASURED
    parts = []
    for python, rows in table.groupby("python", sort=True):
        lines = [[r["strategy"], r["concurrency"],
                  _interval(r["wall_s"], r["wall_s_low"], r["wall_s_high"], "{:.3f}") if r["status"] == "ok"
                  else r["status"],
                  _interval(r["speedup"], r["speedup_low"], r["speedup_high"], "{:.1f}x"),
                  f"{r['floor_s']:.3f}",
                  _interval(100 * r["efficiency"], 100 * r["efficiency_low"], 100 * r["efficiency_high"], "{:.0f} %"),
                  "-" if math.isnan(r["article_wall_s"]) else f"{r['article_wall_s']:.3f}",
                  _x(r["article_speedup"])] for _, r in rows.iterrows()]
        parts.append(f"Python {python}:\n\n" + tabulate(
            lines, ["strategy", "concurrency", "wall s", "speed-up", "floor s", "efficiency", "article wall s",
                    "article speed-up"], tablefmt="github", disable_numparse=True))
    return "\n\n".join(parts)


def _interval(value: float, low: float, high: float, form: str) -> str:
    """``form`` for the value, and the 95 % interval after it in the same form."""
    if math.isnan(value):
        return "n/a"
    return form.format(value) + (f" ({form.format(low)}-{form.format(high)})" if not math.isnan(low) else "")


def _x(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}x"


def _share(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f} %"


def methodology_rows(suite: Suite) -> list[tuple[str, tuple[str, str], tuple[str, str]]]:
    """What changes the verdict "async is faster": (label, aiohttp benchmark and scenario, Flask's)."""
    rows = suite.article_rows
    return [
        *((f"{r.label}, keep-alive on (the article's ab -k)", (SERVER, r.aiohttp), (SERVER, r.flask)) for r in rows),
        *((f"{r.label}, a new connection per request", (KEEPALIVE_OFF, r.aiohttp), (KEEPALIVE_OFF, r.flask))
          for r in rows),
        *((f"{r.label}, handler waits 20 ms (I/O-bound)", (IO_BOUND, r.aiohttp), (IO_BOUND, r.flask)) for r in rows),
        ("gunicorn: uvloop worker vs sync worker", (SERVER, "aiohttp-gunicorn-uvloop"), (SERVER, "flask-gunicorn")),
        ("gunicorn: aiohttp worker vs gthread (4 threads)", (SERVER, "aiohttp-gunicorn"),
         (SERVER, "flask-gunicorn-gthread")),
        ("gunicorn -w (2 x cores + 1)", (SERVER, "aiohttp-gunicorn-wauto"), (SERVER, "flask-gunicorn-wauto")),
    ]


ASYNC_FASTER = {intervals.HOLDS: "faster", intervals.DOES_NOT_HOLD: "slower"}


def methodology_table(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """For each setting and Python: aiohttp / Flask throughput with its 95 % interval (paired by round), and
    whether async is faster: "faster" or "slower" only when the interval settles it."""
    samples = Samples(df, commit, suite)
    records = []
    for python in samples.pythons:
        for label, aiohttp, flask in methodology_rows(suite):
            ratio = samples.ratio(aiohttp, flask, python)
            verdict = ratio.verdict()
            records.append({"python": python, "setting": label,
                            "aiohttp_req_s": samples.median(aiohttp[0], python, aiohttp[1]).value,
                            "flask_req_s": samples.median(flask[0], python, flask[1]).value,
                            **_columns("ratio", ratio),
                            "async_faster": ASYNC_FASTER.get(verdict, verdict)})
    return pd.DataFrame.from_records(records)


def methodology_markdown(table: pd.DataFrame) -> str:
    if table.empty or table["ratio"].isna().all():
        return NOT_MEASURED
    parts = []
    for python, rows in table.groupby("python", sort=True):
        lines = [[r["setting"], _rate(r["aiohttp_req_s"]), _rate(r["flask_req_s"]),
                  _ratio(r["ratio"], r["ratio_low"], r["ratio_high"]), r["async_faster"]]
                 for _, r in rows.iterrows()]
        parts.append(f"Python {python}:\n\n" + tabulate(
            lines, ["setting", "aiohttp req/s", "Flask req/s", "aiohttp / Flask (95 % interval)", "async faster?"],
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
    (NaN where there is no number) and beside each its status ("<python> status": ok, failed, skipped, or
    missing where that Python did not measure the scenario)."""
    part = df[(df["benchmark"] == INSTRUCTIONS) & (df["commit"] == commit)]
    if part.empty:
        return pd.DataFrame()
    order = list(dict.fromkeys(part["param"]))
    values, statuses = (part.pivot_table(index="param", columns="python", values=column, aggfunc="first",
                                         dropna=False).reindex(order) for column in ("value", "status"))
    statuses = statuses.fillna("missing")
    table = pd.DataFrame({"scenario": order})
    for python in values.columns:
        table[python] = values[python].to_numpy()
        table[f"{python} status"] = statuses[python].to_numpy()
    return table


def instructions_markdown(table: pd.DataFrame, lacking: dict | None = None) -> str:
    """The table; ``lacking``, the counting tool this machine lacks (the suite's record), names why a skipped
    count is not measured."""
    if table.empty:
        return NOT_MEASURED
    pythons = [c for c in table.columns if c != "scenario" and not c.endswith(" status")]
    skipped = STATUS_TEXT["missing"] if lacking else STATUS_TEXT["skipped"]
    lines = [[r["scenario"], *(f"{r[p]:,.0f}" if r[f"{p} status"] == "ok" else
                               skipped if r[f"{p} status"] == "skipped" else STATUS_TEXT[r[f"{p} status"]]
                               for p in pythons)] for _, r in table.iterrows()]
    text = tabulate(lines, ["scenario", *(f"Python {p}" for p in pythons)], tablefmt="github", disable_numparse=True)
    if lacking and any((table[f"{p} status"] == "skipped").any() for p in pythons):
        text += f"\n\nNot measured: {lacking['command']} is not installed: `{lacking['install']}`."
    elif any((table[f"{p} status"] == "skipped").any() for p in pythons):
        # asv keeps no reason for a skip in its results (a benchmark's output is not saved): the suite's is this.
        text += ("\n\nSkipped: not counted in that run. The instructions benchmarks skip (NotImplementedError in "
                 "setup) a scenario that `PLANET_TRACKER_INSTRUCTIONS` leaves out; asv records a skip without "
                 "its reason.")
    return text


def cost_ratios(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """For each of the article's servers and each Python: how many times more instructions Flask executes per
    request than aiohttp, beside how many times more requests per second aiohttp serves (wall-clock)."""
    counts = df[(df["benchmark"] == INSTRUCTIONS) & (df["commit"] == commit)].set_index(["python", "param"])["value"]
    samples = Samples(df, commit, suite)
    records = []
    for python in samples.pythons:
        for row in suite.article_rows:
            aiohttp, flask = (float(counts.get((python, scenario), math.nan)) for scenario in (row.aiohttp, row.flask))
            throughput = samples.ratio((SERVER, row.aiohttp), (SERVER, row.flask), python)
            records.append({"python": python, "server": row.label, "aiohttp_instructions": aiohttp,
                            "flask_instructions": flask, "instructions_ratio": flask / aiohttp,
                            **_columns("throughput_ratio", throughput)})
    return pd.DataFrame.from_records(records)


def cost_ratios_markdown(table: pd.DataFrame) -> str:
    if table.empty or table["instructions_ratio"].isna().all():
        return NOT_MEASURED
    parts = []
    for python, rows in table.groupby("python", sort=True):
        lines = [[r["server"], _count(r["aiohttp_instructions"]), _count(r["flask_instructions"]),
                  _ratio(r["instructions_ratio"]),
                  _ratio(r["throughput_ratio"], r["throughput_ratio_low"], r["throughput_ratio_high"])]
                 for _, r in rows.iterrows()]
        parts.append(f"Python {python}:\n\n" + tabulate(
            lines, ["server", "aiohttp instructions / request", "Flask instructions / request",
                    "Flask / aiohttp (instructions)", "aiohttp / Flask (req/s, wall-clock)"],
            tablefmt="github", disable_numparse=True))
    return "\n\n".join(parts)


def _count(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"
