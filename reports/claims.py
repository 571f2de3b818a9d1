"""What the report claims, computed from asv's rows (``asvdata``): the article's claims as typed records, and the
tables that judge them, as pandas DataFrames (what the exports write; ``rendering`` turns them into markdown).

Rates are requests per second: a ``time_batch`` benchmark records the seconds one batch takes, so each sample's
rate is the batch's request count divided by it. Every median and every ratio carries a 95 % interval, and every
yes/no cell is decided by it (``intervals``): "holds" or "does not hold" only when the interval settles it. Every
benchmark name, batch size and published figure comes from the suite's record (``suite``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from . import compare, intervals
from .asvdata import Row
from .intervals import Estimate, Series
from .suite import Suite


@dataclass(frozen=True)
class Measure:
    """One benchmark at one parameter (a scenario or a strategy)."""

    benchmark: str
    param: str


@dataclass(frozen=True)
class Cell:
    """A cell of the article's table: one framework ("aiohttp", "flask") in one row (its key, e.g. "gunicorn")."""

    framework: str
    row: str


@dataclass(frozen=True)
class Factor:
    cell: Cell
    exponent: int  # 1 above the fraction bar, -1 below


@dataclass(frozen=True)
class Comparison:
    """A product of medians, paired by round, that must exceed 1 for a claim to hold."""

    factors: tuple[Factor, ...]

    @classmethod
    def of(cls, top: Cell, bottom: Cell) -> Comparison:
        return cls((Factor(top, 1), Factor(bottom, -1)))

    def over(self, other: Comparison) -> Comparison:
        """This ratio divided by another: how much more one thing helps than another."""
        return Comparison(self.factors + tuple(Factor(f.cell, -f.exponent) for f in other.factors))


@dataclass(frozen=True)
class Claim:
    """One of the article's conclusions, and the comparisons it needs (all must exceed 1)."""

    text: str
    comparisons: tuple[Comparison, ...]


@dataclass(frozen=True)
class Ratio:
    """One of the article's ratios: a cell of its table over another."""

    label: str
    top: Cell
    bottom: Cell


@dataclass(frozen=True)
class Setting:
    """A row of the methodology table: what changes the verdict "async is faster"."""

    label: str
    aiohttp: Measure
    flask: Measure


RATIOS = (
    Ratio("aiohttp / Flask, development server", Cell("aiohttp", "development"), Cell("flask", "development")),
    Ratio("aiohttp / Flask, gunicorn", Cell("aiohttp", "gunicorn"), Cell("flask", "gunicorn")),
    Ratio("aiohttp / Flask, gunicorn -w 4", Cell("aiohttp", "gunicorn_w4"), Cell("flask", "gunicorn_w4")),
    Ratio("gunicorn / development server, aiohttp", Cell("aiohttp", "gunicorn"), Cell("aiohttp", "development")),
    Ratio("gunicorn / development server, Flask", Cell("flask", "gunicorn"), Cell("flask", "development")),
    Ratio("gunicorn -w 4 / development server, aiohttp", Cell("aiohttp", "gunicorn_w4"),
          Cell("aiohttp", "development")),
    Ratio("gunicorn -w 4 / development server, Flask", Cell("flask", "gunicorn_w4"), Cell("flask", "development")),
)


def _helps_flask_more(row: str) -> Comparison:
    """``row``'s gain over the development server, Flask's over aiohttp's."""
    return Comparison.of(Cell("flask", row), Cell("flask", "development")).over(
        Comparison.of(Cell("aiohttp", row), Cell("aiohttp", "development")))


def _gap(row: str) -> Comparison:
    return Comparison.of(Cell("aiohttp", row), Cell("flask", row))


CLAIMS = (
    Claim("aiohttp serves more requests per second than Flask under every server",
          tuple(_gap(row) for row in ("development", "gunicorn", "gunicorn_w4"))),
    Claim("gunicorn is faster than the development server, for both",
          tuple(Comparison.of(Cell(fw, "gunicorn"), Cell(fw, "development")) for fw in ("aiohttp", "flask"))),
    Claim("gunicorn helps Flask more than aiohttp", (_helps_flask_more("gunicorn"),)),
    Claim("4 workers help Flask more than aiohttp", (_helps_flask_more("gunicorn_w4"),)),
    Claim("the gap between them narrows from development server to gunicorn to gunicorn -w 4",
          tuple(_gap(wide).over(_gap(narrow)) for wide, narrow in (("development", "gunicorn"),
                                                                     ("gunicorn", "gunicorn_w4")))),
)


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

    def median(self, measure: Measure, python: str) -> Estimate:
        return intervals.median(self.series(measure.benchmark, python, measure.param))

    def ratio(self, a: Measure, b: Measure, python: str) -> Estimate:
        """a over b."""
        return intervals.ratio(self.series(a.benchmark, python, a.param), self.series(b.benchmark, python, b.param))

    def product(self, factors: Iterable[tuple[Measure, int]], python: str) -> Estimate:
        """A product of medians (each to its exponent), paired by round."""
        return intervals.product([(self.series(m.benchmark, python, m.param), e) for m, e in factors])


