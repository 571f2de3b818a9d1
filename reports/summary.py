"""The summary: every table of the report, in markdown, with its charts and the data behind it.

``build()`` reads one machine's asv results and the suite's record of its settings (``suite``), and writes, into
the output folder: ``summary.md``, the charts (``server.png``, ``history.png``, ``instructions.png``) and
``exports/`` (each table as CSV and JSON). It goes in four steps: load, tables, files, markdown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from asv import results as asv_results
from asv import util as asv_util

from . import asvdata, charts, claims, compare, rendering
from .errors import ReportError
from .suite import Suite


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
    batch_requests: int = 0  # requests in one throughput batch, to read asv's graphs of seconds per batch
    throughput: str = ""  # the throughput benchmark's name, for links into its graphs


@dataclass(frozen=True)
class _Results:
    """Everything the summary is built from."""

    conf: object
    machine: str
    rows: list
    df: pd.DataFrame
    commits: list[str]  # newest first, in asv's order
    envs: list[dict]  # Python and packages of each environment that measured the newest commit
    suite: Suite

    @property
    def newest(self) -> str:
        return self.commits[0]


def provenance_file(conf, machine: str) -> Path:
    """Where ``make bench`` records the suite's settings for a machine (``python -m benchmarks provenance``)."""
    return Path(conf.results_dir).parent / "provenance" / f"{machine}.json"


def _load(config: Path, machine: str | None) -> _Results:
    conf = asvdata.load_config(config)
    machine = machine or asvdata.machines(conf)[0]
    rows = list(asvdata.iter_rows(conf.results_dir, asvdata.benchmark_info(conf), machine))
    if not rows:
        raise ReportError(f"no asv results for machine {machine!r} in {conf.results_dir}")
    df = claims.frame(rows)
    by_date = claims.commits_by_date(df)
    commits = asvdata.commit_order(conf, by_date) or by_date
    envs = []
    for env in sorted(df.loc[df["commit"] == commits[0], "env"].unique()):
        path = Path(conf.results_dir) / asv_results.get_filename(machine, commits[0], env)
        data = asv_util.load_json(str(path), api_version=2) if path.exists() else {}
        recorded = (data.get(asvdata.DEPENDENCIES) or {}).get("packages")
        envs.append({"env": env, "python": data.get("params", {}).get("python", "?"),
                     "packages": recorded or data.get("requirements", {})})
    return _Results(conf, machine, rows, df, commits, envs, Suite.load(provenance_file(conf, machine)))


def _compared(commits: list[str], back: int) -> tuple[str | None, str | None]:
    """The commits the newest is compared with: the previous one, and the one ``back`` commits back when that is
    another (with two commits they are the same: one table, not the same table twice)."""
    previous = commits[1] if len(commits) > 1 else None
    further = commits[min(back, len(commits) - 1)] if previous else None
    return previous, further if further != previous else None


def _tables(found: _Results, back: int, factor: float) -> dict[str, pd.DataFrame]:
    df, newest, suite = found.df, found.newest, found.suite
    previous, further = _compared(found.commits, back)
    return {
        "server_table": claims.server_table(df, newest, suite),
        "article_ratios": claims.article_ratios(df, newest, suite),
        "article_conclusions": claims.conclusions(df, newest, suite),
        "instructions": claims.instructions_table(df, newest, suite),
        "cost_ratios": claims.cost_ratios(df, newest, suite),
        "clients": claims.client_table(df, newest, suite),
        "methodology": claims.methodology_table(df, newest, suite),
        "changes_previous": claims.changes_table(found.rows, newest, previous, factor) if previous else pd.DataFrame(),
        "changes_back": claims.changes_table(found.rows, newest, further, factor) if further else pd.DataFrame(),
        "values": df.drop(columns=["sample_values"]),
    }


