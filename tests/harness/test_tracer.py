"""tracer.py: bytecode counted per Python function, in windows, on every Python the suite runs (3.11 traces with
settrace, 3.12 and later with sys.monitoring: each interpreter here that has it)."""

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
    # The stacks fold to the same own costs: ...;window;spin;helper is helper's.
    (folded,) = [key for key in small["stacks"] if key.endswith("__main__:window;__main__:spin;__main__:helper")]
    assert small["stacks"][folded] == helper["self"]
    assert sum(small["stacks"].values()) == sum(f["self"] for f in small["functions"].values())


def test_usage_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(TRACER), "spinner"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.stderr.strip() == "usage: tracer.py -m MODULE [ARGS...]"
