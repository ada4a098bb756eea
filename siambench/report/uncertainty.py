"""The report's intervals and paired tests (``siambench report --ci bootstrap``).

A metric family gives, per score that gets an interval, each tracker's per-sequence sample
(:class:`Sample`: a mean of per-sequence scores, or a pooled ratio of per-sequence sums); this
module resamples the sequences (:mod:`siambench.metrics.uncertainty`), adds
``<score>_ci_low``/``<score>_ci_high`` after the summary's columns and a ``group`` column (trackers
sharing a letter are not separable in the ranking score), and builds ``pairwise.csv``: per score,
every pair of trackers (better ranked first) with the difference, its paired-bootstrap interval,
the bootstrap and Wilcoxon p-values, the Holm-adjusted p-value of the score's test (over that
score's pairs) and whether the pair is separable. The test is Wilcoxon's signed-rank test on the
per-sequence scores, except for a score that is not a function of per-sequence scores (VOT's EAO,
whose curve pools fragments of all sequences): :class:`EaoSample` recomputes the EAO curve of each
resample, and its pairs are tested with the paired bootstrap alone (``p_wilcoxon`` empty).
Per-attribute (per-tag) rows get intervals too (:func:`breakdown_intervals`), over the sequences
that have the attribute (tag). Nothing here changes a score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import ClassVar

import numpy as np
import pandas as pd

from siambench.errors import SiambenchError
from siambench.metrics import uncertainty as unc
from siambench.metrics.vot import EaoParts, eao_of_resamples
from siambench.metrics.votlt import f_score_of_resamples

#: ``--ci`` values.
CI_METHODS = ("none", "bootstrap")
#: ``--ci-format`` values: ``0.582 ± 0.020`` (half the interval's width) or ``0.582 [0.562, 0.601]``.
CI_FORMATS = ("pm", "interval")
#: Resamples of ``siambench report`` by default (see ``benchmarks/report_uncertainty.py``).
REPORT_RESAMPLES = unc.DEFAULT_RESAMPLES
#: Columns of ``pairwise.csv``.
PAIRWISE_COLUMNS = ["tracker_a", "tracker_b", "score", "difference", "ci_low", "ci_high",
                    "p_bootstrap", "p_wilcoxon", "p_holm", "separable"]

EXPLANATION = ("Each interval is a {level:.0%} bootstrap confidence interval: the sequences were "
               "resampled with replacement {resamples:,} times (seed {seed}) and the score recomputed, "
               "so it shows how much the score depends on which sequences the benchmark happens to "
               "contain (frames within a sequence are not independent, so sequences are the unit).")
GROUP_EXPLANATION = (" Trackers sharing a letter in the 'group' column are not separable in {score}: the "
                     "{test}, Holm-corrected over all {pairs} pairs, gives p >= {alpha:g} "
                     "(pairwise.csv lists every pair).")
#: How each kind of test is named in the note and the legend.
TEST_NAMES = {"wilcoxon": ("Wilcoxon signed-rank test on their per-sequence scores",
                           "Wilcoxon signed-rank"),
              "bootstrap": ("paired bootstrap of the difference (the score pools all sequences, so "
                            "it has no per-sequence values to rank)", "paired bootstrap")}


@dataclass(frozen=True)
class CiOptions:
    """How the report computes intervals: ``method`` (``none`` or ``bootstrap``), ``resamples``,
    ``seed``, ``level`` and the table ``format`` (``pm`` or ``interval``)."""

    method: str = "bootstrap"
    resamples: int = REPORT_RESAMPLES
    seed: int = 0
    level: float = unc.DEFAULT_LEVEL
    format: str = "pm"

    def __post_init__(self) -> None:
        if self.method not in CI_METHODS:
            raise SiambenchError(f"unknown --ci {self.method!r}; known: {', '.join(CI_METHODS)}")
        if self.format not in CI_FORMATS:
            raise SiambenchError(f"unknown --ci-format {self.format!r}; known: {', '.join(CI_FORMATS)}")
        if isinstance(self.resamples, bool) or not isinstance(self.resamples, int) or self.resamples < 1:
            raise SiambenchError(f"--resamples must be a positive whole number, got {self.resamples!r}")
        if not 0 < self.level < 1:
            raise SiambenchError(f"the confidence level must lie between 0 and 1, got {self.level}")

    @property
    def enabled(self) -> bool:
        """True when intervals are computed."""
        return self.method != "none"


@dataclass
class Sample:
    """One tracker's per-sequence data for one score: ``values`` (a mean of per-sequence scores)
    or, when ``denominators`` is given, per-sequence sums whose pooled ratio is the score. Entries
    that are not finite (or have a zero denominator) are left out."""

    sequences: list[str]
    values: np.ndarray
    denominators: np.ndarray | None = None
    #: The paired test whose Holm-adjusted p-value decides separability.
    test: ClassVar[str] = "wilcoxon"

    def valid(self) -> np.ndarray:
        """Mask of the sequences that count."""
        ok = np.isfinite(self.values)
        if self.denominators is not None:
            ok &= np.isfinite(self.denominators) & (self.denominators > 0)
        return ok

    def per_sequence(self) -> np.ndarray:
        """Per-sequence scores (``values / denominators`` for a ratio)."""
        if self.denominators is None:
            return self.values
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.values / self.denominators

    def statistics(self, mask: np.ndarray, resampling: unc.Resampling) -> np.ndarray:
        """Resampled scores over the sequences in ``mask``."""
        if self.denominators is None:
            return unc.bootstrap_means(self.values[mask], resampling)
        return unc.bootstrap_ratios(self.values[mask], self.denominators[mask], resampling)

    def sorted_valid(self) -> tuple[str, ...]:
        """The sequences that count, by name (the order every resampling row is applied in)."""
        return tuple(sorted(np.asarray(self.sequences, dtype=object)[self.valid()]))


@dataclass
class EaoSample:
    """One tracker's EAO as per-sequence parts (:class:`~siambench.metrics.vot.EaoParts`): a
    resample's EAO is the EAO of the curve recomputed from the drawn sequences. The EAO has no
    per-sequence score, so its pairs are tested with the paired bootstrap."""

    parts: EaoParts
    test: ClassVar[str] = "bootstrap"

    @property
    def sequences(self) -> list[str]:
        return list(self.parts.sequences)

    def valid(self) -> np.ndarray:
        """Every sequence counts (one without fragments adds nothing to the curve)."""
        return np.ones(len(self.parts.sequences), dtype=bool)

    def per_sequence(self) -> np.ndarray:
        """No per-sequence EAO exists: NaN (the Wilcoxon test is not run)."""
        return np.full(len(self.parts.sequences), np.nan)

    def statistics(self, mask: np.ndarray, resampling: unc.Resampling) -> np.ndarray:
        """Resampled EAOs over the sequences in ``mask``."""
        return eao_of_resamples(self.parts.subset(mask), resampling.counts)

    def sorted_valid(self) -> tuple[str, ...]:
        return tuple(sorted(self.parts.sequences))


@dataclass
class LongTermSample:
    """One tracker's VOT long-term curves per sequence (``precision``/``recall`` ``(S, T)`` on its
    threshold grid) for one of its scores (``f_score``, ``precision`` or ``recall``): a
    resample averages the drawn sequences' curves and takes the F-score's maximum again. The
    overall F-score is not a mean of per-sequence F-scores, so pairs are tested with the paired
    bootstrap."""

    names: list[str]
    precision: np.ndarray
    recall: np.ndarray
    score: str = "f_score"
    test: ClassVar[str] = "bootstrap"

    @property
    def sequences(self) -> list[str]:
        return self.names

    def valid(self) -> np.ndarray:
        return np.ones(len(self.names), dtype=bool)

    def per_sequence(self) -> np.ndarray:
        return np.full(len(self.names), np.nan)

    def statistics(self, mask: np.ndarray, resampling: unc.Resampling) -> np.ndarray:
        f, pr, re = f_score_of_resamples(self.precision[mask], self.recall[mask], resampling.counts)
        return {"f_score": f, "precision": pr, "recall": re}[self.score]

    def sorted_valid(self) -> tuple[str, ...]:
        return tuple(sorted(self.names))


def _statistics(samples: list[Sample | EaoSample], names: tuple[str, ...],
                resampling: unc.Resampling) -> np.ndarray:
    """Resampled scores ``(T, K)`` of several samples over the same ``names`` (one product when
    they are all means or pooled ratios)."""
    if not all(isinstance(sample, Sample) for sample in samples):
        return np.array([sample.statistics(_mask(sample, list(names)), resampling)
                         for sample in samples])
    masks = [_mask(sample, list(names)) for sample in samples]
    values = np.array([sample.values[m] for sample, m in zip(samples, masks, strict=True)])
    if all(sample.denominators is None for sample in samples):
        return unc.bootstrap_means(values, resampling)
    denominators = np.array([sample.denominators[m] if sample.denominators is not None
                             else np.ones(len(m)) for sample, m in zip(samples, masks, strict=True)])
    return unc.bootstrap_ratios(values, denominators, resampling)


@dataclass
class Assessed:
    """The summary with interval and group columns, ``pairwise.csv``'s table and the note."""

    summary: pd.DataFrame
    pairwise: pd.DataFrame
    note: str = ""
    #: One line for the terminal under the table.
    legend: str = ""
    resamplings: dict[int, unc.Resampling] = field(default_factory=dict, repr=False)


