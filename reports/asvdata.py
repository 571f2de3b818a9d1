"""asv's results as rows: one per benchmark, parameter combination, environment and commit.

Read through asv's own loaders (``asv.config``, ``asv.benchmarks``, ``asv.results``), which also cope with the
bare ``NaN``/``Infinity`` asv writes. In asv's results a failed benchmark is ``None`` and a skipped one
(``NotImplementedError`` in its setup) is ``NaN``; rows keep that distinction as ``status``. A parameter
combination that a commit's suite did not have gives no row.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from asv import config as asv_config
from asv import results as asv_results
from asv import util as asv_util
from asv.benchmarks import Benchmarks
from asv.repo import get_repo

from .errors import ReportError


@dataclass(frozen=True)
class Row:
    """One measured value."""

    benchmark: str  # asv's name for it: module.Class.method
    params: tuple[str, ...]  # the parameter values, as asv prints them ("'aiohttp-dev'")
    param_names: tuple[str, ...]
    env: str  # asv's environment name
    python: str
    commit: str
    date: int  # commit date, ms since the epoch
    value: float | None  # None: failed; NaN: skipped
    stats: dict | None
    samples: tuple[float, ...] | None
    unit: str  # "seconds" for time_*, the benchmark's unit for track_*
    per_round: int | None = None  # samples each round takes, when the benchmark fixes it (repeat = (k, k, ...))

    @property
    def status(self) -> str:
        if self.value is None:
            return "failed"
        return "skipped" if math.isnan(self.value) else "ok"

    @property
    def key(self) -> tuple[str, tuple[str, ...], str]:
        """What identifies a series across commits."""
        return self.benchmark, self.params, self.env

    @property
    def label(self) -> str:
        """The benchmark with its parameters, e.g. ``servers.ServerThroughput.time_batch(aiohttp-dev)``."""
        args = ", ".join(param.strip("'") for param in self.params)
        return f"{self.benchmark}({args})" if args else self.benchmark


def load_config(path: str | Path = "asv.conf.json") -> asv_config.Config:
    """asv's configuration, with its folders made absolute (asv reads them relative to where it runs)."""
    try:
        conf = asv_config.Config.load(str(path))
    except asv_util.UserError as error:  # asv's own one-line complaint, mapped at the boundary
        raise ReportError(str(error)) from None
    base = Path(path).resolve().parent
    for attr in ("results_dir", "html_dir", "env_dir"):
        setattr(conf, attr, str(base / getattr(conf, attr)))
    if "://" not in conf.repo:
        conf.repo = str(base / conf.repo)
    return conf


def commit_order(conf: asv_config.Config, commits: list[str]) -> list[str] | None:
    """The commits newest first in asv's own order (git's date order, a child always after its parent, so
    commits made in the same second still come out right), or None when the repository does not have them."""
    try:
        revisions = get_repo(conf).get_revisions(set(commits))
    except (asv_util.UserError, asv_util.ProcessError, OSError):
        return None
    if not set(commits) <= set(revisions):
        return None
    return sorted(commits, key=revisions.__getitem__, reverse=True)


def machine_info(conf: asv_config.Config, machine: str) -> dict:
    """What ``asv machine`` recorded about a machine (CPU, number of CPUs, OS, RAM)."""
    path = Path(conf.results_dir) / machine / "machine.json"
    return asv_util.load_json(str(path), api_version=1) if path.exists() else {"machine": machine}


def measured_commits(machine_dir: Path) -> dict[str, int]:
    """The commits a machine's results files measured, each with its commit date (ms since the epoch, 0 where
    the file has none), as the results record them. A file that does not parse is left out, as asv leaves it."""
    dates: dict[str, int] = {}
    for path in machine_dir.glob("*.json"):
        if path.name == "machine.json":
            continue
        try:
            data = asv_util.load_json(str(path))
        except (asv_util.UserError, OSError):
            continue
        commit, date = (data.get("commit_hash"), data.get("date")) if isinstance(data, dict) else (None, None)
        if isinstance(commit, str):
            dates[commit] = max(dates.get(commit, 0), date if isinstance(date, int) else 0)
    return dates


def machines(conf: asv_config.Config) -> list[str]:
    """Machines with results, the one whose newest measured commit is the newest first: by that commit's date as
    the results record it, then by how many commits the machine measured, then by name. Not by file times: a
    history checked out of git (as the workflow publishes it) gives every file the same time."""
    found = sorted(p.name for p in Path(conf.results_dir).iterdir() if (p / "machine.json").exists())
    if len(found) < 2:
        return found

    def newest_first(name: str) -> tuple[int, int, str]:
        dates = measured_commits(Path(conf.results_dir) / name)
        return -max(dates.values(), default=-1), -len(dates), name

    return sorted(found, key=newest_first)


# What the pipeline adds to each results file (when it installs a commit): the versions that commit was measured
# with, as {"packages": {name: version}}, or pip's reason it could not be installed, as {"error": reason}.
DEPENDENCIES = "dependencies"


def dependencies(results_dir: str | Path, machine: str, commit: str) -> dict[str, dict]:
    """{environment name: what its install recorded} for one commit's results on one machine (a results file
    from before the versions were recorded gives nothing)."""
    found = {}
    for path in (Path(results_dir) / machine).glob(f"{commit[:8]}-*.json"):
        try:
            data = asv_util.load_json(str(path))
        except (asv_util.UserError, OSError):
            continue
        record = data.get(DEPENDENCIES) if isinstance(data, dict) and data.get("commit_hash") == commit else None
        if isinstance(record, dict):
            found[data.get("env_name", "")] = record
    return found


def benchmark_info(conf: asv_config.Config) -> dict[str, dict]:
    """What asv discovered about each benchmark (params, unit, type), from the results' benchmarks.json."""
    try:
        return dict(Benchmarks.load(conf))
    except asv_util.UserError as error:
        raise ReportError(str(error)) from None


def iter_rows(results_dir: str | Path, benchmarks: dict[str, dict], machine: str | None = None,
              commit: str | None = None) -> Iterator[Row]:
    """Every value in the results directory, for one machine (all by default) and one commit (all by default)."""
    results_dir = str(results_dir)
    if machine and commit:
        files = asv_results.iter_results_for_machine_and_hash(results_dir, machine, commit)
    elif machine:
        files = asv_results.iter_results_for_machine(results_dir, machine)
    else:
        files = asv_results.iter_results(results_dir)
    for result in files:
        if commit and not result.commit_hash.startswith(commit):
            continue
        python = result.params.get("python", "")
        for name in result.get_all_result_keys():
            info = benchmarks.get(name)
            if info is None:
                continue  # a benchmark that no longer exists
            # The parameters this result was measured with: a scenario the suite did not have yet at this
            # commit gives no row at all (asv would report it as failed against today's parameters).
            params = result.get_result_params(name) or []
            values = result.get_result_value(name, params)
            stats = result.get_result_stats(name, params)
            samples = result.get_result_samples(name, params)
            unit = info.get("unit", "seconds")
            repeat = info.get("repeat")
            per_round = repeat[0] if isinstance(repeat, list) and len(repeat) == 3 and repeat[0] == repeat[1] else None
            for i, combination in enumerate(itertools.product(*params) if params else [()]):
                yield Row(
                    benchmark=name, params=tuple(combination), param_names=tuple(info.get("param_names") or ()),
                    env=result.env_name, python=python, commit=result.commit_hash, date=result.date or 0,
                    value=values[i], stats=stats[i] if stats else None,
                    samples=tuple(samples[i]) if samples and samples[i] is not None else None, unit=unit,
                    per_round=per_round,
                )
