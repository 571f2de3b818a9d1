"""The published site: a landing page with the summary, next to asv's own site made to work offline.

    <dest>/index.html        the summary as HTML, with links into asv's graphs
    <dest>/summary.md, *.png, exports/
    <dest>/asv/              a copy of asv publish's output, its CDN assets vendored (see ``offline``)

The site is built in a temporary sibling folder and swapped in at the end: an interrupted build leaves the
previous site whole.
"""

from __future__ import annotations

import html
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import markdown

from .errors import SiteError
from .offline import make_offline
from .summary import Summary

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 .2rem; }
nav a { margin-right: 1rem; }
"""


def graph_links(summary: Summary) -> str:
    """Markdown links into asv's graph pages: every benchmark, and each server scenario on its own."""
    lines = ["## Graphs", "Every benchmark across commits, in asv's site:", ""]
    lines += [f"- [{name}](asv/#{name})" for name in summary.benchmarks]
    batch = summary.batch_requests
    lines += ["", f"Each server scenario's throughput across commits. asv plots the seconds one batch of {batch:,} "
              f"requests takes (lower is better); requests per second are {batch:,} divided by it: 0.1 s a batch is "
              f"{batch / 0.1:,.0f} req/s, and a batch that takes twice as long serves half as many. At "
              f"`{summary.commit[:8]}`:", ""]
    for scenario in summary.scenarios:
        now = ", ".join(f"{rate:,.0f} req/s ({batch / rate:.3g} s a batch) on Python {python}"
                        for python, rate in sorted(summary.rates.get(scenario, {}).items()) if rate == rate)
        link = f"asv/#{summary.throughput}?p-scenario={quote(repr(scenario))}"
        lines.append(f"- [{scenario}]({link})" + (f": {now}" if now else ""))
    return "\n".join(lines)


def page(summary: Summary) -> str:
    body = markdown.markdown(summary.markdown + "\n\n" + graph_links(summary), extensions=["tables"])
    title = html.escape(f"planet-tracker benchmarks: {summary.commit[:8]} on {summary.machine}")
    return (f"<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>{STYLE}</style>\n"
            f"</head>\n<body>\n<nav><a href=\"asv/\">asv: all benchmarks</a><a href=\"summary.md\">summary.md</a>"
            f"<a href=\"exports/\">exports</a></nav>\n{body}\n</body>\n</html>\n")


def build(summary: Summary, asv_html: Path, dest: Path, cache: Path) -> Path:
    if not (asv_html / "index.html").exists():
        raise SiteError(f"no asv site in {asv_html}: run asv publish (make bench does) first")
    dest = dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        shutil.copytree(asv_html, work / "asv")
        make_offline(work / "asv", cache)
        for item in summary.out.iterdir():
            if item.suffix in (".md", ".png"):
                shutil.copy2(item, work / item.name)
        shutil.copytree(summary.out / "exports", work / "exports")
        (work / "index.html").write_text(page(summary))
        old = dest.with_name(dest.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if dest.exists():
            dest.rename(old)
        work.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return dest / "index.html"
