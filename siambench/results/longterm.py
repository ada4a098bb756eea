"""The VOT long-term result layout (``votlt``), as the VOT toolkit and pysot write it.

One folder per sequence under ``<tracker>/longterm/``::

    longterm/<seq>/<seq>_001.txt               line 1: ``1`` (the initialisation frame), then one
                                               ``x,y,w,h`` line per frame, or a status line (``0``)
                                               where the tracker gave no box
    longterm/<seq>/<seq>_001_confidence.value  one confidence per frame; line 1 is empty (the
                                               initialisation frame has none)
    longterm/<seq>/<seq>_001_time.value        seconds per frame (the VOT Python toolkit's name;
                                               pysot writes ``<seq>_time.txt``, read as well)

Conventions (checked against the VOT Python toolkit's ``Trajectory.write``/``read``, which writes
an unset property as an empty line and reads an empty line as NaN, and against pysot
``tools/test.py``, which writes ``[1]`` then the boxes and ``'\\n'`` for the first confidence,
and ``toolkit/datasets/vot.py`` ``VOTLTVideo.load_tracker``, which skips the first confidence
line): a box with a NaN number is written as the status line ``0`` (both toolkits score it as
overlap 0); a NaN confidence on frames after the first is written ``nan`` (an empty line there
would break pysot's reader). Reading: the first line may be ``1`` or a box (some forks write the
initial box); any status line (``0``, ``1``, ``2``, ``nan``) is a frame without a box; an empty
confidence line is NaN. Numbers are written with Python's shortest round-tripping ``repr``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from siambench.errors import DataFormatError, SiambenchError
from siambench.results.parse import parse_vot_run
from siambench.results.types import REGION, Run
from siambench.textio import decode_text

__all__ = ["FOLDER", "confidence_text", "longterm_files", "longterm_lines", "parse_confidence",
           "parse_longterm_run"]

#: The folder of a tracker's long-term results (the VOT toolkit's experiment name).
FOLDER = "longterm"

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def _number(value: float) -> str:
    if math.isinf(value):
        raise SiambenchError(f"cannot write an infinite value ({value}) in a result file")
    return repr(float(value))


def longterm_lines(run: Run) -> str:
    """The text of ``<seq>_NNN.txt``: ``1``, then per frame ``x,y,w,h`` or ``0`` (no box)."""
    if run.boxes is None:
        raise SiambenchError("a long-term run needs boxes")
    boxes = np.asarray(run.boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(boxes) == 0:
        raise SiambenchError(f"long-term boxes of shape {boxes.shape}, expected (N, 4), N >= 1")
    lines = ["1"]
    for row in boxes[1:].tolist():
        lines.append("0" if any(math.isnan(v) for v in row) else ",".join(map(_number, row)))
    return "".join(line + "\n" for line in lines)


def confidence_text(confidence: np.ndarray, count: int) -> str:
    """The text of ``<seq>_NNN_confidence.value``: an empty first line, then one value per frame
    (``nan`` where unknown)."""
    values = np.asarray(confidence, dtype=np.float64).reshape(-1)
    if len(values) != count:
        raise SiambenchError(f"{len(values)} confidences for {count} frames")
    return "\n" + "".join(_number(v) + "\n" for v in values[1:].tolist())


def longterm_files(seq_name: str, runs: Sequence[Run]) -> dict[str, str]:
    """The long-term files of one sequence: path relative to the tracker folder -> text (one
    ``_NNN`` set per run). A run without ``confidence`` gets no confidence file (a reader then
    warns and counts every frame as confident, see :mod:`siambench.results.read`)."""
    if not runs:
        raise SiambenchError(f"{seq_name}: no runs to write")
    files: dict[str, str] = {}
    for repetition, run in enumerate(runs, start=1):
        stem = f"{FOLDER}/{seq_name}/{seq_name}_{repetition:03d}"
        files[f"{stem}.txt"] = longterm_lines(run)
        if run.confidence is not None:
            files[f"{stem}_confidence.value"] = confidence_text(run.confidence, len(run))
        if run.times is not None:
            times = np.asarray(run.times, dtype=np.float64).reshape(-1)
            if len(times) != len(run):
                raise SiambenchError(f"{seq_name}: {len(times)} times for {len(run)} frames")
            files[f"{stem}_time.value"] = "".join(_number(v) + "\n" for v in times.tolist())
    return files


def parse_longterm_run(data: bytes, where: Path) -> np.ndarray:
    """A long-term ``<seq>_NNN.txt`` as float64 ``(N, 4)`` boxes, NaN where a line is a status
    code (the initialisation frame's ``1``, a ``0`` for no box). A polygon line is an error:
    long-term results are rectangles."""
    codes, regions = parse_vot_run(data, where)
    boxes = np.full((len(codes), 4), np.nan, dtype=np.float64)
    is_region = codes == REGION
    polygon = is_region & ~np.isnan(regions[:, 4:]).all(axis=1)
    if polygon.any():
        raise DataFormatError(where, "a polygon (8 numbers)", line=int(np.argmax(polygon)) + 1,
                              hint="long-term results hold x,y,w,h rectangles")
    boxes[is_region] = regions[is_region, :4]
    return boxes


def parse_confidence(data: bytes, where: Path) -> np.ndarray:
    """A ``_confidence.value`` file as float64 ``(N,)``: one value per line, an empty line (and
    ``nan``) is NaN. A final line break ends the last line (it adds no frame); blank lines
    before it are frames without a confidence, as the VOT toolkit reads them."""
    text = decode_text(data, where)
    lines = _LINE_BREAKS.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    values = np.full(len(lines), np.nan, dtype=np.float64)
    for index, line in enumerate(lines):
        cell = line.strip()
        if not cell:
            continue
        try:
            value = float(cell)
        except ValueError:
            raise DataFormatError(where, f"non-numeric value {cell!r}", line=index + 1,
                                  hint="expected one confidence per line (empty: none)") from None
        if math.isinf(value):
            raise DataFormatError(where, "infinite value", line=index + 1)
        values[index] = value
    return values
