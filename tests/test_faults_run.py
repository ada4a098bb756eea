"""Fault catalogue of ``siambench run``: file modes, Ctrl-C, kills, changed configurations and
concurrent runs on one results folder.

| fault                                              | expected                                   |
|----------------------------------------------------|--------------------------------------------|
| files written under a umask (0o022, 0o002)         | mode 0o666 & ~umask (0o644, 0o664)         |
| Ctrl-C in any command                              | ``interrupted`` on stderr, exit 130        |
| SIGINT mid-run, then the same command              | 130; finished sequences kept; resume       |
|                                                    | byte-identical to an uninterrupted run     |
| SIGKILL mid-run, then the same command             | tests/test_run_resume.py (also: the stale  |
|                                                    | claim of the killed run is taken over)     |
| changed configuration after an interrupted run     | refused, the message lists the difference  |
| two runs started together on one folder            | each sequence tracked once, results        |
|                                                    | byte-identical to one run, nothing corrupt |
| a sequence claimed by a live run / by a dead one   | "in progress elsewhere" / taken over       |
"""

from __future__ import annotations

import json
import os
import platform
import signal
import stat
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner
from test_run_resume import SEQUENCES, _command, _done, _results, otb, plugin_env  # noqa: F401

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.fileio import atomic_path, atomic_write_bytes, atomic_write_text
from siambench.results import Run, pack_got10k, read_tracker, write_got10k
from siambench.run import claims as claims_module
from siambench.run.claims import ClaimBook, live_claims, read_claim
from siambench.trackers import registry
from siambench.trackers.base import Tracker, TrackOutput

FRAMES = 6


@contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A 3-sequence OTB-layout synthetic benchmark of 6 frames."""
    return write_benchmark(tmp_path_factory.mktemp("faults-run") / "otb", "otb", sequences=3,
                           frames=FRAMES, seed=7, workers=1)


@pytest.fixture(scope="module")
def expected(otb, plugin_env, tmp_path_factory) -> dict[str, bytes]:  # noqa: F811
    """The result files of one uninterrupted `drift` run on `otb`."""
    results = tmp_path_factory.mktemp("whole")
    whole = subprocess.run(_command(otb, results), env=plugin_env, check=False,
                           capture_output=True, text=True, timeout=120)
    assert whole.returncode == 0, whole.stderr
    return _results(results / "synthetic" / "drift")


def _boxes(folder: Path) -> dict[str, bytes]:
    """The result files (not the timing-dependent time files), by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt"))
            if not p.stem.endswith("_time")}


# -- file modes --------------------------------------------------------------------------------

@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664)],
                         ids=["umask-022", "umask-002"])
def test_atomic_writes_get_the_mode_of_the_umask(tmp_path, mask, mode):
    with umask(mask):
        text = atomic_write_text(tmp_path / "a" / "run.json", "{}\n")
        data = atomic_write_bytes(tmp_path / "model.pt", b"\x00weights")
        atomic_write_text(text, "{} \n")  # an overwrite too
        with atomic_path(tmp_path / "plot.png") as temporary:
            assert temporary.suffix == ".png" and temporary.parent == tmp_path
            temporary.write_bytes(b"png")
        write_got10k(tmp_path / "got", "GOT-10k_Val_000001",
                     [Run(boxes=np.ones((3, 4)), times=np.full(3, 0.01))])
        packed = pack_got10k(tmp_path / "got", tmp_path / "zips" / "submission.zip")
    for path in (text, data, tmp_path / "plot.png", packed,
                 *_files(tmp_path / "got")):
        assert _mode(path) == mode, path
    assert zipfile.ZipFile(packed).namelist()
    assert not [p for p in _files(tmp_path) if ".tmp" in p.name]  # no temporary file is left


def test_a_failed_atomic_path_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "plot.png") as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert list(tmp_path.iterdir()) == []


