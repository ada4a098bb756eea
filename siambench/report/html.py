"""The self-contained ``index.html`` report: tables and every plot, images embedded as base64."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from siambench.fileio import atomic_write_text
from siambench.report.tables import format_rows, shown_columns

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #444; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 560px; }
.wide img { max-width: 100%; }
.warnings { background: #fff6e0; padding: 0.5em 1em; border-left: 4px solid #e0a000; }
"""


def _table_html(table: pd.DataFrame, ci_format: str = "pm") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown_columns(table))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in format_rows(table, ci_format=ci_format))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image_html(path: Path, caption: str, wide: bool) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    css = ' class="wide"' if wide else ""
    return (f'<figure{css}><img alt="{html.escape(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}'
            "</figcaption></figure>")


def write_html(out: Path, *, title: str, summary: pd.DataFrame, per_sequence: pd.DataFrame,
               plots: Mapping[Path, str], warnings: list[str], notes: Sequence[str] = (),
               headings: tuple[str, str] = ("Summary", "Per sequence"), ci_format: str = "pm",
               explanation: str = "") -> Path:
    """Write ``<out>/index.html``; ``plots`` maps PNG files to their captions (the plots'
    titles; PDF twins are not shown); ``notes`` are paragraphs shown above the tables;
    ``headings`` title the two tables; ``explanation`` (what the intervals mean) is shown under
    the summary, whose intervals are shown as ``ci_format`` says."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    parts += [f"<p>{html.escape(note)}</p>" for note in notes if note]
    if warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
        parts.append(f"<div class='warnings'><strong>Warnings</strong><ul>{items}</ul></div>")
    parts += [f"<h2>{html.escape(headings[0])}</h2>", _table_html(summary, ci_format)]
    if explanation:
        parts.append(f"<p class='intervals'>{html.escape(explanation)}</p>")
    parts.append("<h2>Plots</h2>")
    parts += [_image_html(path, caption, wide="attribute" in path.stem or "eao" in path.stem)
              for path, caption in plots.items() if path.suffix == ".png"]
    parts += [f"<h2>{html.escape(headings[1])}</h2>", _table_html(per_sequence), "</body></html>"]
    path = out / "index.html"
    atomic_write_text(path, "\n".join(parts))
    return path
