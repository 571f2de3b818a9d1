"""``python -m pipeline``: the steps of the GitHub workflows, runnable (and rehearsed by the tests) anywhere.

    machine      record this machine (CPU, memory, OS) under its name for asv
    measure      run the asv suite on the commits a push brought, on one Python, skipping what the history
                 already has for that Python; copy the new results into an artifact folder, with the leg's
                 status (leg.json) written first and last, so that a failed leg is named, not lost
    merge        add the artifact folders that arrived to the history branch (asv-results) and push it, without
                 force; say in the job summary which legs measured, failed or are missing, and why
    publish      asv publish from the history branch, then the report and the site (landing page + asv)
    pr-artifact  package make compare's table for the comment workflow (and show it in the job summary)
    pr-comment   post or update the pull request's single comment from that package

GITHUB_TOKEN is taken out of the environment as the command starts and given only to the git commands that
talk to the remote (and to the comment's API calls): asv, pip, npm and the report never see it.

Exit status: 0; 1 when a step fails (one line on stderr); 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from asv import config as asv_config
from asv import machine as asv_machine

from . import github, history, legs
from .errors import PipelineError

ROOT = Path(__file__).resolve().parent.parent
ZERO = "0" * 40  # GitHub's "before" for a branch's first push
MAX_LAST = 100  # commits a manual run may ask for (a longer backfill: run it in parts)
# Quick mode (rehearsals): one round of one sample per benchmark, recorded (asv run --quick records nothing).
QUICK = ("-a", "rounds=1", "-a", "repeat=1", "-a", "warmup_time=0")


def _asv(*args: str) -> subprocess.CompletedProcess:
    """asv from this interpreter's environment, with every installed Python's real folder first on PATH."""
    dirs = subprocess.run([str(ROOT / "scripts" / "python-dirs")], capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "PATH": f"{dirs}:{os.environ['PATH']}" if dirs else os.environ["PATH"]}
    print("+ asv " + " ".join(args), file=sys.stderr, flush=True)
    return subprocess.run([sys.executable, "-m", "asv", *args], cwd=ROOT, env=env)


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


def cmd_machine(args: argparse.Namespace) -> int:
    info = record_machine(args.name or machine_name())
    print(f"{info['machine']}: {info['cpu']}, {info['num_cpu']} CPUs, {int(info['ram']) / 2**30:.0f} GB, {info['os']}",
          file=sys.stderr)
    return 0


def expected_pythons() -> list[str]:
    """The Pythons asv.conf.json lists: one measuring leg each."""
    return list(asv_config.Config.load(str(ROOT / "asv.conf.json")).pythons)


def commits_to_measure(before: str, after: str, limit: int, last: int | None = None) -> tuple[list[str], str]:
    """The commits a push brought (first parents, newest first, at most ``limit``), the ``last`` N commits up to
    ``after`` when asked (a manual run, at most MAX_LAST), or just ``after`` when ``before`` is unknown (a new
    branch, a forced push); and a note saying what a cap left out, if one did."""
    after = history.git(ROOT, "rev-parse", "--verify", f"{after}^{{commit}}")
    if last:
        found = history.git(ROOT, "rev-list", "--first-parent", f"--max-count={min(last, MAX_LAST)}",
                            after).splitlines()
        note = (f"asked for the last {last} commits; measuring {len(found)} (at most {MAX_LAST} per run)"
                if last > len(found) else "")
        return found, note
    known = subprocess.run(["git", "cat-file", "-e", f"{before}^{{commit}}"], cwd=ROOT, capture_output=True)
    if before and before != ZERO and known.returncode == 0:
        brought = history.git(ROOT, "rev-list", "--first-parent", f"{before}..{after}").splitlines()
        note = (f"the push brought {len(brought)} commits; measuring the newest {limit} (run Benchmarks by hand "
                "for the others)" if len(brought) > limit else "")
        return brought[:limit] or [after], note
    return [after], ""


def cmd_measure(args: argparse.Namespace) -> int:
    out = Path(args.out)
    leg = legs.Leg(args.python)
    leg.write(out)  # "did not finish", until this leg says otherwise
    try:
        leg.commits, leg.note, leg.new_results = _measure(args, out)
        leg.status, leg.reason = "measured", ""
    except PipelineError as error:
        leg.status, leg.reason = "failed", str(error)
        raise
    finally:
        leg.write(out)
    if leg.note:
        legs.step_summary(f"Python {args.python}: {leg.note}.")
    return 0


def _measure(args: argparse.Namespace, out: Path) -> tuple[list[str], str, int]:
    results, provenance = ROOT / ".asv" / "results", ROOT / ".asv" / "provenance"
    tip = history.fetch(ROOT, args.remote, token=args.token)
    history.export(ROOT, tip, ROOT / ".asv")  # so that asv --skip-existing knows what this Python has already
    commits, note = commits_to_measure(args.before, args.after, args.max_commits, args.last)
    machine = args.machine or machine_name()
    hashes = ROOT / ".asv" / "measure.hashes"
    hashes.parent.mkdir(parents=True, exist_ok=True)
    hashes.write_text("\n".join(commits) + "\n")
    record_machine(machine)
    subprocess.run([sys.executable, "-m", "benchmarks", "provenance", "--json", str(provenance / f"{machine}.json")],
                   cwd=ROOT, check=True)
    before = {p: p.stat().st_mtime_ns for p in results.rglob("*.json")}
    # --skip-existing, per environment: a commit another Python has measured is still measured on this one (and a
    # benchmark added since is measured on old commits); --skip-existing-commits would skip the whole commit.
    run = _asv("run", f"HASHFILE:{hashes}", "--skip-existing", "--record-samples", "--machine", machine,
               "-E", f"virtualenv:{args.python}", *(QUICK if args.quick else ()),
               *(("--bench", args.bench) if args.bench else ()))
    # asv exits 2 when a benchmark failed: that is a result (recorded as null), to be published, not lost.
    if run.returncode not in (0, 2):
        raise PipelineError(f"asv run failed with status {run.returncode}")
    new = [p for p in results.rglob("*.json") if before.get(p) != p.stat().st_mtime_ns]
    for path in [*new, results / "benchmarks.json", results / machine / "machine.json",
                 provenance / f"{machine}.json"]:
        if path.exists():
            target = out / path.relative_to(ROOT / ".asv")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    measured = len([p for p in new if p.parent.name == machine and p.name != "machine.json"])
    print(f"{measured} new result file(s) for {len(commits)} commit(s) on {machine}, Python {args.python}, "
          f"in {out}", file=sys.stderr)
    return commits, note, measured


def cmd_merge(args: argparse.Namespace) -> int:
    sources = [Path(folder) for folder in args.artifacts if Path(folder).is_dir()]
    text, _ = legs.summary(sources, expected_pythons())
    legs.step_summary(text)
    print(text, file=sys.stderr)
    tip = history.merge_and_push(ROOT, args.remote, sources, args.message, token=args.token)
    print(f"{history.BRANCH} is at {tip[:12]}", file=sys.stderr)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    # In the workflow the merge step of the same job has just fetched (and pushed) the branch: no need to fetch
    # again, and so no token here.
    tip = history.local_tip(ROOT) if args.no_fetch else history.fetch(ROOT, args.remote, token=args.token)
    if tip is None:
        raise PipelineError(f"no {history.BRANCH} branch on {args.remote} yet: nothing to publish")
    with_history = ROOT / ".asv" / "history"
    shutil.rmtree(with_history, ignore_errors=True)
    history.export(ROOT, tip, with_history)
    history.replace_folder(with_history / "results", ROOT / ".asv" / "results")
    history.replace_folder(with_history / "provenance", ROOT / ".asv" / "provenance")
    if _asv("publish").returncode != 0:
        raise PipelineError("asv publish failed")
    report = subprocess.run([sys.executable, "-m", "reports", "summary", "--out", "reports", "--site", args.site,
                             *(("--machine", args.machine) if args.machine else ())], cwd=ROOT)
    if report.returncode != 0:
        raise PipelineError("the report failed")
    legs.step_summary((ROOT / "reports" / "summary.md").read_text())
    return 0


def cmd_pr_artifact(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"\d+", args.pr) or not re.fullmatch(r"[0-9a-f]{40}", args.head):
        raise PipelineError("--pr must be a number and --head a full commit hash")
    table = ROOT / "reports" / "compare.md"
    github.artifact(Path(args.out), args.pr, args.head, table)
    legs.step_summary((Path(args.out) / "compare.md").read_text())
    return 0


def cmd_pr_comment(args: argparse.Namespace) -> int:
    folder = Path(args.artifact)
    number = github.read_pr(folder, args.head_sha)
    text = github.body(folder, args.run_url)
    if args.dry_run:
        print(text)
        return 0
    if not args.token:
        raise PipelineError("GITHUB_TOKEN is not set")
    done = github.upsert_comment(github.Api(args.repo, args.token), number, args.head_sha, text)
    print(f"comment {done} on #{number}", file=sys.stderr)
    return 0


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def make_parser() -> argparse.ArgumentParser:
    # Declarative, one block per step: the steps share option names (--machine, --remote) but not their help or
    # defaults, so each declares its own rather than through a shared helper that would hide what a step takes.
    parser = OneLineParser(prog="python -m pipeline",
                          description="The GitHub workflows' steps, runnable (and rehearsed) anywhere.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    measure = commands.add_parser("measure", help="measure the commits a push brought")
    measure.add_argument("--before", default="", help="the commit before the push (GitHub's event.before)")
    measure.add_argument("--after", default="HEAD")
    measure.add_argument("--python", required=True, help="e.g. 3.11")
    measure.add_argument("--last", type=int, help=f"measure the last N commits up to --after instead (at most "
                         f"{MAX_LAST})")
    measure.add_argument("--max-commits", type=int, default=10)
    measure.add_argument("--machine", help="default: scripts/machine-name")
    measure.add_argument("--out", required=True, help="folder for the new results (the artifact)")
    measure.add_argument("--quick", action="store_true", help="one sample per benchmark (rehearsals)")
    measure.add_argument("--bench", help="asv --bench regex")
    measure.add_argument("--remote", default="origin")
    measure.set_defaults(func=cmd_measure)

    machine = commands.add_parser("machine", help="record this machine's CPU, memory and OS for asv")
    machine.add_argument("--name", help="default: scripts/machine-name")
    machine.set_defaults(func=cmd_machine)

    merge = commands.add_parser("merge", help="add results to the history branch and push it")
    merge.add_argument("artifacts", nargs="+", help="folders holding results/ (and provenance/)")
    merge.add_argument("--message", default="Add benchmark results")
    merge.add_argument("--remote", default="origin")
    merge.set_defaults(func=cmd_merge)

    publish = commands.add_parser("publish", help="asv publish, report and site from the history branch")
    publish.add_argument("--site", default="site")
    publish.add_argument("--machine")
    publish.add_argument("--remote", default="origin")
    publish.add_argument("--no-fetch", action="store_true", help="use the branch as the merge step left it")
    publish.set_defaults(func=cmd_publish)

    artifact = commands.add_parser("pr-artifact", help="package the comparison for the comment workflow")
    artifact.add_argument("--pr", required=True)
    artifact.add_argument("--head", required=True, help="the PR's head commit")
    artifact.add_argument("--out", required=True)
    artifact.set_defaults(func=cmd_pr_artifact)

    comment = commands.add_parser("pr-comment", help="post or update the PR's comment from the package")
    comment.add_argument("--artifact", required=True)
    comment.add_argument("--repo", required=True, help="owner/name")
    comment.add_argument("--head-sha", required=True, help="the commit the comparison run measured")
    comment.add_argument("--run-url", default="")
    comment.add_argument("--dry-run", action="store_true", help="print the comment instead of posting it")
    comment.set_defaults(func=cmd_pr_comment)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    args.token = os.environ.pop("GITHUB_TOKEN", None) or None  # see the module's docstring
    try:
        return args.func(args)
    except PipelineError as error:
        print(f"python -m pipeline: error: {error}", file=sys.stderr)
        return 1
