"""The instructions channel: what one request, or one call, costs in instructions executed, counted by valgrind.

Wall-clock throughput on a shared machine moves from run to run; the number of instructions a server executes to
answer a request does not see the machine at all, so a change in it is a change in the code. This module counts
it with valgrind's callgrind for three kinds of target:

* a server scenario (ids as in ``scenarios``): the real server, started from its factory string as ``runner``
  starts it, under callgrind, summed over every process of the server (gunicorn's arbiter and all its workers);
* a client strategy (``client:<strategy>``): one batch of the article's client side against the local latency
  server, counted in the client's process (``callgrind_child.py``);
* a core function (``core:parse_query``, ``core:position_body:<planet>``): per call, in a child process that
  imports the subject; this process never does.

A server is counted in a window: after a warm-up, the harness signals every process of the server to collect its
garbage and zero its counters, sends N requests, and signals them to dump (``callgrind_window.c``, preloaded).
Start-up and shutdown are outside the window. A second window with no request, shorter, counts what the server
does by the clock alone (gunicorn's heartbeats, aiohttp's once-a-second work); scaled to the first window's
length, it is subtracted, since the longer a window lasts (a busy machine, valgrind's own slowness), the more of
that it holds.

Each count has two parts: the request's own instructions, and the garbage collector's (``COLLECTOR``: callgrind
names its functions), reported beside it. A collection runs when the allocation counters cross a threshold, and
where they stand depends on everything the process did before; the full collection before each window sets them
to the same place, so the collections inside it follow from the window's own allocations. Kept apart, a
collection can move the collector's figure, never the request's (docs/instructions.md has the mechanism and the
measurements).

What would otherwise make the count vary from run to run is fixed:

* each request is sent only when every thread of every server process is asleep (``procstat.all_asleep``), so a
  request never meets a server still busy with the previous one (with ``ab -c 1`` the number of event-loop
  iterations per request, and with it the count, depended on timing);
* the request is the same bytes each time and asks for a fixed instant (``article.ARTICLE.fixed_path``), so every
  answer is the same bytes; each is checked against the first, which is verified like any other;
* ``PYTHONHASHSEED=0``, address-space randomisation off (``setarch -R``), and an environment of its own
  (``counted_env``): the variables a process starts with are laid out on its stack and copied into its heap,
  so their number and length move what every allocation after them lands on (docs/measured.md: how much);
* the server's processes share one CPU (``taskset``): with two, the workers that lose gunicorn's accept race run
  in user space or not depending on timing;
* a first window is thrown away: it carries the switch to instrumented code (start-up runs uninstrumented, three
  times faster), and with signal-driven zeroing callgrind put costs from before the zero into the first dump;
* warm-up is 50 requests per worker, so that each worker's interpreter has specialised its hot code;
* a client's process switches threads only where one blocks (``sys.setswitchinterval``), and the latency server
  answers at once (see ``CLIENT_SETTINGS``).

What the count cannot see: time in the kernel and in system calls, waiting, lock contention, and how work
spreads over cores. A heartbeat lands in a window once more or less than in the idle one: that is the spread
left for multi-worker servers (docs/measured.md).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from statistics import median

from . import build, client, launcher, procstat, subject, tools, verify
from .article import ARTICLE
from .errors import HarnessError, LoadFailed, ServerError, ToolMissing, VerificationFailed
from .formats import COUNTED, FormatError
from .launcher import HOST, Server, ServerSpec
from .results import InstructionRun
from .scenarios import SCENARIOS, Scenario

SOURCE = Path(__file__).with_name("callgrind_window.c")
CHILD = Path(__file__).with_name("callgrind_child.py")
# Instrumented only from the first window on: start-up runs about three times faster uninstrumented.
CALLGRIND = ("--tool=callgrind", "--trace-children=yes", "--instr-atstart=no", "--dump-line=no", "--dump-instr=no")
# Signals the window library listens to: zero the counters, dump them. Real-time signals that neither Python nor
# gunicorn nor valgrind (which keeps the highest) use.
ZERO_SIGNAL, DUMP_SIGNAL = signal.SIGRTMIN + 1, signal.SIGRTMIN + 2
CLIENT_PREFIX, CORE_PREFIX = "client:", "core:"
# The client batch: the article's, answered at once. A wait would change nothing the client
# executes but how many answers each of its wake-ups finds ready, which then depends on timing (asyncio.gather's
# count varied by 20 % with a 10 ms wait, 0.6 % with none).
CLIENT_SETTINGS = replace(ARTICLE.client, delay_ms=0.0, repeats=1)
# The core's statements, run by a child process that imports the subject.
_CORE_SETUP = ("from urllib.parse import parse_qsl, urlsplit\nfrom planet_tracker import core\n"
               f"PAIRS = parse_qsl(urlsplit({ARTICLE.fixed_path!r}).query)\n")


def core_statements() -> dict[str, tuple[str, str]]:
    """Each core target's setup and statement: parse_query, and position_body for every planet."""
    return {f"{CORE_PREFIX}parse_query": (_CORE_SETUP, "core.parse_query('mars', PAIRS)"),
            **{f"{CORE_PREFIX}position_body:{planet}": (_CORE_SETUP + f"QUERY = core.parse_query({planet!r}, PAIRS)\n",
                                                         "core.position_body(QUERY)") for planet in subject.planets()}}
