"""The sweep in asv's history: p99 latency at half capacity (open loop), and the aiohttp / Flask throughput
ratio at the corners of the sweep's map, so that the history shows whether a change moves the crossover.

Wall-clock measures on a shared machine: advisory. They are ``track_*`` values, which ``make compare`` marks ``~``
at most and never counts as a regression. They take minutes, so they run only when ``PLANET_TRACKER_SWEEP=1``
is set (``PLANET_TRACKER_SWEEP=1 make bench BENCH=sweep`` records them for HEAD); otherwise ``setup`` raises
NotImplementedError and asv records them as skipped, which keeps ``make bench`` and every CI leg as fast as before.
"""

import math
import os

from benchmarks import common
from benchmarks.harness import sweeper

ENABLED = os.environ.get("PLANET_TRACKER_SWEEP") == "1"
# Of what is measured and how: bump it when that changes, and the history starts again. 2: the open loop's server
# on one CPU and its own generator on the other (k6 before), capacity measured the same way.
VERSION = "2"
CORNERS = {f"{c} x {ms} ms": (c, ms) for ms in (sweeper.IO_MS[0], sweeper.IO_MS[-1])
           for c in (sweeper.CONCURRENCY[0], sweeper.CONCURRENCY[-1])}


class SweepBenchmark:
    timeout = 1200.0

    def setup(self, cache, *params):
        if not ENABLED:
            raise NotImplementedError("set PLANET_TRACKER_SWEEP=1 to run the sweep benchmarks")

    @staticmethod
    def _value(cache, key):
        value = cache[key]
        if isinstance(value, str) or math.isnan(value):
            raise RuntimeError(f"{key}: {value}")  # recorded by asv as failed, never as a number
        return value


class OpenLoopLatency(SweepBenchmark):
    """p99 latency in ms, from each request's scheduled start, at 50 % of the scenario's measured capacity."""

    params = [common.ARTICLE_IDS]
    param_names = ["scenario"]

    def setup_cache(self):
        if not ENABLED:
            return {}
        settings = sweeper.SweepSettings(shares=(0.5,))
        runs = [r for r in sweeper.open_loop(settings) if r.kind == "openloop"]
        return {r.id: r.result.latency_ms["99"] if r.status == "ok" else f"{r.status}: {r.reason}" for r in runs}

    def track_p99_at_half_capacity(self, cache, scenario):
        return self._value(cache, scenario)

    track_p99_at_half_capacity.unit = "ms"
    track_p99_at_half_capacity.version = VERSION


class CornerRatio(SweepBenchmark):
    """aiohttp / Flask throughput (best server of each) at a corner of the map: connections x handler wait."""

    params = [list(CORNERS)]
    param_names = ["corner"]

    def setup_cache(self):
        if not ENABLED:
            return {}
        ratios = {}
        for corner, (concurrency, io_ms) in CORNERS.items():
            settings = sweeper.SweepSettings(concurrency=(concurrency,), io_ms=(io_ms,))
            ratios[corner] = sweeper.best_ratio(sweeper.grid(settings))
        return ratios

    def track_aiohttp_over_flask(self, cache, corner):
        return self._value(cache, corner)

    track_aiohttp_over_flask.unit = "ratio"
    track_aiohttp_over_flask.version = VERSION
