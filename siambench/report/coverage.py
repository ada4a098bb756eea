"""Which sequences a comparison is scored on.

Trackers compared on different sequences are not comparable: a tracker run on the 2 easy
sequences of 20 outranks one run on all 20. By default ``report`` therefore scores every tracker
on the sequences that all of them have results for (:func:`common_sequences`), and says how many
and which were left out; ``--own-sequences`` keeps each tracker's own set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from siambench.errors import SiambenchError
from siambench.results import TrackerResults

_SHOWN = 10


@dataclass(frozen=True)
class Coverage:
    """The sequences scored: ``common`` (dataset order) and, per tracker, those left out."""

    common: list[str]
    total: int
    left_out: dict[str, list[str]] = field(default_factory=dict)

    def note(self) -> str | None:
        """One line for the report, or None when nothing was left out."""
        if not any(self.left_out.values()):
            return None
        parts = [f"{name}: {len(names)} ({_listing(names)})"
                 for name, names in self.left_out.items() if names]
        return (f"compared on the {len(self.common)} sequences that every tracker has (of "
                f"{self.total} with results); left out: " + "; ".join(parts)
                + ". --own-sequences scores each tracker on all of its own.")


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def common_sequences(aligned: Mapping[str, TrackerResults], order: Sequence[str]) -> Coverage:
    """The sequences that every tracker in ``aligned`` has runs for, in ``order`` (the dataset's).

    Raises :class:`SiambenchError` when no sequence is shared.
    """
    have = {name: {seq for seq, runs in results.sequences.items() if runs}
            for name, results in aligned.items()}
    union = set().union(*have.values()) if have else set()
    common = [seq for seq in order if all(seq in own for own in have.values())]
    left_out = {name: [seq for seq in order if seq in own and seq not in common]
                for name, own in have.items()}
    if union and not common:
        counts = ", ".join(f"{name} {len(own)}" for name, own in have.items())
        raise SiambenchError(f"no sequence has results from every tracker (sequences per tracker: "
                             f"{counts}); compare trackers run on the same sequences, or pass "
                             "--own-sequences to score each tracker on its own")
    return Coverage(common, len([seq for seq in order if seq in union]), left_out)


def restrict(aligned: Mapping[str, TrackerResults], sequences: Sequence[str]
             ) -> dict[str, TrackerResults]:
    """Copies of ``aligned`` holding only ``sequences``."""
    keep = set(sequences)
    return {name: dataclasses.replace(results, sequences={
        seq: runs for seq, runs in results.sequences.items() if seq in keep})
        for name, results in aligned.items()}