READY_TIMEOUT_S = 180.0  # start-up under callgrind: imports take 5-20 s here, more with several workers
STEP_TIMEOUT_S = 120.0  # any single wait: an answer, the server going idle, a dump being written
CHILD_TIMEOUT_S = 600.0

WINDOW_STEP = 50  # a server's window is a multiple of this many requests
Progress = Callable[[str], None]


@dataclass(frozen=True)
class CountSettings:
    """How the channel counts; every field is recorded with the results."""

    # How much a server's window holds, in instructions: as many requests as make up about this much (in steps of
    # 50, from the thrown-away window's count), so that every window lasts about as long (~3 s here). A heartbeat
    # (gunicorn's aiohttp workers spend ~70,000 instructions on one every second) lands in a window once more or
    # less than in the idle one: over 300 million that is 0.02 % per process.
    window_instructions: int = 300_000_000
    # The same for the bytecode meter (attribution's tracer.py), in its own unit: a window about as long in
    # requests as the instructions' one (a Flask request executes ~9,000 bytecodes, an aiohttp one ~3,500).
    window_bytecodes: int = 2_000_000
    requests: int | None = None  # a fixed number of requests in every server's window instead
    warmup_per_worker: int = 50
    # The idle window's length, as a share of the requests' window: its count is scaled up by the ratio of the two
    # lengths. Half as long saves a quarter of a server's count; a heartbeat landing once more or less then
    # weighs twice as much (see docs/measured.md for the spread this leaves).
    idle_share: float = 0.5
    prime_per_worker: int = 2  # requests in the thrown-away window
    calls: int = 200  # calls of a core function in its window
    # Requests (a client) or calls (the core) in the thrown-away window of a child: the switch to instrumented
    # code needs a few, not a whole batch (a client's batch of 100 costs ~200 million instructions).
    prime_in_child: int = 20
    repeats: int = 1  # each in fresh processes
    client: client.ClientSettings = CLIENT_SETTINGS
    jobs: int = len(os.sched_getaffinity(0))  # counts at once, each on a CPU of its own

    def __post_init__(self) -> None:
        if min(self.window_instructions, self.window_bytecodes, 1 if self.requests is None else self.requests,
               self.warmup_per_worker,
               self.prime_per_worker, self.prime_in_child, self.calls, self.repeats, self.jobs) < 1:
            raise ValueError("window, requests, warm-up, priming, calls, repeats and jobs must all be >= 1")
        if not 0 < self.idle_share <= 1:
            raise ValueError("the idle window's share must be above 0 and at most 1")

    def window_requests(self, per_request: float, window: int | None = None) -> int:
        """Requests in a server's window, from a first estimate of what one costs, in the meter's unit (``window``:
        what the window should hold in that unit; instructions by default)."""
        if self.requests:
            return self.requests
        window = window or self.window_instructions
        return max(WINDOW_STEP, WINDOW_STEP * round(window / per_request / WINDOW_STEP))


def all_ids() -> list[str]:
    """Every target the channel counts: the server scenarios, the client strategies, the core functions."""
    return [*SCENARIOS, *(CLIENT_PREFIX + strategy for strategy in client.STRATEGIES), *core_statements()]


