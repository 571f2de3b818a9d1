"""The article's settings, defined once: its request, the instant the counts fix, its load, its client batch and
the rows of its tables.

Whatever measures "the article" takes them from here: the asv suite's batches, the command line's defaults, the
instructions channel, and the provenance record the reports read (so the reports print what was run, never a
copy). A variant is ``dataclasses.replace`` of one of them, e.g. the same load without keep-alive. The subject's own
limits (which planets, how long a handler may wait) stay in the subject: the harness asks it for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .client import ClientSettings
from .loadgen.base import LoadSettings
from .scenarios import ARTICLE_SCENARIOS, Pair

FIGURES = Path(__file__).with_name("article_figures.json")  # the article's own numbers


@dataclass(frozen=True)
class Article:
    path: str  # the request
    when: str  # the instant at which the instructions channel asks it
    load: LoadSettings  # one batch
    client: ClientSettings  # the client side's batch
    rows: tuple[Pair, ...]  # its server table: key in article_figures.json, label, aiohttp, flask
    client_rows: dict[str, str]  # client strategy -> its key in article_figures.json

    @property
    def fixed_path(self) -> str:
        """The request at a fixed instant: every answer is the same bytes, so what a request executes does not
        change with the clock. Counting instructions needs that; timing does not, and keeps "now"."""
        return f"{self.path}&when={self.when}"

    def waiting(self, io_ms: int) -> str:
        """The request with the handler waiting ``io_ms`` for a simulated downstream call."""
        return self.path + (f"&io_ms={io_ms}" if io_ms else "")

    def ab(self) -> str:
        """The load as the article's ab command line reads."""
        return f"ab {'-k ' if self.load.keepalive else ''}-c {self.load.concurrency} -n {self.load.requests}"

    @staticmethod
    def figures() -> dict:
        return json.loads(FIGURES.read_text())


_LABELS = (("development", "Development server"), ("gunicorn", "gunicorn"), ("gunicorn_w4", "gunicorn -w 4"))
ARTICLE = Article(
    path="/planets/mars?lon=145.051&lat=-39.754&elevation=0",  # Mars, seen from Melbourne
    when="2018-11-26T10:00:00Z",  # the article's day
    load=LoadSettings(concurrency=20, requests=1000, duration_s=None, keepalive=True),  # ab -k -c 20 -n 1000
    # 100 requests, as the article's; answered after 10 ms (its remote site took ~130 ms; 10 ms keeps the sequential
    # batch near a second while the ratios between strategies stay the same).
    client=ClientSettings(requests=100, delay_ms=10.0, repeats=3),
    rows=tuple(Pair(key, label, aiohttp, flask) for (key, label), aiohttp, flask
               in zip(_LABELS, ARTICLE_SCENARIOS[::2], ARTICLE_SCENARIOS[1::2], strict=True)),
    client_rows={"requests-sequential": "requests_sequential", "requests-threads-10": "requests_threads_10",
                 "requests-threads-20": "requests_threads_20", "aiohttp-gather": "aiohttp_gather"},
)