class _Resamplings:
    """One seeded resampling per number of sequences (every tracker and score share it)."""

    def __init__(self, options: CiOptions) -> None:
        self.options = options
        self.cache: dict[int, unc.Resampling] = {}

    def __call__(self, sequences: int) -> unc.Resampling:
        if sequences not in self.cache:
            self.cache[sequences] = unc.resample(sequences, self.options.resamples, self.options.seed)
        return self.cache[sequences]


def assess(summary: pd.DataFrame, samples: Mapping[str, Mapping[str, Sample | EaoSample]],
           rank_by: str, options: CiOptions) -> Assessed:
    """Add ``<score>_ci_low``/``_ci_high`` per score of ``samples`` (in its order) and ``group``
    to ``summary`` (ranked, best first), and build the pairwise table."""
    resamplings = _Resamplings(options)
    summary = summary.copy()
    trackers = list(summary["tracker"])
    # resampled scores per (score, tracker) with the sequences they are over; trackers over the
    # same sequences (the usual case: the report aligns them) are resampled in one product
    stats: dict[tuple[str, str], tuple[tuple[str, ...], np.ndarray]] = {}
    for score, by_tracker in samples.items():
        by_names: dict[tuple[str, ...], list[str]] = {}
        for tracker in trackers:
            if tracker in by_tracker:
                by_names.setdefault(by_tracker[tracker].sorted_valid(), []).append(tracker)
        for names, group in by_names.items():
            if not names:
                continue
            resampled = _statistics([by_tracker[t] for t in group], names, resamplings(len(names)))
            for tracker, row in zip(group, resampled, strict=True):
                stats[score, tracker] = (names, row)
        lows, highs = [], []
        for tracker in trackers:
            if (score, tracker) not in stats:
                lows.append(np.nan)
                highs.append(np.nan)
                continue
            low, high = unc.interval(stats[score, tracker][1], options.level)
            lows.append(float(low))
            highs.append(float(high))
        summary[f"{score}_ci_low"] = lows
        summary[f"{score}_ci_high"] = highs
    pairwise = _pairwise(summary, samples, trackers, resamplings, options, stats)
    alpha = 1 - options.level
    separable = {frozenset((row.tracker_a, row.tracker_b)): bool(row.separable)
                 for row in pairwise.itertuples(index=False) if row.score == rank_by}
    if rank_by in samples:
        labels = unc.group_labels(trackers, unc.inseparable_groups(trackers, separable))
        summary["group"] = [labels[t] for t in trackers]
    pairs = len(trackers) * (len(trackers) - 1) // 2
    test = TEST_NAMES[_test_of(samples.get(rank_by, {}))]
    text = EXPLANATION + (GROUP_EXPLANATION if rank_by in samples else
                          " pairwise.csv compares every pair of trackers.")
    note = (text.format(level=options.level, resamples=options.resamples, seed=options.seed,
                        score=rank_by, pairs=pairs, alpha=round(alpha, 10), test=test[0])
            if samples else "")
    legend = (f"intervals: {options.level:.0%} bootstrap over sequences ({options.resamples:,} "
              f"resamples, seed {options.seed}); group: trackers sharing a letter are not separable "
              f"in {rank_by} ({test[1]}, Holm-corrected, p >= {round(alpha, 10):g}); "
              "every pair in pairwise.csv" if samples else "")
    if samples and rank_by not in samples:
        legend = legend.split("; group")[0]
    return Assessed(summary, pairwise, note, legend, resamplings.cache)


