"""``siambench report``: score raw results against a dataset's ground truth, write tables and plots.

Needs only the ground truth (never the images) and never imports torch. The protocol of the
dataset (``siambench/protocols/*.yaml``) picks the metric family: one-pass (OPE: success,
precision, normalised precision), supervised (VOT: accuracy, robustness, EAO) or GOT-10k (AO,
SR). Trackers are the entries of the results folder (sub-folders, zips, the OTB toolkit's shared
``.mat`` folder), read in any layout :mod:`siambench.results` knows.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from siambench.datasets import Dataset, get_spec, load_dataset
from siambench.errors import SiambenchError, UnknownNameError
from siambench.fileio import atomic_write_text
from siambench.metrics.got10k import SUCCESS_THRESHOLDS as GOT10K_THRESHOLDS
from siambench.metrics.got10k import score_got10k
from siambench.metrics.ope import (
    CONVENTIONS,
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    score_ope,
)
from siambench.metrics.vot import score_vot
from siambench.names import canonical_key
from siambench.protocols import Protocol, load_protocol
from siambench.report import plots
from siambench.report.coverage import Coverage, common_sequences, restrict
from siambench.report.html import write_html
from siambench.report.output import check_report_folder, staged_report
from siambench.report.tables import to_terminal, write_tables
from siambench.results import TrackerResults, align, find_trackers, read_tracker

SUMMARY_COLUMNS = {
    "ope": ["tracker", "sequences", "success_auc", "precision", "norm_precision", "fps_mean",
            "fps_total"],
    "vot": ["tracker", "sequences", "accuracy", "robustness", "failures", "eao"],
    "got10k": ["tracker", "sequences", "ao", "sr50", "sr75", "fps_mean", "fps_total"],
}
_RANK_BY = {"ope": "success_auc", "vot": "eao", "got10k": "ao"}


@dataclass
class Report:
    """What ``build_report`` produced: the tables, the files written and the warnings."""

    family: str
    dataset: str
    summary: pd.DataFrame
    per_sequence: pd.DataFrame
    out: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    breakdown: pd.DataFrame | None = None
    captions: dict[Path, str] = field(default_factory=dict)
    coverage: Coverage | None = None

    def terminal_table(self) -> str:
        """The ranked summary, followed by which sequences were left out of the comparison."""
        note = self.coverage.note() if self.coverage is not None else None
        return to_terminal(self.summary) + (f"\n{note}" if note else "")


def select_trackers(found: dict[str, Path], compare: SequenceOf[str], results_dir: Path
                    ) -> dict[str, Path]:
    """The trackers named in ``compare`` (case/punctuation-insensitive), all when empty."""
    if not found:
        raise SiambenchError(f"no tracker results found in {results_dir}: expected one folder (or "
                             "zip) per tracker, e.g. <results-dir>/<tracker>/<seq>.txt; run "
                             "`siambench run` or pass --results-dir")
    if not compare:
        return found
    by_key = {canonical_key(name): name for name in found}
    chosen: dict[str, Path] = {}
    unknown = []
    for wanted in compare:
        name = by_key.get(canonical_key(wanted))
        if name is None:
            unknown.append(wanted)
        else:
            chosen[name] = found[name]
    if unknown:
        raise UnknownNameError(f"no results for {', '.join(map(repr, unknown))} in {results_dir}; "
                               f"trackers found: {', '.join(sorted(found))}")
    return chosen


def build_report(dataset_name: str, *, root: Path | None = None, results_dir: Path | None = None,
                 compare: SequenceOf[str] = (), out: Path = Path("reports"),
                 attributes: bool = False, strict: bool = False,
                 convention: str | None = None, eao: str | None = None,
                 own_sequences: bool = False) -> Report:
    """Score the trackers in ``results_dir`` (default ``results/<dataset>``) on a dataset and
    write ``summary.csv``, ``per_sequence.csv``, ``summary.md``, ``summary.tex``, the plots (PNG
    and PDF) and ``index.html`` under ``<out>/<dataset>/`` (staged, see
    :mod:`siambench.report.output`).

    Several trackers are scored on the sequences that all of them have results for (the report
    says which were left out); ``own_sequences=True`` scores each on all of its own.
    """
    spec = get_spec(dataset_name)
    check_report_folder(Path(out), Path(out) / spec.name)
    protocol = load_protocol(spec.protocol)
    family = protocol.metric_family
    if convention is not None:
        if family != "ope":
            raise SiambenchError(f"--convention applies to one-pass datasets; {spec.name} is "
                                 f"scored with the {family} protocol")
        if convention not in CONVENTIONS:
            raise UnknownNameError(f"unknown convention {convention!r}; known: "
                                   f"{', '.join(CONVENTIONS)}")
        protocol = replace(protocol, params=MappingProxyType({**protocol.params,
                                                              "convention": convention}))
    if eao is not None:
        if family != "vot":
            raise SiambenchError(f"--eao applies to VOT datasets; {spec.name} is scored with "
                                 f"the {family} protocol")
        protocol = replace(protocol, params=MappingProxyType({**protocol.params, "eao": eao}))
    results_dir = Path(results_dir) if results_dir is not None else Path("results") / spec.name
    if not results_dir.is_dir() and not results_dir.suffix == ".zip":
        raise SiambenchError(f"results folder {results_dir} does not exist; run `siambench run "
                             f"--dataset {spec.name}` first or pass --results-dir")
    dataset = load_dataset(spec.name, root)
    if family == "got10k" and any(len(s.groundtruth) == 1 and len(s) > 1 for s in dataset):
        raise SiambenchError(f"{spec.name}: the ground truth of this split is withheld (only the "
                             "first box is public), so it cannot be scored locally; submit with "
                             "`siambench pack` to the GOT-10k server")
    rejected: list[tuple[Path, str]] = []  # entries of the results folder that gave no tracker
    found_trackers = find_trackers(results_dir, rejected)
    warnings: list[str] = [f"{entry}: skipped: {reason}" for entry, reason in rejected]
    if not found_trackers and warnings:
        raise SiambenchError(f"no tracker results found in {results_dir} (expected one folder or "
                             "zip per tracker, e.g. <results-dir>/<tracker>/<seq>.txt):\n"
                             + "\n".join(warnings))
    trackers = select_trackers(found_trackers, compare, results_dir)
    aligned: dict[str, TrackerResults] = {}
    for name, path in trackers.items():
        try:
            results, found = align(read_tracker(path, name, strict=strict), dataset,
                                   strict=strict)
        except SiambenchError as error:
            # A tracker named with --compare (or any, with --strict) must be scored: stop. One
            # found by browsing the folder is left out and listed, so the others still report.
            if compare or strict:
                raise
            warnings.append(f"{name}: not scored: {error}")
            continue
        aligned[name] = results
        warnings += [f"{name}: {w}" for w in [*results.warnings, *found]]
    for name in [n for n, r in aligned.items() if not any(r.sequences.values())]:
        error = (f"{name}: no result matches a sequence of {spec.name} (results of another "
                 "dataset? pass the right --dataset)")
        if compare or strict:
            raise SiambenchError(error)
        warnings.append(f"{name}: not scored: {error}")
        del aligned[name]
    if not aligned:
        raise SiambenchError(f"none of the {len(trackers)} trackers in {results_dir} could be "
                             "scored:\n" + "\n".join(warnings))
    coverage = None
    if len(aligned) > 1 and not own_sequences:
        coverage = common_sequences(aligned, dataset.names)
        aligned = restrict(aligned, coverage.common)
    scorer = {"ope": _score_ope, "vot": _score_vot, "got10k": _score_got10k}[family]
    target = Path(out) / spec.name
    with staged_report(Path(out), spec.name) as staging:
        report = scorer(aligned, dataset, protocol, staging, attributes)
        report.family, report.dataset, report.warnings = family, spec.name, _unique(warnings)
        report.coverage = coverage
        report.summary = (report.summary[SUMMARY_COLUMNS[family]]
                          .sort_values(_RANK_BY[family], ascending=False, kind="stable")
                          .reset_index(drop=True))
        caption = f"{spec.name}: {len(report.summary)} trackers"
        report.files = [*write_tables(report.summary, report.per_sequence, staging,
                                      caption=caption), *report.files]
        if report.breakdown is not None:
            breakdown_path = staging / "per_attribute.csv"
            atomic_write_text(breakdown_path, report.breakdown.to_csv(index=False,
                                                                      float_format="%.17g"))
            report.files.append(breakdown_path)
        report.files.append(write_html(
            staging, title=f"siambench report — {spec.name}", summary=report.summary,
            per_sequence=report.per_sequence, plots=report.captions, warnings=report.warnings,
            notes=[_notes(family, protocol), coverage.note() if coverage else ""]))
    report.out = target
    report.files = [target / path.relative_to(staging) for path in report.files]
    report.captions = {target / path.relative_to(staging): text
                       for path, text in report.captions.items()}
    return report


def _plotted(captions: dict[Path, str], paths: list[Path], caption: str) -> list[Path]:
    """Record a plot's caption (its title) for the HTML report; returns ``paths``."""
    captions[paths[0]] = caption
    return paths


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _notes(family: str, protocol: Protocol) -> str:
    if family == "vot":
        low, high = protocol.eao_interval
        return (f"VOT supervised protocol {protocol.name}: accuracy pooled over frames (burn-in "
                f"{protocol['burnin']}), robustness = failures per frame, EAO ("
                f"{protocol.get('eao', 'vot')} definition) over [{low}, {high}], "
                f"{protocol['overlap']} overlap bounded by the image.")
    if family == "got10k":
        return ("GOT-10k: AO and SR over visible frames, frame 0 excluded, boxes clipped to the "
                "image, all frames of all repetitions pooled.")
    return (f"One-pass evaluation, convention '{protocol.get('convention', 'otb')}': success AUC "
            "= mean of 21 thresholds, precision at 20 px, normalised precision AUC.")


