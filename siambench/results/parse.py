"""Parsers of single raw-result files, from their bytes (so folders and zips share them).

* box files (pysot, got10k, pytracking): one ``x, y, w, h`` per line, separated by commas,
  tabs or spaces (any mix), ``nan`` kept; parsed with numpy's C reader when the file is regular
  and with :func:`siambench.textio.parse_number_rows` otherwise (exact error messages);
* time files: one value per line, or one column per repetition (GOT-10k ``<seq>_time.txt``);
* VOT supervised runs: status lines ``1`` (init), ``2`` (failure), ``0`` (skipped), also written
  ``1.0``/``2.0``/``0.0``; a lone ``nan`` is read as skipped (the VOT toolkit's "unknown");
  other lines are 4-number rectangles or 8-number polygons;
* the OTB MATLAB toolkit's ``.mat`` results (parsed in a worker process, see
  :mod:`siambench.results.matfile`) and the Python OTB toolkit's JSON results.

Numbers are float64 exactly as written (integer MATLAB arrays are converted exactly); nothing
is rounded. Text is decoded as :func:`siambench.textio.decode_text` says (UTF-8, or
UTF-16/32 with a byte-order mark; ``\n``, ``\r\n`` or ``\r`` line ends). Every parser raises
:class:`DataFormatError` naming the file (and line) for any input it cannot read, never another
exception.
"""

from __future__ import annotations

import io
import json
import math
import warnings as _warnings
from pathlib import Path
from typing import Any

import numpy as np

from siambench.errors import DataFormatError
from siambench.results.matfile import read_mat
from siambench.results.types import FAILURE, INIT, REGION, SKIPPED, Run
from siambench.textio import decode_text, parse_number_rows, split_cells, split_lines

_CODES = {1.0: INIT, 2.0: FAILURE, 0.0: SKIPPED}
#: OTB toolkit result types that hold rectangles; anything else (``ivtAff``, ``L1Aff``,
#: ``4corner``, ``SIMILARITY``) is rejected.
RECT_TYPES = ("rect",)


def decode_lines(data: bytes, where: Path) -> list[str]:
    """Text lines of a file's bytes, without line endings and trailing blank lines."""
    return split_lines(decode_text(data, where))


def _fast_rows(lines: list[str]) -> np.ndarray | None:
    """The lines as a float64 matrix via numpy's C parser, or None when irregular."""
    if not lines:
        return None
    delimiter = "," if "," in lines[0] else None
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            rows = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=delimiter,
                              dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None
    if len(rows) != len(lines) or np.isinf(rows).any():
        return None  # blank lines are skipped by loadtxt; let the exact parser report them
    return rows


def parse_boxes(data: bytes, where: Path) -> np.ndarray:
    """A box file as float64 ``(N, 4)`` ``x, y, w, h`` (an empty file gives ``(0, 4)``)."""
    lines = decode_lines(data, where)
    rows = _fast_rows(lines)
    if rows is not None and rows.shape[1] == 4:
        return rows
    return parse_number_rows(lines, where, (4,))


def parse_times(data: bytes, where: Path) -> np.ndarray:
    """A time file as float64 ``(N, R)``: one column per repetition (seconds, NaN kept)."""
    lines = decode_lines(data, where)
    rows = _fast_rows(lines)
    if rows is not None:
        return rows
    if not lines:
        return np.zeros((0, 1), dtype=np.float64)
    width = len(split_cells(lines[0]))
    return parse_number_rows(lines, where, (width,))


