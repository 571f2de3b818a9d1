"""The asv suite's settings, as the suite recorded them (``python -m benchmarks provenance``): the names of its
benchmarks, how many requests a batch holds, the client batch, the article's rows and figures. The reports read
them here and keep no copy, so that a change to the suite cannot make a report print wrong numbers.

The record's format (schema and version) is ``formats.PROVENANCE``'s, the one contract its writer and the reports
share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import benchmarks.harness.formats as formats

from .errors import ReportError


@dataclass(frozen=True)
class Pair:
    """aiohttp against Flask under one setting."""

    key: str  # for the article's rows, the key in its figures
    label: str
    aiohttp: str  # scenario ids
    flask: str


@dataclass(frozen=True)
class Suite:
    benchmarks: dict[str, str]  # the reports' name for a benchmark ("throughput", ...) -> the suite's name
    batch_requests: dict[str, int]  # benchmark name -> requests in one batch
    concurrency: int  # connections of the throughput batches
    io_ms: int  # how long the I/O-bound handler waits
    client_requests: int
    client_delay_s: float
    client_concurrency: dict[str, int]  # strategy -> requests in flight
    article_rows: tuple[Pair, ...]
    pairs: tuple[Pair, ...]  # the settings beyond the article's
    article_client: dict[str, str]  # strategy -> key in the article's client figures
    figures: dict  # the article's published figures
    record: dict  # the whole record, for the provenance the summary prints
    missing: tuple[dict, ...] = ()  # the measuring tools this machine lacks: {"command", "install", "without"}

    @classmethod
    def from_record(cls, data: dict) -> Suite:
        try:
            formats.PROVENANCE.check(data, "the suite's settings")
        except formats.FormatError as error:
            raise ReportError(str(error)) from None
        suite, client, article = data["suite"], data["suite"]["client"], data["article"]
        return cls(benchmarks=dict(data["benchmarks"]), batch_requests=dict(suite["batch_requests"]),
                   concurrency=int(suite["concurrency"]), io_ms=int(suite["io_ms"]),
                   client_requests=int(client["requests"]), client_delay_s=float(client["delay_ms"]) / 1000,
                   client_concurrency=dict(client["concurrency"]),
                   article_rows=tuple(Pair(**row) for row in article["rows"]),
                   pairs=tuple(Pair(**pair) for pair in data["pairs"]),
                   article_client=dict(article["client"]), figures=dict(article["figures"]), record=data,
                   missing=tuple(data.get("missing", ())))

    def lacks(self, *commands: str) -> dict | None:
        """The first of these tools this machine lacks, or None."""
        return next((tool for tool in self.missing if tool["command"] in commands), None)

    @classmethod
    def load(cls, path: Path) -> Suite:
        if not path.exists():
            raise ReportError(f"the suite's settings are not recorded for this machine ({path} is missing): run "
                              "`make provenance`, or publish the history with its provenance/")
        try:
            data = formats.PROVENANCE.load(path)
        except formats.FormatError as error:
            raise ReportError(str(error)) from None
        try:
            return cls.from_record(data)
        except (KeyError, TypeError) as error:
            raise ReportError(f"the suite's settings in {path} lack {error}") from None
