"""The GOT-10k test server's submission zip.

Format (got10k toolkit ``ExperimentGOT10k.report`` for the test split): the sequence folders at
the top of the archive, ``<seq>/<seq>_001.txt`` (``_002``, ``_003`` for repetitions) holding
``x,y,w,h`` per frame separated by commas (the server rejects spaces) and ``<seq>/<seq>_time.txt``
with one column of seconds per repetition. The files are re-written by siambench from the parsed
results (full precision, commas), whatever the source's delimiters were.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from siambench.errors import SiambenchError
from siambench.fileio import atomic_path
from siambench.names import canonical_key
from siambench.results.read import read_tracker
from siambench.results.write import got10k_files

_SHOWN = 10


def pack_got10k(tracker_dir: Path, out_zip: Path, dataset: Any = None) -> Path:
    """Validate a tracker's GOT-10k results and write the submission zip atomically.

    ``tracker_dir``: anything :func:`read_tracker` reads with boxes (GOT-10k or one-pass
    format). With a ``dataset`` (e.g. ``got10k-test``), every sequence of it must have results,
    no other sequence may, and every run must have exactly ``len(seq)`` lines; archive names are
    the dataset's. Every sequence needs per-frame times. Raises :class:`SiambenchError` listing
    every problem found. Returns ``out_zip``.
    """
    results = read_tracker(Path(tracker_dir))
    if results.format not in ("got10k", "ope-txt"):
        raise SiambenchError(f"{results.source}: {results.format} results cannot be packed for "
                             "GOT-10k (expected <seq>/<seq>_001.txt files)")
    problems: list[str] = []
    names = {name: name for name in results.sequences}
    if dataset is not None:
        names, problems = match_sequences(results.sequences, dataset.names,
                                          getattr(dataset, "name", "the dataset"))
    files: dict[str, str] = {}
    for source_name, seq_name in names.items():
        runs = results.sequences[source_name]
        expected = len(dataset[seq_name]) if dataset is not None else len(runs[0])
        for index, run in enumerate(runs, start=1):
            if len(run) != expected:
                problems.append(f"{seq_name}_{index:03d}: {len(run)} lines for {expected} frames")
        if all(run.times is None for run in runs):
            problems.append(f"{seq_name}: no per-frame times ({seq_name}_time.txt)")
        files.update(got10k_files(seq_name, runs))
    if not names:
        problems.append("no sequences to pack")
    if problems:
        raise SiambenchError(f"cannot pack {results.source} for the GOT-10k server: "
                             + "; ".join(problems))
    return _write_zip(Path(out_zip), files)


def match_sequences(found: Iterable[str], wanted: Iterable[str], benchmark: str
                    ) -> tuple[dict[str, str], list[str]]:
    """Match result sequence names to a benchmark's (case- and punctuation-insensitively):
    ``{result name: benchmark name}`` for each match, in the benchmark's order, and the
    problems (benchmark sequences without results, results of sequences not in ``benchmark``)."""
    keys = {canonical_key(name): name for name in found}
    expected = {canonical_key(name): name for name in wanted}
    absent = [name for key, name in expected.items() if key not in keys]
    extra = [name for key, name in keys.items() if key not in expected]
    problems = []
    if absent:
        problems.append(f"no results for {len(absent)} of {len(expected)} sequences: "
                        f"{_listing(absent)}")
    if extra:
        problems.append(f"results for {len(extra)} sequences not in {benchmark}: "
                        f"{_listing(extra)}")
    return {keys[key]: expected[key] for key in expected if key in keys}, problems


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _write_zip(out_zip: Path, files: dict[str, str]) -> Path:
    """Write the zip atomically, with the umask's mode for a normal file."""
    with atomic_path(out_zip) as temp:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for rel in sorted(files):
                archive.writestr(rel, files[rel])
    return out_zip
