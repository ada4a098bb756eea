"""In-memory raw tracking results, independent of the format they were read from.

Conventions: boxes are float64 ``x, y, w, h`` in the dataset's pixel frame, exactly as the file
holds them (never rounded, never shifted: a tracker that wrote 0-based boxes for a 1-based
benchmark is scored as written). Times are seconds per frame, NaN where unknown.

A VOT supervised run is one line per frame: a status code (``INIT`` = 1, ``FAILURE`` = 2,
``SKIPPED`` = 0, as the VOT toolkit and pysot write them) or a region. It is stored as
``codes`` (int8 per frame, ``REGION`` = -1 where the line is a region) and ``regions`` (float64
``(N, 8)``: a polygon row holds 8 numbers; a rectangle row holds ``x, y, w, h`` followed by four
NaN; rows that are not regions are all NaN).

A VOT long-term run (``votlt`` format) is a one-pass run with ``boxes`` and ``confidence``, the
tracker's score per frame (NaN where it gave none: the initialisation frame, and frames whose
confidence line is empty). Its row 0 is the initialisation frame: written as the status line
``1``, read back as a NaN box; a frame without a prediction is a NaN box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REGION, SKIPPED, INIT, FAILURE = -1, 0, 1, 2


@dataclass(frozen=True)
class Run:
    """One pass of a tracker over one sequence.

    ``boxes``: float64 ``(N, 4)`` for one-pass formats. For VOT runs ``boxes`` is ``None`` and
    ``codes``/``regions`` are set (see the module docstring). ``times``: ``(N,)`` seconds or None.
    ``start_frame``: the 1-based image index of the first row when the file states it (the OTB
    toolkit's ``startFrame`` in ``.mat``/JSON results), else None; ``anno_begin``: the OTB
    toolkit's ``annoBegin`` (image index of the annotation file's first row), else None.
    ``confidence``: ``(N,)`` per-frame confidence of a long-term run (see the module
    docstring), else None.
    """

    boxes: np.ndarray | None = None
    codes: np.ndarray | None = None
    regions: np.ndarray | None = None
    times: np.ndarray | None = None
    start_frame: int | None = None
    anno_begin: int | None = None
    confidence: np.ndarray | None = None

    def __len__(self) -> int:
        if self.boxes is not None:
            return len(self.boxes)
        return 0 if self.codes is None else len(self.codes)

    @property
    def is_supervised(self) -> bool:
        """True for a VOT reset-based run (status codes and regions)."""
        return self.codes is not None


@dataclass
class TrackerResults:
    """A tracker's raw results: sequence name (as found on disk) -> repetitions (runs).

    ``format`` names the detected format (``"ope-txt"``, ``"vot"``, ``"got10k"``, ``"otb-mat"``,
    ``"otb-json"``); ``source`` is the folder or archive read; ``warnings`` lists non-fatal
    quirks met while reading. ``unreadable`` maps each sequence whose result file could not be
    read to the error (one line naming the file and line); such a sequence is not in
    ``sequences`` and counts as missing (after ``align``: keyed by the dataset's name).
    """

    name: str
    format: str
    source: str
    sequences: dict[str, list[Run]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
