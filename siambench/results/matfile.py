"""OTB toolkit ``.mat`` results, read in a worker process so that a crafted file cannot crash us.

scipy's MATLAB reader is compiled code: some malformed files crash the process that reads them
(a segmentation fault no ``except`` can catch), others raise exceptions of many kinds, hang, or
inflate a compressed variable without bound. Every ``.mat`` result is therefore parsed in one
long-lived worker process (``python -m siambench.results._matworker``), started on first use and
reused by every later file. Whatever a file does to the worker -- crash it, run past
:data:`MAT_TIMEOUT_S`, or allocate more than :data:`MAT_MEMORY_BYTES` -- costs only that file:
it gets a :class:`DataFormatError` naming it, and the next file starts a fresh worker.

Before a file is handed to the worker, :func:`check_mat_header` rejects, in this process and
without scipy, what is plainly not a MAT-file: an empty or short file, an unknown header, a
MATLAB v7.3 (HDF5) file, a file cut short inside one of its variables.

The wire protocol (both directions over pipes, one request at a time): a request is one JSON
line ``{"where": str, "size": n}`` then ``n`` bytes; the answer is one JSON line, either
``{"ok": false, "problem": str, "hint": str | null}`` or ``{"ok": true, "rows": n, "times":
bool, "start": int | null, "anno": int | null, "notes": [str]}`` followed by the ``n x 4`` boxes
and, when ``times``, the ``n`` per-frame times, as little-endian float64. Nothing is pickled.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from siambench.errors import DataFormatError, SiambenchError
from siambench.results.types import Run

#: Seconds the worker may spend on one file before it is stopped and the file refused.
MAT_TIMEOUT_S = 60.0
#: Memory the worker may allocate beyond what it holds once started (an address-space limit,
#: where the operating system supports one): a compressed variable cannot inflate past it.
MAT_MEMORY_BYTES = 2 * 2**30
#: Seconds the worker may take to start (importing numpy and scipy).
START_TIMEOUT_S = 120.0
#: Most result rows a worker's answer may announce (a result of more rows is refused).
MAX_ROWS = 50_000_000

READY = b"siambench-mat-worker 1\n"
_HEADER = 128
_V73 = b"MATLAB 7.3"
_HDF5 = b"\x89HDF\r\n\x1a\n"
_COMPRESSED = 15  # miCOMPRESSED: the element's bytes are zlib data, not padded to 8 bytes


def check_mat_header(data: bytes, where: Path) -> None:
    """Refuse, without scipy, bytes that are plainly not a readable MAT-file.

    Checks the 128-byte MAT v5 header (or a MAT v4 first matrix header, left to scipy) and that
    every top-level variable of a v5 file fits in the file (a truncated download or copy).
    """
    hint = "expected an OTB toolkit result saved by MATLAB (save -v7) or scipy.io.savemat"
    if not data:
        raise DataFormatError(where, "empty file", hint=hint)
    if data[:len(_V73)] == _V73 or data[512:512 + len(_HDF5)] == _HDF5:
        raise DataFormatError(where, "a MATLAB v7.3 (HDF5) file",
                              hint="v7.3 files are not supported; save with -v7")
    if 0 in data[:4]:
        return  # MAT v4 (its first 4 bytes hold a small integer type code); scipy reads it
    if len(data) < _HEADER:
        raise DataFormatError(where, f"truncated MAT-file: {len(data)} bytes, shorter than the "
                                     f"{_HEADER}-byte header", hint=hint)
    endian = {b"IM": "<", b"MI": ">"}.get(data[126:128])
    if endian is None or struct.unpack(endian + "H", data[124:126])[0] != 0x0100:
        raise DataFormatError(where, "not a MATLAB .mat file (no MAT-file header)", hint=hint)
    position = _HEADER
    while position + 8 <= len(data):
        kind, size = struct.unpack(endian + "II", data[position:position + 8])
        if kind >> 16:  # small data element: type and size packed in 4 bytes, data in 4 more
            position += 8
            continue
        end = position + 8 + size
        if end > len(data):
            raise DataFormatError(where, f"truncated MAT-file: the variable at byte {position} "
                                         f"needs {size} bytes, the file ends {end - len(data)} "
                                         "bytes short", hint="copy or download the file again")
        position = end if kind == _COMPRESSED else end + (-end) % 8


def read_mat(data: bytes, where: Path) -> tuple[Run, list[str]]:
    """Parse one OTB toolkit ``.mat`` result in the worker: ``(run, notes)``.

    Raises :class:`DataFormatError` naming ``where`` for any file that cannot be read, whatever
    it does to the worker; :class:`SiambenchError` when the worker cannot be started at all.
    """
    check_mat_header(data, where)
    with _LOCK:
        worker = _worker()
        return worker.request(data, where)


# -- the worker's client ---------------------------------------------------------------------

_LOCK = threading.Lock()
_WORKERS: dict[int, _Worker] = {}  # by the pid of the process that started it (fork safety)


def _command() -> list[str]:
    """The worker's command line."""
    return [sys.executable, "-m", "siambench.results._matworker", str(MAT_MEMORY_BYTES),
            str(int(MAT_TIMEOUT_S) + 5)]


def _worker() -> _Worker:
    pid = os.getpid()
    worker = _WORKERS.get(pid)
    if worker is None or not worker.alive():
        if worker is not None:
            worker.close()
        worker = _WORKERS[pid] = _Worker()
    return worker


