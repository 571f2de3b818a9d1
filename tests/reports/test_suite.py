"""The suite's record of its settings: the one format its writer and the reports share (formats.PROVENANCE)."""

from __future__ import annotations

import copy
import json

import pytest

from reports.errors import ReportError
from reports.suite import Suite

from . import synthetic


def test_the_record_gives_the_benchmarks_settings_and_figures():
    suite = Suite.from_record(synthetic.PROVENANCE)
    assert suite.benchmarks["throughput"] == "servers.ServerThroughput.time_batch"
    assert (suite.concurrency, suite.io_ms) == (20, 20)
    assert suite.figures["server"]["requests_per_second"]["development"]["aiohttp"] == 2023.08


def test_a_record_of_another_version_is_refused_in_one_line(tmp_path):
    older = {**copy.deepcopy(synthetic.PROVENANCE), "version": 2}
    with pytest.raises(ReportError, match=r"version 2; this checkout reads version 3: run `make provenance`"):
        Suite.from_record(older)
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(older))
    with pytest.raises(ReportError, match=r"machine\.json is planet-tracker-provenance version 2"):
        Suite.load(path)
    lacking = copy.deepcopy(synthetic.PROVENANCE)
    del lacking["benchmarks"]
    path.write_text(json.dumps(lacking))
    with pytest.raises(ReportError, match=r"the suite's settings in .* lack 'benchmarks'"):
        Suite.load(path)