def _columns(prefix: str, estimate: Estimate, scale: float = 1.0, offset: float = 0.0) -> dict:
    """An estimate as three columns: value, low and high, each as value x scale + offset."""
    return {prefix: estimate.value * scale + offset, f"{prefix}_low": estimate.low * scale + offset,
            f"{prefix}_high": estimate.high * scale + offset}


def _measure(suite: Suite, cell: Cell) -> Measure:
    """The throughput of the scenario that fills ``cell`` in the article's table."""
    row = next(row for row in suite.article_rows if row.key == cell.row)
    return Measure(suite.benchmarks["throughput"], getattr(row, cell.framework))


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
                cell = _measure(suite, Cell(framework, row.key))
                record.update(_columns(framework, samples.median(cell, python)))
                record[f"{framework}_status"] = samples.status(cell.benchmark, python, cell.param)
                increase = (Estimate(math.nan) if row == development else
                            samples.ratio(cell, _measure(suite, Cell(framework, development.key)), python))
                record.update(_columns(f"{framework}_increase_pct", increase, 100, -100))
            gap = samples.ratio(_measure(suite, Cell("aiohttp", row.key)), _measure(suite, Cell("flask", row.key)),
                                python)
            record.update(_columns("difference_pct", gap, 100, -100))
            records.append(record)
    return pd.DataFrame.from_records(records)


