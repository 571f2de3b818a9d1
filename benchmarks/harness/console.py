"""Markdown tables of results for the command line, including the article's two tables beside its figures.

Reads records only (``results``); the article's rows and published numbers come from ``article``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median

from tabulate import tabulate

from .article import ARTICLE
from .results import ClientRun, InstructionRun, OpenLoopRun, ServerRun


def _pct(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:+.1f} %"


def _rate(run: ServerRun | None) -> float:
    if run is None or run.status != "ok":
        return math.nan
    return run.summary.requests_per_s.median


def _rate_cell(run: ServerRun | None) -> str:
    if run is None:
        return "not run"
    if run.status != "ok":
        return "FAILED"
    rate = run.summary.requests_per_s
    return f"{rate.median:,.0f} ± {rate.ci_half_width_pct:.1f} %"


def server_table(runs: Sequence[ServerRun]) -> str:
    """Every measured scenario with its spread, latency, CPU cost and keep-alive share."""
    rows = []
    for run in runs:
        if run.status != "ok":
            rows.append([run.id, "FAILED: " + (run.reason or "")] + [""] * 8)
            continue
        s = run.summary
        rate = s.requests_per_s
        rows.append([
            run.id,
            f"{rate.median:,.0f}",
            f"{rate.ci_low:,.0f}-{rate.ci_high:,.0f} (±{rate.ci_half_width_pct:.1f} %)",
            f"{100 * rate.cv:.1f} %",
            "/".join(f"{s.latency_ms[p]:.1f}" for p in ("50", "90", "99")),
            f"{s.server_cpu_per_request_ms.median:.3f}",
            f"{100 * s.keepalive_share:.0f} %",
            " ".join(f"{100 * share:.0f}" for share in s.worker_cpu_shares),
            f"{s.peak_rss_bytes / 2**20:.0f}",
            f"{run.ready_s:.2f}",
        ])
    headers = ["scenario", "req/s (median)", "95 % CI", "CV", "latency p50/p90/p99 ms", "server CPU ms/req",
               "keep-alive", "worker CPU %", "peak RSS MB", "ready s"]
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)


def article_server_table(runs: Sequence[ServerRun]) -> str:
    """The article's summary table, our medians beside its figures, with the same derived percentages."""
    by_id = {run.id: run for run in runs}
    published = ARTICLE.figures()["server"]["requests_per_second"]
    rows = []
    dev = {}
    for row in ARTICLE.rows:
        key, label, aio_id, flask_id = row.key, row.label, row.aiohttp.id, row.flask.id
        aio, flask = _rate(by_id.get(aio_id)), _rate(by_id.get(flask_id))
        paio, pflask = published[key]["aiohttp"], published[key]["flask"]
        rows.append([f"{label} (req/s)", _rate_cell(by_id.get(aio_id)), _rate_cell(by_id.get(flask_id)),
                     _pct(100 * (aio / flask - 1)), f"{paio:,.0f}", f"{pflask:,.0f}", _pct(100 * (paio / pflask - 1))])
        if key == "development":
            dev = {"aio": aio, "flask": flask, "paio": paio, "pflask": pflask}
        else:
            rows.append(["% increase over development server", _pct(100 * (aio / dev["aio"] - 1)),
                         _pct(100 * (flask / dev["flask"] - 1)), "", _pct(100 * (paio / dev["paio"] - 1)),
                         _pct(100 * (pflask / dev["pflask"] - 1)), ""])
    headers = ["", "aiohttp (ours)", "Flask (ours)", "% difference (ours)", "aiohttp (2018)", "Flask (2018)",
               "% difference (2018)"]
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)


def client_table(runs: Sequence[ClientRun]) -> str:
    """The client strategies: wall time, floor, efficiency, speed-up over sequential, the article's times."""
    published = ARTICLE.figures()["client"]["wall_seconds"]
    by_id = {run.id: run for run in runs}
    sequential = by_id.get("requests-sequential")
    base = sequential.summary.wall_s.median if sequential and sequential.status == "ok" else math.nan
    rows = []
    for run in runs:
        paper = published.get(ARTICLE.client_rows.get(run.id, ""))
        paper_cell = f"{paper:.3f}" if paper is not None else "-"
        if run.status != "ok":
            rows.append([run.id, run.concurrency, "FAILED: " + (run.reason or ""), "", "", "", paper_cell])
            continue
        s = run.summary
        wall = s.wall_s
        rows.append([run.id, run.concurrency, f"{wall.median:.3f} ({wall.min:.3f}-{wall.max:.3f})",
                     f"{s.floor_s:.3f}", f"{100 * s.efficiency:.0f} %", f"{base / wall.median:.1f}x", paper_cell])
    headers = ["strategy", "concurrency", "wall s, median (min-max)", "floor s", "efficiency",
               "speed-up vs sequential", "article wall s"]
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)


