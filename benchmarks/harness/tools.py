"""The measuring tools from Debian that the harness runs, and what goes unmeasured without each.

A newcomer's machine may have none of them, and no root to install them: the suite then measures what it can
(the built-in generator stands in for ab and wrk) and says, for what it cannot, which tool is missing and the
one command that installs it. This is the one table of them: the generators' errors, the channel's, the
provenance record and the warnings all read it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    command: str
    package: str  # Debian's
    without: str  # what the suite does without it, as the end of a sentence

    def installed(self) -> bool:
        return shutil.which(self.command) is not None

    @property
    def install(self) -> str:
        return f"sudo apt-get install {self.package}"

    @property
    def problem(self) -> str:
        """One line: what is missing and how to install it."""
        return f"{self.command} is not installed: `{self.install}`"

    def warning(self) -> str:
        return f"warning: {self.command} is not installed, so {self.without} (`{self.install}`)"


AB = Tool("ab", "apache2-utils", "the built-in generator stands in for ab, the article's load generator")
WRK = Tool("wrk", "wrk", "the built-in generator stands in for wrk")
VALGRIND = Tool("valgrind", "valgrind", "instructions are not counted")
# valgrind's counting window is a small C library built on the spot (callgrind.prepare).
CC = Tool("cc", "gcc libc6-dev", "instructions are not counted: valgrind's counting window is built with it")
TOOLS = {tool.command: tool for tool in (AB, WRK, VALGRIND, CC)}


def missing() -> list[Tool]:
    """The suite's tools that are not on PATH, in the table's order."""
    return [tool for tool in TOOLS.values() if not tool.installed()]


def install(absent: list[Tool]) -> None:
    """apt-get install what is missing where that needs no password: as root, or with passwordless sudo (GitHub's
    runners). Anywhere else nothing happens: the warnings say what to install."""
    if not absent or not shutil.which("apt-get"):
        return
    if os.geteuid() == 0:
        sudo = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        sudo = ["sudo", "-n"]
    else:
        return
    packages = [package for tool in absent for package in tool.package.split()]
    print(f"installing {' '.join(packages)} (measuring tools)", file=sys.stderr)
    apt = [*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-qq"]
    for step in (["update"], ["install", "-y", "--no-install-recommends", *packages]):
        subprocess.run([*apt, *step], stdout=subprocess.DEVNULL, timeout=900)
