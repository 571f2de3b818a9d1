"""What the subject says of itself: its planets, its factory strings and its limits, asked of it in a child process
run by the interpreter being measured (the harness never imports the subject), so that they are defined once, in
the subject.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Iterable

from .errors import HarnessError


@functools.cache
def ask(expression: str, python: str = sys.executable):
    """The value of ``expression`` in the subject (its modules ``cli`` and ``core`` imported), through JSON."""
    code = f"import json\nfrom planet_tracker import cli, core\nprint(json.dumps({expression}))"
    try:
        asked = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HarnessError(f"cannot ask planet_tracker for {expression} with {python}: {error}") from None
    if asked.returncode != 0:
        last = (asked.stderr.strip().splitlines() or ["no answer"])[-1]
        raise HarnessError(f"cannot ask planet_tracker for {expression} with {python}: {last}")
    return json.loads(asked.stdout)


def planets() -> tuple[str, ...]:
    return tuple(ask("list(core.PLANETS)"))


def factory(framework: str, python: str = sys.executable) -> str:
    """The app's factory string (the app-factory strings are how the harness reaches the app)."""
    return ask("cli.APPS", python)[framework]


def check_io_ms(values: Iterable[int]) -> None:
    """HarnessError, before any server starts, for a handler wait the app would refuse."""
    low, high = ask("core.IO_MS_RANGE")
    wrong = [value for value in values if not low <= value <= high]
    if wrong:
        raise HarnessError(f"--io-ms {wrong[0]}: the app takes {low}-{high} ms")
