"""The core dataset types: a lazy :class:`Sequence` and an ordered, name-indexable :class:`Dataset`,
and the pieces every loader's scan of its root shares (:func:`require_folder`, :func:`scan_sequences`,
:func:`listed_folders`, :func:`manifest_rows`, ...), so that their messages are written once.

Conventions (see ``siambench.boxes`` for the box conventions):

* ground truth is float64 ``(N, 4)`` ``x, y, w, h`` or ``(N, 8)`` polygons, in the benchmark's own
  pixel frame (OTB/VOT are 1-based); rows may be NaN (target absent, or unannotated);
* frames are RGB ``uint8`` ``(H, W, 3)`` and are only decoded by :meth:`Sequence.frame`;
* per-frame flags (VOT tags, GOT-10k ``absent``/``cover``) are arrays of length ``len(seq)``.

Nothing is read at construction: ground truth, frame lists and labels are loaded on first access
by the callables a loader provides, and cached. A malformed file therefore raises when the
sequence is used, which lets ``siambench data check`` report every sequence's problems.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from siambench.datasets.images import read_frame
from siambench.errors import DataFormatError, DatasetNotFoundError, SiambenchError, UnknownNameError
from siambench.fileio import path_kind
from siambench.names import canonical_key, separated_key


def entry_kinds(folder: Path) -> dict[str, str]:
    """Name -> :func:`path_kind` of every entry of ``folder`` (links followed). Only symbolic
    links cost a ``stat`` (the rest is known from the listing: fast on GOT-10k's 9k folders).
    Raises :class:`DataFormatError` when the folder cannot be listed."""
    kinds: dict[str, str] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_symlink():
                    kinds[entry.name] = path_kind(Path(entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    kinds[entry.name] = "a folder"
                elif entry.is_file(follow_symlinks=False):
                    kinds[entry.name] = "a file"
                else:
                    kinds[entry.name] = path_kind(Path(entry.path))
    except OSError as exc:
        raise DataFormatError(folder, f"cannot be listed: {exc.strerror or exc}") from None
    return kinds


def listed_folders(folder: Path, names: list[str], list_file: Path,
                   structure: str) -> tuple[dict[str, str], list[str], list[str]]:
    """The scan of a sequence list (``list_file`` of GOT-10k or the VOT toolkit, its ``names``
    in order) against ``folder``: its :func:`entry_kinds`, the names that are folders there
    (found) and the names with nothing of that name (missing), in list order.

    Raises :class:`DatasetNotFoundError` when none is a folder (``"<list_file>: none of the N
    sequences it lists has a folder in <folder> (first: 'x', which is a file). Expected folder
    structure: <structure>"``)."""
    kinds = entry_kinds(folder)
    found = [name for name in names if kinds.get(name) == "a folder"]
    missing = [name for name in names if name not in kinds]
    if not found:
        raise DatasetNotFoundError(
            f"{list_file}: none of the {len(names)} sequences it lists has a folder in {folder} "
            f"(first: {names[0]!r}" + (f", which is {kinds[names[0]]}" if names[0] in kinds else "")
            + f"). Expected folder structure: {structure}")
    return kinds, found, missing


def not_a_folder(path: Path) -> str:
    """``"<path> is not a folder (it is a file)"``, ``"... (nothing is there)"``, ...: the message
    of a path that should be a folder and is not, saying what it is."""
    kind = path_kind(path)
    return f"{path} is not a folder ({'nothing is there' if kind == 'missing' else 'it is ' + kind})"


def unusable_sequence(name: str, error: SiambenchError, *, dataset: str = "",
                      source: Path | None = None) -> Sequence:
    """A sequence that cannot be read (its folder is a broken link, a file, ...): ``error`` is
    raised when it is used, so ``siambench data check`` lists it under its name and a run
    records it as failed, instead of the sequence being left out without a word."""
    def fail() -> Any:
        raise error
    return Sequence(name, groundtruth=fail, dataset=dataset, source=source, length=0)


def require_folder(root: Path, structure: str | None = None) -> Path:
    """``root`` as a :class:`Path`, when it is a folder (a dataset root, a split folder).

    Otherwise raises :class:`DatasetNotFoundError` with :func:`not_a_folder`'s message, followed
    by ``". Expected folder structure: <structure>"`` when ``structure`` is given."""
    root = Path(root)
    if not root.is_dir():
        message = not_a_folder(root)
        raise DatasetNotFoundError(message if structure is None
                                   else f"{message}. Expected folder structure: {structure}")
    return root


def require_file(path: Path, what: str, structure: str) -> None:
    """Raise :class:`DatasetNotFoundError` unless ``path`` (a file a whole dataset needs, e.g. its
    annotation table) is a file: ``"<path>: not found. Expected folder structure: ..."`` or
    ``"<path>: is a folder, expected <what>. Expected folder structure: ..."``."""
    if not path.is_file():
        kind = path_kind(path)
        raise DatasetNotFoundError(f"{path}: " + ("not found" if kind == "missing"
                                                  else f"is {kind}, expected {what}")
                                   + f". Expected folder structure: {structure}")


def wrong_kind(path: Path, expected: str, *, kind: str | None = None,
               hint: str | None = None) -> DataFormatError:
    """The error of a path that is there but is not what a loader expects, e.g.
    ``"<path>: is a file, expected the sequence folder"`` or ``"<path>: is a broken symbolic
    link (to x), expected the annotation file"``. ``kind`` is :func:`path_kind`'s answer when
    already known (from :func:`entry_kinds`); ``hint`` is appended in parentheses."""
    return DataFormatError(path, f"is {kind or path_kind(path)}, expected {expected}", hint=hint)


def find_folder(places: tuple[Path, ...] | list[Path]) -> Path | None:
    """The first of ``places`` (where a sequence's folder may be, in order of preference) that
    is a folder; else the first where something else is (a file, a broken link, a link loop:
    :func:`scan_sequences` reports it as unusable rather than missing); else None."""
    for folder in places:
        if folder.is_dir():
            return folder
    return next((folder for folder in places if path_kind(folder) != "missing"), None)


class _Named(Protocol):
    """A row of a loader's sequence table (``LasotEntry``, ``Dtb70Entry``, ...)."""

    @property
    def name(self) -> str: ...


_Entry = TypeVar("_Entry", bound=_Named)


def scan_sequences(entries: Iterable[_Entry], place: Callable[[_Entry], Path | None],
                   build: Callable[[_Entry, Path], Sequence], *, dataset: str, none_found: str,
                   file: bool = False,
                   annotation: Callable[[_Entry], str] | None = None) -> tuple[list[Sequence], list[str]]:
    """A loader's scan of the sequences its table lists: ``(sequences, missing names)``, in table
    order. ``place(entry)`` is where the sequence's folder is expected (``file``: its annotation
    file, as UAV123's and UAVDT's), or None when it is nowhere; for each entry:

    * nothing at the place: the name is missing (the loader lists it in ``dataset.meta``);
    * something else there: an :func:`unusable_sequence` with ``source`` the place (it raises
      when used, so ``siambench data check`` lists it), saying :func:`wrong_kind`'s ``"<place>:
      is a file, expected the sequence folder"`` (``"... expected the annotation file"``);
    * ``annotation(entry)`` given (a path inside ``<root>/<name>/``) and that file absent or not
      a file: the same, saying ``"<file>: annotation file not found (expected
      <root>/<name>/<path>)"`` or ``"<file>: is a folder, expected the annotation file (...)"``;
    * else ``build(entry, place)``.

    Raises :class:`DatasetNotFoundError` with the message ``none_found`` when no entry is there
    (the table names none of what is under the root)."""
    wanted, expected = ("a file", "the annotation file") if file else ("a folder", "the sequence folder")
    sequences: list[Sequence] = []
    missing: list[str] = []
    for entry in entries:
        path = place(entry)
        kind = "missing" if path is None else path_kind(path)
        if path is None or kind == "missing":
            missing.append(entry.name)
            continue
        inner = None if annotation is None else annotation(entry)
        if kind != wanted:
            error = wrong_kind(path, expected, kind=kind)
        elif inner is not None and not (path / inner).is_file():
            anno, hint = path / inner, f"expected <root>/{entry.name}/{inner}"
            anno_kind = path_kind(anno)
            error = (DataFormatError(anno, "annotation file not found", hint=hint)
                     if anno_kind == "missing" else
                     wrong_kind(anno, "the annotation file", kind=anno_kind, hint=hint))
        else:
            sequences.append(build(entry, path))
            continue
        sequences.append(unusable_sequence(entry.name, error, dataset=dataset, source=path))
    if not sequences:
        raise DatasetNotFoundError(none_found)
    return sequences, missing


def manifest_rows(filename: str) -> list[dict[str, str]]:
    """The rows of the shipped table ``siambench/datasets/manifests/<filename>`` (package data: a
    UTF-8 CSV file with a header line), in file order, as ``{column: text}``."""
    text = files("siambench.datasets").joinpath(f"manifests/{filename}").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _numbering_gaps(paths: list[Path], shown: int = 3) -> str:
    """The names missing from frames numbered ``1..last`` (``0001.jpg``, ...), e.g.
    ``"0003.jpg, 0007.jpg"``; empty when the names are not all numbers of one width or none is
    missing."""
    stems = [path.stem for path in paths]
    if not stems or not all(stem.isdigit() for stem in stems) or len({len(s) for s in stems}) > 1:
        return ""
    numbers = {int(stem) for stem in stems}
    last = max(numbers)
    if last > 10 * len(numbers) + 10:  # not a plain 1..N numbering
        return ""
    width, suffix = len(stems[0]), paths[0].suffix
    gaps = [number for number in range(1, last + 1) if number not in numbers]
    names = [f"{number:0{width}d}{suffix}" for number in gaps[:shown]]
    return ", ".join(names) + (f" and {len(gaps) - shown} more" if len(gaps) > shown else "")


class _Lazy:
    """A value given directly or computed once by a callable."""

    __slots__ = ("_value", "_factory")
    _UNSET = object()

    def __init__(self, value_or_factory: Any) -> None:
        if callable(value_or_factory):
            self._factory, self._value = value_or_factory, self._UNSET
        else:
            self._factory, self._value = None, value_or_factory

    def get(self) -> Any:
        if self._value is self._UNSET:
            self._value = self._factory()
            self._factory = None
        return self._value


@dataclass(frozen=True)
class FrameFlags:
    """Per-frame flags of a sequence, each an array of length ``len(sequence)``.

    ``tags``: VOT-style boolean tags by name (every tag of the dataset is a key);
    ``absent``: True where the target is not visible (GOT-10k ``absence.label``);
    ``cover``: visible fraction in eighths, 0..8 (GOT-10k ``cover.label``);
    ``cut_by_image``: True where the target is cut by the image border (GOT-10k).
    ``notes``: non-fatal quirks found while reading (e.g. a short tag file padded with 0).
    """

    tags: dict[str, np.ndarray] = field(default_factory=dict)
    absent: np.ndarray | None = None
    cover: np.ndarray | None = None
    cut_by_image: np.ndarray | None = None
    notes: tuple[str, ...] = ()


class Sequence:
    """One annotated target in one video, loaded lazily.

    Parameters are values or zero-argument callables returning the value (called once, on first
    access). ``frame_paths`` may be ``None`` when only annotations are available (scoring needs
    no images); :meth:`frame` then raises a clear error.
    """

    def __init__(
        self,
        name: str,
        *,
        groundtruth: np.ndarray | Callable[[], np.ndarray],
        frame_paths: list[Path] | Callable[[], list[Path]] | None = None,
        flags: FrameFlags | Callable[[], FrameFlags] | None = None,
        attributes: tuple[str, ...] = (),
        image_size: tuple[int, int] | None | Callable[[], tuple[int, int] | None] = None,
        dataset: str = "",
        source: Path | None = None,
        meta: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        length: int | Callable[[], int] | None = None,
    ) -> None:
        self.name = name
        self.dataset = dataset
        self.attributes = tuple(attributes)
        self.source = source
        self._meta = _Lazy(meta if meta is not None else {})
        self._groundtruth = _Lazy(groundtruth)
        self._frame_paths = _Lazy(frame_paths)
        self._flags = _Lazy(flags if flags is not None else FrameFlags())
        self._image_size = _Lazy(image_size)
        self._length = _Lazy(length)

    @property
    def meta(self) -> dict[str, Any]:
        """Loader-specific facts (start frame, GOT-10k ``meta_info.ini`` entries, ...)."""
        value = self._meta.get()
        if not isinstance(value, dict):
            value = dict(value)
            self._meta = _Lazy(value)
        return value

    # -- annotations -------------------------------------------------------------------------
    @property
    def groundtruth(self) -> np.ndarray:
        """Float64 ``(N, 4)`` boxes ``x, y, w, h`` or ``(N, 8)`` polygons; NaN rows allowed.

        For a test split with hidden annotations (GOT-10k test) only the first row is known.
        """
        return self._groundtruth.get()

    @property
    def init_box(self) -> np.ndarray:
        """The first ground-truth row, the region a tracker is initialised with."""
        return self.groundtruth[0]

    @property
    def frame_paths(self) -> list[Path]:
        """Paths of the sequence's frames, in order; empty when only annotations are present."""
        paths = self._frame_paths.get()
        return [] if paths is None else paths

    @property
    def has_frames(self) -> bool:
        return self._frame_paths.get() is not None

    @property
    def flags(self) -> FrameFlags:
        return self._flags.get()

    @property
    def tags(self) -> dict[str, np.ndarray]:
        """VOT per-frame tags (tag name without extension -> boolean array); ``{}`` elsewhere."""
        return self.flags.tags

    @property
    def absent(self) -> np.ndarray | None:
        """Boolean array, True where the target is absent (GOT-10k); ``None`` if unknown."""
        return self.flags.absent

    @property
    def cover(self) -> np.ndarray | None:
        """Visible fraction in eighths (GOT-10k ``cover.label``, 0..8); ``None`` if unknown."""
        return self.flags.cover

    @property
    def image_size(self) -> tuple[int, int] | None:
        """``(width, height)`` when the benchmark states it (or the loader measured it)."""
        return self._image_size.get()

    def __len__(self) -> int:
        length = self._length.get()
        if length is not None:
            return int(length)
        if self.has_frames:
            return len(self.frame_paths)
        return len(self.groundtruth)

    # -- frames ------------------------------------------------------------------------------
    def frame(self, index: int) -> np.ndarray:
        """Decode frame ``index`` (0-based) as RGB ``uint8`` ``(H, W, 3)``."""
        if not self.has_frames:
            raise SiambenchError(
                f"sequence {self.name!r} of {self.dataset or 'this dataset'} has annotations but "
                "no images: it can be scored but not tracked; point --root at the full dataset")
        paths = self.frame_paths
        if not -len(paths) <= index < len(paths):
            raise IndexError(f"frame {index} out of range for {self.name!r} ({len(paths)} frames)")
        return read_frame(paths[index])

    def frames(self) -> Iterator[np.ndarray]:
        """Decode the frames in order."""
        for index in range(len(self)):
            yield self.frame(index)

    # -- checking ----------------------------------------------------------------------------
    def problems(self, *, decode: str = "first") -> list[str]:
        """Every problem that stops this sequence from being used, as messages (empty: usable).

        Loads the ground truth and flags, checks the frame files exist and match the
        ground-truth length, and decodes frames: ``decode`` is ``"none"``, ``"first"`` or
        ``"all"``.
        """
        found: list[str] = []
        try:
            gt = self.groundtruth
            self.flags  # noqa: B018 -- loading validates the label files
        except SiambenchError as exc:
            return [str(exc)]
        if len(gt) == 0:
            return [f"{self.name}: the ground truth is empty"]
        try:  # listing the frames reads files too (a VOT ``sequence`` file, a folder)
            if not self.has_frames:
                return found
            paths = self.frame_paths
        except SiambenchError as exc:
            return [str(exc)]
        if not paths:
            return [f"{self.name}: no frames found"]
        missing = [p for p in paths if not p.is_file()]
        if len(missing) == len(paths) and not paths[0].parent.is_dir():
            folder = paths[0].parent
            kind = path_kind(folder)
            found.append(f"{self.name}: no images: the folder {folder} does not exist"
                         if kind == "missing" else
                         f"{self.name}: no images: {folder} is {kind}, expected the folder of "
                         "frames")
        elif missing:
            kind = path_kind(missing[0])
            what = "" if kind == "missing" else f" ({kind}, expected an image file)"
            found.append(f"{self.name}: {len(missing)} of {len(paths)} frames missing, the first "
                         f"is {missing[0]}{what}")
        if len(gt) > 1 and len(gt) != len(paths):
            gaps = _numbering_gaps(paths)
            found.append(f"{self.name}: {len(gt)} ground-truth rows for {len(paths)} frames"
                         + (f" (missing from the frame numbering: {gaps})" if gaps else ""))
        to_decode = {"none": [], "first": paths[:1], "all": paths}[decode]
        for path in to_decode:
            if path.is_file():
                try:
                    read_frame(path)
                except SiambenchError as exc:
                    found.append(str(exc))
        return found

    @property
    def notes(self) -> tuple[str, ...]:
        """Non-fatal quirks found while loading (padded label files and the like)."""
        return self.flags.notes

    def __repr__(self) -> str:
        return f"Sequence({self.name!r}, dataset={self.dataset!r})"


class Dataset:
    """An ordered collection of sequences, indexable by position or by (alias of) name."""

    def __init__(self, name: str, sequences: list[Sequence], *, root: Path | None = None,
                 meta: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.root = root
        self.meta = dict(meta or {})
        self._sequences = list(sequences)
        # Names are matched by separator-normalised key first, then by canonical key when that
        # is unambiguous: UAV123 has both ``car1_1`` and ``car11`` (one canonical key).
        self._by_key: dict[str, int | None] = {}
        self._by_separated: dict[str, int] = {}
        for index, sequence in enumerate(self._sequences):
            separated = separated_key(sequence.name)
            if separated in self._by_separated:
                raise DataFormatError(root or Path(name), f"two sequences named like "
                                      f"{sequence.name!r}", hint="sequence names must be unique")
            self._by_separated[separated] = index
            key = canonical_key(sequence.name)
            self._by_key[key] = None if key in self._by_key else index

    @property
    def names(self) -> list[str]:
        return [sequence.name for sequence in self._sequences]

    def __len__(self) -> int:
        return len(self._sequences)

    def __iter__(self) -> Iterator[Sequence]:
        return iter(self._sequences)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._index(name) is not None

    def _index(self, name: str) -> int | None:
        index = self._by_separated.get(separated_key(name))
        return index if index is not None else self._by_key.get(canonical_key(name))

    def __getitem__(self, key: int | str) -> Sequence:
        if isinstance(key, (int, np.integer)):
            return self._sequences[key]
        index = self._index(key)
        if index is None:
            close = [n for n in self.names if canonical_key(n).startswith(canonical_key(key)[:3])]
            hint = f"; similar: {', '.join(close[:5])}" if close else ""
            raise UnknownNameError(f"no sequence {key!r} in {self.name} ({len(self)} sequences"
                                   f"{hint})")
        return self._sequences[index]

    def subset(self, names: list[str]) -> "Dataset":
        """A dataset of the named sequences, in the given order."""
        return Dataset(self.name, [self[n] for n in names], root=self.root, meta=self.meta)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} sequences, root={self.root})"