@dataclass
class CurveSample:
    """One tracker's per-sequence data behind a plotted curve: ``curves`` ``(S, P)`` whose mean is
    the plotted curve, or, with ``denominators`` ``(S,)``, per-sequence sums whose pooled ratio
    ``sum(curves) / sum(denominators)`` is (GOT-10k's success curve pools frames)."""

    curves: np.ndarray
    denominators: np.ndarray | None = None

    def band(self, resampling: unc.Resampling, level: float) -> tuple[np.ndarray, np.ndarray]:
        """The pointwise interval ``(low (P,), high (P,))`` of the curve."""
        if self.denominators is None:
            return unc.curve_band(self.curves, resampling, level)
        return unc.ratio_curve_band(self.curves, self.denominators, resampling, level)


def curve_bands(curves: Mapping[str, Mapping[str, CurveSample]], assessed: Assessed,
                options: CiOptions) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Pointwise bands of plotted curves, ``curves[curve][tracker]`` their per-sequence data,
    resampled with the report's resampling of ``S`` sequences."""
    cache = assessed.resamplings
    bands: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for key, by_tracker in curves.items():
        for tracker, sample in by_tracker.items():
            count = len(sample.curves)
            if count == 0:
                continue
            if count not in cache:
                cache[count] = unc.resample(count, options.resamples, options.seed)
            bands.setdefault(key, {})[tracker] = sample.band(cache[count], options.level)
    return bands


