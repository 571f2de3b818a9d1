"""The client scenarios: N HTTP GETs to a slow site, made sequentially, by threads, or by coroutines.

This module owns the client side of the 2018 article's comparison: the strategies (as data), the checking of every
answer, the timing of one batch, and the interleaved repeats against one local latency server
(``latency_server.py``, started with the launcher), with a record per strategy. The article fetched a remote site;
a local server that waits ``delay_ms`` before each answer makes the wait exact and the result reproducible.

Timing: ``perf_counter`` around the whole batch, *including* what a caller pays to do it from scratch: creating
the sessions (and so opening every TCP connection), starting and joining the threads, creating and closing the
event loop. The article timed whole processes; we leave out only interpreter start-up and imports, which are the
same for every strategy and not what is compared.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp
import requests

from .errors import HarnessError, LoadFailed, VerificationFailed
from .launcher import Server, launch
from .results import ClientRun

LATENCY_SERVER = Path(__file__).with_name("latency_server.py")
DELAY_PATH = "/delay"


@dataclass(frozen=True)
class ClientSettings:
    """What one batch does: ``requests`` GETs, each answered after ``delay_ms``; ``repeats`` timed batches."""

    requests: int
    delay_ms: float
    repeats: int = 3
    timeout_s: float = 10.0  # per request; a slower answer fails the batch

    def __post_init__(self) -> None:
        if self.requests < 1 or self.delay_ms < 0 or self.repeats < 1 or self.timeout_s <= 0:
            raise ValueError("requests and repeats must be >= 1, delay_ms >= 0 and timeout_s > 0")


# -- one request, checked --------------------------------------------------------------------------------------


def request_url(base_url: str, n: int, settings: ClientSettings) -> str:
    """The URL of request ``n``: the delay endpoint's URL plus ``n`` (echoed back) and the wait (``ms``)."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}n={n}&ms={float(settings.delay_ms)!r}"


