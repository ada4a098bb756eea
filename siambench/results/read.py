"""Detect the format of a tracker's raw results and read them, from a folder or a zip archive.

Formats (``TrackerResults.format``), detected from the files in this order:

* ``"vot"`` -- ``<tracker>/baseline/<seq>/<seq>_NNN.txt`` (VOT toolkits, pysot, got10k), with
  times in ``<seq>_NNN_time.value`` (VOT python toolkit), ``<seq>_NNN_time.txt`` or
  ``<seq>_time.txt`` (one column per repetition, got10k); times are taken to be seconds;
* ``"otb-mat"`` -- the OTB MATLAB toolkit's ``.mat`` files, either one folder per tracker
  (``<seq>.mat`` or ``<seq>_<tracker>.mat``) or the toolkit's shared folder of
  ``<seq>_<tracker>.mat`` files of many trackers (see :func:`split_mat_names`);
* ``"otb-json"`` -- the Python OTB toolkit's ``<Seq>.json`` files;
* ``"ope-txt"`` -- one ``<seq>.txt`` per sequence (pysot, got10k OTB, pytracking), times in
  ``<seq>_time.txt`` beside it or in ``times/<seq>_time.txt``;
* ``"got10k"`` -- ``<tracker>/<seq>/<seq>_NNN.txt`` + ``<seq>/<seq>_time.txt``;
* ``"votlt"`` -- the VOT long-term layout ``<tracker>/longterm/<seq>/<seq>_NNN.txt`` with
  ``<seq>_NNN_confidence.value`` (VOT toolkits, pysot; see :mod:`siambench.results.longterm`),
  times as for ``"vot"``. Detected before ``"vot"``. A sequence without a confidence file gets
  confidence 1 on every frame after the first (a tracker that reports none), with a warning; a
  confidence file whose length differs from the boxes' makes the sequence unreadable.

A tracker inside a container is addressed by a path below the container: a folder inside a zip
(``VOT2018.zip/VOT2018/LightTrack``) or a tracker of a shared ``.mat`` folder
(``results_OPE_OTB100/KCF_GaussHog``). :func:`find_trackers` returns such paths and
:func:`read_tracker` accepts them. Sequence names are kept as found on disk (matching the
dataset is :func:`siambench.results.align.align`'s job). Nothing is rounded.

Fault policy: one file of one sequence that cannot be read (malformed, truncated, binary, a
``.mat`` that crashes scipy, ...) does not refuse the tracker: the sequence is recorded in
``TrackerResults.unreadable`` with the error (which names the file and the line) and left out;
:func:`~siambench.results.align.align` counts it like a missing sequence and lists it in its
warnings. ``strict=True`` makes the first such file an error. A time file that cannot be read
leaves the times unknown, with a warning (an error when strict). A problem with the tracker as
a whole (no results found, several trackers, an archive refused) raises
:class:`~siambench.errors.SiambenchError`. Negative widths or heights are read as written, with
a warning.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path, PurePosixPath

import numpy as np

from siambench.errors import DataFormatError, SiambenchError
from siambench.names import canonical_key
from siambench.results.longterm import FOLDER as LONGTERM_FOLDER
from siambench.results.longterm import parse_confidence, parse_longterm_run
from siambench.results.parse import (
    is_otb_json,
    parse_boxes,
    parse_otb_json,
    parse_otb_mat,
    parse_times,
    parse_vot_run,
)
from siambench.results.tree import FileTree, is_zip, open_location
from siambench.results.types import Run, TrackerResults

#: Per-sequence side files written beside ``<seq>.txt`` that are not box files.
SIDE_SUFFIXES = ("_time", "_all_boxes", "_all_scores", "_confidence", "_object_presence_score",
                 "_object_presence_scores")
_RUN_FILE = re.compile(r"^(?P<seq>.+)_(?P<rep>\d+)\.txt$")
_MAX_DEPTH = 5


# -- detection -------------------------------------------------------------------------------

def _is_side_file(name: str) -> bool:
    stem = PurePosixPath(name).stem
    return any(stem.endswith(suffix) for suffix in SIDE_SUFFIXES)


def _got_runs(tree: FileTree) -> dict[str, dict[int, str]]:
    """``<seq>/<seq>_NNN.txt`` files: sequence folder -> repetition -> relative path."""
    runs: dict[str, dict[int, str]] = defaultdict(dict)
    for rel in tree.files:
        parts = rel.split("/")
        if len(parts) != 2:
            continue
        match = _RUN_FILE.match(parts[1])
        if match and match["seq"] == parts[0]:
            runs[parts[0]][int(match["rep"])] = rel
    return dict(runs)


def detect_format(tree: FileTree) -> str | None:
    """The result format of the tree's top folder, or None when it holds no results."""
    top_files, top_dirs = tree.children()
    if LONGTERM_FOLDER in top_dirs and _got_runs(tree.subtree(LONGTERM_FOLDER)):
        return "votlt"
    if "baseline" in top_dirs and _got_runs(tree.subtree("baseline")):
        return "vot"
    if any(f.lower().endswith(".mat") for f in top_files):
        return "otb-mat"
    jsons = [f for f in top_files if f.lower().endswith(".json")]
    if any(_is_otb_json_file(tree, f) for f in jsons[:3]):
        return "otb-json"
    if any(f.lower().endswith(".txt") and not _is_side_file(f) for f in top_files):
        return "ope-txt"
    if _got_runs(tree):
        return "got10k"
    return None