def breakdown_intervals(breakdown: pd.DataFrame, key: str,
                        samples: Mapping[str, Mapping[str, Mapping[str, Sample | EaoSample]]],
                        assessed: Assessed, options: CiOptions) -> pd.DataFrame:
    """``breakdown`` (one row per tracker and ``key`` value: attribute or tag) with
    ``<score>_ci_low``/``_ci_high`` columns appended, ``samples[value][score][tracker]`` resampled
    over the sequences having the attribute or tag (the report's resampling per count)."""
    out = breakdown.copy()
    cache = assessed.resamplings
    scores = list(dict.fromkeys(score for by_score in samples.values() for score in by_score))
    bounds = {score: ([np.nan] * len(out), [np.nan] * len(out)) for score in scores}
    for row, (tracker, value) in enumerate(zip(out["tracker"], out[key], strict=True)):
        for score, by_tracker in samples.get(value, {}).items():
            sample = by_tracker.get(tracker)
            names = sample.sorted_valid() if sample is not None else ()
            if not names:
                continue
            if len(names) not in cache:
                cache[len(names)] = unc.resample(len(names), options.resamples, options.seed)
            stats = sample.statistics(_mask(sample, list(names)), cache[len(names)])
            low, high = unc.interval(stats, options.level)
            bounds[score][0][row], bounds[score][1][row] = float(low), float(high)
    for score in scores:
        out[f"{score}_ci_low"], out[f"{score}_ci_high"] = bounds[score]
    return out


