"""The metric families of ``siambench report``, each with its own presentation.

A protocol names its metric family (``Protocol.metric_family``: ``ope``, ``vot`` or ``got10k``);
:data:`FAMILIES` maps that name to the one object that knows everything the report needs about
the family: the summary columns and the score that ranks trackers (best first), the report
options it takes (``--convention`` for one-pass, ``--eao`` for VOT), what a dataset must hold
to be scored, the note printed under the HTML tables, the scorer and the plots. Adding a metric
family is one subclass of :class:`MetricFamily` and one entry in :data:`FAMILIES`;
:mod:`siambench.report.build` never branches on the family's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from siambench.datasets import Dataset
from siambench.errors import SiambenchError, UnknownNameError
from siambench.metrics.got10k import SR50_THRESHOLD as GOT10K_SR50
from siambench.metrics.got10k import SR75_THRESHOLD as GOT10K_SR75
from siambench.metrics.got10k import SUCCESS_THRESHOLDS as GOT10K_THRESHOLDS
from siambench.metrics.got10k import score_got10k
from siambench.metrics.ope import (
    CONVENTIONS,
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    score_ope,
)
from siambench.metrics.vot import ALL_TAG, accuracy_parts, eao_parts, score_vot
from siambench.metrics.votlt import CONVENTIONS as LONGTERM_CONVENTIONS
from siambench.metrics.votlt import score_votlt
from siambench.protocols import Protocol
from siambench.report import plots, plots_longterm
from siambench.report.uncertainty import CurveSample, EaoSample, LongTermSample, Sample
from siambench.results import TrackerResults


@dataclass
class Scored:
    """What a family's scorer gives the report: the overall table (one row per tracker, the
    family's columns among others), the per-sequence table, the optional per-attribute (or
    per-tag) breakdown, and the family's own result object (``detail``) its plots are drawn
    from."""

    overall: pd.DataFrame
    per_sequence: pd.DataFrame
    detail: Any
    breakdown: pd.DataFrame | None = None
    #: Pointwise interval bands of the plotted curves, ``bands[curve][tracker] = (low, high)``,
    #: set by the report when it computes intervals (``--ci bootstrap``); empty otherwise. The
    #: curves of one attribute's panel are keyed :func:`attribute_curve`.
    bands: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    #: The sequences having each attribute of the breakdown (its rows' sequences).
    groups: dict[str, list[str]] = field(default_factory=dict)


def attribute_curve(curve: str, attribute: str) -> str:
    """The key of one attribute's (tag's) ``curve`` in :attr:`Scored.bands`."""
    return f"{curve}@{attribute}"


@dataclass
class Plotted:
    """The plots a family wrote, in order, and each plot's caption keyed by its first file."""

    files: list[Path] = field(default_factory=list)
    captions: dict[Path, str] = field(default_factory=dict)

    def add(self, paths: list[Path], caption: str) -> None:
        """Record the files of one plot (PNG then PDF) under its caption (its title)."""
        self.captions[paths[0]] = caption
        self.files += paths


