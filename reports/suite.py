"""The asv suite's settings, as the suite recorded them (``python -m benchmarks provenance``): how many requests a
batch holds, the client batch, the article's rows. The reports read them here and keep no copy, so that a change
to the suite cannot make a report print wrong numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ReportError

SCHEMA, VERSION = "planet-tracker-provenance", 2


@dataclass(frozen=True)
class ArticleRow:
    key: str  # in article_figures.json
    label: str
    aiohttp: str  # scenario ids
    flask: str


@dataclass(frozen=True)
class Suite:
    batch_requests: dict[str, int]  # benchmark name -> requests in one batch
    client_requests: int
    client_delay_s: float
    client_concurrency: dict[str, int]  # strategy -> requests in flight
    article_rows: tuple[ArticleRow, ...]
    article_client: dict[str, str]  # strategy -> key in article_figures.json
    record: dict  # the whole record, for the provenance the summary prints
    missing: tuple[dict, ...] = ()  # the measuring tools this machine lacks: {"command", "install", "without"}

    @classmethod
    def from_record(cls, data: dict) -> Suite:
        if data.get("schema") != SCHEMA or data.get("version") != VERSION:
            raise ReportError(f"the suite's settings are recorded as {data.get('schema')!r} version "
                              f"{data.get('version')!r}, not {SCHEMA} version {VERSION}: run `make provenance`")
        suite, client = data["suite"], data["suite"]["client"]
        return cls(batch_requests=dict(suite["batch_requests"]), client_requests=int(client["requests"]),
                   client_delay_s=float(client["delay_ms"]) / 1000, client_concurrency=dict(client["concurrency"]),
                   article_rows=tuple(ArticleRow(**row) for row in data["article"]["rows"]),
                   article_client=dict(data["article"]["client"]), record=data,
                   missing=tuple(data.get("missing", ())))

    def lacks(self, *commands: str) -> dict | None:
        """The first of these tools this machine lacks, or None."""
        return next((tool for tool in self.missing if tool["command"] in commands), None)

    @classmethod
    def load(cls, path: Path) -> Suite:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ReportError(f"the suite's settings are not recorded for this machine ({path} is missing): run "
                              "`make provenance`, or publish the history with its provenance/") from None
        except (OSError, ValueError) as error:
            raise ReportError(f"cannot read the suite's settings {path}: {error}") from None
        try:
            return cls.from_record(data)
        except (KeyError, TypeError) as error:
            raise ReportError(f"the suite's settings in {path} lack {error}") from None
