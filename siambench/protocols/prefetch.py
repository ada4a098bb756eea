"""A bounded prefetching frame reader: frames are decoded on a background thread ahead of use.

:class:`FramePrefetcher` yields ``(index, frame)`` pairs (0-based frame index, RGB ``uint8``
``(H, W, 3)``) in order while one thread decodes the next ``depth`` frames, so that JPEG decoding
(which releases the GIL in OpenCV) overlaps tracking. A decoding error is re-raised in the
consumer, at the frame where it happened, naming the file. The thread is stopped and joined when
the reader is closed: on leaving the ``with`` block (normally, on an exception or on
``KeyboardInterrupt``), on :meth:`FramePrefetcher.close`, or when the iteration ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from siambench.datasets.base import Sequence
from siambench.errors import FrameReadError, SiambenchError

__all__ = ["FramePrefetcher"]

_POLL_S = 0.05
"""How often a blocked producer or consumer checks whether the reader was closed."""


class _Failure:
    """An exception raised while decoding frame ``index``, carried to the consumer."""

    __slots__ = ("error", "index")

    def __init__(self, index: int, error: BaseException) -> None:
        self.index = index
        self.error = error


_END = object()
_Self = TypeVar("_Self", bound="FramePrefetcher")


class FramePrefetcher:
    """Iterate ``(index, frame)`` over frames ``start .. stop - 1`` of ``sequence``, decoded ahead.

    ``stop=None`` means ``len(sequence)``; ``depth`` (at least 1) bounds the number of decoded
    frames waiting in memory. Use it as a context manager (``with FramePrefetcher(seq) as
    frames: for i, frame in frames: ...``); the background thread starts on entering (or on the
    first ``next``) and is always joined on exit. Errors: a frame that cannot be read raises
    :class:`~siambench.errors.FrameReadError` naming its file; other
    :class:`~siambench.errors.SiambenchError` (e.g. a sequence without images) are re-raised as
    they are. Not thread-safe: one consumer.
    """

    def __init__(self, sequence: Sequence, start: int = 0, stop: int | None = None,
                 depth: int = 8) -> None:
        length = len(sequence)
        stop = length if stop is None else int(stop)
        start = int(start)
        if not 0 <= start <= stop <= length:
            raise SiambenchError(f"frame range [{start}, {stop}) is not within the "
                                 f"{length} frames of {sequence.name!r}")
        if int(depth) < 1:
            raise SiambenchError(f"prefetch depth must be at least 1, got {depth}")
        self.sequence = sequence
        self.start, self.stop, self.depth = start, stop, int(depth)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.depth)
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._done = False

    # -- producer ------------------------------------------------------------------------------
    def _put(self, item: Any) -> bool:
        """Queue ``item`` unless the reader is closed first; True when queued."""
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        for index in range(self.start, self.stop):
            if self._closed.is_set():
                return
            try:
                item: Any = (index, self.sequence.frame(index))
            except BaseException as error:  # noqa: BLE001 - handed to the consumer, re-raised there
                self._put(_Failure(index, error))
                return
            if not self._put(item):
                return
        self._put(_END)

    def _ensure_started(self) -> None:
        if self._thread is None and not self._closed.is_set():
            self._thread = threading.Thread(
                target=self._produce, daemon=True,
                name=f"siambench-prefetch-{self.sequence.name}")
            self._thread.start()

    # -- consumer ------------------------------------------------------------------------------
    def __enter__(self: _Self) -> _Self:  # noqa: PYI019 - typing.Self needs Python 3.11
        self._ensure_started()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        return self

    def __next__(self) -> tuple[int, np.ndarray]:
        if self._done or self._closed.is_set():
            raise StopIteration
        self._ensure_started()
        while True:
            try:
                item = self._queue.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if self._thread is not None and not self._thread.is_alive() \
                        and self._queue.empty():
                    self.close()
                    raise SiambenchError(f"the frame reader of {self.sequence.name!r} stopped "
                                         "without a result") from None
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            error = self._as_read_error(item)
            if error is item.error:
                raise error
            raise error from item.error
        return item

    def _as_read_error(self, failure: _Failure) -> BaseException:
        error = failure.error
        if isinstance(error, SiambenchError):
            return error  # FrameReadError already names the file
        if not isinstance(error, Exception):
            return error  # KeyboardInterrupt, SystemExit: re-raised unchanged
        try:
            path = self.sequence.frame_paths[failure.index]
        except (IndexError, SiambenchError):
            path = f"frame {failure.index} of {self.sequence.name!r}"
        return FrameReadError(f"{path}: cannot read the frame ({type(error).__name__}: {error})")

    def close(self) -> None:
        """Stop the decoding thread and wait for it; safe to call more than once."""
        self._done = True
        self._closed.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            while True:  # unblock a producer waiting on a full queue, then join it
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            thread.join()

    def __del__(self) -> None:
        if getattr(self, "_thread", None) is not None:
            self._closed.set()
