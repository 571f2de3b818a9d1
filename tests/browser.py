"""Headless Chromium for the page tests: renders a URL after its scripts ran, with no network but loopback."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Any host but loopback fails to resolve: the page must work with nothing from the internet.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless browser tests need Chromium: apt-get install chromium"
    return path


def rendered_dom(url: str, budget_ms: int = 4000) -> str:
    """The DOM after ``budget_ms`` of virtual time (timers and fetches included)."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
            capture_output=True, text=True, timeout=60, check=True,
        )
    return result.stdout
