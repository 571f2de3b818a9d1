"""A deterministic Python-level profile: how many bytecode instructions each Python function executes, itself and
with everything it calls, and how often it is entered, counted in a window opened and closed from outside.

A count of executed bytecode does not depend on the machine, its load or the clock (the same code given the same
request executes the same instructions), so two profiles of one commit agree, and a difference between two
commits is a change in the code. Callgrind counts machine instructions but sees Python code only as the
interpreter's evaluation loop; this names the Python functions (``module:qualname``) that the loop was running.

Standard library only: it runs inside the profiled process, started as

    python tracer.py -m gunicorn ARGS...      (or -m aiohttp.web, -m flask: any module run as ``python -m``)

or imported by ``callgrind_child.py``. Python 3.12 and later count with ``sys.monitoring`` (its INSTRUCTION
event); 3.11 with ``sys.settrace`` and ``frame.f_trace_opcodes``. A coroutine or generator counts one entry per
resumption. The window follows the counting window's protocol (``callgrind_window.c``): with ``PT_WINDOW_DIR``
and ``PT_WINDOW_SIGNALS="ZERO DUMP"`` in the environment, the ZERO signal resets the counts and the DUMP signal
writes ``prof.<pid>.<n>.json`` (n = 1, 2, ...), each acknowledged by a ``zero.<pid>`` or ``dump.<pid>`` file.
Python runs a signal handler in the main thread, between two instructions: the servers' main threads wait in
``select``/``epoll``, which a signal wakes.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import threading

SCHEMA, VERSION = "planet-tracker-bytecode-profile", 1
HERE = os.path.abspath(__file__)


class Profile:
    """Counts per code object (entries, instructions with callees) and per call stack (own instructions, for flame
    graphs, and summed by the stack's last function for its own count), for every thread."""

    def __init__(self) -> None:
        self.functions: dict = {}  # code -> [entries, inclusive]
        # tuple of codes, outermost first -> own instructions. A function's own count is the sum of the stacks it
        # ends: counted once, so a signal's zero or dump between two increments cannot set them apart.
        self.stacks: dict = {}
        self._local = threading.local()
        self._threads: list = []  # every thread's state, to restart its frames' marks at zero()
        self._lock = threading.Lock()
        self.start = None  # set by install(): turns the counting on, at the first zero()
        self.pause = self.resume = lambda: None  # set by install(): stop and restart the counting (for a dump)

    def _state(self):
        state = getattr(self._local, "state", None)
        if state is None:
            # [instructions executed by this thread, stack of (code, mark at entry, stack key)]
            state = self._local.state = [0, []]
            with self._lock:
                self._threads.append(state)
        return state

    def enter(self, code) -> None:
        state = self._state()
        stack = state[1]
        key = (stack[-1][2] if stack else ()) + (code,)
        counts = self.functions.get(code)
        if counts is None:
            counts = self.functions[code] = [0, 0]
        counts[0] += 1
        stack.append((code, state[0], key))

    def leave(self) -> None:
        state = self._state()
        if not state[1]:
            return  # a frame entered before the profile began
        code, mark, _ = state[1].pop()
        # Inclusive counts only the outermost active frame of a code object: a recursion counts once.
        if not any(entry[0] is code for entry in state[1]):
            counts = self.functions.get(code)
            if counts is not None:
                counts[1] += state[0] - mark

    def step(self, code) -> None:
        state = self._state()
        state[0] += 1
        stack = state[1]
        if not stack or stack[-1][0] is not code:  # running since before the profile began
            self.enter(code)
        key = stack[-1][2]
        self.stacks[key] = self.stacks.get(key, 0) + 1

    def zero(self) -> None:
        if self.start is not None:
            self.start()  # the first window begins the counting
            self.start = None
        self.functions.clear()
        self.stacks.clear()
        with self._lock:
            for state in self._threads:
                state[1][:] = [(code, state[0], key) for code, _, key in state[1]]
                # A frame running across the zero (the loop iteration a signal interrupts) counts its instructions
                # from here when it returns: 0 entries, but inclusive and own costs.
                for code, _, _ in state[1]:
                    self.functions.setdefault(code, [0, 0])

    def as_data(self) -> dict:
        """The counts, named; the counting pauses meanwhile (naming runs the standard library's code, which would
        be counted, and slowly: a server must not spend seconds in a dump)."""
        self.pause()
        try:
            return self._as_data()
        finally:
            self.resume()

    def _as_data(self) -> dict:
        # list(dict.items()) runs in C, under the GIL: another thread (gunicorn's gthread workers, Werkzeug's
        # threads) cannot change the table while it is copied. The counts themselves may move on; they are copied
        # right after.
        counted = [(code, list(counts)) for code, counts in list(self.functions.items())]
        stacked = list(self.stacks.items())
        names: dict = {}

        def name(code) -> str:
            if code not in names:
                names[code] = f"{module_of(code.co_filename)}:{getattr(code, 'co_qualname', code.co_name)}"
            return names[code]

        functions: dict = {}

        def entry(code) -> dict:
            return functions.setdefault(name(code), {"calls": 0, "self": 0, "inclusive": 0,
                                                     "file": code.co_filename, "line": code.co_firstlineno})

        for code, (entries, inclusive) in counted:
            found = entry(code)
            found["calls"] += entries
            found["inclusive"] += inclusive
        stacks: dict = {}
        for key, own in stacked:
            folded = ";".join(name(code) for code in key)
            stacks[folded] = stacks.get(folded, 0) + own
            entry(key[-1])["self"] += own
        return {"schema": SCHEMA, "version": VERSION, "pid": os.getpid(), "python": sys.version.split()[0],
                "functions": functions, "stacks": stacks}


_MODULES: dict = {}  # file -> module name
_INDEXED: list = []  # whether the loaded modules' files are in _MODULES yet


def module_of(filename: str) -> str:
    """A file's dotted module name: the loaded module's whose file it is, else from the longest entry of sys.path
    that holds it, else the file's own path."""
    found = _MODULES.get(filename)
    if found is None:
        if not _INDEXED:  # the loaded modules' files, once (a server has imported everything by its first dump)
            for name, module in list(sys.modules.items()):
                module_file = getattr(module, "__file__", None)
                if isinstance(module_file, str) and module_file.endswith(".py"):
                    _MODULES.setdefault(os.path.abspath(module_file), name)
            _INDEXED.append(True)
        path = os.path.abspath(filename)
        found = _MODULES.get(path)
        if found is None:
            roots = sorted((os.path.abspath(p or ".") for p in sys.path), key=len, reverse=True)
            root = next((r for r in roots if path.startswith(r.rstrip(os.sep) + os.sep)), None)
            if root is None or not path.endswith(".py"):
                found = filename
            else:
                parts = path[len(root.rstrip(os.sep)) + 1:-3].split(os.sep)
                found = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        _MODULES[filename] = found
    return found


PROFILE = Profile()


def _install_monitoring(profile: Profile) -> None:
    """Callbacks registered now, events turned on at the first zero: from then on every frame of every thread
    counts, those already running included."""
    monitoring = sys.monitoring
    tool, events = monitoring.PROFILER_ID, monitoring.events
    monitoring.use_tool_id(tool, "planet-tracker bytecode profile")
    disable = monitoring.DISABLE

    def start(code, offset):
        if code.co_filename == HERE:
            return disable
        profile.enter(code)

    def stop(code, offset, *rest):
        if code.co_filename == HERE:
            return disable
        profile.leave()

    def instruction(code, offset):
        if code.co_filename == HERE:
            return disable
        profile.step(code)

    for event, callback in ((events.PY_START, start), (events.PY_RESUME, start), (events.PY_RETURN, stop),
                            (events.PY_YIELD, stop), (events.PY_UNWIND, stop), (events.INSTRUCTION, instruction)):
        monitoring.register_callback(tool, event, callback)
    every = (events.PY_START | events.PY_RESUME | events.PY_RETURN | events.PY_YIELD | events.PY_UNWIND
             | events.INSTRUCTION)
    profile.start = profile.resume = lambda: monitoring.set_events(tool, every)
    profile.pause = lambda: monitoring.set_events(tool, 0)


def _install_settrace(profile: Profile) -> None:
    """A trace function in every thread from now on (3.11 cannot give one to a thread already running), which
    traces nothing until the first zero: from then on, every frame that begins counts. Frames already running
    then (a server's outermost loop) do not: the same few instructions per request on both commits."""
    active = []

    def local(frame, event, arg):
        if event == "opcode":
            profile.step(frame.f_code)
        elif event == "return":  # also when an exception leaves the frame, and at each yield
            profile.leave()
        return local

    def call(frame, event, arg):
        if not active or event != "call" or frame.f_code.co_filename == HERE:
            return None
        frame.f_trace_opcodes = True
        profile.enter(frame.f_code)
        return local

    threading.settrace(call)
    sys.settrace(call)
    # Paused, the frames that begin are not traced (the frames being traced go on: the dump's caller, briefly).
    profile.start = profile.resume = lambda: active.append(True)
    profile.pause = active.clear


def install(profile: Profile = PROFILE) -> Profile:
    """Ready to count; the counting begins at the profile's first zero() (start-up and imports run at full
    speed, as they run uninstrumented under callgrind)."""
    if sys.version_info >= (3, 12):
        _install_monitoring(profile)
    else:
        _install_settrace(profile)
    return profile


def _window_signals(profile: Profile, folder: str, signals: str) -> None:
    """The ZERO and DUMP signals, as callgrind_window.c answers them, with this profile's dumps."""
    zero_signal, dump_signal = (int(s) for s in signals.split())
    dumps = [0]

    # The handlers run Python code outside this file (os.path.join) only while nothing is counted: before the
    # zero, after the dump's copy. Otherwise every window would hold their bytecode, under whichever frame the
    # signal interrupted.
    def on_zero(signum, frame):
        acknowledgement = os.path.join(folder, f"zero.{os.getpid()}")
        profile.zero()
        open(acknowledgement, "wb").close()  # C only

    def on_dump(signum, frame):
        try:
            data = profile.as_data()
        except Exception as error:  # never into the server's own code: the dump says what went wrong
            data = {"schema": SCHEMA, "version": VERSION, "error": f"{type(error).__name__}: {error}"}
        dumps[0] += 1
        path = os.path.join(folder, f"prof.{os.getpid()}.{dumps[0]}.json")
        with open(path + ".tmp", "w") as file:
            json.dump(data, file)
        os.replace(path + ".tmp", path)
        open(os.path.join(folder, f"dump.{os.getpid()}"), "wb").close()

    signal.signal(zero_signal, on_zero)
    signal.signal(dump_signal, on_dump)


def main(argv: list[str]) -> None:
    """``tracer.py -m MODULE ARGS...``: run the module as ``python -m`` would, profiled from its first line."""
    if len(argv) < 2 or argv[0] != "-m":
        sys.exit("usage: tracer.py -m MODULE [ARGS...]")
    folder, signals = os.environ.get("PT_WINDOW_DIR"), os.environ.get("PT_WINDOW_SIGNALS")
    if folder and signals:
        _window_signals(PROFILE, folder, signals)
    sys.argv = [argv[1], *argv[2:]]
    sys.path[0] = os.getcwd()  # as `python -m` has it, not this file's folder
    install(PROFILE)
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