def check_ids(ids: Sequence[str]) -> list[str]:
    known = all_ids()
    unknown = [target for target in ids if target not in known]
    if unknown:
        raise ValueError(f"unknown target {unknown[0]!r}; known: {', '.join(known)}")
    return list(dict.fromkeys(ids))


# -- the tools ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toolchain:
    """valgrind, the window library built for this machine, and how to turn address-space randomisation off."""

    valgrind: str
    version: str
    library: Path
    no_aslr: tuple[str, ...]  # ("setarch", "<machine>", "-R"), or () where that is refused

    def prefix(self, outdir: Path, cpu: int | None) -> list[str]:
        """What goes before a command to count it: one CPU, no ASLR, callgrind writing into ``outdir``."""
        return [*pinned(cpu), *self.no_aslr, self.valgrind, *CALLGRIND,
                f"--callgrind-out-file={outdir}/cg.%p", f"--log-file={outdir}/valgrind.%p.log"]

    # How count_server and count_in_child run a target under this meter, and read a window.
    def server_command(self, argv: Sequence[str], outdir: Path, cpu: int | None) -> list[str]:
        return [*self.prefix(outdir, cpu), *argv]

    def child_command(self, spec_file: Path, outdir: Path, cpu: int | None) -> list[str]:
        return [*self.prefix(outdir, cpu), sys.executable, str(CHILD), "--library", str(self.library), str(spec_file)]

    def window_env(self, outdir: Path) -> dict[str, str]:
        return {"LD_PRELOAD": str(self.library), **window_env(outdir)}

    def window(self, settings: CountSettings) -> int:
        return settings.window_instructions

    def dump(self, outdir: Path, pid: int, part: int) -> Path:
        return outdir / f"cg.{pid}.{part}"

    def read(self, outdir: Path, pid: int, part: int) -> Dump:
        return read_dump(self.dump(outdir, pid, part))

    def recorded(self) -> dict:
        return {"valgrind": self.version, "tool": "callgrind", "options": list(CALLGRIND),
                "aslr": "off" if self.no_aslr else "on", "hash_seed": 0, "pinned": bool(shutil.which("taskset"))}


def pinned(cpu: int | None) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(cpu)] if cpu is not None and taskset else []


# Every variable a counted process starts with, beside its own (the window's, the scenario's): the same wherever
# and by whomever a count is run (asv, a workflow, a test, a shell with a long PATH), since their lengths move its
# memory layout, and with it the count. The locale is set, not inherited (Python sets LC_CTYPE itself in the C
# locale); the commands are given by their absolute paths.
COUNTED_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0"}


def counted_env(*more: dict[str, str]) -> dict[str, str]:
    """A counted process's whole environment."""
    env = dict(COUNTED_ENV)
    for extra in more:
        env.update(extra)
    return env


def window_env(outdir: Path) -> dict[str, str]:
    """Where a counted process acknowledges the window's signals and writes its dumps, and which signals."""
    return {"PT_WINDOW_DIR": str(outdir), "PT_WINDOW_SIGNALS": f"{ZERO_SIGNAL} {DUMP_SIGNAL}"}


