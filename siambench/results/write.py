"""Write raw results in the official formats, atomically and at full precision.

Numbers are written with Python's shortest round-tripping ``repr`` (``nan`` for NaN), comma
separated, one line per frame, so every file reads back bit-identically with
:func:`siambench.results.read.read_tracker` (and with got10k, pysot and the VOT toolkit). Each
file is written to a temporary file in its folder and renamed into place (``os.replace``), so an
interrupted run never leaves a half-written file. Times are seconds per frame.

* OPE: ``<folder>/<seq>.txt`` and ``<folder>/<seq>_time.txt`` (pytracking's side file);
* VOT: ``<folder>/baseline/<seq>/<seq>_NNN.txt`` with status lines ``1``/``2``/``0`` and
  ``<seq>_NNN_time.value`` (the VOT python toolkit's per-repetition time file);
* GOT-10k: ``<folder>/<seq>/<seq>_NNN.txt`` and ``<seq>_time.txt`` with one column per
  repetition;
* VOT long-term: ``<folder>/longterm/<seq>/<seq>_NNN.txt`` (``1``, then boxes),
  ``<seq>_NNN_confidence.value`` and ``<seq>_NNN_time.value`` (see
  :mod:`siambench.results.longterm`).

:func:`write_runs` and :func:`remove_sequence_results` do this for a result format named by the
protocol (:attr:`siambench.protocols.Protocol.result_format`: ``ope``, ``vot``, ``got10k`` or
``votlt``).
"""

from __future__ import annotations

import glob
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from siambench.errors import SiambenchError
from siambench.fileio import atomic_write_text
from siambench.results.longterm import FOLDER as LONGTERM_FOLDER
from siambench.results.longterm import longterm_files
from siambench.results.types import REGION, Run

_CODE_TEXT = {1: "1", 2: "2", 0: "0"}


def _number(value: float) -> str:
    if math.isinf(value):
        raise SiambenchError(f"cannot write an infinite value ({value}) in a result file")
    return repr(float(value))


