"""Where a report is written, and how it replaces the previous one.

A report is written whole into a hidden staging folder beside its target (``<out>/.<dataset>.
partial-XXXX/``) and moved into ``<out>/<dataset>/`` file by file (``os.replace``, atomic per file)
only once every table and plot is done, ``index.html`` last. A crash or Ctrl-C while scoring or
plotting leaves the previous report untouched (never new plots beside old tables); the staging
folder is removed on the way out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from siambench.errors import SiambenchError
from siambench.fileio import path_kind

#: Written last, so a report folder with a current index.html is complete.
LAST = "index.html"


def check_report_folder(out: Path, target: Path) -> None:
    """Refuse an ``--out`` (or its ``<dataset>`` sub-folder) that exists but is not a folder."""
    for path, what in ((out, "--out"), (target, "the report folder")):
        kind = path_kind(path)
        if kind not in ("missing", "a folder"):
            raise SiambenchError(f"{what} {path} is {kind}, expected a folder: pass "
                                 "--out with a folder (it is created when missing)")


@contextmanager
def staged_report(out: Path, name: str) -> Iterator[Path]:
    """Yield a staging folder for the report ``<out>/<name>/``; install it when the block ends.

    Files written to the staging folder replace their namesakes in the target; other files of the
    target are left as they are.
    """
    target = Path(out) / name
    check_report_folder(Path(out), target)
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=out))
    except OSError as error:
        raise SiambenchError(f"cannot write the report under {out}: {error.strerror or error}; "
                             "pass --out with a writable folder") from None
    try:
        yield staging
        install(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install(staging: Path, target: Path) -> None:
    """Move every file of ``staging`` into ``target`` (same file system), ``index.html`` last."""
    target.mkdir(parents=True, exist_ok=True)
    files = sorted((p for p in staging.rglob("*") if p.is_file()),
                   key=lambda p: (p.name == LAST, p.as_posix()))
    for path in files:
        destination = target / path.relative_to(staging)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)
