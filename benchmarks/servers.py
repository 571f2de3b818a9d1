"""Every server scenario under the article's load: throughput (with asv's statistics), tail latency, CPU cost.

asv treats a higher number as worse, for ``track_*`` too, so throughput is recorded as the seconds one batch of
the article's ``ab -k -c 20 -n 1000`` takes (1000 / req/s): lower is better, and each sample is one batch,
so ``asv compare`` and ``asv continuous`` can apply their significance test.
"""

from benchmarks import common
from benchmarks.harness import runner
from benchmarks.harness.loadgen.base import LoadSettings
from benchmarks.harness.scenarios import SCENARIOS


class ServerThroughput(common.ServerBenchmark):
    """Seconds per batch of 1000 requests, 20 at a time, keep-alive on (as the article's ab -k)."""

    params = [common.SCENARIO_IDS]
    param_names = ["scenario"]

    def setup(self, scenario):
        self.server = common.server_for(scenario)

    def time_batch(self, scenario):
        common.load(self.server, runner.PLANET_PATH, common.BATCH)


class ServerCost:
    """Tail latency and CPU cost per request, from one verified protocol run of every scenario.

    The measurement runs once, in ``setup_cache`` (whose result asv pickles: numbers only, no live server):
    every server is started and loaded for one verified 1-second wrk run. One run per commit, as asv's
    ``track_*`` records one value: read these as a trend, the throughput benchmarks carry the statistics.
    """

    params = [common.SCENARIO_IDS]
    param_names = ["scenario"]
    timeout = 300.0

    def setup_cache(self):
        settings = runner.RunSettings(load=LoadSettings(concurrency=20, duration_s=1), repeats=1, warmup=False)
        runs = runner.measure([SCENARIOS[scenario_id] for scenario_id in common.SCENARIO_IDS], settings)
        return {run.id: run.summary() if run.status == "ok" else run.reason for run in runs}

    def _summary(self, cache, scenario):
        summary = cache[scenario]
        if isinstance(summary, str):
            raise RuntimeError(f"{scenario} failed: {summary}")
        return summary

    def track_p99_latency(self, cache, scenario):
        return self._summary(cache, scenario)["latency_ms"]["99"]

    track_p99_latency.unit = "ms"

    def track_cpu_per_request(self, cache, scenario):
        return self._summary(cache, scenario)["server_cpu_per_request_ms"]["median"]

    track_cpu_per_request.unit = "ms"