def format_rows(rows: np.ndarray) -> str:
    """Lines of comma-separated full-precision numbers, one per row, newline-terminated."""
    array = np.asarray(rows, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    return "".join(",".join(_number(v) for v in row) + "\n" for row in array.tolist())


def _boxes(boxes: np.ndarray, seq_name: str) -> np.ndarray:
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise SiambenchError(f"{seq_name}: boxes of shape {array.shape}, expected (N, 4)")
    return array


def _times(times: np.ndarray, count: int, seq_name: str) -> np.ndarray:
    array = np.asarray(times, dtype=np.float64).reshape(-1)
    if len(array) != count:
        raise SiambenchError(f"{seq_name}: {len(array)} times for {count} frames")
    return array


def write_ope(folder: Path, seq_name: str, boxes: np.ndarray,
              times: np.ndarray | None = None) -> Path:
    """Write ``<folder>/<seq>.txt`` (``x,y,w,h`` per frame) and ``<seq>_time.txt``; returns the
    box file's path."""
    folder = Path(folder)
    array = _boxes(boxes, seq_name)
    path = atomic_write_text(folder / f"{seq_name}.txt", format_rows(array))
    if times is not None:
        atomic_write_text(folder / f"{seq_name}_time.txt",
                          format_rows(_times(times, len(array), seq_name)))
    return path


def vot_lines(run: Run) -> str:
    """The text of a VOT supervised run: ``1``/``2``/``0`` status lines and regions (4 numbers
    for a rectangle row, 8 for a polygon)."""
    if run.codes is None or run.regions is None:
        raise SiambenchError("a VOT run needs codes and regions")
    codes = np.asarray(run.codes).tolist()
    regions = np.asarray(run.regions, dtype=np.float64)
    lines = []
    for index, code in enumerate(codes):
        if code == REGION:
            row = regions[index]
            values = row[:4] if np.isnan(row[4:]).all() else row
            lines.append(",".join(_number(v) for v in values.tolist()))
        elif code in _CODE_TEXT:
            lines.append(_CODE_TEXT[code])
        else:
            raise SiambenchError(f"frame {index}: unknown VOT status code {code}")
    return "".join(line + "\n" for line in lines)


def write_vot(folder: Path, seq_name: str, run: Run, repetition: int = 1) -> Path:
    """Write ``<folder>/baseline/<seq>/<seq>_NNN.txt`` (+ ``<seq>_NNN_time.value``); returns the
    run file's path. ``repetition`` is 1-based."""
    if repetition < 1:
        raise SiambenchError(f"repetition must be 1 or more, not {repetition}")
    seq_dir = Path(folder) / "baseline" / seq_name
    stem = f"{seq_name}_{repetition:03d}"
    path = atomic_write_text(seq_dir / f"{stem}.txt", vot_lines(run))
    if run.times is not None:
        atomic_write_text(seq_dir / f"{stem}_time.value",
                          format_rows(_times(run.times, len(run), seq_name)))
    return path


def got10k_files(seq_name: str, runs: Sequence[Run]) -> dict[str, str]:
    """The GOT-10k files of one sequence: relative path -> text (``<seq>/<seq>_NNN.txt`` per
    run and ``<seq>/<seq>_time.txt`` when any run has times; columns of runs without times, and
    rows past a shorter run's end, are NaN)."""
    if not runs:
        raise SiambenchError(f"{seq_name}: no runs to write")
    files = {}
    for repetition, run in enumerate(runs, start=1):
        if run.boxes is None:
            raise SiambenchError(f"{seq_name}: a GOT-10k run needs boxes")
        files[f"{seq_name}/{seq_name}_{repetition:03d}.txt"] = format_rows(
            _boxes(run.boxes, seq_name))
    if any(run.times is not None for run in runs):
        length = max(len(run) for run in runs)
        table = np.full((length, len(runs)), np.nan, dtype=np.float64)
        for column, run in enumerate(runs):
            if run.times is not None:
                times = _times(run.times, len(run), seq_name)
                table[:len(times), column] = times
        files[f"{seq_name}/{seq_name}_time.txt"] = format_rows(table)
    return files


def write_got10k(folder: Path, seq_name: str, runs: Sequence[Run]) -> Path:
    """Write ``<folder>/<seq>/<seq>_001.txt`` ... and ``<seq>_time.txt``; returns the sequence
    folder."""
    folder = Path(folder)
    for rel, text in got10k_files(seq_name, runs).items():
        atomic_write_text(folder / rel, text)
    return folder / seq_name


def write_votlt(folder: Path, seq_name: str, runs: Sequence[Run]) -> list[Path]:
    """Write ``<folder>/longterm/<seq>/<seq>_NNN.txt`` (+ ``_confidence.value``,
    ``_time.value``) for each run; returns the files written."""
    folder = Path(folder)
    return [atomic_write_text(folder / rel, text)
            for rel, text in longterm_files(seq_name, runs).items()]


def _check_format(result_format: str) -> None:
    if result_format not in ("ope", "vot", "got10k", "votlt"):
        raise SiambenchError(f"unknown result format {result_format!r}; expected 'ope', 'vot', "
                             "'got10k' or 'votlt'")


def remove_sequence_results(folder: Path, result_format: str, sequence: str) -> list[Path]:
    """Delete a sequence's result files in ``result_format`` (before it is rewritten, so a rerun with
    fewer repetitions leaves no stale ``_NNN`` file); returns the files removed."""
    _check_format(result_format)
    folder = Path(folder)
    name = glob.escape(sequence)
    if result_format == "ope":
        candidates = [folder / f"{sequence}.txt", folder / f"{sequence}_time.txt"]
    elif result_format == "vot":
        candidates = list((folder / "baseline" / sequence).glob(f"{name}_*"))
    elif result_format == "votlt":
        candidates = list((folder / LONGTERM_FOLDER / sequence).glob(f"{name}_*"))
    else:
        candidates = list((folder / sequence).glob(f"{name}_*"))
    removed = []
    for path in candidates:
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def write_runs(folder: Path, result_format: str, sequence: str, runs: Sequence[Run]) -> list[Path]:
    """Write a sequence's runs in ``result_format`` (``ope``: exactly one run); returns the files
    written (box files and time files)."""
    _check_format(result_format)
    folder = Path(folder)
    if result_format == "ope":
        if len(runs) != 1:
            raise SiambenchError(f"{sequence}: the one-pass result format holds one run, got {len(runs)}")
        write_ope(folder, sequence, runs[0].boxes, runs[0].times)
        paths = [folder / f"{sequence}.txt"]
        if runs[0].times is not None:
            paths.append(folder / f"{sequence}_time.txt")
        return paths
    if result_format == "vot":
        paths = []
        for repetition, run in enumerate(runs, start=1):
            path = write_vot(folder, sequence, run, repetition)
            paths.append(path)
            if run.times is not None:
                paths.append(path.with_name(f"{path.stem}_time.value"))
        return paths
    if result_format == "votlt":
        return write_votlt(folder, sequence, runs)
    seq_dir = write_got10k(folder, sequence, runs)
    return sorted(p for p in seq_dir.glob(f"{glob.escape(sequence)}_*") if p.is_file())