def prepare(workdir: Path) -> Toolchain:
    """Find valgrind and build the window library into ``workdir``; ToolMissing naming what to install."""
    for tool in (tools.VALGRIND, tools.CC):
        if not tool.installed():
            raise ToolMissing(tool.problem)
    valgrind, compiler = shutil.which(tools.VALGRIND.command), shutil.which(tools.CC.command)
    library = workdir / "libptwindow.so"
    built = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-pthread", "-o", str(library), str(SOURCE), "-ldl"],
                           capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        first = (built.stderr.strip().splitlines() or ["no message"])[0]
        raise ToolMissing(f"cannot build the counting window ({first}): `sudo apt-get install valgrind gcc libc6-dev`")
    version = subprocess.run([valgrind, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    setarch = shutil.which("setarch")
    no_aslr = (setarch, platform.machine(), "-R") if setarch else ()
    if not setarch or subprocess.run([*no_aslr, "true"], capture_output=True).returncode != 0:
        no_aslr = ()
    return Toolchain(valgrind, version, library, no_aslr)


def names_collector(tools: Toolchain, workdir: Path) -> bool:
    """Whether callgrind names CPython's collector in this interpreter (a build stripped of its static symbols
    would not): a full collection counted in a child, and its dump read."""
    out = workdir / "collector.out"
    done = subprocess.run([tools.valgrind, "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out}",
                           sys.executable, "-S", "-c", "import gc; gc.collect()"], capture_output=True, timeout=120)
    try:
        return done.returncode == 0 and read_dump(out).collections > 0
    except HarnessError:
        return False


# CPython's garbage collector, as callgrind names its functions: gc_collect_main (3.11-3.13, and the free-threaded
# build), _PyGC_Collect and the three it dispatches to (3.14's incremental collector). What the calls into any of
# them from outside them cost, their callees included (finalizers, weakref callbacks, freeing the garbage), is
# the collector's share of a window.
COLLECTOR = frozenset({"gc_collect_main", "_PyGC_Collect", "gc_collect_young", "gc_collect_increment",
                       "gc_collect_full"})
_NAMED = re.compile(r"\((\d+)\)(?: (.*))?")
_LEVEL = re.compile(r"'\d+$")
NO_SYMBOL = "(no symbol)"  # code callgrind has no name for: JIT trampolines, stripped libraries


@dataclass
class Cost:
    """What one function cost in a window, or per unit: how often it was called, its own instructions, and those
    with its callees (self plus the cost of every call it makes, less calls to itself; a function in a longer
    cycle, as the evaluation loop calling C calling the loop again, counts its cycle more than once)."""

    calls: float = 0
    own: float = 0
    inclusive: float = 0

    def add(self, other: Cost, scale: float = 1.0) -> None:
        self.calls += scale * other.calls
        self.own += scale * other.own
        self.inclusive += scale * other.inclusive

    def per(self, units: int) -> Cost:
        return Cost(self.calls / units, self.own / units, self.inclusive / units)


@dataclass(frozen=True)
class Dump:
    """One callgrind dump, read: its total, what the collector cost in it, and each function's cost."""

    total: int
    collector: int
    collections: int  # calls into the collector from outside it
    functions: dict[str, Cost] = field(default_factory=dict, compare=False, repr=False)


def read_dump(path: Path) -> Dump:
    """A callgrind dump (``--dump-instr=no``: per function, not per instruction); HarnessError if incomplete."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        text = ""
    totals = re.search(r"^totals: (\d+)", text, re.MULTILINE)  # callgrind writes it last
    if totals is None:
        raise HarnessError(f"callgrind wrote no complete dump {path.name}")
    functions: dict[str, Cost] = {}
    names: dict[str, str] = {}

    def name(text: str) -> str:
        match = _NAMED.fullmatch(text.strip())
        if not match:
            found = text.strip()
        elif match[2] is not None:
            found = names[match[1]] = match[2]
        else:
            found = names.get(match[1], text.strip())
        # callgrind names a recursion's deeper levels f'2, f'3...: one function here.
        return NO_SYMBOL if found.startswith("0x") else _LEVEL.sub("", found)

    current = callee = None
    collector = collections = 0
    pending: int | None = None  # the count of the call whose cost the next cost line is (callgrind writes 0 too)
    for line in text.splitlines():
        if line.startswith("fn="):
            current = name(line[3:])
            if current not in functions:
                functions[current] = Cost()
        elif line.startswith("cfn="):
            callee = name(line[4:])
        elif line.startswith("calls="):
            pending = int(line[6:].split()[0])
        elif current is not None and line[:1] in "0123456789+-*" and line[:1]:
            parts = line.split()
            cost = int(parts[1]) if len(parts) > 1 else 0
            if pending is not None:
                if callee not in functions:
                    functions[callee] = Cost()
                functions[callee].calls += pending
                if callee != current:
                    functions[current].inclusive += cost
                if callee in COLLECTOR and current not in COLLECTOR:
                    collector += cost
                    collections += pending
                pending = None
            else:
                functions[current].own += cost
                functions[current].inclusive += cost
    return Dump(int(totals[1]), collector, collections, functions)


# -- one count ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """One repeat of one target: the request's (or call's) own instructions per unit, the collector's beside them,
    and for a server each process's instructions in the window and in the idle window that followed it (most
    first)."""

    per_unit: float
    processes: tuple[int, ...] = ()
    seconds: float = 0.0
    idle: tuple[int, ...] = ()
    units: int = 0  # requests or calls in the window
    dumps: tuple[Path, ...] = ()  # the window's dump of each process (kept while the count's folder is)
    idle_dumps: tuple[Path, ...] = ()
    idle_scale: float = 1.0  # the requests' window's length over the idle one's: what the idle dumps count for
    collector: float = 0.0  # the collector's instructions per unit (those of the idle window subtracted)
    collections: int = 0  # the collections they come from, in the window
    # Each function's cost per unit, summed over the processes, the idle window's subtracted (what attribution
    # ranks; kept by measure() when asked, so that a profile of the same build need not count again).
    functions: dict[str, Cost] = field(default_factory=dict, compare=False, repr=False)


def net(windows: Sequence[dict[str, Cost]], idles: Sequence[dict[str, Cost]], scale: float,
        units: int) -> dict[str, Cost]:
    """Per function, the windows' costs less the idle windows' times ``scale``, per unit; what costs nothing
    is left out."""
    total: dict[str, Cost] = {}
    for sign, tables in ((1.0, windows), (-scale, idles)):
        for table in tables:
            for name, cost in table.items():
                total.setdefault(name, Cost()).add(cost, sign)
    return {name: cost.per(units) for name, cost in total.items() if cost.calls or cost.own or cost.inclusive}


def _apart(windows: Sequence[Dump], idles: Sequence[Dump], scale: float, units: int) -> tuple[float, float]:
    """(the request's own instructions per unit, the collector's), the idle windows subtracted from each."""
    collector = sum(d.collector for d in windows) - scale * sum(d.collector for d in idles)
    everything = sum(d.total for d in windows) - scale * sum(d.total for d in idles)
    return (everything - collector) / units, collector / units


class PacedClient:
    """Sends the fixed request one at a time, each only once every thread of the server is asleep, and checks
    every answer: the first like any verification, the others against its bytes."""

    def __init__(self, server: Server, path: str = ARTICLE.fixed_path) -> None:
        self.server = server
        self.path = path
        self.reference: bytes | None = None
        self.pids: list[int] | None = None  # None: look the server's processes up each time (while they start)
        self._conn = http.client.HTTPConnection(HOST, server.port, timeout=STEP_TIMEOUT_S)

    def close(self) -> None:
        self._conn.close()

    def wait_asleep(self) -> None:
        """Until every thread of the server sleeps, seen twice in a row (a thread is briefly asleep, but runnable
        again at once, when valgrind hands its lock from one thread to another)."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        pids = self.pids or self.server.pids()  # a scan of every process: fixed once the server is warm
        seen = 0
        while seen < 2:
            self.server.check_alive()
            seen = seen + 1 if procstat.all_asleep(pids) else 0
            if time.monotonic() > deadline:
                self.server.check_alive()
                raise LoadFailed(f"the server did not go idle within {STEP_TIMEOUT_S:g} s")
            time.sleep(0.0002)

    def send(self, count: int) -> None:
        for _ in range(count):
            self.wait_asleep()
            try:
                self._conn.request("GET", self.path)
                response = self._conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.server.check_alive()
                raise LoadFailed(f"GET {self.path} failed: {error}") from None
            if response.getheader("Connection", "").lower() == "close" or response.version == 10:
                self._conn.close()  # http.client opens a new connection for the next request
            if self.reference is None:
                verify.check_answer(self.path, response.status, response.getheader("Content-Type", ""), body)
                self.reference = body
            elif response.status // 100 != 2 or body != self.reference:
                raise VerificationFailed(f"GET {self.path} answered {response.status} {body[:120]!r}, not the "
                                         f"first answer {self.reference[:120]!r}")
        self.wait_asleep()


