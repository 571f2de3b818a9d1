"""The landing page next to asv's site: built from asv's results, rendered in headless Chromium offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from reports import site, summary

from ..browser import rendered_dom_and_requests
from .conftest import serve


class Page(HTMLParser):
    """Headings, links, and the cells of the first table of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.links: list[str] = []
        self.first_table: list[str] = []
        self._tables = 0
        self._text: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))
        elif tag == "table":
            self._tables += 1
        elif tag in ("h1", "h2") or (tag == "td" and self._tables == 1):
            self._text = []

    def handle_endtag(self, tag):
        if self._text is not None and tag in ("h1", "h2", "td"):
            (self.headings if tag != "td" else self.first_table).append("".join(self._text).strip())
            self._text = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


@pytest.fixture(scope="module")
def built_site(published, npm_cache, tmp_path_factory):
    """The site for the synthetic project behind ``published`` (its asv.conf.json is beside the html)."""
    tmp = tmp_path_factory.mktemp("site")
    result = summary.build(published.parent / "asv.conf.json", tmp / "report")
    site.build(result, published, tmp / "site", npm_cache)
    return tmp / "site"


@pytest.mark.needs("chromium")
def test_landing_page_and_asv_site_render_offline(built_site):
    with serve(built_site) as port:
        local = f"http://127.0.0.1:{port}/"
        landing, landing_requests = rendered_dom_and_requests(local + "index.html", budget_ms=1000)
        graph, graph_requests = rendered_dom_and_requests(
            local + "asv/index.html#servers.ServerThroughput.time_batch")
    page = Page()
    page.feed(landing)
    assert page.headings[0].startswith("planet-tracker benchmarks:")
    assert "The article's table, re-measured" in page.headings and "Graphs" in page.headings
    assert page.first_table[:4] == ["Development server (req/s)", "12,000 (11,911-12,091)", "1,600 (1,588-1,612)",
                                    "+650.0 (+642.6 to +657.5)"]
    assert "asv/#servers.ServerThroughput.time_batch?p-scenario=%27aiohttp-dev%27" in page.links
    # Throughput as req/s beside asv's graphs of seconds per batch, and how one reads from the other.
    assert "aiohttp-dev</a>: 12,000 req/s (0.0833 s a batch) on Python 3.11" in landing
    assert "0.1 s a batch is 10,000 req/s" in landing
    assert f"{local}server.png" in landing_requests and f"{local}history.png" in landing_requests
    # The graph page that the links open: asv drew it, from files served here.
    assert "ServerThroughput.time_batch" in graph and 'class="flot-base"' in graph
    assert [url for url in landing_requests + graph_requests if not url.startswith(local)] == []


def test_site_files(built_site):
    assert {p.name for p in built_site.iterdir()} >= {"index.html", "summary.md", "server.png", "history.png",
                                                     "exports", "asv"}
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?:', (built_site / "asv" / "index.html").read_text())
    assert (built_site / "exports" / "server_table.csv").is_file()


def test_an_interrupted_build_leaves_the_previous_site(built_site, published, tmp_path, monkeypatch):
    result = summary.build(published.parent / "asv.conf.json", tmp_path / "report")
    before = (built_site / "index.html").read_text()

    def fail(*args):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(site, "make_offline", fail)
    with pytest.raises(RuntimeError):
        site.build(result, published, built_site, tmp_path / "cache")
    assert (built_site / "index.html").read_text() == before
    assert not [p for p in built_site.parent.iterdir() if p.name.startswith(f".{built_site.name}-")]


def test_missing_asv_site_is_a_clear_error(published, tmp_path):
    result = summary.build(published.parent / "asv.conf.json", tmp_path / "report")
    with pytest.raises(site.SiteError, match=r"no asv site in .*: run asv publish"):
        site.build(result, tmp_path / "nothing", tmp_path / "site", tmp_path / "cache")