def _is_otb_json_file(tree: FileTree, rel: str) -> bool:
    try:
        return is_otb_json(tree.read_bytes(rel))
    except DataFormatError:
        return False


def split_mat_names(stems: list[str]) -> dict[str, dict[str, str]]:
    """Split ``.mat`` file stems into tracker suffix -> sequence name -> stem.

    Both parts may contain ``_`` (``Human4_2_siamfc3s``, ``Basketball_KCF_GaussHog``), so each
    stem is split at the ``_`` that maximises (files sharing the suffix) x (suffixes sharing the
    prefix): a tracker suffix recurs once per sequence and a sequence prefix once per tracker.
    When some stem has no ``_``, or every suffix would name a single file, the stems are
    sequence names (suffix ``""``).
    """
    if not stems:
        return {}
    if not all("_" in stem for stem in stems):
        return {"": {stem: stem for stem in stems}}
    splits = {stem: [(stem[:i], stem[i + 1:]) for i, ch in enumerate(stem)
                     if ch == "_" and 0 < i < len(stem) - 1] for stem in stems}
    suffix_count: Counter[str] = Counter()
    prefix_suffixes: dict[str, set[str]] = defaultdict(set)
    for options in splits.values():
        for prefix, suffix in options:
            suffix_count[suffix] += 1
            prefix_suffixes[prefix].add(suffix)
    groups: dict[str, dict[str, str]] = defaultdict(dict)
    for stem, options in splits.items():
        if not options:
            return {"": {s: s for s in stems}}
        prefix, suffix = max(options, key=lambda o: (
            suffix_count[o[1]] * len(prefix_suffixes[o[0]]), len(o[0])))
        groups[suffix][prefix] = stem
    if max(len(group) for group in groups.values()) < 2 and len(stems) > 1:
        return {"": {s: s for s in stems}}
    return dict(groups)


def _mat_groups(tree: FileTree) -> dict[str, dict[str, str]]:
    top_files, _ = tree.children()
    stems = {PurePosixPath(f).stem: f for f in top_files if f.lower().endswith(".mat")}
    groups = split_mat_names(sorted(stems))
    return {suffix: {seq: stems[stem] for seq, stem in group.items()}
            for suffix, group in groups.items()}


def _roots(tree: FileTree, depth: int = 0) -> list[tuple[str, str]]:
    """``(relative folder, result format)`` of every tracker folder in the tree (not below another)."""
    result_format = detect_format(tree)
    if result_format is not None:
        return [("", result_format)]
    if depth >= _MAX_DEPTH:
        return []
    found = []
    for child in tree.children()[1]:
        found += [((f"{child}/{rel}" if rel else child), fmt)
                  for rel, fmt in _roots(tree.subtree(child), depth + 1)]
    return found


