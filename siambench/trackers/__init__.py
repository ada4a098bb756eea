"""Trackers: the contract, the Siamese trackers (SiamRPN, SiamFC), baselines and the registry.

``create_tracker(name, ...)`` / ``list_trackers()`` (see :mod:`siambench.trackers.registry`),
``as_got10k(tracker)`` for the got10k toolkit, ``parse_set_options`` for CLI ``--set key=value``.
Importing this package does not import torch: the Siamese tracker modules
(:mod:`siambench.trackers.siamrpn`, :mod:`siambench.trackers.siamfc`) import it when used.
"""

from siambench.trackers.base import Tracker, TrackOutput
from siambench.trackers.got10k_adapter import as_got10k
from siambench.trackers.params import (
    check_overrides,
    load_param_file,
    parse_set_options,
    resolve_params,
    tracker_file,
    trackers_root,
)
from siambench.trackers.registry import ENTRY_POINT_GROUP, TrackerInfo, create_tracker, list_trackers
from siambench.trackers.simple import IdentityTracker, OracleTracker

__all__ = [
    "ENTRY_POINT_GROUP",
    "IdentityTracker",
    "OracleTracker",
    "TrackOutput",
    "Tracker",
    "TrackerInfo",
    "as_got10k",
    "check_overrides",
    "create_tracker",
    "list_trackers",
    "load_param_file",
    "parse_set_options",
    "resolve_params",
    "tracker_file",
    "trackers_root",
]
