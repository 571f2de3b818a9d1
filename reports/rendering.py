"""The claims' tables (``claims``) rendered as markdown, for the summary: a function per table, and the way each
kind of number is written (a rate, a ratio, a percentage, each with its 95 % interval)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
from tabulate import tabulate

NOT_MEASURED = "Not measured at this commit."
# What a cell without a number says, by the row's status (asv's null is "failed", its NaN "skipped"; no row at all
# is "missing").
STATUS_TEXT = {"failed": "failed", "skipped": "skipped", "missing": "not measured"}


def _rate_cell(rate: float, low: float, high: float, status: str) -> str:
    if status != "ok":
        return STATUS_TEXT.get(status, status)
    return f"{rate:,.0f} ({low:,.0f}-{high:,.0f})" if not math.isnan(low) else f"{rate:,.0f}"


def _pct(value: float, low: float = math.nan, high: float = math.nan) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:+.1f} ({low:+.1f} to {high:+.1f})" if not math.isnan(low) else f"{value:+.1f}"


def _ratio(value: float, low: float = math.nan, high: float = math.nan) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.2f} ({low:.2f}-{high:.2f})" if not math.isnan(low) else f"{value:.2f}"


def _interval(value: float, low: float, high: float, form: str) -> str:
    """``form`` for the value, and the 95 % interval after it in the same form."""
    if math.isnan(value):
        return "n/a"
    return form.format(value) + (f" ({form.format(low)}-{form.format(high)})" if not math.isnan(low) else "")


def _x(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}x"


def _rate(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def _count(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def _per_python(table: pd.DataFrame, lines: Callable[[pd.DataFrame], list[list]], headers: list[str]) -> str:
    """One table per Python, under its name: ``lines`` gives the rows of one Python's part of ``table``."""
    return "\n\n".join(f"Python {python}:\n\n" + tabulate(lines(rows), headers, tablefmt="github",
                                                           disable_numparse=True)
                       for python, rows in table.groupby("python", sort=True))


def server_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return NOT_MEASURED

    def lines(rows: pd.DataFrame) -> list[list]:
        found = []
        for _, r in rows.iterrows():
            found.append([f"{r['label']} (req/s)",
                          _rate_cell(r["aiohttp"], r["aiohttp_low"], r["aiohttp_high"], r["aiohttp_status"]),
                          _rate_cell(r["flask"], r["flask_low"], r["flask_high"], r["flask_status"]),
                          _pct(r["difference_pct"], r["difference_pct_low"], r["difference_pct_high"])])
            if r["row"] != "development":
                found.append(["% increase over development server",
                              *(_pct(r[f"{f}_increase_pct"], r[f"{f}_increase_pct_low"], r[f"{f}_increase_pct_high"])
                                for f in ("aiohttp", "flask")), ""])
        return found

    return _per_python(table, lines, ["", "aiohttp", "Flask", "% difference"])


def ratios_markdown(ratios: pd.DataFrame, found: pd.DataFrame) -> str:
    ours = [c for c in ratios.columns if c.startswith("python ") and not c.endswith(("_low", "_high"))]
    lines = [[r["ratio"], *(_ratio(r[c], r[f"{c}_low"], r[f"{c}_high"]) for c in ours), _ratio(r["article"])]
             for _, r in ratios.iterrows()]
    table = tabulate(lines, ["ratio", *(f"here, {c} (95 % interval)" for c in ours), "article (2018)"],
                     tablefmt="github", disable_numparse=True)
    verdicts = tabulate(found[["conclusion", "here"]].values.tolist(), ["the article's conclusion", "here"],
                        tablefmt="github")
    return table + "\n\n" + verdicts


def client_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return NOT_MEASURED
    return _per_python(table, lambda rows: [
        [r["strategy"], r["concurrency"],
         _interval(r["wall_s"], r["wall_s_low"], r["wall_s_high"], "{:.3f}") if r["status"] == "ok" else r["status"],
         _interval(r["speedup"], r["speedup_low"], r["speedup_high"], "{:.1f}x"),
         f"{r['floor_s']:.3f}",
         _interval(100 * r["efficiency"], 100 * r["efficiency_low"], 100 * r["efficiency_high"], "{:.0f} %"),
         "-" if math.isnan(r["article_wall_s"]) else f"{r['article_wall_s']:.3f}",
         _x(r["article_speedup"])] for _, r in rows.iterrows()],
        ["strategy", "concurrency", "wall s", "speed-up", "floor s", "efficiency", "article wall s",
         "article speed-up"])


def methodology_markdown(table: pd.DataFrame) -> str:
    if table.empty or table["ratio"].isna().all():
        return NOT_MEASURED
    return _per_python(table, lambda rows: [
        [r["setting"], _rate(r["aiohttp_req_s"]), _rate(r["flask_req_s"]),
         _ratio(r["ratio"], r["ratio_low"], r["ratio_high"]), r["async_faster"]] for _, r in rows.iterrows()],
        ["setting", "aiohttp req/s", "Flask req/s", "aiohttp / Flask (95 % interval)", "async faster?"])


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


def cost_ratios_markdown(table: pd.DataFrame) -> str:
    if table.empty or table["instructions_ratio"].isna().all():
        return NOT_MEASURED
    return _per_python(table, lambda rows: [
        [r["server"], _count(r["aiohttp_instructions"]), _count(r["flask_instructions"]),
         _ratio(r["instructions_ratio"]),
         _ratio(r["throughput_ratio"], r["throughput_ratio_low"], r["throughput_ratio_high"])]
        for _, r in rows.iterrows()],
        ["server", "aiohttp instructions / request", "Flask instructions / request", "Flask / aiohttp (instructions)",
         "aiohttp / Flask (req/s, wall-clock)"])
