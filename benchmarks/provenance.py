"""What the asv suite runs on this machine, recorded for the reports: ``python -m benchmarks provenance``.

The reports turn batch times into requests per second, compare client strategies with their floor, and lay out
the article's table: every setting they need for that is read from this record, which the suite writes from its
own definitions, never from a copy. ``make bench``, ``make history`` and the measuring legs of CI write it to
``.asv/provenance/<machine>.json`` (and CI keeps it on the asv-results branch, beside the results). Its schema
and version are ``formats.PROVENANCE``:

    {"schema", "version", "environment": {...},
     "load": {"batch": {"generator", "version", "argv"}},
     "suite": {"concurrency", "keepalive", "io_ms", "pinned", "batch_requests": {benchmark: requests},
               "client": {"requests", "delay_ms", "concurrency": {strategy: n}},
               "repeats": {benchmark: {"rounds", "repeat"}}},
     "benchmarks": {role: benchmark name},
     "pairs": [{"key", "label", "aiohttp", "flask"}],  # the settings beyond the article's
     "article": {"rows": [{"key", "label", "aiohttp", "flask"}], "client": {strategy: key in the figures},
                 "figures": the article's own numbers},
     "missing": [{"command", "install", "without"}]}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks import clients, common, instructions, methodology, servers
from benchmarks.harness import client, results, tools
from benchmarks.harness.article import ARTICLE
from benchmarks.harness.formats import PROVENANCE
from benchmarks.harness.loadgen import preferred
from benchmarks.harness.scenarios import EXTRA_PAIRS

# The batch benchmarks and what each batch is (the core's benchmarks import the app: not this module's to load).
BATCHES = {servers.ServerThroughput: common.BATCH, methodology.KeepAliveOff: methodology.NO_KEEPALIVE_BATCH,
           methodology.IOBound: methodology.IO_BATCH}
# The benchmarks the reports lay out, by the role they play there.
ROLES = {"throughput": (servers.ServerThroughput, "time_batch"),
         "instructions": (instructions.ServerInstructions, "track_instructions_per_request"),
         "keepalive_off": (methodology.KeepAliveOff, "time_batch"), "io_bound": (methodology.IOBound, "time_batch"),
         "clients": (clients.ClientStrategies, "time_batch")}


def name(cls: type, method: str = "time_batch") -> str:
    """A benchmark's name as asv records it: module.Class.method."""
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}.{method}"


def record() -> dict:
    generator = preferred(fixed_count=True)
    url = "http://127.0.0.1:{port}" + ARTICLE.path
    settings = clients.SETTINGS
    return PROVENANCE.stamp({
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
        "benchmarks": {role: name(cls, method) for role, (cls, method) in ROLES.items()},
        "pairs": [pair.to_dict() for pair in EXTRA_PAIRS],
        "article": {"rows": [row.to_dict() for row in ARTICLE.rows], "client": ARTICLE.client_rows,
                    "figures": ARTICLE.figures()},
        # What this machine lacks, and so what the suite does not measure here (the reports name it).
        "missing": [{"command": tool.command, "install": tool.install, "without": tool.without}
                    for tool in tools.missing()],
    })


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record(), indent=1) + "\n")
    print(f"provenance written to {path}", file=sys.stderr)