def _window(server: Server, pids: Sequence[int], signum: int, name: str, outdir: Path) -> None:
    """Signal every process and wait until each has acknowledged (the library's ``<name>.<pid>`` files)."""
    for ack in outdir.glob(f"{name}.*"):
        ack.unlink()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # noticed just below
            os.kill(pid, signum)
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not all((outdir / f"{name}.{pid}").exists() for pid in pids):
        server.check_alive()
        if set(pids) - set(server.pids()):
            raise ServerError("a server process ended during the count", server.log_tail())
        if time.monotonic() > deadline:
            raise HarnessError(f"a server process did not acknowledge the window's {name} signal")
        time.sleep(0.005)


def count_server(scenario: Scenario, settings: CountSettings, tools: Toolchain, outdir: Path,
                 cpu: int | None = None) -> Count:
    """Instructions per request of one server scenario, summed over its processes, in a fresh server."""
    spec = scenario.spec()
    outdir.mkdir(parents=True)
    command = tools.server_command(spec.argv, outdir, cpu)
    counted = ServerSpec(tuple(command), counted_env(spec.env, tools.window_env(outdir)),
                         stop_signal=spec.stop_signal, readiness="listening", inherit_env=False)
    workers = scenario.resolved_workers
    started = time.monotonic()
    with Server(counted, ready_timeout_s=READY_TIMEOUT_S) as server:
        paced = PacedClient(server)
        try:
            paced.send(settings.warmup_per_worker * workers)
            pids = paced.pids = server.pids()
            _window(server, pids, ZERO_SIGNAL, "zero", outdir)
            primed = settings.prime_per_worker * workers
            paced.send(primed)
            _window(server, pids, DUMP_SIGNAL, "dump", outdir)
            requests = settings.window_requests(sum(tools.read(outdir, pid, 1).total for pid in pids) / primed,
                                                tools.window(settings))
            _window(server, pids, ZERO_SIGNAL, "zero", outdir)
            opened = time.monotonic()
            paced.send(requests)
            _window(server, pids, DUMP_SIGNAL, "dump", outdir)
            lasted = time.monotonic() - opened
            # Then a window with no request: what the server does by the clock alone (heartbeats, timeouts), per
            # second, subtracted for as long as the requests' window lasted.
            _window(server, pids, ZERO_SIGNAL, "zero", outdir)
            opened = time.monotonic()
            time.sleep(lasted * settings.idle_share)
            _window(server, pids, DUMP_SIGNAL, "dump", outdir)
            idle_scale = lasted / (time.monotonic() - opened)
            if server.pids() != pids:
                raise ServerError("a server process started or ended during the count", server.log_tail())
        finally:
            paced.close()
        server.check_alive()
        # Every dump is written: no need for a graceful stop, which takes gunicorn 1-3 s under valgrind.
        server.stop(grace_s=0.0)
    windows = [tools.read(outdir, pid, 2) for pid in pids]
    idles = [tools.read(outdir, pid, 3) for pid in pids]
    per_unit, collector = _apart(windows, idles, idle_scale, requests)
    return Count(per_unit, tuple(sorted((d.total for d in windows), reverse=True)), time.monotonic() - started,
                 tuple(sorted((round(d.total * idle_scale) for d in idles), reverse=True)), requests,
                 tuple(tools.dump(outdir, pid, 2) for pid in pids), tuple(tools.dump(outdir, pid, 3) for pid in pids),
                 idle_scale, collector, sum(d.collections for d in windows),
                 net([d.functions for d in windows], [d.functions for d in idles], idle_scale, requests))


