"""``python -m pipeline``: the steps of the GitHub workflows, runnable (and rehearsed by the tests) anywhere.

    machine      record this machine (CPU, memory, OS) under its name for asv
    dependencies put into asv's results the versions each commit was measured with (after every asv run:
                 asv drops what it does not know when it rewrites a results file)
    measure      run the asv suite on the commits a push brought, on one Python, skipping what the history
                 already has for that Python; copy the new results into an artifact folder, with the leg's
                 status (leg.json) written first and last, so that a failed leg is named, not lost
    merge        add the artifact folders that arrived to the history branch (asv-results) and push it, without
                 force; say in the job summary which legs measured, failed or are missing, and why
    publish      asv publish from the history branch, then the report and the site (landing page + asv)
    newest       whether the history a site was built from is still the branch's tip (else a newer publish
                 deploys: publishes that race deploy in any order)
    pr-artifact  package make compare's table for the comment workflow (and show it in the job summary)
    pr-comment   post or update the pull request's single comment from that package
    announce     open, update or close the regressions' issues, from the publish job's data
    dispatch     start a workflow again by its workflow_dispatch event (the bisection's run)

The make targets that run asv (pipeline.asvrun builds every asv command line) or chain the suite and the reports:

    compare      BASE and HEAD in one asv run, the flagged timings measured again, the table, the attribution
                 (pipeline.gate); exit 0, 1 on a regression, 2 on an error
    bench        HEAD on the default Python, recorded, then the report; --quick: asv's one run of each
    report       asv publish, then the summary and the site
    history      the last N commits on every installed Python of asv.conf.json, then the report
    smoke        asv check, then every benchmark once against the working tree (nothing recorded)
    profile      where one target's instructions go, HEAD against --against
    regressions  the open regressions and drifts in the local results, one line each (exit 1: open, 2: could not
                 tell); bisect places a counted step that lies between two measured commits
    sweep        python -m benchmarks sweep, then python -m reports sweep (and the report when results exist)

GITHUB_TOKEN is taken out of the environment as the command starts and given only to the git commands that
talk to the remote (and to the comment's API calls): asv, pip, npm and the report never see it.

Exit status: 0; 1 when a step fails (one line on stderr); 2 for bad arguments. The make targets' commands exit
as their recipes did.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# Only the standard library and the stdlib-only modules here: pr-artifact and pr-comment run under the runner's
# bare python3, with nothing installed. The commands that need asv import pipeline.measure when they run.
from . import api, artifact, asvrun, comment, gate, history, issues, legs, regressions, targets
from .errors import PipelineError

ROOT = Path(__file__).resolve().parent.parent


def cmd_machine(args: argparse.Namespace) -> int:
    from . import measure

    info = measure.record_machine(args.name or measure.machine_name())
    print(f"{info['machine']}: {info['cpu']}, {info['num_cpu']} CPUs, {int(info['ram']) / 2**30:.0f} GB, {info['os']}",
          file=sys.stderr)
    return 0


def cmd_dependencies(args: argparse.Namespace) -> int:
    from . import measure

    machine = args.machine or measure.machine_name()
    print(f"{machine}: versions recorded in {measure.record_dependencies(machine)} results file(s)", file=sys.stderr)
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    from . import measure

    out = Path(args.out)
    leg = legs.Leg(args.python)
    leg.write(out)  # "did not finish", until this leg says otherwise
    try:
        if args.bisect:
            measure.bisect(leg, out, machine=args.machine or measure.machine_name(), remote=args.remote,
                           token=args.token)
        else:
            measure.measure(leg, out, before=args.before, after=args.after, limit=args.max_commits,
                            last=args.last, machine=args.machine or measure.machine_name(), remote=args.remote,
                            token=args.token, quick=args.quick, bench=args.bench)
        leg.status, leg.reason = "measured", ""
    except PipelineError as error:
        leg.status, leg.reason = "failed", str(error)
        raise
    finally:
        leg.write(out)
    if leg.note:
        legs.step_summary(f"Python {args.python}: {leg.note}.")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from . import measure

    sources = legs.folders(args.artifacts)
    text, _ = legs.summary(sources, measure.expected_pythons())
    legs.step_summary(text)
    print(text, file=sys.stderr)
    tip = history.merge_and_push(ROOT, args.remote, sources, args.message, token=args.token)
    print(f"{history.BRANCH} is at {tip[:12]}", file=sys.stderr)
    # The measured branch as it is now, for the publish step (which has no token): a run started by an older
    # push may publish after a newer one, and its site must show the newer push's commits too.
    for branch in measure.branches():
        history.fetch(ROOT, args.remote, branch, token=args.token)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from . import measure

    # In the workflow the merge step of the same job has just fetched (and pushed) the branch: no need to fetch
    # again, and so no token here.
    tip = history.local_tip(ROOT) if args.no_fetch else history.fetch(ROOT, args.remote, token=args.token)
    if tip is None:
        raise PipelineError(f"no {history.BRANCH} branch on {args.remote} yet: nothing to publish")
    for branch in measure.branches():  # asv's graphs follow these branches: as they are now on the remote
        newest = history.local_tip(ROOT, branch) if args.no_fetch else history.fetch(ROOT, args.remote, branch,
                                                                                       token=args.token)
        if newest:
            history.advance(ROOT, branch, newest)
    with_history = ROOT / ".asv" / "history"
    shutil.rmtree(with_history, ignore_errors=True)
    history.export(ROOT, tip, with_history)
    history.replace_folder(with_history / "results", ROOT / ".asv" / "results")
    history.replace_folder(with_history / "provenance", ROOT / ".asv" / "provenance")
    if asvrun.Asv()("publish") != 0:
        raise PipelineError("asv publish failed")
    # The regressions over the whole history, for the announcing job (its artifact), the bisection, and the top of
    # the summary, the job's summary and the landing page; with what the bisection's runs found of their cost.
    found = regressions.detect(asvrun.Runner())
    explained = with_history / "regressions"
    for regression in found["regressions"]:
        for path in sorted((explained / regression["commit"]).glob("py*.json")) if regression["commit"] else ():
            regression.setdefault("attribution", {})[path.stem[2:]] = json.loads(path.read_text())
    regressions.DATA_PATH.write_text(json.dumps(found, indent=1) + "\n")
    preface = ROOT / ".asv" / "regressions.md"
    preface.write_text(issues.summary(found, args.pages))
    report = subprocess.run([sys.executable, "-m", "reports", "summary", "--out", "reports", "--site", args.site,
                             "--preface", str(preface), *(("--machine", args.machine) if args.machine else ())],
                            cwd=ROOT)
    if report.returncode != 0:
        raise PipelineError("the report failed")
    if explained.is_dir():  # the regressions' flame graphs, where their issues link them
        shutil.copytree(explained, Path(args.site) / "regressions", dirs_exist_ok=True)
    legs.step_summary((ROOT / "reports" / "summary.md").read_text())
    legs.step_output("history-tip", tip)  # the deploy job deploys this site only if no newer history landed since
    # What the bisection's run has to do: steps to place, and placed regressions whose cost is not profiled yet.
    pending = len(regressions.unplaced(found)) + len(regressions.unexplained(found, explained))
    legs.step_output("pending", str(pending))
    return 0


def cmd_announce(args: argparse.Namespace) -> int:
    data = issues.read(Path(args.regressions))
    mention, dropped = issues.mentions(os.environ.get("BENCH_ALERT_MENTION", ""))
    if dropped:
        print(f"BENCH_ALERT_MENTION: not a login or team, left out: {' '.join(dropped)}", file=sys.stderr)
    if args.dry_run:
        for action in issues.plan(data, {}, args.run_url, args.pages, mention):
            print(f"{action.kind} {action.key}: {action.title}\n{action.body}")
        return 0
    if not args.token:
        raise PipelineError("GITHUB_TOKEN is not set")
    for line in issues.announce(api.Api(args.repo, args.token), data, args.run_url, args.pages, mention) or \
            ["nothing to announce: the issues say what the history says"]:
        print(line, file=sys.stderr)
    return 0


def cmd_dispatch(args: argparse.Namespace) -> int:
    """Start the workflow again, by hand as it were: the bisection's run."""
    if not args.token:
        raise PipelineError("GITHUB_TOKEN is not set")
    inputs = dict(item.split("=", 1) for item in args.input)
    api.Api(args.repo, args.token).call("POST", f"/actions/workflows/{args.workflow}/dispatches",
                                        {"ref": args.ref, "inputs": inputs})
    print(f"dispatched {args.workflow} on {args.ref} with {inputs}", file=sys.stderr)
    return 0


