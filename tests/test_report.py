"""``siambench report`` end to end: generated benchmarks + written results, and real raw results."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.results import (
    FAILURE,
    INIT,
    REGION,
    SKIPPED,
    Run,
    write_got10k,
    write_ope,
    write_vot,
)

OPE_COLUMNS = ["tracker", "sequences", "success_auc", "precision", "norm_precision", "fps_mean",
               "fps_total"]
VOT_COLUMNS = ["tracker", "sequences", "accuracy", "robustness", "failures", "eao"]
GOT_COLUMNS = ["tracker", "sequences", "ao", "sr50", "sr75", "fps_mean", "fps_total"]


def _with_intervals(columns: list[str], scores: list[str]) -> list[str]:
    """The summary's columns with --ci bootstrap (the default): interval columns and the group
    column after the columns it had before (issue 16)."""
    return [*columns, *[f"{s}_ci_{end}" for s in scores for end in ("low", "high")], "group"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


def invoke(*args: str):
    result = CliRunner().invoke(cli, ["report", *args])
    return result


@pytest.fixture(scope="module")
def otb_layout(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("otb"), fmt="otb", sequences=4, frames=30,
                           seed=11)


def write_ope_trackers(dataset, results: Path) -> None:
    for sequence in dataset:
        gt = sequence.groundtruth
        write_ope(results / "oracle", sequence.name, gt, times=np.full(len(gt), 0.01))
        write_ope(results / "identity", sequence.name, np.repeat(gt[:1], len(gt), axis=0))
        shifted = gt.copy()
        shifted[:, 0] += 5.0
        write_ope(results / "shifted", sequence.name, shifted)


def test_ope_report_tables_plots_and_ranking(otb_layout, tmp_path):
    dataset = load_dataset("synthetic", otb_layout)
    results, out = tmp_path / "results", tmp_path / "reports"
    write_ope_trackers(dataset, results)
    result = invoke("--dataset", "synthetic", "--root", str(otb_layout), "--results-dir",
                    str(results), "--out", str(out), "--attributes")
    assert result.exit_code == 0, result.output
    target = out / "synthetic"
    summary = read_csv(target / "summary.csv")
    assert list(summary[0]) == _with_intervals(OPE_COLUMNS, ["success_auc", "precision",
                                                            "norm_precision"])
    assert [row["tracker"] for row in summary] == ["oracle", "shifted", "identity"]
    oracle = summary[0]
    # OTB convention: strict ">" at every threshold, so ground truth scores 20/21 (not rounded)
    assert float(oracle["success_auc"]) == pytest.approx(20 / 21, abs=1e-15)
    assert float(oracle["precision"]) == 1.0 and float(oracle["fps_mean"]) == pytest.approx(100.0)
    assert float(oracle["fps_total"]) == pytest.approx(100.0)
    # a 5 px horizontal shift: centre error 5 px (<= 20 px: precision 1)
    assert float(summary[1]["precision"]) == 1.0
    assert summary[2]["fps_mean"] == "" and summary[2]["fps_total"] == ""
    for name in ["per_sequence.csv", "summary.md", "summary.tex", "index.html",
                 "per_attribute.csv", "success_plot.png", "success_plot.pdf", "precision_plot.png",
                 "norm_precision_plot.pdf", "success_by_attribute.png"]:
        assert (target / name).is_file(), name
    assert len(read_csv(target / "per_sequence.csv")) == 3 * len(dataset)
    assert "| oracle | 4 | 0.952 ± 0.000 | 1.000 ± 0.000 |" in (target / "summary.md").read_text()
    html = (target / "index.html").read_text()
    assert html.count("data:image/png;base64,") >= 4 and "identity" in html
    assert "oracle" in result.output.splitlines()[2]  # ranked table, best first


def test_siambench_convention_scores_ground_truth_one(otb_layout, tmp_path):
    dataset = load_dataset("synthetic", otb_layout)
    write_ope_trackers(dataset, tmp_path / "results")
    result = invoke("--dataset", "synthetic", "--root", str(otb_layout), "--results-dir",
                    str(tmp_path / "results"), "--out", str(tmp_path / "r"), "--compare",
                    "oracle", "--convention", "siambench")
    assert result.exit_code == 0, result.output
    summary = read_csv(tmp_path / "r" / "synthetic" / "summary.csv")
    assert [row["tracker"] for row in summary] == ["oracle"]
    assert float(summary[0]["success_auc"]) == 1.0


def test_compare_selects_and_unknown_tracker_is_a_clean_error(otb_layout, tmp_path):
    dataset = load_dataset("synthetic", otb_layout)
    write_ope_trackers(dataset, tmp_path / "results")
    common = ["--dataset", "synthetic", "--root", str(otb_layout), "--results-dir",
              str(tmp_path / "results"), "--out", str(tmp_path / "r")]
    result = invoke("--compare", "IDENTITY", "oracle", *common)
    assert result.exit_code == 0, result.output
    names = {row["tracker"] for row in read_csv(tmp_path / "r" / "synthetic" / "summary.csv")}
    assert names == {"identity", "oracle"}
    result = invoke("--compare", "siamrpn", *common)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no results for 'siamrpn'" in result.output
    assert "trackers found: identity, oracle, shifted" in result.output


def test_short_results_warn_long_results_fail(otb_layout, tmp_path):
    dataset = load_dataset("synthetic", otb_layout)
    first = dataset[0]
    gt = first.groundtruth
    write_ope(tmp_path / "res" / "short", first.name, gt[:-3])
    common = ["--dataset", "synthetic", "--root", str(otb_layout), "--results-dir",
              str(tmp_path / "res"), "--out", str(tmp_path / "r")]
    result = invoke(*common)
    assert result.exit_code == 0, result.output
    assert f"shorter than the ground truth on 1 sequences ({first.name}: 27 of 30 frames)" in (
        result.output)
    assert "no results for 3 of 4 sequences" in result.output
    result = invoke("--strict", *common)
    assert result.exit_code == 1 and "shorter than the ground truth" in result.output
    write_ope(tmp_path / "res" / "short", first.name, np.vstack([gt, gt[:2]]))
    result = invoke("--compare", "short", *common)
    assert result.exit_code == 1
    assert f"{first.name}: 32 rows for 30 frames" in result.output


def test_missing_results_folder_is_a_clean_error(tmp_path):
    result = invoke("--dataset", "synthetic", "--results-dir", str(tmp_path / "none"))
    assert result.exit_code == 1 and "does not exist" in result.output


def _vot_run(gt: np.ndarray, failures: list[int]) -> Run:
    """A scripted supervised run: perfect regions, a failure at each given frame."""
    n = len(gt)
    codes = np.full(n, REGION, dtype=np.int8)
    regions = np.full((n, 8), np.nan)
    regions[:, : gt.shape[1]] = gt
    codes[0] = INIT
    for frame in failures:
        codes[frame] = FAILURE
        codes[frame + 1: frame + 5] = SKIPPED
        if frame + 5 < n:
            codes[frame + 5] = INIT
    regions[codes != REGION] = np.nan
    return Run(codes=codes, regions=regions)


def test_vot_report_on_the_synthetic_vot_layout(tmp_path):
    # 130 frames: longer than the start of VOT2019's EAO interval [46, 291]
    root = write_benchmark(tmp_path / "vot", fmt="vot", sequences=2, frames=130, seed=5)
    dataset = load_dataset("vot2019", root)
    for sequence in dataset:
        write_vot(tmp_path / "res" / "perfect", sequence.name, _vot_run(sequence.groundtruth, []))
        write_vot(tmp_path / "res" / "fails", sequence.name,
                  _vot_run(sequence.groundtruth, [12, 25]))
    result = invoke("--dataset", "vot2019", "--root", str(root), "--results-dir",
                    str(tmp_path / "res"), "--out", str(tmp_path / "r"), "--attributes")
    assert result.exit_code == 0, result.output
    target = tmp_path / "r" / "vot2019"
    summary = read_csv(target / "summary.csv")
    assert list(summary[0]) == [*VOT_COLUMNS, "accuracy_ci_low", "accuracy_ci_high",
                                "robustness_ci_low", "robustness_ci_high", "eao_ci_low",
                                "eao_ci_high", "group"]
    assert [row["tracker"] for row in summary] == ["perfect", "fails"]
    assert float(summary[1]["failures"]) == 4.0 and float(summary[0]["failures"]) == 0.0
    assert float(summary[1]["robustness"]) == pytest.approx(4 / 260)
    # a region overlaps itself fully; frames where both lie outside the image are not scored
    assert float(summary[0]["accuracy"]) == 1.0
    for name in ["eao.png", "eao.pdf", "accuracy_robustness.png", "eao_by_tag.png",
                 "per_attribute.csv", "index.html"]:
        assert (target / name).is_file(), name


def test_got10k_report_on_the_synthetic_got10k_layout(tmp_path):
    root = write_benchmark(tmp_path / "got", fmt="got10k", sequences=3, frames=20, seed=2)
    dataset = load_dataset("got10k-val", root)
    for sequence in dataset:
        gt = sequence.groundtruth
        runs = [Run(boxes=gt, times=np.full(len(gt), 0.02)) for _ in range(3)]
        write_got10k(tmp_path / "res" / "oracle", sequence.name, runs)
    result = invoke("--dataset", "got10k-val", "--root", str(root), "--results-dir",
                    str(tmp_path / "res"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    summary = read_csv(tmp_path / "r" / "got10k-val" / "summary.csv")
    assert list(summary[0]) == _with_intervals(GOT_COLUMNS, ["ao", "sr50", "sr75"])
    row = summary[0]
    assert float(row["ao"]) == pytest.approx(1.0) and float(row["sr75"]) == 1.0
    assert float(row["fps_mean"]) == pytest.approx(50.0)
    assert float(row["fps_total"]) == pytest.approx(50.0)


# -- real published results ------------------------------------------------------------------

def test_official_siamfc_release_scores_its_published_numbers(shared_data, tmp_path):
    anno = shared_data / "zhangzheng0131_Tracker_Benchmark_tb100" / "anno_TB100"
    released = (shared_data / "zhangzheng0131_Tracker_Benchmark_tb100" / "results"
                / "cfnet_cvpr17_otb100" / "cfnet_cvpr17_otb100")
    result = invoke("--dataset", "otb100", "--root", str(anno), "--results-dir", str(released),
                    "--out", str(tmp_path), "--compare", "results_SiamFC-3s_OTB-100")
    assert result.exit_code == 0, result.output
    row = read_csv(tmp_path / "otb100" / "summary.csv")[0]
    assert row["sequences"] == "100"
    assert round(float(row["success_auc"]), 3) == 0.582
    assert round(float(row["precision"]), 3) == 0.771


def test_every_otb100_result_set_scores(shared_data, tmp_path):
    anno = shared_data / "zhangzheng0131_Tracker_Benchmark_tb100" / "anno_TB100"
    result = invoke("--dataset", "otb100", "--root", str(anno), "--results-dir",
                    str(shared_data / "Soarkey_tracking_raw_results" / "OTB100"),
                    "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    summary = read_csv(tmp_path / "otb100" / "summary.csv")
    assert len(summary) == 10 and all(row["sequences"] == "100" for row in summary)
    scores = {row["tracker"]: float(row["success_auc"]) for row in summary}
    # integer-floored copy of the SiamFC release scores higher (SOURCES.md: 0.582 -> 0.587)
    assert round(scores["SiamFC"], 3) == 0.587
    assert scores["SiamRPN++"] > scores["DaSiamRPN"] > scores["SiamRPN"] > scores["SiamFC"]


def test_report_and_data_commands_do_not_import_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys; import siambench.cli, siambench.report.build, siambench.metrics, "
            "siambench.results, siambench.datasets; from siambench.datasets import load_dataset; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pack_writes_a_got10k_submission_zip(tmp_path):
    import zipfile

    root = write_benchmark(tmp_path / "got", fmt="got10k", sequences=2, frames=6, seed=4)
    dataset = load_dataset("got10k-val", root)
    tracker = tmp_path / "res" / "mytracker"
    for sequence in dataset:
        gt = sequence.groundtruth
        write_got10k(tracker, sequence.name, [Run(boxes=gt, times=np.full(len(gt), 0.01))])
    result = CliRunner().invoke(cli, ["pack", str(tracker), "--out", str(tmp_path / "sub.zip")])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "sub.zip") as archive:
        names = sorted(archive.namelist())
        first = dataset.names[0]
        assert f"{first}/{first}_001.txt" in names and f"{first}/{first}_time.txt" in names
        lines = archive.read(f"{first}/{first}_001.txt").decode().splitlines()
        assert len(lines) == 6 and lines[0].count(",") == 3 and " " not in lines[0]
    result = CliRunner().invoke(cli, ["pack", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_vot2018_published_results_reproduce_pysot_eao(shared_data, tmp_path):
    """HonglinChu's NanoTrack README prints these VOT2018 EAOs (pysot toolkit)."""
    result = invoke("--dataset", "vot2018", "--root", str(shared_data / "xl-sr_THOR" / "data"),
                    "--results-dir",
                    str(shared_data / "HonglinChu_SiamTrackers" / "NanoTrack" / "results"
                        / "VOT2018.zip"),
                    "--out", str(tmp_path), "--eao", "pysot", "--compare", "NanoTrack",
                    "LightTrack")
    assert result.exit_code == 0, result.output
    eao = {row["tracker"]: float(row["eao"])
           for row in read_csv(tmp_path / "vot2018" / "summary.csv")}
    assert round(eao["NanoTrack"], 3) == 0.311 and round(eao["LightTrack"], 3) == 0.418


