"""OTB-2013 (CVPR13), TB-50 and OTB-100 (OTB-2015 / TB-100), and any folder in the OTB layout.

Conventions: ground truth is float64 ``x, y, w, h`` in OTB's 1-based MATLAB pixel frame, read
without rounding (comma, tab and space delimiters, mixed in one file, are all accepted).

The benchmark's facts live in the shipped manifest ``manifests/otb.csv`` (provenance in
``manifests/README.md``): for each of the 100 OTB-100 targets its canonical (pysot-style) name
(``Jogging-1``, ``Skating2-1``, ``Human4-2``), image folder, ground-truth file, the frame range
the benchmark uses, the digits of the image names (Board: 5), ground-truth rows to drop, its
11 attributes and its membership in otb2013 / otb50 / otb100. Sequence ranges follow the OTB-100
toolkit, pytracking and DaSiamRPN's ``OTB2015.json``: David 300-770, BlurCar1 247-988, BlurCar3
3-359, BlurCar4 18-397, Football1 1-74 (81 images exist), Freeman3 1-460, Freeman4 1-283,
Diving 1-215, and **Tiger1 6-354: its ground-truth file has 354 rows and the first 5 are dropped**
(pytracking's ``initOmit``; DaSiamRPN/pysot results have 349 rows). The same range is used in all
three variants. Board's and Twinnings' last row ``0,0,0,0`` is kept (a zero-area box).

:func:`load` reads one of three sources under ``root``, detected in this order:

a. image folders ``<root>/<Seq>/img/0001.jpg`` + ``groundtruth_rect.txt`` (two-target
   sequences: ``groundtruth_rect.1.txt`` / ``.2.txt`` in one folder ``Jogging/``; pysot's copies
   ``Jogging-1/``, ``Jogging-2/`` are accepted too);
b. the OTB toolkit's annotation folder ``<root>/<seq>.txt`` (``Human4.2.txt``, ``jogging-1.txt``,
   ``basketball.txt``; an ``att/`` folder beside it is not read, see below): annotations only;
c. a pysot-style JSON in ``root`` (``OTB2015.json``, ``OTB100.json``, ``CVPR13.json``,
   ``OTB50.json``), in DaSiamRPN's layout ``{key: {name, image_files, init_rect, gt_rect}}`` or
   pysot's ``{video: {video_dir, init_rect, img_names, gt_rect, attr}}``; frames are available
   when the images it names exist under ``root``. ``root`` may also be such a JSON file itself
   (any name; ``--root data/OTB2015.json``): frames are then looked for beside it, and
   ``dataset.root`` is the file.

A sequence whose folder or annotation file is a symbolic link that leads nowhere (broken, or a
loop) is kept as a sequence that raises :class:`DataFormatError` saying so when used.

Folder and file names match case- and punctuation-insensitively. Attributes always come from the
manifest (the agreement of jwlim's toolkit lists and pytracking): 21 of the toolkit's
``anno_TB100/att`` files disagree with both.

:func:`load_folder` reads any folder in the OTB layout without a manifest (the synthetic
benchmark uses it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from siambench.datasets.base import (
    Dataset,
    Sequence,
    manifest_rows,
    not_a_folder,
    require_folder,
    unusable_sequence,
    wrong_kind,
)
from siambench.errors import DataFormatError, DatasetNotFoundError, UnknownNameError
from siambench.names import canonical_key
from siambench.textio import read_number_rows, read_text_lines, split_cells

#: The shipped table, package data of ``siambench.datasets`` (read through importlib.resources).
VARIANTS: tuple[str, ...] = ("otb2013", "otb50", "otb100")
ATTRIBUTES: tuple[str, ...] = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")
ATTRIBUTE_NAMES: dict[str, str] = {
    "IV": "Illumination Variation", "SV": "Scale Variation", "OCC": "Occlusion",
    "DEF": "Deformation", "MB": "Motion Blur", "FM": "Fast Motion", "IPR": "In-Plane Rotation",
    "OPR": "Out-of-Plane Rotation", "OV": "Out-of-View", "BC": "Background Clutter",
    "LR": "Low Resolution",
}
_JSON_NAMES: dict[str, tuple[str, ...]] = {
    "otb2013": ("CVPR13", "OTB2013", "CVPR2013", "OTB2015", "OTB100"),
    "otb50": ("OTB50", "TB50", "OTB2015", "OTB100"),
    "otb100": ("OTB2015", "OTB100", "TB100"),
}
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


@dataclass(frozen=True)
class OTBEntry:
    """One target of the OTB manifest. Frame numbers are 1-based and inclusive."""

    name: str
    folder: str
    gt_file: str
    start: int
    end: int
    digits: int
    skip_gt_rows: int
    attributes: tuple[str, ...]
    sets: frozenset[str]

    @property
    def num_frames(self) -> int:
        """Frames the benchmark uses (``end - start + 1``)."""
        return self.end - self.start + 1

    def image_names(self) -> list[str]:
        """``0001.jpg`` ... for the benchmark's range (Board: ``00001.jpg``)."""
        return [f"{i:0{self.digits}d}.jpg" for i in range(self.start, self.end + 1)]


