"""Counts its own instructions under callgrind: one client strategy's batch, or calls of core functions.

Run by ``callgrind.count_in_child`` under ``valgrind --tool=callgrind --instr-atstart=no``, by path with the
interpreter being measured, as ``python callgrind_child.py --library LIB SPEC.json``. Start-up and imports run
uninstrumented (fast). For each target: a warm-up, uninstrumented; then a thrown-away window and the counted
window, each opened by zeroing callgrind's counters and closed by a dump. The last line on stdout is JSON:
``{"pid": PID, "<target id>": [dump part, units in the window], ...}``; the parent reads the dumps. With
``--tracer DIR`` instead of ``--library``, the same windows count bytecode per Python function (``tracer.py``),
dumped as ``DIR/prof.<pid>.<part>.json``.

It imports the harness from this checkout, placed after the installed packages on ``sys.path`` so that a core
target imports the ``planet_tracker`` that is installed (under asv: the build of the commit being measured).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path.pop(0)  # this folder's modules (client.py, stats.py...) must not shadow top-level names
sys.path.append(str(HERE.parent.parent))


class Window:
    """The library's direct calls; the dump count gives each dump's part number (callgrind counts from 1)."""

    def __init__(self, library: str) -> None:
        self.lib = ctypes.CDLL(library)
        self.dumps = 0
        self.instrumented = False

    def count(self, prime, work) -> int:
        """Run ``prime`` (a smaller piece of the same work), then ``work``, each between a zero and a dump; the
        second dump's part number. The first window, thrown away, carries the switch to instrumented code.

        Each window starts after a full garbage collection: the collections inside it then depend on its own
        allocations only, not on what ran before (with the young generations left as the warm-up left them,
        aiohttp-gather's count moved by 15 % when the thrown-away window went from 100 requests to 20)."""
        if not self.instrumented:
            self.on()
            self.instrumented = True
        for run in (prime, work):
            gc.collect()
            self.zero()
            run()
            self.dump()
            self.dumps += 1
        return self.dumps

    def on(self) -> None:
        self.lib.pt_instrumentation_on()

    def off(self) -> None:
        self.lib.pt_instrumentation_off()

    def zero(self) -> None:
        self.lib.pt_window_zero()

    def dump(self) -> None:
        self.lib.pt_window_dump()


class TracedWindow(Window):
    """The same windows, counting bytecode per Python function (tracer.py) rather than machine instructions."""

    def __init__(self, folder: str) -> None:
        from benchmarks.harness import tracer

        self.tracer, self.folder = tracer, Path(folder)
        self.dumps = 0
        self.instrumented = False

    def on(self) -> None:
        self.tracer.install(self.tracer.PROFILE)  # counts from the first zero()

    def off(self) -> None:
        pass  # the process ends

    def zero(self) -> None:
        self.tracer.PROFILE.zero()

    def dump(self) -> None:
        data = self.tracer.PROFILE.as_data()
        (self.folder / f"prof.{os.getpid()}.{self.dumps + 1}.json").write_text(json.dumps(data))


def client_targets(spec: dict, window: Window) -> dict:
    from benchmarks.harness import client

    # Under valgrind a thread's 5 ms of wall time is a few hundred microseconds of its native work, so CPython's
    # forced GIL switches (every 5 ms) would come ~30 times more often than outside, at times set by the clock.
    # Switching only where a thread blocks (every socket operation, here) keeps the count to the work.
    sys.setswitchinterval(1000.0)

    settings = client.ClientSettings(**spec["settings"])
    primer = replace(settings, requests=min(settings.requests, int(spec["prime"])))

    def batch(settings=settings) -> None:
        client.run_strategy(spec["strategy"], spec["url"], settings)

    batch()  # warm-up
    return {spec["id"]: [window.count(lambda: batch(primer), batch), settings.requests]}


def core_targets(spec: dict, window: Window) -> dict:
    found = {}
    calls, prime = int(spec["calls"]), int(spec["prime"])
    for item in spec["items"]:
        namespace: dict = {}
        exec(item["setup"], namespace)
        loop, primer = (compile(f"for _ in range({n}):\n    {item['statement']}\n", item["id"], "exec")
                        for n in (calls, min(prime, calls)))

        def calls_of(code=loop, names=namespace) -> None:
            exec(code, names)

        calls_of()  # warm-up
        found[item["id"]] = [window.count(lambda names=namespace, code=primer: exec(code, names), calls_of), calls]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    meter = parser.add_mutually_exclusive_group(required=True)
    meter.add_argument("--library", help="count machine instructions (callgrind's window library)")
    meter.add_argument("--tracer", help="count bytecode per Python function, dumped into this folder")
    parser.add_argument("spec", type=Path)
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    window = Window(args.library) if args.library else TracedWindow(args.tracer)
    targets = client_targets if spec["kind"] == "client" else core_targets
    found = targets(spec, window)
    window.off()
    print(json.dumps({"pid": os.getpid(), **found}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
