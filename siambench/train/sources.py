"""Training sources: which datasets a run mixes, by what weight, with what frame range, from where.

A source is written ``NAME``, ``NAME:WEIGHT`` or ``NAME:all`` (``--dataset``, or the ``datasets``
list of a training config, where a mapping ``{name: NAME, weight: W, frame_range: R}`` may also
give the source its own frame range). ``WEIGHT`` is relative: pairs are drawn from the sources in
proportion to their weights. ``all`` is pysot's ``NUM_USE: -1``: the weight is the number of
sequences the source has (pysot counts videos), so a source is used in proportion to its size.
``frame_range`` (pysot's per-dataset ``FRAME_RANGE``: 100 for VID, 3 for YouTube-BB's
one-frame-per-second tracks) replaces the run's ``frame_range`` for that source's pairs.

Folders (``--root``): ``--root PATH`` is the folder of the only source; with several sources
each is given as ``--root NAME=PATH`` (repeatable; NAME a dataset name or alias); a source
without one is looked for at ``$SIAMBENCH_DATA/<folder>``, then ``./datasets/<folder>``
(:mod:`siambench.datasets.registry`). A source that is not found is one error naming it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siambench.errors import DatasetNotFoundError, SiambenchError

__all__ = ["Source", "check_roots", "config_sources", "load_source", "parse_roots", "parse_source",
           "root_for"]

#: Weight text meaning "the number of the source's sequences" (pysot ``NUM_USE: -1``).
ALL = "all"


@dataclass(frozen=True)
class Source:
    """One training source: a dataset ``name``, its ``weight`` (None: ``all``) and its own
    ``frame_range`` (None: the run's)."""

    name: str
    weight: float | None = 1.0
    frame_range: int | None = None

    def as_tuple(self) -> tuple[str, float | None, int | None]:
        """``(name, weight, frame_range)``, the form :func:`siambench.train.train` takes."""
        return self.name, self.weight, self.frame_range


def _weight(text: Any, where: str) -> float | None:
    if isinstance(text, str) and text.strip().lower() == ALL:
        return None
    try:
        weight = float(text)
    except (TypeError, ValueError):
        weight = float("nan")
    if isinstance(text, bool) or not weight > 0 or weight == float("inf"):
        raise SiambenchError(f"{where}: the weight must be a positive number or '{ALL}', got {text!r}")
    return weight


def parse_source(item: str | Mapping[str, Any] | Source, where: str = "--dataset") -> Source:
    """A :class:`Source` from ``NAME``, ``NAME:WEIGHT``, ``NAME:all`` or a mapping with ``name``,
    ``weight``, ``frame_range``; one error saying what is wrong otherwise."""
    if isinstance(item, Source):
        return item
    if isinstance(item, Mapping):
        unknown = sorted(set(item) - {"name", "weight", "frame_range"})
        if unknown or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise SiambenchError(f"{where}: a dataset entry is a mapping with 'name' (and optional "
                                 f"'weight', 'frame_range'), got {dict(item)!r}")
        frame_range = item.get("frame_range")
        if frame_range is not None and (isinstance(frame_range, bool) or not isinstance(frame_range, int)
                                        or frame_range < 1):
            raise SiambenchError(f"{where}: frame_range of {item['name']} must be a positive integer, "
                                 f"got {frame_range!r}")
        return Source(item["name"].strip(), _weight(item.get("weight", 1.0), f"{where} {item['name']}"),
                      frame_range)
    if not isinstance(item, str) or not item.strip():
        raise SiambenchError(f"{where}: expected NAME or NAME:WEIGHT, got {item!r}")
    name, sep, weight = item.strip().rpartition(":")
    if not sep:
        return Source(item.strip(), 1.0)
    if not name:
        raise SiambenchError(f"{where}: {item!r}: expected NAME or NAME:WEIGHT")
    return Source(name, _weight(weight, f"{where} {item!r}"))


def config_sources(cfg: Mapping[str, Any]) -> list[Source]:
    """The sources of a resolved training config's ``datasets`` list."""
    value = cfg.get("datasets")
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence) or not value:
        raise SiambenchError(f"training setting datasets must be a non-empty list of NAME[:WEIGHT] "
                             f"entries, got {value!r}")
    return [parse_source(item, "training setting datasets") for item in value]


