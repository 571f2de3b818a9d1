"""The asv suite: its configuration, the project's asv commands, and the benchmarks' server lifecycle."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from asv import config as asv_config

from benchmarks import clients, common, core, instructions, methodology, servers
from benchmarks import sweep as sweep_suite
from benchmarks.harness import client, formats, procstat
from benchmarks.harness.errors import VerificationFailed
from benchmarks.harness.scenarios import SCENARIOS, Scenario

ROOT = Path(__file__).resolve().parent.parent


def test_config():
    conf = asv_config.Config.load(str(ROOT / "asv.conf.json"))
    assert conf.pythons == ["3.11", "3.12", "3.13", "3.14"]
    assert conf.environment_type == "virtualenv" and conf.branches == ["main"] and conf.repo == "."
    assert [conf.env_dir, conf.results_dir, conf.html_dir] == [".asv/env", ".asv/results", ".asv/html"]
    assert "--no-build-isolation" in conf.build_command[-1]
    # No matrix of versions: it would name the environment, and so split every series at a bump. Each commit is
    # installed with its own constraints.txt, and setuptools and wheel (for the build) come from the checkout's.
    assert not conf.matrix
    assert conf.install_command == ["in-dir={env_dir} python {conf_dir}/pipeline/installs.py {conf_dir} {build_dir} "
                                    "{wheel_file} {env_dir} {env_name} {commit}"]
    assert "-c {conf_dir}/constraints.txt setuptools wheel" in conf.build_command[0]
    pins = {line.split("==")[0] for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    assert {"setuptools", "wheel"} <= pins


def test_python_dirs_reports_and_skips_missing(tmp_path):
    # A pyenv that knows only 3.11: the others are reported on stderr and left out.
    prefix = tmp_path / "3.11.9"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python3.11").symlink_to(sys.executable)
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "pyenv").write_text(f'#!/bin/sh\n[ "$2" = "3.11" ] && echo {prefix} && exit 0\nexit 1\n')
    (fake / "pyenv").chmod(0o755)
    # Only the tools the script uses, not /usr/bin: the host's own interpreters (ubuntu-24.04 has python3.12 there)
    # must not be found.
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("bash", "sh", "sed", "tr", "dirname", "readlink"):
        (tools / tool).symlink_to(shutil.which(tool))
    env = {"PATH": f"{fake}:{tools}"}
    done = subprocess.run([ROOT / "scripts" / "python-dirs"], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == f"{prefix}/bin"
    assert done.stderr.splitlines() == [f"python{v} not found: skipped (install it, e.g. with pyenv, to measure it)"
                                        for v in ("3.12", "3.13", "3.14")]
    specs = subprocess.run([ROOT / "scripts" / "python-dirs", "--specs"], capture_output=True, text=True, env=env)
    assert specs.stdout.strip() == "-E virtualenv:3.11"


def test_machine_name():
    name = subprocess.run([ROOT / "scripts" / "machine-name"], capture_output=True, text=True, check=True).stdout
    assert re.fullmatch(rf"[a-z0-9-]+-{os.cpu_count()}cpu\n", name)


def test_benchmark_parameters_are_the_harness_ids():
    assert servers.ServerThroughput.params == [list(SCENARIOS)]
    assert methodology.KeepAliveOff.params == methodology.IOBound.params == [common.ARTICLE_IDS]
    assert len(common.ARTICLE_IDS) == 6
    assert clients.ClientStrategies.params == [list(client.STRATEGIES)]
    assert core.Position.params == [["mercury", "venus", "mars", "jupiter", "saturn", "uranus", "neptune"]]
    # Every sample of a batch benchmark is the generator's own time for the batch, and rounds are of equal size.
    for cls in (servers.ServerThroughput, methodology.KeepAliveOff, methodology.IOBound):
        assert cls.timer is common.load_clock and cls.repeat[0] == cls.repeat[1]


def _benchmarks(module) -> dict[str, object]:
    """What asv would discover in a module: {"module.Class.method": method}."""
    found = {}
    for cls in vars(module).values():
        if isinstance(cls, type) and cls.__module__ == module.__name__:
            for name in dir(cls):
                if name.startswith(("time_", "track_")):
                    found[f"{module.__name__.split('.')[-1]}.{cls.__name__}.{name}"] = getattr(cls, name)
    return found


def test_without_valgrind_every_count_is_skipped_saying_what_to_install(monkeypatch):
    """A newcomer's machine: the channel's setup_cache does not raise (asv would fail every counted benchmark with
    a traceback and exit 2); each count is skipped, in setup as asv skips, with the missing tool's line."""
    monkeypatch.setenv("PATH", "/nonexistent")
    cache = instructions.InstructionsBenchmark().setup_cache()
    assert cache == {instructions.MISSING: "valgrind is not installed: `sudo apt-get install valgrind`"}
    for benchmark, params in ((instructions.ServerInstructions(), ("aiohttp-dev",)),
                              (instructions.ClientInstructions(), ("aiohttp-gather",)),
                              (instructions.QueryInstructions(), ()), (instructions.PositionInstructions(), ("mars",))):
        with pytest.raises(NotImplementedError, match=r"^valgrind is not installed: `sudo apt-get install valgrind`$"):
            benchmark.setup(cache, *params)


