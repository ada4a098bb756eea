"""Generating the synthetic benchmark: progress output, resuming after an interruption, the
staging folder ``<out>.partial`` and the lock that keeps two processes from generating one set."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from siambench.datasets import synthetic
from siambench.datasets.synthetic import (
    MANIFEST,
    SPLITS,
    TRAIN_SEED,
    SplitSpec,
    staging_folder,
    write_benchmark,
)
from siambench.errors import SiambenchError

REPO = Path(__file__).resolve().parents[1]


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones too) by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, fmt: str, stop: int, calls: list[int]) -> None:
    """Make the ``fmt`` writer raise KeyboardInterrupt after writing part of sequence ``stop``."""
    real = synthetic._WRITERS[fmt]

    def writer(out, seq, quality):
        calls.append(seq.index)
        folder = real(out, seq, quality)
        if seq.index == stop:  # the sequence's files are on disk, but it is not finished
            raise KeyboardInterrupt
        return folder

    monkeypatch.setitem(synthetic._WRITERS, fmt, writer)


def _recording(monkeypatch: pytest.MonkeyPatch, fmt: str, calls: list[int]) -> None:
    real = synthetic._WRITERS[fmt]

    def writer(out, seq, quality):
        calls.append(seq.index)
        return real(out, seq, quality)

    monkeypatch.setitem(synthetic._WRITERS, fmt, writer)


def test_interrupted_generation_resumes_to_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    reference = write_benchmark(tmp_path / "reference", "vot", sequences=6, frames=5, seed=7,
                                workers=1, progress=False)
    out = tmp_path / "set"
    calls: list[int] = []
    with monkeypatch.context() as patch:
        _interrupt_at(patch, "vot", 3, calls)
        with pytest.raises(KeyboardInterrupt):
            write_benchmark(out, "vot", sequences=6, frames=5, seed=7, workers=1, progress=False)
    assert calls == [0, 1, 2, 3]
    staging = staging_folder(out)
    assert staging == tmp_path / "set.partial"
    assert not out.exists()                       # nothing that looks like a complete set
    kept = sorted(p.name for p in (staging / "set").iterdir())
    assert kept == ["synth-000-occlusion", "synth-001-distractors", "synth-002-illumination"]
    # what a killed writer leaves: a half-written sequence and a record without its folder
    (staging / "set" / ".incoming-000004-deadbeef" / "synth-004-scale").mkdir(parents=True)
    (staging / "set" / ".incoming-000004-deadbeef" / "synth-004-scale" / "groundtruth.txt"
     ).write_text("1,2")
    record = json.loads((staging / "entries" / "000002.json").read_text())
    record["entry"] = {**record["entry"], "index": 5, "name": "synth-005-rotation"}
    (staging / "entries" / "000005.json").write_text(json.dumps(record))

    calls.clear()
    _recording(monkeypatch, "vot", calls)
    assert write_benchmark(out, "vot", sequences=6, frames=5, seed=7, workers=1,
                           progress=False) == out
    assert calls == [3, 4, 5]                     # only the unfinished sequences
    assert _tree(out) == _tree(reference)         # byte-identical, manifest and list.txt included
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reference", "set"]  # no staging, lock


def test_resuming_with_worker_processes_reuses_the_finished_sequences(tmp_path: Path,
                                                                      monkeypatch) -> None:
    out = tmp_path / "set"
    with monkeypatch.context() as patch:
        _interrupt_at(patch, "otb", 2, [])
        with pytest.raises(KeyboardInterrupt):
            write_benchmark(out, "otb", sequences=5, frames=4, seed=3, workers=1, progress=False)
    kept = staging_folder(out) / "set" / "synth-001-distractors" / "img" / "0001.jpg"
    inode = kept.stat().st_ino
    write_benchmark(out, "otb", sequences=5, frames=4, seed=3, workers=2, progress=False)
    assert (out / "synth-001-distractors" / "img" / "0001.jpg").stat().st_ino == inode
    reference = write_benchmark(tmp_path / "reference", "otb", sequences=5, frames=4, seed=3,
                                workers=1, progress=False)
    assert _tree(out) == _tree(reference)


def test_progress_names_what_is_made_its_size_and_where(tmp_path: Path, capsys) -> None:
    out = write_benchmark(tmp_path / "set", "got10k", sequences=3, frames=4, seed=2, workers=1,
                          progress=True)
    err = capsys.readouterr().err
    # estimate: 3 x (4 frames x 12 KiB (320 x 240 x 0.125 B in 4 KiB blocks) + 32 KiB) = 0.25 MB
    assert f"generating a synthetic set (seed 2): 3 sequences x 4 frames (got10k layout, about " \
           f"0.2 MB) into {out}" in err
    assert "3/3" in err and "MB of ~" in err     # the bar, with the bytes written
    write_benchmark(tmp_path / "quiet", "otb", sequences=2, frames=3, workers=1, progress=False)
    assert capsys.readouterr().err == ""


def test_first_use_generation_shows_the_split_and_can_be_silenced(tmp_path: Path, monkeypatch,
                                                                    capsys) -> None:
    monkeypatch.setitem(SPLITS, "train", SplitSpec(TRAIN_SEED, 2, 3, "synthetic-train"))
    synthetic.load(tmp_path / "train", "train", progress=True)
    err = capsys.readouterr().err
    assert "generating synthetic-train: 2 sequences x 3 frames (otb layout, about" in err
    assert str(tmp_path / "train") in err
    synthetic.load(tmp_path / "again", "train", progress=False)   # what the CLI's --quiet does
    assert capsys.readouterr().err == ""
    assert (tmp_path / "again" / MANIFEST).is_file()


def test_a_changed_definition_discards_the_partial_folder(tmp_path: Path, monkeypatch,
                                                          capsys) -> None:
    monkeypatch.setitem(SPLITS, "train", SplitSpec(TRAIN_SEED, 3, 3, "synthetic-train"))
    root = tmp_path / "train"
    with monkeypatch.context() as patch:
        _interrupt_at(patch, "otb", 1, [])
        with pytest.raises(KeyboardInterrupt):
            synthetic.load(root, "train", progress=True)
    err = capsys.readouterr().err
    assert f"interrupted: 1 of 3 sequences kept in {staging_folder(root)}" in err
    assert (staging_folder(root) / "set" / "synth-000-occlusion").is_dir()

    monkeypatch.setitem(SPLITS, "train", SplitSpec(TRAIN_SEED, 3, 2, "synthetic-train"))  # redefined
    calls: list[int] = []
    _recording(monkeypatch, "otb", calls)
    dataset = synthetic.load(root, "train", progress=True)
    err = capsys.readouterr().err
    assert f"discarding {staging_folder(root)}: it holds part of another synthetic set " \
           "(frames 3 -> 2)" in err
    assert calls == [0, 1, 2] and len(dataset) == 3 and len(dataset[0]) == 2
    assert not staging_folder(root).exists()
    reference = write_benchmark(tmp_path / "reference", "otb", sequences=3, frames=2,
                                seed=TRAIN_SEED, workers=1, progress=False)
    assert _tree(root) == _tree(reference)


def test_a_foreign_folder_in_the_staging_place_is_refused(tmp_path: Path) -> None:
    (tmp_path / "set.partial").mkdir()
    (tmp_path / "set.partial" / "thesis.tex").write_text("x")
    with pytest.raises(SiambenchError, match="not a siambench staging folder"):
        write_benchmark(tmp_path / "set", "otb", sequences=1, frames=2, progress=False)
    assert (tmp_path / "set.partial" / "thesis.tex").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set.partial"]


def _wait_for(condition, what: str) -> None:
    """Poll ``condition`` (at most a minute: a bound for a stuck test, not a timing assertion)."""
    for _ in range(6000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


def test_first_use_waits_for_the_process_generating_and_loads_its_set(tmp_path: Path,
                                                                       monkeypatch, capsys) -> None:
    monkeypatch.setitem(SPLITS, "train", SplitSpec(TRAIN_SEED, 2, 3, "synthetic-train"))
    root = tmp_path / "train"
    loaded: list = []
    waiting = threading.Event()

    def say(enabled):
        def echo(text: str) -> None:
            if text.startswith("waiting for another siambench process"):
                waiting.set()
            if enabled:
                print(text, file=sys.stderr)
        return echo

    monkeypatch.setattr(synthetic, "_say", say)
    with synthetic._GenerationLock(root, print):   # "another process" holds the lock ...
        other = threading.Thread(target=lambda: loaded.append(synthetic.load(root, "train", progress=True)))
        other.start()
        _wait_for(waiting.is_set, "the second loader to wait")
        assert not root.exists() and not staging_folder(root).exists()
        synthetic._write_locked(root, "otb", 2, 3, TRAIN_SEED, (320, 240), 1,
                                synthetic.JPEG_QUALITY, False)   # ... and makes the set
        stamp = (root / MANIFEST).stat().st_mtime_ns
    other.join()
    assert len(loaded) == 1 and len(loaded[0]) == 2
    assert (root / MANIFEST).stat().st_mtime_ns == stamp      # loaded, not generated again
    assert "generating synthetic-train" not in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train"]   # lock file removed


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_of_data_synth_keeps_the_finished_sequences(tmp_path: Path) -> None:
    out = tmp_path / "set"
    entries = staging_folder(out) / "entries"
    process = subprocess.Popen(
        [sys.executable, "-m", "siambench", "data", "synth", "--out", str(out),
         "--sequences", "400", "--frames", "3"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    try:
        _wait_for(lambda: entries.is_dir() and any(entries.iterdir()) or process.poll() is not None,
                  "the first sequence")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert "generating a synthetic set (seed 0): 400 sequences x 3 frames (otb layout" in err
    kept = [p for p in (staging_folder(out) / "set").iterdir() if not p.name.startswith(".")]
    assert 1 <= len(kept) < 400 and not out.exists()
    assert f"of 400 sequences kept in {staging_folder(out)}" in err
    record = json.loads((staging_folder(out) / "partial.json").read_text())
    assert (record["seed"], record["sequences"], record["frames"]) == (0, 400, 3)


def test_data_synth_shows_progress_unless_quiet(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from siambench.cli import cli

    runner = CliRunner()
    loud = runner.invoke(cli, ["data", "synth", "--out", str(tmp_path / "a"), "--sequences", "2",
                               "--frames", "3"])
    assert loud.exit_code == 0, loud.output
    assert "generating a synthetic set (seed 0): 2 sequences x 3 frames (otb layout" in loud.output
    quiet = runner.invoke(cli, ["data", "synth", "--out", str(tmp_path / "b"), "--sequences", "2",
                                "--frames", "3", "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output == f"wrote 2 sequences x 3 frames (otb layout) to {tmp_path / 'b'}\n"
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


@pytest.mark.parametrize("frames", [2, 3])
def test_the_shortest_sequences_generate(frames: int) -> None:
    # fast-motion sequences of 2 or 3 frames asked for more fast segments than frames
    # (ValueError from numpy's choice); longer sequences draw exactly as before
    for index in range(24):
        assert len(synthetic.generate_sequence(0, index, frames)) == frames
