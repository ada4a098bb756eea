"""The built-in trackers' registrations (one decorated factory each; see
:mod:`siambench.trackers.registry`). Adding a Siamese tracker is a folder
``siambench/bundled/<name>/`` (``config.yaml``, optionally ``model.pt``) plus one registration
here. The factories import their tracker modules (and torch) only when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from siambench.trackers.base import Tracker
from siambench.trackers.classic import CLASSIC_TRACKERS, OpenCVTracker, unavailable_reason
from siambench.trackers.registry import register_tracker
from siambench.trackers.simple import IdentityTracker, OracleTracker


@register_tracker("siamrpn", network="siamrpn", network_method="template_kernels", params=True,
                  training="siamrpn",
                  description="SiamRPN (Li et al. CVPR 2018): region proposal network on "
                              "Siamese features")
def siamrpn(*, model: Any, params: Mapping[str, Any], device: str) -> Tracker:
    """SiamRPN with penalty, cosine window and size/ratio penalty (spec §3)."""
    from siambench.trackers.siamrpn import SiamRPNTracker

    return SiamRPNTracker(model, params, device=device)


@register_tracker("siamfc", network="siamfc", network_method="template_features", params=True,
                  training="siamfc",
                  description="SiamFC (Bertinetto et al. ECCVW 2016): fully-convolutional "
                              "Siamese matching")
def siamfc(*, model: Any, params: Mapping[str, Any], device: str) -> Tracker:
    """SiamFC with scale search, response upsampling and cosine window (spec §3)."""
    from siambench.trackers.siamfc import SiamFCTracker

    return SiamFCTracker(model, params, device=device)


@register_tracker("identity",
                  description="returns the initial box on every frame (score 1); a sanity "
                              "baseline")
def identity(*, device: str) -> Tracker:
    """The initial box on every frame."""
    return IdentityTracker()


@register_tracker("oracle", sequence_input="groundtruth",
                  description="returns the ground truth given at construction "
                              "(groundtruth=array); for tests")
def oracle(*, groundtruth: np.ndarray, device: str) -> Tracker:
    """The ground truth (0-based ``x, y, w, h`` rows) frame by frame."""
    return OracleTracker(groundtruth)


def _register_classic(name: str) -> None:
    def classic(*, device: str) -> Tracker:
        return OpenCVTracker(name)

    classic.__qualname__ = f"classic_{name}"
    register_tracker(name, description=CLASSIC_TRACKERS[name].description,
                     unavailable=lambda: unavailable_reason(name))(classic)


for _name in CLASSIC_TRACKERS:
    _register_classic(_name)