def check_answer(url: str, n: int, status: int, body: bytes, settings: ClientSettings) -> None:
    """Raise VerificationFailed unless the answer is a 200 with the JSON the latency server gives request ``n``."""
    if status != 200:
        raise VerificationFailed(f"GET {url} answered status {status}, not 200")
    try:
        data = json.loads(body)
    except ValueError:
        raise VerificationFailed(f"GET {url} answered a body that is not JSON: {body[:60]!r}") from None
    expected = {"ok": True, "n": str(n), "delay_ms": float(settings.delay_ms)}
    if data != expected:
        raise VerificationFailed(f"GET {url} answered {_short(repr(data))}, not {expected!r}")


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reason(error: BaseException, settings: ClientSettings) -> str:
    """One line saying why a request failed, from the root of the exception chain (not a wrapper's repr)."""
    if isinstance(error, (requests.Timeout, asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return f"no answer within {settings.timeout_s:g} s"
    root, seen = error, 0
    while seen < 10 and (root.__cause__ or root.__context__) is not None:
        root, seen = root.__cause__ or root.__context__, seen + 1
    if isinstance(root, OSError) and root.errno:
        return f"{type(error).__name__}: {os.strerror(root.errno)}"
    return _short(f"{type(error).__name__}: {root}")


def _failure(url: str, error: BaseException, settings: ClientSettings) -> HarnessError:
    if isinstance(error, HarnessError):
        return error
    return LoadFailed(f"GET {url} failed: {_reason(error, settings)}")


def _fetch_with_requests(session: requests.Session, n: int, base_url: str, settings: ClientSettings) -> None:
    url = request_url(base_url, n, settings)
    try:
        response = session.get(url, timeout=settings.timeout_s)
        check_answer(url, n, response.status_code, response.content, settings)
    except Exception as error:
        raise _failure(url, error, settings) from error


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: every request goes to 127.0.0.1 directly
    return session


# -- the strategies ---------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What a batch's workers report: the failures (first one first) and how many requests were never sent."""

    errors: list[HarnessError] = field(default_factory=list)
    not_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def raise_if_failed(self, strategy_id: str, settings: ClientSettings) -> None:
        if self.errors:
            first = self.errors[0]
            skipped = f", {self.not_sent} not sent" if self.not_sent else ""
            raise type(first)(f"{strategy_id}: {len(self.errors)} of {settings.requests} requests failed{skipped}; "
                              f"first: {first}")


def _fetch_share(numbers: Sequence[int], base_url: str, settings: ClientSettings, outcome: _Outcome) -> None:
    """One worker's share, on its own Session (so its own keep-alive connection); stops at its first failure."""
    with _new_session() as session:
        for index, n in enumerate(numbers):
            try:
                _fetch_with_requests(session, n, base_url, settings)
            except HarnessError as error:
                with outcome.lock:
                    outcome.errors.append(error)
                    outcome.not_sent += len(numbers) - index - 1
                return


def _run_sequential(strategy_id: str, base_url: str, settings: ClientSettings) -> None:
    outcome = _Outcome()
    _fetch_share(range(settings.requests), base_url, settings, outcome)
    outcome.raise_if_failed(strategy_id, settings)


def _run_threads(threads: int, strategy_id: str, base_url: str, settings: ClientSettings) -> None:
    # One Session per thread. The article shared one Session among its threads: urllib3 keeps at most 10 idle
    # connections per pool, so 20 threads open 20 and then discard 10 with a "Connection pool is full" warning
    # on every round, and the timing includes reconnections the article did not mean to measure.
    outcome = _Outcome()
    count = min(threads, settings.requests)
    workers = [threading.Thread(target=_fetch_share, args=(range(i, settings.requests, count), base_url,
                                                           settings, outcome), name=f"{strategy_id}-{i}")
               for i in range(count)]  # request i goes to thread i mod count: shares differ by one at most
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    outcome.raise_if_failed(strategy_id, settings)


def _run_threadpool(strategy_id: str, base_url: str, settings: ClientSettings) -> None:
    """A ThreadPoolExecutor with one worker per request: the concurrency of ``aiohttp-gather``, so that the two
    compare threads with coroutines at equal concurrency. Each request has its own Session (its worker's, as the
    worker makes no other)."""
    outcome = _Outcome()
    with ThreadPoolExecutor(max_workers=settings.requests, thread_name_prefix=strategy_id) as pool:
        for n in range(settings.requests):
            pool.submit(_fetch_share, (n,), base_url, settings, outcome)
    outcome.raise_if_failed(strategy_id, settings)


async def _gather(base_url: str, settings: ClientSettings) -> list[BaseException | None]:
    async def fetch(session: aiohttp.ClientSession, n: int) -> None:
        url = request_url(base_url, n, settings)
        try:
            async with session.get(url) as response:
                check_answer(url, n, response.status, await response.read(), settings)
        except Exception as error:
            raise _failure(url, error, settings) from error

    connector = aiohttp.TCPConnector(limit=settings.requests)  # >= requests: no request waits for a connection
    timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # return_exceptions: wait for every request even when one fails, so that none outlives the session.
        return await asyncio.gather(*(fetch(session, n) for n in range(settings.requests)), return_exceptions=True)


def _run_gather(strategy_id: str, base_url: str, settings: ClientSettings) -> None:
    outcome = _Outcome()
    for result in asyncio.run(_gather(base_url, settings)):
        if isinstance(result, HarnessError):
            outcome.errors.append(result)
        elif isinstance(result, BaseException):
            raise result
    outcome.raise_if_failed(strategy_id, settings)


@dataclass(frozen=True)
class Strategy:
    """One way to make the batch. ``workers`` is its concurrency: a fixed number, or None for one per request."""

    id: str
    library: str
    workers: int | None
    description: str
    run: Callable[[str, str, ClientSettings], None] = field(repr=False, compare=False)

    def concurrency(self, requests: int) -> int:
        return requests if self.workers is None else min(self.workers, requests)


def _threads(count: int) -> Callable[[str, str, ClientSettings], None]:
    def run(strategy_id: str, base_url: str, settings: ClientSettings) -> None:
        _run_threads(count, strategy_id, base_url, settings)

    return run


STRATEGIES: dict[str, Strategy] = {strategy.id: strategy for strategy in (
    Strategy("requests-sequential", "requests", 1,
             "one requests.Session, one request after the other (the article's sync client)", _run_sequential),
    Strategy("requests-threads-10", "requests", 10,
             "10 threads, each with its own Session, each making requests/10 of them in turn", _threads(10)),
    Strategy("requests-threads-20", "requests", 20,
             "20 threads, each with its own Session, each making requests/20 of them in turn", _threads(20)),
    # Not in the article: threads at the same concurrency as gather, so that threads and coroutines are compared
    # at equal concurrency rather than 20 against 100.
    Strategy("threadpool", "requests", None,
             "a ThreadPoolExecutor with one worker per request: threads at the concurrency of gather",
             _run_threadpool),
    Strategy("aiohttp-gather", "aiohttp", None,
             "one aiohttp.ClientSession (connector limit = requests), asyncio.gather of every request",
             _run_gather),
)}


def strategy(strategy_id: str) -> Strategy:
    try:
        return STRATEGIES[strategy_id]
    except KeyError:
        raise ValueError(f"unknown strategy {strategy_id!r}; known: {', '.join(STRATEGIES)}") from None


def run_strategy(strategy_id: str, base_url: str, settings: ClientSettings) -> float:
    """Make one checked batch of ``settings.requests`` GETs to ``base_url`` (the delay endpoint's URL, e.g.
    ``server.url("/delay")``) the strategy's way, and return its wall time in seconds: ``perf_counter`` around
    all of it, session creation, connection set-up, threads or event loop included.

    Any error or wrong answer raises LoadFailed (transport: refused, reset, timeout) or VerificationFailed
    (wrong status or body), and no time is returned.
    """
    chosen = strategy(strategy_id)
    start = time.perf_counter()
    chosen.run(chosen.id, base_url, settings)
    return time.perf_counter() - start


# -- the scenario: every strategy, interleaved, against one server ------------------------------------------------


def theoretical_floor_s(strategy_id: str, settings: ClientSettings) -> float:
    """The least wall time physics allows: the rounds of waits the busiest worker makes, times the delay
    (``requests x delay / concurrency`` when the requests divide evenly, as 100 by 1, 10, 20 and 100 do)."""
    rounds = math.ceil(settings.requests / strategy(strategy_id).concurrency(settings.requests))
    return rounds * settings.delay_ms / 1000


def latency_server(settings: ClientSettings) -> Server:
    """The latency server for these settings, to use as ``with latency_server(settings) as server:``."""
    return launch([sys.executable, str(LATENCY_SERVER), "--port", "{port}",
                   "--delay-ms", repr(float(settings.delay_ms))])


def run_scenarios(settings: ClientSettings,
                  strategy_ids: Sequence[str] = tuple(STRATEGIES)) -> list[ClientRun]:
    """Start one latency server; make one untimed warm-up batch per strategy; then ``settings.repeats`` rounds,
    each running every strategy once in the same order (A B C D E, A B C D E, ...), so that slow drifts of a
    noisy machine spread over all strategies instead of landing on one. Timing is that of ``run_strategy``.

    A strategy with a failed batch (warm-up included) is recorded as failed, with the reason, and yields no
    number; the others go on. If the server itself died, ServerDied is raised, as no later batch could mean
    anything.
    """
    chosen = [strategy(strategy_id) for strategy_id in strategy_ids]
    walls: dict[str, list[float]] = {s.id: [] for s in chosen}
    failures: dict[str, list[str]] = {s.id: [] for s in chosen}
    with latency_server(settings) as server:
        base_url = server.url(DELAY_PATH)

        def batch(strategy_id: str, label: str) -> float | None:
            try:
                return run_strategy(strategy_id, base_url, settings)
            except HarnessError as error:
                server.check_alive()
                failures[strategy_id].append(f"{label}: {error}")
                return None

        for s in chosen:
            batch(s.id, "warm-up")
        for round_number in range(1, settings.repeats + 1):
            for s in chosen:
                wall = batch(s.id, f"repeat {round_number}")
                if wall is not None:
                    walls[s.id].append(wall)
        server.check_alive()
    recorded = asdict(settings)
    return [
        ClientRun(s.id, s.library, s.concurrency(settings.requests), theoretical_floor_s(s.id, settings), recorded,
                  "failed" if failures[s.id] else "ok", "; ".join(failures[s.id]) or None,
                  () if failures[s.id] else tuple(walls[s.id]))
        for s in chosen
    ]