@atexit.register
def _close_workers() -> None:
    worker = _WORKERS.pop(os.getpid(), None)
    if worker is not None:
        worker.close()


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self) -> None:
        self._fired = False
        self._deadline: float | None = None
        self._closed = False
        self._clock = threading.Condition()
        self._stderr = tempfile.TemporaryFile()
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        env.pop("PYTHONSTARTUP", None)
        try:
            self.process = subprocess.Popen(  # a session of its own: Ctrl-C is ours to handle
                _command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                env=env, start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise SiambenchError(f"cannot start the .mat reader process ({sys.executable}): "
                                 f"{exc.strerror or exc}") from None
        watchdog = threading.Thread(target=self._watch, name="siambench-mat-watchdog",
                                    daemon=True)
        watchdog.start()
        line, fired = self._timed(START_TIMEOUT_S, lambda: self._stdout.readline())
        if line != READY:
            reason = f"no answer within {START_TIMEOUT_S:g} s" if fired else \
                self._last_error() or "it stopped at once"
            self.close()
            raise SiambenchError(f"cannot start the .mat reader process: {reason}")

    @property
    def _stdout(self) -> IO[bytes]:
        return self.process.stdout  # type: ignore[return-value]

    def alive(self) -> bool:
        return self.process.poll() is None

    def request(self, data: bytes, where: Path) -> tuple[Run, list[str]]:
        header = json.dumps({"where": str(where), "size": len(data)}).encode() + b"\n"

        def exchange() -> tuple[dict[str, Any], bytes]:
            stdin = self.process.stdin
            if stdin is None:
                raise EOFError
            stdin.write(header)
            stdin.write(data)
            stdin.flush()
            line = self._stdout.readline()
            if not line:
                raise EOFError  # the worker died
            answer = json.loads(line)
            if not isinstance(answer, dict):
                raise ValueError("not an object")
            payload = b""
            if answer.get("ok") is True:
                rows = answer.get("rows")
                if not isinstance(rows, int) or not 0 <= rows <= MAX_ROWS:
                    raise ValueError(f"bad row count {rows!r}")
                size = rows * 4 * 8 + (rows * 8 if answer.get("times") else 0)
                payload = self._stdout.read(size)
                if len(payload) != size:
                    raise EOFError
            return answer, payload

        try:
            (answer, payload), fired = self._timed(MAT_TIMEOUT_S, exchange)
        except (OSError, EOFError, ValueError, TypeError) as exc:  # the worker died or babbled
            problem = self._death(self._fired, exc)
            self.close()
            raise DataFormatError(where, problem,
                                  hint="the file is malformed; save it again with MATLAB "
                                       "(save -v7) or scipy.io.savemat") from None
        if not answer.get("ok"):
            raise DataFormatError(where, str(answer.get("problem")),
                                  hint=answer.get("hint") or None)
        return _decode(answer, payload, where)

    # -- helpers -----------------------------------------------------------------------------
    def _timed(self, seconds: float, work: Any) -> tuple[Any, bool]:
        """Run ``work()``; the watchdog kills the worker if it takes longer than ``seconds``."""
        with self._clock:
            self._fired = False
            self._deadline = time.monotonic() + seconds
            self._clock.notify()
        try:
            return work(), self._fired
        finally:
            with self._clock:
                self._deadline = None

    def _watch(self) -> None:
        """The watchdog thread: kill the worker when a deadline passes (ends with close)."""
        with self._clock:
            while not self._closed:
                if self._deadline is None:
                    self._clock.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._clock.wait(remaining)
                    continue
                self._fired = True
                self._deadline = None
                self._kill()

    def _death(self, fired: bool, exc: BaseException) -> str:
        if fired:
            return f"reading took longer than {MAT_TIMEOUT_S:g} s (stopped)"
        if isinstance(exc, (ValueError, TypeError)):
            self._kill()
            return f"the MATLAB reader gave a malformed answer ({type(exc).__name__})"
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill()
            return f"the MATLAB reader gave a malformed answer ({type(exc).__name__})"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"crashed the MATLAB reader (scipy; its process died with {name})"
        return f"the MATLAB reader stopped (exit status {code}: {self._last_error() or 'no message'})"

    def _last_error(self) -> str:
        try:
            self._stderr.seek(0)
            lines = self._stderr.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1] if lines else ""

    def _kill(self) -> None:
        try:
            self.process.kill()
        except OSError:
            pass

    def close(self) -> None:
        """Stop the worker (end of input, then a kill if it lingers) and release its pipes."""
        with self._clock:
            self._closed = True
            self._clock.notify()
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


def _decode(answer: dict[str, Any], payload: bytes, where: Path) -> tuple[Run, list[str]]:
    rows = answer["rows"]
    boxes = np.frombuffer(payload, dtype="<f8", count=rows * 4).reshape(rows, 4)
    boxes = boxes.astype(np.float64)  # a writable, native-order copy
    times = None
    if answer.get("times"):
        times = np.frombuffer(payload, dtype="<f8", count=rows, offset=rows * 32)
        times = times.astype(np.float64)
    frames = {}
    for key in ("start", "anno"):
        value = answer.get(key)
        frames[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
    notes = [str(note) for note in answer.get("notes") or []]
    return Run(boxes=boxes, times=times, start_frame=frames["start"],
               anno_begin=frames["anno"]), notes
