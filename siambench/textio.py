"""Parsers for the plain-text files of tracking benchmarks and raw results (a leaf module).

Ground-truth files hold one region per line: 4 numbers ``x, y, w, h`` or 8 numbers
``x1, y1, ..., x4, y4`` (VOT polygons), separated by commas, tabs or spaces -- OTB mixes all three
in one file. Numbers are parsed as float64 and never rounded; ``NaN`` cells are kept (UAV123 marks
an absent target with ``NaN,NaN,NaN,NaN``). Label files (VOT ``*.tag``, GOT-10k ``absence.label``)
hold one integer per line. Every malformed file raises :class:`DataFormatError` naming the file,
the 1-based line and what was expected.

Text is UTF-8, with or without a byte-order mark, or UTF-16/UTF-32 with a byte-order mark (what
Windows editors and PowerShell write); lines end with ``\n``, ``\r\n`` or ``\r``. Trailing blank
lines are dropped; a blank line before the last non-blank one is an error naming its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from siambench.errors import DataFormatError

_SEPARATORS = re.compile(r"\s*,\s*|\s*;\s*|\s+")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
#: Byte-order marks and their codecs, longest first (the UTF-32 LE mark starts like UTF-16 LE's).
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def decode_text(data: bytes, path: Path) -> str:
    """The text of a file's bytes: UTF-8 (BOM optional) or UTF-16/UTF-32 with a BOM.

    Raises :class:`DataFormatError` naming ``path`` for bytes that are not such text, including
    text holding NUL characters (a binary file, or UTF-16 saved without its byte-order mark).
    """
    codec, start = "utf-8", 0
    for bom, name in _BOMS:
        if data.startswith(bom):
            codec, start = name, len(bom)
            break
    try:
        text = data[start:].decode(codec)
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not a text file (cannot be decoded as {codec.upper()}: "
                                    f"invalid byte at offset {start + exc.start})",
                              hint="save it as UTF-8 text") from None
    if "\x00" in text:
        raise DataFormatError(path, "not a text file (holds NUL bytes)",
                              hint="a binary file, or UTF-16 without a byte-order mark? save it "
                                   "as UTF-8 text")
    return text


def split_lines(text: str) -> list[str]:
    """Lines of a text, split at ``\n``, ``\r\n`` and ``\r`` only, trailing blank lines dropped.

    (``str.splitlines`` also splits at form feeds and Unicode separators, which would shift the
    line numbers that messages give.)
    """
    lines = _LINE_BREAKS.split(text)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_text_lines(path: Path) -> list[str]:
    """The lines of a text file, without line endings and without trailing blank lines."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    return split_lines(decode_text(data, Path(path)))


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