def count_in_child(spec: dict, tools: Toolchain, outdir: Path, cpu: int | None = None) -> dict[str, Count]:
    """Run ``callgrind_child.py`` under callgrind and read the dumps it names: {target id: Count}."""
    outdir.mkdir(parents=True)
    spec_file = outdir / "spec.json"
    spec_file.write_text(json.dumps(spec))
    argv = tools.child_command(spec_file, outdir, cpu)
    started = time.monotonic()
    try:
        done = launcher.run_command(argv, CHILD_TIMEOUT_S, env=counted_env(), cwd=outdir, inherit_env=False)
    except subprocess.TimeoutExpired:
        raise LoadFailed(f"the counting process did not finish within {CHILD_TIMEOUT_S:g} s") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise LoadFailed(f"the counting process failed: {last}")
    dumps = json.loads(lines[-1])
    pid = int(dumps.pop("pid"))
    seconds = time.monotonic() - started
    counts = {}
    for target, (part, units) in dumps.items():
        window = tools.read(outdir, pid, part)
        per_unit, collector = _apart([window], [], 1.0, units)
        counts[target] = Count(per_unit, seconds=seconds, units=units, dumps=(tools.dump(outdir, pid, part),),
                               collector=collector, collections=window.collections,
                               functions=net([window.functions], [], 1.0, units))
    return counts


