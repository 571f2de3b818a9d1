"""Where async overtakes sync: the map of ``python -m benchmarks sweep``'s results, its latency curves and an answer.

Reads the harness's results file (``formats.RESULTS``; the reports never import the harness): the "server" records
of the grid (one per scenario, concurrency and ``io_ms``), the "server" records of the open-loop capacity runs, and
the "openloop" records. Writes ``sweep.md``, ``sweep_heatmap.png`` and ``latency.png`` into ``out``; the summary
includes ``sweep.md`` when it is there, and the site shows it with the charts.

In each cell the ratio is the best aiohttp run's req/s over the best Flask run's: the harness chooses them (by
median req/s) and marks each in its record (``settings.best``); this module only reads the mark, and gives the
ratio its 95 % interval, from a bootstrap that draws the same repeats for both (the harness interleaves the
scenarios of a point repeat by repeat). "faster" and "slower" need the interval entirely above or below 1 once it
is widened by the counts' own resolution: a run of n answers measures its rate only to 1/n (with a 100 ms wait
and one connection a 1-second run holds ~10 answers, and its ratio moves in steps of 10 % that a bootstrap of three
runs cannot see).

Transport errors (a request that got no answer: a socket error or a timeout) are a property of an overloaded point,
not a failure: each cell and each open-loop point counts them, and the section says where they happened. The
section also says how the CPUs were split between servers and load generators, from what each record says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

import benchmarks.harness.formats as formats

from . import intervals
from .errors import ReportError

VERDICT_WORDS = {intervals.HOLDS: "faster", intervals.DOES_NOT_HOLD: "slower"}


@dataclass(frozen=True)
class Cell:
    io_ms: int
    concurrency: int
    aiohttp: str | None  # the best scenario of each framework at this point
    flask: str | None
    ratio: intervals.Estimate
    failed: tuple[str, ...]  # scenarios that failed here
    fewest: int = 0  # the fewest answers in one run, on either side
    requests: int = 0  # answers at this point, every scenario's runs
    transport_errors: tuple[tuple[str, str, int], ...] = ()  # (scenario, kind, count) of requests with no answer

    @property
    def transport_error_count(self) -> int:
        return sum(count for _, _, count in self.transport_errors)

    @property
    def verdict(self) -> str:
        if math.isnan(self.ratio.value) or not self.fewest:
            return "not measured"
        step = 1 + 1 / self.fewest  # one answer more or less in the smallest run
        verdict = intervals.Estimate(self.ratio.value, self.ratio.low / step, self.ratio.high * step).verdict(1.0)
        return VERDICT_WORDS.get(verdict, "cannot tell")


def load(path: Path) -> list[dict]:
    try:
        return formats.RESULTS.load(path)["records"]
    except formats.FormatError as error:
        raise ReportError(str(error)) from None


def _rates(record: dict) -> tuple[float, ...]:
    return tuple(sample["requests_per_s"] for sample in record["samples"])


def _transport_errors(records: list[dict]) -> tuple[tuple[str, str, int], ...]:
    """(scenario, kind, count) of the socket errors and timeouts the records' runs counted, in order."""
    found = []
    for record in records:
        totals: dict[str, int] = {}
        for sample in record["samples"]:
            for kind, count in sample["load"].get("socket_errors", {}).items():
                totals[kind] = totals.get(kind, 0) + count
        found += [(record["id"], kind, count) for kind, count in sorted(totals.items()) if count]
    return tuple(found)


def _describe_errors(errors: tuple[tuple[str, str, int], ...]) -> str:
    """"aiohttp-gunicorn: read 1" for each scenario that had any."""
    scenarios = dict.fromkeys(scenario for scenario, _, _ in errors)
    return "; ".join(f"{scenario}: " + ", ".join(f"{kind} {count:,}" for s, kind, count in errors if s == scenario)
                     for scenario in scenarios)


def _best(group: list[dict], framework: str, where: str) -> dict | None:
    """The run the harness chose as ``framework``'s best at this point (``settings.best``), or None."""
    marked = [r for r in group if r["scenario"]["framework"] == framework and r["settings"].get("best")]
    if len(marked) > 1:
        raise ReportError(f"the sweep results mark {len(marked)} best {framework} runs at {where}: "
                          f"{', '.join(r['id'] for r in marked)}")
    return marked[0] if marked else None


