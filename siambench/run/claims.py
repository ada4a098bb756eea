"""Per-sequence claims: how concurrent runs and shards on one results folder share the work.

Before it tracks a sequence, a run *claims* it by creating
``<folder>/.siambench/claims/<seq>.claim`` exclusively (``O_CREAT | O_EXCL``); the file holds
JSON ``{"sequence", "session", "pid", "pid_start", "host", "started"}``. Only the run that created
the file tracks the sequence; another run that meets a live claim skips the sequence and reports
it as "in progress elsewhere" (not failed). A claim is removed once the sequence's status
(``done`` or ``failed``) is recorded, and when the run ends: normally, by an error or by Ctrl-C.

A claim that its run can no longer remove (SIGKILL, a crash, a power cut) is *stale* and is
taken over by the next run that reaches the sequence:

* claims of this host: the process ``pid`` no longer runs (a zombie counts as gone), or the pid
  now belongs to another process (on Linux its start time differs from ``pid_start``);
* claims of **another host** (a results folder on a shared file system, where the pid cannot be
  checked): the claim has not been refreshed for :data:`CLAIM_TIMEOUT_S` (1 hour, measured on
  the file's modification time). A run refreshes (touches) its claims at least every
  :data:`HEARTBEAT_S` while it tracks, so only a run that stopped, or one stuck for an hour
  inside one frame, loses its claim;
* a claim file that cannot be read (its creator was killed before writing it): after the same
  timeout.

Claims are created, checked and taken over under the folder lock
(:func:`siambench.run.manifest.folder_lock`), so two runs never take over the same stale claim;
``O_EXCL`` keeps the creation exclusive even where that lock does not reach (NFS without
``flock``).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siambench.fileio import create_new_file
from siambench.run.manifest import STATUS_DIR, now_iso

__all__ = ["CLAIMS_DIR", "CLAIM_TIMEOUT_S", "HEARTBEAT_S", "Claim", "ClaimBook", "live_claims",
           "process_alive", "read_claim"]

CLAIMS_DIR = "claims"
#: Seconds without a refresh after which another host's claim (or an unreadable one) is stale.
CLAIM_TIMEOUT_S = 3600.0
#: A run touches each claim it holds at least this often while tracking (seconds).
HEARTBEAT_S = 60.0


def _claims_dir(folder: Path) -> Path:
    return Path(folder) / STATUS_DIR / CLAIMS_DIR


def _claim_path(folder: Path, sequence: str) -> Path:
    return _claims_dir(folder) / f"{sequence}.claim"


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux: clock ticks since boot), None when unknown."""
    fields = _proc_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def _proc_state(pid: int) -> str | None:
    fields = _proc_stat(pid)
    return fields[0] if fields else None


