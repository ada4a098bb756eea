"""The embedded synthetic benchmark: a deterministic generator and its OTB, VOT and GOT-10k writers.

Each sequence is a distinctive textured object moving over a textured world larger than the
frame, seen by a panning and zooming camera; per sequence a *theme* (occlusion, look-alike
distractors, illumination, fast motion, scale, rotation, out-of-view, low resolution,
deformation, out-of-plane rotation) plus random secondary difficulties are built in, and the
sequence lists its OTB attribute codes. Sequence ``index`` of seed ``seed`` is drawn from
``PCG64(SeedSequence(seed, spawn_key=(index,)))`` alone, so it is the same whatever else is
generated; the default test and train splits use different seeds and are therefore disjoint.

Box conventions (see :mod:`siambench.datasets.synthetic_render`): the target is a rotated
rectangle; its axis-aligned ground truth is the bounding box of that rectangle (VOT2016+'s rule).
0-based coordinates are pixel-edge coordinates (pixel ``c`` spans ``[c, c + 1)``). Each layout
uses its benchmark's origin (the registry's ``DatasetSpec.origin``): the 1-based OTB files add 1
to x and y, so OTB's ``x`` is the 1-based index of the leftmost pixel column; the VOT and GOT-10k
files are 0-based (VOT's polygon of a rectangle is ``x, y, x + w, y, x + w, y + h, x, y + h`` as
in the VOT toolkit, read with origin 0 as pysot and the VOT toolkit do). Numbers are written
with ``repr`` (the shortest text that reads back to the same float64), never rounded. Fully
out-of-view frames keep their true (off-image) box; the flags
``absent``/``cover`` (and GOT-10k's ``absence.label``) say that the target is not visible.

Generation (:func:`write_benchmark`, and :func:`load` on first use) shows what it makes, how big
it will be and a progress bar on stderr, and is resumable: finished sequences are kept in the
staging folder ``<out>.partial`` and a rerun generates only the rest (byte-identical result).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from siambench.datasets.base import Dataset, FrameFlags, Sequence
from siambench.datasets.synthetic_render import (
    OTB_ATTRIBUTES,
    THEMES,
    choose_features,
    corners,
    illumination_at,
    plan_sequence,
    render_frame,
    theme_of,
)
from siambench.errors import DataFormatError, SiambenchError, UnknownNameError
from siambench.fileio import atomic_write_bytes
from siambench.textio import read_flags

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

GENERATOR_VERSION = "1"
"""Bumped whenever the generated files change; a cached set of another version is regenerated."""

TEST_SEED = 0
"""Seed of the default test split (``synthetic``); ``siambench data synth`` defaults to it too."""

TRAIN_SEED = 1
"""Seed of the default train split (``synthetic-train``); never equal to :data:`TEST_SEED`."""

VAL_SEED = 2
"""Seed of the validation split (``synthetic-val``) that training validates on: disjoint from both."""

VOT_TAGS: tuple[str, ...] = ("camera_motion", "illum_change", "motion_change", "size_change",
                             "occlusion")
"""The five per-frame VOT tags, as file stems (``<tag>.tag``)."""

FORMATS: tuple[str, ...] = ("otb", "vot", "got10k")
MANIFEST = "synthetic.json"
"""The completion marker: written last, it records generator version, seed, counts and names."""

JPEG_QUALITY = 85
"""JPEG quality of written frames (keeps the 1000 x 40 train split under 500 MB)."""


@dataclass(frozen=True)
class SplitSpec:
    """A default split: the seed and the numbers of sequences and frames."""

    seed: int
    sequences: int
    frames: int
    dataset: str

    def made(self, seed: Any, sequences: Any, frames: Any) -> bool:
        """Whether a set of this seed and these counts is this split (a manifest's or a request's)."""
        return (self.seed, self.sequences, self.frames) == (seed, sequences, frames)


SPLITS: dict[str, SplitSpec] = {
    "test": SplitSpec(TEST_SEED, 20, 100, "synthetic"),
    "train": SplitSpec(TRAIN_SEED, 1000, 40, "synthetic-train"),
    "val": SplitSpec(VAL_SEED, 40, 100, "synthetic-val"),
}
"""The registry variants: ``test`` (20 x 100 frames), ``train`` (1000 x 40 frames: many short
sequences, because the number of distinct targets, not of frames, is what a Siamese network
learns from; see siambench/bundled/siamrpn/MODEL.md) and ``val`` (40 x 100 frames, for
validation during training and for choosing hyper-parameters)."""


@dataclass
class SyntheticSequence:
    """One generated sequence, in memory.

    Geometry is 0-based pixel-edge coordinates: ``rotated`` ``(N, 5)`` is ``cx, cy, w, h, angle``
    (radians, clockwise on screen), ``polygons`` ``(N, 8)`` its corners, ``boxes`` ``(N, 4)``
    ``x, y, w, h`` their bounding boxes. ``visible``/``in_view``/``occlusion`` are fractions of
    the target's full area that are visible, inside the image, and hidden by occluders.
    ``cover`` is GOT-10k's visible fraction in eighths (0 exactly when ``absent``).
    """

    name: str
    seed: int
    index: int
    theme: str
    frames: np.ndarray
    image_size: tuple[int, int]
    rotated: np.ndarray
    polygons: np.ndarray
    boxes: np.ndarray
    visible: np.ndarray
    in_view: np.ndarray
    occlusion: np.ndarray
    absent: np.ndarray
    out_of_view: np.ndarray
    cut_by_image: np.ndarray
    cover: np.ndarray
    tags: dict[str, np.ndarray]
    attributes: tuple[str, ...]
    object_class: str
    masks: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)


# -- generation ------------------------------------------------------------------------------------

def sequence_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of sequence ``index`` of set ``seed`` (negative seeds wrap modulo 2**64)."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed % 2**64, spawn_key=(index,))))


def sequence_name(index: int, theme: str) -> str:
    """``synth-007-occlusion``: stable for a given seed and index."""
    return f"synth-{index:03d}-{theme}"


def generate_sequence(seed: int, index: int, frames: int = 100,
                      size: tuple[int, int] = (320, 240), *,
                      attributes: Iterable[str] | None = None,
                      with_masks: bool = False) -> SyntheticSequence:
    """Generate sequence ``index`` of the set ``seed`` in memory (a pure function).

    ``size`` is the nominal ``(width, height)``; half of the low-resolution sequences are
    rendered at half that size. ``attributes`` (OTB codes) replaces the random choice of built-in
    difficulties; the listed attributes are then measured from the result (SV, OCC, FM, OV, LR)
    or taken from the design (IV, DEF, MB, IPR, OPR, BC). ``with_masks`` also returns the
    target's rendered silhouette per frame (float32 alpha, before occluders).
    """
    if int(frames) < 2:
        raise SiambenchError(f"a synthetic sequence needs at least 2 frames, got {frames}")
    width, height = (int(v) for v in size)
    if width < 64 or height < 48:
        raise SiambenchError(f"synthetic frames must be at least 64x48 pixels, got {width}x{height}")
    rng = sequence_rng(seed, index)
    if attributes is None:
        theme = theme_of(index)
        features = choose_features(rng, index)
    else:
        features = frozenset(attributes)
        unknown = sorted(features - set(OTB_ATTRIBUTES))
        if unknown:
            raise UnknownNameError(f"unknown attribute code(s) {', '.join(unknown)}; known: "
                                   f"{', '.join(OTB_ATTRIBUTES)}")
        by_code = {code: theme for theme, code in THEMES.items()}
        theme = next((by_code[c] for c in attributes if c in by_code), theme_of(index))
    plan = plan_sequence(rng, int(frames), (width, height), features, theme)
    images, states, masks = [], [], []
    for i in range(int(frames)):
        image, state, mask = render_frame(plan, i, want_mask=with_masks)
        images.append(image)
        states.append(state)
        if with_masks:
            masks.append(mask)
    return _assemble(seed, index, theme, plan, np.stack(images), states,
                     np.stack(masks) if with_masks else None)


def _assemble(seed: int, index: int, theme: str, plan: Any, frames: np.ndarray, states: list,
              masks: np.ndarray | None) -> SyntheticSequence:
    target = plan.target
    rotated = np.column_stack([target.cx, target.cy, target.w, target.h, target.angle])
    polygons = np.stack([corners(*row).reshape(8) for row in rotated])
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    boxes = np.column_stack([xs.min(1), ys.min(1), xs.max(1) - xs.min(1), ys.max(1) - ys.min(1)])
    in_view = np.array([s.in_view for s in states])
    visible = np.array([s.visible for s in states])
    occlusion = np.array([s.occluded for s in states])
    absent = visible < 0.005
    cover = np.where(absent, 0, np.clip(np.floor(visible * 8 + 1e-6), 1, 8)).astype(np.int64)
    tags = _vot_tags(plan, boxes, occlusion)
    attributes = _attributes(plan.features, boxes, target.w * target.h, in_view, occlusion)
    return SyntheticSequence(
        name=sequence_name(index, theme), seed=seed, index=index, theme=theme, frames=frames,
        image_size=plan.size, rotated=rotated, polygons=polygons, boxes=boxes, visible=visible,
        in_view=in_view, occlusion=occlusion, absent=absent, out_of_view=in_view < 0.005,
        cut_by_image=in_view < 0.999, cover=cover, tags=tags, attributes=attributes,
        object_class=f"textured {plan.shape}", masks=masks,
        meta={"theme": theme, "seed": seed, "index": index, "design": sorted(plan.features),
              "distractors": len(plan.distractors), "occluders": len(plan.occluders)})


def _step(values: np.ndarray, lag: int = 1) -> np.ndarray:
    """``values[t] - values[t - lag]`` with the first ``lag`` rows copied from row ``lag``."""
    out = np.zeros_like(values)
    if len(values) > lag:
        out[lag:] = values[lag:] - values[:-lag]
        out[:lag] = out[lag]
    return out


def _vot_tags(plan: Any, boxes: np.ndarray, occlusion: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame VOT tags, measured from the plan and the ground truth.

    camera_motion: the camera pans > 0.5 px/frame or zooms > 0.4 %/frame; illum_change: the light
    on the target's centre changes > 1 %/frame; motion_change: the centre's acceleration exceeds
    0.3 px/frame^2; size_change: sqrt(box area) changes > 2.5 % over 5 frames; occlusion: >= 10 %
    of the target hidden by an occluder.
    """
    target = plan.target
    log_zoom = np.log(plan.zoom)
    pan = np.hypot(_step(plan.cam_x), _step(plan.cam_y)) * plan.zoom
    camera = (pan > 0.5) | (np.abs(_step(log_zoom)) > 0.004)
    light = illumination_at(plan, target.cx, target.cy)
    illum = np.abs(_step(np.log(np.maximum(light, 1e-6)))) > 0.01
    velocity = np.column_stack([_step(target.cx), _step(target.cy)])
    acceleration = np.hypot(*_step(velocity).T)
    motion = acceleration > 0.3
    log_side = 0.5 * np.log(np.maximum(boxes[:, 2] * boxes[:, 3], 1e-9))
    size = np.abs(_step(log_side, min(5, max(1, len(boxes) - 1)))) > 0.025
    return {"camera_motion": camera, "illum_change": illum, "motion_change": motion,
            "size_change": size, "occlusion": occlusion >= 0.1}


