"""Pre-cropped training data (``siambench data crop``): every usable target of a dataset cut once
into a ``size × size`` context crop, and the crop folder read back as a training :class:`Dataset`.

Decoding a 1920×1080 GOT-10k or 1280×720 LaSOT frame to cut a 255-pixel search crop costs far
more than decoding a 511×511 crop; pysot therefore trains from crops made once by its
``training_dataset/*/par_crop.py``. This module does the same for any dataset
:func:`siambench.datasets.load_dataset` reads.

Geometry (pysot ``par_crop.py``'s, in siambench's conventions). For each usable frame (the rule of
:func:`siambench.train.pairs.usable_frames`: finite positive-area box, not absent, cover ≠ 0) with
the box ``x, y, w, h`` in 0-based frame-array pixels (the dataset's ``origin`` subtracted, a polygon
replaced by its bounding box, as :func:`siambench.train.pairs.build_index` does), the crop is the
affine map ``u = k·(x − cx) + (size − 1)/2`` with ``k = exemplar / s_z``, ``s_z = sqrt((w + p)(h + p))``,
``p = context_amount·(w + h)`` (context amount 0.5, exemplar 127: the exemplar's context square
``s_z`` becomes 127 crop pixels, and a 511 crop covers ``s_z·511/127`` image pixels, pysot's
instance 511), target centre ``cx = x + (w − 1)/2`` (DESIGN §2), bilinear, one warp
(:func:`siambench.train.augment.affine_for` / ``crop_affine``), outside the image the frame's
per-channel mean colour (pysot's ``avg_chans``). The crop's box is the same map applied to the
box: centre ``(size − 1)/2``, size ``k·w × k·h``, so ``x' = (size − 1)/2 − (k·w − 1)/2``.
Differences from ``par_crop.py``: pysot scales by ``(size − 1)/s_x`` (510/511 of ``k``) and
takes the centre of its ``x1, y1, x2, y2`` box; pysot also writes a 127 ``z`` crop, which its
training never reads (both crops of a pair come from the ``x`` crops), so only ``x`` crops are
written here. Because ``augment_crop`` scales by ``exemplar / context_size`` of the box it is
given, a training crop cut from a pre-crop with the crop's box is the training crop of the
original frame (the same map composed with ``k``; the pixels resampled twice, JPEG-compressed
once). A 511 crop covers what SiamRPN's default search augmentation needs (255 px at scale
1 ± 0.18 and ±64 px shift: about 440 crop pixels); beyond it the crop's own mean colour fills in.

Folder layout (``out``)::

    precrop.json                      marker + annotations, written last (see below)
    <folder>/<frame:06d>.<track:02d>.x.jpg
    .precrop/definition.json          what makes the crops (dataset, size, quality, ...)
    .precrop/done/<folder>.json       one per finished block of sequences (the resume record)

Sequences are cropped in *blocks*: one sequence per block (``<folder>`` its name with characters
outside ``A-Z a-z 0-9 . _ -`` replaced by ``_``; ``track`` 00) unless the dataset has more than
:data:`MAX_BLOCKS` sequences (COCO, ImageNet DET: one sequence per object), then
``ceil(n / MAX_BLOCKS)`` consecutive sequences per block (``<folder>`` the block number, ``track``
the sequence's place in it), like pysot's per-image folders. ``<frame>`` is the 0-based frame
index in the source sequence.

``precrop.json`` holds the definition, the source root, and per sequence its ``name``,
``folder``, ``track``, ``frames`` (the source sequence's length), ``source_folder`` (relative to
the source root when inside it) and ``crops``: ``[frame, x, y, w, h, file]`` rows (0-based crop
pixels, centre ``x + (w − 1)/2``; ``file`` the source frame relative to ``source_folder``), and
``unreadable`` frames; ``skipped`` lists sequences that gave no crops and why; ``complete`` is
false when only some sequences were cropped.

Resume: a block is recorded in ``.precrop/done/`` (an atomic write, by the main process) only
after all its crops are in place, and every crop is written atomically (temporary file +
rename), so a kill or Ctrl-C loses at most the blocks in flight and leaves no half-written crop
under a final name; a rerun of the same command removes an unrecorded block's folder and redoes
it, and skips recorded ones. A block with a sequence that failed (unreadable annotations) is
redone too. Crops and resume records are not ``fsync``-ed (regenerable data); ``precrop.json``
is. Files get the user's umask mode (:mod:`siambench.fileio`).

Training reads a crop folder wherever it reads the dataset (``--root CROPDIR``, or the crop
folder at ``$SIAMBENCH_DATA/<folder>``; :func:`load_source`, which
:func:`siambench.train.loop.load_train_datasets` calls): a :class:`Dataset` whose
sequences have the source's names and lengths, the crops as frames (origin 0) and the crops'
boxes as ground truth (NaN where a frame has no crop), so pairs are drawn with the same frame
indices and ``frame_range`` as from the original frames.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from siambench.datasets.base import Dataset, Sequence
from siambench.errors import DataFormatError, FrameReadError, SiambenchError
from siambench.fileio import atomic_path, atomic_write_bytes, atomic_write_text, path_kind
from siambench.names import canonical_key
from siambench.train.augment import affine_for, crop_affine
from siambench.train.pairs import _rect_boxes, usable_frames

__all__ = ["ANNOTATION_FILE", "CropSettings", "CropSummary", "MAX_BLOCKS", "crop_box", "crop_frame",
           "crop_folder_for", "crop_name", "is_crop_folder", "load_crops", "load_source", "precrop"]

log = logging.getLogger("siambench.train")

#: The marker and annotation file of a finished crop folder.
ANNOTATION_FILE = "precrop.json"
#: The folder of the definition and the per-block resume records.
STATE_FOLDER = ".precrop"
FORMAT = "siambench-precrop"
VERSION = 1
#: Most blocks (crop sub-folders, resume records) a crop folder has.
MAX_BLOCKS = 10_000
_PARENT_CHECK_S = 1.0


@dataclass(frozen=True)
class CropSettings:
    """What a crop is: output side ``size``, the exemplar side the context square becomes,
    the context amount, and the JPEG quality (pysot ``par_crop.py``: 511, 127, 0.5, OpenCV's 95)."""

    size: int = 511
    exemplar: int = 127
    context_amount: float = 0.5
    quality: int = 95


# ------------------------------------------------------------------------------- geometry

def crop_box(box: np.ndarray, settings: CropSettings = CropSettings()) -> np.ndarray:
    """The crop-pixel ``x, y, w, h`` (0-based) of ``box`` (0-based ``x, y, w, h``) in its crop."""
    matrix = affine_for(box, settings.size, exemplar=settings.exemplar,
                        context_amount=settings.context_amount)
    k = matrix[0, 0]
    w, h = k * float(box[2]), k * float(box[3])
    c = (settings.size - 1) / 2.0
    return np.array([c - (w - 1) / 2.0, c - (h - 1) / 2.0, w, h], dtype=np.float64)


def crop_frame(frame: np.ndarray, box: np.ndarray,
               settings: CropSettings = CropSettings()) -> tuple[np.ndarray, np.ndarray]:
    """``(crop uint8 (size, size, 3), crop_box x, y, w, h)`` of target ``box`` (0-based
    ``x, y, w, h``) in RGB ``frame``; outside the image the frame's mean colour."""
    matrix = affine_for(box, settings.size, exemplar=settings.exemplar,
                        context_amount=settings.context_amount)
    return crop_affine(frame, matrix, settings.size), crop_box(box, settings)


# ------------------------------------------------------------------------------- blocks

@dataclass
class _Entry:
    """One sequence of a block, as the worker needs it (plain, picklable data)."""

    name: str
    track: int
    frames: int
    source_folder: str = ""
    indices: list[int] = field(default_factory=list)       # usable frame indices
    paths: list[str] = field(default_factory=list)         # their source files
    files: list[str] = field(default_factory=list)         # the same, relative to source_folder
    boxes: np.ndarray | None = None                        # their 0-based boxes
    problem: str = ""                                      # why it gives no crops
    failed: bool = False                                   # the problem may go away: redo


@dataclass
class _Job:
    out: str
    folder: str
    settings: CropSettings
    entries: list[_Entry]


def _safe(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"
    return "_" + safe if safe in (ANNOTATION_FILE, STATE_FOLDER) else safe


def _block_folders(names: list[str], per_block: int) -> list[tuple[str, list[int]]]:
    """``(folder, sequence indices)`` of each block; folder names unique case-insensitively."""
    if per_block > 1:
        return [(f"{b:06d}", list(range(start, min(start + per_block, len(names)))))
                for b, start in enumerate(range(0, len(names), per_block))]
    blocks, seen = [], set()
    for index, name in enumerate(names):
        folder = _safe(name)
        if folder.lower() in seen:
            folder = f"{folder}-{index}"
        seen.add(folder.lower())
        blocks.append((folder, [index]))
    return blocks


def _entry(sequence: Sequence, track: int, origin: int, root: Path) -> _Entry:
    """What to crop of ``sequence`` (read in the main process: annotations, flags, frame list),
    selected as :func:`siambench.train.pairs.build_index` selects a track's frames."""
    try:
        if not sequence.has_frames:
            return _Entry(sequence.name, track, 0, problem="annotations only, no images")
        frames = [str(p) for p in sequence.frame_paths]
        boxes = _rect_boxes(sequence.groundtruth)
        absent, cover = sequence.absent, sequence.cover
    except SiambenchError as error:
        return _Entry(sequence.name, track, 0, problem=str(error), failed=True)
    n = min(len(frames), len(boxes))
    if n == 0:
        return _Entry(sequence.name, track, 0, problem="no frames")
    boxes = boxes[:n] - np.array([origin, origin, 0.0, 0.0])
    usable = usable_frames(boxes, absent, cover)
    paths = [frames[i] for i in usable]
    folders = {os.path.dirname(p) for p in paths}
    source = (folders.pop() if len(folders) == 1 else os.path.commonpath(paths)) if paths \
        else os.path.dirname(frames[0])
    relative = os.path.relpath(source, root)
    return _Entry(sequence.name, track, n, source if relative.startswith("..") else relative,
                  [int(i) for i in usable], paths, [os.path.relpath(p, source) for p in paths],
                  boxes[usable],
                  "" if usable.size else "the target is absent or has no area in every frame")


def _crop_block(job: _Job) -> dict[str, Any]:
    """Crop one block (runs in a worker): the block folder is emptied first (leftovers of an
    interrupted attempt are never trusted), each crop written atomically; returns its record."""
    import cv2

    from siambench.datasets.images import read_frame

    folder = Path(job.out) / job.folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings, used = job.settings, 0
    sequences = []
    for entry in job.entries:
        record: dict[str, Any] = {"name": entry.name, "folder": job.folder, "track": entry.track,
                                  "frames": entry.frames, "source_folder": entry.source_folder,
                                  "crops": [], "unreadable": []}
        if entry.problem:
            record["problem"] = entry.problem
            record["failed"] = entry.failed
        for row, index in enumerate(entry.indices):
            try:
                frame = read_frame(Path(entry.paths[row]))
            except FrameReadError as error:
                record["unreadable"].append([index, str(error)])
                continue
            crop, box = crop_frame(frame, entry.boxes[row], settings)
            ok, data = cv2.imencode(".jpg", np.ascontiguousarray(crop[..., ::-1]),
                                    [cv2.IMWRITE_JPEG_QUALITY, int(settings.quality)])
            if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
                raise SiambenchError(f"could not encode the crop of {entry.name} frame {index}")
            atomic_write_bytes(folder / crop_name(index, entry.track), data.tobytes(), fsync=False)
            used += int(data.size)
            record["crops"].append([index, *(float(v) for v in box), entry.files[row]])
        if entry.indices and not record["crops"]:  # its images are missing: one reason, redo later
            record.update(problem=f"none of its {len(entry.indices)} frames could be read (the "
                                  f"first: {record['unreadable'][0][1]})", failed=True, unreadable=[])
        sequences.append(record)
    return {"folder": job.folder, "names": [e.name for e in job.entries], "sequences": sequences,
            "bytes": used}


def crop_name(frame: int, track: int = 0) -> str:
    """File name of the crop of source frame ``frame`` (0-based) of ``track`` (pysot's
    ``{frame:06d}.{trackid:02d}.x.jpg``)."""
    return f"{frame:06d}.{track:02d}.x.jpg"


def _init_worker(parent: int) -> None:
    """Pool initializer: Ctrl-C is the main process's (it stops the workers); one OpenCV thread
    per worker; exit when the main process is gone (its blocks in flight are redone later)."""
    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="siambench-precrop-watch", daemon=True).start()


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now (their blocks in flight are lost, never recorded) and shut down."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _run_pool(jobs: Iterator[_Job], workers: int, finished: Any) -> None:
    """Crop ``jobs`` in ``workers`` spawned processes (at most two blocks queued per worker, so
    the main process reads annotations while they crop), calling ``finished(record)`` as each
    block completes. On an error, a dead worker or Ctrl-C the workers are stopped at once."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))
    pending: dict[Future, _Job] = {}
    try:
        while True:
            while len(pending) < 2 * workers:
                job = next(jobs, None)
                if job is None:
                    break
                pending[pool.submit(_crop_block, job)] = job
            if not pending:
                break
            ready, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in ready:
                job = pending.pop(future)
                try:
                    record = future.result()
                except BrokenProcessPool:
                    raise SiambenchError(
                        f"a crop worker process died (killed, or out of memory) while cropping "
                        f"{job.folder}; rerun the same command to continue (finished sequences "
                        "are kept), with fewer --workers if memory is short") from None
                finished(record)
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# ------------------------------------------------------------------------------- the command

@dataclass
class CropSummary:
    """What :func:`precrop` did: sequences of the dataset (or of the ``limit``), sequences
    cropped and crops made by this run, sequences with crops found done (resumed), sequences
    that gave no crop (``name: why``), unreadable frames (``name frame i: error``), bytes of
    JPEG written, wall time, whether the folder now holds every sequence."""

    out: Path
    dataset: str
    sequences: int
    cropped: int = 0
    crops: int = 0
    resumed: int = 0
    skipped: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0
    complete: bool = False

    def line(self) -> str:
        """The one-line summary ``siambench data crop`` prints."""
        size = f"{self.bytes / 1e6:.1f} MB" if self.bytes < 1e9 else f"{self.bytes / 1e9:.2f} GB"
        return (f"{self.dataset}: {self.cropped} sequences cropped ({self.crops} crops, {size}) "
                f"in {self.seconds:.1f} s, {self.resumed} already done, {len(self.skipped)} "
                f"skipped (no crop), {len(self.unreadable)} unreadable frames; {self.out}")


def _definition(dataset: str, settings: CropSettings, per_block: int) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "dataset": dataset, **asdict(settings),
            "block_sequences": per_block}


def _read_json(path: Path) -> Any:
    """The JSON at ``path``; None when it is missing or not valid (never trusted then)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _check_out(out: Path) -> None:
    kind = path_kind(out)
    if kind not in ("missing", "a folder"):
        raise SiambenchError(f"--out {out} is {kind}, expected a folder for the crops (it is "
                             "created when missing)")
    if kind == "a folder" and not is_crop_folder(out) and any(out.iterdir()):
        raise SiambenchError(f"--out {out} holds other files and no crops of `siambench data "
                             "crop`; choose an empty or new folder")


def _open_state(out: Path, dataset: str, settings: CropSettings, sequences: int) -> int:
    """Write or check ``.precrop/definition.json``; returns the sequences per block (kept from an
    earlier run of the same definition)."""
    path = out / STATE_FOLDER / "definition.json"
    stored = _read_json(path) if path.is_file() else None
    fresh = _definition(dataset, settings, max(1, math.ceil(sequences / MAX_BLOCKS)))
    if stored is None:
        atomic_write_text(path, json.dumps(fresh, indent=1) + "\n")
        (out / STATE_FOLDER / "done").mkdir(parents=True, exist_ok=True)
        return int(fresh["block_sequences"])
    differ = [f"{key} {stored.get(key)!r} there, {value!r} now" for key, value in fresh.items()
              if key != "block_sequences" and stored.get(key) != value]
    if differ:
        raise SiambenchError(f"{out} holds crops made with other settings ({'; '.join(differ)}); "
                             "crop into another --out, or delete that folder to start over")
    (out / STATE_FOLDER / "done").mkdir(parents=True, exist_ok=True)
    return int(stored.get("block_sequences") or fresh["block_sequences"])


def _done_record(path: Path, names: list[str]) -> dict[str, Any] | None:
    """A block's resume record when it can be trusted: valid, of these sequences, none failed."""
    record = _read_json(path)
    if not isinstance(record, dict) or record.get("names") != names:
        return None
    if any(s.get("failed") for s in record.get("sequences", [])):
        return None
    return record


def precrop(name: str, out: Path | str, *, root: Path | str | None = None,
            settings: CropSettings = CropSettings(), workers: int | None = None,
            limit: int | None = None, progress: bool = True) -> CropSummary:
    """Crop every usable target of dataset ``name`` (from ``root`` or the data roots) into
    ``out`` (see the module docstring); resumable; ``workers`` processes (default: the CPU
    count; 1 crops in this process); ``limit``: only the blocks of the first ``limit`` sequences
    (benchmarks, tests); ``progress``: a progress bar on stderr. Returns the summary."""
    from tqdm import tqdm

    from siambench.datasets import load_dataset
    from siambench.datasets.registry import get_spec

    start = time.monotonic()
    out = Path(out).expanduser()
    _check_out(out)
    spec = get_spec(name)
    if root is not None and is_crop_folder(Path(root)):
        raise SiambenchError(f"--root {root} is a crop folder already; pass the original "
                             f"dataset's folder to crop it")
    dataset = load_dataset(spec.name, root, progress=progress)
    source_root = Path(dataset.root or ".").resolve()
    if source_root.is_file():  # a pysot-style annotation file given as --root
        source_root = source_root.parent
    if out.resolve() == source_root:
        raise SiambenchError(f"--out {out} is the dataset's own folder; choose a new folder")
    names = dataset.names
    per_block = _open_state(out, spec.name, settings, len(names))
    blocks = _block_folders(names, per_block)
    if limit is not None:
        blocks = [block for block in blocks if block[1][0] < int(limit)]
    selected = sum(len(indices) for _, indices in blocks)
    summary = CropSummary(out, spec.name, selected)
    done_folder = out / STATE_FOLDER / "done"
    todo, found = [], 0
    for folder, indices in blocks:
        record = _done_record(done_folder / f"{folder}.json", [names[i] for i in indices])
        if record is not None:
            summary.resumed += sum(1 for s in record["sequences"] if s["crops"])
            found += len(indices)
        else:
            todo.append((folder, indices))

    def jobs() -> Iterator[_Job]:
        for folder, indices in todo:
            entries = [_entry(dataset[i], track, spec.origin, source_root)
                       for track, i in enumerate(indices)]
            yield _Job(str(out), folder, settings, entries)

    count = _available_cpus() if workers is None else max(1, int(workers))
    if progress and todo:
        print(f"cropping {spec.name}: {len(todo)} of {len(blocks)} blocks to do, "
              f"{min(count, len(todo))} workers, into {out}", file=sys.stderr)
    interactive = sys.stderr.isatty() if hasattr(sys.stderr, "isatty") else False
    bar = tqdm(total=selected, initial=found, unit="seq", desc=f"cropping {spec.name}",
               file=sys.stderr, disable=not progress, dynamic_ncols=True,
               mininterval=0.2 if interactive else 30.0)

    processed = [found]

    def finished(record: dict[str, Any]) -> None:
        atomic_write_text(done_folder / f"{record['folder']}.json",
                          json.dumps(record, separators=(",", ":")) + "\n", fsync=False)
        summary.cropped += sum(1 for s in record["sequences"] if s["crops"])
        summary.crops += sum(len(s["crops"]) for s in record["sequences"])
        summary.bytes += int(record["bytes"])
        bar.set_postfix_str(f"{summary.crops} crops, {summary.bytes / 1e6:.0f} MB", refresh=False)
        bar.update(len(record["sequences"]))
        processed[0] += len(record["sequences"])

    try:
        if count > 1 and len(todo) > 1:
            _run_pool(jobs(), min(count, len(todo)), finished)
        else:
            for job in jobs():
                finished(_crop_block(job))
    except BaseException as error:
        bar.close()
        if progress:
            verb = "interrupted" if isinstance(error, KeyboardInterrupt) else "stopped"
            print(f"{verb}: {processed[0]} of {selected} sequences done in "
                  f"{out}; the same command continues from there", file=sys.stderr)
        raise
    bar.close()
    _write_annotations(out, spec.name, settings, per_block, source_root, dataset, blocks, summary,
                       complete=len(blocks) == len(_block_folders(names, per_block)))
    summary.seconds = time.monotonic() - start
    return summary


def _write_annotations(out: Path, dataset_name: str, settings: CropSettings, per_block: int,
                       source_root: Path, dataset: Dataset, blocks: list[tuple[str, list[int]]],
                       summary: CropSummary, *, complete: bool) -> None:
    """``precrop.json`` from the blocks' resume records, streamed (a large dataset's records are
    never all in memory), written atomically and last."""
    failed = False
    with atomic_path(out / ANNOTATION_FILE) as temporary, \
            open(temporary, "w", encoding="utf-8") as stream:
        header = {**_definition(dataset_name, settings, per_block),
                  "source_root": str(source_root), "sequences_total": len(dataset),
                  "missing": list(dataset.meta.get("missing", [])),
                  "box": "x, y, w, h in 0-based crop pixels, centre x + (w - 1) / 2",
                  "crop_row": "frame (0-based, of the source sequence), x, y, w, h, source frame "
                              "file relative to source_folder",
                  "files": "<folder>/<frame:06d>.<track:02d>.x.jpg"}
        stream.write("{\n")
        for key, value in header.items():
            stream.write(f"{json.dumps(key)}: {json.dumps(value)},\n")
        stream.write('"sequences": [')
        skipped: list[dict[str, str]] = []
        first = True
        for folder, _ in blocks:
            record = _read_json(out / STATE_FOLDER / "done" / f"{folder}.json") or {}
            for sequence in record.get("sequences", []):
                summary.unreadable += [f"{sequence['name']} frame {i}: {error}"
                                       for i, error in sequence.get("unreadable", [])]
                if sequence.get("problem"):
                    summary.skipped.append(f"{sequence['name']}: {sequence['problem']}")
                    failed = failed or bool(sequence.get("failed"))
                if not sequence["frames"] or sequence.get("failed"):
                    skipped.append({"name": sequence["name"], "reason": sequence.get("problem", "")})
                    continue
                stream.write(("\n" if first else ",\n") + json.dumps(
                    {k: v for k, v in sequence.items() if k not in ("failed",)},
                    separators=(",", ":")))
                first = False
        stream.write("\n],\n")
        stream.write(f'"skipped": {json.dumps(skipped)},\n')
        summary.complete = complete and not failed
        stream.write(f'"complete": {json.dumps(summary.complete)}\n}}\n')


# ------------------------------------------------------------------------------- reading

def is_crop_folder(path: Path | str) -> bool:
    """Whether ``path`` is a folder written by :func:`precrop` (finished or not)."""
    path = Path(path)
    return (path / ANNOTATION_FILE).is_file() or (path / STATE_FOLDER / "definition.json").is_file()


def load_crops(folder: Path | str, *, dataset: str | None = None) -> Dataset:
    """The training :class:`Dataset` of crop folder ``folder`` (origin 0; see the module
    docstring). ``dataset``: the dataset the crops must be of (a registry name); another is an
    error, as is an unfinished crop folder."""
    from siambench.datasets.registry import get_spec

    folder = Path(folder)
    path = folder / ANNOTATION_FILE
    if not path.is_file():
        if (folder / STATE_FOLDER).is_dir():
            raise SiambenchError(f"{folder} is an unfinished crop folder (`siambench data crop` "
                                 f"was interrupted before writing {ANNOTATION_FILE}); rerun the "
                                 "same `siambench data crop` command to finish it")
        raise DataFormatError(path, "missing: not a crop folder of `siambench data crop`")
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataFormatError(path, f"not a {FORMAT} annotation file (unreadable or another "
                              "format)", hint="rerun `siambench data crop` into a new folder")
    if data.get("version") != VERSION:
        raise DataFormatError(path, f"crop folder version {data.get('version')!r}; this "
                              f"siambench reads version {VERSION}",
                              hint="crop the dataset again with this version")
    made_from = str(data.get("dataset"))
    if dataset is not None and canonical_key(get_spec(dataset).name) != canonical_key(made_from):
        raise SiambenchError(f"{folder} holds crops of dataset {made_from} (made by `siambench "
                             f"data crop {made_from}`), not of {get_spec(dataset).name}; pass "
                             f"--dataset {made_from}, or the crop folder of "
                             f"{get_spec(dataset).name}")
    if not data.get("complete", False):
        log.warning("crop folder %s holds %d of the %s sequences of %s (or some failed): "
                    "training uses those; rerun `siambench data crop %s` to crop the rest",
                    folder, len(data.get("sequences", [])), data.get("sequences_total"),
                    made_from, made_from)
    try:
        sequences = [_crop_sequence(folder, entry, made_from) for entry in data["sequences"]]
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise DataFormatError(path, f"malformed sequence entry ({type(error).__name__}: {error})",
                              hint="rerun `siambench data crop` into a new folder") from None
    return Dataset(made_from, sequences, root=folder,
                   meta={"precrop": {k: data.get(k) for k in _definition("", CropSettings(), 1)},
                         "source_root": data.get("source_root"),
                         "skipped": data.get("skipped", []), "missing": []})


def _crop_sequence(folder: Path, entry: dict[str, Any], dataset: str) -> Sequence:
    """One crop sequence: ``frames`` long, crops as frames, NaN boxes where there is no crop."""
    n, track, sub = int(entry["frames"]), int(entry["track"]), folder / str(entry["folder"])
    boxes = np.full((n, 4), np.nan)
    for row in entry["crops"]:
        boxes[int(row[0])] = [float(v) for v in row[1:5]]
    return Sequence(str(entry["name"]), groundtruth=boxes,
                    frame_paths=lambda: [sub / crop_name(i, track) for i in range(n)],
                    dataset=dataset, source=sub, length=n,
                    meta={"source_folder": entry.get("source_folder", "")})


def crop_folder_for(name: str, root: Path | str | None = None) -> Path | None:
    """The crop folder found for dataset ``name``: ``root``, else the first existing folder of
    the data roots (``$SIAMBENCH_DATA/<folder>``, ...), when it is a crop folder; else None."""
    from siambench.datasets.registry import get_spec, resolve_root
    from siambench.errors import DatasetNotFoundError

    try:
        folder = resolve_root(get_spec(name), root)
    except DatasetNotFoundError:
        return None
    return folder if folder.is_dir() and is_crop_folder(folder) else None


def load_source(name: str, weight: float | None, frame_range: int | None,
                root: Path | str | Mapping[str, Path] | None, *,
                progress: bool = True) -> tuple[Any, float, int, int | None]:
    """:func:`siambench.train.sources.load_source` (``(dataset, weight, origin, frame_range)``),
    except that when the folder found for ``name`` is a crop folder its crops are the dataset
    (:func:`load_crops`, origin 0; crops of another dataset are an error)."""
    from siambench.train import sources

    folder = crop_folder_for(name, sources.root_for(name, root))
    if folder is None:
        return sources.load_source(name, weight, frame_range, root, progress=progress)
    dataset = load_crops(folder, dataset=name)
    return dataset, float(len(dataset) if weight is None else weight), 0, frame_range
