"""The summary: every table of the report, in markdown, with its charts and the data behind it.

``build()`` reads one machine's asv results and writes, into the output folder: ``summary.md``, the charts
(``server.png``, ``history.png``) and ``exports/`` (each table as CSV and JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from asv import results as asv_results
from asv import util as asv_util

from . import asvdata, charts, tables
from .errors import ReportError


@dataclass(frozen=True)
class Summary:
    markdown: str
    out: Path
    machine: str
    commit: str
    regressions: int
    benchmarks: tuple[str, ...] = ()  # every benchmark with results, for links into asv's graphs
    scenarios: tuple[str, ...] = ()  # the server scenarios measured
    rates: dict = field(default_factory=dict)  # {scenario: {python: median req/s at the newest commit}}


def _environments(conf, machine: str, commit: str, envs: list[str]) -> list[dict]:
    """Python and package versions of each environment that measured the commit."""
    found = []
    for env in envs:
        path = Path(conf.results_dir) / asv_results.get_filename(machine, commit, env)
        data = asv_util.load_json(str(path), api_version=2) if path.exists() else {}
        found.append({"env": env, "python": data.get("params", {}).get("python", "?"),
                      "packages": data.get("requirements", {})})
    return found


def provenance_file(conf, machine: str) -> Path:
    """Where ``make bench`` records the harness's settings for a machine (``python -m benchmarks provenance``)."""
    return Path(conf.results_dir).parent / "provenance" / f"{machine}.json"


def _provenance_markdown(conf, machine: str, commit: str, envs: list[dict]) -> tuple[str, dict]:
    info = asvdata.machine_info(conf, machine)
    path = provenance_file(conf, machine)
    harness = json.loads(path.read_text()) if path.exists() else None
    ram = info.get("ram", "")
    memory = f"{int(ram) / 2**30:.0f} GB of memory" if str(ram).isdigit() else "? GB of memory"  # asv: bytes
    lines = [f"- Machine `{machine}`: {info.get('cpu', '?')}, {info.get('num_cpu', '?')} CPUs, {memory}, "
             f"{info.get('os', '?')}; shared and noisy: absolute rates vary by machine and by hour.",
             f"- Commit `{commit[:8]}`."]
    for env in envs:
        packages = ", ".join(f"{name} {version}" for name, version in sorted(env["packages"].items()))
        lines.append(f"- Python {env['python']}: {packages}.")
    if harness:
        load = harness["load"]
        lines += [
            f"- Load: `{' '.join(load['batch']['argv'])}` ({load['batch']['generator']} "
            f"{load['batch']['version']}) per throughput sample; `{' '.join(load['cost']['argv'])}` "
            f"({load['cost']['generator']} {load['cost']['version']}) for latency and CPU.",
            f"- Concurrency {harness['suite']['concurrency']}; batches of {harness['suite']['batch_requests']} "
            f"requests ({harness['suite']['io_batch_requests']} with the handler waiting "
            f"{harness['suite']['io_ms']} ms); cost runs of {harness['suite']['cost_duration_s']:g} s; "
            f"CPU pinning {'on' if harness['suite']['pinned'] else 'off'}.",
            "- Repeats: " + "; ".join(f"{name}: {r['rounds']} rounds of {r['repeat']}" for name, r in
                                      harness["suite"]["repeats"].items()) + ".",
        ]
    else:
        lines.append(f"- The harness's settings were not recorded for this machine ({path.name} is missing).")
    lines.append(
        "- Method: every server is started from the app factory with the benchmark's own interpreter, "
        "verified before and after load (a non-2xx answer or socket error fails the benchmark, which then has "
        "no number), warmed up, and measured in several processes (asv rounds). Throughput is the time of "
        "one batch of requests, timed by the load generator's own clock (its start-up left out), so asv's "
        "statistics apply. Intervals are 95 % bootstrap intervals of the median; a ratio's two sides are drawn "
        "from the same rounds (measured seconds apart), so the machine's drift over minutes moves both alike.")
    return "\n".join(lines), {"machine": info, "commit": commit, "environments": envs, "harness": harness}


