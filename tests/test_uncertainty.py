"""Bootstrap intervals, paired tests, Holm and separable groups (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.metrics import uncertainty as unc


def test_exact_resampling_enumerates_the_multinomial():
    r = unc.exact_resampling(3)
    assert len(r) == 10                       # C(5, 3) distinct resamples of 3 sequences
    assert r.probabilities.sum() == pytest.approx(1.0)
    assert (r.counts.sum(axis=1) == 3).all()


def test_mean_interval_by_hand():
    # values 0, 0, 3: the resampled mean is the number k of draws of the 3, k ~ Bin(3, 1/3):
    # P = 8/27, 12/27, 6/27, 1/27 for k = 0..3
    r = unc.exact_resampling(3)
    assert [float(v) for v in unc.mean_interval([0, 0, 3], r, 0.9)] == [0.0, 2.0]
    assert [float(v) for v in unc.mean_interval([0, 0, 3], r)] == [0.0, 3.0]
    assert [float(v) for v in unc.mean_interval([0, 0, 3], r, 0.2)] == [1.0, 1.0]


def test_seeded_resampling_converges_to_the_exact_distribution():
    stats = unc.bootstrap_means([0, 0, 3], unc.resample(3, 100_000, seed=1))
    frequencies = [np.mean(stats == k) for k in range(4)]
    assert frequencies == pytest.approx([8 / 27, 12 / 27, 6 / 27, 1 / 27], abs=0.01)
    same = unc.bootstrap_means([0, 0, 3], unc.resample(3, 100_000, seed=1))
    assert np.array_equal(stats, same)        # seeded
    assert [float(v) for v in unc.mean_interval([0, 0, 3], unc.resample(3, 100_000, 1), 0.9)] \
        == [0.0, 2.0]


def test_ratio_interval_pools_frames():
    # sequence 1: 1 frame of IoU 1; sequence 2: 3 frames of IoU 0: resamples {1,1}: 1,
    # {1,2}: 1/4, {2,2}: 0 with P = 1/4, 1/2, 1/4
    r = unc.exact_resampling(2)
    stats = unc.bootstrap_ratios([1.0, 0.0], [1.0, 3.0], r)
    assert sorted(np.round(stats, 12)) == [0.0, 0.25, 1.0]
    assert [float(v) for v in unc.ratio_interval([1.0, 0.0], [1.0, 3.0], r, 0.4)] == [0.25, 0.25]


def test_curve_band_is_pointwise():
    curves = np.array([[1.0, 0.0], [0.0, 0.0]])
    low, high = unc.curve_band(curves, unc.exact_resampling(2))
    assert list(low) == [0.0, 0.0] and list(high) == [1.0, 0.0]


def test_paired_bootstrap_by_hand():
    # differences 1, 0, 0: the resampled mean difference is <= 0 only when the first sequence
    # is never drawn (8/27), so p = 2 * 8/27
    test = unc.paired_mean_difference([1, 2, 3], [0, 2, 3], unc.exact_resampling(3))
    assert test.difference == pytest.approx(1 / 3)
    assert test.p_bootstrap == pytest.approx(16 / 27)
    assert (test.ci_low, test.ci_high) == (0.0, 1.0)


def test_wilcoxon_all_zero_differences_is_one_and_matches_scipy_otherwise():
    from scipy.stats import wilcoxon

    assert unc.wilcoxon_p([0.5, 0.6], [0.5, 0.6]) == 1.0
    assert unc.wilcoxon_p([np.nan, 0.6], [0.1, 0.6]) == 1.0
    a, b = [0.1, 0.4, 0.35, 0.8, 0.9, 0.2], [0.2, 0.3, 0.3, 0.5, 0.6, 0.1]
    assert unc.wilcoxon_p(a, b) == pytest.approx(wilcoxon(np.subtract(a, b)).pvalue)


def test_holm_by_hand():
    # sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.04, 0.06) = 0.06
    assert unc.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert unc.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    out = unc.holm([np.nan, 0.01])
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.01)


def test_inseparable_groups_and_labels():
    separable = {frozenset("ac"): True, frozenset("ad"): True, frozenset("bd"): True}
    groups = unc.inseparable_groups(list("abcd"), separable)
    assert groups == [["a", "b"], ["b", "c"], ["c", "d"]]
    assert unc.group_labels(list("abcd"), groups) == {"a": "a", "b": "ab", "c": "bc", "d": "c"}
    every = {frozenset(p): True for p in ("ab", "ac", "bc")}
    assert unc.inseparable_groups(list("abc"), every) == [["a"], ["b"], ["c"]]
    assert unc.inseparable_groups(list("abc"), {}) == [["a", "b", "c"]]


_values = st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=30)


@settings(max_examples=40, deadline=None)
@given(_values, st.integers(0, 2**32 - 1))
def test_interval_contains_the_point_estimate(values, seed):
    low, high = unc.mean_interval(values, unc.resample(len(values), 2000, seed))
    mean = float(np.mean(values))
    assert low - 1e-12 <= mean <= high + 1e-12


@settings(max_examples=40, deadline=None)
@given(_values, st.integers(0, 2**32 - 1))
def test_identical_trackers_never_differ(values, seed):
    test = unc.paired_mean_difference(values, values, unc.resample(len(values), 2000, seed))
    assert test.difference == 0 and test.ci_low == 0 and test.ci_high == 0
    assert test.p_bootstrap == 1.0 and test.p_wilcoxon == 1.0
    assert unc.holm([test.p_wilcoxon, test.p_bootstrap]).min() == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_width_shrinks_as_sequences_grow(seed):
    rng = np.random.default_rng(seed)
    widths = []
    for count in (10, 160):
        values = rng.beta(2, 3, size=count)
        low, high = unc.mean_interval(values, unc.resample(count, 4000, seed))
        widths.append(high - low)
    # the width goes as 1 / sqrt(S): 16x the sequences, about a quarter of the width
    assert widths[1] < 0.6 * widths[0]


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        unc.exact_resampling(9)
    with pytest.raises(ValueError):
        unc.resample(0)
    with pytest.raises(ValueError):
        unc.mean_interval([1, 2], unc.exact_resampling(3))
    with pytest.raises(ValueError):
        unc.interval([1.0], level=1.0)
