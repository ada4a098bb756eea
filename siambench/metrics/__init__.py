"""Metrics: OPE (success, precision, normalised precision), VOT (accuracy, robustness, EAO), GOT-10k (AO, SR).

Metrics take arrays, never files, never import torch or dataset loaders, and never branch on a
dataset's name: every benchmark rule is a parameter. Each family has a per-sequence record and an
aggregation returning pandas DataFrames (one row per (tracker, sequence) and one per tracker).
"""

from siambench.metrics._core import ScoringError
from siambench.metrics.got10k import (
    GOT10kReport,
    GOT10kSequenceScore,
    aggregate_got10k,
    got10k_sequence_score,
    score_got10k,
)
from siambench.metrics.ope import (
    CONVENTIONS,
    OPEConvention,
    OPEReport,
    OPESequenceScore,
    aggregate_ope,
    ope_sequence_score,
    score_ope,
    score_ope_reference,
)
from siambench.metrics.uncertainty import (
    Resampling,
    exact_resampling,
    holm,
    inseparable_groups,
    mean_interval,
    paired_mean_difference,
    ratio_interval,
    resample,
    wilcoxon_p,
)
from siambench.metrics.vot import (
    VOTReport,
    VOTSequenceScore,
    aggregate_vot,
    eao_curve,
    eao_score,
    score_vot,
    vot_sequence_score,
)

__all__ = [
    "CONVENTIONS", "GOT10kReport", "GOT10kSequenceScore", "OPEConvention", "OPEReport",
    "OPESequenceScore", "Resampling", "ScoringError", "VOTReport", "VOTSequenceScore", "aggregate_got10k",
    "aggregate_ope", "aggregate_vot", "eao_curve", "eao_score", "got10k_sequence_score",
    "ope_sequence_score", "score_got10k", "score_ope", "score_ope_reference", "score_vot",
    "vot_sequence_score", "exact_resampling", "holm", "inseparable_groups", "mean_interval",
    "paired_mean_difference", "ratio_interval", "resample", "wilcoxon_p",
]
