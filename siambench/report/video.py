"""Videos of tracking results: the ground truth and one or more trackers' boxes drawn on the frames.

``write_video`` streams frames (never holds more than one in memory) into an MP4 written with
OpenCV's ``mp4v`` encoder, which the headless OpenCV wheels ship without ffmpeg; when that
encoder cannot be opened the video is written as Motion-JPEG ``.avi`` instead, with a
:class:`VideoFallbackWarning`. Files are written atomically (a temporary name in the target
folder, then ``os.replace``).

Drawing conventions: boxes are ``x, y, w, h`` (or 8-number polygons) in the dataset's pixel frame,
whose first column/row is ``origin`` (1 for OTB/UAV/LaSOT/synthetic, 0 for VOT/GOT-10k, the
dataset spec's ``origin``); ``origin`` is subtracted before drawing. A rectangle is drawn on its
outermost pixels (columns ``x .. x + w - 1`` once 0-based), a polygon through its vertices. NaN
rows and rows without area are not drawn. VOT supervised runs show their status frames (init,
failure, skipped) as text in the tracker's legend line. Frame numbers are 1-based.

``save_sequence_video`` is what ``siambench run --save-video DIR`` calls after each sequence;
``render_sequence`` is ``siambench render``: several trackers' saved results (any format
:mod:`siambench.results` reads) on one sequence.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
import warnings
from collections.abc import Iterable, Mapping
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from siambench.errors import SiambenchError
from siambench.results.types import FAILURE, INIT, SKIPPED, Run

GROUNDTRUTH_COLOUR: tuple[int, int, int] = (0, 255, 0)
"""RGB colour of the ground truth (green)."""

TRACKER_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (0, 96, 255), (255, 220, 0), (255, 0, 255), (0, 255, 255), (255, 128, 0),
    (150, 60, 255), (255, 255, 255), (128, 0, 0), (0, 0, 128),
)
"""RGB colours of the trackers, in the order given (red, blue, yellow, magenta, cyan, ...)."""

STATUS_NAMES = {INIT: "init", FAILURE: "failure", SKIPPED: "skipped"}
"""Text shown for the VOT status codes."""

MP4_SUFFIXES = (".mp4", ".m4v", ".mov")
AVI_SUFFIX = ".avi"

Track = np.ndarray | Run | SequenceOf[Run]
"""What one tracker contributes: ``(N, 4)`` boxes, ``(N, 8)`` polygons, a :class:`Run` (one-pass
or VOT supervised) or a list of repetitions (the first is drawn)."""


class VideoFallbackWarning(UserWarning):
    """The ``mp4v`` encoder could not be opened; the video was written as MJPG ``.avi``."""


@dataclass(frozen=True)
class _Track:
    name: str
    colour: tuple[int, int, int]
    regions: np.ndarray  # (N, 4) rectangles or (N, 8) polygons/rectangles (see Run)
    codes: np.ndarray | None  # VOT status codes or None


def _as_track(name: str, value: Track, colour: tuple[int, int, int]) -> _Track:
    if isinstance(value, Run):
        run = value
    elif isinstance(value, np.ndarray):
        run = None
    elif isinstance(value, (list, tuple)) and value and all(isinstance(r, Run) for r in value):
        run = value[0]
    else:
        raise SiambenchError(f"{name}: expected an (N, 4) or (N, 8) array of boxes, a Run or a "
                             f"list of Runs, got {type(value).__name__}")
    if run is None:
        regions = np.asarray(value, dtype=np.float64)
        codes = None
    elif run.is_supervised:
        regions = np.asarray(run.regions, dtype=np.float64)
        codes = np.asarray(run.codes)
    else:
        regions = np.asarray(run.boxes, dtype=np.float64)
        codes = None
    if regions.ndim != 2 or regions.shape[1] not in (4, 8):
        raise SiambenchError(f"{name}: boxes must be (N, 4) x, y, w, h or (N, 8) polygons, got "
                             f"shape {regions.shape}")
    return _Track(name, colour, regions, codes)


def _polygon(row: np.ndarray, origin: float, limit: float) -> np.ndarray | None:
    """Integer vertices (in 1/16 pixel, for ``cv2``'s ``shift=4``) of a region, or None.

    A row of 8 numbers whose last four are NaN is a rectangle (the VOT run format).
    """
    if row.shape[0] == 8 and np.isnan(row[4:]).all():
        row = row[:4]
    if not np.isfinite(row).all():
        return None
    if row.shape[0] == 4:
        x, y, w, h = row - (origin, origin, 0.0, 0.0)
        if not (w > 0 and h > 0):
            return None
        right, bottom = x + max(w - 1.0, 0.0), y + max(h - 1.0, 0.0)
        points = np.array([[x, y], [right, y], [right, bottom], [x, bottom]])
    else:
        points = row.reshape(4, 2) - origin
        area = 0.5 * abs(np.dot(points[:, 0], np.roll(points[:, 1], 1))
                         - np.dot(points[:, 1], np.roll(points[:, 0], 1)))
        if not area > 0:
            return None
    points = np.clip(points, -limit, limit)  # far-off boxes must not overflow cv2's integers
    return np.round(points * 16.0).astype(np.int32)


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad to even width and height with black (the MPEG-4 encoder drops an odd last row/column)."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return cv2.copyMakeBorder(frame, 0, height % 2, 0, width % 2, cv2.BORDER_CONSTANT, value=0)


class _Painter:
    """Draws regions and text on one RGB frame (a copy; inputs are never modified)."""

    def __init__(self, width: int, height: int) -> None:
        side = min(width, height)
        self.thickness = max(2, round(side / 240))
        self.scale = max(0.35, side / 900)
        self.text_thickness = 1 if side < 720 else 2
        self.line_height = round(self.scale * 26.4) + 4
        self.limit = 16.0 * max(width, height)

    def region(self, frame: np.ndarray, row: np.ndarray, origin: float,
               colour: tuple[int, int, int]) -> bool:
        points = _polygon(row, origin, self.limit)
        if points is None:
            return False
        cv2.polylines(frame, [points], True, colour, self.thickness, cv2.LINE_8, shift=4)
        return True

    def text(self, frame: np.ndarray, text: str, x: int, y: int,
             colour: tuple[int, int, int]) -> None:
        font = cv2.FONT_HERSHEY_SIMPLEX
        cv2.putText(frame, text, (x, y), font, self.scale, colour, self.text_thickness,
                    cv2.LINE_AA)

    def legend(self, frame: np.ndarray,
               lines: list[tuple[str, tuple[int, int, int] | None]]) -> None:
        """Lines of text top left on a darkened panel; a line with a colour gets a swatch."""
        font = cv2.FONT_HERSHEY_SIMPLEX
        swatch = max(4, self.line_height // 2)
        widths = [cv2.getTextSize(text, font, self.scale, self.text_thickness)[0][0]
                  + (swatch + 4 if colour is not None else 0) for text, colour in lines]
        right = min(frame.shape[1], 8 + max(widths, default=0) + 4)
        bottom = min(frame.shape[0], 4 + self.line_height * len(lines) + 2)
        panel = frame[:bottom, :right]
        panel[:] = (panel.astype(np.uint16) * 2 // 5).astype(np.uint8)
        x, y = 4, 4 + self.line_height - 4
        for text, colour in lines:
            if colour is None:
                self.text(frame, text, x, y, (255, 255, 255))
            else:
                cv2.rectangle(frame, (x, y - swatch), (x + swatch, y), colour, -1)
                self.text(frame, text, x + swatch + 4, y, colour)
            y += self.line_height


def annotate_frame(frame: np.ndarray, index: int, tracks: Mapping[str, Track],
                   groundtruth: np.ndarray | None = None, *, origin: int = 0,
                   labels: bool = True) -> np.ndarray:
    """Frame ``index`` (0-based) of a sequence with its boxes drawn, as ``write_video`` draws it.

    Returns a new RGB array; ``frame`` is not modified. Conventions as in :func:`write_video`.
    """
    image = np.array(frame, dtype=np.uint8, copy=True)
    painter = _Painter(image.shape[1], image.shape[0])
    lines = _draw(painter, image, index, _prepare(tracks), _groundtruth(groundtruth),
                  float(origin))
    if labels:
        painter.legend(image, lines)
    return image


def _prepare(tracks: Mapping[str, Track]) -> list[_Track]:
    return [_as_track(str(name), value, TRACKER_COLOURS[index % len(TRACKER_COLOURS)])
            for index, (name, value) in enumerate(tracks.items())]


def _groundtruth(groundtruth: np.ndarray | None) -> np.ndarray | None:
    gt = None if groundtruth is None else np.asarray(groundtruth, dtype=np.float64)
    if gt is not None and (gt.ndim != 2 or gt.shape[1] not in (4, 8)):
        raise SiambenchError(f"ground truth must be (N, 4) or (N, 8), got shape {gt.shape}")
    return gt


def _check_suffix(out: Path) -> None:
    if out.suffix.lower() not in (*MP4_SUFFIXES, AVI_SUFFIX):
        raise SiambenchError(f"{out}: unsupported video file extension {out.suffix!r}; use .mp4 "
                             "(MPEG-4, mp4v) or .avi (Motion-JPEG)")


def _open_writer(path: Path, fourcc: str, fps: float, size: tuple[int, int]) -> Any:
    """A ``cv2.VideoWriter`` for ``path`` or None when the codec/container cannot be opened."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), size)
    if not writer.isOpened():
        writer.release()
        return None
    return writer


def _temporary(target: Path) -> Path:
    # The temporary name keeps the real extension: OpenCV picks the container from it.
    # A fresh unique name (not mkstemp: the file would keep mode 0600 instead of the umask's).
    return target.parent / f".{target.stem}.{uuid.uuid4().hex}.tmp{target.suffix}"


def write_video(out: Path, frames: Iterable[np.ndarray], tracks: Mapping[str, Track],
                groundtruth: np.ndarray | None = None, *, fps: float = 30.0, labels: bool = True,
                origin: int = 0) -> Path:
    """Write ``frames`` (RGB ``uint8`` ``(H, W, 3)``, streamed) with boxes drawn; return the path.

    ``tracks`` maps tracker names to their boxes (see :data:`Track`), drawn in
    :data:`TRACKER_COLOURS` in order; ``groundtruth`` ``(N, 4)`` or ``(N, 8)`` is drawn in green.
    Boxes are in the frame whose first pixel is ``origin`` (give the dataset spec's ``origin``:
    1 for OTB-style ground truth; the default 0 means array coordinates). ``labels`` draws the
    legend (names, frame number, VOT status). Rows past the end of a track are not drawn; a
    frame of another size than the first is resized to it. ``out`` ending in ``.mp4`` (or
    ``.m4v``/``.mov``) is MPEG-4 (``mp4v``), ``.avi`` Motion-JPEG; when ``mp4v`` cannot be
    opened the video goes to ``out`` with suffix ``.avi`` (the returned path) with a
    :class:`VideoFallbackWarning`. Odd frame sizes are padded by one black row/column.
    """
    out = Path(out)
    _check_suffix(out)
    if not fps > 0:
        raise SiambenchError(f"fps must be positive, got {fps}")
    entries = _prepare(tracks)
    gt = _groundtruth(groundtruth)
    out.parent.mkdir(parents=True, exist_ok=True)
    target = out
    temporary: Path | None = None
    writer = None
    size = (0, 0)
    painter: _Painter | None = None
    try:
        for index, frame in enumerate(frames):
            frame = np.asarray(frame)
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise SiambenchError(f"frame {index + 1}: expected an RGB uint8 (H, W, 3) array, "
                                     f"got {frame.dtype} {frame.shape}")
            if painter is None:
                size = (frame.shape[1], frame.shape[0])
                painter = _Painter(*size)
                writer, target, temporary = _start(out, fps, size)
            image = frame.copy()
            lines = _draw(painter, image, index, entries, gt, float(origin))
            if labels:
                painter.legend(image, lines)
            if (image.shape[1], image.shape[0]) != size:
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            writer.write(cv2.cvtColor(_even(image), cv2.COLOR_RGB2BGR))
        if writer is None or temporary is None:
            raise SiambenchError(f"{out}: no frames to write")
        writer.release()
        writer = None
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, target)
        temporary = None
    finally:
        if writer is not None:
            writer.release()
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return target