def test_run_report_and_video_files_get_the_mode_of_the_umask(small, tmp_path):
    from siambench.report.video import write_video

    runner = CliRunner()
    with umask(0o002):
        run = runner.invoke(cli, ["run", "--tracker", "identity", "--root", str(small),
                                  "--results-dir", str(tmp_path / "res"), "--quiet"])
        report = runner.invoke(cli, ["report", "--root", str(small), "--results-dir",
                                     str(tmp_path / "res" / "synthetic"), "--out",
                                     str(tmp_path / "rep")])
        frames = [np.zeros((16, 16, 3), np.uint8)] * 2
        video = write_video(tmp_path / "v" / "clip.avi", frames, {})
    assert run.exit_code == 0, run.output
    assert report.exit_code == 0, report.output
    written = [*_files(tmp_path / "res"), *_files(tmp_path / "rep"), video]
    names = {p.name for p in written}
    assert {"run.json", "summary.csv", "summary.md", "index.html"} <= names
    assert any(p.parent.name == ".siambench" and p.suffix == ".json" for p in written)
    assert {p.name: oct(_mode(p)) for p in written if _mode(p) != 0o664} == {}


# -- Ctrl-C ------------------------------------------------------------------------------------

def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(("args", "target"), [
    (["run", "--tracker", "identity"], "siambench.run.run_benchmark"),
    (["report"], "siambench.report.build.build_report"),
    (["data", "list"], "siambench.datasets.registry.list_datasets"),
])
def test_ctrl_c_exits_130_with_interrupted(monkeypatch, args, target):
    monkeypatch.setattr(target, _interrupt)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 130, result.output
    assert result.stderr.strip() == "interrupted"
    assert "Aborted" not in result.output and "Traceback" not in result.output


class _Halting(Tracker):
    """Moves the box by ``step`` per frame; the ``halt_at``-th init of the process raises
    KeyboardInterrupt (Ctrl-C arriving while a sequence is tracked)."""

    name = "halting"
    deterministic = True
    halt_at = 0
    inits = 0

    def __init__(self, step: float = 0.5) -> None:
        self.step, self.box = float(step), None

    def init(self, frame, box):
        type(self).inits += 1
        if type(self).inits == type(self).halt_at:
            raise KeyboardInterrupt
        self.box = np.array(box, dtype=np.float64)

    def update(self, frame):
        self.box = self.box + np.array([self.step, self.step / 2, 0.0, 0.0])
        return TrackOutput(self.box.copy(), 1.0)


def test_ctrl_c_keeps_finished_sequences_refuses_a_changed_config_and_resumes(
        small, tmp_path, monkeypatch):
    plugin = SimpleNamespace(load=lambda: _Halting, value="test_faults_run:_Halting")
    monkeypatch.setattr(registry, "_entry_points", lambda: {"halting": plugin})
    runner = CliRunner()
    names = load_dataset("synthetic", small).names

    def run(results: Path, *extra: str):
        return runner.invoke(cli, ["run", "--tracker", "halting", "--root", str(small),
                                   "--results-dir", str(results), "--quiet", *extra])

    whole = run(tmp_path / "whole")
    assert whole.exit_code == 0, whole.output
    expected = _boxes(tmp_path / "whole" / "synthetic" / "halting")

    monkeypatch.setattr(_Halting, "inits", 0)
    monkeypatch.setattr(_Halting, "halt_at", 2)  # Ctrl-C while the second sequence is tracked
    stopped = run(tmp_path / "res")
    assert stopped.exit_code == 130, stopped.output
    assert stopped.stderr.strip() == "interrupted" and "Aborted" not in stopped.output
    folder = tmp_path / "res" / "synthetic" / "halting"
    assert _boxes(folder) == {f"{names[0]}.txt": expected[f"{names[0]}.txt"]}
    manifest = json.loads((folder / "run.json").read_text())
    assert {n: s["status"] for n, s in manifest["sequences"].items()} == \
        {names[0]: "done", names[1]: "pending", names[2]: "pending"}
    assert manifest["ended"] is not None and manifest["sessions"][0]["interrupted"] is True
    assert manifest["sessions"][0]["tracked"] == [names[0]]
    assert not list((folder / ".siambench" / "claims").glob("*.claim"))  # released on Ctrl-C

    monkeypatch.setattr(_Halting, "halt_at", 0)
    changed = run(tmp_path / "res", "--set", "step=1.0")
    assert changed.exit_code == 1
    assert "holds results of another configuration" in changed.output
    assert "params.step: '(unset)' -> 1.0" in changed.output and "--force" in changed.output

    resumed = run(tmp_path / "res")
    assert resumed.exit_code == 0, resumed.output
    assert "2 sequences run, 1 already complete (skipped), 0 failed" in resumed.output
    assert _boxes(folder) == expected