def process_alive(pid: int, start: str | None = None) -> bool:
    """True when process ``pid`` of this host runs (and, when ``start`` is given and the OS tells,
    started at ``start``: not a later process that reuses the pid). Zombies count as gone."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except OSError:
        return True
    if _proc_state(pid) == "Z":
        return False
    if start is not None:
        now = _process_start(pid)
        if now is not None and now != start:
            return False
    return True


def _windows_alive(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


@dataclass(frozen=True)
class Claim:
    """A claim file as read: its JSON (``data``, None when unreadable) and its age in seconds
    (since its last refresh)."""

    path: Path
    data: dict[str, Any] | None
    age_s: float

    @property
    def session(self) -> str | None:
        return None if self.data is None else self.data.get("session")

    def describe(self) -> str:
        """``pid 123 on host-a since 2026-...`` (or ``an unreadable claim``)."""
        if self.data is None:
            return f"an unreadable claim ({self.path})"
        return (f"pid {self.data.get('pid')} on {self.data.get('host')} since "
                f"{self.data.get('started')}")

    def stale(self, *, host: str | None = None, timeout_s: float = CLAIM_TIMEOUT_S) -> bool:
        """True when the claim may be taken over (see the module docstring)."""
        host = platform.node() if host is None else host
        if self.data is None:
            return self.age_s > timeout_s
        if self.data.get("host") == host:
            try:
                pid = int(self.data.get("pid", -1))
            except (TypeError, ValueError):
                return self.age_s > timeout_s
            start = self.data.get("pid_start")
            return not process_alive(pid, None if start is None else str(start))
        return self.age_s > timeout_s


def read_claim(path: Path) -> Claim | None:
    """The claim at ``path``, or None when there is none."""
    try:
        age = time.time() - path.stat().st_mtime
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        return Claim(path, None, 0.0)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    return Claim(path, data if isinstance(data, dict) else None, max(age, 0.0))


def live_claims(folder: Path, *, timeout_s: float = CLAIM_TIMEOUT_S) -> dict[str, Claim]:
    """Sequence name -> claim, for every claim in ``folder`` that is not stale."""
    directory = _claims_dir(folder)
    if not directory.is_dir():
        return {}
    live = {}
    for path in sorted(directory.glob("*.claim")):
        claim = read_claim(path)
        if claim is not None and not claim.stale(timeout_s=timeout_s):
            live[path.name[: -len(".claim")]] = claim
    return live


class ClaimBook:
    """The claims one run (``session``) holds in a results folder. Call :meth:`acquire` and
    :meth:`release` under the folder lock; :meth:`heartbeat` needs no lock."""

    def __init__(self, folder: Path, session: str, *, timeout_s: float = CLAIM_TIMEOUT_S) -> None:
        self.folder = Path(folder)
        self.session = session
        self.timeout_s = float(timeout_s)
        self.held: set[str] = set()
        self._touched: dict[str, float] = {}
        self._record = {"session": session, "pid": os.getpid(),
                        "pid_start": _process_start(os.getpid()), "host": platform.node()}

    def acquire(self, sequence: str) -> tuple[bool, Claim | None]:
        """Claim ``sequence``. Returns ``(True, None)`` when claimed, ``(True, stale)`` when a
        stale claim was taken over, ``(False, live)`` when another run holds it."""
        if sequence in self.held:
            return True, None
        path = _claim_path(self.folder, sequence)
        path.parent.mkdir(parents=True, exist_ok=True)
        taken_over: Claim | None = None
        for _ in range(3):
            try:
                handle = create_new_file(path)
            except FileExistsError:
                existing = read_claim(path)
                if existing is None:
                    continue  # removed meanwhile: try again
                if existing.session == self.session:
                    self.held.add(sequence)
                    return True, None
                if not existing.stale(timeout_s=self.timeout_s):
                    return False, existing
                path.unlink(missing_ok=True)
                taken_over = existing
                continue
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(json.dumps({"sequence": sequence, **self._record,
                                         "started": now_iso()}) + "\n")
            self.held.add(sequence)
            self._touched[sequence] = time.monotonic()
            return True, taken_over
        existing = read_claim(path)  # pragma: no cover - a claim that keeps reappearing
        return False, existing  # pragma: no cover

    def heartbeat(self, sequence: str, *, every_s: float = HEARTBEAT_S) -> None:
        """Refresh the claim's modification time (at most once per ``every_s``)."""
        now = time.monotonic()
        if sequence not in self.held or now - self._touched.get(sequence, 0.0) < every_s:
            return
        self._touched[sequence] = now
        try:
            os.utime(_claim_path(self.folder, sequence))
        except OSError:
            pass  # removed (taken over after a long stall): the status write still decides

    def release(self, sequence: str) -> None:
        """Remove the claim of ``sequence`` if it is still this run's."""
        if sequence not in self.held:
            return
        self.held.discard(sequence)
        self._touched.pop(sequence, None)
        path = _claim_path(self.folder, sequence)
        claim = read_claim(path)
        if claim is not None and claim.session == self.session:
            path.unlink(missing_ok=True)

    def release_all(self) -> None:
        """Remove every claim this run holds (at its end)."""
        for sequence in sorted(self.held):
            self.release(sequence)