@cache
def manifest() -> tuple[OTBEntry, ...]:
    """The shipped OTB-100 table, in the OTB toolkit's order."""
    entries = []
    for row in manifest_rows("otb.csv"):
        entries.append(OTBEntry(
            name=row["name"], folder=row["folder"], gt_file=row["gt_file"],
            start=int(row["start"]), end=int(row["end"]), digits=int(row["digits"]),
            skip_gt_rows=int(row["skip_gt_rows"]), attributes=tuple(row["attributes"].split()),
            sets=frozenset(v for v in VARIANTS if row[v] == "1")))
    return tuple(entries)


def sequence_names(variant: str) -> list[str]:
    """Canonical target names of a variant (``otb2013``: 51, ``otb50``: 50, ``otb100``: 100)."""
    return [entry.name for entry in _entries(variant)]


def _entries(variant: str) -> list[OTBEntry]:
    if variant not in VARIANTS:
        raise UnknownNameError(f"unknown OTB variant {variant!r}; expected one of "
                               f"{', '.join(VARIANTS)}")
    return [entry for entry in manifest() if variant in entry.sets]


# -- load --------------------------------------------------------------------------------------

def load(root: Path, variant: str) -> Dataset:
    """Load ``otb2013``, ``otb50`` or ``otb100`` from ``root`` (see the module docstring).

    Targets of the variant not found under ``root`` are listed in ``dataset.meta["missing"]``;
    ``dataset.meta["source"]`` is ``"images"``, ``"annotations"`` or the JSON file's name.
    Raises :class:`DatasetNotFoundError` when ``root`` holds none of them.
    """
    root = Path(root)
    entries = _entries(variant)
    if root.is_file() and root.suffix.lower() == ".json":
        found = _read_json(root, entries, variant)
        if found is None:
            raise DatasetNotFoundError(f"{root}: none of the {len(entries)} {variant} sequences "
                                       "is in this JSON file (keys are OTB sequence names)")
        return _dataset(found, entries, variant, root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"no {variant} sequence found: {not_a_folder(root)}. "
                                   f"Expected folder structure: {_folder_structure()}")
    for builder in (_from_image_folders, _from_annotation_folder, _from_json):
        found = builder(root, entries, variant)
        if found is not None:
            return _dataset(found, entries, variant, root)
    raise DatasetNotFoundError(
        f"no {variant} sequence found in {root}. Expected folder structure: {_folder_structure()}")


def _dataset(found: tuple[list[Sequence], str], entries: list[OTBEntry], variant: str,
             root: Path) -> Dataset:
    sequences, source = found
    present = {canonical_key(s.name) for s in sequences}
    missing = [e.name for e in entries if canonical_key(e.name) not in present]
    return Dataset(variant, sequences, root=root,
                   meta={"missing": missing, "source": source, "variant": variant})


def _folder_structure() -> str:
    return ("<root>/<Seq>/img/0001.jpg ... and <root>/<Seq>/groundtruth_rect.txt (two-target "
            "sequences: groundtruth_rect.1.txt, .2.txt); or, to score only, the OTB toolkit's "
            "annotation folder <root>/<Seq>.txt (+ att/<Seq>.txt), or a pysot-style "
            "<root>/OTB2015.json / OTB100.json")


