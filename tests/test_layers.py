"""The layering the project rests on, checked on the source: who may import whom.

    planet_tracker/       the subject: imports nothing of the instrument or the reports
    benchmarks/harness/   the instrument's bottom layer: never the subject, never the asv suite above it
    benchmarks/*.py       the asv suite: the harness; the subject only in core.py, which times it
    reports/              reads results: never the subject, never the harness or the suite
    pipeline/             runs the others as commands: imports none of them
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports(path: Path) -> set[str]:
    """Every module a file imports, absolute (relative imports resolved against its package)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join((*base, node.module)) if node.module else ".".join(base)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def files(folder: str, exclude: str | None = None) -> list[Path]:
    return [p for p in sorted((ROOT / folder).rglob("*.py")) if not (exclude and exclude in p.parts)]


RULES = [
    ("planet_tracker", None, ("benchmarks", "reports", "pipeline")),
    ("benchmarks/harness", None, ("planet_tracker", "benchmarks.clients", "benchmarks.common", "benchmarks.core",
                                  "benchmarks.instructions", "benchmarks.methodology", "benchmarks.servers",
                                  "benchmarks.provenance", "reports", "pipeline")),
    ("reports", None, ("planet_tracker", "benchmarks", "pipeline")),
    ("pipeline", None, ("planet_tracker", "benchmarks", "reports")),
]


@pytest.mark.parametrize(("folder", "exclude", "forbidden"), RULES, ids=[rule[0] for rule in RULES])
def test_layers(folder, exclude, forbidden):
    broken = {f"{path.relative_to(ROOT)} imports {module}" for path in files(folder, exclude)
              for module in imports(path) if module.split(".")[0] in {f.split(".")[0] for f in forbidden}
              and any(module == f or module.startswith(f + ".") for f in forbidden)}
    assert not broken, sorted(broken)


def test_only_the_core_benchmarks_import_the_subject():
    suite = [p for p in files("benchmarks") if p.parent.name == "benchmarks"]
    importers = {p.name for p in suite if any(m.split(".")[0] == "planet_tracker" for m in imports(p))}
    assert importers == {"core.py"}


def test_the_checker_sees_imports():
    """The rules above would pass on files it cannot read: check it finds what is there."""
    assert "benchmarks.harness.scenarios.SCENARIOS" in imports(ROOT / "benchmarks" / "common.py")
    assert "benchmarks.harness.errors.HarnessError" in imports(ROOT / "benchmarks" / "harness" / "runner.py")
    assert "planet_tracker.core" in imports(ROOT / "benchmarks" / "core.py")