def _attributes(features: frozenset[str], boxes: np.ndarray, size: np.ndarray,
                in_view: np.ndarray, occlusion: np.ndarray) -> tuple[str, ...]:
    """OTB attribute codes: SV, OCC, FM, OV, LR measured with OTB's rules, the rest as designed.

    SV: the target's (rotated-rectangle) area outside [1/2, 2] x the first frame's, so that a
    rotation alone does not count; FM: centre moves > 20 px in one frame;
    OV: less than 90 % of the target inside the image in some frame; LR: median box area < 400
    px; OCC: at least 25 % of the target hidden by an occluder in some frame.
    """
    area = boxes[:, 2] * boxes[:, 3]
    ratio = size / size[0]
    centre = boxes[:, :2] + boxes[:, 2:] / 2
    motion = np.hypot(*np.diff(centre, axis=0).T) if len(boxes) > 1 else np.zeros(1)
    measured = {
        "SV": bool(np.any((ratio < 0.5) | (ratio > 2.0))),
        "FM": bool(np.max(motion) > 20.0),
        "OV": bool(np.min(in_view) < 0.9),
        "LR": bool(np.median(area) < 400.0),
        "OCC": bool(np.max(occlusion) >= 0.25),
    }
    codes = {code for code in features if code not in measured}
    codes |= {code for code, present in measured.items() if present}
    return tuple(code for code in OTB_ATTRIBUTES if code in codes)


