"""Reading frames: every frame is returned as an RGB ``uint8`` array of shape ``(H, W, 3)``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from siambench.errors import FrameReadError
from siambench.fileio import path_kind


def read_frame(path: Path) -> np.ndarray:
    """Decode one image file to RGB ``uint8`` ``(H, W, 3)``; grayscale images are expanded.

    Raises :class:`FrameReadError` naming the file when it is missing, unreadable or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        kind = path_kind(path)
        if kind == "missing":
            raise FrameReadError(f"{path}: frame not found (the image file is missing)")
        raise FrameReadError(f"{path}: is {kind}, expected an image file")
    try:
        data = np.fromfile(path, dtype=np.uint8)  # handles non-ASCII paths, unlike cv2.imread
    except OSError as exc:
        raise FrameReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:  # e.g. a header that claims more pixels than OpenCV allows
        image = None
    if image is None:
        what = "the file is empty" if data.size == 0 else "the file is corrupt or not an image"
        raise FrameReadError(f"{path}: cannot decode the image ({what}); replace it with an "
                             "intact copy of the benchmark's frame")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image, decoding it (JPEG headers are not parsed separately)."""
    frame = read_frame(path)
    return frame.shape[1], frame.shape[0]


def folder_frames(folder: Path, pattern: str = "*.jpg", *, first: str | None = None,
                  optional: bool = True) -> list[Path] | None:
    """The frames of a sequence whose images are the files ``folder/<pattern>``, in name order
    (the got10k toolkit's sorted glob: DTB70, NfS, LaSOT, UAVDT).

    When ``folder`` is not a folder the answer says why there are no frames: ``None`` (the
    sequence is annotation-only: scorable, not trackable) when nothing is there and ``optional``,
    or whenever ``first`` is None; else ``[folder / first]``, a frame that cannot be read, so that
    :meth:`Sequence.problems` reports what is at ``folder`` (a file, a broken link, nothing)."""
    if folder.is_dir():
        return sorted(folder.glob(pattern))
    if first is None or (optional and path_kind(folder) == "missing"):
        return None
    return [folder / first]
