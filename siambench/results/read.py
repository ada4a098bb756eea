"""Detect the layout of a tracker's raw results and read them, from a folder or a zip archive.

Layouts (``TrackerResults.layout``), detected from the files in this order:

* ``"vot"`` -- ``<tracker>/baseline/<seq>/<seq>_NNN.txt`` (VOT toolkits, pysot, got10k), with
  times in ``<seq>_NNN_time.value`` (VOT python toolkit), ``<seq>_NNN_time.txt`` or
  ``<seq>_time.txt`` (one column per repetition, got10k); times are taken to be seconds;
* ``"otb-mat"`` -- the OTB MATLAB toolkit's ``.mat`` files, either one folder per tracker
  (``<seq>.mat`` or ``<seq>_<tracker>.mat``) or the toolkit's shared folder of
  ``<seq>_<tracker>.mat`` files of many trackers (see :func:`split_mat_names`);
* ``"otb-json"`` -- the Python OTB toolkit's ``<Seq>.json`` files;
* ``"ope-txt"`` -- one ``<seq>.txt`` per sequence (pysot, got10k OTB, pytracking), times in
  ``<seq>_time.txt`` beside it or in ``times/<seq>_time.txt``;
* ``"got10k"`` -- ``<tracker>/<seq>/<seq>_NNN.txt`` + ``<seq>/<seq>_time.txt``.

A tracker inside a container is addressed by a path below the container: a folder inside a zip
(``VOT2018.zip/VOT2018/LightTrack``) or a tracker of a shared ``.mat`` folder
(``results_OPE_OTB100/KCF_GaussHog``). :func:`find_trackers` returns such paths and
:func:`read_tracker` accepts them. Sequence names are kept as found on disk (matching the
dataset is :func:`siambench.results.align.align`'s job). Nothing is rounded.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter, defaultdict
from pathlib import Path, PurePosixPath

import numpy as np

from siambench.datasets.base import canonical_key
from siambench.errors import SiambenchError
from siambench.results.parse import (
    is_otb_json,
    parse_boxes,
    parse_otb_json,
    parse_otb_mat,
    parse_times,
    parse_vot_run,
)
from siambench.results.tree import FileTree, open_location
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


def detect_layout(tree: FileTree) -> str | None:
    """The result layout of the tree's top folder, or None when it holds no results."""
    top_files, top_dirs = tree.children()
    if "baseline" in top_dirs and _got_runs(tree.subtree("baseline")):
        return "vot"
    if any(f.lower().endswith(".mat") for f in top_files):
        return "otb-mat"
    jsons = [f for f in top_files if f.lower().endswith(".json")]
    if any(is_otb_json(tree.read_bytes(f)) for f in jsons[:3]):
        return "otb-json"
    if any(f.lower().endswith(".txt") and not _is_side_file(f) for f in top_files):
        return "ope-txt"
    if _got_runs(tree):
        return "got10k"
    return None


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
    """``(relative folder, layout)`` of every tracker folder in the tree (not below another)."""
    layout = detect_layout(tree)
    if layout is not None:
        return [("", layout)]
    if depth >= _MAX_DEPTH:
        return []
    found = []
    for child in tree.children()[1]:
        found += [((f"{child}/{rel}" if rel else child), lay)
                  for rel, lay in _roots(tree.subtree(child), depth + 1)]
    return found


# -- reading ---------------------------------------------------------------------------------

def read_tracker(path: Path, name: str | None = None) -> TrackerResults:
    """Read one tracker's raw results from a folder, a ``.zip`` or a path below either.

    ``path`` may address a tracker inside a container (see the module docstring); when the
    folder or archive holds several trackers, ``name`` selects one of them (otherwise an error
    lists them). ``name`` is also the tracker's name in the result (default: the folder,
    archive or shared-folder suffix name).
    """
    path = Path(path)
    with open_location(path) as tree:
        selector = path.name if tree.location != path else None
        layout = detect_layout(tree)
        if layout is None:
            roots = _roots(tree)
            chosen = _choose_root(roots, path, selector or name)
            if selector and chosen is not None:
                selector = None
            if chosen is None:
                raise SiambenchError(f"{path}: no raw results found (expected <seq>.txt files, "
                                     "baseline/<seq>/<seq>_001.txt, <seq>/<seq>_001.txt, OTB "
                                     ".mat or JSON results)")
            tree, layout = tree.subtree(chosen[0]), chosen[1]
        elif selector is not None and layout != "otb-mat":
            raise SiambenchError(f"{path}: no such folder in {tree.location}")
        default_name = tree.location.stem if tree.location.suffix.lower() == ".zip" \
            else tree.location.name
        results = TrackerResults(name=name or selector or default_name, layout=layout,
                                 source=str(tree.location))
        if layout == "otb-mat":
            _read_mat(tree, results, selector or name, path)
        elif layout == "otb-json":
            _read_json(tree, results)
        elif layout == "ope-txt":
            _read_ope(tree, results)
        elif layout == "got10k":
            _read_runs(tree, results)
        else:
            _read_runs(tree.subtree("baseline"), results, vot=True)
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


