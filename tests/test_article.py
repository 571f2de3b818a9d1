"""The article's settings live in one module (benchmarks/harness/article.py): change one line of it, and the asv
suite, the harness's command line and the report's summary all follow.

The check runs on a copy of the instrument with that one line changed, as a user would change it, and reads what
each layer does from the outside: the suite's batches and request, the command line's defaults and the provenance
record, and the summary the reports write from that record.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reports import summary

from .reports import synthetic

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = Path("benchmarks") / "harness" / "article.py"
CONCURRENCY = re.compile(r"(load=LoadSettings\(concurrency=)\d+")
PATH = re.compile(r'(path=")/planets/mars\?')


def edited_copy(tmp_path: Path, pattern: re.Pattern, replacement: str) -> Path:
    """The instrument, its formats and the subject copied, with exactly one line of the article module changed."""
    copy = tmp_path / "copy"
    for name in ("benchmarks", "planet_tracker"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    before = (copy / ARTICLE).read_text().splitlines()
    after = [pattern.sub(replacement, line) for line in before]
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 1, "the setting is no longer on one line"
    (copy / ARTICLE).write_text("\n".join(after) + "\n")
    return copy


def run(copy: Path, *argv: str) -> str:
    done = subprocess.run([sys.executable, *argv], cwd=copy, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def suite(copy: Path) -> dict:
    """What the asv suite's modules load, and with which request, as the suite's own objects say."""
    code = ("import json\nfrom benchmarks import common, methodology\nfrom benchmarks.harness.article import ARTICLE\n"
            "print(json.dumps({'batches': [b.concurrency for b in (common.BATCH, common.WARMUP, "
            "methodology.IO_BATCH, methodology.NO_KEEPALIVE_BATCH)], 'io_path': methodology.IOBound.path, "
            "'path': ARTICLE.path}))")
    return json.loads(run(copy, "-c", code))


def summarised(tmp_path: Path, record: dict) -> str:
    """The summary the reports write from synthetic results and the copy's provenance record."""
    asv = tmp_path / "asv"
    synthetic.write(asv, [("e" * 40, 1_700_000_000_000), ("d" * 40, 1_699_900_000_000)], ["3.11"])
    (asv / "provenance" / "fixture-machine.json").write_text(json.dumps(record))
    return summary.build(asv / "asv.conf.json", tmp_path / "out").markdown


@pytest.mark.needs("ab")
def test_the_concurrency_is_one_line(tmp_path):
    copy = edited_copy(tmp_path, CONCURRENCY, r"\g<1>7")
    assert suite(copy)["batches"] == [7, 7, 7, 7]
    assert re.search(r"--concurrency CONCURRENCY\s+default 7", run(copy, "-m", "benchmarks", "server", "--help"))
    run(copy, "-m", "benchmarks", "provenance", "--json", str(tmp_path / "record.json"))
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["suite"]["concurrency"] == 7 and record["load"]["batch"]["argv"][:5] == ["ab", "-l", "-r", "-c", "7"]
    text = summarised(tmp_path, record)
    assert "-c 7 " in text and "-c 20" not in text


@pytest.mark.needs("ab")
def test_the_request_is_one_line(tmp_path):
    copy = edited_copy(tmp_path, PATH, r"\g<1>/planets/venus?")
    found = suite(copy)
    assert found["path"].startswith("/planets/venus?") and found["io_path"].startswith("/planets/venus?")
    out = tmp_path / "server.json"
    run(copy, "-m", "benchmarks", "server", "--framework", "aiohttp", "--load", "builtin", "--duration", "1",
        "--repeats", "1", "--no-warmup", "--quiet", "--json", str(out))
    (measured,) = json.loads(out.read_text())["records"]
    assert measured["status"] == "ok" and measured["settings"]["path"].startswith("/planets/venus?")
    run(copy, "-m", "benchmarks", "provenance", "--json", str(tmp_path / "record.json"))
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["load"]["batch"]["argv"][-1].endswith("/planets/venus?lon=145.051&lat=-39.754&elevation=0")
    assert "/planets/venus?" in summarised(tmp_path, record)
