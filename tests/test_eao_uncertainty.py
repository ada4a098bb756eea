"""EAO intervals (the curve recomputed per resample), per-attribute / per-tag intervals and the
bands of GOT-10k and per-attribute plots (issue 16)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.metrics import uncertainty as unc
from siambench.metrics.vot import (
    ALL_TAG,
    FAILURE,
    INIT,
    REGION,
    SKIPPED,
    VOTSequenceScore,
    eao_curve,
    eao_of_resamples,
    eao_parts,
    eao_score,
)
from siambench.report.build import build_report
from siambench.report.uncertainty import CiOptions, EaoSample, Sample, assess
from siambench.results import write_ope

FLAVOURS = ("vot", "pysot")


def _sequence(rng: np.random.Generator, length: int, failures: int, runs: int = 1,
              tag_fraction: float = 0.5) -> VOTSequenceScore:
    """A run with ``failures`` failures at random frames (re-init 5 frames later, as VOT does)."""
    overlaps = np.full((runs, length), np.nan)
    codes = np.full((runs, length), REGION)
    for r in range(runs):
        codes[r, 0] = INIT
        frame = 1
        for _ in range(failures):
            frame += int(rng.integers(1, max(2, length // (failures + 1))))
            if frame + 5 >= length:
                break
            codes[r, frame] = FAILURE
            codes[r, frame + 1: frame + 5] = SKIPPED
            codes[r, frame + 5] = INIT
            frame += 6
        region = codes[r] == REGION
        overlaps[r, region] = rng.uniform(0.2, 0.9, int(region.sum()))
    tags = {ALL_TAG: np.ones(length, dtype=bool), "occlusion": rng.random(length) < tag_fraction}
    return VOTSequenceScore(overlaps, codes, tags, burnin=0)


def _set(seed: int, count: int = 5) -> dict[str, VOTSequenceScore]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 140, count)
    return {f"s{i}": _sequence(rng, int(n), int(rng.integers(0, 4))) for i, n in enumerate(lengths)}


@pytest.mark.parametrize("eao", FLAVOURS)
@pytest.mark.parametrize("tag", [ALL_TAG, "occlusion"])
def test_every_sequence_once_gives_the_eao(eao, tag):
    scores = _set(1)
    interval = (30, 90)
    expected = eao_score(eao_curve(scores.values(), tag=tag, eao=eao), interval, eao)
    parts = eao_parts(scores, interval=interval, tag=tag, eao=eao)
    got = eao_of_resamples(parts, np.ones((1, len(scores))))
    assert got[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("eao", FLAVOURS)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), draw=st.lists(st.integers(0, 3), min_size=5, max_size=5))
def test_a_resample_is_the_eao_of_the_drawn_sequences(eao, seed, draw):
    """Drawing sequence i k_i times gives the EAO of the list holding it k_i times -- also when
    the longest fragment or sequence is not drawn (the curve is then shorter)."""
    if not any(draw):
        draw = [1, 0, 0, 0, 0]
    scores = _set(seed)
    names = list(scores)
    interval = (30, 90)
    drawn = [scores[name] for name, k in zip(names, draw) for _ in range(k)]
    expected = eao_score(eao_curve(drawn, eao=eao), interval, eao)
    got = eao_of_resamples(eao_parts(scores, interval=interval, eao=eao), np.array([draw]))[0]
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-12)


def test_short_sequences_leave_the_window_empty():
    """Failure-free sequences shorter than the window start make no curve value there: NaN, as
    eao_score gives for them (VOT toolkit definition)."""
    rng = np.random.default_rng(0)
    scores = {"a": _sequence(rng, 20, 0), "b": _sequence(rng, 25, 0)}
    parts = eao_parts(scores, interval=(30, 90), eao="vot")
    assert np.isnan(eao_of_resamples(parts, np.array([[2, 0], [1, 1]]))).all()
    assert np.isnan(eao_score(eao_curve(scores.values()), (30, 90)))


def test_exact_bootstrap_of_two_sequences():
    """Two sequences: the exact bootstrap has three resamples, (2, 0), (1, 1), (0, 2), with
    probabilities 1/4, 1/2, 1/4; their EAOs are those of s0 alone, both, s1 alone."""
    scores = _set(7, count=2)
    interval = (10, 60)
    sample = EaoSample(eao_parts(scores, interval=interval))
    exact = unc.exact_resampling(2)
    stats = sample.statistics(np.arange(2), exact)
    alone = [eao_score(eao_curve([s]), interval) for s in scores.values()]
    both = eao_score(eao_curve(scores.values()), interval)
    by_counts = {tuple(int(k) for k in row): value for row, value in zip(exact.counts, stats)}
    assert by_counts[(2, 0)] == pytest.approx(alone[0], abs=1e-12)
    assert by_counts[(0, 2)] == pytest.approx(alone[1], abs=1e-12)
    assert by_counts[(1, 1)] == pytest.approx(both, abs=1e-12)
    probabilities = dict(zip(map(tuple, exact.counts.astype(int).tolist()), exact.probabilities))
    assert probabilities[(1, 1)] == pytest.approx(0.5)
    # the 95 % interval of three values with these weights spans the two single-sequence EAOs
    low, high = unc.interval(stats, 0.95, exact.probabilities)
    assert (low, high) == pytest.approx((min(alone), max(alone)))


def test_identical_trackers_never_differ_in_eao():
    import pandas as pd

    parts = eao_parts(_set(3, count=8), interval=(30, 90))
    summary = pd.DataFrame({"tracker": ["a", "b"], "eao": [0.3, 0.3]})
    samples = {"eao": {"a": EaoSample(parts), "b": EaoSample(parts)}}
    summary["eao"] = [float(eao_of_resamples(parts, np.ones((1, 8)))[0])] * 2
    assessed = assess(summary, samples, "eao", CiOptions(resamples=300))
    row = assessed.pairwise.iloc[0]
    assert row["p_bootstrap"] == 1.0 and np.isnan(row["p_wilcoxon"]) and not row["separable"]
    assert row["p_holm"] == 1.0
    assert list(assessed.summary["group"]) == ["a", "a"]
    assert "paired bootstrap" in assessed.legend


def test_ratio_curve_band_matches_enumeration():
    num = np.array([[3.0, 1.0], [2.0, 2.0], [0.0, 0.0]])
    den = np.array([4.0, 2.0, 1.0])
    exact = unc.exact_resampling(3)
    low, high = unc.ratio_curve_band(num, den, exact, level=0.5)
    for p in range(2):
        ratios = (exact.counts @ num[:, p]) / (exact.counts @ den)
        expected = unc.interval(ratios, 0.5, exact.probabilities)
        assert (low[p], high[p]) == pytest.approx(expected)


# ------------------------------------------------------------------ reports


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def vot_layout(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("vot"), fmt="vot", sequences=4, frames=130,
                           seed=5, progress=False)


def test_vot_report_eao_and_tag_intervals(vot_layout, tmp_path):
    from click.testing import CliRunner

    from siambench.cli import cli

    results = tmp_path / "results"
    for tracker in ("oracle", "identity"):
        run = CliRunner().invoke(cli, ["run", "--tracker", tracker, "--dataset", "vot2018", "--root",
                                       str(vot_layout), "--results-dir", str(results), "--quiet"])
        assert run.exit_code == 0, run.output
    plain = build_report("vot2018", root=vot_layout, results_dir=results, out=tmp_path / "a",
                         attributes=True, ci=CiOptions("none"))
    boot = build_report("vot2018", root=vot_layout, results_dir=results, out=tmp_path / "b",
                        attributes=True, ci=CiOptions(resamples=400, seed=1))
    columns = list(plain.summary.columns)
    assert boot.summary[columns].equals(plain.summary)
    for score in ("accuracy", "robustness", "eao"):
        scored = boot.summary[np.isfinite(boot.summary[score])]     # identity's EAO: no fragment
        low, high = scored[f"{score}_ci_low"], scored[f"{score}_ci_high"]   # reaches 100 frames
        assert len(scored) and ((low <= scored[score] + 1e-12) & (scored[score] <= high + 1e-12)).all()
    assert "group" in boot.summary.columns
    per_tag = _csv(tmp_path / "b" / "vot2018" / "per_attribute.csv")
    plain_tag = _csv(tmp_path / "a" / "vot2018" / "per_attribute.csv")
    assert [{k: r[k] for k in plain_tag[0]} for r in per_tag] == plain_tag   # scores unchanged
    for row in per_tag:
        for score in ("accuracy", "robustness", "eao"):
            if row[score] not in ("", "nan") and row[f"{score}_ci_low"] not in ("", "nan"):
                assert float(row[f"{score}_ci_low"]) <= float(row[score]) + 1e-9
                assert float(row[score]) <= float(row[f"{score}_ci_high"]) + 1e-9
    pairs = _csv(tmp_path / "b" / "vot2018" / "pairwise.csv")
    eao_pairs = [row for row in pairs if row["score"] == "eao"]
    assert eao_pairs and all(row["p_wilcoxon"] == "" for row in eao_pairs)


@pytest.fixture(scope="module")
def otb_layout(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("otb"), fmt="otb", sequences=6, frames=30,
                           seed=2, progress=False)


def test_attribute_intervals_and_bands(otb_layout, tmp_path):
    results = tmp_path / "res"
    rng = np.random.default_rng(0)
    for sequence in load_dataset("synthetic", otb_layout):
        gt = sequence.groundtruth
        write_ope(results / "noisy", sequence.name, gt + rng.normal(0, 3, gt.shape))
        write_ope(results / "identity", sequence.name, np.repeat(gt[:1], len(gt), axis=0))
    report = build_report("synthetic", root=otb_layout, results_dir=results, out=tmp_path / "r",
                          attributes=True, ci=CiOptions(resamples=300, seed=2))
    breakdown = report.breakdown
    assert breakdown is not None and len(breakdown)
    dataset = load_dataset("synthetic", otb_layout)
    having = {}
    for sequence in dataset:
        for attribute in sequence.attributes:
            having.setdefault(attribute, []).append(sequence.name)
    per_sequence = report.per_sequence.set_index(["tracker", "sequence"])
    for row in breakdown.itertuples(index=False):
        # the interval is over the sequences having the attribute: a single one gives a point
        values = [per_sequence.loc[(row.tracker, name), "success_auc"] for name in having[row.attribute]]
        assert row.success_auc == pytest.approx(np.mean(values))
        assert row.success_auc_ci_low <= row.success_auc + 1e-12 <= row.success_auc_ci_high + 2e-12
        if len(values) == 1:
            assert row.success_auc_ci_low == pytest.approx(row.success_auc_ci_high)
    assert (tmp_path / "r" / "synthetic" / "success_by_attribute.png").is_file()


def test_got10k_success_band_is_around_the_pooled_curve(tmp_path):
    from siambench.report.families import FAMILIES

    root = write_benchmark(tmp_path / "val", fmt="got10k", sequences=4, frames=25, seed=4,
                           progress=False)
    from click.testing import CliRunner

    from siambench.cli import cli

    results = tmp_path / "results"
    run = CliRunner().invoke(cli, ["run", "--tracker", "identity", "--dataset", "got10k-val",
                                   "--root", str(root), "--results-dir", str(results), "--quiet"])
    assert run.exit_code == 0, run.output
    report = build_report("got10k-val", root=root, results_dir=results, out=tmp_path / "r",
                          ci=CiOptions(resamples=200))
    assert {"ao_ci_low", "sr50_ci_high"} <= set(report.summary.columns)
    family = FAMILIES["got10k"]
    dataset = load_dataset("got10k-val", root)
    from siambench.protocols import load_protocol
    from siambench.results import read_tracker
    from siambench.results.align import align

    aligned = {"identity": align(read_tracker(results / "identity", "identity"), dataset)[0]}
    scored = family.score(aligned, dataset, load_protocol("got10k"), False)
    sample = family.curve_samples(scored)["success"]["identity"]
    everyone_once = unc.Resampling(np.ones((1, len(sample.curves))))
    low, high = sample.band(everyone_once, 0.95)
    np.testing.assert_allclose(low, scored.detail.curves["identity"], atol=1e-12)
    ao = family.samples(scored)["ao"]["identity"]
    assert isinstance(ao, Sample)