# -- reading ---------------------------------------------------------------------------------

def read_tracker(path: Path, name: str | None = None, *, strict: bool = False) -> TrackerResults:
    """Read one tracker's raw results from a folder, a ``.zip`` or a path below either.

    ``path`` may address a tracker inside a container (see the module docstring); when the
    folder or archive holds several trackers, ``name`` selects one of them (otherwise an error
    lists them). ``name`` is also the tracker's name in the result (default: the folder,
    archive or shared-folder suffix name). A sequence whose file cannot be read goes to
    ``unreadable`` (``strict=False``) or raises its :class:`DataFormatError` (``strict=True``);
    see the module docstring.
    """
    path = Path(path)
    with open_location(path) as tree:
        selector = path.name if tree.location != path else None
        result_format = detect_format(tree)
        if result_format is None:
            roots = _roots(tree)
            chosen = _choose_root(roots, path, selector or name)
            if selector and chosen is not None:
                selector = None
            if chosen is None:
                raise SiambenchError(f"{path}: no raw results found (expected <seq>.txt files, "
                                     "baseline/<seq>/<seq>_001.txt, <seq>/<seq>_001.txt, OTB "
                                     ".mat or JSON results)")
            tree, result_format = tree.subtree(chosen[0]), chosen[1]
        elif selector is not None and result_format != "otb-mat":
            raise SiambenchError(f"{path}: no such folder in {tree.location}")
        default_name = tree.location.stem if tree.location.suffix.lower() == ".zip" \
            else tree.location.name
        results = TrackerResults(name=name or selector or default_name, format=result_format,
                                 source=str(tree.location))
        reader = _Reader(tree, results, strict)
        for rel, reason in tree.skipped.items():  # broken or looping links, unlistable folders
            error = DataFormatError(tree.where(rel), f"not read: {reason}")
            if strict:
                raise error
            results.warnings.append(str(error))
        if result_format == "otb-mat":
            _read_mat(reader, selector or name, path)
        elif result_format == "otb-json":
            _read_json(reader)
        elif result_format == "ope-txt":
            _read_ope(reader)
        elif result_format == "got10k":
            _read_runs(reader)
        elif result_format == "votlt":
            _read_runs(reader.below(LONGTERM_FOLDER), longterm=True)
        else:
            _read_runs(reader.below("baseline"), vot=True)
    _warn_negative_sizes(results)
    return results


def _choose_root(roots: list[tuple[str, str]], path: Path,
                 wanted: str | None) -> tuple[str, str] | None:
    if not roots:
        return None
    if len(roots) == 1:
        return roots[0]
    if wanted:
        key = canonical_key(wanted)
        matches = [r for r in roots if canonical_key(PurePosixPath(r[0]).name) == key]
        if len(matches) == 1:
            return matches[0]
    names = ", ".join(PurePosixPath(r[0]).name for r in roots)
    raise SiambenchError(f"{path} holds the results of {len(roots)} trackers ({names}); give "
                         f"one as {path}/<folder> or pass its name")


class _Reader:
    """The tree being read, the results being filled, and the fault policy."""

    def __init__(self, tree: FileTree, results: TrackerResults, strict: bool) -> None:
        self.tree, self.results, self.strict = tree, results, strict

    def below(self, rel_dir: str) -> _Reader:
        return _Reader(self.tree.subtree(rel_dir), self.results, self.strict)

    def unreadable(self, seq: str, error: DataFormatError) -> None:
        """A sequence whose file cannot be read: raise when strict, else record it."""
        if self.strict:
            raise error
        self.results.unreadable[seq] = str(error)
        self.results.sequences.pop(seq, None)

    def store(self, seq: str, runs: list[Run], rel: str) -> None:
        """Keep a sequence's runs; a second file for the same name makes it unreadable."""
        if seq in self.results.sequences or seq in self.results.unreadable:
            self.unreadable(seq, DataFormatError(self.tree.where(rel), "a second result file for "
                                                 f"sequence {seq!r}", hint="remove one of them"))
            return
        self.results.sequences[seq] = runs


