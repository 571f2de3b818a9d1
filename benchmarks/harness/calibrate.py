"""``python -m benchmarks calibrate``: how far the instrument can be trusted on this machine.

Prints (and writes with ``--json``) three things docs/measured.md quotes:

1. start-to-ready time of every scenario (median of several starts);
2. the spread of req/s per scenario under the default protocol (CV over the repeats and the half-width of the
   median's 95 % CI), beside the spread of the article's naive protocol (single runs of its ab command);
3. generator headroom: each generator's maximum rate against the fastest server that runs here (nginx when
   installed, else the aiohttp app's /healthz), divided by the fastest scenario's rate.

It is a measurement, not a test: it takes minutes and prints figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from . import console, results, runner
from .article import ARTICLE
from .errors import ToolMissing
from .launcher import Server, ServerSpec, free_port, launch
from .loadgen import GENERATORS
from .loadgen.base import require, run_load
from .scenarios import ARTICLE_SCENARIOS, SCENARIOS, Scenario

NGINX_CONF = """daemon off; master_process off; worker_processes 1; pid {tmp}/nginx.pid; error_log stderr;
events {{ worker_connections 1024; }}
http {{
  access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; location / {{ default_type application/json; return 200 '{{"ok":true}}'; }} }}
}}
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--starts", type=int, default=5, help="starts per scenario for start-to-ready time")
    parser.add_argument("--scenarios", choices=("article", "all"), default="all")
    parser.add_argument("--headroom-seconds", type=int, default=5)
    parser.add_argument("--skip-spread", action="store_true", help="only start times and headroom")
    parser.add_argument("--json", type=Path, metavar="FILE")


def ready_times(scenarios: list[Scenario], starts: int, say) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for scenario in scenarios:
        times[scenario.id] = []
        for _ in range(starts):
            with Server(scenario.spec()) as server:
                times[scenario.id].append(server.ready_s)
        say(f"{scenario.id}: ready in {statistics.median(times[scenario.id]):.2f} s (median of {starts})")
    return times


def naive_spread(say) -> dict[str, dict]:
    """The article's protocol: one run of its ab command per try, no warm-up; five tries per scenario."""
    settings = runner.RunSettings(load=ARTICLE.load, generator="ab", repeats=5, warmup=False, max_reruns=0)
    runs = runner.measure(list(ARTICLE_SCENARIOS), settings, say)
    return {run.id: run.summary.requests_per_s for run in runs if run.status == "ok"}


def _fastest_server(tmp: str) -> tuple[Server, str]:
    """nginx answering a constant from memory when installed (the loopback ceiling), else aiohttp's /healthz."""
    if shutil.which("nginx"):
        port = free_port()
        conf = Path(tmp, "nginx.conf")
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
        return Server(ServerSpec(("nginx", "-c", str(conf), "-e", "stderr")), port=port), "nginx (static answer)"
    scenario = SCENARIOS["aiohttp-dev"]
    return launch(scenario.spec().argv), "aiohttp development server, /healthz (nginx not installed)"


def headroom(seconds: int, say) -> tuple[str, dict[str, float]]:
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server, label = _fastest_server(tmp)
        with server:
            for name, generator in GENERATORS.items():
                try:
                    require(generator)
                except ToolMissing as error:  # reported, not fatal, here
                    say(f"{name}: {error}")
                    continue
                settings = replace(runner.DEFAULT_LOAD, duration_s=seconds)
                best = max(run_load(generator, server.url("/healthz"), settings).requests_per_s for _ in range(3))
                rates[name] = best
                say(f"{name}: up to {best:,.0f} req/s against {label}")
    return label, rates


def spread(chosen: list[Scenario], say) -> tuple[list, dict]:
    """Each scenario under the default protocol, one at a time (as `server --scenario ID` runs it), the
    multi-worker ones again without keep-alive; and the article's naive protocol."""
    say("== spread under the default protocol, one scenario at a time (as `server --scenario ID` runs it)")
    runs = [run for scenario in chosen for run in runner.measure([scenario], runner.RunSettings(), say)]
    say("== the same for the multi-worker scenarios with a new connection per request")
    no_keepalive = runner.RunSettings(load=replace(runner.DEFAULT_LOAD, keepalive=False))
    runs += [replace(run, scenario={**run.scenario, "id": run.id + " (no keep-alive)"})
             for scenario in chosen if scenario.resolved_workers > 1
             for run in runner.measure([scenario], no_keepalive, say)]
    say(f"== spread under the article's protocol (single {ARTICLE.ab()} runs, no warm-up)")
    return runs, naive_spread(say)


def cmd_calibrate(args: argparse.Namespace) -> int:
    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    chosen = list(ARTICLE_SCENARIOS) if args.scenarios == "article" else list(SCENARIOS.values())
    report: dict = {"environment": results.environment(), "protocol": runner.RunSettings().to_dict(
        runner.choose_generator("auto", runner.RunSettings().load))}
    say("== start-to-ready time")
    report["ready_s"] = ready = ready_times(chosen, args.starts, say)
    runs, naive = spread(chosen, say) if not args.skip_spread else ([], {})
    report["default"] = [run.to_dict() for run in runs]
    report["naive"] = {scenario: summary.to_dict() for scenario, summary in naive.items()}
    fastest = max((run.summary.requests_per_s.median for run in runs if run.status == "ok"), default=0.0)
    say("== generator headroom")
    label, rates = headroom(args.headroom_seconds, say)
    report["headroom"] = {"server": label, "max_rates": rates, "fastest_scenario_rate": fastest}

    machine = report["environment"]["machine"]
    print(f"Machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs (shared, noisy)\n")
    print(console.calibration_table(runs, naive, ready) + "\n")
    print(console.headroom_table(rates, label, fastest))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, allow_nan=True) + "\n")
    return 0