@dataclass(frozen=True)
class MetricFamily:
    """One metric family's presentation: ``columns`` of the summary table (in order),
    ``rank_by`` (the column ranking trackers, higher is better), ``options`` (the ``report``
    options it takes, by name without dashes) and ``datasets`` (how the error for an option it
    does not take names the datasets that do)."""

    name: str
    columns: tuple[str, ...]
    rank_by: str
    datasets: str
    options: tuple[str, ...] = ()
    #: The breakdown table's column naming the attribute (or tag) of a row.
    breakdown_key: ClassVar[str] = "attribute"

    def configure(self, protocol: Protocol, dataset_name: str,
                  options: Mapping[str, str | None]) -> Protocol:
        """``protocol`` with the report options given (not ``None``) set as its parameters, in
        order. An option this family does not take, or a value it does not know, is an error
        naming the option and the datasets it applies to."""
        for option, value in options.items():
            if value is None:
                continue
            if option not in self.options:
                takers = [family.datasets for family in FAMILIES.values() if option in family.options]
                raise SiambenchError(f"--{option} applies to {' and '.join(takers)}; {dataset_name} "
                                     f"is scored with the {self.name} protocol")
            self.check_option(option, value)
            protocol = replace(protocol, params=MappingProxyType({**protocol.params, option: value}))
        return protocol

    def check_option(self, option: str, value: str) -> None:
        """Raise when ``value`` is not a known value of ``option`` (default: any is fine)."""

    def check_dataset(self, dataset: Dataset, dataset_name: str) -> None:
        """Raise when ``dataset`` cannot be scored by this family (default: every one can)."""

    def summary(self, overall: pd.DataFrame) -> pd.DataFrame:
        """The family's columns of ``overall``, ranked best first (stable for ties)."""
        return (overall[list(self.columns)].sort_values(self.rank_by, ascending=False, kind="stable")
                .reset_index(drop=True))

    def notes(self, protocol: Protocol) -> str:
        """The conventions the scores follow, printed under the report's tables."""
        raise NotImplementedError

    def samples(self, scored: Scored) -> dict[str, dict[str, Sample]]:
        """Per score that gets a bootstrap interval (in column order), each tracker's
        per-sequence :class:`~siambench.report.uncertainty.Sample` (default: no score does)."""
        return {}

    def curve_samples(self, scored: Scored) -> dict[str, dict[str, CurveSample]]:
        """Per plotted curve, each tracker's per-sequence data behind it (for the shaded bands;
        default: none)."""
        return {}

    def breakdown_samples(self, scored: Scored) -> dict[str, dict[str, dict[str, Sample | EaoSample]]]:
        """Per attribute (or tag) of the breakdown, per score, each tracker's sample over the
        sequences having it (default: none)."""
        return {}

    def score(self, aligned: dict[str, TrackerResults], dataset: Dataset, protocol: Protocol,
              attributes: bool) -> Scored:
        """Score the aligned results of every tracker on ``dataset``."""
        raise NotImplementedError

    def plot(self, scored: Scored, dataset: Dataset, protocol: Protocol, target: Path) -> Plotted:
        """Write the family's plots (PNG and PDF) into ``target``."""
        raise NotImplementedError


def _runs(results: TrackerResults) -> dict[str, list]:
    return {seq: runs for seq, runs in results.sequences.items() if runs}


def _known_size(sequence: Any) -> bool:
    try:
        return sequence.image_size is not None
    except SiambenchError:  # no images to measure: overlaps are then unbounded
        return False


def _visible(sequence: Any) -> np.ndarray | None:
    if sequence.cover is not None:
        return np.asarray(sequence.cover) > 0
    if sequence.absent is not None:
        return ~np.asarray(sequence.absent, dtype=bool)
    return None