def _read_mat(reader: _Reader, wanted: str | None, path: Path) -> None:
    tree, results = reader.tree, reader.results
    groups = _mat_groups(tree)
    if len(groups) == 1:
        (suffix, group), = groups.items()
    else:
        key = canonical_key(wanted) if wanted else None
        suffix = next((s for s in groups if canonical_key(s) == key), None)
        if suffix is None:
            names = ", ".join(sorted(groups))
            raise SiambenchError(f"{path}: this OTB results folder holds {len(groups)} trackers "
                                 f"({names}); give one as {tree.location}/<tracker>")
        group = groups[suffix]
        results.name = results.name if results.name != tree.location.name else suffix
    results.format = "otb-mat"
    for seq, rel in sorted(group.items()):
        try:
            run, notes = parse_otb_mat(tree.read_bytes(rel), tree.where(rel))
        except DataFormatError as error:
            reader.unreadable(seq, error)
            continue
        reader.store(seq, [run], rel)
        results.warnings.extend(notes)


def _read_json(reader: _Reader) -> None:
    tree = reader.tree
    for rel in tree.children()[0]:
        if rel.lower().endswith(".json"):
            seq = PurePosixPath(rel).stem
            try:
                run = parse_otb_json(tree.read_bytes(rel), tree.where(rel))
            except DataFormatError as error:
                reader.unreadable(seq, error)
                continue
            reader.store(seq, [run], rel)


def _read_ope(reader: _Reader) -> None:
    tree = reader.tree
    present = set(tree.files)
    for rel in tree.children()[0]:
        if not rel.lower().endswith(".txt") or _is_side_file(rel):
            continue
        seq = rel[:-4]
        try:
            boxes = parse_boxes(tree.read_bytes(rel), tree.where(rel))
        except DataFormatError as error:
            reader.unreadable(seq, error)
            continue
        times = None
        for candidate in (f"{seq}_time.txt", f"times/{seq}_time.txt"):
            if candidate in present:
                times = _time_column(reader, candidate, 0, len(boxes))
                break
        reader.store(seq, [Run(boxes=boxes, times=times)], rel)


def _read_runs(reader: _Reader, *, vot: bool = False, longterm: bool = False) -> None:
    tree = reader.tree
    present = set(tree.files)
    for seq, reps in sorted(_got_runs(tree).items()):
        try:
            runs = [_read_run(reader, seq, rep, column, reps[rep], present, vot, longterm)
                    for column, rep in enumerate(sorted(reps))]
        except DataFormatError as error:
            reader.unreadable(seq, error)  # one repetition unreadable: the whole sequence
            continue
        reader.store(seq, runs, reps[min(reps)])


def _read_run(reader: _Reader, seq: str, rep: int, column: int, rel: str, present: set[str],
              vot: bool, longterm: bool = False) -> Run:
    """One repetition ``rel`` of a VOT, VOT long-term or GOT-10k sequence, with its times (and
    confidences) when known."""
    tree = reader.tree
    data = tree.read_bytes(rel)
    confidence = None
    if longterm:
        boxes = parse_longterm_run(data, tree.where(rel))
        count = len(boxes)
        confidence = _confidence(reader, f"{seq}/{seq}_{rep:03d}_confidence.value", count,
                                 present)
    elif vot:
        codes, regions = parse_vot_run(data, tree.where(rel))
        count = len(codes)
    else:
        boxes = parse_boxes(data, tree.where(rel))
        count = len(boxes)
    times = None
    own = [f"{seq}/{seq}_{rep:03d}_time.value", f"{seq}/{seq}_{rep:03d}_time.txt"]
    own_file = next((f for f in own if f in present), None)
    if own_file is not None:
        times = _time_column(reader, own_file, 0, count)
    elif f"{seq}/{seq}_time.txt" in present:
        times = _time_column(reader, f"{seq}/{seq}_time.txt", column, count)
    if longterm:
        return Run(boxes=boxes, times=times, confidence=confidence)
    return (Run(codes=codes, regions=regions, times=times) if vot
            else Run(boxes=boxes, times=times))


