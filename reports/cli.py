"""The command line of the reports: ``compare`` two commits (more commands build on the same results).

Exit status: 0, or 1 when ``compare`` finds a significant regression, or 2 for bad arguments or missing results
(one line on stderr).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from asv import util as asv_util

from . import asvdata
from . import compare as comparing


class ReportError(Exception):
    """Something the user can fix: a commit that does not exist, results that are missing."""


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
    changes = comparing.compare(base_rows, head_rows, args.factor)
    text = comparing.markdown(changes, f"{args.base} ({base[:8]})", f"{args.head} ({head[:8]})", args.factor)
    print(text)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(text)
    return 1 if any(change.regression for change in changes) else 0


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m reports", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    comp = commands.add_parser("compare", help="compare two commits' results; exit 1 on a significant regression")
    comp.add_argument("base")
    comp.add_argument("head")
    comp.add_argument("--config", default="asv.conf.json")
    comp.add_argument("--machine", required=True)
    comp.add_argument("--factor", type=float, default=1.05)
    comp.add_argument("--markdown", metavar="FILE", help="also write the table here")
    comp.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ReportError, asv_util.UserError) as error:
        print(f"python -m reports: error: {error}", file=sys.stderr)
        return 2
