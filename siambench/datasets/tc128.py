"""Temple-Color-128, TC128 (Liang, Blasch and Ling, TIP 2015), and its subset TC128-ce.

Folder structure of one sequence (the official download)::

    <root>/<seq>/img/0001.jpg ...      frames (4 digits), numbered in the whole video
    <root>/<seq>/<seq>_gt.txt          x,y,w,h per line, comma-separated, 1-based
    <root>/<seq>/<seq>_frames.txt      "start,end": the 1-based inclusive frame range annotated
    <root>/<seq>/<seq>_att.txt         optional: attribute codes (IV, SV, OCC, ...), one a line

pytracking's renamed copy (``tpl_<seq>/``, ``-`` written ``_``: ``tpl_Yo_yos_ce1/``) is found
too; the files inside keep their names (``Yo-yos_ce1_gt.txt``). Without ``img/`` a sequence is
annotation-only (scorable, not trackable).

The download holds 129 sequences (the benchmark's name notwithstanding): both pytracking's
``tpldataset.py`` and virg-nexus's ``nx_temple_color_128.h`` list the same 129 names. The table
(``manifests/tc128.csv``) ships them with their frame ranges (pytracking: David 300-770,
Busstation_ce2 6-400, Hurdle_ce2 27-330, all others from 1), a ``ce`` column and pytracking's
``otb`` column (the 44 sequences its ``exclude_otb`` option drops).

``tc128-ce`` is the subset the reference loaders call TC128-ce (``tc128cedataset.py`` of the
STARK family, e.g. LiYunfengLYF/LightFC): "TC-128 Dataset (78 newly added sequences)", the names
containing ``_ce``, i.e. the sequences TC128 added to OTB -- NOT an OTB-overlapping subset. The
other 51 are OTB sequences or re-annotated ones (44 in pytracking's OTB list, plus Bicycle, Cup,
Hand, Iceskater, Juice, Sunshade, Torus).

The range in ``<seq>_frames.txt`` is used when present (else the table's, with a note); the
ground truth must have one row per frame of it. Attributes come from ``<seq>_att.txt`` when it is
there (OTB's 11 codes; virg-nexus writes IV as ``VI``, accepted); no public per-sequence table
was found to ship instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from siambench.datasets.base import (
    Dataset,
    FrameFlags,
    Sequence,
    find_folder,
    manifest_rows,
    require_folder,
    scan_sequences,
)
from siambench.datasets.registry import get_spec
from siambench.errors import DataFormatError, SiambenchError, UnknownNameError
from siambench.fileio import path_kind
from siambench.textio import read_number_rows, read_text_lines, split_cells

#: The 11 OTB attributes TC128 uses, in the OTB toolkit's order.
ATTRIBUTES: dict[str, str] = {
    "IV": "Illumination Variation", "SV": "Scale Variation", "OCC": "Occlusion",
    "DEF": "Deformation", "MB": "Motion Blur", "FM": "Fast Motion", "IPR": "In-Plane Rotation",
    "OPR": "Out-of-Plane Rotation", "OV": "Out-of-View", "BC": "Background Clutter",
    "LR": "Low Resolution",
}
_CODE_ALIASES = {"VI": "IV"}
_VARIANTS = ("tc128", "tc128-ce")


@dataclass(frozen=True)
class Tc128Entry:
    """One row of the shipped table: a 1-based inclusive frame range."""

    name: str
    start: int
    end: int
    ce: bool
    otb: bool

    @property
    def folders(self) -> tuple[str, ...]:
        """Folder names looked for: the official one, then pytracking's renamed ones."""
        plain = self.name.replace("-", "_")
        return tuple(dict.fromkeys((self.name, plain, f"tpl_{self.name}", f"tpl_{plain}")))


def manifest(variant: str = "tc128") -> list[Tc128Entry]:
    """The 129 sequences of ``tc128`` or the 78 of ``tc128-ce``, in pytracking's order."""
    if variant not in _VARIANTS:
        raise UnknownNameError(f"unknown TC128 variant {variant!r}; known: {', '.join(_VARIANTS)}")
    entries = [Tc128Entry(row["name"], int(row["start"]), int(row["end"]), row["ce"] == "1",
                          row["otb"] == "1") for row in manifest_rows("tc128.csv")]
    return [e for e in entries if e.ce] if variant == "tc128-ce" else entries


def read_frame_range(path: Path) -> tuple[int, int]:
    """Read a ``<seq>_frames.txt`` file: two integers ``start,end`` (1-based, inclusive)."""
    cells = [cell for line in read_text_lines(path) for cell in split_cells(line) if cell]
    try:
        start, end = (int(cell) for cell in cells)
    except ValueError:
        raise DataFormatError(path, f"{' '.join(cells)!r} is not a frame range",
                              hint="expected two integers start,end") from None
    if not 1 <= start <= end:
        raise DataFormatError(path, f"frame range {start},{end}",
                              hint="expected 1 <= start <= end")
    return start, end


