"""The one builder of asv's command lines, and the one place the pipeline and the make targets run asv from.

A ``Run`` is one ``asv run``: the machine, the commits (or the working tree), the environments, and what it
records. ``Asv.run`` runs it with every installed Python's real folder first on PATH (pyenv's shims crash asv),
and after every run that records, ``python -m pipeline dependencies --machine M``: asv drops what it does not
know when it rewrites a results file, and that puts back the versions each commit was measured with
(pipeline/installs.py).

Quick has one meaning everywhere (``make bench QUICK=1``, ``make ci-measure QUICK=1``, ``make smoke``,
``pipeline measure --quick``): every benchmark run once, as asv's ``--quick`` runs it (number, repeat and rounds
1, no warmup), on the same commits and environments, recorded (or not) as the same run without it would be. It
is spelled as asv attributes rather than ``--quick``, which asv documents as saving nothing: a quick run that
records (the rehearsals' legs) keeps its results. A quick run checks that the job runs; its numbers are not
measurements. Against the working tree with nothing recorded is ``make smoke`` (``-E existing:``, which asv
never records).

Only the standard library: ``python -m pipeline`` imports this under any interpreter.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import PipelineError

ROOT = Path(__file__).resolve().parent.parent
QUICK = ("-a", "number=1", "-a", "repeat=1", "-a", "rounds=1", "-a", "warmup_time=0")
ATTRIBUTION = r"^attribution\."  # benchmarks/attribution.py: profiles what PLANET_TRACKER_ATTRIBUTE names


@dataclass
class Done:
    """What a command did: its exit status, and its standard output when it was captured."""

    returncode: int
    stdout: str = ""


class Runner:
    """Runs a command in the checkout, echoed on stderr first as make echoes a recipe's lines; the tests pass a
    fake with the same call."""

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, capture: bool = False,
                 echo: bool = True) -> Done:
        if echo:
            prefix = "".join(f"{key}={shlex.quote(value)} " for key, value in (env or {}).items() if key != "PATH")
            print(f"+ {prefix}{shlex.join(argv)}", file=sys.stderr, flush=True)
        done = subprocess.run(list(argv), cwd=ROOT, env={**os.environ, **env} if env else None, text=True,
                              stdout=subprocess.PIPE if capture else None)
        return Done(done.returncode, done.stdout or "")


RunCommand = Callable[..., Done]


def virtualenv(version: str | None = None) -> str:
    """asv's environment spec for a virtualenv of ``version`` (default: this interpreter's X.Y)."""
    return f"virtualenv:{version or '{}.{}'.format(*sys.version_info[:2])}"


def existing(python: str = sys.executable) -> str:
    """asv's environment spec for an installed interpreter: the working tree, never recorded."""
    return f"existing:{os.path.abspath(python)}"


@dataclass(frozen=True)
class Run:
    """One ``asv run``."""

    machine: str
    commits: str = ""  # asv's range ("HEAD^!", "HASHFILE:path"); empty: what the environment has installed
    environments: tuple[str, ...] = ()  # specs, e.g. virtualenv("3.12"), existing(); none: asv.conf.json's
    record_samples: bool = False
    interleave_rounds: bool = False
    skip_existing: bool = False
    dry_run: bool = False  # records nothing
    quick: bool = False  # see the module's docstring
    show_stderr: bool = False
    bench: str = ""  # asv's --bench regex; empty: every benchmark
    extra: tuple[str, ...] = ()  # more options, as given (make's ASV_ARGS)

    @property
    def records(self) -> bool:
        """Whether asv writes results: not a dry run, and not only installed interpreters (which asv never
        records)."""
        return not self.dry_run and not (self.environments and
                                         all(spec.startswith("existing:") for spec in self.environments))

    def args(self) -> list[str]:
        """The arguments after ``asv``."""
        return ["run", *([self.commits] if self.commits else []),
                *(["--record-samples"] if self.record_samples else []),
                *(["--interleave-rounds"] if self.interleave_rounds else []),
                *(["--skip-existing"] if self.skip_existing else []),
                *(["--dry-run"] if self.dry_run else []),
                *(["--show-stderr"] if self.show_stderr else []),
                "--machine", self.machine,
                *(part for spec in self.environments for part in ("-E", spec)),
                *(QUICK if self.quick else ()),
                *self.extra,
                *(["--bench", self.bench] if self.bench else [])]


def attribution(machine: str, commits: str) -> Run:
    """The attribution benchmark on ``commits``, each installed by asv with its own pins: it writes profiles
    (where PLANET_TRACKER_ATTRIBUTE_DIR says), not results."""
    return Run(machine, commits, (virtualenv(),), dry_run=True, bench=ATTRIBUTION)


def split(words: str | None) -> tuple[str, ...]:
    """Options given as one string (make's ASV_ARGS), split as the shell would."""
    return tuple(shlex.split(words or ""))


def hashfile(path: Path, revisions: Sequence[str], run: RunCommand) -> str:
    """Resolve ``revisions`` to commits, one a line into ``path`` (under the checkout); asv's range for them."""
    hashes = []
    for revision in revisions:
        done = run(["git", "rev-parse", "--verify", f"{revision}^{{commit}}"], capture=True)
        if done.returncode != 0:
            raise PipelineError(f"{revision!r} is not a commit")
        hashes.append(done.stdout.strip())
    target = ROOT / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{commit}\n" for commit in hashes))
    return f"HASHFILE:{path}"


class Asv:
    """asv from this interpreter's environment."""

    def __init__(self, run: RunCommand | None = None, python: str = sys.executable):
        self.command = run or Runner()
        self.python = python
        self._path: str | None = None

    def environment(self) -> dict[str, str]:
        """PATH with the real folder of every Python asv.conf.json lists first (scripts/python-dirs: once)."""
        if self._path is None:
            dirs = self.command([str(ROOT / "scripts" / "python-dirs")], capture=True, echo=False).stdout.strip()
            self._path = f"{dirs}:{os.environ.get('PATH', '')}" if dirs else os.environ.get("PATH", "")
        return {"PATH": self._path}

    def installed(self) -> tuple[str, ...]:
        """The virtualenv specs of the Pythons of asv.conf.json this machine has (scripts/python-dirs --specs)."""
        out = self.command([str(ROOT / "scripts" / "python-dirs"), "--specs"], capture=True, echo=False).stdout
        return tuple(word for word in out.split() if word != "-E")

    def __call__(self, *args: str, env: Mapping[str, str] | None = None) -> int:
        """Any asv command (publish, check); its exit status."""
        return self.command([self.python, "-m", "asv", *args], env={**self.environment(), **(env or {})}).returncode

    def run(self, run: Run, env: Mapping[str, str] | None = None) -> int:
        """``run``, then the dependencies into its results when it records; asv's exit status (2 when a
        benchmark failed: a result too)."""
        status = self(*run.args(), env=env)
        if run.records:
            self.dependencies(run.machine)
        return status

    def dependencies(self, machine: str) -> None:
        done = self.command([self.python, "-m", "pipeline", "dependencies", "--machine", machine])
        if done.returncode != 0:
            raise PipelineError(f"recording the dependencies into {machine}'s results failed "
                                f"(status {done.returncode})")
