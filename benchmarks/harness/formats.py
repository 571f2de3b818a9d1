"""The files the instrument writes and the reports read: each one's schema name and version, and one reader.

A file carries ``{"schema": NAME, "version": N, ...}``. The writer stamps it here, and every reader goes through
``Format.load`` (or ``Format.check``), which refuses another schema or an unknown version with one line, as pyperf
and asv each do for their own files. The harness, the asv suite, the reports and the pipeline import this module
(the one module of the harness the reports and the pipeline may import: tests/test_layers.py); it imports only the
standard library, so that the pull-request comment can run it under a bare python3. It lives in the harness
because asv imports the suite's package, and nothing beside it, in the environments it builds.
"""

from __future__ import annotations

import hashlib
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
# version 3 the "openloop" records and each sweep point's "headline", version 4 the collector's instructions beside
# each count (which no longer holds them) and the build counted; older files are still read.
RESULTS = Format("planet-tracker-bench", 4, (1, 2, 3, 4), "measure again with python -m benchmarks")
# The asv suite's settings on one machine (python -m benchmarks provenance). Version 3 added "benchmarks" (the
# reports' names for the suite's benchmarks) and the article's figures.
PROVENANCE = Format("planet-tracker-provenance", 3, (3,), "run `make provenance`")
# One target's profile at one commit (python -m benchmarks profile --json, make profile, make compare). 2: each
# function's costs named ({"calls", "self", "inclusive"}), the collector's count and the build profiled.
ATTRIBUTION = Format("planet-tracker-attribution", 2, (2,), "profile again with make profile")
# The channel's own count of one target, each C function's cost in it (python -m benchmarks' measure, kept under
# asv for make compare's attribution, which then need not count it again): written and read by the harness.
COUNTED = Format("planet-tracker-counted-functions", 1, (1,), "count again (make compare)")
# The regressions over time found in a history (python -m reports regressions): read by python -m pipeline
# regressions (the lines make regressions prints) and announce (GitHub's issues, under a bare python3).
REGRESSIONS = Format("planet-tracker-regressions", 1, (1,), "run `make regressions` again")
# Two commits compared (python -m reports compare --json): the pull-request comment is rendered from it
# (pipeline.comment), under a bare python3, hence what follows is shared here rather than imported from the reports.
# 2: the dependency versions that differ; 3: attribution; 4: a timed change is + or - only when confirmed, either
# way, and a row says whether it was measured again ("remeasured").
COMPARISON = Format("planet-tracker-compare", 4, (4,), "run `make compare` again")
# One commit's install in an asv environment, written by pipeline/installs.py into {env_dir}/installs/{commit}.json
# and read by the harness (benchmarks/harness/build.py) to check that a measurement made for that commit ran its
# build: the versions installed (or pip's reason), and the build (the wheel, its hash, the digest of the subject's
# files). Version 1 (no schema, no build) is read as having no build.
INSTALL = Format("planet-tracker-install", 2, (2,), "let asv install the commit again (delete its environment)")
INSTALLS = "installs"  # the folder of install records in each asv environment
SUBJECT = ("planet-tracker", "planet_tracker")  # the subject's distribution and its package


def subject_digest(hashes: dict[str, str]) -> str:
    """One sha256 for the subject's files, from {path under its package's parent: hash as a wheel's RECORD writes
    it}: what the install record keeps of a build, and what a measurement computes of the files it would run."""
    text = "".join(f"{path} {hashes[path]}\n" for path in sorted(hashes))
    return hashlib.sha256(text.encode()).hexdigest()


def describe_build(build: dict) -> str:
    """One line for a build as the results, profiles and install records carry it (``build.Build.to_dict``, or
    the install record's): what ran."""
    if build.get("commit"):
        return f"the build of {build['commit'][:8]} ({build['wheel']}, sha256 {build['wheel_sha256'][:12]})"
    location, origin = build.get("location", "?"), build.get("origin")
    if origin == "editable":
        return f"the working tree {build.get('source') or location} (an editable install)"
    if origin == "wheel":
        return f"planet-tracker {build.get('version')} installed at {location}"
    if origin == "modified":
        return f"an install at {location} whose files differ from it: {', '.join(build.get('changed', [])[:3])}"
    return f"the folder {location} (on sys.path, not installed)"


MARKS = ("+", "-", "~", "?", "!", "x", "")  # "" : no change
REGRESSION_MARKS = ("+", "!")
COUNTED_UNITS = ("instructions",)  # what the asv suite counts rather than times
# A counted benchmark that is a part of another's count, by method name: the garbage collector's instructions
# beside the request's. Its change is judged by what it adds to the whole (a share of the request's count), not
# by its own ratio: one collection more or less in a window moves the collector's figure by a third and the
# request's cost by a tenth of a percent.
PART_OF = {"track_collector_instructions_per_request": "track_instructions_per_request"}


def counted_title(threshold: float) -> str:
    """The counted table's title, in the comparison and in the pull-request comment: how its marks were decided."""
    return (f"**Instructions** (counted under valgrind, deterministic: a change of {100 * threshold:g} % or more is "
            "marked; the collector's, by what its change adds to the request's count):")


def timed_title(factor: float, confirmed: bool) -> str:
    """The wall-clock table's title, in the comparison and in the pull-request comment: how its marks were
    decided."""
    how = ("measured again, both commits interleaved, where the first measurement flagged a change: + or - only "
           "when the second flags it the same way" if confirmed
           else "one measurement: what it flags is ? until `make compare` measures it again")
    return f"**Wall-clock** (asv's rule, factor {factor:g}; {how}):"


def format_amount(value: float) -> str:
    """A count per unit in attribution's tables: whole above 100, one decimal below."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}".rstrip("0").rstrip(".")


def format_change(pair) -> str:
    """Base → head (signed change), as attribution's tables show a cost (the report's and the comment's)."""
    delta = pair[1] - pair[0]
    return f"{format_amount(pair[0])} → {format_amount(pair[1])} ({'+' if delta >= 0 else '-'}" \
           f"{format_amount(abs(delta))})"


def whole_of(benchmark: str) -> str | None:
    """The benchmark (asv's module.Class.method) whose count ``benchmark`` is a part of, or None."""
    module_class, _, method = benchmark.rpartition(".")
    return f"{module_class}.{PART_OF[method]}" if method in PART_OF else None
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
