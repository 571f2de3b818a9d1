from __future__ import annotations

import math

import pytest

from benchmarks.harness.stats import Summary, bootstrap_median_ci, summarize


def test_summary_of_known_values():
    s = summarize([10.0, 12.0, 11.0, 13.0, 9.0])
    assert (s.n, s.median, s.min, s.max) == (5, 11.0, 9.0, 13.0)
    assert s.cv == pytest.approx(math.sqrt(2.5) / 11)
    assert s.min <= s.ci_low <= s.median <= s.ci_high <= s.max
    assert s.ci_half_width_pct == pytest.approx(50 * (s.ci_high - s.ci_low) / 11)
    assert Summary.from_dict(s.to_dict()) == s


def test_interval_is_reproducible_and_narrows_with_more_samples():
    few = [100 + (i % 7) for i in range(7)]
    many = few * 8
    assert bootstrap_median_ci(few) == bootstrap_median_ci(few)  # seeded
    low_few, high_few = bootstrap_median_ci(few)
    low_many, high_many = bootstrap_median_ci(many)
    assert high_many - low_many < high_few - low_few


def test_degenerate_inputs():
    assert summarize([5.0]) == Summary(1, 5.0, 5.0, 5.0, 5.0, 5.0, 0.0)
    with pytest.raises(ValueError):
        summarize([])
