"""How sure a score is: bootstrap intervals over sequences, paired tests, Holm, separable groups.

Conventions:

* **The sampling unit is the sequence.** A resample draws ``S`` sequences with replacement from
  the ``S`` scored ones; it is a row of an ``(R, S)`` matrix of counts (:class:`Resampling`), drawn
  once from one seeded ``np.random.Generator`` (``multinomial(S, [1/S] * S)``), so every score and
  every tracker of a report is resampled with the same rows (paired comparisons). Frames within a
  sequence are not independent, so frames are never resampled.
* A **mean of per-sequence scores** (OPE success AUC, precision, normalised precision: the mean of
  the per-sequence curves) resamples to ``counts @ values / S``; a **pooled ratio** (GOT-10k AO and
  SR: all frames pooled) to ``counts @ numerators / counts @ denominators``.
* **Intervals** are percentile intervals (default 95 %): the ``(1 - level) / 2`` and
  ``(1 + level) / 2`` quantiles of the resampled statistic, inverse-CDF definition (the smallest
  value whose cumulative probability reaches ``q``), so the Monte-Carlo estimate converges to the
  exact one that :func:`exact_resampling` enumerates for tiny ``S``.
* A **paired bootstrap** of ``a - b`` resamples both trackers with the same rows; its two-sided
  p-value is ``min(1, 2 * min(P(d* <= 0), P(d* >= 0)))`` (identical trackers: ``d* = 0``, p = 1).
* The **Wilcoxon signed-rank** test (``scipy.stats.wilcoxon``, zero differences dropped) on the
  per-sequence scores; all differences zero gives p = 1.
* **Holm** step-down adjustment over a family of p-values; two trackers are **separable** when
  their adjusted p-value is below ``1 - level``. :func:`inseparable_groups` lists, along the
  ranking, the maximal runs of consecutive trackers no two of which are separable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations_with_replacement
from typing import Any

import numpy as np

#: Resamples drawn by default (the issue's 10,000).
DEFAULT_RESAMPLES = 10_000
#: Default confidence level of an interval.
DEFAULT_LEVEL = 0.95
#: The largest number of sequences :func:`exact_resampling` enumerates (6435 resamples at 8).
EXACT_MAX_SEQUENCES = 8


@dataclass(frozen=True)
class Resampling:
    """Resamples of ``S`` sequences: ``counts`` ``(K, S)`` (how often each sequence is drawn, each
    row summing to ``S``) and their ``probabilities`` ``(K,)`` (``None``: equally likely)."""

    counts: np.ndarray
    probabilities: np.ndarray | None = None

    @property
    def sequences(self) -> int:
        """``S``, the number of sequences resampled."""
        return int(self.counts.shape[1])

    def __len__(self) -> int:
        return int(self.counts.shape[0])


def resample(sequences: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Resampling:
    """``resamples`` bootstrap resamples of ``sequences`` sequences from ``default_rng(seed)``."""
    if sequences < 1 or resamples < 1:
        raise ValueError(f"need at least one sequence and one resample, got {sequences}, {resamples}")
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(sequences, np.full(sequences, 1.0 / sequences), size=resamples)
    return Resampling(counts.astype(np.float64))


def exact_resampling(sequences: int) -> Resampling:
    """Every distinct resample of ``sequences`` (at most :data:`EXACT_MAX_SEQUENCES`) sequences
    with its multinomial probability ``S! / (prod k_i! * S^S)``: the exact bootstrap distribution."""
    if not 1 <= sequences <= EXACT_MAX_SEQUENCES:
        raise ValueError(f"exact enumeration takes 1 to {EXACT_MAX_SEQUENCES} sequences, got {sequences}")
    rows, probabilities = [], []
    for draw in combinations_with_replacement(range(sequences), sequences):
        counts = np.bincount(draw, minlength=sequences)
        rows.append(counts)
        ways = math.factorial(sequences) / math.prod(math.factorial(int(k)) for k in counts)
        probabilities.append(ways / sequences ** sequences)
    return Resampling(np.array(rows, dtype=np.float64), np.array(probabilities))


def _check(values: np.ndarray, resampling: Resampling) -> None:
    if values.shape[-1] != resampling.sequences:
        raise ValueError(f"{values.shape[-1]} sequence values for a resampling of "
                         f"{resampling.sequences} sequences")


def bootstrap_means(values: Any, resampling: Resampling) -> np.ndarray:
    """Resampled means of per-sequence ``values`` ``(..., S)``: shape ``(..., K)``."""
    values = np.asarray(values, dtype=np.float64)
    _check(values, resampling)
    return values @ resampling.counts.T / resampling.sequences


def bootstrap_ratios(numerators: Any, denominators: Any, resampling: Resampling) -> np.ndarray:
    """Resampled pooled ratios ``sum(num) / sum(den)`` of per-sequence sums ``(..., S)``:
    ``(..., K)`` (NaN where a resample's denominator is 0)."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    _check(num, resampling)
    _check(den, resampling)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num @ resampling.counts.T) / (den @ resampling.counts.T)


