"""Where a count's instructions go: a deterministic profile of one target (server scenario, client strategy or
core function) per request or call, for attributing a change that the instructions channel flagged.

Two meters, each run over the same fixed requests (or calls) as the channel, in the same windows:

* **Python functions** (``module:qualname``): bytecode instructions executed per request by each function itself
  and with its callees, and its entries per request, from ``tracer.py`` (no valgrind; about 100 times slower
  than plain Python, so a few dozen requests). A folded stack per path feeds the flame graph.
* **C functions** (by symbol): machine instructions per request, self and inclusive, and calls per request, from
  the channel's own callgrind dumps (``--dump-instr=no``: per function, not per line), summed over the server's
  processes, less the idle window as the channel does.

Both are counts, not times: two profiles of one commit agree within the channel's spread, so the difference of
two commits' profiles is where their code differs. What the two meters cannot see is the channel's blind spot
(the kernel, waiting, contention), and the bytecode meter gives Python functions no machine cost: a Python
function whose cost is in C (a C extension's call) shows few bytecodes, and its C callee shows the instructions.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import client
from .callgrind import (
    CHILD,
    CLIENT_PREFIX,
    CORE_PREFIX,
    CountSettings,
    Toolchain,
    check_ids,
    client_spec,
    core_spec,
    count_in_child,
    count_server,
    pinned,
    prepare,
    window_env,
)
from .errors import HarnessError
from .formats import ATTRIBUTION
from .scenarios import SCENARIOS

TRACER = Path(__file__).with_name("tracer.py")
# Fewer requests than the channel's window: every one is the same, and the bytecode meter is slow.
SETTINGS = CountSettings(requests=50, calls=50, warmup_per_worker=50, prime_per_worker=2, jobs=1)
NO_SYMBOL = "(no symbol)"  # code callgrind has no name for: JIT trampolines, stripped libraries


class Tracer:
    """The bytecode meter, run the way count_server and count_in_child run a Toolchain."""

    def server_command(self, argv: Sequence[str], outdir: Path, cpu: int | None) -> list[str]:
        return [*pinned(cpu), argv[0], str(TRACER), *argv[1:]]  # argv[0] is the Python that serves

    def child_command(self, spec_file: Path, outdir: Path, cpu: int | None) -> list[str]:
        return [*pinned(cpu), sys.executable, str(CHILD), "--tracer", str(outdir), str(spec_file)]

    def window_env(self, outdir: Path) -> dict[str, str]:
        return window_env(outdir)

    def dump(self, outdir: Path, pid: int, part: int) -> Path:
        return outdir / f"prof.{pid}.{part}.json"

    def total(self, outdir: Path, pid: int, part: int) -> int:
        return sum(own for _, own, _ in read_bytecode(self.dump(outdir, pid, part))[0].values())


# -- reading the dumps -------------------------------------------------------------------------------------------

_NAMED = re.compile(r"\((\d+)\)(?: (.*))?")
_LEVEL = re.compile(r"'\d+$")


def read_callgrind(path: Path) -> dict[str, list[int]]:
    """{function: [calls, self, inclusive]} from one callgrind dump. Inclusive is self plus the cost of every call
    the function makes, less calls to itself; a function in a longer cycle (the evaluation loop calls C, which
    calls the loop again) counts its cycle more than once, so its inclusive cost overstates."""
    functions: dict[str, list[int]] = {}
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
    pending: int | None = None  # the count of the call whose cost the next cost line is (callgrind writes 0 too)
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("fn="):
            current = name(line[3:])
            functions.setdefault(current, [0, 0, 0])
        elif line.startswith("cfn="):
            callee = name(line[4:])
        elif line.startswith("calls="):
            pending = int(line[6:].split()[0])
        elif current is not None and line[:1] in "0123456789+-*" and line[:1]:
            parts = line.split()
            cost = int(parts[1]) if len(parts) > 1 else 0
            if pending is not None:
                functions.setdefault(callee, [0, 0, 0])[0] += pending
                if callee != current:
                    functions[current][2] += cost
                pending = None
            else:
                functions[current][1] += cost
                functions[current][2] += cost
    return functions


def read_bytecode(path: Path) -> tuple[dict[str, list[int]], dict[str, int]]:
    """{function: [calls, self, inclusive]} and {folded stack: self} from one of tracer.py's dumps."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HarnessError(f"no bytecode profile {path.name}: {error}") from None
    if data.get("schema") != "planet-tracker-bytecode-profile":
        raise HarnessError(f"{path.name} is not a bytecode profile")
    if "error" in data:
        raise HarnessError(f"the profiled process could not dump its profile: {data['error']}")
    functions = {name: [f["calls"], f["self"], f["inclusive"]] for name, f in data["functions"].items()}
    return functions, dict(data["stacks"])


def _sum(parts: Sequence[dict], minus: Sequence[dict] = (), scale: float = 1.0) -> dict:
    """``parts`` added up, less ``minus`` times ``scale``."""
    total: dict = {}
    for sign, group in ((1, parts), (-scale, minus)):
        for part in group:
            for key, value in part.items():
                if isinstance(value, list):
                    slot = total.setdefault(key, [0] * len(value))
                    for i, number in enumerate(value):
                        slot[i] += sign * number
                else:
                    total[key] = total.get(key, 0) + sign * value
    return total


def _per_unit(table: dict, units: int) -> dict:
    out = {}
    for key, value in table.items():
        values = [v / units for v in value] if isinstance(value, list) else value / units
        if any(values) if isinstance(values, list) else values:
            out[key] = values
    return out


# -- one profile -------------------------------------------------------------------------------------------------


def _count(target: str, settings: CountSettings, meter, outdir: Path, latency_url: str):
    if target in SCENARIOS:
        return count_server(SCENARIOS[target], settings, meter, outdir)
    spec = (client_spec(target[len(CLIENT_PREFIX):], latency_url, settings) if target.startswith(CLIENT_PREFIX)
            else core_spec([target], settings))
    return count_in_child(spec, meter, outdir)[target]


def profile(target: str, settings: CountSettings = SETTINGS) -> dict:
    """The target's profile at whatever is installed: per request (servers, clients) or call (core)."""
    (target,) = check_ids([target])
    with tempfile.TemporaryDirectory(prefix="planet-attribution-") as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        tools: Toolchain = prepare(tmp)
        latency_url = ""
        if target.startswith(CLIENT_PREFIX):
            latency_url = stack.enter_context(client.latency_server(settings.client)).url(client.DELAY_PATH)
        machine = _count(target, settings, tools, tmp / "callgrind", latency_url)
        bytecode = _count(target, settings, Tracer(), tmp / "bytecode", latency_url)
        c_functions = _sum([read_callgrind(p) for p in machine.dumps],
                           [read_callgrind(p) for p in machine.idle_dumps], machine.idle_scale)
        windows = [read_bytecode(p) for p in bytecode.dumps]
        idles = [read_bytecode(p) for p in bytecode.idle_dumps]
        py_functions = _sum([w[0] for w in windows], [i[0] for i in idles], bytecode.idle_scale)
        stacks = _sum([w[1] for w in windows], [i[1] for i in idles], bytecode.idle_scale)
    unit = "call" if target.startswith(CORE_PREFIX) else "request"
    return ATTRIBUTION.stamp({
        "target": target, "unit": unit, "units": {"instructions": machine.units, "bytecode": bytecode.units},
        "instructions_per_unit": machine.per_unit,
        "python": _per_unit(py_functions, bytecode.units), "c": _per_unit(c_functions, machine.units),
        "stacks": _per_unit(stacks, bytecode.units), "python_version": sys.version.split()[0]})
