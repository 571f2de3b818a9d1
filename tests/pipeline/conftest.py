from __future__ import annotations

import pytest

from pipeline import asvrun, gate, targets


@pytest.fixture
def root(tmp_path, monkeypatch):
    """The checkout the pipeline writes into: a temporary folder (nothing of the real one is touched)."""
    for module in (asvrun, gate, targets):
        monkeypatch.setattr(module, "ROOT", tmp_path)
    return tmp_path