def parse_vot_run(data: bytes, where: Path) -> tuple[np.ndarray, np.ndarray]:
    """A VOT supervised run: int8 codes ``(N,)`` and float64 regions ``(N, 8)``.

    Rectangles are stored as ``x, y, w, h`` followed by four NaN (see ``types``).
    """
    lines = decode_lines(data, where)
    count = len(lines)
    codes = np.full(count, REGION, dtype=np.int8)
    regions = np.full((count, 8), np.nan, dtype=np.float64)
    by_width: dict[int, list[int]] = {}
    for index, line in enumerate(lines):
        cell = line.strip()
        if cell.startswith("m"):
            raise DataFormatError(where, "a mask region (VOT2020+ 'm...' line)", line=index + 1,
                                  hint="only rectangles and polygons can be scored")
        if "," in cell or " " in cell or "\t" in cell:
            width = len(split_cells(cell))
            by_width.setdefault(width, []).append(index)
            continue
        try:
            value = float(cell)
        except ValueError:
            problem = "empty line" if not cell else f"non-numeric value {cell!r}"
            raise DataFormatError(where, problem, line=index + 1,
                                  hint="expected a status code 1, 2 or 0, or a region") from None
        if math.isnan(value):
            codes[index] = SKIPPED
        elif value in _CODES:
            codes[index] = _CODES[value]
        else:
            raise DataFormatError(where, f"status code {cell!r}", line=index + 1,
                                  hint="expected 1 (init), 2 (failure), 0 (skipped) or a region")
    for width, indices in by_width.items():
        if width not in (4, 8):
            first = indices[0]
            raise DataFormatError(where, f"{width} values", line=first + 1,
                                  hint="expected 4 numbers (rectangle) or 8 (polygon)")
        block = [lines[i] for i in indices]
        values = _fast_rows(block)
        if values is None or values.shape[1] != width:
            values = _parse_block(block, indices, where, width)
        regions[np.asarray(indices), :width] = values
    return codes, regions


def _parse_block(block: list[str], indices: list[int], where: Path, width: int) -> np.ndarray:
    rows = np.empty((len(block), width), dtype=np.float64)
    for row, (index, line) in enumerate(zip(indices, block)):
        rows[row] = parse_number_rows([line], where, (width,), first_line=index + 1)[0]
    return rows


# -- OTB toolkit .mat ------------------------------------------------------------------------

def parse_otb_mat(data: bytes, where: Path) -> tuple[Run, list[str]]:
    """One OTB MATLAB-toolkit result file (OPE): a ``results`` struct or a bare ``result``.

    Parsed by :func:`siambench.results.matfile.read_mat` in a worker process: a malformed file
    gives :class:`DataFormatError` naming it, even one that crashes scipy's reader.

    ``results`` may be one struct or the toolkit's struct array (TRE: 20 entries, the first is
    OPE, i.e. the whole sequence). Fields used: ``res`` (N x 4 ``[x y w h]``, 1-based), ``type``
    (only ``rect`` is accepted), ``startFrame``, ``annoBegin``, ``len`` and ``fps`` (per-frame
    times become ``1/fps``). A bare ``result`` matrix (MDNet's files) has no start frame.
    """
    return read_mat(data, where)


def _load_otb_mat(data: bytes, where: Path) -> tuple[Run, list[str]]:
    """:func:`parse_otb_mat` in this process: only for the worker (scipy may crash on bytes)."""
    from scipy.io import loadmat  # scipy is only needed for this format

    try:
        content = loadmat(io.BytesIO(data), squeeze_me=True, struct_as_record=False)
    except NotImplementedError as exc:
        raise DataFormatError(where, f"not a readable MATLAB .mat file ({exc})",
                              hint="MATLAB v7.3 (HDF5) files are not supported; save with "
                                   "-v7") from None
    notes: list[str] = []
    if "results" in content:
        record = content["results"]
        if isinstance(record, np.ndarray):
            if record.size == 0:
                raise DataFormatError(where, "the 'results' struct array is empty")
            record = record.flat[0]
        fields = getattr(record, "_fieldnames", None)
        if fields is None or "res" not in fields:
            raise DataFormatError(where, "'results' has no field 'res'",
                                  hint="expected the OTB toolkit's results struct")
        kind = getattr(record, "type", None)
        if kind is None or (isinstance(kind, np.ndarray) and kind.size == 0):
            kind = "rect"
        if not isinstance(kind, str):
            raise DataFormatError(where, "field 'type' is not text",
                                  hint="expected the OTB toolkit's 'rect'")
        kind = kind or "rect"
        if kind not in RECT_TYPES:
            what = "affine parameters" if "aff" in kind.lower() else "a non-rect region"
            raise DataFormatError(where, f"result type {kind!r} holds {what}, not rectangles",
                                  hint="affine results cannot be scored; only type 'rect' is "
                                       "read")
        boxes = _matrix(record.res, where, "res")
        start = _int_field(record, "startFrame", where)
        anno_begin = _int_field(record, "annoBegin", where)
        stated = _int_field(record, "len", where)
        if stated is not None and stated != len(boxes):
            notes.append(f"{where.name}: 'res' has {len(boxes)} rows but 'len' says {stated}")
        fps = getattr(record, "fps", None)
    elif "result" in content:
        boxes = _matrix(content["result"], where, "result")
        start = anno_begin = fps = None
    else:
        found = [k for k in content if not k.startswith("__")]
        names = (", ".join(found[:10]) + (", ..." if len(found) > 10 else "")) or "none"
        raise DataFormatError(where, f"no 'results' or 'result' variable (found: {names})",
                              hint="expected an OTB toolkit result file")
    return Run(boxes=boxes, times=_fps_times(fps, len(boxes)), start_frame=start,
               anno_begin=anno_begin), notes