class OnePass(MetricFamily):
    """One-pass evaluation (OTB, UAV123, LaSOT, ...): success AUC, precision at 20 px,
    normalised precision, under the convention given with ``--convention``."""

    def check_option(self, option: str, value: str) -> None:
        if value not in CONVENTIONS:
            raise UnknownNameError(f"unknown convention {value!r}; known: {', '.join(CONVENTIONS)}")

    def check_dataset(self, dataset: Dataset, dataset_name: str) -> None:
        if dataset.meta.get("withheld"):  # a test split with only the first box (TrackingNet)
            raise SiambenchError(f"{dataset_name}: the ground truth of this split is withheld (only "
                                 "the first box is public), so it cannot be scored locally; submit "
                                 "with `siambench pack` to the benchmark's evaluation server")

    def notes(self, protocol: Protocol) -> str:
        return (f"One-pass evaluation, convention '{protocol.get('convention', 'otb')}': success AUC "
                "= mean of 21 thresholds, precision at 20 px, normalised precision AUC.")

    def score(self, aligned: dict[str, TrackerResults], dataset: Dataset, protocol: Protocol,
              attributes: bool) -> Scored:
        results = {t: {s: [run.boxes for run in runs] for s, runs in _runs(r).items()}
                   for t, r in aligned.items()}
        times = {t: {s: [run.times for run in runs] for s, runs in _runs(r).items()
                     if all(run.times is not None for run in runs)} for t, r in aligned.items()}
        used = {s for by_seq in results.values() for s in by_seq}
        groundtruth = {s.name: s.groundtruth for s in dataset if s.name in used}
        seq_attributes = {s.name: s.attributes for s in dataset if s.name in used}
        scored = score_ope(results, groundtruth, times=times, attributes=seq_attributes,
                           convention=protocol.get("convention", "otb"))
        breakdown = scored.by_attribute if attributes and len(scored.by_attribute) else None
        groups: dict[str, list[str]] = {}
        if breakdown is not None:
            for name, having in seq_attributes.items():
                for attribute in having:
                    groups.setdefault(attribute, []).append(name)
        return Scored(scored.overall, scored.sequences, scored, breakdown, groups=groups)

    def samples(self, scored: Scored, sequences: set[str] | None = None
                ) -> dict[str, dict[str, Sample]]:
        table = scored.per_sequence
        table = table[table["frames"] > 0]          # the overall curves leave these out
        if sequences is not None:
            table = table[table["sequence"].isin(sequences)]
        return {score: {str(tracker): Sample(list(rows["sequence"]),
                                             rows[score].to_numpy(dtype=np.float64))
                        for tracker, rows in table.groupby("tracker", sort=False)}
                for score in ("success_auc", "precision", "norm_precision")}

    def breakdown_samples(self, scored: Scored) -> dict[str, dict[str, dict[str, Sample]]]:
        if scored.breakdown is None:
            return {}
        return {attribute: self.samples(scored, set(names))
                for attribute, names in scored.groups.items()}

    def curve_samples(self, scored: Scored) -> dict[str, dict[str, CurveSample]]:
        out: dict[str, dict[str, CurveSample]] = {"success": {}, "precision": {},
                                                  "norm_precision": {}}
        for tracker in scored.detail.curves:
            records = {name: r for name, r in scored.detail.scores(tracker).items() if r.frames > 0}
            if not records:
                continue
            for key, attr in (("success", "success_curve"), ("precision", "precision_curve"),
                              ("norm_precision", "norm_precision_curve")):
                out[key][tracker] = CurveSample(np.array([getattr(r, attr)
                                                          for r in records.values()]))
            if scored.breakdown is not None:
                for attribute, names in scored.groups.items():
                    having = [records[name].success_curve for name in names if name in records]
                    if having:
                        out.setdefault(attribute_curve("success", attribute), {})[tracker] = \
                            CurveSample(np.array(having))
        return out

    def plot(self, scored: Scored, dataset: Dataset, protocol: Protocol, target: Path) -> Plotted:
        detail, plotted = scored.detail, Plotted()
        names = list(detail.curves)
        if names:
            overall = detail.overall.set_index("tracker")
            for key, x, score, title, xlabel, stem in [
                ("success", SUCCESS_THRESHOLDS, "success_auc", "Success plot", "overlap threshold",
                 "success_plot"),
                ("precision", PRECISION_THRESHOLDS, "precision", "Precision plot",
                 "location error threshold (px)", "precision_plot"),
                ("norm_precision", NORM_PRECISION_THRESHOLDS, "norm_precision",
                 "Normalised precision plot", "normalised location error threshold",
                 "norm_precision_plot")]:
                heading = f"{title} of OPE — {dataset.name}"
                plotted.add(plots.curve_plot(
                    target / stem, x, {t: detail.curves[t][key] for t in names},
                    {t: float(overall.loc[t, score]) for t in names},
                    title=heading, xlabel=xlabel,
                    ylabel="success rate" if key == "success" else "precision",
                    bands=scored.bands.get(key)), heading)
        if scored.breakdown is not None:
            panels: dict[str, dict[str, np.ndarray]] = {}
            panel_scores: dict[str, dict[str, float]] = {}
            counts: dict[str, int] = {}
            for row in scored.breakdown.itertuples(index=False):
                curve = detail.attribute_curves[(row.tracker, row.attribute)]["success"]
                panels.setdefault(row.attribute, {})[row.tracker] = curve
                panel_scores.setdefault(row.attribute, {})[row.tracker] = float(row.success_auc)
                counts[row.attribute] = int(row.sequences)
            heading = f"Success by attribute — {dataset.name}"
            bands = {attribute: scored.bands[attribute_curve("success", attribute)]
                     for attribute in panels if attribute_curve("success", attribute) in scored.bands}
            plotted.add(plots.curve_grid(
                target / "success_by_attribute", SUCCESS_THRESHOLDS, panels, panel_scores,
                title=heading, xlabel="overlap threshold", ylabel="success rate", counts=counts,
                bands=bands), heading)
        return plotted