def cmd_newest(args: argparse.Namespace) -> int:
    """Whether the site built from history ``--tip`` is still the newest: the remote's branch has not moved on."""
    if not re.fullmatch(r"[0-9a-f]{40}", args.tip):
        raise PipelineError(f"--tip must be a full commit hash, not {args.tip!r}")
    current = history.remote_tip(ROOT, args.remote, token=args.token)
    newest = current == args.tip
    legs.step_output("newest", "true" if newest else "false")
    print(f"{history.BRANCH} is at {(current or 'nothing')[:12]}; this site was built from {args.tip[:12]}: "
          + ("deploying it" if newest else "a newer publish deploys a site that holds this one's results"),
          file=sys.stderr)
    return 0


def cmd_pr_artifact(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"\d+", args.pr) or not re.fullmatch(r"[0-9a-f]{40}", args.head):
        raise PipelineError("--pr must be a number and --head a full commit hash")
    # The comparison as data: the comment workflow validates it and renders the comment itself.
    artifact.artifact(Path(args.out), args.pr, args.head, ROOT / "reports" / "compare.json",
                    ROOT / "reports" / "attribution")
    table = ROOT / "reports" / "compare.md"
    legs.step_summary(table.read_text() if table.exists() else "The comparison produced no table: see the log.")
    return 0