def _runs(results: TrackerResults) -> dict[str, list]:
    return {seq: runs for seq, runs in results.sequences.items() if runs}


def _score_ope(aligned: dict[str, TrackerResults], dataset: Dataset, protocol: Protocol,
               target: Path, attributes: bool) -> Report:
    results = {t: {s: [run.boxes for run in runs] for s, runs in _runs(r).items()}
               for t, r in aligned.items()}
    times = {t: {s: [run.times for run in runs] for s, runs in _runs(r).items()
                 if all(run.times is not None for run in runs)} for t, r in aligned.items()}
    used = {s for by_seq in results.values() for s in by_seq}
    groundtruth = {s.name: s.groundtruth for s in dataset if s.name in used}
    seq_attributes = {s.name: s.attributes for s in dataset if s.name in used}
    scored = score_ope(results, groundtruth, times=times, attributes=seq_attributes,
                       convention=protocol.get("convention", "otb"))
    files: list[Path] = []
    captions: dict[Path, str] = {}
    names = list(scored.curves)
    if names:
        overall = scored.overall.set_index("tracker")
        for key, x, score, title, xlabel, stem in [
            ("success", SUCCESS_THRESHOLDS, "success_auc", "Success plot", "overlap threshold",
             "success_plot"),
            ("precision", PRECISION_THRESHOLDS, "precision", "Precision plot",
             "location error threshold (px)", "precision_plot"),
            ("norm_precision", NORM_PRECISION_THRESHOLDS, "norm_precision",
             "Normalised precision plot", "normalised location error threshold",
             "norm_precision_plot")]:
            heading = f"{title} of OPE — {dataset.name}"
            files += _plotted(captions, plots.curve_plot(
                target / stem, x, {t: scored.curves[t][key] for t in names},
                {t: float(overall.loc[t, score]) for t in names},
                title=heading, xlabel=xlabel,
                ylabel="success rate" if key == "success" else "precision"), heading)
    breakdown = None
    if attributes and len(scored.by_attribute):
        breakdown = scored.by_attribute
        panels: dict[str, dict[str, np.ndarray]] = {}
        panel_scores: dict[str, dict[str, float]] = {}
        counts: dict[str, int] = {}
        for row in breakdown.itertuples(index=False):
            curve = scored.attribute_curves[(row.tracker, row.attribute)]["success"]
            panels.setdefault(row.attribute, {})[row.tracker] = curve
            panel_scores.setdefault(row.attribute, {})[row.tracker] = float(row.success_auc)
            counts[row.attribute] = int(row.sequences)
        heading = f"Success by attribute — {dataset.name}"
        files += _plotted(captions, plots.curve_grid(
            target / "success_by_attribute", SUCCESS_THRESHOLDS, panels, panel_scores,
            title=heading, xlabel="overlap threshold", ylabel="success rate", counts=counts),
            heading)
    return Report("ope", dataset.name, scored.overall, scored.sequences, target, files,
                  breakdown=breakdown, captions=captions)


