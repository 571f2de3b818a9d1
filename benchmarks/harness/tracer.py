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
resumption, whether by ``send``, ``next`` or ``throw`` (a cancelled task, a generator closed early); a frame
that an exception ends is left like one that returns. The window follows the counting window's protocol
(``callgrind_window.c``): with ``PT_WINDOW_DIR`` and ``PT_WINDOW_SIGNALS="ZERO DUMP"`` in the environment, the
ZERO signal collects garbage and resets the counts, and the DUMP signal writes ``prof.<pid>.<n>.json`` (n = 1,
2, ...), each acknowledged by a ``zero.<pid>`` or ``dump.<pid>`` file. Python runs a signal handler in the main
thread, between two instructions: the servers' main threads wait in ``select``/``epoll``, which a signal wakes.

Exact with threads and forks: every thread counts into a state of its own (no read-modify-write is shared
between threads, so a thread switch loses nothing), and the states are merged at the dump; a forked child keeps
its own thread's frames and counts from the fork. A zero or a dump is a cut across every thread's state, taken
from the main thread: it is exact when the other threads are blocked at that moment, as the harness makes sure
(it signals only when every thread of the server is asleep).
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import signal
import sys
import threading

SCHEMA, VERSION = "planet-tracker-bytecode-profile", 1
HERE = os.path.abspath(__file__)


class Frame:
    """One running Python frame (a resumption, for a generator or coroutine) on a thread's stack."""

    # Named fields, not a list: an attribute of a __slots__ class is read and written by one specialised
    # instruction, as a list item is (docs/measured.md compares the two).
    __slots__ = ("callees", "code", "key", "own")

    def __init__(self, code, key: tuple) -> None:
        self.code = code
        self.key = key  # the codes of the stack, outermost first, this frame's last
        self.own = 0  # instructions it has executed itself (since it began, or since the zero)
        self.callees = 0  # instructions of the frames it called, with theirs


class ThreadState:
    """What one thread has counted: its running frames, and the frames that have ended."""

    __slots__ = ("depth", "entries", "inclusive", "stack", "stacks", "thread", "top")

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.stack: list[Frame] = []
        self.top: Frame | None = None  # stack[-1], or None
        self.reset()
        self.depth: dict = {}  # code -> how many of its frames are on the stack

    def reset(self) -> None:
        """The counts start again; the running frames stay, counting from here (a loop a signal interrupted)."""
        self.entries: dict = {}  # code -> frames begun
        self.inclusive: dict = {}  # code -> instructions of its ended outermost frames, with their callees
        self.stacks: dict = {}  # key -> own instructions of the ended frames with that stack
        for frame in self.stack:
            frame.own = frame.callees = 0