def _confidence(reader: _Reader, rel: str, count: int, present: set[str]) -> np.ndarray:
    """A long-term run's confidences; 1 after the first frame (with a warning) when the file is
    absent; a file that cannot be read, or of another length, raises :class:`DataFormatError`
    (the sequence is then unreadable)."""
    tree = reader.tree
    if rel not in present:
        reader.results.warnings.append(f"{tree.where(rel)}: no confidence file; every frame "
                                       "counts as confidence 1")
        values = np.ones(count, dtype=np.float64)
        if count:
            values[0] = np.nan
        return values
    values = parse_confidence(tree.read_bytes(rel), tree.where(rel))
    if len(values) != count:
        raise DataFormatError(tree.where(rel), f"{len(values)} confidences for {count} result "
                              "rows", hint="expected one line per frame, the first one empty")
    return values


def _time_column(reader: _Reader, rel: str, column: int, count: int) -> np.ndarray | None:
    """One column of a time file; None (times unknown, with a warning) when it does not fit or
    cannot be read (an error when strict)."""
    tree, results = reader.tree, reader.results
    try:
        table = parse_times(tree.read_bytes(rel), tree.where(rel))
    except DataFormatError as error:
        if reader.strict:
            raise
        results.warnings.append(f"{error}; times unknown")
        return None
    if column >= table.shape[1]:
        results.warnings.append(f"{tree.where(rel)}: no time column {column + 1}; times unknown")
        return None
    if len(table) != count:
        results.warnings.append(f"{tree.where(rel)}: {len(table)} times for {count} result "
                                "rows; times ignored")
        return None
    return table[:, column].copy()


def _warn_negative_sizes(results: TrackerResults) -> None:
    """One warning naming the tracker and each sequence with negative-width/height rows."""
    rows: dict[str, int] = {}
    for seq, runs in results.sequences.items():
        count = 0
        for run in runs:
            if run.boxes is not None:
                sizes = run.boxes[:, 2:4]
            elif run.regions is not None:  # VOT rectangles: x, y, w, h then four NaN
                sizes = run.regions[np.isnan(run.regions[:, 4]), 2:4]
            else:
                continue
            count += int(np.count_nonzero((sizes < 0).any(axis=1)))
        if count:
            rows[seq] = count
    if rows:
        listing = [f"{seq} ({count} row{'s' if count > 1 else ''})"
                   for seq, count in sorted(rows.items())]
        shown = ", ".join(listing[:10]) + (f" and {len(listing) - 10} more"
                                           if len(listing) > 10 else "")
        results.warnings.append(f"results of {results.name} have a negative width or height in "
                                f"{sum(rows.values())} rows of {len(rows)} sequences: {shown}; "
                                "scored as written")


# -- finding trackers ------------------------------------------------------------------------

def find_trackers(results_dir: Path,
                  rejected: list[tuple[Path, str]] | None = None) -> dict[str, Path]:
    """The trackers in a results folder: tracker name -> path for :func:`read_tracker`.

    Looks at the folder itself, its sub-folders (up to five levels, stopping at the first
    folder that holds results; symbolic links followed, see :mod:`siambench.results.tree`) and
    the zip archives found on the way (each may hold several trackers, e.g.
    ``VOT2018/<tracker>/baseline/...``). A shared OTB ``.mat`` folder gives one entry per
    tracker suffix, addressed as ``<folder>/<suffix>``. Duplicate names get `` (2)``, ...

    ``rejected``, when given, receives ``(entry, reason)`` for every entry of the folder that
    gave no tracker: a file that is not a zip archive, an archive refused or holding no results,
    an empty folder, a folder with no result files recognised (e.g. only score summaries; what
    it holds is summarised in its reason), a broken link, a link loop, a second link to one
    folder. Hidden entries and ``__MACOSX`` are ignored.
    """
    results_dir = Path(results_dir)
    rejected = [] if rejected is None else rejected
    found: list[tuple[str, Path]] = []
    if results_dir.is_dir():
        _walk(FileTree.of_folder(results_dir), results_dir, 0, found, rejected)
    elif results_dir.is_file() and is_zip(results_dir):
        _zip_entries(results_dir, found)
    elif results_dir.is_file():
        raise SiambenchError(f"{results_dir} is a file, not a results folder or zip archive")
    else:
        raise SiambenchError(f"{results_dir}: no such results folder")
    return _unique(found)


