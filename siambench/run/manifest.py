"""The run manifest of a results folder: ``run.json`` plus one status file per sequence.

Contents of a tracker's results folder ``<results-dir>/<dataset>/<label>/``:

* the official result files (written by :mod:`siambench.results.write`);
* ``.siambench/<seq>.json`` — one status file per finished sequence (``done`` or ``failed``),
  written atomically *after* the sequence's result files, holding the config hash, the weights
  checksum and the SHA-256 of every result file. These files are the truth: a sequence is
  complete only when its status says ``done`` for the same config and weights and every listed
  file still has its recorded checksum. Hidden (dot) folders are ignored by the result readers;
* ``run.json`` — the human-readable manifest, rebuilt from the status files under a lock
  (``.siambench/lock``) whenever one is written, so several shards (processes or machines on a
  shared file system) writing into one folder never lose each other's entries;
* ``.siambench/claims/<seq>.claim`` — the claim of a sequence being tracked, so that concurrent
  runs and shards share the work instead of each tracking every sequence
  (:mod:`siambench.run.claims`).

Config hash: SHA-256 of the canonical JSON (sorted keys, no spaces) of ``{"tracker": name,
"params": resolved hyper-parameters, "model_config": model config}``. Weights checksum: SHA-256
of the weights file, ``random:<seed>`` for randomly initialised networks, ``none`` for trackers
without weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from siambench.errors import DataFormatError
from siambench.fileio import atomic_write_text

__all__ = [
    "FORMAT",
    "MANIFEST_NAME",
    "STATUS_DIR",
    "canonical_json",
    "config_hash",
    "describe_differences",
    "file_sha256",
    "folder_lock",
    "library_versions",
    "mean_rate",
    "now_iso",
    "read_manifest",
    "read_status",
    "read_statuses",
    "remove_status",
    "session_record",
    "update_manifest",
    "verify_complete",
    "write_status",
]

MANIFEST_NAME = "run.json"
STATUS_DIR = ".siambench"
FORMAT = "siambench-run/1"


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace (tuples as lists): the text that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True, default=str)


def config_hash(tracker: str, params: Mapping[str, Any],
                model_config: Mapping[str, Any] | None = None) -> str:
    """SHA-256 (hex) of the canonical JSON of tracker name, resolved params and model config."""
    text = canonical_json({"tracker": tracker, "params": dict(params),
                           "model_config": dict(model_config or {})})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_version(*names: str) -> str | None:
    for name in names:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def library_versions() -> dict[str, str | None]:
    """Versions of siambench, torch, numpy, OpenCV and Python (``None``: not installed).

    Read from the installed distributions' metadata, so torch is never imported for this.
    """
    import siambench

    return {"siambench": siambench.__version__,
            "torch": _package_version("torch"),
            "numpy": _package_version("numpy"),
            "opencv": _package_version("opencv-python-headless", "opencv-python",
                                       "opencv-contrib-python-headless",
                                       "opencv-contrib-python"),
            "python": platform.python_version()}


# -- locking ---------------------------------------------------------------------------------

@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``<folder>/.siambench/lock`` (``fcntl.flock`` on POSIX,
    ``msvcrt.locking`` on Windows), held for the ``with`` block; blocks until available."""
    lock_dir = Path(folder) / STATUS_DIR
    lock_dir.mkdir(parents=True, exist_ok=True)
    with (lock_dir / "lock").open("a+b") as handle:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# -- per-sequence status files ---------------------------------------------------------------

def _status_path(folder: Path, sequence: str) -> Path:
    return Path(folder) / STATUS_DIR / f"{sequence}.json"


def write_status(folder: Path, sequence: str, status: Mapping[str, Any]) -> Path:
    """Write the status file of one sequence atomically (after its result files)."""
    return atomic_write_text(_status_path(folder, sequence),
                             json.dumps(dict(status), indent=1, sort_keys=True) + "\n")


def remove_status(folder: Path, sequence: str) -> None:
    """Forget a sequence's status (before its results are rewritten)."""
    _status_path(folder, sequence).unlink(missing_ok=True)


