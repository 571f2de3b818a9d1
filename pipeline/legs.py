"""What each measuring leg (one Python) did, and the run's summary of them: nothing measured is silently lost.

Every leg writes ``leg.json`` into its artifact folder before it measures ("did not finish"), again after each
commit it measured (whose results are in the folder by then), and at the end ("measured" or "failed", with
the reason). The publish job reads the folders it received: a leg that
failed, timed out or never uploaded anything is named in the summary with what is known of why, and the others'
results are published all the same.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

FILE = "leg.json"
MAX_LAST = 100  # commits a manual run may ask a leg for (a longer backfill: run it in parts)
UNFINISHED = "the leg stopped before it finished (timed out, cancelled, or its runner was lost)"


@dataclass
class Leg:
    python: str
    status: str = "did not finish"  # "measured", "failed" or "did not finish"
    reason: str = UNFINISHED
    commits: list[str] = field(default_factory=list)  # what it was to measure, newest first
    measured: list[str] = field(default_factory=list)  # what it finished, each already in the artifact
    new_results: int = 0
    suite_commit: str = ""  # the commit whose benchmarks.json the artifact carries
    note: str = ""  # e.g. a cap on the number of commits, said rather than applied silently

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FILE).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def read(cls, folder: Path) -> Leg | None:
        try:
            data = json.loads((folder / FILE).read_text())
            return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})
        except (OSError, ValueError, TypeError):
            return None


def folders(paths: Iterable[Path]) -> list[Path]:
    """The legs' artifact folders under ``paths``: a path that is one leg's folder (it has leg.json or results/),
    or each folder inside it. download-artifact puts a single matching artifact's files straight into its path,
    and two or more into a folder each, so the publish job may get either. Folders named after the attempt that
    uploaded them (``results-py3.12-2``) come oldest attempt first: what a later attempt measured again wins."""
    found = []
    for path in map(Path, paths):
        if (path / FILE).exists() or (path / "results").is_dir():
            found.append(path)
        elif path.is_dir():
            found += sorted((child for child in path.iterdir() if child.is_dir()), key=_by_attempt)
    return found


def _by_attempt(folder: Path) -> tuple[str, int]:
    match = re.fullmatch(r"(.*)-(\d+)", folder.name)
    return (match[1], int(match[2])) if match else (folder.name, 0)


def summary(folders: Iterable[Path], expected: Iterable[str]) -> tuple[str, list[Leg]]:
    """A markdown table of every expected leg (and any other that reported), and the legs as read."""
    legs = {leg.python: leg for leg in filter(None, map(Leg.read, folders))}
    rows = []
    for python in sorted(set(expected) | set(legs), key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit())):
        leg = legs.get(python)
        if leg is None:
            rows.append(f"| {python} | **missing** | | no artifact: the leg failed before it measured anything, "
                        "or never ran (see its log) |")
            continue
        shown = "measured" if leg.status == "measured" else f"**{leg.status}**"
        why = leg.note if leg.status == "measured" else leg.reason + (f"; {leg.note}" if leg.note else "")
        done = (f"{len(leg.measured)} commit(s)" if len(leg.measured) == len(leg.commits)
                else f"{len(leg.measured)} of {len(leg.commits)} commit(s)")
        rows.append(f"| {python} | {shown} | {done}, {leg.new_results} new result file(s) | {why} |")
    table = "\n".join(["| Python | leg | measured | note |", "|---|---|---|---|", *rows])
    return f"### Measuring legs\n\n{table}\n", list(legs.values())


def step_summary(text: str) -> None:
    """Append to the GitHub Actions job summary when there is one: the one place the pipeline writes it."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a") as file:
            file.write(text.rstrip("\n") + "\n\n")


def step_output(name: str, value: str) -> None:
    """Set a step output when running as a GitHub Actions step (a later job reads it through ``needs``)."""
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a") as file:
            file.write(f"{name}={value}\n")