# -- writers -----------------------------------------------------------------------------------------

def _write(path: Path, data: bytes | str) -> None:
    """Write one file atomically, without fsync (the whole set is renamed into place at the end)."""
    atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data, fsync=False)


def _number(value: float) -> str:
    return repr(float(value))


def _rows(values: np.ndarray) -> str:
    return "".join(",".join(_number(v) for v in row) + "\n" for row in values)


def _labels(values: np.ndarray) -> str:
    return "".join(f"{int(v)}\n" for v in values)


def _jpeg(frame: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise SiambenchError("OpenCV could not encode a JPEG frame")
    return data.tobytes()


def _write_frames(folder: Path, seq: SyntheticSequence, pattern: str, quality: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(seq.frames):
        _write(folder / pattern.format(i + 1), _jpeg(frame, quality))


def _write_labels(folder: Path, seq: SyntheticSequence) -> None:
    """GOT-10k label files: absence (1 = absent), cover (eighths visible), cut_by_image."""
    _write(folder / "absence.label", _labels(seq.absent))
    _write(folder / "cover.label", _labels(seq.cover))
    _write(folder / "cut_by_image.label", _labels(seq.cut_by_image))


def _write_tags(folder: Path, seq: SyntheticSequence) -> None:
    """VOT ``<tag>.tag`` files (0/1 per line); a tag that is never set has no file, as in VOT."""
    for tag in VOT_TAGS:
        if np.any(seq.tags[tag]):
            _write(folder / f"{tag}.tag", _labels(seq.tags[tag]))


def write_otb_sequence(out: Path, seq: SyntheticSequence, quality: int = JPEG_QUALITY) -> Path:
    """OTB layout: ``<out>/<Seq>/img/0001.jpg``, ``groundtruth_rect.txt`` (1-based ``x,y,w,h``),
    ``attrs.txt`` (``SV, DEF, FM``, the OTB Python toolkit's format, no final newline).

    Also writes GOT-10k-style ``absence.label``/``cover.label``/``cut_by_image.label`` and VOT
    ``<tag>.tag`` files beside them (OTB readers ignore them; :func:`load` reads them as flags).
    """
    folder = Path(out) / seq.name
    digits = max(4, len(str(len(seq))))
    _write_frames(folder / "img", seq, "{:0" + str(digits) + "d}.jpg", quality)
    one_based = seq.boxes + np.array([1.0, 1.0, 0.0, 0.0])
    _write(folder / "groundtruth_rect.txt", _rows(one_based))
    _write(folder / "attrs.txt", ", ".join(seq.attributes))
    _write_labels(folder, seq)
    _write_tags(folder, seq)
    return folder


def write_vot_sequence(out: Path, seq: SyntheticSequence, quality: int = JPEG_QUALITY) -> Path:
    """VOT (vot-toolkit workspace) layout: ``<out>/<seq>/color/00000001.jpg``,
    ``groundtruth.txt`` (0-based 8-number rotated-box polygons: VOT's origin is 0),
    ``sequence``, ``<tag>.tag``.
    ``list.txt`` is written by :func:`write_benchmark`."""
    folder = Path(out) / seq.name
    _write_frames(folder / "color", seq, "{:08d}.jpg", quality)
    _write(folder / "groundtruth.txt", _rows(seq.polygons))
    _write(folder / "sequence", f"channels.color=color/%08d.jpg\nformat=default\nfps=30\n"
                                f"name={seq.name}\n")
    _write_tags(folder, seq)
    return folder


def write_got10k_sequence(out: Path, seq: SyntheticSequence,
                          quality: int = JPEG_QUALITY) -> Path:
    """GOT-10k layout: ``<out>/<seq>/00000001.jpg``, ``groundtruth.txt`` (0-based ``x,y,w,h``),
    ``absence.label``, ``cover.label``, ``cut_by_image.label``, ``meta_info.ini``."""
    folder = Path(out) / seq.name
    _write_frames(folder, seq, "{:08d}.jpg", quality)
    _write(folder / "groundtruth.txt", _rows(seq.boxes))
    _write_labels(folder, seq)
    seconds = len(seq) / 30
    speed = "fast" if "FM" in seq.attributes else "slowly"
    meta = {
        "url": "siambench-synthetic",
        "begin": "00:00:00",
        "end": f"00:{int(seconds // 60):02d}:{math.ceil(seconds % 60):02d}",
        "anno_fps": "30Hz",
        "object_class": seq.object_class,
        "motion_class": seq.theme,
        "major_class": "synthetic object",
        "root_class": "object",
        "motion_adverb": speed,
        "resolution": f"({seq.image_size[0]}, {seq.image_size[1]})",
        "attributes": ", ".join(seq.attributes),
    }
    _write(folder / "meta_info.ini",
           "[METAINFO]\n" + "".join(f"{key}: {value}\n" for key, value in meta.items()))
    return folder


_WRITERS: dict[str, Callable[[Path, SyntheticSequence, int], Path]] = {
    "otb": write_otb_sequence, "vot": write_vot_sequence, "got10k": write_got10k_sequence,
}


def _generate_and_write(job: tuple[Path, str, int, int, int, tuple[int, int], int]
                        ) -> tuple[dict[str, Any], int]:
    """One sequence, generated and written into the staging folder ``job[0]`` (see
    :func:`write_benchmark`); returns its manifest entry and the bytes it takes on disk.

    The sequence is written into a private ``set/.incoming-*`` folder, its record
    ``entries/<index>.json`` is written next, and only then is the sequence folder renamed into
    ``set/``: a sequence folder in ``set/`` is always complete and has its record. A module-level
    function, so that it is spawn-safe for a process pool.
    """
    staging, fmt, seed, index, frames, size, quality = job
    seq = generate_sequence(seed, index, frames, size)
    tree = staging / _STAGED_SET
    incoming = tree / f"{_INCOMING}{index:06d}-{uuid.uuid4().hex[:8]}"
    try:
        folder = _WRITERS[fmt](incoming, seq, quality)
        used = _disk_usage(folder)
        entry = {"name": seq.name, "index": index, "theme": seq.theme,
                 "attributes": list(seq.attributes), "frames": len(seq),
                 "image_size": list(seq.image_size), "object_class": seq.object_class}
        _write(staging / _ENTRIES / f"{index:06d}.json",
               json.dumps({"entry": entry, "bytes": used}) + "\n")
        try:
            os.rename(folder, tree / seq.name)
        except OSError:
            if not (tree / seq.name).is_dir():  # else an earlier process's copy: the same bytes
                raise
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    return entry, used


def _disk_usage(folder: Path) -> int:
    """Bytes that the files under ``folder`` take on disk (allocated blocks where known)."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_file():
            info = path.stat()
            blocks = getattr(info, "st_blocks", None)
            total += blocks * 512 if blocks is not None else info.st_size
    return total


def _init_worker(parent: int) -> None:
    """Pool initializer. Ctrl-C is the main process's to handle (it lets the sequences in flight
    finish, keeps them, and stops); a worker that died of it would only print a traceback. A
    worker whose main process was killed (SIGKILL, SIGTERM) exits instead of waiting forever for
    work (its unfinished sequence is removed by the next run)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="siambench-parent-watch", daemon=True).start()