def _score_vot(aligned: dict[str, TrackerResults], dataset: Dataset, protocol: Protocol,
               target: Path, attributes: bool) -> Report:
    results = {t: {s: list(runs) for s, runs in _runs(r).items()} for t, r in aligned.items()}
    used = {s for by_seq in results.values() for s in by_seq}
    sequences = [s for s in dataset if s.name in used]
    scored = score_vot(
        results, {s.name: s.groundtruth for s in sequences},
        interval=protocol.eao_interval,
        image_sizes={s.name: s.image_size for s in sequences if _known_size(s)},
        tags={s.name: s.tags for s in sequences}, burnin=int(protocol["burnin"]),
        overlap=protocol.get("overlap", "raster"), eao=protocol.get("eao", "vot"))
    files: list[Path] = []
    captions: dict[Path, str] = {}
    overall = scored.overall.set_index("tracker")
    if len(overall):
        low, high = protocol.eao_interval
        files += _plotted(captions, plots.eao_plots(
            target / "eao", scored.eao_curves,
            {t: float(overall.loc[t, "eao"]) for t in overall.index}, protocol.eao_interval,
            dataset=dataset.name),
            f"Expected overlap curve and EAO ranking — {dataset.name} (interval {low}-{high})")
        files += _plotted(captions, plots.ar_plot(
            target / "accuracy_robustness",
            {t: float(overall.loc[t, "accuracy"]) for t in overall.index},
            {t: float(overall.loc[t, "robustness"]) for t in overall.index},
            dataset=dataset.name, sensitivity=float(protocol.get("ar_sensitivity", 30))),
            f"Accuracy-robustness — {dataset.name}")
    breakdown = scored.by_tag if attributes and len(scored.by_tag) else None
    if breakdown is not None:
        panels: dict[str, dict[str, np.ndarray]] = {}
        panel_scores: dict[str, dict[str, float]] = {}
        length = max(len(c) for c in scored.tag_eao_curves.values())
        for row in breakdown.itertuples(index=False):
            curve = np.full(length, np.nan)
            source = scored.tag_eao_curves[(row.tracker, row.tag)]
            curve[: len(source)] = source
            panels.setdefault(row.tag, {})[row.tracker] = curve
            panel_scores.setdefault(row.tag, {})[row.tracker] = float(row.eao)
        heading = f"Expected overlap by tag — {dataset.name}"
        files += _plotted(captions, plots.curve_grid(
            target / "eao_by_tag", np.arange(length), panels, panel_scores, title=heading,
            xlabel="sequence length", ylabel="expected average overlap"), heading)
    return Report("vot", dataset.name, scored.overall, scored.sequences, target, files,
                  breakdown=breakdown, captions=captions)


