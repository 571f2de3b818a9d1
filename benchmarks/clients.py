"""The article's client side: its batch of requests to a slow local server (``harness.article``), sequentially,
in threads, or with asyncio.gather.
"""

from benchmarks import common
from benchmarks.harness import client
from benchmarks.harness.article import ARTICLE

SETTINGS = ARTICLE.client


class ClientStrategies:
    """Wall seconds for the article's batch of checked requests, each answered after a delay."""

    params = [list(client.STRATEGIES)]
    param_names = ["strategy"]
    number = 1
    repeat = (3, 3, 60.0)  # exactly 3 a round, so that speed-ups pair the strategies round by round
    rounds = 2
    warmup_time = 0.0
    timeout = 120.0

    def setup(self, strategy):
        self.url = common.kept("latency", lambda: client.latency_server(SETTINGS)).url(client.DELAY_PATH)

    def time_batch(self, strategy):
        client.run_strategy(strategy, self.url, SETTINGS)
