"""``siambench report``: score raw results against a dataset's ground truth, write tables and plots.

Needs only the ground truth (never the images) and never imports torch. The protocol of the
dataset (``siambench/protocols/*.yaml``) picks the metric family: one-pass (OPE: success,
precision, normalised precision), supervised (VOT: accuracy, robustness, EAO) or GOT-10k (AO,
SR), each presented by its object in :mod:`siambench.report.families` (columns, rank, notes,
scorer, plots). Trackers are the entries of the results folder (sub-folders, zips, the OTB
toolkit's shared ``.mat`` folder), read in any format :mod:`siambench.results` knows.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from siambench.datasets import get_spec, load_dataset
from siambench.errors import SiambenchError, UnknownNameError
from siambench.fileio import atomic_write_text
from siambench.names import canonical_key
from siambench.protocols import load_protocol
from siambench.report import plots
from siambench.report.coverage import Coverage, common_sequences, restrict
from siambench.report.families import family_of
from siambench.report.html import write_html
from siambench.report.output import check_report_folder, staged_report
from siambench.report.tables import to_terminal, write_tables
from siambench.report.uncertainty import (
    CiOptions,
    assess,
    breakdown_intervals,
    curve_bands,
    pairwise_matrix,
)
from siambench.results import TrackerResults, align, find_trackers, read_tracker


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
    #: Every pair of trackers per score with its paired test (``pairwise.csv``); ``None`` with
    #: ``--ci none``.
    pairwise: pd.DataFrame | None = None
    ci: CiOptions = field(default_factory=CiOptions)
    #: What the intervals and groups mean (empty without intervals).
    ci_note: str = ""
    #: Its one-line form for the terminal.
    ci_legend: str = ""

    def terminal_table(self) -> str:
        """The ranked summary, followed by which sequences were left out of the comparison."""
        notes = [self.coverage.note() if self.coverage is not None else None, self.ci_legend]
        return to_terminal(self.summary, ci_format=self.ci.format) + "".join(
            f"\n{note}" for note in notes if note)


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
                 own_sequences: bool = False, ci: CiOptions | None = None) -> Report:
    """Score the trackers in ``results_dir`` (default ``results/<dataset>``) on a dataset and
    write ``summary.csv``, ``per_sequence.csv``, ``summary.md``, ``summary.tex``, the plots (PNG
    and PDF) and ``index.html`` under ``<out>/<dataset>/`` (staged, see
    :mod:`siambench.report.output`).

    Several trackers are scored on the sequences that all of them have results for (the report
    says which were left out); ``own_sequences=True`` scores each on all of its own.

    ``ci`` (default: 95 % bootstrap intervals, :data:`~siambench.report.uncertainty.REPORT_RESAMPLES`
    resamples, seed 0) adds ``<score>_ci_low``/``_ci_high`` and ``group`` columns after the
    summary's, writes ``pairwise.csv`` and the pairwise-difference plot and shades the curves'
    bands; the scores themselves never change.
    """
    ci = ci if ci is not None else CiOptions()
    spec = get_spec(dataset_name)
    check_report_folder(Path(out), Path(out) / spec.name)
    protocol = load_protocol(spec.protocol)
    family = family_of(protocol)
    protocol = family.configure(protocol, spec.name, {"convention": convention, "eao": eao})
    results_dir = Path(results_dir) if results_dir is not None else Path("results") / spec.name
    if not results_dir.is_dir() and not results_dir.suffix == ".zip":
        raise SiambenchError(f"results folder {results_dir} does not exist; run `siambench run "
                             f"--dataset {spec.name}` first or pass --results-dir")
    dataset = load_dataset(spec.name, root)
    family.check_dataset(dataset, spec.name)
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
    target = Path(out) / spec.name
    with staged_report(Path(out), spec.name) as staging:
        scored = family.score(aligned, dataset, protocol, attributes)
        summary, pairwise, ci_note, ci_legend = family.summary(scored.overall), None, "", ""
        samples = family.samples(scored) if ci.enabled else {}
        if samples:
            assessed = assess(summary, samples, family.rank_by, ci)
            summary, pairwise = assessed.summary, assessed.pairwise
            ci_note, ci_legend = assessed.note, assessed.legend
            scored.bands = curve_bands(family.curve_samples(scored), assessed, ci)
            if scored.breakdown is not None:
                scored.breakdown = breakdown_intervals(
                    scored.breakdown, family.breakdown_key, family.breakdown_samples(scored),
                    assessed, ci)
        plotted = family.plot(scored, dataset, protocol, staging)
        if pairwise is not None and len(summary) > 1 and family.rank_by in set(pairwise["score"]):
            ranked = list(summary["tracker"])
            difference, separable = pairwise_matrix(pairwise, ranked, family.rank_by)
            heading = f"Pairwise {family.rank_by} differences — {spec.name}"
            plotted.add(plots.pairwise_plot(staging / "pairwise_differences", ranked, difference,
                                            separable, score=family.rank_by, dataset=spec.name),
                        heading)
        report = Report(family.name, spec.name, summary, scored.per_sequence,
                        staging, plotted.files, _unique(warnings), breakdown=scored.breakdown,
                        captions=plotted.captions, coverage=coverage, pairwise=pairwise, ci=ci,
                        ci_note=ci_note, ci_legend=ci_legend)
        caption = f"{spec.name}: {len(report.summary)} trackers"
        report.files = [*write_tables(report.summary, report.per_sequence, staging,
                                      caption=caption, ci_format=ci.format), *report.files]
        if pairwise is not None:
            pairwise_path = staging / "pairwise.csv"
            atomic_write_text(pairwise_path, pairwise.to_csv(index=False, float_format="%.17g"))
            report.files.append(pairwise_path)
        if report.breakdown is not None:
            breakdown_path = staging / "per_attribute.csv"
            atomic_write_text(breakdown_path, report.breakdown.to_csv(index=False,
                                                                      float_format="%.17g"))
            report.files.append(breakdown_path)
        report.files.append(write_html(
            staging, title=f"siambench report — {spec.name}", summary=report.summary,
            per_sequence=report.per_sequence, plots=report.captions, warnings=report.warnings,
            notes=[family.notes(protocol), coverage.note() if coverage else ""],
            ci_format=ci.format, explanation=ci_note))
    report.out = target
    report.files = [target / path.relative_to(staging) for path in report.files]
    report.captions = {target / path.relative_to(staging): text
                       for path, text in report.captions.items()}
    return report


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
