from __future__ import annotations

import functools
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from benchmarks.harness.launcher import launch
from benchmarks.harness.tools import TOOLS

from . import browser
from .servers import COMMANDS

DATA = Path(__file__).parent / "data"
FRAMEWORKS = ("aiohttp", "flask")
# PLANET_TRACKER_FORBID_SKIPS=1 (.ci/run, which installs every tool): a skipped test fails the session.
FORBID_SKIPS = "PLANET_TRACKER_FORBID_SKIPS"


# The commands only the tests run, beside the suite's own (benchmarks.harness.tools.TOOLS): Debian's package, and
# the names that serve as well.
TEST_TOOLS = {
    # Debian's chromium, or what GitHub's Ubuntu runners have instead (tests/browser.py).
    "chromium": ("chromium", browser.NAMES),
    # act runs the rehearsal's stand-ins as JavaScript actions (rehearsal/launch.js).
    "node": ("nodejs", ("node",)),
}


def _bare_pythons() -> str | None:
    """The rehearsal's setup-python takes its interpreters from pyenv here, from the tool cache on GitHub's runners
    (rehearsal/standins.py): why neither is here, or None."""
    cache = Path(os.environ.get("AGENT_TOOLSDIRECTORY") or "/opt/hostedtoolcache") / "Python"
    if shutil.which("pyenv") or os.environ.get("PYENV_ROOT") or any(cache.glob("3.*/x64/bin/python")):
        return None
    return ("pyenv is not installed: the rehearsal's setup-python takes Python 3.11-3.13 from pyenv (or from a "
            "GitHub runner's tool cache)")


@functools.cache
def missing(command: str) -> str | None:
    """Why ``command`` cannot run here, as one line that says what installs it; None when it is on PATH."""
    if command == "pyenv":
        return _bare_pythons()
    package, names = TEST_TOOLS.get(command) or (TOOLS[command].package if command in TOOLS else None, (command,))
    if any(map(shutil.which, names)):
        return None
    return f"{command} is not installed" + (f": `sudo apt-get install {package}`" if package else "")


def pytest_collection_modifyitems(config, items):
    """@pytest.mark.needs("valgrind", "cc", ...): the test runs these commands, and is skipped, with what to
    install, when one of them is not on PATH (a newcomer's machine, without root: -ra lists the skips)."""
    for item in items:
        for command in (command for marker in item.iter_markers("needs") for command in marker.args):
            if reason := missing(command):
                item.add_marker(pytest.mark.skip(reason=reason))
                break


class ForbidSkips:
    """PLANET_TRACKER_FORBID_SKIPS=1 (.ci/run, which installs every tool): a skip fails the session, so that a
    tool missing in CI cannot pass unseen."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def _seen(self, report) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skipped.append(report.nodeid)

    def pytest_runtest_logreport(self, report):
        self._seen(report)

    def pytest_collectreport(self, report):
        self._seen(report)

    def pytest_sessionfinish(self, session, exitstatus):
        if self.skipped and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # around the terminal's: after the short test summary
    def pytest_terminal_summary(self, terminalreporter):
        yield  # (which names each skip and its reason)
        if self.skipped:
            terminalreporter.write_line(f"{FORBID_SKIPS}=1: {len(self.skipped)} skipped, and every test must run "
                                        f"here: the run fails", red=True, bold=True)


def pytest_configure(config):
    # A shell's background job (`make test &`) starts with SIGINT ignored, and every process started from it would
    # inherit that: the tests that interrupt a run as Ctrl-C does need it to reach them.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get(FORBID_SKIPS) == "1":
        config.pluginmanager.register(ForbidSkips(), "planet-tracker-forbid-skips")


@pytest.fixture(scope="session")
def reference() -> dict:
    """Planet positions computed independently of ephem (see its "about")."""
    return json.loads((DATA / "positions.json").read_text())


@pytest.fixture(scope="session")
def servers():
    """Both apps under their development servers, once for the whole session: {framework: port}."""
    with launch(COMMANDS["aiohttp-dev"]) as aiohttp_server, launch(COMMANDS["flask-dev"]) as flask_server:
        yield {"aiohttp": aiohttp_server.port, "flask": flask_server.port}


@pytest.fixture(params=FRAMEWORKS)
def port(request, servers) -> int:
    return servers[request.param]
