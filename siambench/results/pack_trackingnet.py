"""The TrackingNet evaluation server's submission zip.

Format (the TrackingNet devkit's ``metrics.py``, which the server runs): one ``<seq>.txt`` per
test sequence at the top of the archive, one ``x,y,w,h`` line per frame (frame 0 included; the
server replaces it with the ground truth), numbers separated by commas and nothing else. The
server pairs a sequence with the archive member whose name contains ``<seq>.txt`` and scores a
sequence without one as a total failure, so every one of the 511 test sequences must be there.
The files are re-written by siambench from the parsed results (full precision, commas), whatever
the source's delimiters were; per-frame time files are left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from siambench.errors import SiambenchError
from siambench.results.pack import _write_zip, match_sequences
from siambench.results.read import read_tracker
from siambench.results.write import format_rows

_SHOWN_ROWS = 5


def pack_trackingnet(tracker_dir: Path, out_zip: Path, names: Sequence[str],
                     frames: Mapping[str, int] | None = None) -> Path:
    """Validate a tracker's TrackingNet test results and write the submission zip atomically.

    ``tracker_dir``: anything :func:`read_tracker` reads with boxes (one ``<seq>.txt`` per
    sequence, as ``siambench run`` and pytracking write them). ``names``: the test sequences
    (:func:`siambench.datasets.trackingnet.test_sequence_names`); every one must have results and
    no other sequence may. ``frames``: frame counts by sequence name, where the frames are known;
    those sequences must have exactly that many lines. No box may hold NaN. Raises
    :class:`SiambenchError` listing every problem found (with the reader's warnings, e.g. the
    file that could not be read; a warning alone, such as an unreadable time file, does not stop
    packing). Returns ``out_zip``.
    """
    results = read_tracker(Path(tracker_dir))
    if results.format == "vot":
        raise SiambenchError(f"{results.source}: VOT results cannot be packed for TrackingNet "
                             "(expected one <seq>.txt of x,y,w,h lines per sequence)")
    matched, problems = match_sequences(results.sequences, names, "the TrackingNet test set")
    files: dict[str, str] = {}
    for source_name, seq_name in matched.items():
        runs = results.sequences[source_name]
        found = _problems(seq_name, runs, (frames or {}).get(seq_name))
        problems += found
        if not found:
            files[f"{seq_name}.txt"] = format_rows(runs[0].boxes)
    if problems:  # the reader's warnings (an unreadable file, ...) say why, when there is one
        raise SiambenchError(f"cannot pack {results.source} for the TrackingNet server: "
                             + "; ".join([*results.warnings, *problems]))
    return _write_zip(Path(out_zip), files)


def recorded_dataset(tracker_dir: Path) -> dict[str, Any]:
    """The ``dataset`` entry of the results folder's ``run.json`` (``name``, ``root``, ...), or
    ``{}`` when there is none or it cannot be read (results written by another toolkit)."""
    try:
        manifest = json.loads((Path(tracker_dir) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    dataset = manifest.get("dataset") if isinstance(manifest, dict) else None
    return dataset if isinstance(dataset, dict) else {}


def _problems(seq_name: str, runs: list[Any], expected: int | None) -> list[str]:
    """What stops one sequence's results from being submitted (empty: nothing)."""
    if len(runs) != 1:
        return [f"{seq_name}: {len(runs)} runs (the server takes one trajectory per sequence)"]
    boxes = runs[0].boxes
    if boxes is None or len(boxes) == 0:
        return [f"{seq_name}: no boxes"]
    found = []
    if expected is not None and len(boxes) != expected:
        found.append(f"{seq_name}: {len(boxes)} lines for {expected} frames")
    rows = np.flatnonzero(np.isnan(np.asarray(boxes, dtype=np.float64)).any(axis=1)) + 1
    if len(rows):
        shown = ", ".join(str(row) for row in rows[:_SHOWN_ROWS])
        more = f" and {len(rows) - _SHOWN_ROWS} more" if len(rows) > _SHOWN_ROWS else ""
        found.append(f"{seq_name}: NaN in line{'s' if len(rows) > 1 else ''} {shown}{more} "
                     "(the server needs a box on every frame)")
    return found


__all__ = ["pack_trackingnet", "recorded_dataset"]
