"""One measuring leg: the commits a push brought, measured on one Python with asv, each commit's results copied
into the leg's artifact folder as soon as it is measured.

A leg can be killed at any moment (the step's time limit, a cancelled run, a lost runner): what it measured
before is already in the artifact folder, with ``leg.json`` saying how far it got, and the upload step (which
runs whatever happened) sends it to the publish job. This module needs asv; the commands that run under the
runner's bare ``python3`` (``pr-artifact``, ``pr-comment``) never import it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from asv import config as asv_config
from asv import machine as asv_machine

from . import asvrun, history, installs, legs, regressions, targets
from .errors import PipelineError

ROOT = Path(__file__).resolve().parent.parent
ZERO = "0" * 40  # GitHub's "before" for a branch's first push


def machine_name() -> str:
    return subprocess.run([str(ROOT / "scripts" / "machine-name")], capture_output=True, text=True,
                          check=True).stdout.strip()


def record_machine(name: str) -> dict:
    """Record this machine under ``name`` in asv's machine file, with everything asv detects about it (CPU model,
    number of CPUs, memory, OS): ``asv machine --yes --machine NAME`` would record only the name, as it keeps
    only the answers that differ from what it detects. asv copies the record into each results folder."""
    info = {**asv_machine.Machine.get_defaults(), "machine": name}
    asv_machine.MachineCollection.save(name, info)
    return info


def expected_pythons() -> list[str]:
    """The Pythons asv.conf.json lists: one measuring leg each."""
    return list(asv_config.Config.load(str(ROOT / "asv.conf.json")).pythons)


def branches() -> list[str]:
    """The branches asv.conf.json follows (its graphs show the commits on them)."""
    return list(asv_config.Config.load(str(ROOT / "asv.conf.json")).branches)


def record_dependencies(machine: str) -> int:
    """Put each commit's installed versions into this machine's results (see pipeline.installs); the number of
    files changed."""
    conf = asv_config.Config.load(str(ROOT / "asv.conf.json"))
    return installs.embed(ROOT / conf.results_dir / machine, ROOT / conf.env_dir)


def commits_to_measure(before: str, after: str, limit: int, last: int | None = None) -> tuple[list[str], str]:
    """The commits a push brought (first parents, newest first, at most ``limit``), the ``last`` N commits up to
    ``after`` when asked (a manual run, 1 to legs.MAX_LAST), or just ``after`` when ``before`` is unknown (a new
    branch, a forced push); and a note saying what a cap left out, if one did."""
    if last is not None and not 1 <= last <= legs.MAX_LAST:
        # git's --max-count takes a negative number as "no limit": never let one through.
        raise PipelineError(f"the number of commits must be a whole number from 1 to {legs.MAX_LAST}, not {last}")
    after = history.git(ROOT, "rev-parse", "--verify", f"{after}^{{commit}}")
    if last:
        found = history.git(ROOT, "rev-list", "--first-parent", f"--max-count={last}", after).splitlines()
        note = f"asked for the last {last} commits; the history has {len(found)}" if last > len(found) else ""
        return found, note
    known = subprocess.run(["git", "cat-file", "-e", f"{before}^{{commit}}"], cwd=ROOT, capture_output=True)
    if before and before != ZERO and known.returncode == 0:
        brought = history.git(ROOT, "rev-list", "--first-parent", f"{before}..{after}").splitlines()
        note = (f"the push brought {len(brought)} commits; measuring the newest {limit} (run Benchmarks by hand "
                "for the others)" if len(brought) > limit else "")
        return brought[:limit] or [after], note
    return [after], ""


def _copy_new(out: Path, before_run: dict, machine: str) -> list[Path]:
    """Copy the results files that changed since ``before_run`` (path -> mtime), and the machine's and the
    provenance's, into the artifact folder ``out``; the changed results files."""
    results, provenance = ROOT / ".asv" / "results", ROOT / ".asv" / "provenance"
    new = [p for p in results.rglob("*.json")
           if p.name != "benchmarks.json" and before_run.get(p) != p.stat().st_mtime_ns]
    for path in [*new, results / machine / "machine.json", provenance / f"{machine}.json"]:
        if path.exists():
            target = out / path.relative_to(ROOT / ".asv")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return new


