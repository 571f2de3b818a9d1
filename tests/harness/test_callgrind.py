"""The instructions channel, under the real valgrind: counts that repeat, every process summed, failures kept."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.harness import callgrind, results
from benchmarks.harness.errors import HarnessError, ToolMissing, VerificationFailed
from benchmarks.harness.launcher import ServerSpec
from benchmarks.harness.scenarios import Scenario

ROOT = Path(__file__).resolve().parents[2]
FLAKY = ROOT / "tests" / "data" / "servers" / "flaky_planet.py"
# Small windows, so that the tests stay short; the spread they allow is looser than the channel's (0.1 %).
SMALL = callgrind.CountSettings(requests=40, calls=50, repeats=2)
TARGETS = ["aiohttp-dev", "flask-gunicorn-w4", "client:requests-sequential", "core:parse_query",
           "core:position_body:mars"]


@pytest.fixture(scope="module")
def counted() -> dict[str, results.InstructionRun]:
    return {run.id: run for run in callgrind.measure(TARGETS, SMALL)}


@pytest.mark.needs("valgrind", "cc")
def test_every_kind_of_target_is_counted_and_repeats(counted):
    assert list(counted) == TARGETS
    for run in counted.values():
        assert run.status == "ok", run.reason
        assert len(run.counts) == 2
        # Half the 1 % threshold. These windows are short (SMALL), so a gunicorn arbiter's timer-driven work weighs
        # more per request than in a full-size count (0.03 % there, on a quiet machine; 0.25 % measured here with
        # another count running beside this one).
        assert run.summary.spread_pct < 0.5, (run.id, run.counts)
    assert counted["core:parse_query"].counts[0] == counted["core:parse_query"].counts[1]  # one process, no timing
    assert 20_000 < counted["core:parse_query"].summary.median < 500_000
    # Each server request costs hundreds of thousands of instructions; Flask under gunicorn about twice aiohttp's.
    assert 200_000 < counted["aiohttp-dev"].summary.median < 3_000_000
    assert counted["flask-gunicorn-w4"].summary.median > 1.3 * counted["aiohttp-dev"].summary.median
    settings = counted["aiohttp-dev"].settings
    assert settings["valgrind"].startswith("valgrind-") and settings["hash_seed"] == 0
    assert settings["requests"] == 40 and settings["fixed_path"].endswith("&when=2018-11-26T10:00:00Z")
    assert counted["aiohttp-dev"].units == (40, 40) and counted["core:parse_query"].units == (50, 50)
    assert counted["client:requests-sequential"].units == (100, 100)


def test_a_server_window_holds_about_the_same_number_of_instructions():
    settings = callgrind.CountSettings()
    assert settings.window_requests(600_000) == 500 and settings.window_requests(1_300_000) == 250
    assert settings.window_requests(10**10) == callgrind.WINDOW_STEP  # never empty
    assert callgrind.CountSettings(requests=40).window_requests(600_000) == 40


@pytest.mark.needs("valgrind", "cc")
def test_a_server_is_summed_over_its_arbiter_and_every_worker(counted):
    run = counted["flask-gunicorn-w4"]
    for processes in run.processes:
        assert len(processes) == 5  # the arbiter and 4 workers
        # What the window held, less what as long a window with no request held: the count.
        repeat = run.processes.index(processes)
        assert (sum(processes) - sum(run.idle[repeat])) / 40 == pytest.approx(run.counts[repeat])
        assert 0 < sum(run.idle[repeat]) < 0.05 * sum(processes)
        # On one CPU each new connection goes to a sleeping worker in turn: the work is shared out.
        assert min(processes[:4]) > 0.1 * max(processes)
    assert counted["aiohttp-dev"].processes[0] and len(counted["aiohttp-dev"].processes[0]) == 1


@pytest.mark.needs("valgrind", "cc")
def test_results_round_trip(counted, tmp_path):
    path = tmp_path / "counts.json"
    results.dump(results.Results(results.environment(), tuple(counted.values())), path)
    back = results.load(path)
    assert back.records == tuple(counted.values())
    assert back.to_dict()["records"][0]["summary"]["median"] == counted["aiohttp-dev"].summary.median


@dataclass(frozen=True)
class FlakyScenario(Scenario):
    def spec(self, python: str = sys.executable) -> ServerSpec:
        return ServerSpec((python, str(FLAKY), "--port", "{port}", "--good", "3"))


@pytest.mark.needs("valgrind", "cc")
def test_a_wrong_answer_fails_the_count(tmp_path):
    tools = callgrind.prepare(tmp_path)
    with pytest.raises(VerificationFailed, match="500"):
        callgrind.count_server(FlakyScenario("flask", "dev"), SMALL, tools, tmp_path / "out")


@pytest.mark.needs("valgrind", "cc")
def test_a_failed_target_is_recorded_without_a_number(monkeypatch):
    broken = {"core:parse_query": ("from planet_tracker import core", "core.no_such_function()")}
    monkeypatch.setattr(callgrind, "core_statements", lambda: broken)
    (run,) = callgrind.measure(["core:parse_query"], SMALL)
    assert run.status == "failed" and not run.counts
    assert "AttributeError" in run.reason


# A dump as callgrind writes it (names compressed to "(id) name" on first use, "(id)" after): main calls the
# 3.14 collector's entry, which calls one of its parts (not counted twice), and a 3.11 collection from an allocation.
DUMP = """# callgrind format
events: Ir
summary: 1000

