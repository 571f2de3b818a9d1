"""The suite's record of its settings (benchmarks/provenance.py): it names only what the suite measures, and the
synthetic record the report tests read is the same record, so a report test cannot pass on a shape the suite no
longer writes."""

from __future__ import annotations

from benchmarks import common, provenance
from reports import claims
from reports.suite import Suite

from .reports import synthetic


def test_every_pair_names_scenarios_the_suite_measures():
    record = provenance.record()
    for pair in (*record["article"]["rows"], *record["pairs"]):
        assert {pair["aiohttp"], pair["flask"]} <= set(common.SCENARIO_IDS), pair
    labels = [setting.label for setting in claims.methodology_rows(Suite.from_record(record))]
    assert [pair["label"] for pair in record["pairs"]] == labels[-len(record["pairs"]):]


def test_the_report_tests_read_the_record_the_suite_writes():
    record = provenance.record()
    for key in ("benchmarks", "pairs"):
        assert synthetic.PROVENANCE[key] == record[key], key
    assert synthetic.PROVENANCE["article"]["rows"] == record["article"]["rows"]
    assert synthetic.PROVENANCE.keys() == record.keys() - {"missing"}
