"""What the asv suite runs on this machine, recorded for the reports: ``python -m benchmarks provenance``.

The reports turn batch times into requests per second, compare client strategies with their floor, and lay out
the article's table: every setting they need for that is read from this record, which the suite writes from its
own definitions, never from a copy. ``make bench``, ``make history`` and the measuring legs of CI write it to
``.asv/provenance/<machine>.json`` (and CI keeps it on the asv-results branch, beside the results).

    {"schema": "planet-tracker-provenance", "version": 2, "environment": {...},
     "load": {"batch": {"generator", "version", "argv"}},
     "suite": {"concurrency", "keepalive", "io_ms", "pinned", "batch_requests": {benchmark: requests},
               "client": {"requests", "delay_ms", "concurrency": {strategy: n}},
               "repeats": {benchmark: {"rounds", "repeat"}}},
     "article": {"rows": [{"key", "label", "aiohttp", "flask"}], "client": {strategy: key in the figures}},
     "missing": [{"command", "install", "without"}]}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import clients, common, methodology, servers
from benchmarks.harness import client, results, runner, tools
from benchmarks.harness.loadgen import preferred
from benchmarks.harness.scenarios import ARTICLE_ROWS

SCHEMA, VERSION = "planet-tracker-provenance", 2
# The batch benchmarks and what each batch is (the core's benchmarks import the app: not this module's to load).
BATCHES = {servers.ServerThroughput: common.BATCH, methodology.KeepAliveOff: methodology.NO_KEEPALIVE_BATCH,
           methodology.IOBound: methodology.IO_BATCH}


def name(cls: type, method: str = "time_batch") -> str:
    """A benchmark's name as asv records it: module.Class.method."""
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}.{method}"


def record() -> dict:
    generator = preferred(fixed_count=True)
    url = "http://127.0.0.1:{port}" + runner.PLANET_PATH
    settings = clients.SETTINGS
    return {
        "schema": SCHEMA, "version": VERSION,
        "environment": results.environment({generator.name: generator.version()}),
        "load": {"batch": {"generator": generator.name, "version": generator.version(),
                           "argv": generator.command(url, common.BATCH)}},
        "suite": {
            "concurrency": common.BATCH.concurrency, "keepalive": common.BATCH.keepalive,
            "io_ms": methodology.IO_MS, "pinned": False,
            "batch_requests": {name(cls): batch.requests for cls, batch in BATCHES.items()},
            "client": {"requests": settings.requests, "delay_ms": settings.delay_ms,
                       "concurrency": {strategy.id: strategy.concurrency(settings.requests)
                                       for strategy in client.STRATEGIES.values()}},
            "repeats": {name(cls): {"rounds": cls.rounds, "repeat": list(cls.repeat)}
                        for cls in (*BATCHES, clients.ClientStrategies)},
        },
        "article": {"rows": list(ARTICLE_ROWS), "client": client.ARTICLE_CLIENT},
        # What this machine lacks, and so what the suite does not measure here (the reports name it).
        "missing": [{"command": tool.command, "install": tool.install, "without": tool.without}
                    for tool in tools.missing()],
    }


def cmd_provenance(args: argparse.Namespace) -> int:
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record(), indent=1) + "\n")
    print(f"provenance written to {args.json}", file=sys.stderr)
    return 0


def add_command(commands: argparse._SubParsersAction) -> None:
    """The ``provenance`` command, added to the harness's command line by ``python -m benchmarks``."""
    command = commands.add_parser("provenance", help="record the asv suite's settings on this machine")
    command.add_argument("--json", type=Path, required=True, metavar="FILE")
    command.set_defaults(func=cmd_provenance)