def article_ratios(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """Ratios, which carry across machines where absolute rates do not: ours per Python, each with its 95 %
    interval (the two sides paired by round), beside the article's."""
    published = suite.figures["server"]["requests_per_second"]
    samples = Samples(df, commit, suite)
    records = []
    for ratio in RATIOS:
        top, bottom = ratio.top, ratio.bottom
        record = {"ratio": ratio.label,
                  "article": published[top.row][top.framework] / published[bottom.row][bottom.framework]}
        for python in samples.pythons:
            estimate = samples.ratio(_measure(suite, top), _measure(suite, bottom), python)
            record.update(_columns(f"python {python}", estimate))
        records.append(record)
    return pd.DataFrame.from_records(records)


def conclusions(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """The article's conclusions, judged per Python by the 95 % intervals of the comparisons each needs."""
    samples = Samples(df, commit, suite)
    records = []
    for claim in CLAIMS:
        verdicts = {python: intervals.combine([
            samples.product(((_measure(suite, f.cell), f.exponent) for f in comparison.factors), python).verdict()
            for comparison in claim.comparisons]) for python in samples.pythons}
        found = set(verdicts.values())
        if len(found) == 1:
            here = found.pop()
        elif not verdicts:
            here = intervals.NO_SAMPLES
        else:
            here = "; ".join(f"Python {python}: {verdict}" for python, verdict in verdicts.items())
        records.append({"conclusion": claim.text, "here": here, "article": "holds",
                        **{f"python {python}": verdict for python, verdict in verdicts.items()}})
    return pd.DataFrame.from_records(records)


def client_table(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """Client strategies: wall time, speed-up over sequential and efficiency (floor / wall time), each with its
    95 % interval; the article's times."""
    samples = Samples(df, commit, suite)
    clients = suite.benchmarks["clients"]
    published = suite.figures["client"]["wall_seconds"]
    paper_sequential = published[suite.article_client["requests-sequential"]]
    sequential = Measure(clients, "requests-sequential")
    records = []
    for python in samples.pythons:
        if all(samples.status(clients, python, strategy) == "missing" for strategy in suite.client_concurrency):
            continue
        for strategy, concurrency in suite.client_concurrency.items():
            wall = samples.median(Measure(clients, strategy), python)
            floor = math.ceil(suite.client_requests / concurrency) * suite.client_delay_s
            paper = published.get(suite.article_client.get(strategy, ""), math.nan)
            records.append({
                "python": python, "strategy": strategy, "concurrency": concurrency,
                **_columns("wall_s", wall), "status": samples.status(clients, python, strategy),
                **_columns("speedup", samples.ratio(sequential, Measure(clients, strategy), python)),
                "floor_s": floor, "efficiency": floor / wall.value, "efficiency_low": floor / wall.high,
                "efficiency_high": floor / wall.low, "article_wall_s": paper,
                "article_speedup": paper_sequential / paper,
            })
    return pd.DataFrame.from_records(records)


def methodology_rows(suite: Suite) -> list[Setting]:
    """What changes the verdict "async is faster": each setting's aiohttp and Flask benchmark and scenario."""
    rows, names = suite.article_rows, suite.benchmarks
    server, keepalive_off, io_bound = names["throughput"], names["keepalive_off"], names["io_bound"]

    def pair(label: str, benchmark: str, aiohttp: str, flask: str) -> Setting:
        return Setting(label, Measure(benchmark, aiohttp), Measure(benchmark, flask))

    return [
        *(pair(f"{r.label}, keep-alive on (the article's ab -k)", server, r.aiohttp, r.flask) for r in rows),
        *(pair(f"{r.label}, a new connection per request", keepalive_off, r.aiohttp, r.flask) for r in rows),
        *(pair(f"{r.label}, handler waits {suite.io_ms} ms (I/O-bound)", io_bound, r.aiohttp, r.flask)
          for r in rows),
        *(pair(p.label, server, p.aiohttp, p.flask) for p in suite.pairs),
    ]


ASYNC_FASTER = {intervals.HOLDS: "faster", intervals.DOES_NOT_HOLD: "slower"}


def methodology_table(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """For each setting and Python: aiohttp / Flask throughput with its 95 % interval (paired by round), and
    whether async is faster: "faster" or "slower" only when the interval settles it."""
    samples = Samples(df, commit, suite)
    records = []
    for python in samples.pythons:
        for setting in methodology_rows(suite):
            ratio = samples.ratio(setting.aiohttp, setting.flask, python)
            verdict = ratio.verdict()
            records.append({"python": python, "setting": setting.label,
                            "aiohttp_req_s": samples.median(setting.aiohttp, python).value,
                            "flask_req_s": samples.median(setting.flask, python).value,
                            **_columns("ratio", ratio),
                            "async_faster": ASYNC_FASTER.get(verdict, verdict)})
    return pd.DataFrame.from_records(records)


def changes_table(rows: list[Row], newer: str, older: str, factor: float) -> pd.DataFrame:
    """Every benchmark of one commit against another, with asv's marks, regressions first."""
    changes = compare.compare([r for r in rows if r.commit == older], [r for r in rows if r.commit == newer], factor)
    return pd.DataFrame.from_records([{
        "mark": c.mark, "benchmark": c.label, "env": c.env, "unit": c.unit, "older": c.base, "newer": c.head,
        "older_text": compare.format_value(c.base, c.unit), "newer_text": compare.format_value(c.head, c.unit),
        "ratio": c.ratio, "regression": c.regression} for c in changes],
        columns=["mark", "benchmark", "env", "unit", "older", "newer", "older_text", "newer_text", "ratio",
                 "regression"])


def instructions_table(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """Instructions per request of every server scenario at one commit: one row per scenario, a column per Python
    (NaN where there is no number) and beside each its status ("<python> status": ok, failed, skipped, or
    missing where that Python did not measure the scenario)."""
    part = df[(df["benchmark"] == suite.benchmarks["instructions"]) & (df["commit"] == commit)]
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


def cost_ratios(df: pd.DataFrame, commit: str, suite: Suite) -> pd.DataFrame:
    """For each of the article's servers and each Python: how many times more instructions Flask executes per
    request than aiohttp, beside how many times more requests per second aiohttp serves (wall-clock)."""
    counted = df[(df["benchmark"] == suite.benchmarks["instructions"]) & (df["commit"] == commit)]
    counts = counted.set_index(["python", "param"])["value"]
    samples = Samples(df, commit, suite)
    records = []
    for python in samples.pythons:
        for row in suite.article_rows:
            aiohttp, flask = (float(counts.get((python, scenario), math.nan)) for scenario in (row.aiohttp, row.flask))
            throughput = samples.ratio(_measure(suite, Cell("aiohttp", row.key)),
                                       _measure(suite, Cell("flask", row.key)), python)
            records.append({"python": python, "server": row.label, "aiohttp_instructions": aiohttp,
                            "flask_instructions": flask, "instructions_ratio": flask / aiohttp,
                            **_columns("throughput_ratio", throughput)})
    return pd.DataFrame.from_records(records)
