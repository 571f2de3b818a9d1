"""The files the instrument writes and the reports read: each one's schema name and version, and one reader.

A file carries ``{"schema": NAME, "version": N, ...}``. The writer stamps it here, and every reader goes through
``Format.load`` (or ``Format.check``), which refuses another schema or an unknown version with one line, as pyperf
and asv each do for their own files. The harness, the asv suite, the reports and the pipeline import this module
(the one module of the harness the reports and the pipeline may import: tests/test_layers.py); it imports only the
standard library, so that the pull-request comment can run it under a bare python3. It lives in the harness
because asv imports the suite's package, and nothing beside it, in the environments it builds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class FormatError(ValueError):
    """A file that is missing, unreadable, of another schema, or of a version this checkout cannot read."""


@dataclass(frozen=True)
class Format:
    schema: str
    version: int  # what this checkout writes
    readable: tuple[int, ...]  # what it reads back
    hint: str  # what to run for a current file

    def stamp(self, body: dict) -> dict:
        return {"schema": self.schema, "version": self.version, **body}

    def check(self, data: object, source: str = "the record") -> dict:
        if not isinstance(data, dict) or data.get("schema") != self.schema:
            raise FormatError(f"{source} is not a {self.schema} file")
        if data.get("version") not in self.readable:
            raise FormatError(f"{source} is {self.schema} version {data.get('version')!r}; this checkout reads "
                              f"version {', '.join(map(str, self.readable))}: {self.hint}")
        return data

    def load(self, path: str | Path) -> dict:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise FormatError(f"{path} is missing: {self.hint}") from None
        except (OSError, ValueError) as error:
            raise FormatError(f"cannot read {path}: {error}") from None
        return self.check(data, str(path))


# The harness's results (python -m benchmarks run/article/sweep ...). Version 2 added the "instructions" records,
# version 3 the "openloop" records and each sweep point's "headline"; older files are still read.
RESULTS = Format("planet-tracker-bench", 3, (1, 2, 3), "measure again with python -m benchmarks")
# The asv suite's settings on one machine (python -m benchmarks provenance). Version 3 added "benchmarks" (the
# reports' names for the suite's benchmarks) and the article's figures.
PROVENANCE = Format("planet-tracker-provenance", 3, (3,), "run `make provenance`")
# One target's profile at one commit (python -m benchmarks profile --json, make profile, make compare).
ATTRIBUTION = Format("planet-tracker-attribution", 1, (1,), "profile again with make profile")
# Two commits compared (python -m reports compare --json): the pull-request comment is rendered from it
# (pipeline.github), under a bare python3, hence what follows is shared here rather than imported from the reports.
# 2: the dependency versions that differ; 3: attribution; 4: a timed change is + or - only when confirmed, either
# way, and a row says whether it was measured again ("remeasured").
COMPARISON = Format("planet-tracker-compare", 4, (4,), "run `make compare` again")
MARKS = ("+", "-", "~", "?", "!", "x", "")  # "" : no change
REGRESSION_MARKS = ("+", "!")
COUNTED_UNITS = ("instructions",)  # what the asv suite counts rather than times
# The marks in a sentence: under every table that shows them.
LEGEND = ("+ slower, - faster: established (a count beyond the threshold, or a timing asv's rule flagged in two "
          "measurements); ? a timing asv's rule flagged in one measurement, not confirmed; ~ moved, not established "
          "(beyond the factor but not significant, nothing to test, or measured again and not confirmed); ! failed "
          "on the new commit, x failed on the old one; lower is better for every benchmark")
NOT_CONFIRMED = ("Measured again, both commits interleaved, and not confirmed (flagged by the first measurement, "
                 "not the same way by the second; marked ~, with the second measurement's values): ")


def format_value(value: float | None, status: str, unit: str) -> str:
    """One side of a compared row as the tables and the comment print it: "failed", "skipped", or the value with
    its unit."""
    if status == "failed":
        return "failed"
    if status != "ok" or value is None:
        return "skipped"
    if unit in COUNTED_UNITS:
        return f"{value:,.0f}"
    if unit == "seconds":
        for scale, suffix in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {suffix}"
        return f"{value:.3g} s"
    return f"{value:.3g} {unit}"