def bisect(leg: legs.Leg, out: Path, *, machine: str, remote: str, token: str | None) -> None:
    """The bisection's leg (a run dispatched by the publish job): the history branch brought into asv's results,
    then every open counted step of this Python that lies between two measured commits placed on its commit
    (pipeline.regressions.bisect), each commit measured copied into ``out`` as a push's leg copies them."""
    results = ROOT / ".asv" / "results"
    tip = history.fetch(ROOT, remote, token=token)
    history.export(ROOT, tip, ROOT / ".asv")
    record_machine(machine)
    subprocess.run([sys.executable, "-m", "benchmarks", "provenance", "--json",
                    str(ROOT / ".asv" / "provenance" / f"{machine}.json")], cwd=ROOT, check=True)
    before_run = {p: p.stat().st_mtime_ns for p in results.rglob("*.json")}
    leg.commits, found = regressions.bisect(machine, only=leg.python)
    new = _copy_new(out, before_run, machine)
    leg.measured = list(leg.commits)
    leg.new_results = len([p for p in new if p.parent.name == machine and p.name != "machine.json"])
    explained = explain(found, machine, leg.python, out)
    leg.note = (f"bisection: {len(leg.commits)} commit(s) measured, {explained} regression(s) profiled"
                if leg.commits or explained else "bisection: nothing to place or profile")
    leg.write(out)


def explain(found: dict, machine: str, python: str, out: Path) -> int:
    """Profile each open regression placed on its commit whose cost on ``python`` is not profiled yet: its worst
    benchmark, the commit against the one before (make profile), the rankings and the flame graph into
    ``out``/regressions/<commit>/py<X.Y>.json and .svg (they join the history branch). The number profiled; a
    profile that fails is said and skipped (the issue then says how to profile it)."""
    done = 0
    for regression, step in regressions.unexplained(found, ROOT / ".asv" / "regressions", python):
        commit = regression["commit"]
        data = ROOT / ".asv" / "explained.json"
        data.unlink(missing_ok=True)
        shutil.rmtree(ROOT / "reports" / "attribution", ignore_errors=True)
        status = targets.profile(machine, step["benchmark"], step["before_commit"], asvrun.Runner(), head=commit,
                                 data=str(data))
        graphs = sorted((ROOT / "reports" / "attribution").glob("*.svg"))
        if status != 0 or not data.exists():
            print(f"profiling {commit[:8]} on Python {python} failed (status {status}): its issue says how to "
                  "profile it", file=sys.stderr)
            continue
        folder = out / "regressions" / commit
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(data, folder / f"py{python}.json")
        if graphs:
            shutil.copy2(graphs[0], folder / f"py{python}.svg")
        done += 1
    return done


def measure(leg: legs.Leg, out: Path, *, before: str, after: str, limit: int, last: int | None, machine: str,
            remote: str, token: str | None, quick: bool = False, bench: str | None = None) -> None:
    """Measure the leg's commits newest first, one asv run each, and after each one copy its results into ``out``
    and rewrite ``leg.json``: a leg stopped midway keeps every commit it finished."""
    results, provenance = ROOT / ".asv" / "results", ROOT / ".asv" / "provenance"
    suite = results / "benchmarks.json"
    tip = history.fetch(ROOT, remote, token=token)
    history.export(ROOT, tip, ROOT / ".asv")  # so that asv --skip-existing knows what this Python has already
    leg.commits, leg.note = commits_to_measure(before, after, limit, last)
    leg.write(out)
    record_machine(machine)
    subprocess.run([sys.executable, "-m", "benchmarks", "provenance", "--json", str(provenance / f"{machine}.json")],
                   cwd=ROOT, check=True)
    hashes = ROOT / ".asv" / "measure.hashes"
    asv = asvrun.Asv()
    hashes.parent.mkdir(parents=True, exist_ok=True)
    for commit in leg.commits:
        before_run = {p: p.stat().st_mtime_ns for p in results.rglob("*.json")}
        hashes.write_text(commit + "\n")
        # --skip-existing, per environment: a commit another Python has measured is still measured on this one
        # (and a benchmark added since is measured on old commits); --skip-existing-commits would skip the commit.
        # Then the dependencies into its results (asvrun runs python -m pipeline dependencies after it).
        status = asv.run(asvrun.Run(machine, f"HASHFILE:{hashes.relative_to(ROOT)}", (asvrun.virtualenv(leg.python),),
                                    record_samples=True, skip_existing=True, quick=quick, bench=bench or ""))
        # asv exits 2 when a benchmark failed: that is a result (recorded as null), to be published, not lost.
        if status not in (0, 2):
            raise PipelineError(f"asv run failed with status {status} on {commit[:8]}")
        new = _copy_new(out, before_run, machine)
        # The suite's definition comes from the newest commit only (measured first): an older commit's must not
        # replace it on the history branch (see history.merge_and_push).
        first = not leg.measured
        if first and suite.exists():
            (out / "results").mkdir(parents=True, exist_ok=True)
            shutil.copy2(suite, out / "results" / suite.name)
        if first:
            leg.suite_commit = commit
        leg.measured.append(commit)
        leg.new_results += len([p for p in new if p.parent.name == machine and p.name != "machine.json"])
        leg.write(out)
    print(f"{leg.new_results} new result file(s) for {len(leg.commits)} commit(s) on {machine}, Python "
          f"{leg.python}, in {out}", file=sys.stderr)
