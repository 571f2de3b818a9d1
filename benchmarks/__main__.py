"""``python -m benchmarks``: the instrument's command line.

    server        measure one or more server scenarios (interleaved)
    client        time the article's client batch to a slow local server, five ways
    article       the article's two tables, re-measured, beside its figures
    instructions  instructions per request and per call, under valgrind
    profile       where one target's instructions go
    sweep         where async overtakes sync: connections x handler wait, and open-loop latency
    calibrate     generator headroom, spread per scenario, start-up times
    scenarios     list the server scenarios
    tools         one warning line per missing measuring tool (--install: apt-get them)
    provenance    record the asv suite's settings on this machine, for the reports

Exit status: 0 when everything measured cleanly, 1 when a scenario failed (it is reported, with no number),
2 for bad arguments, a missing tool or a busy port (one line on stderr), 130 when interrupted. asv imports this
module too (it imports every module of the suite): hence the guard at the end.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tabulate import tabulate

from .harness import (
    attribution,
    build,
    calibrate,
    callgrind,
    client,
    console,
    results,
    runner,
    scenarios,
    subject,
    sweeper,
    tools,
)
from .harness.article import ARTICLE
from .harness.errors import HarnessError
from .harness.launcher import check_port_free
from .harness.loadgen import GENERATORS
from .harness.loadgen.base import LoadSettings
from .harness.scenarios import ARTICLE_SCENARIOS, AUTO_WORKERS, SCENARIOS, Scenario

DEFAULTS = runner.RunSettings()
# ab -n 1000 lasts 0.05-0.5 s per run here: twenty of each keep the whole article well under three minutes.
ARTICLE_REPEATS = 20


class Progress:
    """Timestamped progress lines on stderr, so long runs show they are alive."""

    def __init__(self, quiet: bool = False) -> None:
        self.start = time.monotonic()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return int(text)


def _workers(text: str) -> int:
    return AUTO_WORKERS if text == "auto" else _positive_int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 3600 or value != int(value):
        raise argparse.ArgumentTypeError(f"must be whole seconds from 1 to 3600 (ab and wrk count whole seconds), "
                                         f"not {text!r}")
    return value


def _whole(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}")
    return int(text)


def _write(path: Path | None, records: Sequence, generators: Sequence[str] = ()) -> None:
    if path is None:
        return
    tools = {name: GENERATORS[name].version() for name in generators}
    results.dump(results.Results(results.environment(tools), tuple(records)), path)
    print(f"results written to {path}", file=sys.stderr)


def _load_settings(args: argparse.Namespace) -> LoadSettings:
    if args.requests is not None:
        return LoadSettings(concurrency=args.concurrency, requests=args.requests, duration_s=None,
                            keepalive=not args.no_keepalive)
    return LoadSettings(concurrency=args.concurrency, duration_s=args.duration, keepalive=not args.no_keepalive)


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    if args.scenario:
        if args.framework or args.workers or args.worker_class or args.threads:
            raise ValueError("give either --scenario or --framework/--server/--workers/..., not both")
        return [scenarios.get(scenario_id) for scenario_id in args.scenario]
    if not args.framework:
        raise ValueError("say what to measure: --framework aiohttp|flask [--server ...], or --scenario ID")
    return [Scenario(args.framework, args.server, workers=args.workers or 1, worker_class=args.worker_class,
                     threads=args.threads or 1)]


def cmd_server(args: argparse.Namespace) -> int:
    try:  # the settings objects refuse bad combinations with ValueError: a usage error here
        chosen = _scenarios(args)
        if args.port and len(chosen) > 1:
            raise ValueError("--port applies to a single scenario")
        settings = runner.RunSettings(load=_load_settings(args), generator=args.load, repeats=args.repeats,
                                      warmup=not args.no_warmup, io_ms=args.io_ms, pin=args.pin)
    except ValueError as error:
        raise HarnessError(str(error)) from None
    subject.check_io_ms([args.io_ms])
    if args.port:
        check_port_free(args.port)  # before any progress line: a busy port is a usage error
    runs = runner.measure(chosen, settings, Progress(args.quiet), port=args.port)
    print(console.server_table(runs))
    _write(args.json, runs, [runs[0].settings["generator"]] if runs else [])
    return 0 if all(run.status == "ok" for run in runs) else 1


def cmd_client(args: argparse.Namespace) -> int:
    try:
        settings = client.ClientSettings(requests=args.requests, delay_ms=args.delay_ms, repeats=args.repeats)
    except ValueError as error:
        raise HarnessError(str(error)) from None
    say = Progress(args.quiet)
    say(f"client strategies: {settings.requests} requests x {settings.delay_ms:g} ms, {settings.repeats} repeats")
    runs = client.run_scenarios(settings)
    print(console.client_table(runs))
    _write(args.json, runs)
    return 0 if all(run.status == "ok" for run in runs) else 1


def cmd_article(args: argparse.Namespace) -> int:
    """The article in one go: its six server scenarios with its ab command (plus repeats), its client side."""
    say = Progress(args.quiet)
    settings = runner.RunSettings(load=ARTICLE.load, generator=args.load, repeats=args.repeats)
    say(f"server side: {len(ARTICLE_SCENARIOS)} scenarios, {ARTICLE.ab()}, warm-up + {args.repeats} "
        "repeats, interleaved")
    server_runs = runner.measure(ARTICLE_SCENARIOS, settings, say)
    batch = replace(ARTICLE.client, delay_ms=args.client_delay_ms, repeats=args.client_repeats)
    say(f"client side: {batch.requests} requests x {batch.delay_ms:g} ms to a local latency server, "
        f"{len(client.STRATEGIES)} strategies")
    client_runs = client.run_scenarios(batch)
    machine = results.environment()["machine"]
    print(f"# The article, re-measured\n\nMachine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs "
          "(shared and noisy: absolute numbers vary by machine and by hour; compare ratios).\n")
    print("## Server side: requests per second (median ± half-width of its 95 % CI)\n")
    print(console.article_server_table(server_runs) + "\n")
    print(console.server_table(server_runs) + "\n")
    print(f"## Client side: {batch.requests} requests\n")
    print(console.client_table(client_runs))
    _write(args.json, [*server_runs, *client_runs], [server_runs[0].settings["generator"]] if server_runs else [])
    return 0 if all(run.status == "ok" for run in [*server_runs, *client_runs]) else 1


def cmd_instructions(args: argparse.Namespace) -> int:
    """Instructions per request (servers, clients) and per call (core), counted under valgrind."""
    try:
        targets = callgrind.check_ids(args.scenario or callgrind.all_ids())
        settings = callgrind.CountSettings(requests=args.requests, repeats=args.repeats)
    except ValueError as error:
        raise HarnessError(str(error)) from None
    say = Progress(args.quiet)
    say(f"counting {len(targets)} target(s) under valgrind, {settings.repeats} repeat(s), "
        f"{settings.jobs} at a time")
    runs = callgrind.measure(targets, settings, say)
    print(console.instructions_table(runs))
    built = runs[0].settings.get("build") if runs else None
    if built:  # the command line measures whatever is installed, the working tree on purpose: it says which
        print(f"\nmeasured {build.Build.from_dict(built).describe()}")
    print(f"\n{runs[0].settings['valgrind'] if runs else ''}; {time.monotonic() - say.start:.0f} s in all "
          "(on this machine: counts do not depend on it, the time does)")
    _write(args.json, runs)
    return 0 if all(run.status == "ok" for run in runs) else 1


def cmd_profile(args: argparse.Namespace) -> int:
    """One target's deterministic profile at what is installed (this checkout, in the project's venv): its top
    functions by their own cost. Two commits' profiles, ranked by their difference: make profile."""
    try:
        (target,) = callgrind.check_ids([args.target])
    except ValueError as error:
        raise HarnessError(str(error)) from None
    say = Progress(args.quiet)
    say(f"profiling {target}: Python functions by bytecode, C functions by instructions (callgrind)")
    data = attribution.profile(target)
    for kind, title, cost in (("python", "Python function", "bytecodes"), ("c", "C function", "instructions")):
        top = sorted(data[kind].items(), key=lambda item: (-item[1]["self"], item[0]))[:args.top]
        print(tabulate([[name, f"{f['calls']:,.1f}", f"{f['self']:,.0f}", f"{f['inclusive']:,.0f}"]
                        for name, f in top],
                       [title, f"calls per {data['unit']}", f"self, {cost}", "with callees"],
                       tablefmt="github", disable_numparse=True) + "\n")
    print(f"{data['instructions_per_unit']:,.0f} instructions per {data['unit']}, and the collector's "
          f"{data['collector_per_unit']:,.0f}; {time.monotonic() - say.start:.0f} s")
    print(f"profiled {build.Build.from_dict(data['build']).describe()}")
    if args.json:
        args.json.write_text(json.dumps(data) + "\n")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Throughput over concurrency x handler wait, and open-loop latency at shares of capacity."""
    try:
        settings = sweeper.SweepSettings(
            scenario_ids=tuple(args.scenario or sweeper.SWEEP_IDS), concurrency=tuple(args.concurrency),
            io_ms=tuple(args.io_ms), repeats=args.repeats, open_loop_s=args.open_loop_seconds,
            open_loop_ids=tuple(args.open_loop_scenario or sweeper.SweepSettings.open_loop_ids))
    except ValueError as error:
        raise HarnessError(str(error)) from None
    subject.check_io_ms(settings.io_ms)
    say = Progress(args.quiet)
    records: list = []
    if not args.no_grid:
        grid = sweeper.grid(settings, say)
        print(console.sweep_table(grid) + "\n")
        records += grid
    if not args.no_open_loop:
        measured = sweeper.open_loop(settings, say)
        print(console.openloop_table([r for r in measured if isinstance(r, results.OpenLoopRun)]))
        records += measured
    _write(args.json, records, ["wrk"])
    bad = sweeper.failed(records)
    if bad:
        print(f"{len(bad)} point(s) failed verification: {', '.join(sorted(set(bad)))}", file=sys.stderr)
    return 1 if bad else 0


def _int_list(text: str) -> list[int]:
    try:
        return [int(item) for item in text.split(",") if item]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, not {text!r}") from None


def cmd_scenarios(args: argparse.Namespace) -> int:
    for scenario in SCENARIOS.values():
        print(f"{scenario.id:26} {scenario.framework:8} {scenario.label}")
    print("\nalso counted by `instructions`: " + ", ".join(
        target for target in callgrind.all_ids() if target not in SCENARIOS))
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments get one line on stderr (not the whole usage) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _output(command: argparse.ArgumentParser) -> None:
    command.add_argument("--json", type=Path, metavar="FILE", help="write the results here")
    command.add_argument("--quiet", action="store_true", help="no progress lines")


def _add_server(commands) -> None:
    server = commands.add_parser("server", help="measure one or more server scenarios (interleaved)")
    what = server.add_argument_group("what to serve")
    what.add_argument("--scenario", action="append", metavar="ID",
                      help=f"a scenario id (repeat to compare several): {', '.join(SCENARIOS)}")
    what.add_argument("--framework", choices=("aiohttp", "flask"))
    what.add_argument("--server", choices=("dev", "gunicorn"), default="dev")
    what.add_argument("--workers", type=_workers, help="gunicorn workers, or 'auto' for 2 x cores + 1")
    what.add_argument("--worker-class", help="gunicorn worker class")
    what.add_argument("--threads", type=_positive_int, help="gunicorn gthread threads per worker")
    what.add_argument("--port", type=_positive_int, help="serve on this port (default: a free one)")
    how = server.add_argument_group("how to load it")
    how.add_argument("--load", choices=("auto", *GENERATORS), default="auto",
                     help="load generator (auto: wrk, else ab, else the built-in one)")
    how.add_argument("--repeats", type=_positive_int, default=DEFAULTS.repeats)
    size = how.add_mutually_exclusive_group()
    size.add_argument("--duration", type=_seconds, default=DEFAULTS.load.duration_s, help="seconds per run")
    size.add_argument("--requests", type=_positive_int, help="requests per run, instead of a duration")
    how.add_argument("--concurrency", type=_positive_int, default=DEFAULTS.load.concurrency,
                     help="default %(default)s")
    how.add_argument("--no-keepalive", action="store_true", help="a new connection for every request")
    how.add_argument("--io-ms", type=_whole, default=0, help="the handler waits this long (simulated I/O; the "
                     "app's limit applies)")
    how.add_argument("--pin", action="store_true", help="pin server to CPU 0, generator to CPU 1")
    how.add_argument("--no-warmup", action="store_true")
    _output(server)
    server.set_defaults(func=cmd_server)


def _add_article(commands) -> None:
    batch = ARTICLE.client
    client_side = commands.add_parser("client", help="time the article's client batch to a slow local server, "
                                      "five ways")
    client_side.add_argument("--delay-ms", type=float, default=batch.delay_ms, help="default %(default)s")
    client_side.add_argument("--requests", type=_positive_int, default=batch.requests, help="default %(default)s")
    client_side.add_argument("--repeats", type=_positive_int, default=batch.repeats)
    _output(client_side)
    client_side.set_defaults(func=cmd_client)

    article = commands.add_parser("article", help="the article's two tables, re-measured, beside its figures")
    article.add_argument("--repeats", type=_positive_int, default=ARTICLE_REPEATS,
                         help="repeats of each ab run (default %(default)s)")
    article.add_argument("--client-repeats", type=_positive_int, default=batch.repeats)
    article.add_argument("--client-delay-ms", type=float, default=batch.delay_ms,
                         help="the latency server's delay (default %(default)s)")
    article.add_argument("--load", choices=("ab", "builtin"), default="ab")
    _output(article)
    article.set_defaults(func=cmd_article)


def _add_counting(commands) -> None:
    count = commands.add_parser("instructions", help="instructions per request and per call, under valgrind")
    count.add_argument("--scenario", action="append", metavar="ID",
                       help="a server scenario id, client:STRATEGY or core:FUNCTION (repeat for several; default: "
                            "all of them, listed by `scenarios`)")
    count.add_argument("--requests", type=_positive_int,
                       help="requests in every server's counting window (default: as many as make up about "
                            f"{callgrind.CountSettings.window_instructions:,} instructions)")
    count.add_argument("--repeats", type=_positive_int, default=1, help="counts of each, in fresh processes")
    _output(count)
    count.set_defaults(func=cmd_instructions)

    prof = commands.add_parser("profile", help="where a target's instructions go: Python functions by bytecode, "
                               "C functions by symbol (deterministic; two commits: make profile)")
    prof.add_argument("target", help="a server scenario id, client:STRATEGY or core:FUNCTION (see instructions)")
    prof.add_argument("--top", type=_positive_int, default=10)
    _output(prof)
    prof.set_defaults(func=cmd_profile)


def _add_sweep(commands) -> None:
    swept = commands.add_parser("sweep", help="where async overtakes sync: throughput over connections x "
                                "handler wait, and open-loop latency")
    swept.add_argument("--scenario", action="append", metavar="ID", help="sweep scenarios (default: "
                       f"{', '.join(sweeper.SWEEP_IDS)})")
    swept.add_argument("--concurrency", type=_int_list, default=list(sweeper.CONCURRENCY), metavar="N,N,...")
    swept.add_argument("--io-ms", type=_int_list, default=list(sweeper.IO_MS), metavar="MS,MS,...")
    swept.add_argument("--repeats", type=_positive_int, default=sweeper.SweepSettings.repeats)
    swept.add_argument("--open-loop-scenario", action="append", metavar="ID",
                       help="open-loop scenarios (default: the article's six)")
    swept.add_argument("--open-loop-seconds", type=_positive_int, default=sweeper.SweepSettings.open_loop_s)
    swept.add_argument("--no-grid", action="store_true", help="only the open-loop latency")
    swept.add_argument("--no-open-loop", action="store_true", help="only the throughput grid")
    _output(swept)
    swept.set_defaults(func=cmd_sweep)


def _add_machine(commands) -> None:
    calib = commands.add_parser("calibrate", help="generator headroom, spread per scenario, start-up times")
    calibrate.add_arguments(calib)
    calib.set_defaults(func=calibrate.cmd_calibrate)
    commands.add_parser("scenarios", help="list the server scenarios").set_defaults(func=cmd_scenarios)
    needed = commands.add_parser("tools", help="one warning line per measuring tool that is missing (ab, wrk, "
                                 "valgrind, cc); --install: apt-get them first, as root or with passwordless sudo")
    needed.add_argument("--install", action="store_true")
    needed.add_argument("--quiet", action="store_true", help="no warnings (make bench prints them at its end)")
    needed.set_defaults(func=cmd_tools)
    recorded = commands.add_parser("provenance", help="record the asv suite's settings on this machine")
    recorded.add_argument("--json", type=Path, required=True, metavar="FILE")
    recorded.set_defaults(func=cmd_provenance)


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m benchmarks", description="The instrument: measure server scenarios, "
                           "client strategies, the article, instruction counts and the sweep.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_server, _add_article, _add_counting, _add_sweep, _add_machine):
        add(commands)
    return parser


def cmd_provenance(args: argparse.Namespace) -> int:
    from . import provenance  # the suite's modules: imported by the one command that needs them

    provenance.write(args.json)
    return 0


def cmd_tools(args: argparse.Namespace) -> int:
    if args.install:
        tools.install(tools.missing())
    for tool in [] if args.quiet else tools.missing():
        print(tool.warning(), file=sys.stderr)
    return 0  # what a missing tool leaves unmeasured is recorded as such; it is not an error


def _terminate(signum, frame) -> None:
    # SIGTERM unwinds like Ctrl-C, so that every server is stopped by its context manager.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except HarnessError as error:
        print(f"python -m benchmarks: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("python -m benchmarks: interrupted; servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
