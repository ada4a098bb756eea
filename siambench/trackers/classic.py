"""OpenCV's classic trackers (KCF, CSRT, MIL, …) behind the tracker contract.

Which exist depends on the installed OpenCV: ``cv2.Tracker<Name>_create`` or
``cv2.legacy.Tracker<Name>_create``. KCF and CSRT are in the contrib modules, which siambench's
dependency ``opencv-contrib-python-headless`` ships (a superset of ``opencv-python-headless``);
MIL is in every OpenCV. Two OpenCV distributions in one environment share the folder ``cv2``:
the one installed last wins, and removing either breaks both, so when KCF/CSRT are missing the
message names what is installed and the commands that leave contrib alone
(:func:`unavailable_reason`). OpenCV takes integer boxes on BGR frames: the initial box is
rounded to whole pixels (frame-array coordinates, ``x, y`` = left/top column/row); a failed
update returns the previous box with score 0, a successful one score 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import cv2
import numpy as np

from siambench.errors import SiambenchError
from siambench.trackers.base import Tracker, TrackOutput, check_box, check_frame

__all__ = ["CLASSIC_TRACKERS", "CONTRIB_INSTALL", "ClassicSpec", "OpenCVTracker", "opencv_factory",
           "unavailable_reason"]

#: The OpenCV distributions that install the module ``cv2`` (contrib ones first).
OPENCV_DISTRIBUTIONS = ("opencv-contrib-python-headless", "opencv-contrib-python",
                        "opencv-python-headless", "opencv-python")

#: The shell commands that leave exactly one OpenCV, with the contrib modules, installed.
CONTRIB_INSTALL = ("pip uninstall -y " + " ".join(OPENCV_DISTRIBUTIONS)
                   + " && pip install opencv-contrib-python-headless")


@dataclass(frozen=True)
class ClassicSpec:
    """An OpenCV tracker: its class stem in cv2 (``KCF`` → ``TrackerKCF_create``), a description,
    and whether two runs on the same frames agree."""

    cv_name: str
    description: str
    deterministic: bool


CLASSIC_TRACKERS: dict[str, ClassicSpec] = {
    "kcf": ClassicSpec("KCF", "OpenCV KCF (kernelised correlation filters, Henriques et al. 2015)",
                       True),
    "csrt": ClassicSpec("CSRT", "OpenCV CSRT (discriminative correlation filter with channel and "
                        "spatial reliability, Lukezic et al. 2017)", True),
    # MIL samples its training patches at random: two runs differ (checked with OpenCV 5.0).
    "mil": ClassicSpec("MIL", "OpenCV MIL (multiple instance learning, Babenko et al. 2009)",
                       False),
}


def opencv_factory(cv_name: str) -> Callable[[], Any] | None:
    """``cv2.Tracker<cv_name>_create`` (or the ``cv2.legacy`` one), or None when absent."""
    attribute = f"Tracker{cv_name}_create"
    for module in (cv2, getattr(cv2, "legacy", None)):
        factory = getattr(module, attribute, None) if module is not None else None
        if factory is not None:
            return factory
    return None


def _installed_opencv() -> list[str]:
    """``name version`` of each installed OpenCV distribution."""
    found = []
    for name in OPENCV_DISTRIBUTIONS:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return found


def unavailable_reason(name: str) -> str | None:
    """Why classic tracker ``name`` cannot be created here, with the fix; None when it can."""
    spec = CLASSIC_TRACKERS[name]
    if opencv_factory(spec.cv_name) is not None:
        return None
    installed = _installed_opencv()
    if len(installed) > 1:
        why = (f"the installed OpenCV packages ({', '.join(installed)}) overwrite each other's "
               f"cv2 folder and the one without contrib won")
    else:
        why = (f"the installed OpenCV ({installed[0] if installed else 'cv2 ' + cv2.__version__})"
               f" has no contrib modules")
    return (f"needs cv2.Tracker{spec.cv_name}_create from opencv-contrib-python-headless: {why}; "
            f"fix: {CONTRIB_INSTALL}")


class OpenCVTracker(Tracker):
    """One of :data:`CLASSIC_TRACKERS` (``name`` = its registry name)."""

    def __init__(self, name: str) -> None:
        spec = CLASSIC_TRACKERS.get(name)
        if spec is None:
            raise SiambenchError(f"unknown OpenCV tracker {name!r}; known: "
                                 f"{', '.join(CLASSIC_TRACKERS)}")
        factory = opencv_factory(spec.cv_name)
        if factory is None:
            raise SiambenchError(f"tracker {name!r} is unavailable here: {unavailable_reason(name)}")
        self.name = name
        self.deterministic = spec.deterministic
        self._factory = factory
        self._tracker: Any = None
        self._box = np.zeros(4)

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        """Start a fresh OpenCV tracker on ``box`` rounded to whole pixels."""
        frame = check_frame(frame)
        box = check_box(box)
        self._tracker = self._factory()
        rect = tuple(int(v) for v in np.floor(box + 0.5))
        rect = (rect[0], rect[1], max(rect[2], 1), max(rect[3], 1))
        self._tracker.init(np.ascontiguousarray(frame[..., ::-1]), rect)
        self._box = box

    def update(self, frame: np.ndarray) -> TrackOutput:
        """OpenCV's answer (score 1), or the previous box with score 0 when it reports a failure."""
        if self._tracker is None:
            raise SiambenchError(f"{self.name} update called before init")
        frame = check_frame(frame)
        ok, rect = self._tracker.update(np.ascontiguousarray(frame[..., ::-1]))
        if not ok:
            return TrackOutput(self._box, 0.0)
        self._box = np.asarray(rect, dtype=np.float64)
        return TrackOutput(self._box, 1.0)
