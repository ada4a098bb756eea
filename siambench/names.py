"""Sequence-name matching, one rule for every package (a leaf module: imports nothing of siambench).

Benchmarks, toolkits and result files spell one sequence differently: ``Jogging.1``,
``jogging-1`` and ``Jogging_1`` are one sequence. :func:`canonical_key` is the case- and
punctuation-insensitive key they are matched by; :func:`separated_key` keeps the separators (as
``_``) for the names that differ only there (UAV123 has both ``car1_1`` and ``car11``).
"""

from __future__ import annotations

import re

__all__ = ["canonical_key", "separated_key"]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def canonical_key(name: str) -> str:
    """Case- and punctuation-insensitive key of a sequence name.

    ``Jogging.1``, ``jogging-1`` and ``Jogging_1`` all give ``jogging1``.
    """
    return _NON_ALNUM.sub("", name.lower())


def separated_key(name: str) -> str:
    """Like :func:`canonical_key` but keeping separators as ``_``: ``car1_1`` is not ``car11``."""
    return _NON_ALNUM.sub("_", name.lower()).strip("_")
