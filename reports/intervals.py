"""95 % intervals by bootstrap over asv's samples, and the three-way verdicts drawn from them.

A throughput benchmark records one sample per batch (seconds, turned into req/s here); asv runs a benchmark in
several rounds (processes), each taking the same number of samples (``repeat = (k, k, ...)``), and measures the
scenarios of one benchmark one after the other within a round. So the j-th round of scenario A and of scenario
B were measured within seconds of each other, while rounds lie minutes apart. A ratio's interval draws the same
rounds for both sides (and samples within each round): the machine's drift over minutes moves both sides of a
replicate alike, and the interval reflects the pair rather than the drift. Where the samples do not divide into
rounds (a quick run, an older result), every sample stands on its own.

A verdict is "holds" only when the interval lies entirely on the claimed side of its threshold, "does not hold"
when it lies entirely on the other, and "cannot tell (within noise)" otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 4000
SEED = 20181126  # fixed: the same samples always give the same interval
HOLDS, DOES_NOT_HOLD, CANNOT_TELL = "holds", "does not hold", "cannot tell (within noise)"
NO_SAMPLES = "cannot tell (missing results)"


@dataclass(frozen=True)
class Estimate:
    """A median (or a product of medians) with its 95 % interval; NaN bounds when there is nothing to resample."""

    value: float
    low: float = math.nan
    high: float = math.nan

    @property
    def half_width_pct(self) -> float:
        """Half the interval's width, as a percentage of the value."""
        return 50 * (self.high - self.low) / self.value if self.value else math.nan

    def verdict(self, threshold: float = 1.0) -> str:
        """Whether the value is above ``threshold``, by the interval."""
        if math.isnan(self.value):
            return NO_SAMPLES
        if self.low > threshold:
            return HOLDS
        if self.high < threshold:
            return DOES_NOT_HOLD
        return CANNOT_TELL


@dataclass(frozen=True)
class Series:
    """One benchmark's samples at one commit and Python, in the unit the report uses (req/s), and how many
    samples each round took (None when they do not divide into rounds)."""

    samples: tuple[float, ...]
    per_round: int | None = None

    @property
    def in_rounds(self) -> bool:
        k = self.per_round
        return bool(k) and len(self.samples) >= 2 * k and len(self.samples) % k == 0

    def rounds(self) -> list[np.ndarray]:
        values = np.asarray(self.samples, dtype=float)
        if not self.in_rounds:
            return [values[i:i + 1] for i in range(len(values))]  # no round structure: each sample alone
        k = self.per_round
        return [values[i:i + k] for i in range(0, len(values), k)]


def product(terms: Sequence[tuple[Series, int]]) -> Estimate:
    """The product of the terms' medians, each raised to its exponent (a ratio is [(a, 1), (b, -1)]), with a
    bootstrap interval that draws the same rounds for every term when they have as many rounds."""
    if not terms or any(len(series.samples) == 0 for series, _ in terms):
        return Estimate(math.nan)
    value = math.prod(float(np.median(series.samples)) ** exponent for series, exponent in terms)
    grouped = [(series.rounds(), exponent) for series, exponent in terms]
    if any(len(series.samples) < 2 for series, _ in terms):
        return Estimate(value)
    rng = np.random.default_rng(SEED)
    paired = all(series.in_rounds for series, _ in terms) and len({len(rounds) for rounds, _ in grouped}) == 1
    shared = rng.integers(0, len(grouped[0][0]), size=(RESAMPLES, len(grouped[0][0]))) if paired else None
    replicates = np.ones(RESAMPLES)
    for rounds, exponent in grouped:
        chosen = shared if shared is not None else rng.integers(0, len(rounds), size=(RESAMPLES, len(rounds)))
        replicates *= _medians(rounds, chosen, rng) ** exponent
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return Estimate(value, float(low), float(high))


def _medians(rounds: list[np.ndarray], chosen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each replicate (a row of ``chosen`` round indices), the median of the chosen rounds' samples, each
    round resampled within itself."""
    size = len(rounds[0])
    if all(len(r) == size for r in rounds):
        table = np.stack(rounds)  # rounds x samples
        inner = rng.integers(0, size, size=(*chosen.shape, size))
        drawn = table[chosen[..., None], inner]  # replicates x rounds x samples
        return np.median(drawn.reshape(len(chosen), -1), axis=1)
    flat = np.concatenate(rounds)  # uneven rounds cannot happen with a fixed repeat; resample plainly
    return np.median(flat[rng.integers(0, len(flat), size=(len(chosen), len(flat)))], axis=1)


def median(series: Series) -> Estimate:
    return product([(series, 1)])


def ratio(a: Series, b: Series) -> Estimate:
    return product([(a, 1), (b, -1)])


def combine(verdicts: Sequence[str]) -> str:
    """A conclusion that needs several comparisons: it holds if all do, fails if any fails."""
    if not verdicts or NO_SAMPLES in verdicts:
        return NO_SAMPLES
    if all(v == HOLDS for v in verdicts):
        return HOLDS
    if any(v == DOES_NOT_HOLD for v in verdicts):
        return DOES_NOT_HOLD
    return CANNOT_TELL
