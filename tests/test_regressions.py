"""`make regressions` and `make bisect` end to end, with real counts, in a temporary clone: a chain of commits on
top of this checkout's HEAD, each measured by asv under valgrind (aiohttp's development server alone), then read
along different tips of the chain.

    c0 (HEAD)  c1 .. c5 change nothing           --tip c5: nothing reported, success
    c6         every aiohttp request 1 % dearer  --tip c7 (c7 changes nothing): c6 named, failure
    c8         takes the cost away again         --tip c8: c6 recovered, success
    c9 .. c12  0.3 % each                        --tip c12: no step, one drift naming the four, failure
    e1 .. e5   from c5: e3 1 % dearer, the rest nothing; only c5 and e5 measured: "between", then make bisect
               places it on e3 after measuring at most 4 more
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)  # the venv running the tests
MACHINE = "regressions-test"
TARGET = "aiohttp-dev"
REQUEST = "instructions.ServerInstructions.track_instructions_per_request(aiohttp-dev)"
# What every aiohttp request does more: a loop in the adapter, about 300 instructions an iteration, of a request
# of about 604,000: 21 iterations are 1.04 %, 6 are 0.30 %.
ADAPTER = "core.position_body(query)"
pytestmark = pytest.mark.needs("valgrind", "cc")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def commit(clone: Path, message: str, iterations: int | None = None) -> str:
    """A commit on the clone's HEAD: with ``iterations``, the aiohttp adapter loops that many times per request
    (0: not at all); without, nothing changes."""
    if iterations is not None:
        adapter = clone / "planet_tracker" / "aiohttp_app.py"
        text = adapter.read_text().split("\n\n# regressions test\n")[0]
        if iterations:
            assert text.count(ADAPTER) == 1, "the aiohttp adapter changed shape: update ADAPTER"
            text = text.replace(ADAPTER, f"_spin({ADAPTER})") if "_spin(" not in text else text
            text += (f"\n\n# regressions test\ndef _spin(body):\n    total = 0\n    for step in range({iterations}):\n"
                     "        total += step\n    return body\n")
        else:
            text = text.replace(f"_spin({ADAPTER})", ADAPTER)
        adapter.write_text(text)
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "--allow-empty", "-am", message)
    return git(clone, "rev-parse", "HEAD")


def environment() -> dict[str, str]:
    dirs = subprocess.run([str(ROOT / "scripts" / "python-dirs")], capture_output=True, text=True).stdout.strip()
    return {**os.environ, "PATH": f"{dirs}:{os.environ['PATH']}" if dirs else os.environ["PATH"],
            "PLANET_TRACKER_INSTRUCTIONS": TARGET}


def measure(clone: Path, commits: list[str]) -> None:
    (clone / ".asv").mkdir(exist_ok=True)
    (clone / ".asv" / "measure.hashes").write_text("".join(f"{c}\n" for c in commits))
    python = str(VENV / "bin" / "python")
    for argv in ([python, "-m", "pipeline", "machine", "--name", MACHINE],
                 [python, "-m", "asv", "run", "HASHFILE:.asv/measure.hashes", "--machine", MACHINE, "-E",
                  f"virtualenv:{sys.version_info[0]}.{sys.version_info[1]}", "--bench",
                  r"^instructions\.ServerInstructions"],
                 [python, "-m", "pipeline", "dependencies", "--machine", MACHINE]):
        done = subprocess.run(argv, cwd=clone, capture_output=True, text=True, timeout=1200, env=environment())
        assert done.returncode in (0, 2), done.stdout[-3000:] + done.stderr[-3000:]


def regressions(clone: Path, tip: str) -> tuple[int, list[str], dict]:
    """python -m pipeline regressions along ``tip``'s line: its status, its lines, the data."""
    done = subprocess.run([str(VENV / "bin" / "python"), "-m", "pipeline", "regressions", "--tip", tip], cwd=clone,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, done.stdout.splitlines(), json.loads((clone / ".asv" / "regressions.json").read_text())


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("regressions")
    clone = tmp / "repo"
    git(tmp, "clone", "--quiet", str(ROOT), str(clone))
    c = [git(clone, "rev-parse", "HEAD")]
    c += [commit(clone, f"nothing {i}") for i in range(1, 6)]
    c.append(commit(clone, "aiohttp: 1 % more per request", 21))
    c.append(commit(clone, "nothing 7"))
    c.append(commit(clone, "aiohttp: the 1 % taken away", 0))
    c += [commit(clone, f"aiohttp: 0.3 % more ({i} of 4)", 6 * i) for i in range(1, 5)]
    git(clone, "checkout", "--quiet", "-b", "side", c[5])
    e = [c[5], commit(clone, "nothing e1"), commit(clone, "nothing e2"),
         commit(clone, "aiohttp: 1 % more per request (e3)", 21), commit(clone, "nothing e4"),
         commit(clone, "nothing e5")]
    measure(clone, [*c, e[5]])
    return {"clone": clone, "c": c, "e": e}


def test_no_op_commits_report_nothing(chain):
    status, lines, data = regressions(chain["clone"], chain["c"][5])
    assert status == 0 and lines == [] and data["regressions"] == [] and data["drifts"] == []
    # The threshold of the counted series came from the no-op pairs, floored.
    (limit,) = [t for t in data["thresholds"] if t["benchmark"] == REQUEST]
    assert limit["threshold"] == 0.005 and "no-op move(s)" in limit["source"]


def test_a_commit_that_costs_1_percent_is_named_and_fails(chain):
    c = chain["c"]
    status, lines, data = regressions(chain["clone"], c[7])
    assert status == 1
    (regression,) = data["regressions"]
    assert regression["commit"] == c[6] and regression["status"] == "open"
    assert regression["subject"] == "aiohttp: 1 % more per request"
    (line,) = lines
    assert line.startswith(f"regression {c[6][:8]} (aiohttp: 1 % more per request): Python 3.")
    assert REQUEST in line and re.search(r"\(1\.01\d\d; threshold 0\.5 %\)$", line), line


def test_a_commit_that_takes_the_cost_away_recovers_it(chain):
    c = chain["c"]
    status, lines, data = regressions(chain["clone"], c[8])
    assert status == 0 and lines == []
    (regression,) = data["regressions"]
    assert regression["commit"] == c[6] and regression["status"] == "recovered" and regression["recovered_at"] == c[8]


def test_four_small_steps_are_one_drift(chain):
    c = chain["c"]
    status, lines, data = regressions(chain["clone"], c[12])
    assert status == 1
    assert [r["status"] for r in data["regressions"]] == ["recovered"]  # no step of 0.3 %
    (drift,) = [d for d in data["drifts"] if d["benchmark"] == REQUEST]
    assert drift["latest_commit"] == c[12] and 1.01 < drift["ratio"] < 1.015
    assert sorted(entry["commit"] for entry in drift["commits"]) == sorted(c[9:13])
    (line,) = lines
    assert line.startswith("drift since ") and all(commit[:8] in line for commit in c[9:13])


def test_a_step_between_two_measured_commits_is_placed_by_bisect(chain):
    clone, e = chain["clone"], chain["e"]
    status, lines, data = regressions(clone, e[5])
    assert status == 1
    (regression,) = data["regressions"]
    assert regression["commit"] is None and regression["between"] == [e[0], e[5]]
    assert regression["unmeasured"] == e[1:5]
    assert lines[0].startswith(f"regression between {e[0][:8]} and {e[5][:8]} (4 not measured): ")

    git(clone, "checkout", "--quiet", e[5])
    done = subprocess.run(["make", "-o", f"{VENV}/.installed", "bisect", f"VENV={VENV}", f"MACHINE={MACHINE}"],
                          cwd=clone, capture_output=True, text=True, timeout=1800, env=environment())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    measured = int(re.search(r"bisect: (\d+) commit\(s\) measured", done.stderr)[1])
    assert 1 <= measured <= 4
    status, lines, data = regressions(clone, e[5])
    (regression,) = data["regressions"]
    assert status == 1 and regression["commit"] == e[3]
    assert lines[0].startswith(f"regression {e[3][:8]} (aiohttp: 1 % more per request (e3)): ")
