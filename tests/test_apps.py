"""Both apps over real HTTP, side by side: same routes, same bytes, same errors."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from .servers import request

ARTICLE = "/planets/mars?lon=145.051&lat=-39.754&elevation=0"
FIXED = "&when=2018-11-26T10:00:00Z"


def angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


@pytest.mark.parametrize("path", [
    ARTICLE + FIXED,
    "/planets/MARS?when=2018-11-26T10:00:00Z",
    "/planets/neptune?lon=-0&lat=0&elevation=-1000&when=2200-12-31T23:59:59.999999Z",
    "/planets/venus?when=1800-01-01",
    "/planets/pluto",
    "/planets/mars?lon=nan",
    "/planets/mars?lon=1&lon=2",
    "/planets/mars?colour=red",
    "/planets/mars?lon=1;lat=2",
    "/planets/mars?lon=%ff",
    "/planets/mars?lat=%E2%82%AC",
    "/nowhere",
    "/planets/",
    "/planets/mars/",
    "/planets/mars%2Fextra",
    "/planets/%2e%2e",
    "/planets/mars?=1",
    "/planets/mars?lon=1&&lat=2" + FIXED,
    "/healthz",
    "/",
])
def test_identical_bodies(servers, path):
    answers = {framework: request(port, path) for framework, port in servers.items()}
    (a_status, a_headers, a_body), (f_status, f_headers, f_body) = answers["aiohttp"], answers["flask"]
    assert (a_status, a_body) == (f_status, f_body)
    assert a_headers["content-type"] == f_headers["content-type"]


def test_article_request(port, reference):
    status, headers, body = request(port, ARTICLE + FIXED)
    assert status == 200 and headers["content-type"] == "application/json"
    answer = json.loads(body)
    case = reference["cases"][0]
    assert answer["name"] == "mars" and answer["when"] == "2018-11-26T10:00:00Z"
    assert answer["observer"] == {"lon": 145.051, "lat": -39.754, "elevation": 0.0}
    assert abs(answer["alt"] - case["alt"]) <= reference["tolerance_deg"]
    assert angle_diff(answer["az"], case["az"]) <= reference["tolerance_deg"]


def test_reference_positions_over_http(port, reference):
    for case in reference["cases"]:
        path = (f"/planets/{case['planet']}?lon={case['lon']}&lat={case['lat']}"
                f"&elevation={case['elevation']}&when={case['when']}")
        answer = json.loads(request(port, path)[2])
        assert abs(answer["alt"] - case["alt"]) <= reference["tolerance_deg"], case
        assert angle_diff(answer["az"], case["az"]) <= reference["tolerance_deg"], case


def test_default_when_is_now(port):
    answer = json.loads(request(port, "/planets/saturn")[2])
    assert answer["when"].endswith("Z") and answer["observer"]["lat"] == 51.4769


ERRORS = [
    ("/planets/pluto", 404, "name"),
    ("/planets/%D0%BC%D0%B0%D1%80%D1%81", 404, "name"),  # non-ASCII
    ("/planets/mars%00", 404, "name"),
    ("/planets/" + "x" * 3000, 404, "name"),  # huge, but under every server's request-line limit
    ("/planets/..%2Fhealthz", 404, None),
    ("/planets/mars%2Fextra", 404, None),
    ("/planets/%2e%2e", 404, "name"),
    ("/planets/mars/../../etc/passwd", 404, None),
    ("/static/../planet_tracker/core.py", 404, None),
    ("/planets", 404, None),
    ("/planets/mars/extra", 404, None),
    ("/planets/mars?lon=181", 400, "lon"),
    ("/planets/mars?lat=-90.1", 400, "lat"),
    ("/planets/mars?elevation=1e6", 400, "elevation"),
    ("/planets/mars?elevation=inf", 400, "elevation"),
    ("/planets/mars?lon=NaN", 400, "lon"),
    ("/planets/mars?lon=", 400, "lon"),
    ("/planets/mars?lon", 400, "lon"),
    ("/planets/mars?lat=" + "9" * 3000, 400, "lat"),
    ("/planets/mars?lat=%D9%A1%D9%A2", 400, "lat"),  # Arabic-Indic digits: float() would take them
    ("/planets/mars?lat=1&lat=1", 400, "lat"),
    ("/planets/mars?when=tomorrow", 400, "when"),
    ("/planets/mars?when=3000-01-01", 400, "when"),
    ("/planets/mars?io_ms=1001", 400, "io_ms"),
    ("/planets/mars?io_ms=-5", 400, "io_ms"),
    ("/planets/mars?elev=3", 400, "elev"),
]


@pytest.mark.parametrize("path,status,parameter", ERRORS)
def test_errors_are_json(port, path, status, parameter):
    got, headers, body = request(port, path)
    assert got == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert isinstance(error["error"], str) and error["error"]
    assert error.get("parameter") == parameter
    assert b"Traceback" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_wrong_method(port, method):
    status, headers, body = request(port, "/planets/mars", method=method)
    assert status == 405 and json.loads(body) == {"error": "method not allowed"}
    assert headers["allow"] == "GET, HEAD"


def test_head(port):
    status, headers, body = request(port, "/planets/mars", method="HEAD")
    assert status == 200 and body == b"" and headers["content-type"] == "application/json"


def test_healthz(port):
    status, _headers, body = request(port, "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_page(port):
    status, headers, body = request(port, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b"<table" in body
    assert b"http://" not in body and b"https://" not in body  # nothing from the internet


def test_io_ms_delays(port):
    start = time.monotonic()
    status, _, _ = request(port, "/planets/mars?io_ms=300")
    assert status == 200 and time.monotonic() - start >= 0.3


def test_io_ms_waits_do_not_queue(port):
    # Ten 500 ms waits at once: both servers overlap them (aiohttp on its loop, Werkzeug in threads), so they
    # finish far sooner than the 5 s they would take one after another.
    start = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda _: request(port, "/planets/mars?io_ms=500")[0], range(10)))
    elapsed = time.monotonic() - start
    assert statuses == [200] * 10 and 0.5 <= elapsed < 3


def test_quoted_planet_name(port):
    assert request(port, "/planets/" + quote("Mars"))[0] == 200
    assert request(port, "/planets/m%61rs")[0] == 200
