"""A wheel of the subject's name made on the spot, and an environment it is installed in as asv installs a commit
(pipeline/installs.py): for the tests of the install record and of the build check (tests/test_installs.py,
tests/harness/test_build.py). It holds a small planet_tracker package and pins nothing, so pip installs it with no
package index."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = {"planet_tracker/__init__.py": b'"""A stand-in."""\n', "planet_tracker/core.py": b"PLANETS = ('mars',)\n"}


def record_hash(content: bytes) -> str:
    """A file's hash as a wheel's RECORD writes it."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, files: dict[str, bytes] = FILES, version: str = "9.9") -> Path:
    dist = f"planet_tracker-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: planet-tracker\nVersion: {version}\n".encode()
    entries = {**files, f"{dist}/METADATA": metadata,
               f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{path},{record_hash(content)},{len(content)}\n" for path, content in entries.items())
    path = Path(folder) / f"planet_tracker-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        archive.writestr(f"{dist}/RECORD", record + f"{dist}/RECORD,,\n")
    return path


def install(env: Path, checkout: Path, wheel: str, commit: str, constraints: str | None = "",
            conf: Path = ROOT) -> subprocess.CompletedProcess:
    """installs.py as asv's install_command runs it, in ``env`` (made if missing), with no package index."""
    if not env.exists():
        venv.create(env, with_pip=True)
    checkout.mkdir(exist_ok=True)
    (checkout / "constraints.txt").unlink(missing_ok=True)
    if constraints is not None:
        (checkout / "constraints.txt").write_text(constraints)
    return subprocess.run([env / "bin" / "python", ROOT / "pipeline" / "installs.py", conf, checkout, wheel, env,
                           "virtualenv-py3", commit], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(checkout)})
