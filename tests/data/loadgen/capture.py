"""Regenerate the golden outputs of ab and wrk in this directory from the real tools on this machine.

    .venv/bin/python tests/data/loadgen/capture.py [NAME ...]      (all captures when no NAME is given)

Every capture starts its server with the harness launcher (which stops it on every path), runs ab or wrk once
with the command line the generator builds (or a literal one, for misuse), checks that the output shows what the
capture is for (retrying a few times, since timing decides some of them), and writes NAME.json: the argv, exit
status, stdout and stderr (as lists of lines, exact to the byte), the tool's version and what it shows. Then it
prints what the parser reads from it. The tests in tests/harness/test_loadgen_{ab,wrk}.py assert the exact
numbers of these files: after a capture, update them.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository, when run as a script

from benchmarks.harness.article import ARTICLE  # noqa: E402
from benchmarks.harness.errors import LoadFailed  # noqa: E402
from benchmarks.harness.launcher import free_port, launch  # noqa: E402
from benchmarks.harness.loadgen.ab import Ab  # noqa: E402
from benchmarks.harness.loadgen.base import LoadGenerator, LoadSettings  # noqa: E402
from benchmarks.harness.loadgen.wrk import Wrk  # noqa: E402

HOST = "127.0.0.1"
SERVERS = {
    "aiohttp": [sys.executable, "-m", "aiohttp.web", "-H", HOST, "-P", "{port}",
                "planet_tracker.aiohttp_app:create_app"],
    "flask": [sys.executable, "-m", "flask", "--app", "planet_tracker.flask_app", "run", "--host", HOST,
              "--port", "{port}"],
    "answer500": [sys.executable, str(HERE / "answer500.py"), "{port}"],
}
PLANET = "/planets/mars?lon=145.051&lat=-39.754&elevation=0"  # the article's request
NOT_FOUND = "/planets/pluto"
SLOW = "/planets/mars?io_ms=1000"
GENERATORS: dict[str, LoadGenerator] = {"ab": Ab(), "wrk": Wrk()}


@dataclass(frozen=True)
class Output:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Capture:
    name: str
    what: str
    tool: str
    server: str | None  # a key of SERVERS, or None: a port with nothing listening
    path: str
    settings: LoadSettings | None = None
    literal: tuple[str, ...] = ()  # argv with "{url}", when LoadSettings cannot say it
    shows: Callable[[Output], bool] = lambda output: output.returncode == 0

    def argv(self, url: str) -> list[str]:
        if self.settings is not None:
            return GENERATORS[self.tool].command(url, self.settings)
        return [arg.replace("{url}", url) for arg in self.literal]


def _count(**changes) -> LoadSettings:
    return LoadSettings(**{"concurrency": 4, "requests": 200, "duration_s": None, "timeout_s": 5, **changes})


def _timed(**changes) -> LoadSettings:
    return LoadSettings(**{"concurrency": 4, "duration_s": 1, "timeout_s": 5, **changes})


CAPTURES = [
    Capture("ab_keepalive_aiohttp", "the article's preset (ab -k -c 20 -n 1000) against the aiohttp dev server",
            "ab", "aiohttp", PLANET, ARTICLE.load,
            shows=lambda o: o.returncode == 0 and "Keep-Alive requests:    1000" in o.stdout),
    Capture("ab_close_aiohttp", "no -k: a connection per request, and no Keep-Alive line", "ab", "aiohttp", PLANET,
            _count(keepalive=False), shows=lambda o: o.returncode == 0 and "Keep-Alive" not in o.stdout),
    Capture("ab_flask", "-k against the Flask dev server, which closes every connection", "ab", "flask", PLANET,
            _count(), shows=lambda o: o.returncode == 0 and "Keep-Alive requests:    0" in o.stdout),
    Capture("ab_duration", "-t 1 -n 100000: a run bounded by time, the cap after -t", "ab", "aiohttp", PLANET,
            _timed(), shows=lambda o: o.returncode == 0 and "Time taken for tests:   1.0" in o.stdout),
    Capture("ab_non2xx", "every answer a 500", "ab", "answer500", PLANET, _count(requests=100),
            shows=lambda o: "Non-2xx responses:      100" in o.stdout),
    Capture("ab_404", "the aiohttp app's 404 for an unknown planet", "ab", "aiohttp", NOT_FOUND,
            _count(requests=100), shows=lambda o: "Non-2xx responses:      100" in o.stdout),
    Capture("ab_refused", "nothing listening: with -r every attempt is a failed but 'complete' request",
            "ab", None, PLANET, _count(requests=40), shows=lambda o: "Receive: 40" in o.stdout),
    Capture("ab_timeout", "answers slower than -s 1: ab aborts the whole run without a report", "ab", "aiohttp",
            SLOW, _count(requests=8, timeout_s=1), shows=lambda o: o.returncode != 0 and "timeout" in o.stderr),
    Capture("ab_usage", "a usage error (more concurrency than requests)", "ab", None, PLANET,
            literal=("ab", "-c", "10", "-n", "5", "{url}"), shows=lambda o: o.returncode != 0),
    Capture("wrk_ok", "a clean keep-alive run against the aiohttp dev server", "wrk", "aiohttp", PLANET, _timed()),
    Capture("wrk_close", "Connection: close, a connection per request", "wrk", "aiohttp", PLANET,
            _timed(keepalive=False)),
    Capture("wrk_flask", "the Flask dev server, which closes every connection: wrk reconnects", "wrk", "flask", PLANET,
            _timed()),
    Capture("wrk_non2xx", "every answer a 500", "wrk", "answer500", PLANET, _timed(),
            shows=lambda o: "Non-2xx or 3xx responses" in o.stdout),
    Capture("wrk_404", "the aiohttp app's 404 for an unknown planet", "wrk", "aiohttp", NOT_FOUND, _timed(),
            shows=lambda o: "Non-2xx or 3xx responses" in o.stdout),
    Capture("wrk_refused", "nothing listening: wrk gives up at once", "wrk", None, PLANET, _timed(),
            shows=lambda o: o.returncode != 0),
    Capture("wrk_timeout", "answers slower than --timeout 1s: counted as requests and as timeouts", "wrk",
            "aiohttp", SLOW, _timed(duration_s=2, timeout_s=1),
            shows=lambda o: o.returncode == 0 and "Socket errors: connect 0, read 0, write 0, timeout" in o.stdout),
    Capture("wrk_usage", "a usage error (more threads than connections)", "wrk", None, PLANET,
            literal=("wrk", "-t", "2", "-c", "1", "-d", "1s", "{url}"), shows=lambda o: o.returncode != 0),
]


def run(capture: Capture, url: str, attempts: int = 3) -> Output:
    for _ in range(attempts):
        argv = capture.argv(url)
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=60)
        output = Output(argv, done.returncode, done.stdout, done.stderr)
        if capture.shows(output):
            return output
    raise SystemExit(f"{capture.name}: the output does not show {capture.what!r} after {attempts} attempts:\n"
                     f"{output.stdout}\n{output.stderr}")


def save(capture: Capture, output: Output) -> Path:
    data = {
        "name": capture.name,
        "what": capture.what,
        "server": " ".join(Path(arg).name if arg == sys.executable else arg for arg in SERVERS[capture.server])
        if capture.server else "nothing listening",
        "version": GENERATORS[capture.tool].version(),
        "argv": output.argv,
        "returncode": output.returncode,
        "stdout": output.stdout.splitlines(keepends=True),
        "stderr": output.stderr.splitlines(keepends=True),
    }
    path = HERE / f"{capture.name}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return path


def summary(capture: Capture, output: Output) -> str:
    try:
        result = GENERATORS[capture.tool].parse(output.stdout, output.stderr, output.returncode, output.argv)
    except LoadFailed as error:
        return f"LoadFailed: {error}"
    return (f"completed {result.completed}, {result.requests_per_s:.2f}/s in {result.duration_s} s, non-2xx "
            f"{result.non_2xx}, failed {result.failed}, errors {result.socket_errors}, keep-alive "
            f"{result.keepalive_requests}, latency {result.latency_ms}; problems {result.problems()}")


@contextlib.contextmanager
def target(server: str | None) -> Iterator[Callable[[str], str]]:
    """A function from path to URL: on a started server, or on a port where nothing listens."""
    if server is None:
        port = free_port()
        yield lambda path: f"http://{HOST}:{port}{path}"
        return
    with launch(SERVERS[server]) as running:
        yield running.url


def main(names: list[str]) -> None:
    unknown = set(names) - {capture.name for capture in CAPTURES}
    if unknown:
        raise SystemExit(f"unknown captures: {', '.join(sorted(unknown))}")
    chosen = [capture for capture in CAPTURES if not names or capture.name in names]
    for server in dict.fromkeys(capture.server for capture in chosen):
        with target(server) as url:
            for capture in (c for c in chosen if c.server == server):
                output = run(capture, url(capture.path))
                path = save(capture, output)
                print(f"{path.name}: {summary(capture, output)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