@pytest.mark.slow
def test_sigint_mid_run_exits_130_keeps_finished_sequences_and_resumes_identically(
        otb, plugin_env, expected, tmp_path):  # noqa: F811
    folder = tmp_path / "res" / "synthetic" / "drift"
    process = subprocess.Popen(_command(otb, tmp_path / "res"), env=plugin_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None \
                and _done(folder / "run.json") < 1:
            time.sleep(0.01)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in stderr and "Aborted" not in stderr
    manifest = json.loads((folder / "run.json").read_text())
    states = [s["status"] for s in manifest["sequences"].values()]
    done_before = states.count("done")
    assert 1 <= done_before < SEQUENCES and set(states) == {"done", "pending"}
    assert manifest["ended"] is not None and manifest["sessions"][0]["interrupted"] is True
    assert not list((folder / ".siambench" / "claims").glob("*.claim"))

    resumed = subprocess.run(_command(otb, tmp_path / "res"), env=plugin_env, check=False,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert (f"{SEQUENCES - done_before} sequences run, {done_before} already complete"
            in resumed.stdout)
    assert _results(folder) == expected


# -- concurrent runs ---------------------------------------------------------------------------

@pytest.mark.slow
def test_two_runs_started_together_share_the_work(otb, plugin_env, expected,  # noqa: F811
                                                  tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**plugin_env, "DRIFT_GATE": f"{gate}{os.pathsep}2"}  # both track at the same time
    processes = [subprocess.Popen(_command(otb, tmp_path / "res"), env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=240) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stdout + stderr
    folder = tmp_path / "res" / "synthetic" / "drift"
    assert _results(folder) == expected
    manifest = json.loads((folder / "run.json").read_text())
    names = sorted(manifest["sequences"])
    assert len(names) == SEQUENCES
    assert all(s["status"] == "done" for s in manifest["sequences"].values())
    tracked = [session["tracked"] for session in manifest["sessions"]]
    assert len(tracked) == 2 and all(tracked)  # both runs did some of the work ...
    assert sorted(tracked[0] + tracked[1]) == names  # ... and no sequence was tracked twice
    statuses = {p.stem: json.loads(p.read_text()) for p in (folder / ".siambench").glob("*.json")}
    assert sorted(statuses) == names
    assert {s["session"] for s in statuses.values()} == {s["id"] for s in manifest["sessions"]}
    assert not list((folder / ".siambench" / "claims").glob("*.claim"))
    assert len(read_tracker(folder).sequences) == SEQUENCES
    summaries = " ".join(stdout for stdout, _ in outputs)
    assert summaries.count("sequences run") == 2


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _write_claim(folder: Path, sequence: str, **fields) -> Path:
    path = folder / ".siambench" / "claims" / f"{sequence}.claim"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sequence": sequence, "session": "other", **fields}))
    return path


def test_claims_are_exclusive_and_released(tmp_path):
    first, second = ClaimBook(tmp_path, "one"), ClaimBook(tmp_path, "two")
    assert first.acquire("seq") == (True, None)
    assert first.acquire("seq") == (True, None)  # already held: still ours
    held, claim = second.acquire("seq")
    assert not held and claim.data["pid"] == os.getpid() and claim.session == "one"
    assert claim.data["host"] == platform.node() and claim.data["started"]
    assert set(live_claims(tmp_path)) == {"seq"}
    second.release("seq")  # not its claim: nothing happens
    assert set(live_claims(tmp_path)) == {"seq"}
    first.release_all()
    assert live_claims(tmp_path) == {} and second.acquire("seq") == (True, None)
    assert _mode(tmp_path / ".siambench" / "claims" / "seq.claim") == 0o666 & ~_current_umask()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_stale_claims_are_taken_over_and_live_ones_are_not(tmp_path):
    book = ClaimBook(tmp_path, "mine")
    host = platform.node()
    _write_claim(tmp_path, "dead", pid=_dead_pid(), host=host)
    assert book.acquire("dead")[0] is True
    assert read_claim(tmp_path / ".siambench" / "claims" / "dead.claim").session == "mine"
    if Path("/proc/self/stat").exists():  # a reused pid: same number, another start time
        _write_claim(tmp_path, "reused", pid=os.getpid(), pid_start="1", host=host)
        assert book.acquire("reused")[0] is True
    _write_claim(tmp_path, "alive", pid=os.getpid(), host=host)
    assert book.acquire("alive")[0] is False
    away = _write_claim(tmp_path, "away", pid=1, host="another-host")
    assert book.acquire("away")[0] is False  # another host: live until it is not refreshed
    old = time.time() - claims_module.CLAIM_TIMEOUT_S - 60
    os.utime(away, (old, old))
    assert book.acquire("away")[0] is True
    empty = tmp_path / ".siambench" / "claims" / "empty.claim"
    empty.write_text("")  # its creator was killed before writing it
    assert book.acquire("empty")[0] is False
    os.utime(empty, (old, old))
    assert book.acquire("empty")[0] is True


def test_run_skips_live_claims_and_takes_over_dead_ones(small, tmp_path):
    names = load_dataset("synthetic", small).names
    folder = tmp_path / "res" / "synthetic" / "identity"
    live = _write_claim(folder, names[0], pid=os.getpid(), host=platform.node())
    dead_pid = _dead_pid()
    _write_claim(folder, names[1], pid=dead_pid, host=platform.node())
    result = CliRunner().invoke(cli, ["run", "--tracker", "identity", "--root", str(small),
                                      "--results-dir", str(tmp_path / "res"), "--quiet"])
    assert result.exit_code == 0, result.output  # a sequence run elsewhere is no failure
    assert "2 sequences run, 0 already complete (skipped), 0 failed, 1 in progress elsewhere" \
        in result.output
    assert f"in progress elsewhere (claimed by another live run; rerun later to check): " \
           f"{names[0]}" in result.output
    assert f"{names[1]}: took over the stale claim of pid {dead_pid}" in result.stderr
    assert not (folder / f"{names[0]}.txt").exists()
    manifest = json.loads((folder / "run.json").read_text())
    assert {n: s["status"] for n, s in manifest["sequences"].items()} == \
        {names[0]: "running", names[1]: "done", names[2]: "done"}
    assert manifest["sessions"][0]["tracked"] == names[1:]
    assert live.exists() and not (live.parent / f"{names[1]}.claim").exists()


# -- the two speeds ----------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "dataset"), [("otb", "synthetic"), ("got10k", "got10k-val")])
def test_run_and_report_give_the_same_two_speeds(tmp_path, fmt, dataset):
    from siambench.report.build import build_report

    root = write_benchmark(tmp_path / fmt, fmt, sequences=3, frames=FRAMES, seed=2, workers=1)
    result = CliRunner().invoke(cli, ["run", "--tracker", "identity", "--dataset", dataset,
                                      "--root", str(root), "--results-dir",
                                      str(tmp_path / "res"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "tracker only (decode excluded): fps_total " in result.output
    assert ", fps_mean " in result.output
    manifest = json.loads((tmp_path / "res" / dataset / "identity" / "run.json").read_text())
    report = build_report(dataset, root=root, results_dir=tmp_path / "res" / dataset,
                          out=tmp_path / "rep")
    row = report.summary.iloc[0]
    assert {"fps_mean", "fps_total"} <= set(report.per_sequence.columns)
    assert "fps" not in report.summary.columns and "fps" not in report.per_sequence.columns
    for name in ("fps_mean", "fps_total"):
        assert manifest["summary"][name] == pytest.approx(float(row[name]), rel=1e-9)
        per_sequence = report.per_sequence.set_index("sequence")[name]
        for sequence, entry in manifest["sequences"].items():
            assert entry[name] == pytest.approx(float(per_sequence[sequence]), rel=1e-9)
    # fps_mean (a mean of per-frame rates) is never below fps_total (frames / total time)
    assert float(row["fps_mean"]) >= float(row["fps_total"]) * (1 - 1e-12)
