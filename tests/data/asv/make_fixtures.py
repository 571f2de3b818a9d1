"""Regenerate the golden asv results the report tests read: `python tests/data/asv/make_fixtures.py`.

Three commits (newest first) on two Pythons; at the newest commit, flask-gunicorn-gthread failed on 3.11 (null)
and KeepAliveOff(aiohttp-dev) was skipped on 3.12 (NaN); the oldest commit's suite had no uvloop scenario yet.
The values are tests/reports/synthetic.py's default_value. Each result records its versions, as
pipeline/installs.py does: the newest commit moved aiohttp and multidict from 3.13.5 and 6.9.1 to 3.14.5 and 7.2.1.
"""

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.reports import synthetic  # noqa: E402

COMMITS = [("c" * 40, 1764100000000), ("b" * 40, 1764000000000), ("a" * 40, 1763900000000)]
PYTHONS = ["3.11", "3.12"]
FAILED = {("servers.ServerThroughput.time_batch", "flask-gunicorn-gthread", 0, 0)}
SKIPPED = {("methodology.KeepAliveOff.time_batch", "aiohttp-dev", 0, 1)}
MISSING = {2: ("aiohttp-gunicorn-uvloop",)}


def versions(commit: int, python: int) -> dict:
    bumped = commit == 0
    return {"packages": {"aiohttp": "3.14.5" if bumped else "3.13.5", "ephem": "4.2.1", "Flask": "3.1.3",
                         "gunicorn": "27.0.1", "multidict": "7.2.1" if bumped else "6.9.1"}}


def main() -> None:
    for stale in ("results", "provenance", "asv.conf.json"):
        path = HERE / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    synthetic.write(HERE, COMMITS, PYTHONS, failed=FAILED, skipped=SKIPPED, missing=MISSING, dependencies=versions)


if __name__ == "__main__":
    main()