def _write_files(found: _Results, parts: dict[str, pd.DataFrame], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    charts.server_bars(parts["server_table"], out / "server.png")
    charts.history(found.df, out / "history.png", found.commits, found.suite)
    charts.history(found.df, out / "instructions.png", found.commits, found.suite, counted=True)
    exports = out / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    for name, frame in parts.items():
        frame.to_csv(exports / f"{name}.csv", index=False)
        frame.to_json(exports / f"{name}.json", orient="records", indent=1)
    provenance = {"machine": asvdata.machine_info(found.conf, found.machine), "commit": found.newest,
                  "environments": found.envs, "suite": found.suite.record}
    (exports / "provenance.json").write_text(json.dumps(provenance, indent=1) + "\n")


def _provenance_markdown(found: _Results) -> str:
    info = asvdata.machine_info(found.conf, found.machine)
    ram = info.get("ram", "")
    memory = f"{int(ram) / 2**30:.0f} GB of memory" if str(ram).isdigit() else "? GB of memory"  # asv: bytes
    record = found.suite.record
    batch, suite = record["load"]["batch"], record["suite"]
    lines = [f"- Machine `{found.machine}`: {info.get('cpu', '?')}, {info.get('num_cpu', '?')} CPUs, {memory}, "
             f"{info.get('os', '?')}; shared and noisy: absolute rates vary by machine and by hour.",
             f"- Commit `{found.newest[:8]}`."]
    for env in found.envs:
        packages = ", ".join(f"{name} {version}" for name, version in sorted(env["packages"].items(),
                                                                                key=lambda item: item[0].lower()))
        lines.append(f"- Python {env['python']}: {packages or 'versions not recorded'}.")
    lines += [
        f"- Load: `{' '.join(batch['argv'])}` ({batch['generator']} {batch['version']}) per throughput sample.",
        f"- Concurrency {suite['concurrency']}; batches of "
        + ", ".join(f"{n} requests ({name})" for name, n in suite["batch_requests"].items())
        + f"; the I/O-bound handler waits {suite['io_ms']} ms; CPU pinning {'on' if suite['pinned'] else 'off'}.",
        "- Repeats: " + "; ".join(f"{name}: {r['rounds']} rounds of {r['repeat'][0]} samples"
                                  for name, r in suite["repeats"].items()) + ".",
        "- Method: every server is started from the app factory with the benchmark's own interpreter, "
        "verified before and after load (a non-2xx answer or socket error fails the benchmark, which then has "
        "no number), warmed up, and measured in several processes (asv rounds). Throughput is the time of "
        "one batch of requests, timed by the load generator's own clock (its start-up left out), so asv's "
        "statistics apply. Intervals are 95 % bootstrap intervals of the median; a ratio's two sides are drawn "
        "from the same rounds (measured seconds apart), so the machine's drift over minutes moves both alike.",
    ]
    return "\n".join(lines)


def _many(count: int, one: str, more: str) -> str:
    return f"{count} {one if count == 1 else more}"


def _since_previous(changes: pd.DataFrame) -> str:
    """What changed since the previous commit: what is established (counts, failures) first, in bold when it is a
    regression; then what asv's rule flagged in the timings, which one measurement of each commit cannot
    establish (two runs apart, a machine moves by more than the factor)."""
    counted = changes["unit"].isin(compare.COUNTED_UNITS)
    more, fewer = (int((counted & (changes["mark"] == mark)).sum()) for mark in ("+", "-"))
    failed = int((changes["mark"] == "!").sum())
    costs = " and ".join(part for part in (
        more and f"**{_many(more, 'counted benchmark costs', 'counted benchmarks cost')} more**",
        fewer and (f"{fewer} cost less" if more else
                   f"{_many(fewer, 'counted benchmark costs', 'counted benchmarks cost')} less")) if part)
    established = "; ".join(part for part in (
        costs and f"{costs} (instructions: deterministic)",
        failed and f"**{_many(failed, 'benchmark', 'benchmarks')} failed** on the newest commit") if part)
    text = f"Since the previous commit: {established or 'no counted benchmark changed and none failed'}."
    timed = changes[~counted & (changes["mark"] == "?")]
    if not timed.empty:
        slower = int((timed["ratio"] > 1).sum())
        text += (f" {_many(len(timed), 'timed benchmark', 'timed benchmarks')} moved beyond asv's rule ({slower} "
                 f"slower, {len(timed) - slower} faster), unconfirmed: measured in separate runs; `make compare` "
                 "confirms.")
    return text


def _not_measured(suite: Suite) -> str:
    """A newcomer's machine: what it lacks, what the suite did instead, and the command that installs each."""
    return "\n".join(["Not measured on this machine, or measured another way:",
                      *(f"- {tool['command']} is not installed, so {tool['without']}: `{tool['install']}`."
                        for tool in suite.missing)]) if suite.missing else ""


def _intro(found: _Results, changes: pd.DataFrame) -> str:
    newest_line = _since_previous(changes) if len(found.commits) > 1 else ""
    return (f"{len(found.commits)} commit(s) measured on this machine; Python "
            f"{', '.join(e['python'] for e in found.envs)} at the newest. Lower is better for every asv benchmark; the "
            f"tables turn batch times back into requests per second. {newest_line}")


def _changes(found: _Results, parts: dict[str, pd.DataFrame], factor: float, back: int) -> list[str]:
    commits, newest = found.commits, found.newest
    previous, further = _compared(commits, back)
    envs = {e["env"]: e["python"] for e in found.envs} | dict(zip(found.df["env"], found.df["python"], strict=False))

    def versions(older: str, table: pd.DataFrame) -> str:
        """The dependency versions that differ between the two commits, with the marks beside them."""
        record = {commit: asvdata.dependencies(found.conf.results_dir, found.machine, commit)
                  for commit in (older, newest)}
        marks = ((envs.get(r["env"], r["env"]), r["mark"], r["ratio"]) for _, r in table.iterrows())
        lines = compare.dependency_lines(compare.dependencies(record[older], record[newest], envs), marks,
                                         older[:8], newest[:8])
        return "\n".join(f"- {line}." for line in lines)

    return [
        f"`{newest[:8]}` against the previous commit" + (f" `{previous[:8]}`" if previous else "") +
        f": instructions by ratio ({100 * compare.THRESHOLD:g} % or more), timings by asv's rule (factor "
        f"{factor:g}) on one measurement of each commit, taken in separate runs, so a timed change is ? at most "
        f"(`make compare` measures both commits in one run and confirms). Marks: {compare.LEGEND}; regressions "
        "first.",
        versions(previous, parts["changes_previous"]) if previous else "",
        rendering.changes_markdown(parts["changes_previous"], envs) if previous else "Only one commit measured.",
        f"Against `{further[:8]}`, {commits.index(further)} commit(s) back:" if further else "",
        versions(further, parts["changes_back"]) if further else "",
        rendering.changes_markdown(parts["changes_back"], envs) if further else "",
    ]


def _markdown(found: _Results, parts: dict[str, pd.DataFrame], factor: float, back: int) -> tuple[str, int]:
    changes, suite = parts["changes_previous"], found.suite
    regressions = int(changes["regression"].sum()) if not changes.empty else 0  # established: counted + and !
    batch = suite.batch_requests[suite.benchmarks["throughput"]]
    markdown = "\n\n".join([
        f"# planet-tracker benchmarks: `{found.newest[:8]}` on `{found.machine}`",
        _intro(found, changes),
        _not_measured(suite),
        "## The article's table, re-measured",
        f"Requests per second, median (95 % interval), batches of {batch} requests as the article's `ab -k -c "
        f"{suite.concurrency} -n {batch}`; \"% difference\" is aiohttp over Flask and \"% increase\" is over the "
        "development server, as the article defines them, each with the 95 % interval of the ratio behind it.",
        rendering.server_markdown(parts["server_table"]),
        "![requests per second by server and framework](server.png)",
        "## Beside the article's figures",
        "Absolute rates depend on the machine; ratios carry over. Ours per Python, and the article's (2018). A "
        "conclusion \"holds\" only when every interval it needs lies on its side of 1, \"does not hold\" when one "
        "lies on the other side, and is \"cannot tell (within noise)\" otherwise:",
        rendering.ratios_markdown(parts["article_ratios"], parts["article_conclusions"]),
        "## What a request costs, in instructions",
        "Instructions per request, summed over every process of the server, counted under valgrind (callgrind) "
        "in a window of requests sent one at a time (`python -m benchmarks instructions`). The count does not "
        f"depend on the machine or its load: it is the channel that catches a {100 * compare.THRESHOLD:g} % "
        "slowdown, and `make compare` judges it by ratio. It cannot see time spent in the kernel and in system "
        "calls, waiting, lock contention, or how work spreads over cores: throughput stays the wall-clock "
        "benchmarks' job.",
        rendering.instructions_markdown(parts["instructions"], suite.lacks("valgrind", "cc")),
        "The two frameworks' CPU cost compared without the machine in it, beside the throughput ratio measured "
        "on it (aiohttp also overlaps waiting, and the servers differ in how they use the cores):",
        rendering.cost_ratios_markdown(parts["cost_ratios"]),
        "![instructions per request of every server scenario across commits](instructions.png)",
        "## The client side",
        f"{suite.client_requests} requests to a local server that answers after {suite.client_delay_s * 1000:g} ms "
        "(the article's remote site took ~130 ms, so compare speed-ups, not times). Floor = requests x delay / "
        "concurrency; efficiency = floor / wall time; each with its 95 % interval.",
        rendering.client_markdown(parts["clients"]),
        "## What changes the verdict \"async is faster\"",
        "aiohttp / Flask throughput for each setting, with its 95 % interval; async is \"faster\" or \"slower\" "
        "only when the interval lies entirely above or below 1, and \"cannot tell (within noise)\" otherwise.",
        rendering.methodology_markdown(parts["methodology"]),
        "## Changes",
        *_changes(found, parts, factor, back),
        "## History",
        "![requests per second of every server scenario across commits](history.png)",
        "## Settings and provenance",
        _provenance_markdown(found),
        "Exports: every table as CSV and JSON in `exports/`.",
    ])
    return "\n\n".join(part for part in markdown.split("\n\n") if part.strip()) + "\n", regressions


def _with_sweep(markdown: str, sweep: Path) -> str:
    """The sweep's section (``make sweep`` writes it; it is not part of ``make bench``), before the provenance."""
    if not sweep.exists():
        return markdown
    head, marker, tail = markdown.partition("## Settings and provenance")
    return f"{head}{sweep.read_text().strip()}\n\n{marker}{tail}"


def _with_preface(markdown: str, preface: Path | None) -> str:
    """The open regressions over time (``python -m pipeline publish`` writes them), right under the title: the
    summary, the job's summary and the landing page open with them."""
    if preface is None or not preface.exists():
        return markdown
    title, _, rest = markdown.partition("\n\n")
    return f"{title}\n\n{preface.read_text().strip()}\n\n{rest}"


def build(config: Path, out: Path, machine: str | None = None, back: int = 10,
          factor: float = compare.FACTOR, preface: Path | None = None) -> Summary:
    found = _load(config, machine)
    parts = _tables(found, back, factor)
    _write_files(found, parts, out)
    markdown, regressions = _markdown(found, parts, factor, back)
    markdown = _with_preface(_with_sweep(markdown, out / "sweep.md"), preface)
    (out / "summary.md").write_text(markdown)
    df, newest, server = found.df, found.newest, found.suite.benchmarks["throughput"]
    scenarios = tuple(dict.fromkeys(df.loc[df["benchmark"] == server, "param"]))
    throughput = claims.rates(df, server, found.suite)
    rates = {scenario: {python: float(row["req_s"]) for (commit, python, param), row in throughput.iterrows()
                        if commit == newest and param == scenario and row["status"] == "ok"} for scenario in scenarios}
    return Summary(markdown, out, found.machine, newest, regressions, tuple(sorted(df["benchmark"].unique())),
                   scenarios, rates, found.suite.batch_requests.get(server, 0), server)
