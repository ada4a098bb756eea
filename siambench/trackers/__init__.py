"""Trackers: the contract, the Siamese trackers (SiamRPN, SiamFC), baselines and the registry.

``create_tracker(name, ...)`` / ``list_trackers()`` / ``register_tracker`` (see
:mod:`siambench.trackers.registry`; the built-ins: :mod:`siambench.trackers.builtin`),
``as_got10k(tracker)`` for the got10k toolkit, ``parse_set_options`` for CLI ``--set key=value``.
Importing this package does not import torch: the Siamese tracker modules
(:mod:`siambench.trackers.siamrpn`, :mod:`siambench.trackers.siamfc`) import it when used.
"""

from siambench.trackers import builtin as _builtin  # noqa: F401 - registers the built-ins
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
from siambench.trackers.registry import (
    ENTRY_POINT_GROUP,
    TrackerEntry,
    TrackerInfo,
    create_tracker,
    list_trackers,
    register_tracker,
    tracker_entry,
    trainable_trackers,
    unregister_tracker,
)
from siambench.trackers.simple import IdentityTracker, OracleTracker

__all__ = [
    "ENTRY_POINT_GROUP",
    "IdentityTracker",
    "OracleTracker",
    "TrackOutput",
    "Tracker",
    "TrackerEntry",
    "TrackerInfo",
    "as_got10k",
    "check_overrides",
    "create_tracker",
    "list_trackers",
    "load_param_file",
    "parse_set_options",
    "register_tracker",
    "resolve_params",
    "tracker_entry",
    "tracker_file",
    "trackers_root",
    "trainable_trackers",
    "unregister_tracker",
]