def test_the_counted_benchmarks_are_selected_by_their_name_and_judged_by_their_unit():
    counted = _benchmarks(instructions)
    assert len(counted) == 6 and all("instructions" in name for name in counted)
    for method in counted.values():
        assert method.__name__.startswith("track_")
        assert method.unit == "instructions" and method.version == instructions.VERSION
    others = {name for module in (clients, core, methodology, servers, sweep_suite) for name in _benchmarks(module)}
    assert others and not [name for name in others if "instructions" in name]  # BENCH=instructions: exactly these
    # Every server scenario and client strategy, and the core functions, as the harness counts them.
    assert instructions.ServerInstructions.params == [list(SCENARIOS)]
    assert instructions.ClientInstructions.params == [list(client.STRATEGIES)]
    cache = {(target, part): 1.0 if part == "request" else 0.5 for target in instructions.callgrind.all_ids()
             for part in ("request", "collector")}
    assert instructions.PositionInstructions().track_instructions_position_body(cache, "mars") == 1.0
    server = instructions.ServerInstructions()
    assert server.track_collector_instructions_per_request(cache, "flask-dev") == 0.5
    with pytest.raises(RuntimeError, match="aiohttp-dev: valgrind is not installed"):
        server.track_instructions_per_request({**cache, ("aiohttp-dev", "request"): "valgrind is not installed"},
                                              "aiohttp-dev")
    # Where callgrind does not name the collector, its count is skipped, saying so.
    with pytest.raises(NotImplementedError, match="does not name CPython's collector"):
        server.track_collector_instructions_per_request({("flask-dev", "request"): 1.0}, "flask-dev")
    # A target left out of the count (PLANET_TRACKER_INSTRUCTIONS) is skipped, in setup, as asv skips.
    with pytest.raises(NotImplementedError, match="core:parse_query is not counted"):
        instructions.QueryInstructions().setup({("aiohttp-dev", "request"): 1.0})
    server.setup({("aiohttp-dev", "request"): 1.0}, "aiohttp-dev")
    # The collector's count is judged as a part of the request's.
    assert formats.whole_of("instructions.ServerInstructions.track_collector_instructions_per_request") == \
        "instructions.ServerInstructions.track_instructions_per_request"
    # The suite's labels, as the reports print them, back to the channel's targets (what attribution profiles).
    for label, target in (("instructions.ServerInstructions.track_instructions_per_request(flask-dev)", "flask-dev"),
                          ("instructions.ClientInstructions.track_instructions_per_request(aiohttp-gather)",
                           "client:aiohttp-gather"),
                          ("instructions.QueryInstructions.track_instructions_parse_query", "core:parse_query"),
                          ("instructions.PositionInstructions.track_instructions_position_body(mars)",
                           "core:position_body:mars"),
                          ("servers.ServerThroughput.time_batch(flask-dev)", None),
                          ("instructions.PositionInstructions.track_instructions_position_body", None)):
        assert instructions.target_of(label) == target, label


