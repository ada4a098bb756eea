"""The metric families own their presentation (issue 13, move 5): columns, rank key, report
options, notes, scorer and plots live in ``report/families.py``; ``report/build.py`` looks the
family up once and never branches on its name. The reports are the same as before the move."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import SiambenchError, UnknownNameError
from siambench.protocols import METRIC_FAMILIES, load_protocol
from siambench.report import build
from siambench.report.build import build_report
from siambench.report.families import FAMILIES, family_of
from siambench.report.uncertainty import CiOptions
from siambench.results import FAILURE, INIT, REGION, SKIPPED, Run, write_got10k, write_ope, write_vot

FAMILY_NAMES = ("ope", "vot", "got10k")

#: The summary columns and rank keys ``report/build.py`` spelled out before the move.
BEFORE_COLUMNS = {
    "ope": ["tracker", "sequences", "success_auc", "precision", "norm_precision", "fps_mean",
            "fps_total"],
    "vot": ["tracker", "sequences", "accuracy", "robustness", "failures", "eao"],
    "got10k": ["tracker", "sequences", "ao", "sr50", "sr75", "fps_mean", "fps_total"],
}
BEFORE_RANK_BY = {"ope": "success_auc", "vot": "eao", "got10k": "ao"}


def test_every_metric_family_of_the_protocols_has_its_presentation():
    assert set(FAMILIES) == set(METRIC_FAMILIES)
    protocols = Path(build.__file__).resolve().parents[1] / "protocols"
    for path in sorted(protocols.glob("*.yaml")):
        protocol = load_protocol(path.stem)
        assert family_of(protocol).name == protocol.metric_family, path.name


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_family_columns_and_rank_key(name):
    family = FAMILIES[name]
    assert family.name == name
    assert list(family.columns) == BEFORE_COLUMNS[name]
    assert family.rank_by == BEFORE_RANK_BY[name]
    assert family.columns[:2] == ("tracker", "sequences") and family.rank_by in family.columns


def test_summary_selects_the_columns_and_ranks_best_first_stable_for_ties():
    overall = pd.DataFrame({"tracker": ["a", "b", "c", "d"], "sequences": [2] * 4,
                            "ao": [0.5, 0.7, 0.5, np.nan], "sr50": [0.1] * 4, "sr75": [0.0] * 4,
                            "fps_mean": [1.0] * 4, "fps_total": [1.0] * 4, "extra": [0] * 4})
    summary = FAMILIES["got10k"].summary(overall)
    assert list(summary.columns) == BEFORE_COLUMNS["got10k"]
    assert list(summary["tracker"]) == ["b", "a", "c", "d"]
    assert list(summary.index) == [0, 1, 2, 3]


@pytest.mark.parametrize(("family", "option", "message"), [
    ("vot", "convention", "--convention applies to one-pass datasets and VOT long-term datasets; "
                          "x is scored with the vot protocol"),
    ("got10k", "convention", "--convention applies to one-pass datasets and VOT long-term "
                             "datasets; x is scored with the got10k protocol"),
    ("ope", "eao", "--eao applies to VOT datasets; x is scored with the ope protocol"),
    ("got10k", "eao", "--eao applies to VOT datasets; x is scored with the got10k protocol"),
])
def test_an_option_of_another_family_is_a_clean_error(family, option, message):
    protocol = load_protocol("ope")
    with pytest.raises(SiambenchError) as error:
        FAMILIES[family].configure(protocol, "x", {option: "vot"})
    assert str(error.value) == message


def test_options_a_family_takes_become_protocol_parameters():
    protocol = load_protocol("ope")
    assert FAMILIES["ope"].configure(protocol, "x", {"convention": None, "eao": None}) is protocol
    configured = FAMILIES["ope"].configure(protocol, "x", {"convention": "pysot", "eao": None})
    assert configured.get("convention") == "pysot" and protocol.get("convention") != "pysot"
    with pytest.raises(UnknownNameError, match="unknown convention 'nope'; known: otb"):
        FAMILIES["ope"].configure(protocol, "x", {"convention": "nope"})
    vot = load_protocol("vot2018")
    assert FAMILIES["vot"].configure(vot, "x", {"convention": None, "eao": "pysot"})["eao"] == "pysot"


def _family_name_comparisons(source: str) -> list[str]:
    """Comparisons against, and dict keys equal to, a family name in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            operands = [key for key in node.keys if key is not None]
        else:
            continue
        found += [f"line {node.lineno}: {operand.value!r}" for operand in operands
                  if isinstance(operand, ast.Constant) and operand.value in FAMILY_NAMES]
    return found


