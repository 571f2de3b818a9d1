from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.harness.launcher import launch

from .servers import COMMANDS

DATA = Path(__file__).parent / "data"
FRAMEWORKS = ("aiohttp", "flask")


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