def pairwise_matrix(pairwise: pd.DataFrame, ranked: list[str], score: str
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(difference, separable)`` matrices over ``ranked`` for one score: ``difference[i, j] =
    score(ranked[i]) - score(ranked[j])`` (NaN on the diagonal and for missing pairs)."""
    index = {name: i for i, name in enumerate(ranked)}
    difference = np.full((len(ranked), len(ranked)), np.nan)
    separable = np.zeros((len(ranked), len(ranked)), dtype=bool)
    for row in pairwise[pairwise["score"] == score].itertuples(index=False):
        i, j = index[row.tracker_a], index[row.tracker_b]
        difference[i, j], difference[j, i] = row.difference, -row.difference
        separable[i, j] = separable[j, i] = bool(row.separable)
    return difference, separable


def _pairwise(summary: pd.DataFrame, samples: Mapping[str, Mapping[str, Sample | EaoSample]],
              trackers: list[str], resamplings: _Resamplings, options: CiOptions,
              stats: Mapping[tuple[str, str], tuple[tuple[str, ...], np.ndarray]]) -> pd.DataFrame:
    rows = []
    for score, by_tracker in samples.items():
        first = len(rows)
        estimates = dict(zip(summary["tracker"], summary[score].astype(float), strict=True))
        for a, b in combinations(trackers, 2):
            if a not in by_tracker or b not in by_tracker:
                continue
            sa, sb = by_tracker[a], by_tracker[b]
            common = tuple(sorted(set(sa.sorted_valid()) & set(sb.sorted_valid())))
            ma, mb = _mask(sa, list(common)), _mask(sb, list(common))
            if not common:
                test = unc.PairedTest(estimates[a] - estimates[b], np.nan, np.nan, np.nan, np.nan)
            else:
                resampling = resamplings(len(common))
                if stats[score, a][0] == common and stats[score, b][0] == common:
                    stats_a, stats_b = stats[score, a][1], stats[score, b][1]
                else:
                    stats_a, stats_b = _statistics([sa, sb], common, resampling)
                test = unc.paired_test(stats_a, stats_b, estimates[a], estimates[b],
                                       sa.per_sequence()[ma], sb.per_sequence()[mb], options.level)
            if sa.test != "wilcoxon" or sb.test != "wilcoxon":
                test = replace(test, p_wilcoxon=np.nan)
            rows.append([a, b, score, test.difference, test.ci_low, test.ci_high, test.p_bootstrap,
                         test.p_wilcoxon, np.nan, False])
        column = 7 if _test_of(by_tracker) == "wilcoxon" else 6
        adjusted = unc.holm([row[column] for row in rows[first:]])
        for row, p in zip(rows[first:], adjusted, strict=True):
            row[8] = float(p)
            row[9] = bool(p < 1 - options.level)
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS).astype({"separable": bool})


def _test_of(by_tracker: Mapping[str, Sample | EaoSample]) -> str:
    """The test deciding separability for one score's samples: Wilcoxon unless a sample has no
    per-sequence values (then the paired bootstrap)."""
    return "wilcoxon" if all(s.test == "wilcoxon" for s in by_tracker.values()) else "bootstrap"


def _mask(sample: Sample | EaoSample, common: list[str]) -> np.ndarray:
    """Indices of ``common`` sequences in ``sample``, in ``common``'s order (the pairing)."""
    index = {name: i for i, name in enumerate(sample.sequences)}
    return np.array([index[name] for name in common], dtype=np.int64)