fn=(1) main
0 100
cfn=(2) _PyGC_Collect
calls=2 0
0 300
cfn=(4) _PyObject_GC_Link
calls=5 0
0 150
fn=(2)
0 40
cfn=(3) gc_collect_young
calls=2 0
0 260
fn=(3)
0 260
fn=(4)
0 50
cfn=(5) gc_collect_main
calls=1 0
0 100
fn=(5)
0 100
"""


def test_dumps_are_read_only_when_complete_and_the_collector_is_read_apart(tmp_path):
    dump = tmp_path / "cg.1.2"
    dump.write_text(DUMP)
    with pytest.raises(HarnessError, match="no complete dump"):
        callgrind.read_dump(dump)
    dump.write_text(DUMP + "\ntotals: 550\n")
    read = callgrind.read_dump(dump)
    assert read.total == 550 and sum(cost.own for cost in read.functions.values()) == 550
    # Calls into the collector from outside it: main's two (300, their callee included) and the allocation's one.
    assert (read.collector, read.collections) == (400, 3)
    assert read.functions["_PyGC_Collect"] == callgrind.Cost(calls=2, own=40, inclusive=300)


# Run under callgrind with the window library: sends itself the zero signal twice, in this process and in a child
# it forks, and says how many full collections each saw, and the young generation's count, before and after.
COLLECTED = """
import gc, json, os, sys, time
zero = int(os.environ["PT_WINDOW_SIGNALS"].split()[0])
folder = os.environ["PT_WINDOW_DIR"]
kept = [[] for _ in range(400)]  # young objects, and no full collection due

def window():
    before = gc.get_stats()[2]["collections"], gc.get_count()[0]
    ack = os.path.join(folder, f"zero.{os.getpid()}")
    os.kill(os.getpid(), zero)
    while not os.path.exists(ack):
        time.sleep(0.01)
    return [before, (gc.get_stats()[2]["collections"], gc.get_count()[0])]

found = {"parent": window()}
child = os.fork()
if child == 0:
    more = [[] for _ in range(300)]
    with open(os.path.join(folder, "child.json"), "w") as file:
        json.dump(window(), file)
    os._exit(0)
os.waitpid(child, 0)
with open(os.path.join(folder, "child.json")) as file:
    found["child"] = json.load(file)
