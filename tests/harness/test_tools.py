"""The measuring tools' table, the warnings a machine without them gets, and when they are installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness import tools
from benchmarks.harness.errors import ToolMissing
from benchmarks.harness.loadgen import GENERATORS

ROOT = Path(__file__).resolve().parents[2]


def run_tools(path: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", "tools", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PATH": path})


def test_without_the_tools_one_warning_line_each_and_success(tmp_path):
    done = run_tools(str(tmp_path))
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "warning: ab is not installed, so the built-in generator stands in for ab, the article's load generator "
        "(`sudo apt-get install apache2-utils`)",
        "warning: wrk is not installed, so the built-in generator stands in for wrk (`sudo apt-get install wrk`)",
        "warning: valgrind is not installed, so instructions are not counted (`sudo apt-get install valgrind`)",
        "warning: cc is not installed, so instructions are not counted: valgrind's counting window is built with it "
        "(`sudo apt-get install gcc libc6-dev`)"]
    assert run_tools(str(tmp_path), "--quiet").stderr == ""


def test_a_tool_on_path_is_not_named(tmp_path):
    (tmp_path / "valgrind").write_text("#!/bin/sh\n")
    (tmp_path / "valgrind").chmod(0o755)
    warned = run_tools(str(tmp_path)).stderr
    assert "valgrind is not installed" not in warned and "cc is not installed" in warned


def test_the_generators_name_the_package_from_the_table(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    for name in ("ab", "wrk"):
        with pytest.raises(ToolMissing) as missing:
            GENERATORS[name].__class__().version()
        assert str(missing.value) == tools.TOOLS[name].problem


def test_install_asks_for_no_password(monkeypatch):
    """As a user without passwordless sudo nothing is installed (sudo would prompt); as root, apt-get is run."""
    ran = []

    def run(argv, **kwargs):
        ran.append(argv)
        return subprocess.CompletedProcess(argv, 1 if argv == ["sudo", "-n", "true"] else 0)

    monkeypatch.setattr(tools.subprocess, "run", run)
    monkeypatch.setattr(tools.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(tools.os, "geteuid", lambda: 1000)
    tools.install([tools.VALGRIND])
    assert ran == [["sudo", "-n", "true"]]  # asked whether sudo needs a password: it does, so nothing more
    ran.clear()
    monkeypatch.setattr(tools.os, "geteuid", lambda: 0)
    tools.install([tools.VALGRIND, tools.CC])
    apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-qq"]
    assert ran == [[*apt, "update"], [*apt, "install", "-y", "--no-install-recommends", "valgrind", "gcc", "libc6-dev"]]
    ran.clear()
    tools.install([])
    assert ran == []
