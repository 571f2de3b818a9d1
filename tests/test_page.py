"""The page at / in a real headless browser, served by each framework."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from .browser import rendered_dom

pytestmark = pytest.mark.needs("chromium")


class PlanetRows(HTMLParser):
    """Collects the text of each cell of the table body's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.status = ""
        self._in_body = self._in_cell = self._in_status = False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._in_cell = True
            self.rows[-1].append("")
        elif dict(attrs).get("id") == "status":
            self._in_status = True

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td":
            self._in_cell = False
        elif tag == "p":
            self._in_status = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data
        elif self._in_status:
            self.status += data


def test_page_shows_seven_planets_with_numbers(port):
    parser = PlanetRows()
    parser.feed(rendered_dom(f"http://127.0.0.1:{port}/"))
    assert [row[0] for row in parser.rows] == ["Mercury", "Venus", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]
    for _name, az, alt, horizon in parser.rows:
        assert 0 <= float(az) <= 360 and -90 <= float(alt) <= 90
        assert horizon == ("above" if float(alt) > 0 else "below")
    # No geolocation in a headless browser: the page falls back to Greenwich.
    assert "-0.0005°, 51.4769°, 0 m" in parser.status