def read_status(folder: Path, sequence: str) -> dict[str, Any] | None:
    """The status of one sequence, None when it has none (errors as :func:`read_statuses`)."""
    path = _status_path(folder, sequence)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(path, f"not a readable sequence status ({error})",
                              hint="delete it to rerun that sequence") from error
    if not isinstance(data, dict):
        raise DataFormatError(path, "expected a JSON object", hint="delete it to rerun that sequence")
    return data


def read_statuses(folder: Path) -> dict[str, dict[str, Any]]:
    """Every sequence status in ``folder`` (sequence name -> status dict); unreadable status
    files (which the atomic writes never leave) raise a :class:`DataFormatError`."""
    status_dir = Path(folder) / STATUS_DIR
    if not status_dir.is_dir():
        return {}
    statuses = {}
    for path in sorted(status_dir.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataFormatError(path, f"not a readable sequence status ({error})",
                                  hint="delete it to rerun that sequence") from error
        if not isinstance(data, dict):
            raise DataFormatError(path, "expected a JSON object",
                                  hint="delete it to rerun that sequence")
        statuses[str(data.get("sequence", path.stem))] = data
    return statuses


def verify_complete(folder: Path, status: Mapping[str, Any], config: str, weights: str) -> bool:
    """True when ``status`` is ``done`` for this config hash and weights checksum and every
    result file it lists exists with its recorded SHA-256."""
    if status.get("status") != "done" or status.get("config_hash") != config \
            or status.get("weights_checksum") != weights:
        return False
    files = status.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for rel, digest in files.items():
        path = Path(folder) / rel
        if not path.is_file() or file_sha256(path) != digest:
            return False
    return True


# -- run.json ------------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict[str, Any] | None:
    """``run.json`` of a results folder, or ``None`` when there is none."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(path, f"not a readable run manifest ({error})",
                              hint="delete it (the per-sequence status files in .siambench/ "
                                   "are kept) or use another --name") from error
    if not isinstance(data, dict):
        raise DataFormatError(path, "expected a JSON object")
    return data


def describe_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two configurations (``tracker``, ``params``,
    ``model_config``, ``weights_checksum``), e.g. ``params.penalty_k: 0.04 -> 0.1``."""
    lines = []
    if old.get("tracker") != new.get("tracker"):
        lines.append(f"tracker: {old.get('tracker')} -> {new.get('tracker')}")
    for section in ("params", "model_config"):
        before = old.get(section) or {}
        after = new.get(section) or {}
        for key in sorted(set(before) | set(after)):
            if canonical_json(before.get(key)) != canonical_json(after.get(key)):
                lines.append(f"{section}.{key}: {before.get(key, '(unset)')!r} -> "
                             f"{after.get(key, '(unset)')!r}")
    if old.get("weights_checksum") != new.get("weights_checksum"):
        lines.append(f"weights: {old.get('weights_checksum')} -> {new.get('weights_checksum')}")
    if not lines and old.get("config_hash") != new.get("config_hash"):
        lines.append(f"config hash: {old.get('config_hash')} -> {new.get('config_hash')}")
    return lines


def mean_rate(speeds: list[tuple[float, int]], *, pooled: bool = False) -> float | None:
    """``fps_mean`` of several sequences from their ``(fps_mean, timed frames)``: the mean over
    the sequences, or with ``pooled`` (GOT-10k, as got10k) the mean over all their frames."""
    if pooled:
        frames = sum(count for _, count in speeds)
        return sum(rate * count for rate, count in speeds) / frames if frames else None
    return sum(rate for rate, _ in speeds) / len(speeds) if speeds else None


def _pools_frames(header: Mapping[str, Any]) -> bool:
    """Whether the summary's ``fps_mean`` pools all frames: the GOT-10k metric family (the
    header's ``dataset.metric_family``; in ``run.json`` files written before it was recorded,
    ``dataset.layout == "got10k"``)."""
    dataset = header.get("dataset") or {}
    if "metric_family" in dataset:
        return dataset["metric_family"] == "got10k"
    return dataset.get("layout") == "got10k"


def update_manifest(folder: Path, header: Mapping[str, Any], session: Mapping[str, Any],
                    selection: list[str], *, in_flight: frozenset[str] = frozenset()) -> dict:
    """Rebuild ``run.json`` from the status files; call under :func:`folder_lock`.

    ``header``: the folder's configuration (tracker, params, hashes, dataset, ...). ``session``
    (with an ``id``) replaces the entry of the same id in ``sessions``; other sessions (other
    shards) are kept. Sequences: every status file, plus ``pending`` for the names of
    ``selection`` and of the previous manifest's pending entries that have none (``running``
    for ``in_flight``: this run's sequences and those claimed by other runs). Returns the
    manifest written.

    Speeds (tracker time only, frame decoding excluded; valid times are positive, non-NaN):
    per sequence and in ``summary``, ``fps_total`` = frames with a valid time / the sum of those
    times; ``fps_mean`` = mean over the frames of ``1 / t`` per sequence (got10k's speed), and
    in ``summary`` the mean of the done sequences' ``fps_mean`` (pooled over their frames for
    the GOT-10k metric family, as got10k and the report; the header's
    ``dataset.metric_family``, or for a header written before it was recorded, its
    ``dataset.layout``).
    """
    folder = Path(folder)
    previous = read_manifest(folder) or {}
    sessions = [s for s in previous.get("sessions", []) if isinstance(s, dict)
                and s.get("id") != session.get("id")]
    sessions.append(dict(session))
    statuses = read_statuses(folder)
    sequences: dict[str, dict[str, Any]] = {}
    for name, status in statuses.items():
        entry = {key: status[key] for key in ("status", "error", "frames", "repetitions",
                                              "tracked_frames", "seconds", "fps_total",
                                              "fps_mean", "finished", "host", "device")
                 if key in status}
        if "fps" in status and "fps_total" not in status:  # written before the two names
            entry["fps_total"] = status["fps"]
        sequences[name] = entry
    earlier = previous.get("sequences", {}) if previous.get("config_hash") == header.get(
        "config_hash") else {}
    for name in [*earlier, *selection]:
        if name not in sequences:
            sequences[name] = {"status": "running" if name in in_flight else "pending"}
    counts = {state: sum(1 for s in sequences.values() if s.get("status") == state)
              for state in ("done", "failed", "pending", "running")}
    done = [s for s in sequences.values() if s.get("status") == "done"]
    frames = int(sum(int(s.get("frames", 0)) for s in done))
    tracked = int(sum(int(s.get("tracked_frames", 0)) for s in done))
    seconds = float(sum(float(s.get("seconds", 0.0)) for s in done))
    rates = [(float(s["fps_mean"]), int(s.get("tracked_frames", 0))) for s in done
             if isinstance(s.get("fps_mean"), (int, float))]
    pooled = _pools_frames(header)
    manifest = {
        "format": FORMAT, **dict(header),
        "started": min((s.get("started") for s in sessions if s.get("started")), default=None),
        "ended": session.get("ended"),
        "host": session.get("host"), "device": session.get("device"),
        "versions": session.get("versions"),
        "summary": {**counts, "frames": frames, "tracked_frames": tracked,
                    "tracker_seconds": seconds,
                    "fps_total": tracked / seconds if seconds > 0 else None,
                    "fps_mean": mean_rate(rates, pooled=pooled)},
        "sessions": sessions,
        "sequences": dict(sorted(sequences.items())),
    }
    atomic_write_text(folder / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")
    return manifest


def session_record(session_id: str, *, device: str, workers: int, shard: tuple[int, int] | None,
                   started: str, ended: str | None, selection: list[str],
                   tracked: list[str] | None = None,
                   interrupted: bool = False, batch: int = 1) -> dict[str, Any]:
    """One invocation of ``siambench run`` as recorded in ``run.json``'s ``sessions``;
    ``tracked``: the sequences this session tracked (done or failed), in order; ``batch``: the
    sequences each process tracked at once (with a batch, a frame's time is the batch step's
    time divided among the sequences it served)."""
    record = {"id": session_id, "host": platform.node(), "pid": os.getpid(), "device": device,
              "workers": workers, "batch": int(batch),
              "shard": None if shard is None else f"{shard[0]}/{shard[1]}",
              "sequences": len(selection), "tracked": list(tracked or []),
              "started": started, "ended": ended,
              "versions": library_versions(), "command": sys.argv[1:] if sys.argv else []}
    if interrupted:
        record["interrupted"] = True
    return record
