"""Intervals, pairwise tests and groups in ``siambench report`` (issue 16)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import SiambenchError
from siambench.report.build import build_report
from siambench.report.tables import to_markdown, to_terminal
from siambench.report.uncertainty import PAIRWISE_COLUMNS, CiOptions, Sample, assess
from siambench.results import write_ope


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("otb"), fmt="otb", sequences=4, frames=30,
                           seed=11)


def _results(root: Path, out: Path) -> Path:
    for sequence in load_dataset("synthetic", root):
        gt = sequence.groundtruth
        write_ope(out / "oracle", sequence.name, gt)
        write_ope(out / "twin", sequence.name, gt)          # identical to oracle
        write_ope(out / "identity", sequence.name, np.repeat(gt[:1], len(gt), axis=0))
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_scores_are_unchanged_and_intervals_contain_them(layout, tmp_path):
    results = _results(layout, tmp_path / "res")
    plain = build_report("synthetic", root=layout, results_dir=results, out=tmp_path / "a",
                         ci=CiOptions("none"))
    boot = build_report("synthetic", root=layout, results_dir=results, out=tmp_path / "b",
                        ci=CiOptions("bootstrap", resamples=500, seed=3))
    columns = list(plain.summary.columns)
    pd.testing.assert_frame_equal(plain.summary, boot.summary[columns])
    assert list(pd.read_csv(tmp_path / "b" / "synthetic" / "summary.csv").columns)[:len(columns)] \
        == columns
    for score in ("success_auc", "precision", "norm_precision"):
        low, high = boot.summary[f"{score}_ci_low"], boot.summary[f"{score}_ci_high"]
        assert ((low <= boot.summary[score] + 1e-12) & (boot.summary[score] <= high + 1e-12)).all()
    assert not (tmp_path / "a" / "synthetic" / "pairwise.csv").exists()


def test_pairwise_csv_identical_trackers_are_not_separable(layout, tmp_path):
    results = _results(layout, tmp_path / "res")
    build_report("synthetic", root=layout, results_dir=results, out=tmp_path / "r",
                 ci=CiOptions(resamples=500))
    rows = _csv(tmp_path / "r" / "synthetic" / "pairwise.csv")
    assert list(rows[0]) == PAIRWISE_COLUMNS
    assert len(rows) == 3 * 3                      # 3 pairs x 3 scores
    twins = [r for r in rows if {r["tracker_a"], r["tracker_b"]} == {"oracle", "twin"}]
    for row in twins:
        assert float(row["difference"]) == 0.0 and float(row["p_holm"]) == 1.0
        assert row["separable"] == "False"
    summary = pd.read_csv(tmp_path / "r" / "synthetic" / "summary.csv")
    groups = dict(zip(summary["tracker"], summary["group"], strict=True))
    assert set(groups["oracle"]) & set(groups["twin"])   # share a letter
    html = (tmp_path / "r" / "synthetic" / "index.html").read_text()
    assert "bootstrap confidence interval" in html and "Holm" in html
    assert (tmp_path / "r" / "synthetic" / "pairwise_differences.png").is_file()


def test_groups_separate_clearly_different_trackers():
    rng = np.random.default_rng(0)
    names = [f"s{i}" for i in range(30)]
    good = rng.uniform(0.7, 0.9, 30)
    samples = {"auc": {"good": Sample(names, good), "bad": Sample(names, good - 0.3),
                       "bad2": Sample(names, good - 0.3)}}
    summary = pd.DataFrame({"tracker": ["good", "bad", "bad2"],
                            "auc": [good.mean(), good.mean() - 0.3, good.mean() - 0.3]})
    assessed = assess(summary, samples, "auc", CiOptions(resamples=1000))
    assert list(assessed.summary["group"]) == ["a", "b", "b"]
    row = assessed.pairwise.iloc[0]
    assert (row.tracker_a, row.tracker_b, bool(row.separable)) == ("good", "bad", True)
    assert row.ci_low == pytest.approx(0.3) and row.ci_high == pytest.approx(0.3)


def test_ratio_samples_and_missing_sequences():
    # pooled ratio: a tracker whose second sequence has no frames is resampled over one sequence
    samples = {"ao": {"a": Sample(["x", "y"], np.array([3.0, 0.0]), np.array([4.0, 0.0])),
                      "b": Sample(["x", "y"], np.array([1.0, 2.0]), np.array([4.0, 4.0]))}}
    summary = pd.DataFrame({"tracker": ["a", "b"], "ao": [0.75, 3 / 8]})
    assessed = assess(summary, samples, "ao", CiOptions(resamples=200))
    first = assessed.summary.iloc[0]
    assert first.ao_ci_low == pytest.approx(0.75) and first.ao_ci_high == pytest.approx(0.75)
    row = assessed.pairwise.iloc[0]
    assert row.difference == pytest.approx(0.75 - 3 / 8)
    assert row.ci_low == pytest.approx(0.5) and row.ci_high == pytest.approx(0.5)  # over x only


def test_table_formats():
    table = pd.DataFrame({"tracker": ["a"], "auc": [0.582], "auc_ci_low": [0.56],
                          "auc_ci_high": [0.60]})
    assert "0.582 ± 0.020" in to_markdown(table)
    assert "0.582 [0.560, 0.600]" in to_terminal(table, ci_format="interval")
    assert "auc_ci_low" not in to_terminal(table)


def test_cli_options(layout, tmp_path):
    results = _results(layout, tmp_path / "res")
    base = ["report", "--dataset", "synthetic", "--root", str(layout), "--results-dir",
            str(results), "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(cli, [*base, "--resamples", "300", "--seed", "5", "--ci-format",
                                      "interval"])
    assert result.exit_code == 0, result.output
    assert "[" in result.output.splitlines()[2] and "300 resamples, seed 5" in result.output
    result = CliRunner().invoke(cli, [*base, "--ci", "none"])
    assert result.exit_code == 0 and "±" not in result.output
    result = CliRunner().invoke(cli, [*base, "--resamples", "0"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    with pytest.raises(SiambenchError, match="--resamples"):
        CiOptions(resamples=0)
    with pytest.raises(SiambenchError, match="--ci"):
        CiOptions("jackknife")
