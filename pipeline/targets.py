"""The make targets that run asv or chain the suite and the reports: ``make smoke``, ``bench``, ``report``,
``history``, ``profile`` and ``sweep`` call these (``python -m pipeline <target>``); ``make compare`` calls
pipeline.gate. Each returns the exit status its recipe had; the benchmarks and the reports run as commands.

Only the standard library.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from . import asvrun
from .errors import PipelineError

ROOT = asvrun.ROOT


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def report(machine: str, run: asvrun.RunCommand, asv: asvrun.Asv | None = None) -> int:
    """asv's site, then the summary and ours (reports/, site/) from asv's results."""
    status = (asv or asvrun.Asv(run))("publish")
    if status != 0:
        return status
    return run(_python("-m", "reports", "summary", "--machine", machine, "--out", "reports", "--site",
                       "site")).returncode


def smoke(machine: str, bench: str, extra: tuple[str, ...], run: asvrun.RunCommand) -> int:
    """asv's own check of the suite, then every benchmark once against the working tree (nothing recorded)."""
    asv = asvrun.Asv(run)
    status = asv("check", "-E", asvrun.existing())
    if status != 0:
        return status
    return asv.run(asvrun.Run(machine, environments=(asvrun.existing(),), quick=True, show_stderr=True, bench=bench,
                              extra=extra))


def bench(machine: str, bench: str, extra: tuple[str, ...], quick: bool, run: asvrun.RunCommand) -> int:
    """HEAD on the default Python, recorded; the report; the summary printed, and the tools still missing."""
    asv = asvrun.Asv(run)
    status = asv.run(asvrun.Run(machine, "HEAD^!", (asvrun.virtualenv(),), record_samples=True, quick=quick,
                                show_stderr=True, bench=bench, extra=extra))
    if status == 0:
        status = report(machine, run, asv)
    if status != 0:
        return status
    print((ROOT / "reports" / "summary.md").read_text())
    print(f"summary: {ROOT / 'reports' / 'summary.md'}; site: {ROOT / 'site'}/index.html (make site serves it)",
          flush=True)
    if quick:
        print("QUICK=1: every benchmark ran once (asv's --quick): the job works; its numbers are not measurements "
              "(make bench without QUICK measures HEAD again).", flush=True)
    return run(_python("-m", "benchmarks", "tools")).returncode


def history(machine: str, count: int, bench: str, extra: tuple[str, ...], run: asvrun.RunCommand) -> int:
    """The last ``count`` commits on every installed Python of asv.conf.json (what is recorded already is
    skipped), then the report."""
    done = run(["git", "rev-list", f"--max-count={count}", "HEAD"], capture=True)
    if done.returncode != 0:
        raise PipelineError("git rev-list failed")
    hashes = ROOT / ".asv" / "history.hashes"
    hashes.parent.mkdir(parents=True, exist_ok=True)
    hashes.write_text(done.stdout)
    asv = asvrun.Asv(run)
    status = asv.run(asvrun.Run(machine, "HASHFILE:.asv/history.hashes", asv.installed(), record_samples=True,
                                skip_existing=True, bench=bench, extra=extra))
    return status or report(machine, run, asv)


def profile(machine: str, target: str, against: str, run: asvrun.RunCommand, head: str = "HEAD",
            data: str | None = None) -> int:
    """Where one target's instructions go, ``head`` against ``against``, each commit installed by asv with its
    own pins: reports/profile.md and the flame graphs in reports/attribution/ (and the rankings as data in
    ``data``). ``target``: a channel's target or a counted benchmark's label."""
    if not target:
        print("make profile TARGET=ID [AGAINST=COMMIT]: ID a server scenario, client:STRATEGY or core:FUNCTION",
              file=sys.stderr)
        return 2
    (ROOT / "reports").mkdir(exist_ok=True)
    shutil.rmtree(ROOT / ".asv" / "profile", ignore_errors=True)
    (ROOT / "reports" / "profile.md").unlink(missing_ok=True)
    commits = asvrun.hashfile(Path(".asv/profile.hashes"), [against, head], run)
    status = asvrun.Asv(run).run(asvrun.attribution(machine, commits), env={
        "PLANET_TRACKER_ATTRIBUTE": target, "PLANET_TRACKER_ATTRIBUTE_DIR": str(ROOT / ".asv" / "profile")})
    if status != 0:
        return status
    return run(_python("-m", "reports", "attribution", "--base", against, "--head", head, "--dir", ".asv/profile",
                       "--markdown", "reports/profile.md", "--graphs", "reports/attribution",
                       *(("--data", data) if data else ()))).returncode


def sweep(machine: str, args: tuple[str, ...], run: asvrun.RunCommand) -> int:
    """The sweep's results, then its section and charts, and the report and site with the section when asv
    results exist. 1 when a point failed (after writing everything measured), 2 when nothing could be measured
    or what follows failed."""
    (ROOT / "reports").mkdir(exist_ok=True)
    status = run(_python("-m", "benchmarks", "sweep", *args, "--json", "reports/sweep-results.json")).returncode
    if status >= 2:
        return status
    if run(_python("-m", "reports", "sweep", "reports/sweep-results.json", "--out", "reports")).returncode != 0:
        return 2
    if any((ROOT / ".asv" / "results").glob("*/*-*.json")) and report(machine, run) != 0:
        return 2
    return status