def cells(records: list[dict]) -> list[Cell]:
    """The grid's cells, ordered by io_ms then concurrency (the server records whose role is "grid"). Each cell
    divides the runs the harness marked best (``settings.best``, one per framework and point); a point where a
    framework has none has no ratio."""
    points: dict[tuple[int, int], list[dict]] = {}
    for record in records:
        if record["kind"] == "server" and record["settings"].get("role") == "grid":
            key = (record["settings"]["io_ms"], record["settings"]["load"]["concurrency"])
            points.setdefault(key, []).append(record)
    grid = [r for group in points.values() for r in group]
    if any(r["status"] == "ok" for r in grid) and not any(r["settings"].get("best") for r in grid):
        raise ReportError("the sweep results mark no point's best runs (written before the harness marked them): "
                          "run `make sweep` again")
    found = []
    for (io_ms, concurrency), group in sorted(points.items()):
        ok = [r for r in group if r["status"] == "ok"]
        where = f"{concurrency} connections / {io_ms} ms"
        a, f = (_best(ok, framework, where) for framework in ("aiohttp", "flask"))
        ratio = (intervals.ratio(intervals.Series(_rates(a), 1), intervals.Series(_rates(f), 1))
                 if a and f else intervals.Estimate(math.nan))
        fewest = min((s["load"]["completed"] for r in (a, f) if r for s in r["samples"]), default=0)
        found.append(Cell(io_ms, concurrency, a and a["id"], f and f["id"], ratio,
                          tuple(r["id"] for r in group if r["status"] != "ok"), fewest,
                          sum(s["load"]["completed"] for r in ok for s in r["samples"]), _transport_errors(ok)))
    return found