@pytest.mark.slow
def test_run_results_load_in_got10k_report_with_the_same_scores(tmp_path, monkeypatch):
    """got10k's own ExperimentGOT10k reads `siambench run`'s GOT-10k results unchanged."""
    from got10k.experiments import ExperimentGOT10k

    monkeypatch.chdir(tmp_path)
    write_benchmark(tmp_path / "GOT" / "val", fmt="got10k", sequences=3, frames=12, seed=4)
    result = CliRunner().invoke(cli, ["run", "--tracker", "siamfc", "--dataset", "got10k-val",
                                      "--root", "GOT", "--results-dir", "res", "--quiet"])
    assert result.exit_code == 0, result.output
    report = invoke("--dataset", "got10k-val", "--root", "GOT", "--results-dir",
                    "res/got10k-val", "--out", "reports")
    assert report.exit_code == 0, report.output
    ours = read_csv(tmp_path / "reports" / "got10k-val" / "summary.csv")[0]
    (tmp_path / "gotres").mkdir()
    (tmp_path / "gotres" / "GOT-10k").symlink_to(tmp_path / "res" / "got10k-val")
    theirs = ExperimentGOT10k("GOT", subset="val", result_dir="gotres",
                              report_dir="gotrep").report(["siamfc"])["siamfc"]["overall"]
    assert float(ours["ao"]) == pytest.approx(theirs["ao"], abs=1e-9)
    assert float(ours["sr50"]) == pytest.approx(theirs["sr"], abs=1e-9)
    assert float(ours["fps_mean"]) == pytest.approx(theirs["speed_fps"], rel=1e-9)  # got10k's speed