def _child_index(root: Path, *, dirs: bool) -> dict[str, Path]:
    """Canonical key -> child folder (``dirs``) or ``.txt`` file. A symbolic link that leads
    nowhere (broken, or a loop) is indexed too, after the real entries, so that a sequence
    behind it is reported as unusable rather than missing."""
    index: dict[str, Path] = {}
    dangling: list[Path] = []
    for child in _children(root):
        if dirs and child.is_dir():
            index.setdefault(canonical_key(child.name), child)
        elif not dirs and child.suffix.lower() == ".txt" and child.is_file():
            index.setdefault(canonical_key(child.stem), child)
        elif child.is_symlink() and not child.exists():
            dangling.append(child)
    for child in dangling:
        if not dirs and child.suffix.lower() != ".txt":
            continue
        index.setdefault(canonical_key(child.name if dirs else child.stem), child)
    return index


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise DataFormatError(folder, f"cannot be listed: {exc.strerror or exc}") from None


def _broken(name: str, path: Path, variant: str, what: str) -> Sequence:
    """The sequence ``name`` whose folder/file ``path`` leads nowhere: raises when used."""
    return unusable_sequence(name, wrong_kind(path, what), dataset=variant, source=path)


def _from_image_folders(root: Path, entries: list[OTBEntry],
                        variant: str) -> tuple[list[Sequence], str] | None:
    folders = _child_index(root, dirs=True)
    sequences = []
    for entry in entries:
        for key in dict.fromkeys((canonical_key(entry.folder), canonical_key(entry.name))):
            folder = folders.get(key)
            if folder is not None and not folder.is_dir():
                sequences.append(_broken(entry.name, folder, variant, "the sequence folder"))
                break
            if folder is not None and ((folder / "img").is_dir()
                                       or (folder / entry.gt_file).is_file()):
                sequences.append(_image_sequence(entry, folder, variant))
                break
    return (sequences, "images") if sequences else None


def _image_sequence(entry: OTBEntry, folder: Path, variant: str) -> Sequence:
    gt_path = folder / entry.gt_file
    image_dir = folder / "img"
    return Sequence(
        entry.name,
        groundtruth=_manifest_gt_reader(entry, gt_path),
        frame_paths=lambda: [image_dir / name for name in entry.image_names()],
        attributes=entry.attributes, dataset=variant, source=gt_path,
        meta=_entry_meta(entry, "images"), length=entry.num_frames)


def _from_annotation_folder(root: Path, entries: list[OTBEntry],
                            variant: str) -> tuple[list[Sequence], str] | None:
    files = _child_index(root, dirs=False)
    sequences = []
    for entry in entries:
        path = files.get(canonical_key(entry.name))
        if path is not None and not path.is_file():
            sequences.append(_broken(entry.name, path, variant, "the annotation file"))
        elif path is not None:
            sequences.append(Sequence(
                entry.name,
                groundtruth=_manifest_gt_reader(entry, path),
                frame_paths=None, attributes=entry.attributes, dataset=variant, source=path,
                meta=_entry_meta(entry, "annotations"), length=entry.num_frames))
    return (sequences, "annotations") if sequences else None


def _manifest_gt_reader(entry: OTBEntry, path: Path) -> Callable[[], np.ndarray]:
    return lambda: _cut_groundtruth(read_number_rows(path), entry, path)


def _entry_meta(entry: OTBEntry, fmt: str) -> dict[str, Any]:
    return {"format": fmt, "folder": entry.folder, "gt_file": entry.gt_file,
            "start_frame": entry.start, "end_frame": entry.end,
            "skip_gt_rows": entry.skip_gt_rows}


def _cut_groundtruth(gt: np.ndarray, entry: OTBEntry, path: Path) -> np.ndarray:
    """Apply the manifest's row cut (Tiger1: drop the first 5 of 354 rows) and check the length.

    A file already holding exactly the benchmark's rows (e.g. a 349-row Tiger1) is accepted as is.
    """
    expected = entry.num_frames
    if entry.skip_gt_rows and len(gt) == expected + entry.skip_gt_rows:
        return gt[entry.skip_gt_rows:]
    if len(gt) == expected:
        return gt
    allowed = f"{expected}" + (f" or {expected + entry.skip_gt_rows}" if entry.skip_gt_rows
                               else "")
    raise DataFormatError(path, f"{len(gt)} ground-truth rows for {expected} frames",
                          hint=f"{entry.name} uses frames {entry.start}-{entry.end}; expected "
                               f"{allowed} rows")


