"""Annotation text parsers: hand-made files and hypothesis round-trips."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.errors import DataFormatError
from siambench.textio import parse_number_rows, read_flags, read_number_rows


def write(tmp_path: Path, text: str, name: str = "groundtruth.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_mixed_delimiters_in_one_file_and_no_final_newline(tmp_path):
    path = write(tmp_path, "1,2,3,4\n5\t6\t7\t8\n9 10  11 12\n13, 14,\t15 ,16")
    gt = read_number_rows(path)
    assert gt.dtype == np.float64
    np.testing.assert_array_equal(gt, np.arange(1, 17, dtype=float).reshape(4, 4))


def test_crlf_bom_and_trailing_blank_lines(tmp_path):
    path = write(tmp_path, "\ufeff1.5,2.25,3,4\r\n-10,0.125,1e2,4\r\n\r\n\n")
    gt = read_number_rows(path)
    np.testing.assert_array_equal(gt, [[1.5, 2.25, 3, 4], [-10, 0.125, 100, 4]])


def test_numbers_are_never_rounded(tmp_path):
    path = write(tmp_path, "0.1234567890123,2.5,3.000001,4\n")
    assert read_number_rows(path)[0, 0] == 0.1234567890123
    assert read_number_rows(path)[0, 2] == 3.000001


def test_nan_rows_are_kept(tmp_path):
    gt = read_number_rows(write(tmp_path, "1,2,3,4\nNaN,NaN,NaN,NaN\nnan,nan,nan,nan\n"))
    assert np.isnan(gt[1:]).all() and not np.isnan(gt[0]).any()


def test_rect_and_polygon_rows_in_one_file_become_polygons(tmp_path):
    gt = read_number_rows(write(tmp_path, "1,2,3,4\n0,0,1,0,1,1,0,1\n"), widths=(4, 8))
    np.testing.assert_array_equal(gt[0], [1, 2, 4, 2, 4, 6, 1, 6])
    assert gt.shape == (2, 8)


def test_polygon_only_file_keeps_its_width(tmp_path):
    gt = read_number_rows(write(tmp_path, "0,0,1,0,1,1,0,1\n"), widths=(4, 8))
    assert gt.shape == (1, 8)


@pytest.mark.parametrize("text, line, words", [
    ("1,2,3,4\n1,2,3\n", 2, "3 values, expected 4 numbers"),
    ("1,2,3,4\n1,2,x,4\n", 2, "non-numeric value 'x'"),
    ("1,2,3,4\n\n1,2,3,4\n", 2, "empty line"),
    ("1,2,inf,4\n", 1, "infinite value"),
    ("1,,2,3\n", 1, "empty value between separators"),
])
def test_malformed_rows_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(DataFormatError) as info:
        read_number_rows(path)
    assert info.value.line == line
    assert str(path) in str(info.value) and f"line {line}" in str(info.value)
    assert words in str(info.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(DataFormatError, match="file not found"):
        read_number_rows(tmp_path / "nope.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")  # \xff\xfe would be a UTF-16 byte-order mark
    with pytest.raises(DataFormatError, match="not a text file"):
        read_number_rows(binary)
    binary.write_bytes(b"1\x002,3,4\n")
    with pytest.raises(DataFormatError, match="not a text file .holds NUL bytes"):
        read_number_rows(binary)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_unicode_with_a_byte_order_mark(tmp_path, encoding):
    text = "1.5,2,3,4\r\n5,6,7,8\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the -be codec writes no mark
    path = tmp_path / "gt.txt"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_number_rows(path), [[1.5, 2, 3, 4], [5, 6, 7, 8]])


def test_line_numbers_count_only_real_line_breaks(tmp_path):
    # a form feed is no line break (str.splitlines splits there): one bad line 1, as editors show
    with pytest.raises(DataFormatError) as info:
        read_number_rows(write(tmp_path, "1,2,3,4\f1,2,3\n1,2,3,4\n"))
    assert info.value.line == 1 and "7 values" in str(info.value)
    with pytest.raises(DataFormatError) as info:
        read_number_rows(write(tmp_path, "1,2,3,4\r1,2,3\r"))
    assert info.value.line == 2


def test_empty_file_gives_empty_array(tmp_path):
    assert read_number_rows(write(tmp_path, "")).shape == (0, 4)


def test_flags_missing_file_means_all_zero(tmp_path):
    values, note = read_flags(tmp_path / "occlusion.tag", 5)
    np.testing.assert_array_equal(values, np.zeros(5))
    assert note is None


def test_flags_short_file_is_padded_with_a_note(tmp_path):
    values, note = read_flags(write(tmp_path, "1\n0\n1\n", "occlusion.tag"), 5)
    np.testing.assert_array_equal(values, [1, 0, 1, 0, 0])
    assert "3 lines for 5 frames" in note


def test_flags_accept_float_spelling_and_reject_bad_values(tmp_path):
    values, _ = read_flags(write(tmp_path, "1.0\n0.0\n", "a.tag"), 2)
    np.testing.assert_array_equal(values, [1, 0])
    with pytest.raises(DataFormatError, match="line 2"):
        read_flags(write(tmp_path, "1\n2\n", "b.tag"), 2)
    values, _ = read_flags(write(tmp_path, "8\n0\n", "cover.label"), 2, maximum=8)
    np.testing.assert_array_equal(values, [8, 0])
    with pytest.raises(DataFormatError, match="3 lines for 2 frames"):
        read_flags(write(tmp_path, "1\n0\n1\n", "c.tag"), 2)
    with pytest.raises(DataFormatError, match="non-numeric"):
        read_flags(write(tmp_path, "yes\n", "d.tag"), 1)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite, finite, finite, finite), min_size=1, max_size=20),
       st.sampled_from([",", "\t", " ", ", ", " \t "]))
def test_round_trip_of_repr_written_rows(rows, separator):
    lines = [separator.join(repr(v) for v in row) for row in rows]
    parsed = parse_number_rows(lines, Path("x.txt"))
    assert parsed.shape == (len(rows), 4)
    for got, want in zip(parsed.ravel(), [v for row in rows for v in row]):
        assert got == want or (math.isnan(got) and math.isnan(want))