def heatmap(found: list[Cell], path: Path) -> None:
    if not found:  # an open-loop-only run (--no-grid)
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no grid point measured", ha="center", va="center")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return
    ios = sorted({c.io_ms for c in found})
    conns = sorted({c.concurrency for c in found})
    grid = np.full((len(ios), len(conns)), np.nan)
    fig, ax = plt.subplots(figsize=(1.6 * len(conns) + 2, 1.1 * len(ios) + 1.6))
    for cell in found:
        i, j = ios.index(cell.io_ms), conns.index(cell.concurrency)
        grid[i, j] = math.log2(cell.ratio.value) if cell.ratio.value > 0 else np.nan
    limit = max(1.0, float(np.nanmax(np.abs(grid)))) if not np.all(np.isnan(grid)) else 1.0
    for cell in found:
        i, j = ios.index(cell.io_ms), conns.index(cell.concurrency)
        text = "n/a" if math.isnan(cell.ratio.value) else f"{cell.ratio.value:.2g}x\n{cell.verdict}"
        if cell.transport_error_count:
            text += f"\n{cell.transport_error_count:,} transport err."
        dark = not math.isnan(grid[i, j]) and abs(grid[i, j]) > 0.6 * limit
        ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")
    image = ax.imshow(grid, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(conns)), [str(c) for c in conns])
    ax.set_yticks(range(len(ios)), [f"{ms} ms" for ms in ios])
    ax.set_xlabel("concurrent connections")
    ax.set_ylabel("handler waits")
    ax.set_title("aiohttp / Flask throughput (best server of each); blue: async faster", fontsize=10)
    fig.colorbar(image, ax=ax, label="log2 of the ratio")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def latency_curves(records: list[dict], path: Path) -> None:
    runs = [r for r in records if r["kind"] == "openloop" and r["result"]]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for scenario in dict.fromkeys(r["id"] for r in runs):
        mine = sorted((r for r in runs if r["id"] == scenario), key=lambda r: r["settings"]["rate"])
        rates = [r["settings"]["rate"] for r in mine]
        p99 = [r["result"]["latency_ms"]["99"] for r in mine]
        line, = ax.plot(rates, p99, marker="o", label=scenario)
        for r, x, y in zip(mine, rates, p99, strict=True):
            if r["status"] != "ok":  # requests missed their schedule: not the server's number
                ax.plot([x], [y], marker="o", markersize=11, fillstyle="none", color=line.get_color())
    # A single rate (one scenario at one share), or a single latency, would leave a log axis no width.
    for values, set_limits in (([r["settings"]["rate"] for r in runs], ax.set_xlim),
                               ([r["result"]["latency_ms"]["99"] for r in runs], ax.set_ylim)):
        if len(set(values)) == 1 and values[0] > 0:
            set_limits(values[0] / 2, values[0] * 2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered load, requests per second (open loop: 50 % and 80 % of capacity)")
    ax.set_ylabel("p99 latency, ms (each request sent when due)")
    ax.set_title("Latency versus load (circled: requests went out off schedule: not measured)")
    ax.grid(True, which="both", alpha=0.3)
    if runs:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no open-loop point measured", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def answer(found: list[Cell]) -> str:
    """One paragraph, from the map: where async wins, where it does not, and what the map cannot tell."""
    if not found:
        return "The sweep measured no point."
    by = {v: [c for c in found if c.verdict == v] for v in ("faster", "slower", "cannot tell", "not measured")}

    def where(group: list[Cell]) -> str:
        return ", ".join(f"{c.concurrency} connections / {c.io_ms} ms" for c in group)

    parts = [f"Over {len(found)} points (concurrency x handler wait), aiohttp served more requests per second "
             f"than Flask at {len(by['faster'])}, fewer at {len(by['slower'])}, and the interval could not tell at "
             f"{len(by['cannot tell'])}."]
    for io_ms in sorted({c.io_ms for c in found}):
        row = [c for c in found if c.io_ms == io_ms and not math.isnan(c.ratio.value)]
        if len(row) > 1:
            low, high = min(row, key=lambda c: c.ratio.value), max(row, key=lambda c: c.ratio.value)
            parts.append(f"With {'no wait' if io_ms == 0 else f'a {io_ms} ms wait'} in the handler the ratio runs "
                         f"from {low.ratio.value:.2g}x ({low.concurrency} connections) to {high.ratio.value:.2g}x "
                         f"({high.concurrency}).")
    if by["slower"]:
        parts.append(f"Flask was faster at {where(by['slower'])}.")
    if by["cannot tell"]:
        parts.append(f"Within noise: {where(by['cannot tell'])}.")
    if by["not measured"]:
        parts.append(f"Not measured (a side failed): {where(by['not measured'])}.")
    errors = [c for c in found if c.transport_errors]
    if errors:
        parts.append("Transport errors (requests that got no answer: a socket error or a timeout), counted as a "
                     "property of the point and not as a failure: " + "; ".join(
                         f"{c.transport_error_count:,} of {c.requests + c.transport_error_count:,} requests at "
                         f"{c.concurrency} connections / {c.io_ms} ms ({_describe_errors(c.transport_errors)})"
                         for c in errors) + ".")
    parts.append("The answer to the article's question is this map rather than one number: read on one shared "
                 "2-core machine, its shape (where the ratio grows, where it cannot be told from 1) is what carries "
                 "over, not its values.")
    return " ".join(parts)


def _cells_table(found: list[Cell]) -> str:
    lines = ["| handler waits | connections | best aiohttp | best Flask | aiohttp / Flask (95 % interval) | async | "
             "transport errors |",
             "|---|---|---|---|---|---|---|"]
    for c in found:
        ratio = "n/a" if math.isnan(c.ratio.value) else f"{c.ratio.value:.2f} ({c.ratio.low:.2f}-{c.ratio.high:.2f})"
        failed = f" (failed: {', '.join(c.failed)})" if c.failed else ""
        errors = f"{c.transport_error_count:,} ({_describe_errors(c.transport_errors)})" if c.transport_errors else "0"
        lines.append(f"| {c.io_ms} ms | {c.concurrency} | {c.aiohttp or '-'} | {c.flask or '-'} | {ratio} | "
                     f"{c.verdict}{failed} | {errors} |")
    return "\n".join(lines)


def _latency_table(records: list[dict]) -> str:
    lines = ["| scenario | offered req/s (share of capacity) | p50 ms | p99 ms | p99.9 ms | off schedule | "
             "transport errors | status |",
             "|---|---|---|---|---|---|---|---|"]
    for r in (r for r in records if r["kind"] == "openloop"):
        s, res = r["settings"], r["result"]
        offered = f"{s['rate']:,.0f} ({s['share']:.0%})" if "rate" in s else f"({s['share']:.0%})"
        if res is None:
            lines.append(f"| {r['id']} | {offered} | | | | | | failed: {r['reason']} |")
            continue
        lat = res["latency_ms"]
        lines.append(f"| {r['id']} | {offered} | {lat['50']:.2f} | {lat['99']:.2f} | {lat['99.9']:.2f} | "
                     f"{res.get('off_schedule', res['dropped']):,} ({res['dropped_share']:.2%}) | "
                     f"{res.get('transport_errors', 0):,} | "
                     f"{'ok' if r['status'] == 'ok' else 'not measured: ' + r['reason']} |")
    return "\n".join(lines)


def _open_loop_count(records: list[dict]) -> str:
    runs = [r for r in records if r["kind"] == "openloop"]
    if not runs:
        return "No open-loop point was run."
    measured = sum(r["status"] == "ok" for r in runs)
    failed = sum(r["status"] == "failed" for r in runs)
    return (f"{measured} of {len(runs)} open-loop points measured" + (f", {failed} failed" if failed else "")
            + (f", {len(runs) - measured - failed} not measured (requests off schedule)"
               if len(runs) - measured - failed else "") + ".")


def cpu_splits(records: list[dict]) -> dict[str, str]:
    """How the CPUs were split, in words, per part of the sweep ("grid", "open loop"), as the records say (files
    written before the split was recorded say nothing)."""
    found: dict[str, str] = {}
    for record in records:
        split = record.get("settings", {}).get("cpu_split")
        if split:
            part = "grid" if record["settings"].get("role") == "grid" else "open loop"
            found.setdefault(part, split["note"])
    return found


def _cpus_text(records: list[dict]) -> str:
    splits = cpu_splits(records)
    if not splits:
        return "How the CPUs were split is not recorded in these results."
    names = {"grid": "the map", "open loop": "the open loop (capacity and latency)"}
    return "CPUs: " + "; ".join(f"{names[part]}: {note}" for part, note in splits.items()) + "."


def build(results: Path, out: Path) -> str:
    """Write sweep.md and the two charts into ``out``; return the markdown."""
    records = load(results)
    out.mkdir(parents=True, exist_ok=True)
    found = cells(records)
    heatmap(found, out / "sweep_heatmap.png")
    latency_curves(records, out / "latency.png")
    text = "\n\n".join([
        "## When is async faster",
        "`make sweep` (`python -m benchmarks sweep`): throughput of aiohttp (gunicorn worker, development server) "
        "and Flask (gunicorn sync with 2 x cores + 1 workers, gthread) at every concurrency and handler wait, "
        "each point verified and its four servers' runs interleaved; each cell divides the best aiohttp by the "
        "best Flask, and reads \"faster\" or \"slower\" only when its 95 % interval lies entirely on that side "
        "of 1, widened by one answer in the smallest run (a 1 s run of 9 answers resolves a rate to 11 %). "
        "A request that got no answer (a socket error or a timeout) is counted in its cell, not failed. "
        "Wall-clock, on a shared machine: advisory, never a gate.",
        _cpus_text(records),
        answer(found),
        "![aiohttp / Flask throughput over concurrency and handler wait](sweep_heatmap.png)",
        _cells_table(found),
        "### Latency at a fixed arrival rate",
        "The open-loop generator sends requests on a fixed schedule at 50 % and 80 % of each scenario's capacity, "
        "measured just before on the same server with the CPUs split the same way; a request goes out when it is "
        "due, whatever the answers before it do, so queueing shows in the latency (from its send to its answer). "
        "A point where 0.1 % of requests or more could not go out on schedule (every allowed connection waiting, "
        "or the generator late) is not measured: the latency of those requests is unknown; its status says whether "
        "the server or the generator fell behind. Requests that got no answer are counted as transport errors, "
        "not in the latency.",
        _open_loop_count(records),
        "![p99 latency versus offered load](latency.png)",
        _latency_table(records),
    ]) + "\n"
    (out / "sweep.md").write_text(text)
    return text