def bootstrap_curves(curves: Any, resampling: Resampling) -> np.ndarray:
    """Resampled mean curves of per-sequence ``curves`` ``(S, P)``: ``(K, P)``."""
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[0] != resampling.sequences:
        raise ValueError(f"curves of shape {curves.shape} for {resampling.sequences} sequences")
    return resampling.counts @ curves / resampling.sequences


def quantiles(stats: Any, q: Sequence[float], probabilities: np.ndarray | None = None) -> np.ndarray:
    """Inverse-CDF quantiles ``q`` of resampled ``stats`` along the last axis (``(..., K)`` ->
    ``(len(q), ...)``), weighting resample ``k`` by ``probabilities[k]`` (default equal). NaN
    statistics are left out; all NaN gives NaN."""
    stats = np.asarray(stats, dtype=np.float64)
    if probabilities is None and not np.isnan(stats).any():
        # equally likely resamples: numpy's inverse-CDF quantile (a partition, not a sort)
        return np.quantile(stats, list(q), axis=-1, method="inverted_cdf")
    order = np.argsort(stats, axis=-1, kind="stable")     # NaN sort last
    ordered = np.take_along_axis(stats, order, axis=-1)
    weights = np.ones(stats.shape[-1]) if probabilities is None else np.asarray(probabilities, float)
    weights = np.broadcast_to(weights, stats.shape)
    weights = np.where(np.isnan(stats), 0.0, weights)
    weights = np.take_along_axis(weights, order, axis=-1)
    total = weights.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cumulative = np.cumsum(weights, axis=-1) / total
    out = []
    for level in q:
        # the first position whose cumulative probability reaches ``level`` (tolerance for sums)
        index = np.argmax(cumulative >= level - 1e-12, axis=-1)
        value = np.take_along_axis(ordered, index[..., None], axis=-1)[..., 0]
        out.append(np.where(total[..., 0] > 0, value, np.nan))
    return np.array(out)


