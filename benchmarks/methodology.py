"""The axes that can change the verdict "async is faster", for the article's six scenarios.

Each is measured like ``servers.ServerThroughput`` (seconds per batch; lower is better), with one setting
changed: keep-alive off (a new connection per request, for every server alike), or a handler that waits
20 ms for a simulated downstream call (``io_ms``), where an event loop can overlap the waits and a sync
worker cannot.
"""

from dataclasses import replace

from benchmarks import common
from benchmarks.harness.article import ARTICLE

IO_MS = 20
# With 20 ms waits a single sync worker manages ~50 req/s: a smaller batch keeps a sample near 1 s.
IO_BATCH = replace(ARTICLE.load, requests=50)
NO_KEEPALIVE_BATCH = replace(ARTICLE.load, keepalive=False)


class KeepAliveOff(common.ServerBenchmark):
    """Seconds per batch of the article's load when every request opens a new connection."""

    params = [common.ARTICLE_IDS]
    param_names = ["scenario"]
    # Half the article table's rounds: these ratios get intervals too, but no target, within make bench's 4 min.
    repeat = (4, 4, 60.0)
    rounds = 2

    def time_batch(self, scenario):
        common.load(self.server, ARTICLE.path, NO_KEEPALIVE_BATCH)


class IOBound(common.ServerBenchmark):
    """Seconds per batch of 50 requests when the handler also waits IO_MS (I/O-bound rather than CPU-bound)."""

    params = [common.ARTICLE_IDS]
    param_names = ["scenario"]
    repeat = (3, 3, 60.0)
    rounds = 2
    path = ARTICLE.waiting(IO_MS)

    def time_batch(self, scenario):
        common.load(self.server, self.path, IO_BATCH)