class Supervised(MetricFamily):
    """The VOT supervised (reset) protocol: accuracy, robustness, failures and EAO, under the
    EAO definition given with ``--eao``."""

    breakdown_key: ClassVar[str] = "tag"

    def notes(self, protocol: Protocol) -> str:
        low, high = protocol.eao_interval
        return (f"VOT supervised protocol {protocol.name}: accuracy pooled over frames (burn-in "
                f"{protocol['burnin']}), robustness = failures per frame, EAO ("
                f"{protocol.get('eao', 'vot')} definition) over [{low}, {high}], "
                f"{protocol['overlap']} overlap bounded by the image.")

    def score(self, aligned: dict[str, TrackerResults], dataset: Dataset, protocol: Protocol,
              attributes: bool) -> Scored:
        results = {t: {s: list(runs) for s, runs in _runs(r).items()} for t, r in aligned.items()}
        used = {s for by_seq in results.values() for s in by_seq}
        sequences = [s for s in dataset if s.name in used]
        scored = score_vot(
            results, {s.name: s.groundtruth for s in sequences},
            interval=protocol.eao_interval,
            image_sizes={s.name: s.image_size for s in sequences if _known_size(s)},
            tags={s.name: s.tags for s in sequences}, burnin=int(protocol["burnin"]),
            overlap=protocol.get("overlap", "raster"), eao=protocol.get("eao", "vot"))
        breakdown = scored.by_tag if attributes and len(scored.by_tag) else None
        return Scored(scored.overall, scored.sequences, scored, breakdown)

    def samples(self, scored: Scored, tag: str = ALL_TAG
                ) -> dict[str, dict[str, Sample | EaoSample]]:
        # accuracy and robustness pool frames: per sequence, the accuracy's (sum, weight) as
        # score_vot computed it and (failures, frames) at frames having ``tag``; the EAO pools
        # fragments: each resample recomputes its curve from the drawn sequences' parts
        detail = scored.detail
        out: dict[str, dict[str, Sample | EaoSample]] = {"accuracy": {}, "robustness": {}, "eao": {}}
        for tracker, by_seq in detail.scores.items():
            names = [n for n in by_seq if tag == ALL_TAG or by_seq[n].tag_mask(tag).any()]
            if not names:
                continue
            parts = np.array([accuracy_parts(by_seq[n], tag, detail.accuracy) for n in names],
                             dtype=np.float64).reshape(-1, 2)
            failures = np.array([float(np.mean(by_seq[n].failures(tag))) for n in names])
            frames = np.array([float(np.count_nonzero(by_seq[n].tag_mask(tag))) for n in names])
            out["accuracy"][tracker] = Sample(names, parts[:, 0], parts[:, 1])
            out["robustness"][tracker] = Sample(names, failures, frames)
            out["eao"][tracker] = EaoSample(eao_parts({n: by_seq[n] for n in names},
                                                      interval=detail.interval, tag=tag,
                                                      eao=detail.eao))
        return out

    def breakdown_samples(self, scored: Scored) -> dict[str, dict[str, dict[str, Sample | EaoSample]]]:
        if scored.breakdown is None:
            return {}
        return {tag: self.samples(scored, tag) for tag in dict.fromkeys(scored.breakdown["tag"])}

    def plot(self, scored: Scored, dataset: Dataset, protocol: Protocol, target: Path) -> Plotted:
        detail, plotted = scored.detail, Plotted()
        overall = detail.overall.set_index("tracker")
        if len(overall):
            low, high = protocol.eao_interval
            plotted.add(plots.eao_plots(
                target / "eao", detail.eao_curves,
                {t: float(overall.loc[t, "eao"]) for t in overall.index}, protocol.eao_interval,
                dataset=dataset.name),
                f"Expected overlap curve and EAO ranking — {dataset.name} (interval {low}-{high})")
            plotted.add(plots.ar_plot(
                target / "accuracy_robustness",
                {t: float(overall.loc[t, "accuracy"]) for t in overall.index},
                {t: float(overall.loc[t, "robustness"]) for t in overall.index},
                dataset=dataset.name, sensitivity=float(protocol.get("ar_sensitivity", 30))),
                f"Accuracy-robustness — {dataset.name}")
        if scored.breakdown is not None:
            panels: dict[str, dict[str, np.ndarray]] = {}
            panel_scores: dict[str, dict[str, float]] = {}
            length = max(len(c) for c in detail.tag_eao_curves.values())
            for row in scored.breakdown.itertuples(index=False):
                curve = np.full(length, np.nan)
                source = detail.tag_eao_curves[(row.tracker, row.tag)]
                curve[: len(source)] = source
                panels.setdefault(row.tag, {})[row.tracker] = curve
                panel_scores.setdefault(row.tag, {})[row.tracker] = float(row.eao)
            heading = f"Expected overlap by tag — {dataset.name}"
            plotted.add(plots.curve_grid(
                target / "eao_by_tag", np.arange(length), panels, panel_scores, title=heading,
                xlabel="sequence length", ylabel="expected average overlap"), heading)
        return plotted