def test_build_does_not_branch_on_the_family_name():
    assert _family_name_comparisons('if family == "vot":\n    d = {"ope": 1}\n') == [
        "line 1: 'vot'", "line 2: 'ope'"]
    source = Path(build.__file__).read_text(encoding="utf-8")
    assert _family_name_comparisons(source) == []


# -- the same reports as before the move -------------------------------------------------------

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


def _shifted(gt: np.ndarray, dx: float, grow: float = 1.0) -> np.ndarray:
    boxes = np.asarray(gt, dtype=float).copy()
    boxes[:, 0] += dx
    boxes[:, 2:] *= grow
    return boxes


def _ope_case(tmp_path: Path) -> tuple[str, Path, Path]:
    root = write_benchmark(tmp_path / "otb", fmt="otb", sequences=3, frames=30, seed=11,
                           progress=False)
    for sequence in load_dataset("synthetic", root):
        gt = sequence.groundtruth
        write_ope(tmp_path / "res" / "oracle", sequence.name, gt, times=np.full(len(gt), 0.01))
        write_ope(tmp_path / "res" / "shifted", sequence.name, _shifted(gt, 6.0, 1.2))
        write_ope(tmp_path / "res" / "identity", sequence.name, np.repeat(gt[:1], len(gt), axis=0))
    return "synthetic", root, tmp_path / "res"


def _vot_case(tmp_path: Path) -> tuple[str, Path, Path]:
    root = write_benchmark(tmp_path / "vot", fmt="vot", sequences=2, frames=130, seed=5,
                           progress=False)
    for sequence in load_dataset("vot2019", root):
        gt = sequence.groundtruth
        write_vot(tmp_path / "res" / "perfect", sequence.name, _vot_run(gt, []))
        write_vot(tmp_path / "res" / "fails", sequence.name, _vot_run(gt, [12, 25]))
        write_vot(tmp_path / "res" / "late", sequence.name, _vot_run(gt, [70]))
    return "vot2019", root, tmp_path / "res"


def _got10k_case(tmp_path: Path) -> tuple[str, Path, Path]:
    root = write_benchmark(tmp_path / "got", fmt="got10k", sequences=3, frames=20, seed=2,
                           progress=False)
    for sequence in load_dataset("got10k-val", root):
        gt = sequence.groundtruth
        times = np.full(len(gt), 0.02)
        write_got10k(tmp_path / "res" / "oracle", sequence.name,
                     [Run(boxes=gt, times=times) for _ in range(3)])
        write_got10k(tmp_path / "res" / "shifted", sequence.name,
                     [Run(boxes=_shifted(gt, 4.0 * k, 1.1), times=times) for k in range(1, 4)])
        write_got10k(tmp_path / "res" / "identity", sequence.name,
                     [Run(boxes=np.repeat(gt[:1], len(gt), axis=0), times=times)])
    return "got10k-val", root, tmp_path / "res"