def _from_json(root: Path, entries: list[OTBEntry],
               variant: str) -> tuple[list[Sequence], str] | None:
    jsons = {canonical_key(p.stem): p for p in sorted(root.glob("*.json")) if p.is_file()}
    path = next((jsons[canonical_key(n)] for n in _JSON_NAMES[variant]
                 if canonical_key(n) in jsons), None)
    if path is None:
        return None
    return _read_json(path, entries, variant)


def _read_json(path: Path, entries: list[OTBEntry],
               variant: str) -> tuple[list[Sequence], str] | None:
    """The sequences of a pysot / DaSiamRPN JSON (None: none of ``entries`` is in it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataFormatError(path, f"not valid JSON ({type(exc).__name__}: {exc})") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise DataFormatError(path, "expected a JSON object {video: {...}}")
    videos = {canonical_key(key): (key, value) for key, value in data.items()}
    sequences = []
    for entry in entries:
        item = videos.get(canonical_key(entry.name))
        if item is None:
            continue
        key, video = item
        try:
            names, image_base = _json_image_names(path, key, video)
        except DataFormatError as exc:  # raised when this sequence is used, not at load
            sequences.append(Sequence(entry.name, groundtruth=_raiser(exc), dataset=variant,
                                      attributes=entry.attributes, source=path, length=0))
            continue
        count = len(names)
        sequences.append(Sequence(
            entry.name,
            groundtruth=_json_reader(path, key, video["gt_rect"], count, entry),
            frame_paths=_json_frames(image_base, names, entry),
            attributes=entry.attributes, dataset=variant, source=path,
            meta={**_entry_meta(entry, "json"), "json_key": key},
            length=count - _json_cut(count, entry)))
    return (sequences, path.name) if sequences else None


def _json_image_names(path: Path, key: str,
                      video: dict[str, Any]) -> tuple[list[str], Callable[[], Path | None]]:
    """The JSON's image names and a callable giving the folder they are relative to.

    pysot ``img_names`` are relative to the JSON's folder; DaSiamRPN ``image_files`` live in
    ``<name>/img/`` beside the JSON or under ``<json stem>/`` (its ``data/OTB2015/``). The folder
    is ``None`` when the images are not there (annotations only).
    """
    if not isinstance(video, dict) or "gt_rect" not in video:
        raise DataFormatError(path, f"video {key!r}: expected an object with 'gt_rect' and "
                                    "'img_names' (pysot) or 'image_files' (DaSiamRPN)")
    base = path.parent
    if "img_names" in video:
        names = video["img_names"]
        places = [base]
    elif "image_files" in video:
        names = video["image_files"]
        folder = str(video.get("name", key))
        places = [base / folder / "img", base / path.stem / folder / "img"]
    else:
        raise DataFormatError(path, f"video {key!r}: neither 'img_names' nor 'image_files'")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DataFormatError(path, f"video {key!r}: the image names must be a list of strings")

    def find() -> Path | None:
        return next((p for p in places if names and (p / names[0]).is_file()), None)
    return names, find


def _raiser(error: Exception) -> Callable[[], np.ndarray]:
    def fail() -> np.ndarray:
        raise error
    return fail


def _json_cut(count: int, entry: OTBEntry) -> int:
    """Rows to drop from a JSON sequence that lists the uncut range (Tiger1 from frame 1)."""
    if entry.skip_gt_rows and count == entry.num_frames + entry.skip_gt_rows:
        return entry.skip_gt_rows
    return 0


def _json_frames(image_base: Callable[[], Path | None], names: list[str],
                 entry: OTBEntry) -> Callable[[], list[Path] | None]:
    def frames() -> list[Path] | None:
        base = image_base()
        if base is None:
            return None
        return [base / name for name in names[_json_cut(len(names), entry):]]
    return frames


def _json_reader(path: Path, key: str, rows: Any, count: int,
                 entry: OTBEntry) -> Callable[[], np.ndarray]:
    def read() -> np.ndarray:
        try:
            gt = np.array(rows, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataFormatError(path, f"video {key!r}: gt_rect is not a list of "
                                  "numbers") from None
        if gt.ndim != 2 or gt.shape[1] != 4:
            raise DataFormatError(path, f"video {key!r}: gt_rect has shape {gt.shape}, expected "
                                        "(N, 4) x, y, w, h rows")
        if count and len(gt) != count:
            raise DataFormatError(path, f"video {key!r}: {len(gt)} gt_rect rows for {count} "
                                        "images")
        return gt[_json_cut(len(gt), entry):]
    return read


# -- generic folder ----------------------------------------------------------------------------

def load_folder(root: Path, dataset: str) -> Dataset:
    """Read any folder in the OTB layout, without a manifest.

    Every sub-folder (sorted by name) holding ``img/`` and ``groundtruth_rect.txt`` is one
    sequence (a symbolic link that leads nowhere, in place of a sub-folder or of its ``img/``, is
    a sequence that raises :class:`DataFormatError` saying so when used); a folder with
    ``groundtruth_rect.N.txt`` files holds one target per file, named ``<Seq>-N``
    (``groundtruth_rect.txt`` beside them is ignored, as is an empty ``.N`` file, like OTB's
    Human4 ``.1``). Frames are the sorted ``.jpg``/``.jpeg``/``.png`` entries of ``img/``.
    An optional ``attrs.txt`` holds comma-separated attribute codes (the OTB Python toolkit's
    format, e.g. ``SV, DEF, FM, OPR, BC``).
    """
    root = require_folder(root, _FOLDER_STRUCTURE)
    sequences: list[Sequence] = []
    for folder in _children(root):
        if folder.is_symlink() and not folder.exists():  # broken or a loop: never skip silently
            sequences.append(_broken(folder.name, folder, dataset, "a sequence folder"))
            continue
        if not folder.is_dir():
            continue
        image_dir = folder / "img"
        if not image_dir.is_dir():
            if image_dir.is_symlink() and not image_dir.exists():
                sequences.append(_broken(folder.name, image_dir, dataset,
                                         "the folder of frames"))
            continue
        numbered = sorted((p for p in folder.glob("groundtruth_rect.*.txt")
                           if p.stem.split(".")[-1].isdigit()
                           and (not p.is_file() or p.stat().st_size > 0)),
                          key=lambda p: int(p.stem.split(".")[-1]))
        if numbered:
            targets = [(f"{folder.name}-{p.stem.split('.')[-1]}", p) for p in numbered]
        elif (folder / "groundtruth_rect.txt").is_file():
            targets = [(folder.name, folder / "groundtruth_rect.txt")]
        else:
            continue
        attributes = _read_attrs(folder / "attrs.txt")
        frames = _image_lister(image_dir)
        for name, gt_path in targets:
            sequences.append(Sequence(
                name, groundtruth=_gt_reader(gt_path), frame_paths=frames,
                attributes=attributes, dataset=dataset, source=gt_path,
                meta={"format": "images", "folder": folder.name, "gt_file": gt_path.name}))
    if not sequences:
        raise DatasetNotFoundError(f"no sequence in the OTB layout found in {root}. "
                                   f"Expected folder structure: {_FOLDER_STRUCTURE}")
    return Dataset(dataset, sequences, root=root, meta={"missing": [], "source": "images"})


_FOLDER_STRUCTURE = ("<root>/<Seq>/img/0001.jpg ... (jpg or png), <root>/<Seq>/groundtruth_rect.txt "
                     "(or groundtruth_rect.1.txt, .2.txt for several targets), optional "
                     "<root>/<Seq>/attrs.txt")


def _gt_reader(path: Path) -> Callable[[], np.ndarray]:
    return lambda: read_number_rows(path)


def _image_lister(image_dir: Path) -> Callable[[], list[Path]]:
    listed: list[list[Path]] = []

    def frames() -> list[Path]:
        if not listed:
            # A broken link or a link loop named like an image stays in the list, so that
            # problems() and read_frame say what it is (instead of the frames shifting by one).
            listed.append(sorted(p for p in _children(image_dir)
                                 if p.suffix.lower() in _IMAGE_SUFFIXES and not p.is_dir()))
        return listed[0]
    return frames


def _read_attrs(path: Path) -> tuple[str, ...]:
    """Attribute codes of an ``attrs.txt`` (comma/space separated); ``()`` when absent."""
    if not path.is_file():
        return ()
    codes: list[str] = []
    for line in read_text_lines(path):
        codes += [cell for cell in split_cells(line) if cell]
    return tuple(codes)
