"""Reading frames: every frame is returned as an RGB ``uint8`` array of shape ``(H, W, 3)``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from siambench.errors import FrameReadError


def read_frame(path: Path) -> np.ndarray:
    """Decode one image file to RGB ``uint8`` ``(H, W, 3)``; grayscale images are expanded.

    Raises :class:`FrameReadError` naming the file when it is missing, unreadable or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise FrameReadError(f"{path}: frame not found (the image file is missing)")
    data = np.fromfile(path, dtype=np.uint8)  # handles non-ASCII paths, unlike cv2.imread
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise FrameReadError(f"{path}: cannot decode the image (the file is corrupt or not an "
                             "image); replace it with an intact copy of the benchmark's frame")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image, decoding it (JPEG headers are not parsed separately)."""
    frame = read_frame(path)
    return frame.shape[1], frame.shape[0]