def cmd_pr_comment(args: argparse.Namespace) -> int:
    folder = Path(args.artifact)
    number = artifact.read_pr(folder, args.head_sha)
    text = comment.body(folder, number, args.head_sha, args.conclusion, args.run_url)
    if args.dry_run:
        print(text)
        return 0
    if not args.token:
        raise PipelineError("GITHUB_TOKEN is not set")
    done = api.upsert_comment(api.Api(args.repo, args.token), number, args.head_sha, text)
    print(f"comment {done} on #{number}", file=sys.stderr)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    return gate.compare(gate.Comparison(args.base, args.machine, args.head, args.factor, args.threshold, args.bench,
                                        asvrun.split(args.asv_args)))


def cmd_bench(args: argparse.Namespace) -> int:
    return targets.bench(args.machine, args.bench, asvrun.split(args.asv_args), args.quick, asvrun.Runner())


def cmd_report(args: argparse.Namespace) -> int:
    return targets.report(args.machine, asvrun.Runner())


def cmd_history(args: argparse.Namespace) -> int:
    return targets.history(args.machine, args.count, args.bench, asvrun.split(args.asv_args), asvrun.Runner())


def cmd_smoke(args: argparse.Namespace) -> int:
    return targets.smoke(args.machine, args.bench, asvrun.split(args.asv_args), asvrun.Runner())


def cmd_profile(args: argparse.Namespace) -> int:
    return targets.profile(args.machine, args.target, args.against, asvrun.Runner())


def cmd_regressions(args: argparse.Namespace) -> int:
    try:
        return regressions.report(regressions.detect(asvrun.Runner(), tip=args.tip))
    except PipelineError as error:  # could not tell: 2, not the 1 of an open regression
        print(f"python -m pipeline regressions: error: {error}", file=sys.stderr)
        return 2


