"""Every server scenario under the article's load, with asv's statistics.

asv treats a higher number as worse, so throughput is recorded as the seconds one batch of the article's
``ab -k -c 20 -n 1000`` takes (1000 / req/s): lower is better, and each sample is one batch, so ``asv compare``
and ``asv continuous`` can apply their significance test. (What a request costs the server's CPU is counted
exactly by ``instructions``.)
"""

from benchmarks import common
from benchmarks.harness import runner


class ServerThroughput(common.ServerBenchmark):
    """Seconds per batch of 1000 requests, 20 at a time, keep-alive on (as the article's ab -k)."""

    params = [common.SCENARIO_IDS]
    param_names = ["scenario"]

    def time_batch(self, scenario):
        common.load(self.server, runner.PLANET_PATH, common.BATCH)