def client_spec(strategy_id: str, url: str, settings: CountSettings) -> dict:
    return {"kind": "client", "id": CLIENT_PREFIX + strategy_id, "strategy": strategy_id, "url": url,
            "settings": asdict(settings.client), "prime": settings.prime_in_child}


def core_spec(ids: Sequence[str], settings: CountSettings) -> dict:
    statements = core_statements()
    return {"kind": "core", "calls": settings.calls, "prime": settings.prime_in_child,
            "items": [{"id": target, "setup": statements[target][0], "statement": statements[target][1]}
                      for target in ids]}


# -- many counts at once -----------------------------------------------------------------------------------------


@dataclass
class _Tally:
    counts: list[Count] = field(default_factory=list)
    failure: str | None = None


Task = tuple[list[str], Callable[[Path, int], dict[str, Count]]]  # the targets one count yields, and the count


def counted_path(folder: Path, target: str) -> Path:
    return Path(folder) / (target.replace(":", "_") + ".json")


def keep(folder: Path, target: str, count: Count, built: build.Build) -> None:
    """One count's functions, for a profile of the same build and Python to use (``kept``)."""
    data = COUNTED.stamp({"target": target, "python": sys.version.split()[0], "build": built.to_dict(),
                          "units": count.units, "per_unit": count.per_unit, "collector": count.collector,
                          "collections": count.collections, "functions": {
                              name: [cost.calls, cost.own, cost.inclusive] for name, cost in count.functions.items()}})
    path = counted_path(folder, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(data))
    path.with_suffix(".tmp").replace(path)


def kept(folder: Path, target: str, built: build.Build) -> Count | None:
    """The count ``keep`` left of ``target``, if it was made of this build with this Python; else None."""
    try:
        data = COUNTED.load(counted_path(folder, target))
    except FormatError:
        return None
    if data["python"] != sys.version.split()[0] or data["build"].get("digest") != built.digest:
        return None
    return Count(data["per_unit"], units=data["units"], collector=data["collector"], collections=data["collections"],
                 functions={name: Cost(*cost) for name, cost in data["functions"].items()})


def measure(ids: Sequence[str], settings: CountSettings = CountSettings(),
            progress: Progress | None = None, keep_in: Path | None = None) -> list[InstructionRun]:
    """Count every target ``settings.repeats`` times, ``settings.jobs`` at once (each on its own CPU); one
    InstructionRun per target, in the order given. A target that fails is recorded as failed, with the reason;
    under asv, a build that is not the commit's fails them all (``build.for_measurement``). ``keep_in``: a folder
    where each target's last count keeps its functions (``keep``)."""
    say = progress or (lambda message: None)
    ids = check_ids(ids)
    tallies = {target: _Tally() for target in ids}
    with tempfile.TemporaryDirectory(prefix="planet-instructions-") as tmp, contextlib.ExitStack() as stack:
        tools = prepare(Path(tmp))
        try:
            subject_build = build.for_measurement(server_env=counted_env())
        except build.BuildMismatch as error:
            recorded = {**tools.recorded(), **asdict(settings)}
            return [_record(target, _Tally(failure=str(error)), recorded) for target in ids]
        say(f"measuring {subject_build.describe()}")
        named = names_collector(tools, Path(tmp))
        latency_url = ""
        if any(target.startswith(CLIENT_PREFIX) for target in ids):
            latency_url = stack.enter_context(client.latency_server(settings.client)).url(client.DELAY_PATH)
        kept_by = (lambda target, count: keep(keep_in, target, count, subject_build)) if keep_in else None
        _run_tasks(_tasks(ids, settings, tools, latency_url), tallies, settings.jobs, Path(tmp), say, kept_by)
    recorded = {**tools.recorded(), **asdict(settings), "fixed_path": ARTICLE.fixed_path,
                "build": subject_build.to_dict(), "collector": sorted(COLLECTOR) if named else None}
    return [_record(target, tallies[target], recorded) for target in ids]


