"""Load generators behind one interface (see ``base``): ab, wrk, and a built-in fallback."""

from __future__ import annotations

import shutil

from .ab import Ab
from .base import LoadGenerator, LoadResult, LoadSettings, run_load
from .builtin import Builtin
from .wrk import Wrk

GENERATORS: dict[str, LoadGenerator] = {"wrk": Wrk(), "ab": Ab(), "builtin": Builtin()}


def preferred(fixed_count: bool = False) -> LoadGenerator:
    """The best installed generator: wrk (duration runs only), then ab, then the built-in one.

    The built-in generator is the last resort: results say so, since it is slower than both tools.
    """
    order = ("ab",) if fixed_count else ("wrk", "ab")
    for name in order:
        if shutil.which(GENERATORS[name].executable):
            return GENERATORS[name]
    return GENERATORS["builtin"]


__all__ = ["GENERATORS", "LoadGenerator", "LoadResult", "LoadSettings", "preferred", "run_load"]
