"""``siambench report`` faults: comparison on common sequences, plots that say what they show,
a report that is never half replaced, and clear errors for an empty report or a bad ``--out``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.report import build, plots
from siambench.report.coverage import common_sequences
from siambench.results import TrackerResults, write_ope


def invoke(*args: str):
    return CliRunner().invoke(cli, ["report", *args])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def otb_root(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("otb"), fmt="otb", sequences=5, frames=20,
                           seed=3)


@pytest.fixture()
def partial_results(otb_root, tmp_path) -> tuple[Path, list[str]]:
    """``good``: ground truth on 2 of 5 sequences; ``full``: a 6 px shift on all 5, except that
    on the 2 sequences ``good`` has it is far off. Ranked on own sets, ``good`` wins (1.0 on 2);
    on the 2 common sequences ``good`` still wins; on 5, ``full`` has a different score."""
    dataset = load_dataset("synthetic", otb_root)
    names = dataset.names
    for index, sequence in enumerate(dataset):
        gt = sequence.groundtruth
        shifted = gt.copy()
        shifted[:, 0] += 6.0
        write_ope(tmp_path / "res" / "full", sequence.name, shifted)
        if index < 2:
            write_ope(tmp_path / "res" / "good", sequence.name, gt)
    return tmp_path / "res", names


def common(otb_root: Path, results: Path, out: Path) -> list[str]:
    return ["--dataset", "synthetic", "--root", str(otb_root), "--results-dir", str(results),
            "--out", str(out)]


def test_trackers_are_compared_on_the_sequences_all_of_them_have(otb_root, partial_results,
                                                                  tmp_path):
    results, names = partial_results
    result = invoke(*common(otb_root, results, tmp_path / "r"))
    assert result.exit_code == 0, result.output
    summary = read_csv(tmp_path / "r" / "synthetic" / "summary.csv")
    assert {row["tracker"]: row["sequences"] for row in summary} == {"good": "2", "full": "2"}
    assert "compared on the 2 sequences that every tracker has (of 5 with results)" in (
        result.output)
    assert f"left out: full: 3 ({', '.join(names[2:])})" in result.output
    html = (tmp_path / "r" / "synthetic" / "index.html").read_text()
    assert "compared on the 2 sequences" in html
    per_sequence = read_csv(tmp_path / "r" / "synthetic" / "per_sequence.csv")
    assert {row["sequence"] for row in per_sequence} == set(names[:2])

    own = invoke(*common(otb_root, results, tmp_path / "own"), "--own-sequences")
    assert own.exit_code == 0, own.output
    summary = read_csv(tmp_path / "own" / "synthetic" / "summary.csv")
    assert {row["tracker"]: row["sequences"] for row in summary} == {"good": "2", "full": "5"}
    assert "compared on the" not in own.output
    assert "no results for 3 of 5 sequences" in own.output  # still warned


def test_no_common_sequence_is_an_error_that_names_the_way_out(otb_root, tmp_path):
    dataset = load_dataset("synthetic", otb_root)
    write_ope(tmp_path / "res" / "a", dataset[0].name, dataset[0].groundtruth)
    write_ope(tmp_path / "res" / "b", dataset[1].name, dataset[1].groundtruth)
    result = invoke(*common(otb_root, tmp_path / "res", tmp_path / "r"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no sequence has results from every tracker" in result.output
    assert "--own-sequences" in result.output
    assert invoke(*common(otb_root, tmp_path / "res", tmp_path / "r"),
                  "--own-sequences").exit_code == 0


def test_common_sequences_keeps_dataset_order_and_lists_what_is_left_out():
    def results(name: str, sequences: list[str]) -> TrackerResults:
        found = TrackerResults(name, "ope-txt", name)
        found.sequences = {seq: [object()] for seq in sequences}  # type: ignore[list-item]
        return found
    coverage = common_sequences({"a": results("a", ["s3", "s1", "s2"]),
                                 "b": results("b", ["s2", "s1"])}, ["s1", "s2", "s3", "s4"])
    assert coverage.common == ["s1", "s2"] and coverage.total == 3
    assert coverage.left_out == {"a": ["s3"], "b": []}
    assert coverage.note().startswith("compared on the 2 sequences that every tracker has")
    same = common_sequences({"a": results("a", ["s1"]), "b": results("b", ["s1"])}, ["s1"])
    assert same.note() is None


def test_results_of_another_dataset_are_an_error_not_an_empty_table(otb_root, tmp_path):
    write_ope(tmp_path / "res" / "other", "NotASequence", np.ones((20, 4)))
    result = invoke(*common(otb_root, tmp_path / "res", tmp_path / "r"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no result matches a sequence of synthetic" in result.output
    assert not (tmp_path / "r" / "synthetic" / "summary.csv").exists()


def test_out_naming_a_file_is_a_clear_error(otb_root, partial_results, tmp_path):
    results, _ = partial_results
    out = tmp_path / "report.txt"
    out.write_text("mine")
    result = invoke(*common(otb_root, results, out))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"--out {out} is a file, expected a folder" in result.output
    assert out.read_text() == "mine"
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "synthetic").write_text("mine")
    result = invoke(*common(otb_root, results, tmp_path / "r"))
    assert result.exit_code == 1 and "is a file, expected a folder" in result.output


def test_an_interrupted_report_leaves_the_previous_one_whole(otb_root, partial_results, tmp_path,
                                                             monkeypatch):
    results, _ = partial_results
    target = tmp_path / "r" / "synthetic"
    assert invoke(*common(otb_root, results, tmp_path / "r"), "--compare", "good").exit_code == 0
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    original = plots.curve_plot
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # after the success plot was written, before the precision plot
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(plots, "curve_plot", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build.build_report("synthetic", root=otb_root, results_dir=results,
                           out=tmp_path / "r")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["synthetic"]  # no staging left


def test_a_failed_figure_save_leaves_no_partial_file(tmp_path, monkeypatch):
    figure = plots.plt.figure()
    figure.gca().plot([0, 1], [0, 1])
    (tmp_path / "plot.png").write_bytes(b"old")

    def broken(self, target, **kwargs):  # writes half a file, as a full disk would
        if isinstance(target, (str, Path)):
            Path(target).write_bytes(b"half a png")
        else:
            target.write(b"half a png")
        raise OSError("disk full")

    monkeypatch.setattr(type(figure), "savefig", broken)
    with pytest.raises(OSError):
        plots.save_figure(figure, tmp_path / "plot")
    assert (tmp_path / "plot.png").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


def _capture_figures(monkeypatch) -> list:
    figures = []

    def capture(figure, out_base):
        figures.append(figure)
        return [out_base.with_suffix(".png"), out_base.with_suffix(".pdf")]

    monkeypatch.setattr(plots, "save_figure", capture)
    return figures


def test_ar_plot_legend_gives_the_plotted_coordinates(monkeypatch, tmp_path):
    figures = _capture_figures(monkeypatch)
    plots.ar_plot(tmp_path / "ar", {"A": 0.6, "B": 0.5}, {"A": 0.01, "B": 0.0},
                  dataset="vot2018")
    axes = figures[0].axes[0]
    assert "vot2018" in axes.get_title()
    assert "exp(-30 × failures per frame)" in axes.get_xlabel()
    for collection, text in zip(axes.collections, axes.get_legend().get_texts(), strict=True):
        x, y = collection.get_offsets()[0]
        label = text.get_text()
        assert f"A {y:.3f}" in label and f"reliability {x:.3f}" in label
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    # A: 0.01 failures/frame -> exp(-0.3) = 0.741 on the axis, and the legend says which is which
    assert labels[0] == "A [A 0.600, reliability 0.741 = 0.0100 failures/frame]"


def test_eao_plot_names_the_dataset_and_shows_the_whole_interval(monkeypatch, tmp_path):
    figures = _capture_figures(monkeypatch)
    curves = {"A": np.linspace(1, 0.5, 130), "B": np.linspace(0.9, 0.3, 120)}
    plots.eao_plots(tmp_path / "eao", curves, {"A": 0.6, "B": 0.5}, (100, 356),
                    dataset="vot2018")
    left, right = figures[0].axes
    assert "vot2018" in left.get_title() and "vot2018" in right.get_title()
    assert left.get_xlim()[1] >= 356  # the curves stop at 130 frames; the interval does not


def test_html_captions_are_the_plot_titles(otb_root, partial_results, tmp_path):
    results, _ = partial_results
    assert invoke(*common(otb_root, results, tmp_path / "r")).exit_code == 0
    html = (tmp_path / "r" / "synthetic" / "index.html").read_text()
    assert "<figcaption>Success plot of OPE — synthetic</figcaption>" in html
    assert "<figcaption>success_plot</figcaption>" not in html