def test_a_server_is_started_once_per_process_and_stopped_at_exit():
    first = common.server_for("aiohttp-dev")
    try:
        assert common.server_for("aiohttp-dev") is first
        bench = servers.ServerThroughput()
        bench.setup("aiohttp-dev")
        assert bench.server is first
        before = common.load_clock()
        bench.time_batch("aiohttp-dev")  # one verified batch
        assert 0 < common.load_clock() - before < 10  # the generator's own time for the batch
        strategies = clients.ClientStrategies()
        strategies.setup("requests-sequential")  # the latency server, kept the same way
        latency = common._KEPT["latency"]
        pgids = [first.pgid, latency.pgid]
    finally:
        common.stop_all()
    assert all(procstat.group_pids(pgid) == [] for pgid in pgids) and common._KEPT == {}


def test_a_broken_server_fails_the_benchmark_and_leaves_nothing(monkeypatch):
    monkeypatch.setitem(SCENARIOS, "aiohttp-gunicorn-sync", Scenario("aiohttp", "gunicorn", worker_class="sync"))
    with pytest.raises(VerificationFailed, match="answered 500"):
        servers.ServerThroughput().setup("aiohttp-gunicorn-sync")
    assert "aiohttp-gunicorn-sync" not in common._KEPT
    # Only the aiohttp app under a sync worker: other sync workers (Flask's) may be running for other reasons.
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit()
                and "--worker-class sync" in _cmdline(pid) and "planet_tracker.aiohttp_app" in _cmdline(pid)]


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_the_sweep_benchmarks_are_skipped_unless_make_sweep_asks(monkeypatch):
    monkeypatch.setattr(sweep_suite, "ENABLED", False)
    for cls in (sweep_suite.OpenLoopLatency, sweep_suite.CornerRatio):
        assert cls().setup_cache() == {}  # nothing measured
        with pytest.raises(NotImplementedError):  # asv records a skip
            cls().setup({}, cls.params[0][0])
    assert sweep_suite.OpenLoopLatency.params == [common.ARTICLE_IDS]
    assert set(sweep_suite.CORNERS.values()) == {(1, 0), (512, 0), (1, 100), (512, 100)}
    with pytest.raises(RuntimeError, match="flask-dev: failed: no capacity"):
        sweep_suite.OpenLoopLatency().track_p99_at_half_capacity({"flask-dev": "failed: no capacity"}, "flask-dev")


@pytest.mark.needs("wrk")
def test_a_corner_ratio_is_measured_on_real_servers(monkeypatch):
    monkeypatch.setattr(sweep_suite, "ENABLED", True)
    monkeypatch.setattr(sweep_suite, "CORNERS", {"2 x 0 ms": (2, 0)})
    cache = sweep_suite.CornerRatio().setup_cache()
    sweep_suite.CornerRatio().setup(cache, "2 x 0 ms")
    ratio = sweep_suite.CornerRatio().track_aiohttp_over_flask(cache, "2 x 0 ms")
    assert 1 < ratio < 20  # aiohttp's best over Flask's best, with no wait: async ahead, by a sane factor


def test_no_recipe_runs_a_sub_make():
    """make does not pass -o down to a sub-make: `make -o .venv/.installed bench` in a clone (as the tests run
    it, with their own venv) would rebuild that venv from the clone in a `$(MAKE) report`."""
    assert "$(MAKE)" not in (ROOT / "Makefile").read_text()


def test_attribution_runs_only_when_asked(monkeypatch):
    """Without PLANET_TRACKER_ATTRIBUTE (every run but make compare's and make profile's) it profiles nothing and
    is skipped, in setup, with a cache asv still passes (asv passes none when setup_cache returns None)."""
    from benchmarks import attribution as attributed

    monkeypatch.delenv(attributed.LABELS, raising=False)
    bench = attributed.Attribution()
    cache = bench.setup_cache()
    assert cache == 0
    with pytest.raises(NotImplementedError, match="set PLANET_TRACKER_ATTRIBUTE"):
        bench.setup(cache)
    bench.setup(2)
    assert bench.track_profiled(2) == 2 and attributed.Attribution.track_profiled.unit == "profiles"
    assert attributed.file_name("core:position_body:mars") == "core_position_body_mars.json"