print(json.dumps(found))
"""


@pytest.mark.needs("valgrind", "cc")
def test_every_process_collects_its_garbage_when_its_window_opens(tmp_path):
    """The window library's zero runs a full collection first, in the process it was loaded in and in a forked
    one (gunicorn's workers), so a window's collections follow from its own allocations."""
    tools = callgrind.prepare(tmp_path)
    (tmp_path / "collected.py").write_text(COLLECTED)
    done = subprocess.run(tools.server_command([sys.executable, str(tmp_path / "collected.py")], tmp_path, None),
                          env={**os.environ, **tools.window_env(tmp_path)}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    for process in ("parent", "child"):
        (full_before, young_before), (full_after, young_after) = found[process]
        assert full_after == full_before + 1, (process, found[process])
        assert young_after < young_before, (process, found[process])  # the young generation was collected too


@pytest.mark.needs("valgrind", "cc")
def test_the_collector_is_counted_apart_from_the_work(tmp_path):
    """Calls that make cyclic garbage: the collector's share is reported beside the count, and the count is the
    work's own, as with the collector turned off (which leaves the garbage: within 10 %)."""
    tools = callgrind.prepare(tmp_path)
    counts = {}
    for setup in ("import gc\n", "import gc\ngc.disable()\n"):
        spec = {"kind": "core", "calls": 3000, "prime": 20,
                "items": [{"id": "cycles", "setup": setup, "statement": "x = [[], [], {}]; x.append(x)"}]}
        counts[setup] = callgrind.count_in_child(spec, tools, tmp_path / f"out{len(counts)}")["cycles"]
    collected, left = counts.values()
    assert collected.collections > 5 and collected.collector > 0.5 * collected.per_unit
    assert left.collections == 0 and left.collector == 0
    assert collected.per_unit == pytest.approx(left.per_unit, rel=0.1)


def test_unknown_targets_and_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown target 'aiohttp-nope'"):
        callgrind.check_ids(["aiohttp-dev", "aiohttp-nope"])
    with pytest.raises(ValueError):
        callgrind.CountSettings(requests=0)
    assert callgrind.check_ids(["core:parse_query", "core:parse_query"]) == ["core:parse_query"]


def test_without_valgrind_the_command_line_says_what_to_install(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks", "instructions", "--scenario", "core:parse_query"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "python -m benchmarks: error: valgrind is not installed: `sudo apt-get install valgrind`")


def _counting_processes(parent: int | None = None, marker: bytes = b"planet-instructions-") -> list[int]:
    """Processes run under callgrind by a count (their command lines name its folder, ``marker``), optionally
    only the children of ``parent``."""
    return [pid for pid, cmdline, ppid in _processes() if marker in cmdline and parent in (None, ppid)]


def _processes():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    cmdline = file.read()
                with open(f"/proc/{entry}/stat") as file:
                    ppid = int(file.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            yield int(entry), cmdline, ppid


def _count_folder(pid: int) -> bytes:
    """The temporary folder of the count that process ``pid`` belongs to (other counts may run beside it)."""
    with open(f"/proc/{pid}/cmdline", "rb") as file:
        return re.search(rb"planet-instructions-[^/]+/", file.read()).group()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
@pytest.mark.needs("valgrind", "cc")
def test_an_interrupted_count_leaves_nothing_running(sig):
    """Ctrl-C ends every server and counting process at once; SIGKILL leaves them to the parent-death signal."""
    cli = subprocess.Popen([sys.executable, "-m", "benchmarks", "instructions", "--scenario", "flask-gunicorn-w4",
                            "--scenario", "client:requests-sequential"], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(_counting_processes(cli.pid)) < 2 and time.monotonic() < deadline:  # the arbiter, the client
            time.sleep(0.1)
        children = _counting_processes(cli.pid)
        assert len(children) == 2, "the count did not start"
        ours = _count_folder(children[0])
        cli.send_signal(sig)
        cli.wait(60)
        if sig == signal.SIGINT:
            assert cli.returncode == 130
        deadline = time.monotonic() + 30
        while _counting_processes(marker=ours) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _counting_processes(marker=ours)
    finally:
        cli.kill()
        cli.wait()
        cli.stderr.close()


def test_missing_tools_are_named(monkeypatch, tmp_path):
    monkeypatch.setattr(callgrind.shutil, "which", lambda name: None)
    with pytest.raises(ToolMissing, match="apt-get install valgrind"):
        callgrind.prepare(tmp_path)