def instructions_table(runs: Sequence[InstructionRun]) -> str:
    """Instructions per request or per call: median over the repeats, their spread, the collector's beside them
    (and the collections they come from), where a server's went."""
    rows = []
    for run in runs:
        if run.status != "ok":
            rows.append([run.id, "FAILED: " + (run.reason or ""), "", "", "", "", ""])
            continue
        s = run.summary
        spread = "-" if s.spread_pct is None else f"{s.spread_pct:.3f} %"
        processes = " ".join(f"{100 * count / sum(run.processes[0]):.1f}" for count in run.processes[0]) \
            if run.processes and len(run.processes[0]) > 1 else ""
        collector = (f"{median(run.collector):,.0f} ({median(run.collections):g} in {median(run.units):g})"
                     if run.collector else "not named")
        rows.append([run.id, f"{s.median:,.0f} per {run.unit}", spread, collector, s.repeats, processes,
                     f"{median(run.seconds):.1f}"])
    headers = ["target", "instructions (median)", "spread (max - min) / median", "collector's (collections)",
               "repeats", "per process % (1st repeat)", "s per repeat"]
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)


def calibration_table(runs: Sequence[ServerRun], naive: dict, ready: dict[str, list[float]]) -> str:
    """calibrate's spread per scenario: the default protocol's CV and interval beside the article's protocol's CV,
    and the start-to-ready time (one row per scenario, start times alone when the spread was skipped)."""
    rows = []
    for run in runs:
        if run.status != "ok":
            rows.append([run.id, "FAILED: " + (run.reason or ""), "", "", "", ""])
            continue
        rate = run.summary.requests_per_s
        article = naive.get(run.scenario["id"])
        rows.append([run.id, f"{rate.median:,.0f}", f"{100 * rate.cv:.1f} %", f"{rate.ci_half_width_pct:.1f} %",
                     f"{100 * article.cv:.1f} %" if article else "-",
                     f"{median(ready[run.id.split(' ')[0]]):.2f}"])
    if not runs:
        rows = [[scenario, "", "", "", "", f"{median(times):.2f}"] for scenario, times in ready.items()]
    return tabulate(rows, ["scenario", "req/s median", "CV", "95 % CI half-width", "CV, article's protocol",
                           "ready s (median)"], tablefmt="github", disable_numparse=True)


def headroom_table(rates: dict[str, float], server: str, fastest: float) -> str:
    """Each generator's highest rate against the fastest server here, and how far above the fastest scenario."""
    return tabulate([[name, f"{rate:,.0f}", f"{rate / fastest:.1f}x" if fastest else "-"]
                     for name, rate in rates.items()],
                    ["generator", f"max req/s ({server})", "headroom over the fastest scenario"],
                    tablefmt="github", disable_numparse=True)


def sweep_table(runs: Sequence[ServerRun]) -> str:
    """Median req/s of every sweep scenario (columns) at every point (rows: handler wait, connections)."""
    points: dict[tuple[int, int], dict[str, ServerRun]] = {}
    for run in runs:
        key = (run.settings["io_ms"], run.settings["load"]["concurrency"])
        points.setdefault(key, {})[run.id] = run
    ids = list(dict.fromkeys(run.id for run in runs))
    rows = [[io_ms, concurrency, *(_rate_cell(found.get(i)) for i in ids)]
            for (io_ms, concurrency), found in sorted(points.items())]
    return tabulate(rows, headers=["io_ms", "connections", *ids], tablefmt="github")


def openloop_table(runs: Sequence[OpenLoopRun]) -> str:
    """Latency from the scheduled start at each share of capacity, and whether the generator kept the schedule."""
    rows = []
    for run in runs:
        result, settings = run.result, run.settings
        share = f"{settings['share']:.0%}"
        rate = f"{settings['rate']:,.0f} ({share})" if "rate" in settings else share
        if result is None:
            rows.append([run.id, rate, "FAILED", "", "", "", run.reason])
            continue
        lat = result.latency_ms
        cpu = result.generator_cpu_s / result.wall_s if result.wall_s else math.nan
        rows.append([run.id, rate, f"{lat['50']:.2f}", f"{lat['99']:.2f}", f"{lat['99.9']:.2f}",
                     f"{result.dropped:,} ({result.dropped_share:.2%})",
                     f"generator CPU {cpu:.0%}" + ("" if run.status == "ok" else f"; NOT MEASURED: {run.reason}")])
    return tabulate(rows, headers=["scenario", "req/s (share of capacity)", "p50 ms", "p99 ms", "p99.9 ms",
                                   "off schedule", "notes"], tablefmt="github")
