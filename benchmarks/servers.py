"""Every server scenario under the article's load, with asv's statistics.

asv treats a higher number as worse, so throughput is recorded as the seconds one batch of the article's load
(``harness.article``) takes (requests / req/s): lower is better, and each sample is one batch, so ``asv compare``
and ``asv continuous`` can apply their significance test. (What a request costs the server's CPU is counted
exactly by ``instructions``.)
"""

from benchmarks import common
from benchmarks.harness.article import ARTICLE


class ServerThroughput(common.ServerBenchmark):
    """Seconds per batch of the article's load (its ab -k -c -n), keep-alive on."""

    params = [common.SCENARIO_IDS]
    param_names = ["scenario"]

    def time_batch(self, scenario):
        common.load(self.server, ARTICLE.path, common.BATCH)
