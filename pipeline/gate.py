"""``make compare``: BASE and HEAD measured in one asv run, judged, the flagged timings measured again, the table,
then where the flagged counts changed. Each phase is a function; ``compare`` runs them in order.

Both commits in one asv run, rounds interleaved, so that the machine's drift hits both alike. A failed asv run
(a benchmark that failed) does not stop the comparison: it is one row of the table (and a regression if HEAD
broke it). Counted (instructions) benchmarks are judged by ratio; a timed benchmark flagged either way is measured
again, both commits interleaved, and is a regression only if that second measurement flags it too
(``python -m reports compare --flagged`` / ``--confirm``). Then each counted benchmark marked + or - is profiled on
both commits (benchmarks/attribution.py), and the functions whose cost changed are ranked under the tables:
attribution explains, it never changes the exit status.

Exit status: 0 no regression, 1 a regression, 2 an error (a commit that does not resolve, the comparison or the
dependencies' recording failing). The benchmarks and the reports run as commands: this imports neither.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import asvrun
from .errors import PipelineError

ROOT = asvrun.ROOT
MARKDOWN = Path("reports/compare.md")
JSON = Path("reports/compare.json")
FLAGGED = Path(".asv/compare.flagged")  # the first comparison's flags, which the second confirms
HASHES = Path(".asv/compare.hashes")
PROFILES = Path(".asv/attribution")
GRAPHS = Path("reports/attribution")


@dataclass(frozen=True)
class Comparison:
    base: str
    machine: str
    head: str = "HEAD"
    factor: str = ""  # empty: reports.compare's default
    threshold: str = ""
    bench: str = ""  # the first run's --bench (make's BENCH)
    asv_args: tuple[str, ...] = ()  # both runs' other options (make's ASV_ARGS)
    python: str = sys.executable

    def reports(self, *args: str) -> list[str]:
        return [self.python, "-m", "reports", *args]

    def judge(self, *args: str) -> list[str]:
        """``python -m reports compare`` of the two commits, with ``args``."""
        return self.reports("compare", self.base, self.head, "--machine", self.machine,
                            *(("--factor", self.factor) if self.factor else ()),
                            *(("--threshold", self.threshold) if self.threshold else ()), *args)

    def both(self, bench: str, extra: tuple[str, ...]) -> asvrun.Run:
        """One asv run of both commits, rounds interleaved, samples recorded."""
        return asvrun.Run(self.machine, f"HASHFILE:{HASHES}", (asvrun.virtualenv(),), record_samples=True,
                          interleave_rounds=True, bench=bench, extra=extra)


def prepare(comparison: Comparison, run: asvrun.RunCommand) -> str:
    """Remove the last comparison's outputs; write both commits into the hash file; asv's range for them."""
    for path in (MARKDOWN, JSON, FLAGGED):
        (ROOT / path).unlink(missing_ok=True)
    for path in (PROFILES, GRAPHS):
        shutil.rmtree(ROOT / path, ignore_errors=True)
    (ROOT / MARKDOWN).parent.mkdir(parents=True, exist_ok=True)
    return asvrun.hashfile(HASHES, [comparison.base, comparison.head], run)


def measure(comparison: Comparison, asv: asvrun.Asv) -> int:
    """Both commits, every benchmark asked for; asv's status, which does not stop the comparison. The counts
    keep their functions in PROFILES, where attribution finds them (benchmarks/instructions.py)."""
    return asv.run(comparison.both(comparison.bench, comparison.asv_args), env=profiles_env())


def profiles_env(**more: str) -> dict[str, str]:
    return {"PLANET_TRACKER_ATTRIBUTE_DIR": str(ROOT / PROFILES), **more}


def flag(comparison: Comparison, run: asvrun.RunCommand) -> str:
    """The first comparison: the timed benchmarks flagged either way into FLAGGED; asv's --bench regex for them
    (empty: none)."""
    done = run(comparison.judge("--flagged", str(FLAGGED)), capture=True)
    if done.returncode != 0:
        raise PipelineError(f"the first comparison failed (status {done.returncode})")
    return done.stdout.strip()


def confirm(comparison: Comparison, asv: asvrun.Asv, flagged: str) -> bool:
    """Measure the flagged timed benchmarks again, both commits interleaved; whether there were any."""
    if not flagged:
        return False
    print(f"confirming the timed benchmarks flagged as slower or faster: {flagged}", file=sys.stderr, flush=True)
    asv.run(comparison.both(flagged, comparison.asv_args))  # a failure is a row of the table, as in measure
    return True


def table(comparison: Comparison, run: asvrun.RunCommand) -> int:
    """The second comparison, confirming the first: the table and the data; 0, 1 on a regression, 2 an error."""
    return run(comparison.judge("--confirm", str(FLAGGED), "--markdown", str(MARKDOWN), "--json", str(JSON))).returncode


def attribute(comparison: Comparison, asv: asvrun.Asv, run: asvrun.RunCommand) -> bool:
    """Profile the counted benchmarks the table flagged, on both commits, and rank what changed under the table;
    whether there were any. The profiling's and the ranking's failures change nothing (asv and the reports say
    why on stderr); only not being able to read the table's flags is an error."""
    done = run(comparison.reports("attribution", "--json", str(JSON), "--flagged"), capture=True)
    if done.returncode != 0:
        raise PipelineError(f"reading the flagged counted benchmarks failed (status {done.returncode})")
    labels = done.stdout.strip()
    if not labels:
        return False
    print(f"where the flagged counts changed: profiling {labels}", file=sys.stderr, flush=True)
    asv.run(asvrun.attribution(comparison.machine, f"HASHFILE:{HASHES}"),
            env=profiles_env(PLANET_TRACKER_ATTRIBUTE=labels))
    run(comparison.reports("attribution", "--json", str(JSON), "--markdown", str(MARKDOWN), "--dir", str(PROFILES),
                           "--graphs", str(GRAPHS)))
    return True


def compare(comparison: Comparison, run: asvrun.RunCommand | None = None) -> int:
    """Every phase in order; the exit status (see the module's docstring)."""
    run = run or asvrun.Runner()
    asv = asvrun.Asv(run, comparison.python)
    try:
        prepare(comparison, run)
        measure(comparison, asv)
        confirm(comparison, asv, flag(comparison, run))
        status = table(comparison, run)
        if status not in (0, 1):
            return status if status > 1 else 2  # an error (a negative status: killed by a signal)
        attribute(comparison, asv, run)
        return status
    except PipelineError as error:
        print(f"python -m pipeline compare: error: {error}", file=sys.stderr)
        return 2