def _export(frames: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
        frame.to_json(folder / f"{name}.json", orient="records", indent=1)


def build(config: Path, out: Path, machine: str | None = None, back: int = 10, factor: float = 1.05) -> Summary:
    conf = asvdata.load_config(config)
    machine = machine or asvdata.machines(conf)[0]
    rows = list(asvdata.iter_rows(conf.results_dir, asvdata.benchmark_info(conf), machine))
    if not rows:
        raise ReportError(f"no asv results for machine {machine!r} in {conf.results_dir}")
    df = tables.frame(rows)
    by_date = tables.commits_by_date(df)
    commits = asvdata.commit_order(conf, by_date) or by_date
    newest = commits[0]
    env_names = sorted(df.loc[df["commit"] == newest, "env"].unique())
    envs = _environments(conf, machine, newest, env_names)
    env_labels = {e["env"]: e["python"] for e in envs} | dict(zip(df["env"], df["python"], strict=False))

    server = tables.server_table(df, newest)
    ratios = tables.article_ratios(df, newest)
    found = tables.conclusions(df, newest)
    client = tables.client_table(df, newest)
    method = tables.methodology_table(df, newest)
    counts = tables.instructions_table(df, newest)
    costs = tables.cost_ratios(df, newest)
    previous = commits[1] if len(commits) > 1 else None
    further = commits[min(back, len(commits) - 1)] if len(commits) > 1 else None
    changes_prev = tables.changes_table(rows, newest, previous, factor) if previous else pd.DataFrame()
    changes_back = tables.changes_table(rows, newest, further, factor) if further else pd.DataFrame()
    provenance, provenance_data = _provenance_markdown(conf, machine, newest, envs)

    out.mkdir(parents=True, exist_ok=True)
    charts.server_bars(server, out / "server.png")
    charts.history(df, out / "history.png", commits)
    charts.history(df, out / "instructions.png", commits, counted=True)
    _export({"server_table": server, "article_ratios": ratios, "article_conclusions": found, "clients": client,
             "methodology": method, "instructions": counts, "cost_ratios": costs,
             "changes_previous": changes_prev, "changes_back": changes_back,
             "values": df}, out / "exports")
    (out / "exports" / "provenance.json").write_text(json.dumps(provenance_data, indent=1) + "\n")

    regressions = int(changes_prev["regression"].sum()) if not changes_prev.empty else 0
    markdown = "\n\n".join([
        f"# planet-tracker benchmarks: `{newest[:8]}` on `{machine}`",
        f"{len(commits)} commit(s) measured on this machine; Python {', '.join(e['python'] for e in envs)} at the "
        f"newest. Lower is better for every asv benchmark; the tables turn batch times back into requests per "
        f"second. " + (f"**{regressions} significant regression(s)** since the previous commit (the two were "
                       "measured in separate runs: confirm a change with `make compare`)." if regressions
                       else "No significant regression since the previous commit." if previous else ""),
        "## The article's table, re-measured",
        "Requests per second, median (95 % interval), `ab -k -c 20 -n 1000` batches; \"% difference\" is "
        "aiohttp over Flask and \"% increase\" is over the development server, as the article defines them.",
        tables.server_markdown(server),
        "![requests per second by server and framework](server.png)",
        "## Beside the article's figures",
        "Absolute rates depend on the machine; ratios carry over. Ours per Python, and the article's (2018):",
        tables.ratios_markdown(ratios, found),
        "## What a request costs, in instructions",
        "Instructions per request, summed over every process of the server, counted under valgrind (callgrind) "
        "in a window of requests sent one at a time (`python -m benchmarks instructions`). The count does not "
        "depend on the machine or its load: it is the channel that catches a 1 % slowdown, and `make compare` "
        "judges it by ratio. It cannot see time spent in the kernel and in system calls, waiting, lock "
        "contention, or how work spreads over cores: throughput stays the wall-clock benchmarks' job.",
        tables.instructions_markdown(counts),
        "The two frameworks' CPU cost compared without the machine in it, beside the throughput ratio measured "
        "on it (aiohttp also overlaps waiting, and the servers differ in how they use the cores):",
        tables.cost_ratios_markdown(costs),
        "![instructions per request of every server scenario across commits](instructions.png)",
        "## The client side",
        "100 requests to a local server that answers after 10 ms (the article's remote site took ~130 ms, so "
        "compare speed-ups, not times). Floor = requests x delay / concurrency; efficiency = floor / wall time.",
        tables.client_markdown(client),
        "## What changes the verdict \"async is faster\"",
        "aiohttp / Flask throughput for each setting, with its 95 % interval; async is \"faster\" or \"slower\" "
        "only when the interval lies entirely above or below 1, and \"cannot tell (within noise)\" otherwise.",
        tables.methodology_markdown(method),
        "## Changes",
        f"`{newest[:8]}` against the previous commit" + (f" `{previous[:8]}`" if previous else "") +
        f" (asv's marks, factor {factor:g}: + slower, - faster, ~ not significant, ! failed on the newer "
        "commit, x failed on the older one; regressions first):",
        tables.changes_markdown(changes_prev, env_labels) if previous else "Only one commit measured.",
        f"Against `{further[:8]}`, {commits.index(further)} commit(s) back:" if further else "",
        tables.changes_markdown(changes_back, env_labels) if further else "",
        "## History",
        "![requests per second of every server scenario across commits](history.png)",
        "## Settings and provenance",
        provenance,
        "Exports: every table as CSV and JSON in `exports/`.",
    ])
    markdown = "\n\n".join(part for part in markdown.split("\n\n") if part.strip()) + "\n"
    (out / "summary.md").write_text(markdown)
    scenarios = tuple(dict.fromkeys(df.loc[df["benchmark"] == tables.SERVER, "param"]))
    newest_rates = tables.rates(df, tables.SERVER).loc[newest]["req_s"] if newest in set(
        df.loc[df["benchmark"] == tables.SERVER, "commit"]) else pd.Series(dtype=float)
    rates = {scenario: {python: float(rate) for (python, param), rate in newest_rates.items() if param == scenario}
             for scenario in scenarios}
    return Summary(markdown, out, machine, newest, regressions, tuple(sorted(df["benchmark"].unique())), scenarios,
                   rates)