def _start(out: Path, fps: float, size: tuple[int, int]) -> tuple[Any, Path, Path]:
    """Open the writer on a temporary file; returns ``(writer, final path, temporary path)``."""
    even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
    attempts = [(out, "MJPG")] if out.suffix.lower() == AVI_SUFFIX else \
        [(out, "mp4v"), (out.with_suffix(AVI_SUFFIX), "MJPG")]
    for target, fourcc in attempts:
        temporary = _temporary(target)
        writer = _open_writer(temporary, fourcc, fps, even)
        if writer is not None:
            if target != out:
                warnings.warn(f"the MPEG-4 (mp4v) encoder of this OpenCV build could not be "
                              f"opened; wrote Motion-JPEG {target} instead of {out}",
                              VideoFallbackWarning, stacklevel=3)
            return writer, target, temporary
        temporary.unlink(missing_ok=True)
    raise SiambenchError(f"{out}: OpenCV cannot open a video writer (neither mp4v .mp4 nor MJPG "
                         ".avi); check that opencv-contrib-python-headless is installed correctly")


def _draw(painter: _Painter, image: np.ndarray, index: int, entries: list[_Track],
          gt: np.ndarray | None, origin: float
          ) -> list[tuple[str, tuple[int, int, int] | None]]:
    """Draw frame ``index``'s regions on ``image``; return the legend lines."""
    lines: list[tuple[str, tuple[int, int, int] | None]] = [(f"frame {index + 1}", None)]
    if gt is not None:
        if index < len(gt):
            painter.region(image, gt[index], origin, GROUNDTRUTH_COLOUR)
        lines.append(("ground truth", GROUNDTRUTH_COLOUR))
    for track in entries:
        text = track.name
        if index < len(track.regions):
            code = None if track.codes is None else int(track.codes[index])
            if code in STATUS_NAMES:
                text += f": {STATUS_NAMES[code]}"
            else:
                painter.region(image, track.regions[index], origin, track.colour)
        lines.append((text, track.colour))
    return lines


