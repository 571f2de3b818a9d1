"""95 % intervals and the three verdicts: holds, does not hold, cannot tell (within noise)."""

from __future__ import annotations

import numpy as np
import pytest

from reports import asvdata, claims, intervals
from reports.intervals import Series
from reports.suite import Suite

from . import synthetic

RNG = np.random.default_rng(11)


def noisy(centre: float, spread: float, rounds: int = 4, per_round: int = 6, drift=None) -> Series:
    """Samples in rounds around ``centre``, each round shifted by ``drift[round]`` (the machine's mood)."""
    drift = drift if drift is not None else [0.0] * rounds
    values = [centre * (1 + d) * (1 + spread * RNG.standard_normal()) for d in drift for _ in range(per_round)]
    return Series(tuple(values), per_round)


def test_the_three_verdicts():
    fast, slow = noisy(2000, 0.03), noisy(1000, 0.03)
    assert intervals.ratio(fast, slow).verdict() == intervals.HOLDS  # clearly separated
    assert intervals.ratio(slow, fast).verdict() == intervals.DOES_NOT_HOLD  # clearly reversed
    a, b = noisy(1040, 0.15), noisy(1000, 0.15)  # a 1.04x median ratio, samples that overlap
    estimate = intervals.ratio(a, b)
    assert estimate.low < 1 < estimate.high and estimate.verdict() == intervals.CANNOT_TELL
    assert intervals.ratio(Series(()), b).verdict() == intervals.NO_SAMPLES
    assert intervals.combine([intervals.HOLDS, intervals.CANNOT_TELL]) == intervals.CANNOT_TELL
    assert intervals.combine([intervals.HOLDS, intervals.DOES_NOT_HOLD]) == intervals.DOES_NOT_HOLD


def test_pairing_by_round_takes_the_drift_out_of_a_ratio():
    # Both sides measured round by round, seconds apart, on a machine whose speed drifts ±20 % between rounds.
    drift = [-0.2, 0.1, 0.2, -0.1]
    a, b = noisy(1100, 0.01, drift=drift), noisy(1000, 0.01, drift=drift)
    paired = intervals.ratio(a, b)
    unpaired = intervals.ratio(Series(a.samples), Series(b.samples))  # the same samples, rounds forgotten
    assert paired.verdict() == intervals.HOLDS and paired.half_width_pct < 2
    assert unpaired.half_width_pct > 3 * paired.half_width_pct


def test_an_interval_is_the_same_every_time():
    series = noisy(1000, 0.05)
    assert intervals.median(series) == intervals.median(series)


@pytest.mark.parametrize(("aiohttp_rate", "flask_rate", "spread", "verdict"), [
    (2000, 1000, 0.03, "faster"),
    (1000, 2000, 0.03, "slower"),
    (1040, 1000, 0.15, "cannot tell (within noise)"),
])
def test_async_faster_from_asv_results(tmp_path, aiohttp_rate, flask_rate, spread, verdict):
    """asv results written with asv's own classes, as a run records them: the methodology's yes/no cell."""
    rates = {"aiohttp-dev": aiohttp_rate, "flask-dev": flask_rate}

    def value(benchmark, param, commit, python):
        return 1000 / rates.get(param, 1000) if benchmark == synthetic.BENCHMARKS["throughput"] else 1.0

    offsets = tuple(spread * RNG.standard_normal(24))
    synthetic.write(tmp_path, [("e" * 40, 1764100000000)], ["3.11"], value=value, spread=offsets)
    conf = asvdata.load_config(tmp_path / "asv.conf.json")
    df = claims.frame(asvdata.iter_rows(conf.results_dir, asvdata.benchmark_info(conf), "fixture-machine"))
    table = claims.methodology_table(df, "e" * 40, Suite.from_record(synthetic.PROVENANCE)).set_index("setting")
    row = table.loc["Development server, keep-alive on (the article's ab -k)"]
    assert row["async_faster"] == verdict
    assert row["ratio_low"] < row["ratio"] < row["ratio_high"]
