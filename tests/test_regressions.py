"""`make regressions` and `make bisect` end to end, with real counts, in a temporary clone: chains of commits on
top of this checkout's HEAD, each measured by asv under valgrind, then read along different tips.

    a0 (HEAD)  a1 .. a5: nothing changes                      --tip a5: nothing reported, success
    a6 .. a9   each 0.3 % more per call of core.parse_query  --tip a9: no step, one drift naming the four, failure
    b1         from a5: every aiohttp request 1 % dearer      --tip b1 (measured with a5 and b2): b1 named, failure
    b2         the cost taken away again                      --tip b2: b1 recovered, success
    e1 .. e5   from a5: e3 1 % dearer, the others nothing; only a5 and e5 measured: "between", and make bisect places
               it on e3 after measuring at most 4 more

The a chain counts the core's parse_query alone (a count of a few seconds), the others aiohttp's development
server too: a whole server count per commit would make this test take minutes more.
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
SERVER, CORE = "aiohttp-dev", "core:parse_query"
REQUEST = "instructions.ServerInstructions.track_instructions_per_request(aiohttp-dev)"
QUERY = "instructions.QueryInstructions.track_instructions_parse_query"
# Extra work: a loop in the aiohttp adapter, about 1,280 instructions to set up and 95 an iteration, 52 iterations
# 1.03 % of a request (about 604,000); and in parse_query, a call of len() (about 190 instructions), 0.24 % of a
# call (about 81,600) each.
ADAPTER = "core.position_body(query)"
PARSE = "def parse_query(name: str, params: Iterable[tuple[str, str]]) -> Query:\n"
pytestmark = pytest.mark.needs("valgrind", "cc")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def commit(clone: Path, message: str, adapter: int | None = None, query: int | None = None) -> str:
    """A commit on the clone's HEAD: every aiohttp request loops ``adapter`` times (0: not at all), every call of
    parse_query makes ``query`` calls of len(); without either, nothing changes."""
    if adapter is not None:
        path = clone / "planet_tracker" / "aiohttp_app.py"
        text = re.sub(r"\n *for _spin in range\(\d+\):\n *pass(?=\n)", "", path.read_text())
        line = next(line for line in text.splitlines() if ADAPTER in line)  # the handler's return
        indent = line[:len(line) - len(line.lstrip())]
        if adapter:
            text = text.replace(line, f"{indent}for _spin in range({adapter}):\n{indent}    pass\n{line}")
        path.write_text(text)
    if query is not None:
        path = clone / "planet_tracker" / "core.py"
        text = re.sub(r"    _spin = len\(name\)\n", "", path.read_text())
        assert text.count(PARSE) == 1, "parse_query changed shape: update PARSE"
        path.write_text(text.replace(PARSE, PARSE + "    _spin = len(name)\n" * query))
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "--allow-empty", "-am", message)
    return git(clone, "rev-parse", "HEAD")


def environment(targets: str = "") -> dict[str, str]:
    dirs = subprocess.run([str(ROOT / "scripts" / "python-dirs")], capture_output=True, text=True).stdout.strip()
    return {**os.environ, "PATH": f"{dirs}:{os.environ['PATH']}" if dirs else os.environ["PATH"],
            "PLANET_TRACKER_INSTRUCTIONS": targets}


def measure(clone: Path, commits: list[str], targets: str) -> None:
    """The commits' counts of ``targets`` (the instructions benchmarks' PLANET_TRACKER_INSTRUCTIONS), recorded
    with their builds and versions as every asv run of the project records them."""
    (clone / ".asv").mkdir(exist_ok=True)
    (clone / ".asv" / "measure.hashes").write_text("".join(f"{c}\n" for c in commits))
    python = str(VENV / "bin" / "python")
    for argv in ([python, "-m", "pipeline", "machine", "--name", MACHINE],
                 [python, "-m", "asv", "run", "HASHFILE:.asv/measure.hashes", "--machine", MACHINE, "-E",
                  f"virtualenv:{sys.version_info[0]}.{sys.version_info[1]}", "--bench",
                  r"^instructions\.(Server|Query)Instructions"],
                 [python, "-m", "pipeline", "dependencies", "--machine", MACHINE]):
        done = subprocess.run(argv, cwd=clone, capture_output=True, text=True, timeout=1200,
                              env=environment(targets))
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
    a = [git(clone, "rev-parse", "HEAD")]
    a += [commit(clone, f"nothing {i}") for i in range(1, 6)]
    a += [commit(clone, f"parse_query: 0.3 % more ({i} of 4)", query=i) for i in range(1, 5)]
    git(clone, "checkout", "--quiet", "-b", "b", a[5])
    b = [a[5], commit(clone, "aiohttp: 1 % more per request", adapter=52), commit(clone, "aiohttp: taken away", 0)]
    git(clone, "checkout", "--quiet", "-b", "e", a[5])
    e = [a[5], commit(clone, "nothing e1"), commit(clone, "nothing e2"),
         commit(clone, "aiohttp: 1 % more per request (e3)", adapter=52), commit(clone, "nothing e4"),
         commit(clone, "nothing e5")]
    measure(clone, a, CORE)
    measure(clone, [a[5], b[1], b[2], e[5]], f"{SERVER},{CORE}")
    return {"clone": clone, "a": a, "b": b, "e": e}


def test_no_op_commits_report_nothing(chain):
    status, lines, data = regressions(chain["clone"], chain["a"][5])
    assert status == 0 and lines == [] and data["regressions"] == [] and data["drifts"] == []
    # The threshold of the counted series came from the no-op pairs, floored.
    (limit,) = [t for t in data["thresholds"] if t["benchmark"] == QUERY]
    assert limit["threshold"] == 0.005 and "5 no-op move(s)" in limit["source"]


def test_a_commit_that_costs_1_percent_is_named_and_fails(chain):
    b = chain["b"]
    status, lines, data = regressions(chain["clone"], b[1])
    assert status == 1
    (regression,) = data["regressions"]
    assert regression["commit"] == b[1] and regression["status"] == "open"
    assert regression["subject"] == "aiohttp: 1 % more per request"
    (line,) = lines
    assert line.startswith(f"regression {b[1][:8]} (aiohttp: 1 % more per request): Python 3.")
    assert REQUEST in line and re.search(r"\(1\.0[01]\d\d; threshold 0\.5 %\)$", line), line


def test_a_commit_that_takes_the_cost_away_recovers_it(chain):
    b = chain["b"]
    status, lines, data = regressions(chain["clone"], b[2])
    assert status == 0 and lines == []
    (regression,) = data["regressions"]
    assert regression["commit"] == b[1] and regression["status"] == "recovered" and regression["recovered_at"] == b[2]


def test_four_small_steps_are_one_drift(chain):
    a = chain["a"]
    status, lines, data = regressions(chain["clone"], a[9])
    assert status == 1 and data["regressions"] == []  # no step of 0.3 %
    (drift,) = data["drifts"]
    assert drift["benchmark"] == QUERY and drift["latest_commit"] == a[9] and 1.005 < drift["ratio"] < 1.015
    assert sorted(entry["commit"] for entry in drift["commits"]) == sorted(a[6:10])
    (line,) = lines
    assert line.startswith("drift since ") and all(commit[:8] in line for commit in a[6:10])


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