class Profile:
    """Per thread: entries and inclusive counts per code object, own counts per call stack (a function's own count
    is the sum of the stacks it ends, so the flame graph and the table add up to the same total)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._states: list[ThreadState] = []
        self._lock = threading.Lock()
        self.start = None  # set by install(): turns the counting on, at the first zero()
        self.pause = self.resume = lambda: None  # set by install(): stop and restart the counting (for a dump)
        os.register_at_fork(after_in_child=self._forked)

    def state(self) -> ThreadState:
        """This thread's state, made on its first instruction."""
        try:
            return self._local.state
        except AttributeError:
            state = self._local.state = ThreadState()
            with self._lock:
                self._states.append(state)
            return state

    def enter(self, state: ThreadState, code) -> Frame:
        top = state.top
        frame = Frame(code, (top.key if top is not None else ()) + (code,))
        state.stack.append(frame)
        state.top = frame
        entries, depth = state.entries, state.depth
        entries[code] = entries.get(code, 0) + 1
        depth[code] = depth.get(code, 0) + 1
        return frame

    def leave(self, state: ThreadState, code) -> None:
        frame = state.top
        if frame is None or frame.code is not code:
            return  # a frame that began before the profile did (it was never entered)
        stack = state.stack
        stack.pop()
        top = state.top = stack[-1] if stack else None
        total = frame.own + frame.callees
        if top is not None:
            top.callees += total
        stacks = state.stacks
        stacks[frame.key] = stacks.get(frame.key, 0) + frame.own
        depth = state.depth
        depth[code] -= 1
        if not depth[code]:  # the outermost frame of its code: a recursion counts once
            state.inclusive[code] = state.inclusive.get(code, 0) + total

    def zero(self) -> None:
        if self.start is not None:
            self.start()  # the first window begins the counting
            self.start = None
        alive = sys._current_frames()  # the threads still running: an ended thread's state goes
        with self._lock:
            self._states[:] = [state for state in self._states if state.thread in alive]
            for state in self._states:
                state.reset()

    def _forked(self) -> None:
        """In a forked child: this thread alone runs on, and counts from the fork."""
        state = getattr(self._local, "state", None)
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._states = [state] if state is not None else []
        if state is not None:
            state.thread = threading.get_ident()
            state.reset()

    def as_data(self) -> dict:
        """The counts, named; the counting pauses meanwhile (naming runs the standard library's code, which would
        be counted, and slowly: a server must not spend seconds in a dump)."""
        self.pause()
        try:
            return self._as_data()
        finally:
            self.resume()

    def _merged(self) -> tuple[dict, dict, dict]:
        """Every thread's counts added up: entries and inclusive per code, own per stack. A running frame's own
        count is in its stack's; its inclusive count comes when it ends."""
        entries: dict = {}
        inclusive: dict = {}
        stacks: dict = {}
        with self._lock:
            states = list(self._states)
        for state in states:
            for code, count in list(state.entries.items()):
                entries[code] = entries.get(code, 0) + count
            for code, count in list(state.inclusive.items()):
                inclusive[code] = inclusive.get(code, 0) + count
            for key, own in list(state.stacks.items()):
                stacks[key] = stacks.get(key, 0) + own
            for frame in list(state.stack):
                stacks[frame.key] = stacks.get(frame.key, 0) + frame.own
                entries.setdefault(frame.code, 0)  # running across the zero: no entry, its costs from there
        return entries, inclusive, stacks

    def _as_data(self) -> dict:
        entries, inclusive, stacks = self._merged()
        names: dict = {}

        def name(code) -> str:
            if code not in names:
                names[code] = f"{module_of(code.co_filename)}:{getattr(code, 'co_qualname', code.co_name)}"
            return names[code]

        functions: dict = {}

        def entry(code) -> dict:
            return functions.setdefault(name(code), {"calls": 0, "self": 0, "inclusive": 0,
                                                     "file": code.co_filename, "line": code.co_firstlineno})

        for code, count in entries.items():
            entry(code)["calls"] += count
        for code, count in inclusive.items():
            entry(code)["inclusive"] += count
        folded_stacks: dict = {}
        for key, own in stacks.items():
            folded = ";".join(name(code) for code in key)
            folded_stacks[folded] = folded_stacks.get(folded, 0) + own
            entry(key[-1])["self"] += own
        return {"schema": SCHEMA, "version": VERSION, "pid": os.getpid(), "python": sys.version.split()[0],
                "functions": functions, "stacks": folded_stacks}


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
            # sys.path may hold bytes, which the import system skips: so does this
            roots = sorted((os.path.abspath(p or ".") for p in sys.path if isinstance(p, str)), key=len, reverse=True)
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
    counts, those already running included (a frame's first instruction enters it when no event did)."""
    monitoring = sys.monitoring
    tool, events = monitoring.PROFILER_ID, monitoring.events
    monitoring.use_tool_id(tool, "planet-tracker bytecode profile")
    disable = monitoring.DISABLE
    local, state_of, enter, leave = profile._local, profile.state, profile.enter, profile.leave

    # DISABLE turns an event off at one code location: this file's code is never counted. It is refused for
    # PY_UNWIND and PY_THROW (CPython then raises in the unwinding frame and drops the callback), so those two
    # callbacks return None for this file's code and do nothing.
    def start(code, offset):
        if code.co_filename == HERE:
            return disable
        enter(state_of(), code)

    def thrown(code, offset, exception):  # a generator or coroutine resumed by throw(): a resumption
        if code.co_filename != HERE:
            enter(state_of(), code)

    def stop(code, offset, value):
        if code.co_filename == HERE:
            return disable
        leave(state_of(), code)

    def unwind(code, offset, exception):
        if code.co_filename != HERE:
            leave(state_of(), code)

    def instruction(code, offset):
        # The hot path: this thread's own frame, one increment, nothing shared.
        try:
            frame = local.state.top
        except AttributeError:
            frame = None
        if frame is None or frame.code is not code:
            if code.co_filename == HERE:
                return disable
            frame = enter(state_of(), code)  # running since before the profile began
        frame.own += 1

    callbacks = {events.PY_START: start, events.PY_RESUME: start, events.PY_THROW: thrown, events.PY_RETURN: stop,
                 events.PY_YIELD: stop, events.PY_UNWIND: unwind, events.INSTRUCTION: instruction}
    every = 0
    for event, callback in callbacks.items():
        monitoring.register_callback(tool, event, callback)
        every |= event
    profile.start = profile.resume = lambda: monitoring.set_events(tool, every)
    profile.pause = lambda: monitoring.set_events(tool, 0)


def _install_settrace(profile: Profile) -> None:
    """A trace function in every thread from now on (3.11 cannot give one to a thread already running), which
    traces nothing until the first zero: from then on, every frame that begins counts. Frames already running
    then (a server's outermost loop) do not: the same few instructions per request on both commits. A generator
    resumed by send, next or throw gets a "call" event, and a frame leaves with a "return" event whether it
    returns, yields or raises."""
    active = []
    local, state_of, enter, leave = profile._local, profile.state, profile.enter, profile.leave

    def trace(frame, event, arg):
        code = frame.f_code
        if event == "opcode":
            top = local.state.top  # set by the call event below, in this thread
            if top is None or top.code is not code:
                top = enter(local.state, code)
            top.own += 1
        elif event == "return":
            leave(state_of(), code)
        return trace

    def call(frame, event, arg):
        if not active or event != "call" or frame.f_code.co_filename == HERE:
            return None
        frame.f_trace_opcodes = True
        enter(state_of(), frame.f_code)
        return trace

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
    # signal interrupted. The full collection before the zero is the channel's (callgrind_window.c says why).
    def on_zero(signum, frame):
        acknowledgement = os.path.join(folder, f"zero.{os.getpid()}")
        gc.collect()
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
