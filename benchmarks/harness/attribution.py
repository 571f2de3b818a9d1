"""Where a count's instructions go: a deterministic profile of one target (server scenario, client strategy or
core function) per request or call, for attributing a change that the instructions channel flagged.

Two meters, each run over the same fixed requests (or calls) as the channel, in the same windows:

* **Python functions** (``module:qualname``): bytecode instructions executed per request by each function itself
  and with its callees, and its entries per request, from ``tracer.py`` (no valgrind: it runs in the profiled
  process, about as slowly as callgrind does). A folded stack per path feeds the flame graph.
* **C functions** (by symbol): machine instructions per request, self and inclusive, and calls per request, from
  the channel's own callgrind dumps (``--dump-instr=no``: per function, not per line), summed over the server's
  processes, less the idle window as the channel does.

Both are counts, not times, taken as the channel takes them (every process of the server on one CPU, garbage
collected before each window): two profiles of one commit agree within the channel's spread, so the difference
of two commits' profiles is where their code differs. A profile names the build it ran, and is refused when a
profiled process ran the subject's code from elsewhere (``build``, ``check_files``).

What the two meters cannot see is the channel's blind spot (the kernel, waiting, contention), and the bytecode
meter gives Python functions no machine cost: a Python function whose cost is in C (a C extension's call) shows
few bytecodes, and its C callee shows the instructions.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import build, client, launcher
from .callgrind import (
    CHILD,
    CLIENT_PREFIX,
    CORE_PREFIX,
    Cost,
    CountSettings,
    Dump,
    Toolchain,
    check_ids,
    client_spec,
    core_spec,
    count_in_child,
    count_server,
    counted_env,
    kept,
    pinned,
    prepare,
    read_dump,
    window_env,
)
from .errors import HarnessError
from .formats import ATTRIBUTION, SUBJECT
from .scenarios import SCENARIOS

TRACER = Path(__file__).with_name("tracer.py")
# The channel's own windows, one count at a time: a window as long as a count's holds as many of a server's
# clock-driven wake-ups (gunicorn's heartbeats), which is what lets two profiles agree as two counts do.
SETTINGS = CountSettings(jobs=1)


class Tracer:
    """The bytecode meter, run the way count_server and count_in_child run a Toolchain."""

    def server_command(self, argv: Sequence[str], outdir: Path, cpu: int | None) -> list[str]:
        return [*pinned(cpu), argv[0], str(TRACER), *argv[1:]]  # argv[0] is the Python that serves

    def child_command(self, spec_file: Path, outdir: Path, cpu: int | None) -> list[str]:
        return [*pinned(cpu), sys.executable, str(CHILD), "--tracer", str(outdir), str(spec_file)]

    def window_env(self, outdir: Path) -> dict[str, str]:
        return window_env(outdir)

    def window(self, settings: CountSettings) -> int:
        return settings.window_bytecodes

    def dump(self, outdir: Path, pid: int, part: int) -> Path:
        return outdir / f"prof.{pid}.{part}.json"

    def read(self, outdir: Path, pid: int, part: int) -> Dump:
        """A window's bytecode, as the channel reads a dump (the collector is C: no bytecode of its own)."""
        functions = read_bytecode(self.dump(outdir, pid, part)).functions
        return Dump(sum(cost.own for cost in functions.values()), 0, 0, functions)


# -- reading the dumps -------------------------------------------------------------------------------------------

def read_callgrind(path: Path) -> dict[str, Cost]:
    """Each C function's cost in one callgrind dump (``callgrind.read_dump``)."""
    return read_dump(path).functions


@dataclass(frozen=True)
class Bytecode:
    """One of tracer.py's dumps, read: each function's cost, the own cost of each folded stack, and each
    function's file (what says which build a server ran)."""

    functions: dict[str, Cost]
    stacks: dict[str, float]
    files: dict[str, str]


def read_bytecode(path: Path) -> Bytecode:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HarnessError(f"no bytecode profile {path.name}: {error}") from None
    if data.get("schema") != "planet-tracker-bytecode-profile":
        raise HarnessError(f"{path.name} is not a bytecode profile")
    if "error" in data:
        raise HarnessError(f"the profiled process could not dump its profile: {data['error']}")
    return Bytecode({name: Cost(f["calls"], f["self"], f["inclusive"]) for name, f in data["functions"].items()},
                    dict(data["stacks"]), {name: f["file"] for name, f in data["functions"].items()})