def _file_name(name: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", name) or "sequence"


def save_sequence_video(out_dir: Path, sequence: Any, runs_or_boxes: Track, *, origin: int,
                        tracker_name: str, fps: float = 30.0) -> Path:
    """Write ``<out_dir>/<sequence name>.mp4``: the sequence's frames, its ground truth and one
    tracker's result (boxes in the ground truth's frame, first repetition of a list of runs).

    Called by ``siambench run --save-video DIR`` after each sequence; ``origin`` is the
    dataset spec's. Frames are decoded again, one at a time.
    """
    if not sequence.has_frames:
        raise SiambenchError(f"sequence {sequence.name!r}: no images to draw a video on")
    out = Path(out_dir) / f"{_file_name(sequence.name)}.mp4"
    return write_video(out, sequence.frames(), {tracker_name: runs_or_boxes},
                       sequence.groundtruth, fps=fps, origin=origin)


@dataclass
class Rendered:
    """What ``render_sequence`` wrote: the video path, the trackers drawn and the warnings."""

    path: Path
    trackers: list[str]
    frames: int
    warnings: list[str]


def render_sequence(dataset_name: str, sequence_name: str, compare: SequenceOf[str], out: Path,
                    *, root: Path | None = None, results_dir: Path | None = None,
                    fps: float = 30.0, labels: bool = True) -> Rendered:
    """``siambench render``: draw the saved results of the trackers in ``compare`` (every tracker
    of ``results_dir`` when empty; default folder ``results/<dataset>``) on one sequence.

    Results are read with :func:`siambench.results.read_tracker` in any format and aligned with
    :func:`siambench.results.align`; boxes are converted with the dataset spec's ``origin``.
    """
    from siambench.datasets import get_spec, load_dataset
    from siambench.names import canonical_key
    from siambench.report.build import select_trackers
    from siambench.results import align, find_trackers, read_tracker

    out = Path(out)
    _check_suffix(out)
    spec = get_spec(dataset_name)
    results_dir = Path(results_dir) if results_dir is not None else Path("results") / spec.name
    if not results_dir.is_dir() and not (results_dir.is_file() and results_dir.suffix == ".zip"):
        raise SiambenchError(f"results folder {results_dir} does not exist; run `siambench run "
                             f"--dataset {spec.name}` first or pass --results-dir")
    dataset = load_dataset(spec.name, root)
    sequence = dataset[sequence_name]
    if not sequence.has_frames:
        raise SiambenchError(f"sequence {sequence.name!r} of {spec.name} at {dataset.root} has "
                             "annotations but no images: point --root at the full dataset "
                             "(with its frames) to render it")
    single = dataset.subset([sequence.name])
    key = canonical_key(sequence.name)
    trackers = select_trackers(find_trackers(results_dir), compare, results_dir)
    tracks: dict[str, Track] = {}
    notes: list[str] = []
    for name, path in trackers.items():
        results = read_tracker(path, name)
        # Only this sequence's files: the others would only add "not in the dataset" warnings.
        kept = {seq: runs for seq, runs in results.sequences.items() if canonical_key(seq) == key}
        broken = [error for seq, error in results.unreadable.items() if canonical_key(seq) == key]
        if broken:  # the file is there but cannot be read: say why, not "no results"
            raise SiambenchError(f"{name}: the results of {sequence.name!r} cannot be read: "
                                 f"{broken[0]}")
        if not kept:
            raise SiambenchError(f"{name}: no results for sequence {sequence.name!r} in {path}")
        aligned, found = align(dataclasses.replace(results, sequences=kept), single)
        runs = aligned.sequences[sequence.name]
        if len(runs) > 1:
            found = [*found, f"{len(runs)} repetitions; the first is drawn"]
        tracks[name] = runs[0]
        notes += [f"{name}: {w}" for w in found]
    written = write_video(out, sequence.frames(), tracks, sequence.groundtruth, fps=fps,
                          labels=labels, origin=spec.origin)
    return Rendered(written, list(tracks), len(sequence), notes)