_NOT_RESULTS = "a file, not a tracker folder or zip archive"
_NOTHING = "no result files recognised"


def _walk(tree: FileTree, location: Path, depth: int, found: list[tuple[str, Path]],
          rejected: list[tuple[Path, str]]) -> int:
    """Add the trackers below ``tree`` to ``found`` and return how many; every entry of this
    folder that gave none goes to ``rejected``."""
    result_format = detect_format(tree)
    if result_format is not None:
        before = len(found)
        _add_root(tree, location, result_format, found)
        return len(found) - before
    top_files, top_dirs = tree.children()
    dirs = sorted({*top_dirs, *(rel.split("/")[0] for rel in tree.skipped if "/" in rel)})
    count = 0
    for name in top_files:
        entry = location / name
        if not name.lower().endswith(".zip"):
            rejected.append((entry, _NOT_RESULTS))
            continue
        before = len(found)
        try:
            _zip_entries(entry, found)
        except SiambenchError as error:
            del found[before:]
            rejected.append((entry, _reason(error, entry)))
            continue
        if len(found) == before:
            rejected.append((entry, f"{_NOTHING} in the archive"))
        count += len(found) - before
    for child in dirs:
        entry = location / child
        if depth >= _MAX_DEPTH:
            rejected.append((entry, f"{_NOTHING} within {_MAX_DEPTH} folder levels"))
            continue
        inner: list[tuple[Path, str]] = []
        added = _walk(tree.subtree(child), entry, depth + 1, found, inner)
        if added:
            count += added
            rejected.extend(inner)
        else:
            rejected.append((entry, _summary(inner, entry)))
    rejected.extend((location / rel, reason) for rel, reason in tree.skipped.items()
                    if "/" not in rel)
    rejected.extend((location / rel, "empty folder") for rel in tree.empty if "/" not in rel)
    return count


def _reason(error: SiambenchError, entry: Path) -> str:
    """An error's message without the entry's own path in front."""
    text = str(error)
    return text[len(str(entry)) + 2:] if text.startswith(f"{entry}: ") else text


def _summary(inner: list[tuple[Path, str]], folder: Path) -> str:
    """Why a folder gave no tracker, from what its entries gave."""
    notable = [f"{entry.relative_to(folder).as_posix()}: {reason}" for entry, reason in inner
               if reason != _NOT_RESULTS and not reason.startswith(_NOTHING)]
    if not notable:
        return _NOTHING
    return f"{_NOTHING}; inside: " + "; ".join(notable[:3]) + (
        f" and {len(notable) - 3} more" if len(notable) > 3 else "")


def _zip_entries(zip_path: Path, found: list[tuple[str, Path]]) -> None:
    """The trackers of a zip archive; ``rel`` are checked member folders (no ``..``, not
    absolute), so ``zip_path / rel`` stays an address inside the archive."""
    with open_location(zip_path) as tree:
        for rel, result_format in _roots(tree):
            sub = tree.subtree(rel)
            _add_root(sub, zip_path / rel if rel else zip_path, result_format, found)


def _add_root(tree: FileTree, location: Path, result_format: str,
              found: list[tuple[str, Path]]) -> None:
    if result_format == "otb-mat":
        groups = _mat_groups(tree)
        if len(groups) > 1:
            found.extend((suffix, location / suffix) for suffix in sorted(groups))
            return
    name = location.stem if location.suffix.lower() == ".zip" else location.name
    found.append((name, location))


def _unique(found: list[tuple[str, Path]]) -> dict[str, Path]:
    entries: dict[str, Path] = {}
    for name, path in found:
        key, count = name, 1
        while key in entries:
            count += 1
            key = f"{name} ({count})"
        entries[key] = path
    return entries
