"""The ``planet-tracker`` command: serve either app under its framework's own servers, or print a position.

``serve`` builds the command line of the real server (aiohttp's or Werkzeug's development server, or gunicorn)
and replaces this process with it, so that signals and exit codes are the server's own.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import core
from .errors import PlanetTrackerError

APPS = {
    "aiohttp": "planet_tracker.aiohttp_app:create_app",
    "flask": "planet_tracker.flask_app:create_app()",
}
DEFAULT_WORKER_CLASS = {"aiohttp": "aiohttp.GunicornWebWorker", "flask": "sync"}
AIOHTTP_WORKERS = ("aiohttp.GunicornWebWorker", "aiohttp.GunicornUVLoopWebWorker")


class UsageError(Exception):
    """A combination of arguments that argparse alone cannot reject."""


def _aiohttp_worker(name: str) -> bool:
    return name.replace("aiohttp.worker.", "aiohttp.") in AIOHTTP_WORKERS


def server_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The argv and extra environment that start the requested server, or UsageError."""
    if args.server == "dev":
        if args.workers is not None or args.worker_class is not None:
            raise UsageError("--workers and --worker-class apply to --server gunicorn only")
        if args.framework == "aiohttp":
            argv = ["-m", "aiohttp.web", "-H", args.host, "-P", str(args.port), APPS["aiohttp"]]
            return argv + (["--access-log"] if args.access_log else []), {}
        argv = ["-m", "flask", "--app", "planet_tracker.flask_app", "run"]
        argv += ["--host", args.host, "--port", str(args.port)]
        return argv, {"FLASK_ACCESS_LOG": "true" if args.access_log else "false"}

    worker_class = args.worker_class or DEFAULT_WORKER_CLASS[args.framework]
    if args.framework == "aiohttp" and not _aiohttp_worker(worker_class):
        raise UsageError(
            f"the aiohttp app cannot run under gunicorn's {worker_class!r} worker (it would answer every request "
            f"with 500); use --worker-class {' or '.join(AIOHTTP_WORKERS)}"
        )
    if args.framework == "flask" and _aiohttp_worker(worker_class):
        raise UsageError(f"the Flask app is WSGI: {worker_class!r} serves aiohttp apps only; try sync or gthread")
    argv = ["-m", "gunicorn", "--bind", f"{args.host}:{args.port}", "--workers", str(args.workers or 1)]
    argv += ["--worker-class", worker_class]
    if args.access_log:
        argv += ["--access-logfile", "-"]
    return [*argv, APPS[args.framework]], {}


def cmd_serve(args: argparse.Namespace) -> None:
    argv, env = server_command(args)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *argv], {**os.environ, **env})


def cmd_position(args: argparse.Namespace) -> None:
    query = core.make_query(args.planet, lon=args.lon, lat=args.lat, elevation=args.elevation, when=args.when)
    sys.stdout.write(core.position_body(query).decode() + "\n")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, not {text!r}")
    return int(text)


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments get one line on stderr (not the whole usage) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="planet-tracker", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{serve,position}")

    serve = commands.add_parser("serve", help="run an app under its framework's own server")
    serve.add_argument("framework", choices=sorted(APPS))
    serve.add_argument("--server", choices=("dev", "gunicorn"), default="dev")
    serve.add_argument("--workers", type=_positive, help="gunicorn worker processes (default 1)")
    serve.add_argument("--worker-class", help="gunicorn worker class (default: sync for flask, "
                       "aiohttp.GunicornWebWorker for aiohttp)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--access-log", action="store_true", help="log every request (costs throughput)")
    serve.set_defaults(func=cmd_serve)

    pos = commands.add_parser("position", help="print a planet's position as the API's JSON")
    pos.add_argument("planet")
    pos.add_argument("--lon", help=f"decimal degrees, east positive (default {core.DEFAULT_LON})")
    pos.add_argument("--lat", help=f"decimal degrees, north positive (default {core.DEFAULT_LAT})")
    pos.add_argument("--elevation", help=f"metres (default {core.DEFAULT_ELEVATION:g})")
    pos.add_argument("--when", help="ISO 8601 instant, UTC unless an offset is given (default now)")
    pos.set_defaults(func=cmd_position)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (UsageError, PlanetTrackerError) as error:
        parser.exit(2, f"planet-tracker: error: {error}\n")