def read_attributes(path: Path) -> tuple[str, ...]:
    """Read a ``<seq>_att.txt`` file: attribute codes separated by lines, commas or spaces,
    returned in :data:`ATTRIBUTES` order."""
    codes = set()
    for number, line in enumerate(read_text_lines(path), start=1):
        for cell in split_cells(line):
            if not cell:
                continue
            code = _CODE_ALIASES.get(cell.upper(), cell.upper())
            if code not in ATTRIBUTES:
                raise DataFormatError(path, f"unknown attribute {cell!r}", line=number,
                                      hint=f"known: {', '.join(ATTRIBUTES)}")
            codes.add(code)
    return tuple(code for code in ATTRIBUTES if code in codes)


def load(root: Path, variant: str) -> Dataset:
    """Load ``tc128`` or ``tc128-ce`` from ``root`` (see the module docstring).

    Sequences of the table with no folder under ``root`` are listed in ``dataset.meta["missing"]``.
    """
    entries = manifest(variant)
    root = require_folder(root)
    sequences, missing = scan_sequences(
        entries, lambda entry: _find(root, entry),
        lambda entry, folder: _sequence(entry, folder, variant), dataset=variant,
        none_found=f"none of the {len(entries)} {variant} sequences found in {root}. "
                   f"Expected folder structure: {get_spec(variant).folder_structure}")
    return Dataset(variant, sequences, root=root, meta={"missing": missing})


def _find(root: Path, entry: Tc128Entry) -> Path | None:
    return find_folder([root / name for name in entry.folders])


def _file(folder: Path, entry: Tc128Entry, suffix: str) -> Path:
    """``<folder>/<name><suffix>`` under any of the sequence's names; else the only file of the
    folder ending in ``suffix``; else the official name (which then does not exist)."""
    for name in (entry.name, *entry.folders, folder.name):
        if (folder / f"{name}{suffix}").is_file():
            return folder / f"{name}{suffix}"
    found = sorted(folder.glob(f"*{suffix}"))
    return found[0] if len(found) == 1 else folder / f"{entry.name}{suffix}"


class _Files:
    """The files of one sequence, parsed once."""

    def __init__(self, entry: Tc128Entry, folder: Path) -> None:
        self.entry, self.folder = entry, folder
        self.gt_path = _file(folder, entry, "_gt.txt")
        self.range_path = _file(folder, entry, "_frames.txt")

    @cached_property
    def frame_range(self) -> tuple[int, int]:
        if self.range_path.is_file():
            return read_frame_range(self.range_path)
        return self.entry.start, self.entry.end

    @cached_property
    def groundtruth(self) -> np.ndarray:
        if not self.gt_path.is_file():
            raise DataFormatError(self.gt_path, "annotation file not found",
                                  hint=f"expected <root>/{self.folder.name}/{self.entry.name}_gt.txt")
        gt = read_number_rows(self.gt_path, (4,))
        start, end = self.frame_range
        if len(gt) != end - start + 1:
            raise DataFormatError(self.gt_path, f"{len(gt)} rows, expected {end - start + 1} "
                                  f"(frames {start}-{end})",
                                  hint=f"one x,y,w,h row per frame of {self.range_path.name}")
        return gt

    def flags(self) -> FrameFlags:
        notes = []
        if not self.range_path.is_file():
            notes.append(f"{self.range_path.name} missing in {self.folder}; the shipped range "
                         f"{self.entry.start}-{self.entry.end} is used")
        return FrameFlags(notes=tuple(notes))

    def frame_paths(self) -> list[Path] | None:
        images = self.folder / "img"
        if path_kind(images) == "missing":
            return None
        start, end = self.frame_range
        return [images / f"{index:04d}.jpg" for index in range(start, end + 1)]


def _attributes(folder: Path, entry: Tc128Entry) -> tuple[tuple[str, ...], str | None]:
    path = _file(folder, entry, "_att.txt")
    if not path.is_file():
        return (), None
    try:
        return read_attributes(path), None
    except SiambenchError as exc:
        return (), f"attributes not read: {exc}"


def _sequence(entry: Tc128Entry, folder: Path, dataset: str) -> Sequence:
    found = _Files(entry, folder)
    attributes, problem = _attributes(folder, entry)

    def flags() -> FrameFlags:
        base = found.flags()
        return FrameFlags(notes=base.notes + ((problem,) if problem else ()))

    return Sequence(
        entry.name,
        groundtruth=lambda: found.groundtruth,
        frame_paths=found.frame_paths,
        flags=flags,
        attributes=attributes,
        dataset=dataset,
        source=folder,
        meta={"ce": entry.ce, "otb": entry.otb, "folder": folder.name},
        length=lambda: len(found.groundtruth),
    )
