"""Tables of scores: CSV (unrounded), Markdown, LaTeX and the terminal.

Tables are pandas DataFrames with a ``tracker`` column; they are written without rounding to
CSV, and with 3 decimals (scores) in the human-readable forms. Markdown and LaTeX are rendered
here (no ``tabulate``/``jinja2`` dependency).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from siambench.fileio import atomic_write_text

#: Decimals shown per column in the human-readable tables (CSV files are never rounded).
COLUMN_DIGITS = {"robustness": 4, "failures": 1, "fps_mean": 1, "fps_total": 1, "frames": 0,
                 "runs": 0}


def _cell(value: object, digits: int) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def _interval_of(table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Score columns with both ``<score>_ci_low`` and ``<score>_ci_high`` in ``table``."""
    columns = set(map(str, table.columns))
    return {str(c): (f"{c}_ci_low", f"{c}_ci_high") for c in table.columns
            if f"{c}_ci_low" in columns and f"{c}_ci_high" in columns}


def shown_columns(table: pd.DataFrame) -> list[str]:
    """The columns a human-readable table shows: interval columns fold into their score's cell."""
    folded = {name for pair in _interval_of(table).values() for name in pair}
    return [str(c) for c in table.columns if str(c) not in folded]


def _with_interval(value: object, low: object, high: object, digits: int, ci_format: str) -> str:
    text = _cell(value, digits)
    if not all(isinstance(v, float) and math.isfinite(v) for v in (low, high)):
        return text
    if ci_format == "interval":
        return f"{text} [{low:.{digits}f}, {high:.{digits}f}]"
    return f"{text} ± {(high - low) / 2:.{digits}f}"  # type: ignore[operator]


def format_rows(table: pd.DataFrame, digits: int = 3, ci_format: str = "pm") -> list[list[str]]:
    """Cells of :func:`shown_columns` as strings: floats with ``digits`` decimals (see
    :data:`COLUMN_DIGITS` for the columns shown otherwise), NaN as an en dash; a score with
    ``<score>_ci_low``/``_ci_high`` columns as ``0.582 ± 0.020`` (``ci_format="pm"``: half the
    interval's width, which may be asymmetric) or ``0.582 [0.562, 0.601]`` (``"interval"``)."""
    intervals = _interval_of(table)
    shown = shown_columns(table)
    rows = []
    for record in table.to_dict("records"):
        cells = []
        for column in shown:
            place = COLUMN_DIGITS.get(column, digits)
            if column in intervals:
                low, high = intervals[column]
                cells.append(_with_interval(record[column], record[low], record[high], place,
                                            ci_format))
            else:
                cells.append(_cell(record[column], place))
        rows.append(cells)
    return rows


def to_markdown(table: pd.DataFrame, digits: int = 3, ci_format: str = "pm") -> str:
    """A GitHub-flavoured Markdown table."""
    columns = shown_columns(table)
    header = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|"
    body = ["| " + " | ".join(row) + " |" for row in format_rows(table, digits, ci_format)]
    return "\n".join([header, rule, *body]) + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\\": r"\textbackslash{}"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def to_latex(table: pd.DataFrame, digits: int = 3, caption: str = "", ci_format: str = "pm") -> str:
    """A ``booktabs`` LaTeX table; the best value of each score column is bold."""
    rows = format_rows(table, digits, ci_format)
    columns = shown_columns(table)
    numeric = [pd.api.types.is_float_dtype(table[c]) for c in columns]
    lower_better = {"robustness", "failures"}
    best: dict[int, int] = {}
    for column_index, column in enumerate(columns):
        values = table[column]
        if numeric[column_index] and values.notna().any():
            best[column_index] = int((values.idxmin() if column in lower_better
                                      else values.idxmax()))
    lines = [r"\begin{table}[t]", r"\centering",
             r"\begin{tabular}{l" + "r" * (len(columns) - 1) + "}", r"\toprule",
             " & ".join(_latex_escape(str(c)) for c in columns) + r" \\", r"\midrule"]
    for label, row in zip(table.index, rows, strict=True):
        cells = []
        for column_index, cell in enumerate(row):
            text = _latex_escape(cell)
            if best.get(column_index) == label:
                text = rf"\textbf{{{text}}}"
            cells.append(text)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(rf"\caption{{{_latex_escape(caption)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_terminal(table: pd.DataFrame, digits: int = 3, ci_format: str = "pm") -> str:
    """A plain aligned text table for the terminal."""
    columns = shown_columns(table)
    rows = [columns, *format_rows(table, digits, ci_format)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_tables(summary: pd.DataFrame, per_sequence: pd.DataFrame, out: Path,
                 caption: str = "", ci_format: str = "pm") -> list[Path]:
    """Write ``summary.csv``, ``per_sequence.csv`` (unrounded), ``summary.md``, ``summary.tex``
    (intervals shown as ``ci_format`` says, see :func:`format_rows`)."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "summary.csv", out / "per_sequence.csv", out / "summary.md",
               out / "summary.tex"]
    atomic_write_text(written[0], summary.to_csv(index=False, float_format="%.17g"))
    atomic_write_text(written[1], per_sequence.to_csv(index=False, float_format="%.17g"))
    atomic_write_text(written[2], to_markdown(summary, ci_format=ci_format))
    atomic_write_text(written[3], to_latex(summary.reset_index(drop=True), caption=caption,
                                           ci_format=ci_format))
    return written
