"""The layering the project rests on, checked on the source: whom each layer may import (an allow-list: a new
module or layer is refused until it is placed here).

    planet_tracker/       the subject: itself only
    benchmarks/harness/   the instrument's bottom layer: itself; the subject only through servers
    .../harness/formats   the file formats shared by those that write and those that read them: imports nothing;
                          it lives in the harness, where asv can import it, and the layers above may import it
    benchmarks/*.py       the asv suite: the harness and the formats; the subject only in core.py, which times it
    reports/              reads results: itself and the formats
    pipeline/             runs the others as commands: itself and the formats
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


# Every layer of the project, by the dotted prefix of its modules (the longest prefix decides).
FORMATS = "benchmarks.harness.formats"
LAYERS = (FORMATS, "planet_tracker", "benchmarks.harness", "benchmarks", "reports", "pipeline")
ALLOWED = {
    FORMATS: set(),
    "planet_tracker": {"planet_tracker"},
    "benchmarks.harness": {"benchmarks.harness", FORMATS},
    "benchmarks": {"benchmarks", "benchmarks.harness", FORMATS},
    "reports": {"reports", FORMATS},
    "pipeline": {"pipeline", FORMATS},
}
# The one exception: the benchmarks that time the core computation import it.
EXCEPTIONS = {"benchmarks/core.py": {"planet_tracker"}}


def layer(module: str) -> str | None:
    """The layer a module belongs to, or None for a module that is not the project's (the standard library, a
    dependency)."""
    return next((name for name in sorted(LAYERS, key=len, reverse=True)
                 if module == name or module.startswith(name + ".")), None)


def sources() -> list[Path]:
    """Every Python file of the project outside the tests and the environments."""
    skip = {"tests", ".venv", ".asv", "rehearsal", "site", "build", ".git"}
    return [p for p in sorted(ROOT.rglob("*.py")) if not skip & set(p.relative_to(ROOT).parts)]


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layers(path):
    own = layer(module_of(path))
    assert own is not None, f"{path.relative_to(ROOT)} is in no layer: place it in LAYERS and ALLOWED"
    allowed = ALLOWED[own] | EXCEPTIONS.get(str(path.relative_to(ROOT)), set())
    # Projects' own top-level names that are not layers (a new package) are refused too.
    project = {p.name.removesuffix(".py") for p in ROOT.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    broken = sorted(module for module in imports(path)
                    if module.split(".")[0] in project and layer(module) not in allowed)
    assert not broken, f"{path.relative_to(ROOT)} ({own}) imports {broken}"


def test_only_the_core_benchmarks_import_the_subject():
    suite = [p for p in sources() if layer(module_of(p)) == "benchmarks"]
    importers = {p.name for p in suite if any(layer(m) == "planet_tracker" for m in imports(p))}
    assert importers == {"core.py"}


def test_the_checker_sees_imports():
    """The rules above would pass on files it cannot read: check it finds what is there."""
    assert "benchmarks.harness.scenarios.SCENARIOS" in imports(ROOT / "benchmarks" / "common.py")
    assert "benchmarks.harness.errors.HarnessError" in imports(ROOT / "benchmarks" / "harness" / "runner.py")
    assert "planet_tracker.core" in imports(ROOT / "benchmarks" / "core.py")
    assert layer("benchmarks.sweep") == "benchmarks" and layer("benchmarks.harness.sweeper") == "benchmarks.harness"
    assert layer(FORMATS + ".RESULTS") == FORMATS and layer("json") is None and layer("benchmarksx") is None
