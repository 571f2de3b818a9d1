"""Headless Chromium for the page tests: renders a URL after its scripts ran, with no network but loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Any host but loopback fails to resolve: the page must work with nothing from the internet.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


# Debian's chromium here; GitHub's Ubuntu runners ship Google Chrome instead (Ubuntu's chromium is a snap). The
# tests that render mark themselves @pytest.mark.needs("chromium"), skipped without one of these (conftest.py).
NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    path = next(filter(None, map(shutil.which, NAMES)), None)
    assert path, "chromium is not installed: `sudo apt-get install chromium` (mark the test needs(\"chromium\"))"
    return path


def _dump_dom(url: str, budget_ms: int, profile: str, *flags: str) -> str:
    result = subprocess.run(
        [chromium(), *FLAGS, *flags, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
         "--dump-dom", url],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return result.stdout


def rendered_dom(url: str, budget_ms: int = 4000) -> str:
    """The DOM after ``budget_ms`` of virtual time (timers and fetches included)."""
    with tempfile.TemporaryDirectory() as profile:
        return _dump_dom(url, budget_ms, profile)


def page_requests(net_log: dict) -> list[str]:
    """The URLs, in order, of the requests in a Chromium net log that a page made or that opened a page.

    Chromium's own background calls (component updates, network time, account checks) are left out: no page
    initiated them, no flag turns them all off, and the host-resolver rules make them fail before they leave.
    """
    start_job = net_log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in net_log["events"]:
        params = event.get("params") or {}
        if event["type"] != start_job or "url" not in params:
            continue
        # "not an origin" is how the net log writes a request without an initiator.
        from_page = params.get("initiator", "not an origin") != "not an origin"
        if from_page or params.get("request_type") in ("main frame", "sub frame"):
            urls.append(params["url"])
    return urls


def rendered_dom_and_requests(url: str, budget_ms: int = 4000) -> tuple[str, list[str]]:
    """``rendered_dom(url)`` and the URL of every request the page made (see page_requests), failed ones
    included, read from Chromium's net log."""
    with tempfile.TemporaryDirectory() as profile:
        log = Path(profile) / "net-log.json"
        dom = _dump_dom(url, budget_ms, profile, f"--log-net-log={log}")
        return dom, page_requests(json.loads(log.read_text()))
