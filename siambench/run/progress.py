"""Progress bars of ``siambench run``: one for the whole run, one per worker (tqdm, stderr).

The overall bar counts frames handed to the tracker (``init``/``update`` calls) and shows the
wall-clock rate in frames/s plus the tracker's own speed ``fps_total`` (frames / tracker
seconds, decode excluded) of the finished sequences. A sequence's share of the total is its
length times the repetitions expected; when it finishes the bar is moved to exactly that share
(VOT skips frames after a failure, a deterministic tracker stops after its first repetitions),
so the bar ends at 100 %.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

__all__ = ["RunProgress"]


class RunProgress:
    """The bars of one run: ``total`` frames, ``workers`` per-worker bars; ``disable`` (quiet)
    turns everything off."""

    def __init__(self, total: int, workers: int, *, label: str, disable: bool = False) -> None:
        self.disable = disable
        self._share: dict[str, int] = {}
        self._counted: dict[str, int] = {}
        self._done = 0
        self._failed = 0
        self._frames = 0
        self._seconds = 0.0
        self._sequences = 0
        self._active: list[set[str]] = [set() for _ in range(max(1, workers))]
        self.overall = tqdm(total=total, unit="frame", desc=f"{label}", disable=disable,
                            file=sys.stderr, position=0, dynamic_ncols=True, smoothing=0.1)
        self.bars = [tqdm(total=0, unit="frame", desc=f"worker {i + 1}", disable=disable
                          or workers < 2, file=sys.stderr, position=i + 1, leave=False,
                          dynamic_ncols=True) for i in range(workers)]

    def expect(self, sequences: int) -> None:
        """Set the number of sequences shown in the postfix."""
        self._sequences = sequences
        self._postfix()

    def start(self, worker: int, name: str, share: int, frames: int) -> None:
        """Worker ``worker`` started sequence ``name`` (``share`` frames of the total); a worker
        tracking a batch holds several at once (its bar then counts all of their frames)."""
        self._share[name] = share
        self._counted[name] = 0
        active = self._active[worker] if worker < len(self._active) else set()
        active.add(name)
        if worker >= len(self.bars):
            return
        bar = self.bars[worker]
        if len(active) == 1:
            bar.reset(total=frames)
            bar.set_description(f"worker {worker + 1}: {name}", refresh=False)
        else:
            bar.total = (bar.total or 0) + frames
            bar.set_description(f"worker {worker + 1}: {len(active)} sequences", refresh=False)

    def advance(self, worker: int, name: str, count: int) -> None:
        """``count`` more tracker calls on sequence ``name``."""
        share = self._share.get(name, 0)
        before = self._counted.get(name, 0)
        after = before + count
        self._counted[name] = after
        step = max(0, min(after, share) - min(before, share))
        if step:
            self.overall.update(step)
        if worker < len(self.bars):
            self.bars[worker].update(count)

    def finish(self, worker: int, name: str, status: dict[str, Any]) -> None:
        """Sequence ``name`` ended with ``status`` (``done``/``failed``)."""
        if worker < len(self._active):
            self._active[worker].discard(name)
        share = self._share.pop(name, 0)
        counted = self._counted.pop(name, 0)
        if counted < share:
            self.overall.update(share - counted)
        if status.get("status") == "done":
            self._done += 1
            self._frames += int(status.get("tracked_frames", 0))
            self._seconds += float(status.get("seconds", 0.0))
        else:
            self._failed += 1
        self._postfix()

    def skip(self, share: int) -> None:
        """A sequence of ``share`` frames will not be tracked here (another run holds it, or
        finished it meanwhile): move the overall bar past it."""
        if share:
            self.overall.update(share)

    def _postfix(self) -> None:
        fields = {"seq": f"{self._done + self._failed}/{self._sequences}"}
        if self._failed:
            fields["failed"] = str(self._failed)
        if self._seconds > 0:
            fields["fps_total"] = f"{self._frames / self._seconds:.1f}"
        self.overall.set_postfix(fields, refresh=False)

    def close(self) -> None:
        """Close every bar."""
        for bar in self.bars:
            bar.close()
        self.overall.close()