def _tasks(ids: Sequence[str], settings: CountSettings, tools: Toolchain, latency_url: str) -> list[Task]:
    """One task per count: each server scenario and each client alone, the core statements together."""
    servers = [target for target in ids if target in SCENARIOS]
    cores = [target for target in ids if target.startswith(CORE_PREFIX)]
    tasks: list[Task] = []
    for _ in range(settings.repeats):
        # Longest first: servers with several workers start slowest.
        for target in sorted(servers, key=lambda t: -SCENARIOS[t].resolved_workers):
            tasks.append(([target], lambda out, cpu, t=target:
                          {t: count_server(SCENARIOS[t], settings, tools, out, cpu)}))
        if cores:
            tasks.append((cores, lambda out, cpu: count_in_child(core_spec(cores, settings), tools, out, cpu)))
        for target in (t for t in ids if t.startswith(CLIENT_PREFIX)):
            spec = client_spec(target[len(CLIENT_PREFIX):], latency_url, settings)
            tasks.append(([target], lambda out, cpu, s=spec: count_in_child(s, tools, out, cpu)))
    return tasks


def _run_tasks(tasks: list[Task], tallies: dict[str, _Tally], jobs: int, workdir: Path, say: Progress,
               kept_by: Callable[[str, Count], None] | None = None) -> None:
    """The tasks, ``jobs`` at a time, each on a CPU of its own; counts and failures go to the tallies (and to
    ``kept_by``)."""
    cpus = sorted(os.sched_getaffinity(0))
    free_cpus = [cpus[slot % len(cpus)] for slot in range(jobs)]
    lock = threading.Lock()

    def run(number: int, targets: list[str], job: Callable[[Path, int], dict[str, Count]]) -> None:
        with lock:
            cpu = free_cpus.pop(0)
        try:
            if all(tallies[target].failure for target in targets):
                return  # failed in an earlier repeat: its later repeats would not count
            for target, counted in job(workdir / f"task-{number:03d}", cpu).items():
                tallies[target].counts.append(counted)
                if kept_by:
                    kept_by(target, counted)
                unit = "call" if target.startswith(CORE_PREFIX) else "request"
                say(f"{target}: {counted.per_unit:,.0f} instructions per {unit}, and the collector's "
                    f"{counted.collector:,.0f} ({counted.seconds:.1f} s)")
        except HarnessError as error:
            reason = str(error).splitlines()[0]
            for target in targets:
                tallies[target].failure = tallies[target].failure or reason
            say(f"{', '.join(targets)} FAILED: {reason}")
        finally:
            shutil.rmtree(workdir / f"task-{number:03d}", ignore_errors=True)
            with lock:
                free_cpus.append(cpu)

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="count") as pool:
        futures = [pool.submit(run, number, targets, job) for number, (targets, job) in enumerate(tasks)]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            # Ctrl-C, SIGTERM or a bug: end every server and child now, so that the worker threads unwind.
            for future in futures:
                future.cancel()
            launcher.kill_all()
            raise


def _record(target: str, tally: _Tally, recorded: dict) -> InstructionRun:
    kind = "server" if target in SCENARIOS else "client" if target.startswith(CLIENT_PREFIX) else "core"
    unit = "call" if kind == "core" else "request"
    if tally.failure or not tally.counts:
        return InstructionRun(target, kind, unit, recorded, "failed", tally.failure or "not counted")
    collector = recorded.get("collector") is not None
    return InstructionRun(target, kind, unit, recorded, "ok", counts=tuple(c.per_unit for c in tally.counts),
                          processes=tuple(c.processes for c in tally.counts),
                          idle=tuple(c.idle for c in tally.counts), units=tuple(c.units for c in tally.counts),
                          seconds=tuple(c.seconds for c in tally.counts),
                          collector=tuple(c.collector for c in tally.counts) if collector else (),
                          collections=tuple(c.collections for c in tally.counts) if collector else ())


def medians(runs: Sequence[InstructionRun]) -> dict[tuple[str, str], float | str]:
    """{(target, part): median instructions per unit, or the reason it failed}: what the asv suite records. The
    parts are "request" (the request's or call's own instructions) and "collector" (the garbage collector's),
    the second absent where callgrind does not name the collector."""
    found: dict[tuple[str, str], float | str] = {}
    for run in runs:
        found[run.id, "request"] = median(run.counts) if run.status == "ok" else run.reason
        if run.status != "ok" or run.collector:
            found[run.id, "collector"] = median(run.collector) if run.status == "ok" else run.reason
    return found
