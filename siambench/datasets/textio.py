"""Parsers for the plain-text annotation files of tracking benchmarks.

Ground-truth files hold one region per line: 4 numbers ``x, y, w, h`` or 8 numbers
``x1, y1, ..., x4, y4`` (VOT polygons), separated by commas, tabs or spaces -- OTB mixes all three
in one file. Numbers are parsed as float64 and never rounded; ``NaN`` cells are kept (UAV123 marks
an absent target with ``NaN,NaN,NaN,NaN``). Label files (VOT ``*.tag``, GOT-10k ``absence.label``)
hold one integer per line. Every malformed file raises :class:`DataFormatError` naming the file,
the 1-based line and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from siambench.errors import DataFormatError

_SEPARATORS = re.compile(r"\s*,\s*|\s*;\s*|\s+")


def read_text_lines(path: Path) -> list[str]:
    """The lines of a text file, without line endings and without trailing blank lines."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig", errors="strict")
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except UnicodeDecodeError:
        raise DataFormatError(path, "not a text file (cannot be decoded as UTF-8)") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def split_cells(line: str) -> list[str]:
    """Split one line on commas, semicolons, tabs or spaces (any mix)."""
    return _SEPARATORS.split(line.strip())


def parse_number_rows(lines: Iterable[str], path: Path, widths: tuple[int, ...] = (4,),
                      *, first_line: int = 1) -> np.ndarray:
    """Parse lines of numbers into a float64 array of shape ``(N, W)``.

    ``widths`` lists the accepted numbers per line (e.g. ``(4, 8)``). When a file mixes 4-number
    rectangles and 8-number polygons, rectangles are converted to the polygon of their corners so
    that the result has one width. Empty files give an array of shape ``(0, widths[0])``.
    """
    rows: list[list[float]] = []
    for offset, line in enumerate(lines):
        number = first_line + offset
        if not line.strip():
            raise DataFormatError(path, "empty line", line=number,
                                  hint=f"expected {_describe(widths)} per line")
        cells = split_cells(line)
        if len(cells) not in widths:
            raise DataFormatError(path, f"{len(cells)} values, expected {_describe(widths)}",
                                  line=number)
        try:
            values = [float(cell) for cell in cells]
        except ValueError:
            bad = next(cell for cell in cells if not _is_number(cell))
            problem = "empty value between separators" if not bad else f"non-numeric value {bad!r}"
            raise DataFormatError(path, problem, line=number,
                                  hint=f"expected {_describe(widths)}") from None
        if any(np.isinf(v) for v in values):
            raise DataFormatError(path, "infinite value", line=number)
        rows.append(values)
    if not rows:
        return np.zeros((0, widths[0]), dtype=np.float64)
    width = max(len(row) for row in rows)
    if any(len(row) != width for row in rows):
        rows = [_rect_to_polygon(row) if len(row) == 4 else row for row in rows]
    return np.asarray(rows, dtype=np.float64)


def read_number_rows(path: Path, widths: tuple[int, ...] = (4,)) -> np.ndarray:
    """Read a ground-truth style file; see :func:`parse_number_rows`."""
    return parse_number_rows(read_text_lines(path), Path(path), widths)


def read_flags(path: Path, length: int | None = None, *, missing_ok: bool = True,
               maximum: int | None = 1) -> tuple[np.ndarray, str | None]:
    """Read a per-frame label file (one integer per line) as an int64 array.

    A missing file gives zeros when ``missing_ok`` (VOT: a missing tag file means the tag is never
    set). A file shorter than ``length`` is padded with zeros and a file longer than ``length`` is
    an error. Returns the array and a note describing any padding (``None`` when there was none).
    Values must lie in ``[0, maximum]`` (``maximum=None``: any non-negative integer).
    """
    path = Path(path)
    if not path.exists():
        if missing_ok and length is not None:
            return np.zeros(length, dtype=np.int64), None
        raise DataFormatError(path, "file not found")
    lines = read_text_lines(path)
    values = np.zeros(len(lines), dtype=np.int64)
    for index, line in enumerate(lines):
        cell = line.strip()
        try:
            number = float(cell)
        except ValueError:
            raise DataFormatError(path, f"non-numeric value {cell!r}", line=index + 1,
                                  hint="expected one integer per line") from None
        if not number.is_integer() or number < 0 or (maximum is not None and number > maximum):
            allowed = "a non-negative integer" if maximum is None else f"an integer 0..{maximum}"
            raise DataFormatError(path, f"value {cell!r}", line=index + 1,
                                  hint=f"expected {allowed}")
        values[index] = int(number)
    note = None
    if length is not None:
        if len(values) > length:
            raise DataFormatError(path, f"{len(values)} lines for {length} frames",
                                  hint="expected one line per frame")
        if len(values) < length:
            note = f"{path.name} has {len(values)} lines for {length} frames; padded with 0"
            values = np.concatenate([values, np.zeros(length - len(values), dtype=np.int64)])
    return values, note


def read_key_values(path: Path, separator: str, *, example: str,
                    skip: tuple[str, ...] = ("#",)) -> dict[str, str]:
    """Parse ``key<separator>value`` lines (split at the first separator, both sides stripped).

    Blank lines, lines starting with one of ``skip`` and ``[section]`` header lines are ignored;
    any other line without the separator raises :class:`DataFormatError` with its line number.
    Used for VOT's ``sequence`` files (``=``) and GOT-10k's ``meta_info.ini`` (``:``).
    """
    values: dict[str, str] = {}
    for number, line in enumerate(read_text_lines(path), start=1):
        text = line.strip()
        if not text or text.startswith(skip) or (text.startswith("[") and text.endswith("]")):
            continue
        key, sep, value = text.partition(separator)
        if not sep or not key.strip():
            form = "key: value" if separator == ":" else f"key{separator}value"
            raise DataFormatError(path, f"{text!r} is not a '{form}' line", line=number,
                                  hint=f"e.g. {example}")
        values[key.strip()] = value.strip()
    return values


def _rect_to_polygon(row: list[float]) -> list[float]:
    x, y, w, h = row
    return [x, y, x + w, y, x + w, y + h, x, y + h]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _describe(widths: tuple[int, ...]) -> str:
    return " or ".join(str(w) for w in widths) + " numbers"