def _matrix(value: Any, where: Path, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise DataFormatError(where, f"'{name}' is not a numeric matrix")
    if array.ndim == 1 and array.size == 4:
        array = array.reshape(1, 4)  # squeeze_me turns a one-row result into a vector
    if array.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise DataFormatError(where, f"'{name}' has shape {array.shape}",
                              hint="expected N x 4 [x y w h] rows")
    boxes = array.astype(np.float64)  # exact for every integer type MATLAB stores
    if np.isinf(boxes).any():
        raise DataFormatError(where, f"'{name}' holds infinite values")
    return boxes


def _int_field(record: Any, name: str, where: Path) -> int | None:
    value = getattr(record, name, None)
    if value is None or (isinstance(value, np.ndarray) and value.size == 0):
        return None
    try:
        number = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, OverflowError, IndexError):
        raise DataFormatError(where, f"field {name!r} is not a number") from None
    if not number.is_integer():
        raise DataFormatError(where, f"field {name!r} is {number}, expected an integer frame")
    return int(number)


def _fps_times(fps: Any, count: int) -> np.ndarray | None:
    try:
        value = float(np.asarray(fps).reshape(-1)[0]) if fps is not None else math.nan
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return np.full(count, 1.0 / value, dtype=np.float64)


# -- Python OTB toolkit JSON -----------------------------------------------------------------

def parse_otb_json(data: bytes, where: Path) -> Run:
    """A result of jwlim's Python OTB toolkit: a JSON list of dicts with ``res`` (N x 4),
    ``startFrame``, ``endFrame``, ``resType`` and ``fps``; the first entry (OPE) is read."""
    content = load_json(data, where)
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list) or not content or not isinstance(content[0], dict) \
            or "res" not in content[0]:
        raise DataFormatError(where, "expected a JSON list of result objects with 'res'",
                              hint="the Python OTB toolkit's per-sequence result file")
    entry = next((e for e in content if isinstance(e, dict) and e.get("evalType") == "OPE"),
                 content[0])
    kind = str(entry.get("resType") or "rect")
    if kind not in RECT_TYPES:
        raise DataFormatError(where, f"result type {kind!r} is not rectangles",
                              hint="affine results cannot be scored; only 'rect' is read")
    try:
        boxes = np.asarray(entry["res"], dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise DataFormatError(where, "'res' is not a matrix of numbers") from None
    if boxes.size == 0:
        boxes = np.zeros((0, 4), dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise DataFormatError(where, f"'res' has shape {boxes.shape}", hint="expected N x 4")
    if np.isinf(boxes).any():
        raise DataFormatError(where, "'res' holds infinite values")
    start = entry.get("startFrame")
    if isinstance(start, float) and start.is_integer():
        start = int(start)
    if start is not None and (isinstance(start, bool) or not isinstance(start, int)
                              or not 0 <= start <= 2**31):
        raise DataFormatError(where, f"'startFrame' is {_short(start)}, expected an integer "
                                     "image number")
    return Run(boxes=boxes, times=_fps_times(entry.get("fps"), len(boxes)),
               start_frame=None if start is None else int(start))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def load_json(data: bytes, where: Path) -> Any:
    """Parse JSON bytes, raising :class:`DataFormatError` naming the file.

    Any malformed input (bad syntax or encoding, nesting too deep for the parser, integers too
    long to convert) gives the error, never another exception.
    """
    text = decode_text(data, where)
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, and int() of a number of > 4300 digits
        problem = " ".join(str(exc).split())[:200]
        raise DataFormatError(where, f"not valid JSON ({problem})") from None
    except RecursionError:
        raise DataFormatError(where, "not valid JSON (nested too deeply)") from None


def is_otb_json(data: bytes) -> bool:
    """True when the bytes look like a Python-OTB-toolkit result (a list of dicts with 'res')."""
    try:
        content = load_json(data, Path("-"))
    except DataFormatError:
        return False
    if isinstance(content, dict):
        content = [content]
    return isinstance(content, list) and bool(content) and isinstance(content[0], dict) \
        and "res" in content[0]