def _read_mat(tree: FileTree, results: TrackerResults, wanted: str | None, path: Path) -> None:
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
    results.layout = "otb-mat"
    for seq, rel in sorted(group.items()):
        run, notes = parse_otb_mat(tree.read_bytes(rel), tree.where(rel))
        results.sequences[seq] = [run]
        results.warnings.extend(notes)


def _read_json(tree: FileTree, results: TrackerResults) -> None:
    for rel in tree.children()[0]:
        if rel.lower().endswith(".json"):
            data = tree.read_bytes(rel)
            if is_otb_json(data):
                results.sequences[PurePosixPath(rel).stem] = [parse_otb_json(data,
                                                                              tree.where(rel))]


def _read_ope(tree: FileTree, results: TrackerResults) -> None:
    present = set(tree.files)
    for rel in tree.children()[0]:
        if not rel.lower().endswith(".txt") or _is_side_file(rel):
            continue
        seq = rel[:-4]
        boxes = parse_boxes(tree.read_bytes(rel), tree.where(rel))
        times = None
        for candidate in (f"{seq}_time.txt", f"times/{seq}_time.txt"):
            if candidate in present:
                times = _time_column(tree, candidate, 0, len(boxes), results)
                break
        results.sequences[seq] = [Run(boxes=boxes, times=times)]


def _read_runs(tree: FileTree, results: TrackerResults, *, vot: bool = False) -> None:
    present = set(tree.files)
    for seq, reps in sorted(_got_runs(tree).items()):
        runs = []
        for column, rep in enumerate(sorted(reps)):
            rel = reps[rep]
            data = tree.read_bytes(rel)
            if vot:
                codes, regions = parse_vot_run(data, tree.where(rel))
                count = len(codes)
            else:
                boxes = parse_boxes(data, tree.where(rel))
                count = len(boxes)
            times = None
            own = [f"{seq}/{seq}_{rep:03d}_time.value", f"{seq}/{seq}_{rep:03d}_time.txt"]
            own_file = next((f for f in own if f in present), None)
            if own_file is not None:
                times = _time_column(tree, own_file, 0, count, results)
            elif f"{seq}/{seq}_time.txt" in present:
                times = _time_column(tree, f"{seq}/{seq}_time.txt", column, count, results)
            runs.append(Run(codes=codes, regions=regions, times=times) if vot
                        else Run(boxes=boxes, times=times))
        results.sequences[seq] = runs


def _time_column(tree: FileTree, rel: str, column: int, count: int,
                 results: TrackerResults) -> np.ndarray | None:
    table = parse_times(tree.read_bytes(rel), tree.where(rel))
    if column >= table.shape[1]:
        results.warnings.append(f"{tree.where(rel)}: no time column {column + 1}; times unknown")
        return None
    if len(table) != count:
        results.warnings.append(f"{tree.where(rel)}: {len(table)} times for {count} result "
                                "rows; times ignored")
        return None
    return table[:, column].copy()


# -- finding trackers ------------------------------------------------------------------------

def find_trackers(results_dir: Path) -> dict[str, Path]:
    """The trackers in a results folder: tracker name -> path for :func:`read_tracker`.

    Looks at the folder itself, its sub-folders (up to five levels, stopping at the first
    folder that holds results) and the zip archives found on the way (each may hold several
    trackers, e.g. ``VOT2018/<tracker>/baseline/...``). A shared OTB ``.mat`` folder gives one
    entry per tracker suffix, addressed as ``<folder>/<suffix>``. Folders holding no results
    (e.g. only score summaries) are not listed. Duplicate names get `` (2)``, `` (3)``, ...
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        if results_dir.is_file() and zipfile.is_zipfile(results_dir):
            found: list[tuple[str, Path]] = []
            _zip_entries(results_dir, found)
            return _unique(found)
        raise SiambenchError(f"{results_dir}: no such results folder")
    found = []
    _walk(FileTree.of_folder(results_dir), results_dir, 0, found)
    return _unique(found)


def _walk(tree: FileTree, location: Path, depth: int, found: list[tuple[str, Path]]) -> None:
    layout = detect_layout(tree)
    if layout is not None:
        _add_root(tree, location, layout, found)
        return
    top_files, top_dirs = tree.children()
    for name in top_files:
        if name.lower().endswith(".zip") and zipfile.is_zipfile(location / name):
            _zip_entries(location / name, found)
    if depth < _MAX_DEPTH:
        for child in top_dirs:
            _walk(tree.subtree(child), location / child, depth + 1, found)


def _zip_entries(zip_path: Path, found: list[tuple[str, Path]]) -> None:
    with open_location(zip_path) as tree:
        for rel, layout in _roots(tree):
            sub = tree.subtree(rel)
            _add_root(sub, zip_path / rel if rel else zip_path, layout, found)


def _add_root(tree: FileTree, location: Path, layout: str,
              found: list[tuple[str, Path]]) -> None:
    if layout == "otb-mat":
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