class Got10k(MetricFamily):
    """GOT-10k: average overlap and success rates at 0.5 and 0.75 over visible frames; needs
    the whole ground truth (the test split withholds it)."""

    def check_dataset(self, dataset: Dataset, dataset_name: str) -> None:
        if any(len(s.groundtruth) == 1 and len(s) > 1 for s in dataset):
            raise SiambenchError(f"{dataset_name}: the ground truth of this split is withheld (only "
                                 "the first box is public), so it cannot be scored locally; submit "
                                 "with `siambench pack` to the GOT-10k server")

    def notes(self, protocol: Protocol) -> str:
        return ("GOT-10k: AO and SR over visible frames, frame 0 excluded, boxes clipped to the "
                "image, all frames of all repetitions pooled.")

    def score(self, aligned: dict[str, TrackerResults], dataset: Dataset, protocol: Protocol,
              attributes: bool) -> Scored:
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
        return Scored(scored.overall, scored.sequences, scored)

    def samples(self, scored: Scored) -> dict[str, dict[str, Sample]]:
        # AO and SR pool the frames of all sequences: per sequence, the sum of IoUs (or of
        # successes) over its frame count, resampled as a pooled ratio
        out: dict[str, dict[str, Sample]] = {"ao": {}, "sr50": {}, "sr75": {}}
        for tracker, by_seq in scored.detail.scores.items():
            names = list(by_seq)
            ious = [by_seq[name].ious for name in names]
            frames = np.array([len(i) for i in ious], dtype=np.float64)
            for score, statistic in (("ao", lambda i: float(np.sum(i))),
                                     ("sr50", lambda i: float(np.sum(i > GOT10K_SR50))),
                                     ("sr75", lambda i: float(np.sum(i > GOT10K_SR75)))):
                out[score][tracker] = Sample(names, np.array([statistic(i) for i in ious]), frames)
        return out

    def curve_samples(self, scored: Scored) -> dict[str, dict[str, CurveSample]]:
        # the success curve pools frames: per sequence, the successes at each threshold
        out: dict[str, dict[str, CurveSample]] = {"success": {}}
        for tracker, by_seq in scored.detail.scores.items():
            ious = [by_seq[name].ious for name in by_seq]
            if not ious:
                continue
            successes = np.array([np.count_nonzero(i[:, None] > GOT10K_THRESHOLDS[None, :], axis=0)
                                  for i in ious], dtype=np.float64)
            out["success"][tracker] = CurveSample(successes, np.array([len(i) for i in ious],
                                                                      dtype=np.float64))
        return out

    def plot(self, scored: Scored, dataset: Dataset, protocol: Protocol, target: Path) -> Plotted:
        detail, plotted = scored.detail, Plotted()
        overall = detail.overall.set_index("tracker")
        if len(overall):
            heading = f"Success plot — {dataset.name}"
            plotted.add(plots.curve_plot(
                target / "success_plot", GOT10K_THRESHOLDS, detail.curves,
                {t: float(overall.loc[t, "ao"]) for t in overall.index}, title=heading,
                xlabel="overlap threshold", ylabel="success rate",
                bands=scored.bands.get("success")), heading)
        return plotted