def cmd_bisect(args: argparse.Namespace) -> int:
    regressions.bisect(args.machine)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    return targets.sweep(args.machine, asvrun.split(args.sweep_args), asvrun.Runner())


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
                         f"{legs.MAX_LAST})")
    measure.add_argument("--max-commits", type=int, default=10)
    measure.add_argument("--machine", help="default: scripts/machine-name")
    measure.add_argument("--out", required=True, help="folder for the new results (the artifact)")
    measure.add_argument("--quick", action="store_true", help="one sample per benchmark (rehearsals)")
    measure.add_argument("--bench", help="asv --bench regex")
    measure.add_argument("--remote", default="origin")
    measure.add_argument("--bisect", action="store_true", help="instead: place the open counted steps of this "
                         "Python that lie between two measured commits (make bisect, on the history branch)")
    measure.set_defaults(func=cmd_measure)

    machine = commands.add_parser("machine", help="record this machine's CPU, memory and OS for asv")
    machine.add_argument("--name", help="default: scripts/machine-name")
    machine.set_defaults(func=cmd_machine)

    dependencies = commands.add_parser("dependencies", help="record in asv's results the versions measured")
    dependencies.add_argument("--machine", help="default: scripts/machine-name")
    dependencies.set_defaults(func=cmd_dependencies)

    merge = commands.add_parser("merge", help="add results to the history branch and push it")
    merge.add_argument("artifacts", nargs="+", help="the legs' artifact folders (holding results/, provenance/ and "
                       "leg.json), or folders of them")
    merge.add_argument("--message", default="Add benchmark results")
    merge.add_argument("--remote", default="origin")
    merge.set_defaults(func=cmd_merge)

    publish = commands.add_parser("publish", help="asv publish, report and site from the history branch")
    publish.add_argument("--site", default="site")
    publish.add_argument("--machine")
    publish.add_argument("--remote", default="origin")
    publish.add_argument("--no-fetch", action="store_true", help="use the branch as the merge step left it")
    publish.add_argument("--pages", default="", help="the published site's address, for the links to the graphs")
    publish.set_defaults(func=cmd_publish)

    announce = commands.add_parser("announce", help="open, update or close the regressions' issues")
    announce.add_argument("--regressions", required=True, help="python -m reports regressions' data (the publish "
                          "job's artifact)")
    announce.add_argument("--repo", default="", help="owner/name")
    announce.add_argument("--run-url", default="")
    announce.add_argument("--pages", default="", help="the published site's address")
    announce.add_argument("--dry-run", action="store_true", help="print what would be opened, without the API")
    announce.set_defaults(func=cmd_announce)

    dispatch = commands.add_parser("dispatch", help="start a workflow by its workflow_dispatch event")
    dispatch.add_argument("--repo", required=True)
    dispatch.add_argument("--workflow", required=True, help="its file name, e.g. benchmarks.yml")
    dispatch.add_argument("--ref", required=True)
    dispatch.add_argument("--input", action="append", default=[], help="NAME=VALUE (repeat)")
    dispatch.set_defaults(func=cmd_dispatch)

    newest = commands.add_parser("newest", help="is a site built from this history tip still the newest?")
    newest.add_argument("--tip", required=True, help="the asv-results commit the site was built from")
    newest.add_argument("--remote", default="origin")
    newest.set_defaults(func=cmd_newest)

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
    comment.add_argument("--conclusion", default="", help="the comparison run's conclusion (GitHub's "
                         "workflow_run.conclusion), stated in the comment's header")
    comment.add_argument("--dry-run", action="store_true", help="print the comment instead of posting it")
    comment.set_defaults(func=cmd_pr_comment)

    # The make targets. --bench and --asv-args as make hands them on (BENCH, ASV_ARGS; empty: none).
    compare = commands.add_parser("compare", help="BASE and HEAD in one asv run; exit 1 on a regression, 2 on an "
                                  "error")
    compare.add_argument("--base", required=True, help="a commit, branch or tag")
    compare.add_argument("--head", default="HEAD")
    compare.add_argument("--machine", required=True)
    compare.add_argument("--factor", default="", help="asv's factor for timed benchmarks (reports.compare's default)")
    compare.add_argument("--threshold", default="", help="for counted benchmarks (reports.compare's default)")
    compare.add_argument("--bench", default="", help="asv --bench regex for the first run")
    compare.add_argument("--asv-args", default="", help="more options for asv run, one string (e.g. '-a rounds=4')")
    compare.set_defaults(func=cmd_compare)

    bench = commands.add_parser("bench", help="HEAD on the default Python, recorded, then the report")
    bench.add_argument("--machine", required=True)
    bench.add_argument("--quick", action="store_true", help="every benchmark run once (asv's --quick), recorded")
    bench.add_argument("--bench", default="")
    bench.add_argument("--asv-args", default="")
    bench.set_defaults(func=cmd_bench)

    report = commands.add_parser("report", help="asv publish, the summary and the site from asv's results")
    report.add_argument("--machine", required=True)
    report.set_defaults(func=cmd_report)

    hist = commands.add_parser("history", help="the last N commits on every installed Python, then the report")
    hist.add_argument("--machine", required=True)
    hist.add_argument("--count", type=int, default=10)
    hist.add_argument("--bench", default="")
    hist.add_argument("--asv-args", default="")
    hist.set_defaults(func=cmd_history)

    smoke = commands.add_parser("smoke", help="asv check, then every benchmark once against the working tree")
    smoke.add_argument("--machine", required=True)
    smoke.add_argument("--bench", default="")
    smoke.add_argument("--asv-args", default="")
    smoke.set_defaults(func=cmd_smoke)

    prof = commands.add_parser("profile", help="where one target's instructions go, HEAD against --against")
    prof.add_argument("--machine", required=True)
    prof.add_argument("--target", default="", help="a server scenario, client:STRATEGY or core:FUNCTION")
    prof.add_argument("--against", default="HEAD~1")
    prof.set_defaults(func=cmd_profile)

    regress = commands.add_parser("regressions", help="the open regressions and drifts in the local results, one "
                                  "line each; exit 1 when any is open, 2 when it could not tell")
    regress.add_argument("--tip", default="HEAD", help="the line of commits: this commit's first parents")
    regress.set_defaults(func=cmd_regressions)

    bisect = commands.add_parser("bisect", help="measure the commits between two sides of an open counted step "
                                 "until it sits on one commit")
    bisect.add_argument("--machine", required=True)
    bisect.set_defaults(func=cmd_bisect)

    sweep = commands.add_parser("sweep", help="the sweep, its section and charts, and the report")
    sweep.add_argument("--machine", required=True)
    sweep.add_argument("--sweep-args", default="", help="options for python -m benchmarks sweep, one string")
    sweep.set_defaults(func=cmd_sweep)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    args.token = os.environ.pop("GITHUB_TOKEN", None) or None  # see the module's docstring
    try:
        return args.func(args)
    except PipelineError as error:
        print(f"python -m pipeline: error: {error}", file=sys.stderr)
        return 1