class _GotOtbView:
    """The part of got10k's OTB dataset that ExperimentOTB.report uses, over a siambench one
    (got10k's own class insists on every OTB-100 sequence being on disk)."""

    def __init__(self, dataset):
        self.seq_names = dataset.names
        self._items = [(None, sequence.groundtruth) for sequence in dataset]

    def __len__(self):
        return len(self._items)

    def __getitem__(self, index):
        return self._items[index]


def test_run_results_on_real_otb_sequences_load_in_got10k_otb_report(shared_data, tmp_path,
                                                                      monkeypatch):
    """`siambench run` on the real OTB sequences writes files got10k's ExperimentOTB reads."""
    from got10k.experiments import ExperimentOTB

    monkeypatch.chdir(tmp_path)
    root = shared_data / "jwlim_tracker_benchmark" / "data"
    result = CliRunner().invoke(cli, ["run", "--tracker", "identity", "--dataset", "otb100",
                                      "--root", str(root), "--results-dir", "res", "--quiet"])
    assert result.exit_code == 0, result.output
    report = invoke("--dataset", "otb100", "--root", str(root), "--results-dir", "res/otb100",
                    "--out", "reports", "--convention", "got10k")
    assert report.exit_code == 0, report.output
    ours = read_csv(tmp_path / "reports" / "otb100" / "summary.csv")[0]
    experiment = ExperimentOTB.__new__(ExperimentOTB)
    experiment.dataset = _GotOtbView(load_dataset("otb100", root))
    experiment.result_dir, experiment.report_dir = "res/otb100", "gotrep"
    experiment.nbins_iou, experiment.nbins_ce = 21, 51
    monkeypatch.setattr(ExperimentOTB, "plot_curves", lambda self, names: None)
    theirs = experiment.report(["identity"])["identity"]["overall"]
    assert float(ours["success_auc"]) == pytest.approx(theirs["success_score"], abs=1e-9)
    assert float(ours["precision"]) == pytest.approx(theirs["precision_score"], abs=1e-9)