def parse_roots(items: Iterable[str | Path]) -> Path | dict[str, Path] | None:
    """The ``--root`` values: None (none given), one ``Path`` (a plain ``--root PATH``) or
    ``{dataset name: Path}`` (``--root NAME=PATH``, repeatable). ``NAME=PATH`` is read so when the
    text before the first ``=`` has no path separator and is not an existing path."""
    from siambench.datasets.registry import get_spec

    plain: list[Path] = []
    named: dict[str, Path] = {}
    for item in items:
        text = str(item)
        name, sep, path = text.partition("=")
        if not sep or not name or "/" in name or os.sep in name or Path(text).exists():
            plain.append(Path(text).expanduser())
            continue
        if not path:
            raise SiambenchError(f"--root {text!r}: expected NAME=PATH (the dataset's folder after '=')")
        spec_name = get_spec(name).name
        if spec_name in named:
            raise SiambenchError(f"--root names dataset {spec_name} twice ({named[spec_name]} and {path})")
        named[spec_name] = Path(path).expanduser()
    if plain and named or len(plain) > 1:
        raise SiambenchError("--root PATH names the folder of the only dataset; with several, give "
                             "each as --root NAME=PATH (e.g. --root imagenet-vid=/data/ILSVRC2015 "
                             "--root coco=/data/coco)")
    if plain:
        return plain[0]
    return named or None


def root_for(name: str, root: Path | str | Mapping[str, Path] | None) -> Path | str | None:
    """The folder given for source ``name`` (None: look in the data roots)."""
    if root is None or not isinstance(root, Mapping):
        return root
    from siambench.datasets.registry import get_spec

    return root.get(get_spec(name).name)


def check_roots(names: Sequence[Any], root: Path | str | Mapping[str, Path] | None) -> None:
    """One error when ``root`` does not fit the sources ``names`` (dataset names, or datasets
    given as objects): a plain root with several, or a ``NAME=PATH`` whose NAME is not among
    them."""
    from siambench.datasets.registry import get_spec

    if root is None:
        return
    if not isinstance(root, Mapping):
        if len(names) > 1:
            raise SiambenchError("--root PATH names the folder of one dataset; with several "
                                 "--dataset sources give each as --root NAME=PATH, or set "
                                 "SIAMBENCH_DATA (or place them under ./datasets/)")
        return
    wanted = {get_spec(name).name for name in names if isinstance(name, str)}
    extra = sorted(set(root) - wanted)
    if extra:
        raise SiambenchError(f"--root names {', '.join(extra)}, which this run does not train on "
                             f"(its datasets: {', '.join(sorted(wanted)) or 'none by name'})")


def load_source(name: str, weight: float | None, frame_range: int | None,
                root: Path | str | Mapping[str, Path] | None, *,
                progress: bool = True) -> tuple[Any, float, int, int | None]:
    """``(dataset, weight, origin, frame_range)`` of one named source; ``weight`` None (``all``)
    becomes the number of its sequences. A source not found is one error that names it and says
    how to give its folder."""
    from siambench.datasets import load_dataset
    from siambench.datasets.registry import get_spec

    spec = get_spec(name)
    try:
        dataset = load_dataset(name, root_for(name, root), progress=progress)
    except DatasetNotFoundError as exc:
        raise DatasetNotFoundError(
            f"training source {spec.name} not found: {exc}\nGive its folder with --root "
            f"{spec.name}=PATH (or --root PATH when it is the only --dataset)") from None
    return dataset, float(len(dataset) if weight is None else weight), int(spec.origin), frame_range