def _stacks(windows: Sequence[Bytecode], idles: Sequence[Bytecode], scale: float, units: int) -> dict[str, float]:
    """The folded stacks' own costs per unit, the idle windows' subtracted; what costs nothing is left out."""
    total: dict[str, float] = {}
    for sign, dumps in ((1.0, windows), (-scale, idles)):
        for dump in dumps:
            for key, own in dump.stacks.items():
                total[key] = total.get(key, 0) + sign * own
    return {key: own / units for key, own in total.items() if own}


def _named(table: dict[str, Cost]) -> dict[str, dict]:
    """A table as the profile's file names its costs."""
    return {name: {"calls": cost.calls, "self": cost.own, "inclusive": cost.inclusive} for name, cost in table.items()}


def check_files(files: dict[str, str], built: build.Build) -> None:
    """BuildMismatch when a function of the subject that a profiled process ran came from outside the build's
    folder: the server imported other code than the build the check before the count found."""
    package = SUBJECT[1]
    strays = sorted({path for name, path in files.items() if name.split(":")[0].split(".")[0] == package
                     and not Path(path).resolve().is_relative_to(Path(built.location))})
    if strays:
        raise build.BuildMismatch(f"the profiled server ran {package} from {strays[0]}"
                                  + (f" and {len(strays) - 1} more file(s)" if len(strays) > 1 else "")
                                  + f", not from {built.location} ({built.describe()})")


# -- one profile -------------------------------------------------------------------------------------------------


def _count(target: str, settings: CountSettings, meter, outdir: Path, latency_url: str, cpu: int):
    if target in SCENARIOS:
        return count_server(SCENARIOS[target], settings, meter, outdir, cpu)
    spec = (client_spec(target[len(CLIENT_PREFIX):], latency_url, settings) if target.startswith(CLIENT_PREFIX)
            else core_spec([target], settings))
    return count_in_child(spec, meter, outdir, cpu)[target]


def profile(target: str, settings: CountSettings = SETTINGS, counted: Path | None = None) -> dict:
    """The target's profile at whatever is installed: per request (servers, clients) or call (core), pinned to
    one CPU as the channel counts, and naming the build it ran (under asv, that commit's or none:
    ``build.for_measurement``). ``counted``: where the channel kept its counts (``callgrind.keep``); a count of
    this target, build and Python found there is its C functions, and only the bytecode is counted."""
    (target,) = check_ids([target])
    built = build.for_measurement(server_env=counted_env())
    machine = kept(counted, target, built) if counted else None
    cpus = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="planet-attribution-") as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        tools: Toolchain = prepare(tmp)
        latency_url = ""
        if target.startswith(CLIENT_PREFIX):
            latency_url = stack.enter_context(client.latency_server(settings.client)).url(client.DELAY_PATH)
        # The two meters at once, each on a CPU of its own, as the channel runs its counts.
        meters = [(Tracer(), "bytecode"), *([] if machine else [(tools, "callgrind")])]
        with ThreadPoolExecutor(max_workers=min(len(meters), len(cpus)), thread_name_prefix="profile") as pool:
            counts = [pool.submit(_count, target, settings, meter, tmp / name, latency_url, cpus[i % len(cpus)])
                      for i, (meter, name) in enumerate(meters)]
            try:
                bytecode, *counted_now = (count.result() for count in counts)
            except BaseException:
                launcher.kill_all()  # Ctrl-C or a failed count: the other's server ends now too
                raise
        machine = machine or counted_now[0]
        windows = [read_bytecode(p) for p in bytecode.dumps]
        idles = [read_bytecode(p) for p in bytecode.idle_dumps]
        for dump in (*windows, *idles):
            check_files(dump.files, built)
        stacks = _stacks(windows, idles, bytecode.idle_scale, bytecode.units)
    unit = "call" if target.startswith(CORE_PREFIX) else "request"
    return ATTRIBUTION.stamp({
        "target": target, "unit": unit, "units": {"instructions": machine.units, "bytecode": bytecode.units},
        "instructions_per_unit": machine.per_unit, "collector_per_unit": machine.collector,
        "python": _named(bytecode.functions), "c": _named(machine.functions), "stacks": stacks,
        "python_version": sys.version.split()[0], "build": built.to_dict()})
