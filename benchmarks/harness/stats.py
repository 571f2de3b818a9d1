"""Summary statistics over repeats: median with a bootstrap confidence interval, and spread."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

BOOTSTRAP_RESAMPLES = 4000
SEED = 20181126  # fixed: the same samples always give the same interval


@dataclass(frozen=True)
class Summary:
    """What several repeats of one quantity say: centre, confidence interval and spread."""

    n: int
    median: float
    ci_low: float  # 95 % bootstrap (percentile) interval of the median
    ci_high: float
    min: float
    max: float
    cv: float  # coefficient of variation: sample standard deviation / mean

    @property
    def ci_half_width_pct(self) -> float:
        """Half the interval's width, as a percentage of the median."""
        return 50 * (self.ci_high - self.ci_low) / self.median if self.median else math.nan

    def to_dict(self) -> dict:
        return {**asdict(self), "ci_half_width_pct": self.ci_half_width_pct}

    @classmethod
    def from_dict(cls, data: dict) -> Summary:
        return cls(**{key: data[key] for key in ("n", "median", "ci_low", "ci_high", "min", "max", "cv")})


def bootstrap_median_ci(values: Sequence[float], confidence: float = 0.95,
                        resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (math.nan, math.nan)
    rng = random.Random(SEED)
    n = len(values)
    medians = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    tail = (1 - confidence) / 2
    return medians[int(tail * resamples)], medians[min(resamples - 1, int((1 - tail) * resamples))]


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("no values to summarize")
    low, high = bootstrap_median_ci(values)
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) > 1 and mean else 0.0
    return Summary(len(values), statistics.median(values), low, high, min(values), max(values), cv)
