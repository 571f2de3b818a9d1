"""``python -m reports``: ``summary`` (the tables, charts, exports and site), ``compare`` (two commits),
``attribution`` (where a comparison's counted benchmarks changed) and ``sweep`` (the map of where async overtakes
sync).

Exit status: 0, or 1 when ``compare`` finds a significant regression, or 2 for bad arguments or missing results
(one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import benchmarks.harness.formats as formats

# The summary, the site and the sweep's map need pandas and matplotlib (the report extra): imported by their
# commands only, so that compare, attribution and regressions run where the instrument alone is installed (a
# measuring leg bisects with regressions).
from . import asvdata, attribution, compare, regressions
from .errors import ReportError


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _commit(name: str) -> str:
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise ReportError(f"no such commit: {name}")
    return done.stdout.strip()


def cmd_compare(args: argparse.Namespace) -> int:
    conf = asvdata.load_config(args.config)
    info = asvdata.benchmark_info(conf)
    base, head = _commit(args.base), _commit(args.head)
    base_rows = list(asvdata.iter_rows(conf.results_dir, info, args.machine, base))
    head_rows = list(asvdata.iter_rows(conf.results_dir, info, args.machine, head))
    for name, rows in ((args.base, base_rows), (args.head, head_rows)):
        if not rows:
            raise ReportError(f"no asv results for {name} on machine {args.machine!r} in {conf.results_dir}")
    flagged_before = None
    if args.confirm:
        try:
            flagged_before = compare.read_flags(json.loads(Path(args.confirm).read_text()))
        except (OSError, ValueError, TypeError) as error:
            raise ReportError(f"cannot read the first comparison's flags {args.confirm}: {error}") from None
    changes = compare.compare(base_rows, head_rows, args.factor, args.threshold, flagged_before)
    pythons = {row.env: row.python for row in (*base_rows, *head_rows)}
    recorded = [asvdata.dependencies(conf.results_dir, args.machine, commit) for commit in (base, head)]
    deps = compare.dependencies(*recorded, pythons)
    if args.flagged:
        # The first of two comparisons: record which timed benchmarks to measure again (and which way each moved),
        # print asv's regex for them.
        Path(args.flagged).write_text(json.dumps(compare.flags(changes)) + "\n")
        print(compare.bench_regex(compare.flagged_timed(changes)))
        return 0
    names = f"{args.base} ({base[:8]})", f"{args.head} ({head[:8]})"
    text = compare.markdown(changes, *names, args.factor, args.threshold, confirmed=flagged_before is not None,
                            deps=deps, built=compare.builds(*recorded, pythons, *names))
    print(text)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(text)
    if args.json:
        data = compare.as_data(changes, (args.base, base), (args.head, head), args.factor, args.threshold,
                                 confirmed=flagged_before is not None, deps=deps)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    return 1 if any(change.regression for change in changes) else 0


def cmd_attribution(args: argparse.Namespace) -> int:
    if args.json is None:  # two commits' profiles, as make profile measures them
        if not (args.base and args.head):
            raise ReportError("give --json (a comparison's flagged benchmarks) or --base and --head (commits)")
        base, head = _commit(args.base), _commit(args.head)
        text, data = attribution.between(Path(args.dir) / base, Path(args.dir) / head, None, Path(args.graphs))
        if not text:
            raise ReportError(f"no profiles of both {base[:8]} and {head[:8]} in {args.dir}")
        print(text)
        if args.markdown:
            Path(args.markdown).write_text(text)
        if args.data:  # the rankings as data: what a regression's issue shows (pipeline/issues.py)
            Path(args.data).write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
        return 0
    path = Path(args.json)
    try:
        comparison = formats.COMPARISON.load(path)
    except formats.FormatError as error:
        raise ReportError(f"the comparison: {error}") from None
    if args.flagged:
        print(";".join(attribution.flagged(comparison)))
        return 0
    text, data = attribution.attribute(comparison, Path(args.dir), Path(args.graphs))
    if not text:
        return 0
    print(text)
    comparison["attribution"] = data
    path.write_text(json.dumps(comparison, indent=1, allow_nan=False) + "\n")
    if args.markdown:
        with open(args.markdown, "a") as file:
            file.write("\n" + text)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from . import site
    from .summary import build

    summary = build(Path(args.config), Path(args.out), args.machine, args.back, args.factor,
                    Path(args.preface) if args.preface else None)
    if args.site:
        site.build(summary, Path(args.asv_html), Path(args.site), Path(args.vendor_cache))
        print(f"site: {Path(args.site).resolve()}/index.html", file=sys.stderr)
    print(f"summary: {(summary.out / 'summary.md').resolve()}", file=sys.stderr)
    return 0


def cmd_regressions(args: argparse.Namespace) -> int:
    data = regressions.detect(Path(args.config), Path(args.repo), args.tip, args.machine or ())
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    opened = sum(r["status"] == "open" for r in data["regressions"])
    print(f"regressions: {opened} open, {len(data['regressions']) - opened} recovered, {len(data['drifts'])} "
          f"drift(s), {len(data['timed'])} timed step(s) (unconfirmed) over {len(data['thresholds'])} counted "
          f"series: {args.json}", file=sys.stderr)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from . import crossover

    crossover.build(Path(args.results), Path(args.out))
    print(f"sweep: {(Path(args.out) / 'sweep.md').resolve()} (the summary includes it)", file=sys.stderr)
    return 0


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1, e.g. 0.01, not {text!r}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m reports",
                          description="Reports from asv's results: the summary and commit comparisons.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    comp = commands.add_parser("compare", help="compare two commits' results; exit 1 on a significant regression")
    comp.add_argument("base")
    comp.add_argument("head")
    comp.add_argument("--config", default="asv.conf.json")
    comp.add_argument("--machine", required=True)
    comp.add_argument("--factor", type=float, default=compare.FACTOR, help="asv's factor for timed benchmarks")
    comp.add_argument("--threshold", type=_fraction, default=compare.THRESHOLD,
                      help="the change that counts for counted (instructions) benchmarks, e.g. 0.01 for 1 %%")
    comp.add_argument("--markdown", metavar="FILE", help="also write the table here")
    comp.add_argument("--json", metavar="FILE", help="also write the comparison here as data (what the pull "
                      "request's comment is rendered from)")
    stage = comp.add_mutually_exclusive_group()
    stage.add_argument("--flagged", metavar="FILE", help="first comparison: write the timed benchmarks flagged "
                       "(slower or faster) here, print asv's --bench regex for them, exit 0")
    stage.add_argument("--confirm", metavar="FILE", help="second comparison: a timed change is + or - only if that "
                       "file (from --flagged) has it too, the same way; ~ otherwise")
    comp.set_defaults(func=cmd_compare)

    attr = commands.add_parser("attribution", help="where a comparison's flagged counted benchmarks changed: both "
                               "commits' profiles ranked, into its markdown and JSON, and flame graphs")
    attr.add_argument("--json", metavar="FILE", help="the comparison (compare --json's file): its flagged counted "
                      "benchmarks, ranked into it and into --markdown (appended)")
    attr.add_argument("--base", help="without --json: the base commit of the profiles in --dir")
    attr.add_argument("--head", help="without --json: the head commit (every benchmark profiled on both)")
    attr.add_argument("--flagged", action="store_true", help="print the flagged counted benchmarks, ';'-separated "
                      "(what to profile), and exit")
    attr.add_argument("--dir", default=".asv/attribution", help="the profiles: DIR/<commit>/<target>.json")
    attr.add_argument("--markdown", metavar="FILE", help="write the rankings here too (with --json: appended to the "
                      "comparison's table)")
    attr.add_argument("--graphs", default="reports/attribution", help="where the flame graphs go")
    attr.add_argument("--data", metavar="FILE", help="with --base and --head: the rankings as data, here")
    attr.set_defaults(func=cmd_attribution)

    summ = commands.add_parser("summary", help="the summary tables, charts and exports (and the site)")
    summ.add_argument("--config", default="asv.conf.json")
    summ.add_argument("--machine", help="default: the machine measured last")
    summ.add_argument("--out", default="reports", help="where summary.md, charts and exports go")
    summ.add_argument("--back", type=int, default=10, help="also compare with this many commits back")
    summ.add_argument("--factor", type=float, default=compare.FACTOR)
    summ.add_argument("--site", help="also build the site here: landing page + the asv site, offline")
    summ.add_argument("--asv-html", default=".asv/html", help="asv publish's output")
    summ.add_argument("--vendor-cache", default=".asv/vendor", help="downloaded npm packages for the site")
    summ.add_argument("--preface", metavar="FILE", help="markdown put right under the title (the open regressions "
                      "over time: python -m pipeline publish writes it)")
    summ.set_defaults(func=cmd_summary)

    regress = commands.add_parser("regressions", help="steps and drifts over the stored history, as data (python "
                                  "-m pipeline regressions prints them)")
    regress.add_argument("--json", required=True, metavar="FILE", help="where the data goes")
    regress.add_argument("--config", default="asv.conf.json")
    regress.add_argument("--repo", default=".", help="the git repository whose line of commits is read")
    regress.add_argument("--tip", default="HEAD", help="the line's last commit (its first parents before it)")
    regress.add_argument("--machine", action="append", help="only this machine (repeat; default: every one)")
    regress.set_defaults(func=cmd_regressions)

    swept = commands.add_parser("sweep", help="the sweep's map, latency curves and summary section")
    swept.add_argument("results", help="python -m benchmarks sweep's --json file")
    swept.add_argument("--out", default="reports")
    swept.set_defaults(func=cmd_sweep)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except ReportError as error:
        print(f"python -m reports: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
