"""Server scenarios as data: which app, under which server, with how many workers of which class.

Each scenario has a stable id used everywhere (results, asv parameters, reports). The app is named only by its
factory string; the server is started with the current interpreter (``sys.executable``), so that under asv it
runs the build of the commit being measured.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from importlib import metadata

from . import subject
from .launcher import HOST, PORT_PLACEHOLDER, ServerSpec

FRAMEWORKS = ("aiohttp", "flask")  # their factory strings are the subject's to say (``subject.factory``)
DEFAULT_WORKER_CLASS = {"aiohttp": "aiohttp.GunicornWebWorker", "flask": "sync"}
# Short names for ids; a worker class not listed here uses its last dotted part.
WORKER_CLASS_TAGS = {"aiohttp.GunicornUVLoopWebWorker": "uvloop", "gthread": "gthread", "sync": "sync"}
AUTO_WORKERS = 0  # "2 x cores + 1", gunicorn's own rule of thumb, resolved on the machine that runs it
GTHREAD_THREADS = 4


def auto_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class Scenario:
    """One way of serving one of the apps."""

    framework: str  # "aiohttp" or "flask"
    server: str  # "dev" (the framework's development server) or "gunicorn"
    workers: int = 1  # gunicorn worker processes; AUTO_WORKERS for 2 x cores + 1
    worker_class: str | None = None  # None: the framework's default under gunicorn
    threads: int = 1  # gunicorn gthread threads per worker

    def __post_init__(self) -> None:
        if self.framework not in FRAMEWORKS:
            raise ValueError(f"unknown framework {self.framework!r}; choose from {', '.join(FRAMEWORKS)}")
        if self.server not in ("dev", "gunicorn"):
            raise ValueError(f"unknown server {self.server!r}; choose dev or gunicorn")
        if self.server == "dev" and (self.workers != 1 or self.worker_class or self.threads != 1):
            raise ValueError("workers, worker class and threads apply to gunicorn only")

    @property
    def id(self) -> str:
        if self.server == "dev":
            return f"{self.framework}-dev"
        parts = [self.framework, "gunicorn"]
        if self.worker_class and self.worker_class != DEFAULT_WORKER_CLASS[self.framework]:
            parts.append(WORKER_CLASS_TAGS.get(self.worker_class, self.worker_class.rsplit(".", 1)[-1]))
        if self.workers == AUTO_WORKERS:
            parts.append("wauto")
        elif self.workers != 1:
            parts.append(f"w{self.workers}")
        return "-".join(parts)

    @property
    def label(self) -> str:
        """How the article's table names the server."""
        if self.server == "dev":
            return "development server"
        text = "gunicorn"
        if self.worker_class and self.worker_class != DEFAULT_WORKER_CLASS[self.framework]:
            text += f" -k {WORKER_CLASS_TAGS.get(self.worker_class, self.worker_class)}"
        if self.threads != 1:
            text += f" --threads {self.threads}"
        if self.workers == AUTO_WORKERS:
            text += " -w (2 x cores + 1)"
        elif self.workers != 1:
            text += f" -w {self.workers}"
        return text

    @property
    def resolved_workers(self) -> int:
        return auto_workers() if self.workers == AUTO_WORKERS else self.workers

    def spec(self, python: str = sys.executable) -> ServerSpec:
        """The command line that serves this scenario on 127.0.0.1:{port}."""
        factory = subject.factory(self.framework, python)
        if self.server == "dev" and self.framework == "aiohttp":
            argv = [python, "-m", "aiohttp.web", "-H", HOST, "-P", PORT_PLACEHOLDER, factory]
            return ServerSpec(tuple(argv))
        if self.server == "dev":
            # Werkzeug's server, threaded by default as in the article; no reloader, no debugger.
            argv = [python, "-m", "flask", "--app", factory.split(":")[0], "run",
                    "--host", HOST, "--port", PORT_PLACEHOLDER]
            return ServerSpec(tuple(argv), {"FLASK_DEBUG": "0"})
        argv = [python, "-m", "gunicorn", "--bind", f"{HOST}:{PORT_PLACEHOLDER}",
                "--workers", str(self.resolved_workers),
                "--worker-class", self.worker_class or DEFAULT_WORKER_CLASS[self.framework],
                # A stop must not wait gunicorn's default 30 s for busy workers.
                "--graceful-timeout", "3"]
        if self.threads != 1:
            argv += ["--threads", str(self.threads)]
        if _gunicorn_has_control_socket():
            # gunicorn >= 25.1 opens a control socket in $HOME; two servers at once would fight over it.
            argv.append("--no-control-socket")
        argv.append(factory)
        return ServerSpec(tuple(argv), stop_signal=signal.SIGINT)  # gunicorn's quick shutdown


def _gunicorn_has_control_socket() -> bool:
    try:
        version = metadata.version("gunicorn")
    except metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= (25, 1)


ARTICLE_SCENARIOS = (
    Scenario("aiohttp", "dev"),
    Scenario("flask", "dev"),
    Scenario("aiohttp", "gunicorn"),
    Scenario("flask", "gunicorn"),
    Scenario("aiohttp", "gunicorn", workers=4),
    Scenario("flask", "gunicorn", workers=4),
)


@dataclass(frozen=True)
class Pair:
    """aiohttp against Flask under one setting: a row of the reports' tables, which read it from the provenance."""

    key: str
    label: str
    aiohttp: Scenario
    flask: Scenario

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "aiohttp": self.aiohttp.id, "flask": self.flask.id}


_SYNC = Scenario("flask", "gunicorn")
# Settings beyond the article's that may change the verdict "async is faster" (the methodology table).
EXTRA_PAIRS = (
    Pair("gthread", f"gunicorn: aiohttp worker vs gthread ({GTHREAD_THREADS} threads)", Scenario("aiohttp", "gunicorn"),
         Scenario("flask", "gunicorn", worker_class="gthread", threads=GTHREAD_THREADS)),
    Pair("uvloop", "gunicorn: uvloop worker vs sync worker",
         Scenario("aiohttp", "gunicorn", worker_class="aiohttp.GunicornUVLoopWebWorker"), _SYNC),
    Pair("wauto", "gunicorn -w (2 x cores + 1)", Scenario("aiohttp", "gunicorn", workers=AUTO_WORKERS),
         Scenario("flask", "gunicorn", workers=AUTO_WORKERS)),
)
EXTRA_SCENARIOS = tuple(dict.fromkeys(s for pair in EXTRA_PAIRS for s in (pair.aiohttp, pair.flask)
                                      if s not in ARTICLE_SCENARIOS))
SCENARIOS = {scenario.id: scenario for scenario in ARTICLE_SCENARIOS + EXTRA_SCENARIOS}


def get(scenario_id: str) -> Scenario:
    try:
        return SCENARIOS[scenario_id]
    except KeyError:
        raise ValueError(f"unknown scenario {scenario_id!r}; known: {', '.join(SCENARIOS)}") from None