#: The summary each case gave before the move (``report/build.py`` at f579c04), tracker by
#: tracker in rank order (NaN: no timing), and the files the report wrote.
_NAN = float("nan")
BEFORE_SUMMARY: dict[str, list[dict[str, object]]] = {
    "ope": [
        {"tracker": "oracle", "sequences": 3, "success_auc": 20 / 21, "precision": 1.0,
         "norm_precision": 1.0, "fps_mean": 100.0, "fps_total": 100.0},
        {"tracker": "shifted", "sequences": 3, "success_auc": 0.5962962962962963, "precision": 1.0,
         "norm_precision": 0.5664488017429193, "fps_mean": _NAN, "fps_total": _NAN},
        {"tracker": "identity", "sequences": 3, "success_auc": 0.4544973544973544,
         "precision": 0.5777777777777778, "norm_precision": 0.4130718954248367, "fps_mean": _NAN,
         "fps_total": _NAN},
    ],
    "vot": [
        {"tracker": "late", "sequences": 2, "accuracy": 1.0, "robustness": 1 / 130,
         "failures": 2.0, "eao": 0.9619341249355976},
        {"tracker": "perfect", "sequences": 2, "accuracy": 1.0, "robustness": 0.0,
         "failures": 0.0, "eao": 0.9131581016906832},
        {"tracker": "fails", "sequences": 2, "accuracy": 1.0, "robustness": 2 / 130,
         "failures": 4.0, "eao": 0.36337010129616715},
    ],
    "got10k": [
        {"tracker": "oracle", "sequences": 3, "ao": 1.0, "sr50": 1.0, "sr75": 1.0,
         "fps_mean": 50.0, "fps_total": 50.0},
        {"tracker": "shifted", "sequences": 3, "ao": 0.6223446999688753, "sr50": 167 / 171,
         "sr75": 0.0, "fps_mean": 50.0, "fps_total": 50.0},
        {"tracker": "identity", "sequences": 3, "ao": 0.5493289218265225, "sr50": 34 / 57,
         "sr75": 11 / 57, "fps_mean": 50.0, "fps_total": 50.0},
    ],
}
_TABLES = ["index.html", "per_sequence.csv", "summary.csv", "summary.md", "summary.tex"]


def _plots(*stems: str) -> list[str]:
    return [f"{stem}.{ext}" for stem in stems for ext in ("png", "pdf")]


BEFORE_FILES: dict[str, list[str]] = {
    "ope": sorted([*_TABLES, "per_attribute.csv", *_plots(
        "success_plot", "precision_plot", "norm_precision_plot", "success_by_attribute")]),
    "vot": sorted([*_TABLES, "per_attribute.csv", *_plots("eao", "accuracy_robustness", "eao_by_tag")]),
    "got10k": sorted([*_TABLES, *_plots("success_plot")]),
}
#: What --ci bootstrap (the default, issue 16) adds: files, and columns after the summary's.
CI_FILES = {family: ["pairwise.csv", *_plots("pairwise_differences")]
            for family in ("ope", "vot", "got10k")}
CI_SCORES = {"ope": ["success_auc", "precision", "norm_precision"],
             "vot": ["accuracy", "robustness", "eao"],
             "got10k": ["ao", "sr50", "sr75"]}


def _ci_columns(family: str) -> list[str]:
    scores = CI_SCORES[family]
    grouped = FAMILIES[family].rank_by in scores   # groups follow the ranking score
    return [*[f"{s}_ci_{end}" for s in scores for end in ("low", "high")], *(["group"] if grouped else [])]


@pytest.mark.parametrize(("family", "case"), [("ope", _ope_case), ("vot", _vot_case),
                                              ("got10k", _got10k_case)])
def test_report_per_family_gives_the_summary_it_gave_before(family, case, tmp_path):
    dataset_name, root, results = case(tmp_path)
    report = build_report(dataset_name, root=root, results_dir=results, out=tmp_path / "r",
                          attributes=True)
    assert report.family == family
    summary = report.summary
    assert list(summary.columns) == BEFORE_COLUMNS[family] + _ci_columns(family)
    expected = BEFORE_SUMMARY[family]
    assert list(summary["tracker"]) == [row["tracker"] for row in expected]
    for row, before in zip(summary.to_dict("records"), expected, strict=True):
        for column, value in before.items():
            if isinstance(value, float) and not np.isnan(value):
                assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-12), (row, column)
            elif isinstance(value, float):
                assert np.isnan(row[column]), (row, column)
            else:
                assert row[column] == value, (row, column)
    written = sorted(path.name for path in (tmp_path / "r" / dataset_name).iterdir())
    assert written == sorted(BEFORE_FILES[family] + CI_FILES[family])
    # --ci none gives what the report gave before the intervals, with equal scores
    plain = build_report(dataset_name, root=root, results_dir=results, out=tmp_path / "plain",
                         attributes=True, ci=CiOptions("none"))
    assert list(plain.summary.columns) == BEFORE_COLUMNS[family]
    pd.testing.assert_frame_equal(plain.summary, summary[BEFORE_COLUMNS[family]])
    written = sorted(path.name for path in (tmp_path / "plain" / dataset_name).iterdir())
    assert written == BEFORE_FILES[family]