def _known_size(sequence: Any) -> bool:
    try:
        return sequence.image_size is not None
    except SiambenchError:  # no images to measure: overlaps are then unbounded
        return False


def _score_got10k(aligned: dict[str, TrackerResults], dataset: Dataset, protocol: Protocol,
                  target: Path, attributes: bool) -> Report:
    results = {t: {s: [run.boxes for run in runs] for s, runs in _runs(r).items()}
               for t, r in aligned.items()}
    times = {t: {s: [run.times for run in runs if run.times is not None]
                 for s, runs in _runs(r).items()} for t, r in aligned.items()}
    used = {s for by_seq in results.values() for s in by_seq}
    sequences = [s for s in dataset if s.name in used]
    visible = {s.name: _visible(s) for s in sequences}
    scored = score_got10k(results, {s.name: s.groundtruth for s in sequences},
                          visible={k: v for k, v in visible.items() if v is not None},
                          image_sizes={s.name: s.image_size for s in sequences if _known_size(s)},
                          times=times)
    files: list[Path] = []
    captions: dict[Path, str] = {}
    overall = scored.overall.set_index("tracker")
    if len(overall):
        heading = f"Success plot — {dataset.name}"
        files += _plotted(captions, plots.curve_plot(
            target / "success_plot", GOT10K_THRESHOLDS, scored.curves,
            {t: float(overall.loc[t, "ao"]) for t in overall.index}, title=heading,
            xlabel="overlap threshold", ylabel="success rate"), heading)
    return Report("got10k", dataset.name, scored.overall, scored.sequences, target, files,
                  captions=captions)


def _visible(sequence: Any) -> np.ndarray | None:
    if sequence.cover is not None:
        return np.asarray(sequence.cover) > 0
    if sequence.absent is not None:
        return ~np.asarray(sequence.absent, dtype=bool)
    return None
