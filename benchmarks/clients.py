"""The article's client side: 100 requests to a slow server, sequentially, in threads, or with asyncio.gather.

The local latency server answers after 10 ms (the article's remote site took ~130 ms; 10 ms keeps the
sequential batch at about a second per sample while the ratios between strategies stay the same).
"""

from benchmarks import common
from benchmarks.harness import client

SETTINGS = client.ClientSettings(requests=100, delay_ms=10.0)


class ClientStrategies:
    """Wall seconds for 100 checked requests, each answered after 10 ms."""

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
