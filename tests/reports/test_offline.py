"""asv's published site made offline by reports.offline: it renders in headless Chromium with nothing but loopback."""

from __future__ import annotations

import io
import re
import shutil
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reports.errors import OfflineError
from reports.offline import ASSETS, make_offline

from ..browser import rendered_dom_and_requests
from . import synthetic
from .conftest import serve

DAY_S = 86400
# What asv's summary grid shows for each benchmark: its name without the module.
GRID_NAMES = {name.split(".", 1)[1] for name in synthetic.benchmark_table()}


@pytest.fixture(scope="session")
def offline_site(published, npm_cache, tmp_path_factory) -> Path:
    html = tmp_path_factory.mktemp("offline") / "html"
    shutil.copytree(published, html)
    make_offline(html, npm_cache)
    return html


@pytest.fixture
def site(published, tmp_path) -> Path:
    """A fresh copy of the published site, still with its CDN links."""
    return Path(shutil.copytree(published, tmp_path / "html"))


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access: {args}")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


class Loads(HTMLParser):
    """The URLs a page loads (script src, link href), and the texts of asv's summary grid entries."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.grid: list[str] = []
        self._in_grid_name = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        self._in_grid_name = tag == "div" and "benchmark-text" in (attrs.get("class") or "").split()

    def handle_data(self, data):
        if self._in_grid_name:
            self.grid.append(data.strip())
            self._in_grid_name = False


def parse(html: str) -> Loads:
    parser = Loads()
    parser.feed(html)
    return parser


@pytest.mark.needs("chromium")
def test_offline_site_renders_with_nothing_but_loopback(offline_site):
    with serve(offline_site) as port:
        dom, requests = rendered_dom_and_requests(f"http://127.0.0.1:{port}/index.html")
    assert set(parse(dom).grid) == GRID_NAMES  # jQuery, bootstrap and asv's scripts ran and read index.json
    assert 'class="flot-base"' in dom  # flot drew the summary graphs in view
    local = f"http://127.0.0.1:{port}/"
    assert [url for url in requests if not url.startswith(local)] == []
    assert f"{local}vendor/jquery-3.3.1/dist/jquery.min.js" in requests
    assert f"{local}vendor/bootstrap-3.1.1/dist/css/bootstrap.min.css" in requests


@pytest.mark.needs("chromium")
def test_the_request_log_sees_the_cdns_of_the_published_site(site):
    """The control: without make_offline the same check fails, so the test above is not blind."""
    with serve(site) as port:
        _dom, requests = rendered_dom_and_requests(f"http://127.0.0.1:{port}/index.html", budget_ms=1000)
    assert "https://code.jquery.com/jquery-3.3.1.min.js" in requests


def test_index_loads_only_vendored_files_that_exist(offline_site):
    page = (offline_site / "index.html").read_text()
    urls = parse(page).urls
    assert [url for url in urls if re.match(r"https?:", url)] == []
    assert all((offline_site / url).is_file() for url in urls if url.startswith("vendor/"))
    assert len({url for url in urls if url.startswith("vendor/")}) == len(ASSETS)
    assert 'href="https://github.com/airspeed-velocity/asv/"' in page  # a plain link stays
    css = offline_site / "vendor/bootstrap-3.1.1/dist/css/bootstrap.min.css"
    fonts = set(re.findall(r"url\(([^)?#]+)", css.read_text()))
    assert fonts and all((css.parent / font).is_file() for font in fonts)


def test_second_call_reads_the_cache_only(offline_site, npm_cache, site, no_network):
    make_offline(site, npm_cache)
    assert (site / "index.html").read_text() == (offline_site / "index.html").read_text()
    vendored = sorted(p.relative_to(offline_site) for p in (offline_site / "vendor").rglob("*") if p.is_file())
    assert vendored == sorted(p.relative_to(site) for p in (site / "vendor").rglob("*") if p.is_file())


def test_tampered_cached_tarball_is_refused(offline_site, npm_cache, site, tmp_path, no_network):
    cache = Path(shutil.copytree(npm_cache, tmp_path / "cache"))
    tarball = cache / "jquery-3.3.1.tgz"
    tarball.write_bytes(tarball.read_bytes() + b"\0")
    with pytest.raises(OfflineError, match=re.escape("jquery-3.3.1.tgz does not match sha512-")):
        make_offline(site, cache)


class Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.mark.parametrize(("answer", "message"), [
    (urllib.error.URLError("no route"), "cannot download https://registry.npmjs.org/"),
    (Response(b"not the tarball"), "does not match its pinned integrity sha512-"),
])
def test_download_failures_raise_offline_error(site, tmp_path, monkeypatch, answer, message):
    def urlopen(url, timeout):
        if isinstance(answer, Exception):
            raise answer
        return answer
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(OfflineError, match=re.escape(message)):
        make_offline(site, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.tgz"))


def test_unknown_remote_script_is_an_error(site, tmp_path, no_network):
    index = site / "index.html"
    index.write_text(index.read_text().replace(
        "</head>", '<script src="https://cdn.example.invalid/newer-asv.js"></script></head>'))
    with pytest.raises(OfflineError, match=re.escape("https://cdn.example.invalid/newer-asv.js")):
        make_offline(site, tmp_path / "cache")