def interval(stats: Any, level: float = DEFAULT_LEVEL, probabilities: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval ``(low, high)`` at ``level`` of resampled ``stats`` ``(..., K)``."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    low, high = quantiles(stats, [(1 - level) / 2, (1 + level) / 2], probabilities)
    return low, high


def mean_interval(values: Any, resampling: Resampling, level: float = DEFAULT_LEVEL
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Interval of the mean of per-sequence ``values`` ``(..., S)``."""
    return interval(bootstrap_means(values, resampling), level, resampling.probabilities)


def ratio_interval(numerators: Any, denominators: Any, resampling: Resampling,
                   level: float = DEFAULT_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Interval of the pooled ratio ``sum(numerators) / sum(denominators)`` over sequences."""
    return interval(bootstrap_ratios(numerators, denominators, resampling), level,
                    resampling.probabilities)


def curve_band(curves: Any, resampling: Resampling, level: float = DEFAULT_LEVEL
               ) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise band ``(low (P,), high (P,))`` of the mean of per-sequence ``curves`` ``(S, P)``."""
    stats = bootstrap_curves(curves, resampling).T               # (P, K)
    return interval(stats, level, resampling.probabilities)


def ratio_curve_band(numerators: Any, denominators: Any, resampling: Resampling,
                     level: float = DEFAULT_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise band ``(low (P,), high (P,))`` of a pooled-ratio curve
    ``sum(numerators[:, p]) / sum(denominators)`` (per-sequence ``numerators`` ``(S, P)``,
    ``denominators`` ``(S,)``), e.g. GOT-10k's success curve over all frames."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.ndim != 2 or num.shape[0] != resampling.sequences or den.shape != (num.shape[0],):
        raise ValueError(f"numerators {num.shape} and denominators {den.shape} for "
                         f"{resampling.sequences} sequences")
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = (resampling.counts @ num) / (resampling.counts @ den)[:, None]   # (K, P)
    return interval(stats.T, level, resampling.probabilities)


@dataclass(frozen=True)
class PairedTest:
    """``a - b``: the ``difference`` of the two estimates, its interval and p-values."""

    difference: float
    ci_low: float
    ci_high: float
    p_bootstrap: float
    p_wilcoxon: float


def bootstrap_p(differences: Any, probabilities: np.ndarray | None = None) -> float:
    """Two-sided p-value ``min(1, 2 * min(P(d <= 0), P(d >= 0)))`` of resampled differences."""
    d = np.asarray(differences, dtype=np.float64)
    weights = np.ones(len(d)) if probabilities is None else np.asarray(probabilities, float)
    weights = np.where(np.isnan(d), 0.0, weights)
    total = weights.sum()
    if total <= 0:
        return float("nan")
    below = weights[d <= 0].sum() / total
    above = weights[d >= 0].sum() / total
    return float(min(1.0, 2.0 * min(below, above)))


def wilcoxon_p(a: Any, b: Any) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired per-sequence scores (pairs with a NaN
    left out; zero differences dropped; p = 1 when every difference is 0 or none is left)."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    if not np.any(d != 0):
        return 1.0
    return float(wilcoxon(d, zero_method="wilcox").pvalue)


def paired_test(stats_a: Any, stats_b: Any, estimate_a: float, estimate_b: float, values_a: Any,
                values_b: Any, level: float = DEFAULT_LEVEL,
                probabilities: np.ndarray | None = None) -> PairedTest:
    """Paired comparison of two trackers resampled with the same rows: ``stats_*`` ``(K,)`` their
    resampled statistics, ``estimate_*`` their scores, ``values_*`` their per-sequence scores (for
    Wilcoxon)."""
    d = np.asarray(stats_a, dtype=np.float64) - np.asarray(stats_b, dtype=np.float64)
    low, high = interval(d, level, probabilities)
    return PairedTest(float(estimate_a - estimate_b), float(low), float(high),
                      bootstrap_p(d, probabilities), wilcoxon_p(values_a, values_b))


def paired_mean_difference(a: Any, b: Any, resampling: Resampling, level: float = DEFAULT_LEVEL
                           ) -> PairedTest:
    """Paired bootstrap (and Wilcoxon) of ``mean(a) - mean(b)`` over the same sequences."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return paired_test(bootstrap_means(a, resampling), bootstrap_means(b, resampling),
                       float(np.mean(a)), float(np.mean(b)), a, b, level, resampling.probabilities)


def holm(pvalues: Any) -> np.ndarray:
    """Holm's step-down adjusted p-values (same order as given; NaN stays NaN and is not counted):
    the ``i``-th smallest of ``m`` becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if not m:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    adjusted = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adjusted)
    return out


def inseparable_groups(ranked: Sequence[str], separable: Mapping[frozenset[str], bool]
                       ) -> list[list[str]]:
    """Maximal runs of consecutive trackers in ``ranked`` (best first) no two of which are
    ``separable`` (a pair missing from the mapping counts as not separable), in rank order.
    Every tracker is in at least one group; a tracker separable from all others is alone."""
    runs: list[tuple[int, int]] = []
    for start in range(len(ranked)):
        end = start
        while end + 1 < len(ranked) and not any(
                separable.get(frozenset((ranked[end + 1], ranked[k])), False)
                for k in range(start, end + 1)):
            end += 1
        if not runs or end > runs[-1][1]:
            runs.append((start, end))
    return [list(ranked[s:e + 1]) for s, e in runs]


def group_labels(ranked: Sequence[str], groups: Sequence[Sequence[str]]) -> dict[str, str]:
    """Letters per tracker (``a`` for the first group, ``b`` for the next, ...): trackers sharing a
    letter are not separable."""
    labels = {name: "" for name in ranked}
    for index, group in enumerate(groups):
        letter = _letter(index)
        for name in group:
            labels[name] += letter
    return labels


def _letter(index: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]