def _default_workers(sequences: int) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # a spawned worker costs about half a second to start: only worth it for larger sets
    return max(1, min(cpus, 8, sequences // 8))


# -- resumable generation: staging folder, lock, progress -------------------------------------------

PARTIAL_SUFFIX = ".partial"
"""The staging folder of ``<out>`` is ``<out>.partial``: kept when generation is interrupted."""

_STAGING_MANIFEST = "partial.json"   # the definition of the set being staged
_STAGED_SET = "set"                  # the tree that becomes <out>
_ENTRIES = "entries"                 # <index>.json per finished sequence: manifest entry + bytes
_INCOMING = ".incoming-"             # a sequence being written (removed on failure or rerun)

_BYTES_PER_PIXEL = 0.125
"""Measured JPEG size of a synthetic frame at quality 85 (0.11-0.13 byte per pixel); the size
estimate rounds each file up to 4 KiB blocks, as disks store it."""

def staging_folder(out: Path) -> Path:
    """The staging folder of the set ``out`` (see :data:`PARTIAL_SUFFIX`)."""
    out = Path(out).expanduser()
    return out.with_name(out.name + PARTIAL_SUFFIX)


def estimated_bytes(sequences: int, frames: int, size: tuple[int, int] = (320, 240)) -> int:
    """The disk space a set will roughly take (frames dominate; 4 KiB blocks)."""
    block = 4096
    frame = math.ceil(size[0] * size[1] * _BYTES_PER_PIXEL / block) * block
    return int(sequences) * (int(frames) * frame + 8 * block)


def _megabytes(count: float) -> str:
    return f"{count / 1e6:.0f} MB" if count >= 1e7 else f"{count / 1e6:.1f} MB"


def _say(enabled: bool) -> Callable[[str], None]:
    def say(text: str) -> None:
        if enabled:
            print(text, file=sys.stderr, flush=True)
    return say


class _GenerationLock:
    """An exclusive lock on generating ``out``: the file ``.<name>.lock`` beside it, locked with
    ``flock`` (released by the OS when the process ends, however it ends) and deleted on release.

    A second process waits (saying so), then finds the set complete. Where ``fcntl`` is missing
    (Windows) there is no lock: two processes generating one set at once are not supported there.
    """

    def __init__(self, out: Path, say: Callable[[str], None]) -> None:
        self.out = out
        self.path = out.with_name(f".{out.name}.lock")
        self.say = say
        self.fd: int | None = None

    def __enter__(self) -> _GenerationLock:
        if fcntl is None:  # pragma: no cover - Windows
            return self
        told = False
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            except OSError as exc:
                raise SiambenchError(f"cannot create the lock file {self.path} ({exc.strerror}); "
                                     "generate into a folder you can write to") from None
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if not told:
                        self.say(f"waiting for another siambench process that is generating "
                                 f"{self.out} (lock {self.path})")
                        told = True
                    fcntl.flock(fd, fcntl.LOCK_EX)
                mine = os.fstat(fd)
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:
                    current = None
            except BaseException:
                os.close(fd)
                raise
            if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                self.fd = fd
                return self
            os.close(fd)  # the holder deleted the file as it released it: lock the new one

    def __exit__(self, *exc_info: object) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # while still locked (see __enter__)
            os.close(self.fd)
            self.fd = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _open_staging(staging: Path, definition: dict[str, Any], say: Callable[[str], None]) -> None:
    """Make ``staging`` hold a (possibly part-written) set of ``definition``: reuse one of the same
    definition, discard one of another (saying so), refuse a folder that is not a staging folder.
    Called under the generation lock, so leftovers of dead writers can be removed."""
    if staging.exists() or staging.is_symlink():
        record = staging / _STAGING_MANIFEST
        if not staging.is_dir() or (not record.is_file() and any(staging.iterdir())):
            raise SiambenchError(
                f"{staging} exists and is not a siambench staging folder (no {_STAGING_MANIFEST}); "
                "it is where an unfinished synthetic set is kept: move it away or choose another "
                "folder")
        recorded = _read_json(record) if record.is_file() else definition
        if recorded != definition:
            changed = [f"{key} {recorded.get(key)!r} -> {value!r}" for key, value in definition.items()
                       if recorded.get(key) != value] if isinstance(recorded, dict) else ["unreadable"]
            say(f"discarding {staging}: it holds part of another synthetic set "
                f"({', '.join(changed)})")
            shutil.rmtree(staging)
    (staging / _STAGED_SET).mkdir(parents=True, exist_ok=True)
    (staging / _ENTRIES).mkdir(exist_ok=True)
    if _read_json(staging / _STAGING_MANIFEST) != definition:
        _write(staging / _STAGING_MANIFEST, json.dumps(definition, indent=1) + "\n")
    for leftover in (staging / _STAGED_SET).glob(f"{_INCOMING}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _finished(staging: Path, sequences: int) -> dict[int, tuple[dict[str, Any], int]]:
    """The sequences already in ``staging``: index -> (manifest entry, bytes)."""
    done: dict[int, tuple[dict[str, Any], int]] = {}
    for index in range(sequences):
        record = _read_json(staging / _ENTRIES / f"{index:06d}.json")
        if not isinstance(record, dict) or not isinstance(record.get("entry"), dict):
            continue
        entry = record["entry"]
        name = entry.get("name")
        if isinstance(name, str) and entry.get("index") == index \
                and (staging / _STAGED_SET / name).is_dir():
            done[index] = (entry, int(record.get("bytes") or 0))
    return done


def write_benchmark(out: Path, fmt: str = "otb", sequences: int = 20, frames: int = 100,
                    seed: int = 0, *, size: tuple[int, int] = (320, 240),
                    workers: int | None = None, quality: int = JPEG_QUALITY,
                    progress: bool = True) -> Path:
    """Generate ``sequences`` sequences of ``frames`` frames and write them in layout ``fmt``.

    ``fmt`` is ``otb``, ``vot`` or ``got10k`` (``out`` is then the split folder, holding
    ``list.txt``). Resumable: the set is built in the staging folder ``<out>.partial`` (kept on
    Ctrl-C, a kill or an error), each sequence renamed into it when complete; a rerun with the
    same definition (seed, counts, size, layout, JPEG quality, generator and library versions)
    generates only the missing sequences, and the result is byte-identical to an uninterrupted
    run. A staging folder of another definition is discarded. When complete, the set is renamed
    to ``out``, with :data:`MANIFEST` written last, so ``out`` never looks complete before it is.
    An existing ``out`` is replaced only when it is empty or holds an earlier synthetic set.
    One process at a time generates a given ``out`` (a lock file beside it); ``workers`` > 1
    generates sequences in parallel processes (the output is identical). ``progress`` shows
    what is made, its size and a progress bar on stderr.
    Returns ``out``.
    """
    if fmt not in FORMATS:
        raise UnknownNameError(f"unknown synthetic layout {fmt!r}; choose one of "
                               f"{', '.join(FORMATS)}")
    if int(sequences) < 1:
        raise SiambenchError(f"--sequences must be at least 1, got {sequences}")
    out = Path(out).expanduser()
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress = bool(progress)
    with _GenerationLock(out, _say(progress)):
        return _write_locked(out, fmt, int(sequences), int(frames), int(seed),
                             (int(size[0]), int(size[1])), workers, int(quality), progress)


def _write_locked(out: Path, fmt: str, sequences: int, frames: int, seed: int,
                  size: tuple[int, int], workers: int | None, quality: int, progress: bool) -> Path:
    """:func:`write_benchmark` once the generation lock of ``out`` is held."""
    say = _say(progress)
    _check_replaceable(out)
    split = next((key for key, spec in SPLITS.items()
                  if spec.made(seed, sequences, frames) and size == (320, 240)), "custom")
    definition = {"generator": "siambench.datasets.synthetic", "version": GENERATOR_VERSION,
                  "format": fmt, "seed": seed, "sequences": sequences, "frames": frames,
                  "size": list(size), "jpeg_quality": quality,
                  "libraries": {"numpy": np.__version__, "opencv": cv2.__version__}}
    staging = staging_folder(out)
    _open_staging(staging, definition, say)
    done = _finished(staging, sequences)
    what = SPLITS[split].dataset if split != "custom" else f"a synthetic set (seed {seed})"
    label = SPLITS[split].dataset if split != "custom" else out.name
    say(f"generating {what}: {sequences} sequences x {frames} frames ({fmt} layout, about "
        f"{_megabytes(estimated_bytes(sequences, frames, size))}) into {out}")
    if done:
        say(f"resuming: {len(done)} of {sequences} sequences already written in {staging}")
    jobs = [(staging, fmt, seed, index, frames, size, quality)
            for index in range(sequences) if index not in done]
    interactive = sys.stderr.isatty() if hasattr(sys.stderr, "isatty") else False
    bar = tqdm(total=sequences, initial=len(done), unit="seq", desc=label,
               file=sys.stderr, disable=not progress, dynamic_ncols=True,
               mininterval=0.2 if interactive else 30.0)
    written = sum(used for _, used in done.values())

    def finished(index: int, entry: dict[str, Any], used: int) -> None:
        nonlocal written
        done[index] = (entry, used)
        written += used
        bar.set_postfix_str(f"{_megabytes(written)} of ~"
                            f"{_megabytes(written / len(done) * sequences)}", refresh=False)
        bar.update(1)

    try:
        workers = _default_workers(len(jobs)) if workers is None else max(1, int(workers))
        if workers > 1 and len(jobs) > 1:
            _run_pool(jobs, min(workers, len(jobs)), finished)
        else:
            for job in jobs:
                finished(job[3], *_generate_and_write(job))
    except BaseException as exc:
        bar.close()
        kept = len(_finished(staging, sequences))
        verb = "interrupted" if isinstance(exc, KeyboardInterrupt) else "stopped"
        say(f"{verb}: {kept} of {sequences} sequences kept in {staging}; the same command "
            "continues from there")
        raise
    bar.close()
    tree = staging / _STAGED_SET
    entries = [done[index][0] for index in range(sequences)]
    if fmt in ("vot", "got10k"):
        _write(tree / "list.txt", "".join(f"{entry['name']}\n" for entry in entries))
    manifest = {"generator": "siambench.datasets.synthetic", "version": GENERATOR_VERSION,
                "format": fmt, "split": split, "seed": seed,
                "sequences": sequences, "frames": frames, "size": list(size),
                "jpeg_quality": quality, "entries": entries}
    _write(tree / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    _install(tree, out)
    shutil.rmtree(staging, ignore_errors=True)
    return out


def _run_pool(jobs: list, workers: int, finished: Callable[[int, dict[str, Any], int], None]) -> None:
    """Run ``jobs`` in ``workers`` spawned processes, calling ``finished`` as each completes.

    On an exception or Ctrl-C the jobs not started are cancelled and the ones in flight are
    let finish (they are kept) before the exception propagates."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(_generate_and_write, job): job[3] for job in jobs}
        for future in as_completed(futures):
            finished(futures[future], *future.result())
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of a generated set in ``root``; ``None`` when there is none (incomplete)."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _check_replaceable(out: Path) -> None:
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or read_manifest(out))):
        raise SiambenchError(
            f"{out} exists and does not hold a synthetic benchmark (no {MANIFEST}); refusing to "
            "replace it. Choose an empty or new folder")


def _install(temporary: Path, out: Path) -> None:
    """Move a complete set into place, replacing an empty folder or an earlier set."""
    _check_replaceable(out)
    old = None
    if out.exists():
        if any(out.iterdir()):
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(out, old)
        else:
            out.rmdir()
    try:
        os.replace(temporary, out)
    except OSError:
        if read_manifest(out) is None:  # not a concurrent generator that finished first
            raise
        shutil.rmtree(temporary, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# -- the registry loader -----------------------------------------------------------------------------

def _needs_generation(root: Path, manifest: dict[str, Any] | None, variant: str,
                      spec: SplitSpec) -> bool:
    """Whether ``root`` must be (re)generated to hold split ``variant``; an error when it holds
    another split of this generator version."""
    if manifest is not None and manifest.get("version") == GENERATOR_VERSION \
            and manifest.get("split") not in (variant, "custom"):
        raise SiambenchError(f"{root} holds the synthetic {manifest.get('split')!r} split, not "
                             f"{variant!r}; give each split its own --root folder")
    stale = (manifest is not None and manifest.get("split") == variant  # an older definition's
             and not spec.made(manifest.get("seed"), manifest.get("sequences"), manifest.get("frames")))
    return (manifest is None or stale or manifest.get("version") != GENERATOR_VERSION
            or manifest.get("format") != "otb")


def load(root: Path, variant: str, *, progress: bool = True) -> Dataset:
    """Load the synthetic ``test``, ``train`` or ``val`` split from ``root``, generating it if needed.

    ``root`` is regenerated when it has no complete set, one made by another generator version,
    or this split as an earlier definition of it made it (another seed or size);
    a complete set of the same version is reused (a custom set written with ``siambench data
    synth --format otb`` is loaded as it is). Generation shows progress (``progress``, see
    :func:`write_benchmark`), resumes an interrupted one, and happens under a lock: a second
    process waits and then loads the set the first made. Frames are never read here.
    """
    spec = SPLITS.get(variant)
    if spec is None:
        raise UnknownNameError(f"unknown synthetic split {variant!r}; known: {', '.join(SPLITS)}")
    root = Path(root).expanduser()
    manifest = read_manifest(root)
    if _needs_generation(root, manifest, variant, spec):
        _check_replaceable(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        progress = bool(progress)
        with _GenerationLock(root, _say(progress)):
            manifest = read_manifest(root)  # another process may have made it meanwhile
            if _needs_generation(root, manifest, variant, spec):
                _write_locked(root, "otb", spec.sequences, spec.frames, spec.seed, (320, 240),
                              None, JPEG_QUALITY, progress)
                manifest = read_manifest(root)
        if manifest is None:
            raise DataFormatError(root / MANIFEST, "missing after generating the synthetic set")
    from siambench.datasets.otb import load_folder

    loaded = load_folder(root, spec.dataset)
    entries = {entry["name"]: entry for entry in manifest.get("entries", [])}
    sequences = [_with_flags(seq, root / seq.name, entries.get(seq.name, {}))
                 for seq in loaded]
    meta = {key: manifest[key] for key in ("version", "seed", "sequences", "frames", "split")
            if key in manifest}
    # A sequence the manifest lists but the folder lost (deleted, replaced by a file) is missing,
    # as in any other dataset: `data check` lists it, never a silent drop.
    have = {seq.name for seq in loaded}
    missing = list(dict.fromkeys([*loaded.meta.get("missing", []),
                                  *(name for name in entries if name not in have)]))
    return Dataset(spec.dataset, sequences, root=root,
                   meta={**loaded.meta, "missing": missing, "synthetic": meta})


def _with_flags(seq: Sequence, folder: Path, entry: dict[str, Any]) -> Sequence:
    """The OTB-loaded sequence with the generator's per-frame flags and facts attached."""
    length = entry.get("frames")
    size = entry.get("image_size")
    return Sequence(
        seq.name, groundtruth=lambda: seq.groundtruth, frame_paths=lambda: seq.frame_paths,
        flags=lambda: read_sequence_flags(folder, int(length) if length else len(seq)),
        attributes=seq.attributes,
        image_size=tuple(size) if size else None, dataset=seq.dataset, source=seq.source,
        meta={**seq.meta, **{k: entry[k] for k in ("theme", "index", "object_class") if k in entry}},
        length=length)


def read_sequence_flags(folder: Path, length: int) -> FrameFlags:
    """Read the flags written beside a synthetic sequence (label and tag files)."""
    notes: list[str] = []
    absent, note_a = read_flags(folder / "absence.label", length, missing_ok=False)
    cover, note_c = read_flags(folder / "cover.label", length, missing_ok=False, maximum=8)
    cut, note_u = read_flags(folder / "cut_by_image.label", length, missing_ok=False)
    tags = {}
    for tag in VOT_TAGS:
        values, note = read_flags(folder / f"{tag}.tag", length)
        tags[tag] = values.astype(bool)
        notes += [note] if note else []
    notes += [n for n in (note_a, note_c, note_u) if n]
    return FrameFlags(tags=tags, absent=absent.astype(bool), cover=cover,
                      cut_by_image=cut.astype(bool), notes=tuple(notes))