class LongTerm(MetricFamily):
    """VOT long-term: tracking precision, recall and F-score over confidence thresholds, under
    the convention given with ``--convention`` (``vot``, the default, or ``pysot``)."""

    def check_option(self, option: str, value: str) -> None:
        if value not in LONGTERM_CONVENTIONS:
            raise UnknownNameError(f"unknown long-term convention {value!r}; known: "
                                   f"{', '.join(LONGTERM_CONVENTIONS)}")

    def notes(self, protocol: Protocol) -> str:
        return (f"VOT long-term protocol {protocol.name}, convention "
                f"'{protocol.get('convention', 'vot')}': tracking precision and recall at "
                f"{protocol.get('thresholds', 100)} confidence thresholds, averaged over "
                "sequences; F-score = max of 2·Pr·Re/(Pr+Re), Pr and Re at that threshold; "
                f"{protocol.get('overlap', 'raster')} overlap bounded by the image.")

    def score(self, aligned: dict[str, TrackerResults], dataset: Dataset, protocol: Protocol,
              attributes: bool) -> Scored:
        results = {t: {s: list(runs) for s, runs in _runs(r).items()} for t, r in aligned.items()}
        used = {s for by_seq in results.values() for s in by_seq}
        sequences = [s for s in dataset if s.name in used]
        scored = score_votlt(
            results, {s.name: s.groundtruth for s in sequences},
            image_sizes={s.name: s.image_size for s in sequences if _known_size(s)},
            convention=protocol.get("convention", "vot"),
            resolution=int(protocol.get("thresholds", 100)),
            overlap=protocol.get("overlap", "raster"))
        return Scored(scored.overall, scored.sequences, scored)

    def samples(self, scored: Scored) -> dict[str, dict[str, LongTermSample]]:
        # the F-score is the maximum of F over the sequence-averaged curves: each resample
        # averages the drawn sequences' curves (on the tracker's grid) and maximises again
        out: dict[str, dict[str, LongTermSample]] = {"f_score": {}, "precision": {}, "recall": {}}
        for tracker in scored.detail.curves:
            names, precision, recall = scored.detail.sequence_curves(tracker)
            for score in out:
                out[score][tracker] = LongTermSample(names, precision, recall, score)
        return out

    def plot(self, scored: Scored, dataset: Dataset, protocol: Protocol, target: Path) -> Plotted:
        plotted = Plotted()
        if scored.detail.curves:
            heading = f"Tracking precision-recall and F-score — {dataset.name}"
            plotted.add(plots_longterm.longterm_plot(target / "f_score_plot", scored.detail.curves,
                                                     dataset=dataset.name), heading)
        return plotted


#: Every metric family, keyed by the name ``Protocol.metric_family`` gives.
FAMILIES: Mapping[str, MetricFamily] = MappingProxyType({family.name: family for family in (
    OnePass("ope", ("tracker", "sequences", "success_auc", "precision", "norm_precision",
                    "fps_mean", "fps_total"), rank_by="success_auc", datasets="one-pass datasets",
            options=("convention",)),
    Supervised("vot", ("tracker", "sequences", "accuracy", "robustness", "failures", "eao"),
               rank_by="eao", datasets="VOT datasets", options=("eao",)),
    Got10k("got10k", ("tracker", "sequences", "ao", "sr50", "sr75", "fps_mean", "fps_total"),
           rank_by="ao", datasets="GOT-10k datasets"),
    LongTerm("votlt", ("tracker", "sequences", "f_score", "precision", "recall"),
             rank_by="f_score", datasets="VOT long-term datasets", options=("convention",)),
)})


def family_of(protocol: Protocol) -> MetricFamily:
    """The metric family ``protocol`` is scored with."""
    try:
        return FAMILIES[protocol.metric_family]
    except KeyError:
        raise SiambenchError(f"protocol {protocol.name}: no report for metric family "
                             f"{protocol.metric_family!r}; known: {', '.join(FAMILIES)}") from None
