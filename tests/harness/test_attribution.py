"""Attribution's profiles under the real valgrind and tracer: deterministic, and read right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness import attribution, callgrind
from reports.attribution import FLOOR

ROOT = Path(__file__).resolve().parents[2]
THREADS = """
import threading
def work(n):
    return sum(i * i for i in range(n))
threads = [threading.Thread(target=work, args=(2000,)) for _ in range(3)]
for thread in threads: thread.start()
for thread in threads: thread.join()
"""


@pytest.mark.needs("valgrind")
def test_a_callgrind_dump_is_read_to_its_total(tmp_path):
    """Self costs add up to callgrind's own total; a thread's start (a call callgrind records with a count of 0)
    is a call, not the caller's own cost; a recursion's levels (f'2) are one function."""
    script = tmp_path / "threads.py"
    script.write_text(THREADS)
    out = tmp_path / "cg.out"
    subprocess.run(["valgrind", "--tool=callgrind", "--dump-line=no", "--dump-instr=no",
                    f"--callgrind-out-file={out}", sys.executable, str(script)], check=True, capture_output=True,
                   timeout=300)
    functions = attribution.read_callgrind(out)
    total = int(next(line for line in out.read_text().splitlines() if line.startswith("summary:")).split()[1])
    assert sum(own for _, own, _ in functions.values()) == total
    assert not any("'" in name for name in functions)
    calls, own, inclusive = functions["start_thread"]
    assert calls >= 3 and own < inclusive / 100  # its cost is the thread's work, under it
    evaluation = functions["_PyEval_EvalFrameDefault"]
    assert evaluation[1] < evaluation[2]


@pytest.mark.parametrize("target", ["aiohttp-dev", "core:position_body:mars"])
@pytest.mark.needs("valgrind", "cc")
def test_two_profiles_of_one_commit_agree(target):
    """The same top 10 of each kind, with the same costs within the channel's spread. A server's event loop does
    its once-a-second work a window more or less often, and wakes once for one request or for several: that moves
    the channel's count by up to its 0.25 %, and all of it may land in one loop function (EpollSelector.select
    took 197.1 and 201.4 bytecodes a request in two profiles here, 0.12 % of the request's 3557)."""
    first, second = attribution.profile(target), attribution.profile(target)
    assert first["target"] == second["target"] == target
    assert first["instructions_per_unit"] == pytest.approx(second["instructions_per_unit"], rel=0.0025)

    def top(profile: dict, kind: str) -> list[str]:
        return sorted(profile[kind], key=lambda name: (-profile[kind][name][1], name))[:10]

    for kind in ("python", "c"):
        assert set(top(first, kind)) == set(top(second, kind)), kind
        # A function may move by the channel's spread of the whole, or by the ranking's floor per request.
        total = sum(own for _, own, _ in first[kind].values())
        spread = max(FLOOR[kind], 0.0025 * total)
        for name in top(first, kind):
            for one, two in zip(first[kind][name], second[kind][name], strict=True):
                assert two == pytest.approx(one, rel=0.005, abs=spread), (kind, name)
    assert first["python"]["planet_tracker.core:position_body"][0] == 1  # one call per request (or call)
    # The flame graph's stacks hold every bytecode of the functions' own counts, after the idle windows' share is
    # taken away in both alike.
    assert sum(first["stacks"].values()) == pytest.approx(sum(f[1] for f in first["python"].values()), rel=1e-9)


def test_the_bytecode_meter_reads_the_profiles_it_wrote(tmp_path):
    data = {"schema": "planet-tracker-bytecode-profile", "version": 1, "pid": 1, "python": "3.11",
            "functions": {"m:f": {"calls": 2, "self": 30, "inclusive": 50, "file": "m.py", "line": 1},
                          "m:g": {"calls": 2, "self": 20, "inclusive": 20, "file": "m.py", "line": 5}},
            "stacks": {"m:f": 30, "m:f;m:g": 20}}
    meter = attribution.Tracer()
    meter.dump(tmp_path, 7, 2).write_text(json.dumps(data))
    assert meter.total(tmp_path, 7, 2) == 50
    assert attribution.read_bytecode(meter.dump(tmp_path, 7, 2)) == ({"m:f": [2, 30, 50], "m:g": [2, 20, 20]},
                                                                       {"m:f": 30, "m:f;m:g": 20})
    argv = meter.server_command([sys.executable, "-m", "gunicorn", "app"], tmp_path, None)
    assert argv[-4:] == [str(attribution.TRACER), "-m", "gunicorn", "app"]
    assert meter.window_env(tmp_path)["PT_WINDOW_DIR"] == str(tmp_path)
    with pytest.raises(ValueError, match="unknown target"):
        attribution.profile("no-such-scenario")
    assert set(callgrind.all_ids()) >= {"aiohttp-dev", "core:parse_query"}
