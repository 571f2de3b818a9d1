"""tracer.py: bytecode counted per Python function, in windows, on every Python the suite runs (3.11 traces with
settrace, 3.12 and later with sys.monitoring: each interpreter here that has it).

Each expectation is checked against the same work counted another way, never against a number written here: a
function run in 4 threads against the same function in one, the work a generator's ``finally`` does when closed
against the same call made plainly, a window after a failed dump against a window before it."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACER = ROOT / "benchmarks" / "harness" / "tracer.py"
# A module the tracer runs as `python -m`, which opens and closes the window with the signals, as the harness does:
# 3 calls of spin(5) after a first zero (the counting begins) and before a second, then 3 calls of spin(n), each
# calling helper once, inside counted(), which is running when the second zero comes.
PROGRAM = '''
import os, signal

def helper():
    return sum(range(10))

def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total + helper()

def window(n):
    for _ in range(3):
        spin(n)

def counted(n):
    os.kill(os.getpid(), zero)
    window(n)

zero, dump = (int(s) for s in os.environ["PT_WINDOW_SIGNALS"].split())
os.kill(os.getpid(), zero)
window(5)
counted({n})
os.kill(os.getpid(), dump)
'''
# The Profile driven directly, in one process, through what a server does to it: threads, a generator closed
# early, a task cancelled mid-await, an exception through two frames, a dump that fails, a fork. Each window is
# {"name": profile data}; one JSON line on stdout.
WORKLOADS = '''
import asyncio, importlib.util, json, os, sys, threading

spec = importlib.util.spec_from_file_location("tracer", sys.argv[1])
tracer = importlib.util.module_from_spec(spec)
sys.modules["tracer"] = tracer
spec.loader.exec_module(tracer)
profile = tracer.install(tracer.Profile())
sys.setswitchinterval(1e-6)  # a thread switch as often as CPython allows: between any two instructions
N = 3000

def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total

def helper():
    return spin(3)

def threads():
    workers = [threading.Thread(target=spin, args=(N,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

def gen():
    try:
        yield 1
        yield 2
    finally:
        spin(50)

def closing():
    g = gen()
    next(g)
    g.close()
    helper()

async def waiter():
    try:
        await asyncio.sleep(10)
    finally:
        spin(50)

async def cancelling():
    task = asyncio.ensure_future(waiter())
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    helper()

def raising(n):
    spin(n)
    raise KeyError(n)

def catching():
    try:
        raising(50)
    except KeyError:
        pass
    helper()

def window(work):
    profile.zero()
    work()
    return profile.as_data()

found = {"one": window(lambda: spin(N)), "threads": window(threads), "plain": window(lambda: spin(50)),
         "helper": window(helper), "closing": window(closing), "cancelling": window(lambda: asyncio.run(cancelling())),
         "catching": window(catching)}

def failing(filename):
    raise RuntimeError("naming failed")

named, tracer.module_of = tracer.module_of, failing
try:
    window(catching)
except Exception as error:
    found["error"] = f"{type(error).__name__}: {error}"
tracer.module_of = named
found["after"] = window(catching)

profile.zero()
spin(N)
child = os.fork()
if child == 0:  # counts from the fork: its own spin alone
    spin(50)
    with open(sys.argv[2], "w") as file:
        json.dump(profile.as_data(), file)
    os._exit(0)
os.waitpid(child, 0)
found["parent"] = profile.as_data()
with open(sys.argv[2]) as file:
    found["child"] = json.load(file)
print(json.dumps(found))
'''


def pythons() -> list[str]:
    found = [sys.executable]
    if not shutil.which("pyenv"):  # the other Pythons are pyenv's; without it (GitHub's runners), this one alone
        return found
    for version in ("3.12", "3.13"):
        prefix = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True)
        candidate = Path(prefix.stdout.strip()) / "bin" / f"python{version}"
        if prefix.returncode == 0 and candidate.exists():
            found.append(str(candidate))
    return found


def run(python: str, tmp_path: Path, n: int) -> dict:
    (tmp_path / "spinner.py").write_text(PROGRAM.format(n=n))
    for stale in tmp_path.glob("prof.*"):
        stale.unlink()
    signals = f"{signal.SIGRTMIN + 1} {signal.SIGRTMIN + 2}"
    done = subprocess.run([python, str(TRACER), "-m", "spinner"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={"PT_WINDOW_DIR": str(tmp_path), "PT_WINDOW_SIGNALS": signals,
                                            # spinner.py is rewritten with the same size within a second: its
                                            # cached bytecode would be taken for the new source's.
                                            "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stderr
    (dump,) = tmp_path.glob("prof.*.1.json")
    assert (tmp_path / f"zero.{dump.name.split('.')[1]}").exists()  # acknowledged, as the harness waits for
    return json.loads(dump.read_text())


@pytest.mark.parametrize("python", pythons())
def test_counts_are_per_function_exact_and_grow_with_the_work(python, tmp_path):
    small, large = run(python, tmp_path, 10), run(python, tmp_path, 30)
    assert small["schema"] == "planet-tracker-bytecode-profile"
    again = run(python, tmp_path, 10)
    assert again["functions"] == small["functions"] and again["stacks"] == small["stacks"]  # deterministic
    spin, helper = small["functions"]["__main__:spin"], small["functions"]["__main__:helper"]
    assert spin["calls"] == 3 and helper["calls"] == 3  # the calls before the last zero are not counted
    # Inclusive costs are counted as frames end, own costs per instruction: they are two counts, and agree.
    assert spin["inclusive"] == spin["self"] + helper["inclusive"]
    # A frame running across the zero: no entry, and its costs from the zero on (the loop iteration that a
    # server's signal interrupts).
    counted, window = small["functions"]["__main__:counted"], small["functions"]["__main__:window"]
    assert counted["calls"] == 0 and window["calls"] == 1
    assert counted["inclusive"] == counted["self"] + window["inclusive"] and counted["self"] > 0
    # 20 more iterations, 3 calls: the loop's body costs the same bytecodes each time, only in spin itself.
    grown = large["functions"]["__main__:spin"]["self"] - spin["self"]
    assert grown > 0 and grown % 60 == 0
    assert large["functions"]["__main__:helper"] == helper
    assert {entry["file"] for entry in small["functions"].values()} == {str(tmp_path / "spinner.py")}


@pytest.fixture(scope="module", params=pythons())
def workloads(request, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("workloads")
    (tmp / "workloads.py").write_text(WORKLOADS)
    done = subprocess.run([request.param, str(tmp / "workloads.py"), str(TRACER), str(tmp / "child.json")],
                          capture_output=True, text=True, timeout=300, cwd=tmp)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def function(data: dict, name: str) -> dict:
    return data["functions"][f"__main__:{name}"]


def under(data: dict, *path: str) -> int:
    """The own count of the stack that ends with these functions, in this order."""
    suffix = ";".join(f"__main__:{name}" for name in path)
    (found,) = [own for key, own in data["stacks"].items() if key == suffix or key.endswith(";" + suffix)]
    return found


def test_four_threads_count_four_times_one(workloads):
    one, four = function(workloads["one"], "spin"), function(workloads["threads"], "spin")
    assert one["calls"] == 1 and one["self"] == one["inclusive"] > 3000
    assert four == {**one, "calls": 4, "self": 4 * one["self"], "inclusive": 4 * one["inclusive"]}


@pytest.mark.parametrize("window, frame", [("closing", "gen"), ("cancelling", "waiter"), ("catching", "raising")])
def test_a_frame_left_by_throw_or_an_exception_is_counted_and_left(workloads, window, frame):
    """A generator closed early, a task cancelled mid-await and a function that raises each run spin(50) on the
    way out: counted under them as a plain call of spin(50) is, and what their caller does next (helper) is
    under the caller, not under the frame that was left."""
    plain, data, alone = function(workloads["plain"], "spin"), workloads[window], workloads["helper"]
    assert under(data, frame, "spin") == plain["self"]
    assert under(data, window, "helper") == under(alone, "helper")
    assert under(data, window, "helper", "spin") == under(alone, "helper", "spin")
    # Entered once and resumed once by the throw (a generator, a coroutine), or entered once (raising).
    assert function(data, frame)["calls"] == (1 if frame == "raising" else 2)


def test_a_failed_dump_says_why_and_the_next_window_is_right(workloads):
    assert workloads["error"] == "RuntimeError: naming failed"
    before, after = workloads["catching"], workloads["after"]
    for name in ("catching", "raising", "helper", "spin"):
        assert function(after, name) == function(before, name), name
    assert under(after, "catching", "helper") == under(before, "catching", "helper")


def test_a_forked_child_counts_from_the_fork(workloads):
    """The parent ran spin(N) before the fork; the child ran spin(50) after it: each counts its own."""
    one, plain = function(workloads["one"], "spin"), function(workloads["plain"], "spin")
    assert function(workloads["parent"], "spin") == one
    assert function(workloads["child"], "spin") == plain


def test_usage_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(TRACER), "spinner"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.stderr.strip() == "usage: tracer.py -m MODULE [ARGS...]"
