"""Resume after a kill: a real ``python -m siambench run`` subprocess is SIGKILLed in the middle
of a run, resumed, and must end with the results of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from siambench.datasets.synthetic import write_benchmark

SEQUENCES, FRAMES = 4, 10

_PLUGIN = '''
"""A slow scripted tracker for the resume test: the box drifts by a fixed step per frame.

With DRIFT_GATE=<folder><os.pathsep><n> in the environment, the first init of each process
leaves a file in <folder> and waits (at most 60 s) until n processes have done so: concurrent
runs then each hold a sequence at the same moment (tests/test_faults_run.py)."""
import os
import time
from pathlib import Path

import numpy as np

from siambench.trackers.base import TrackOutput, Tracker

_GATED = []


def _gate():
    spec = os.environ.get("DRIFT_GATE")
    if not spec or _GATED:
        return
    _GATED.append(True)
    folder, count = spec.rsplit(os.pathsep, 1)
    (Path(folder) / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(Path(folder).iterdir())) < int(count) and time.monotonic() < deadline:
        time.sleep(0.01)


class Drift(Tracker):
    name = "drift"
    deterministic = True

    def __init__(self, delay=0.04, step=0.5):
        self.delay, self.step, self.box = float(delay), float(step), None

    def init(self, frame, box):
        _gate()
        self.box = np.array(box, dtype=np.float64)

    def update(self, frame):
        time.sleep(self.delay)
        self.box = self.box + np.array([self.step, self.step / 3, 0.0, 0.0])
        return TrackOutput(self.box, 1.0)


def make(**kwargs):
    return Drift(**kwargs)
'''


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    """An environment whose PYTHONPATH holds the plugin module and a dist-info registering it
    under the ``siambench.trackers`` entry-point group (how third-party trackers plug in)."""
    base = tmp_path_factory.mktemp("plugin")
    (base / "drift_plugin.py").write_text(textwrap.dedent(_PLUGIN))
    info = base / "drift_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: drift-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[siambench.trackers]\ndrift = drift_plugin:make\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(base), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def otb(tmp_path_factory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("resume-data") / "otb", "otb",
                           sequences=SEQUENCES, frames=FRAMES, seed=3, workers=1)


def _command(root: Path, results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "siambench", "run", "--tracker", "drift", "--root", str(root),
            "--results-dir", str(results), "--quiet", *extra]


def _results(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt"))
            if not p.stem.endswith("_time")}


def _done(manifest_path: Path) -> int:
    try:  # run.json is replaced atomically: it is either the old or the new manifest
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        return 0
    return sum(s["status"] == "done" for s in manifest["sequences"].values())


def _children(pid: int) -> list[int]:
    listed = subprocess.run(["pgrep", "-P", str(pid)], check=False, capture_output=True,
                            text=True)
    return [int(p) for p in listed.stdout.split()]


def _alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _kill_after_first_sequence(cmd: list[str], env: dict[str, str], folder: Path) -> list[int]:
    """Start ``cmd``, SIGKILL it as soon as its run.json records one finished sequence; returns
    the process ids of its children at that moment."""
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if _done(folder / "run.json") >= 1:
                break
            time.sleep(0.01)
        assert process.poll() is None, "the run ended before it could be killed"
        children = _children(process.pid)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return children


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_results(otb, plugin_env, tmp_path):
    whole = subprocess.run(_command(otb, tmp_path / "whole"), env=plugin_env,
                           check=False, capture_output=True, text=True, timeout=120)
    assert whole.returncode == 0, whole.stderr
    expected = _results(tmp_path / "whole" / "synthetic" / "drift")
    assert len(expected) == SEQUENCES

    folder = tmp_path / "killed" / "synthetic" / "drift"
    _kill_after_first_sequence(_command(otb, tmp_path / "killed"), plugin_env, folder)
    manifest = json.loads((folder / "run.json").read_text())
    states = [s["status"] for s in manifest["sequences"].values()]
    assert states.count("done") >= 1 and states.count("done") < SEQUENCES
    assert set(states) <= {"done", "pending", "running"}
    assert manifest["ended"] is None  # the killed session never finished
    done_before = states.count("done")
    # at most the sequence in flight is left claimed, by a process that is gone (a stale claim)
    stale = list((folder / ".siambench" / "claims").glob("*.claim"))
    assert len(stale) <= 1

    resumed = subprocess.run(_command(otb, tmp_path / "killed"), env=plugin_env,
                             check=False, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert (f"{SEQUENCES - done_before} sequences run, {done_before} already complete"
            in resumed.stdout)
    assert "in progress elsewhere" not in resumed.stdout
    if stale:  # the killed run's claim was taken over, and said so
        assert f"{stale[0].stem}: took over the stale claim of pid" in resumed.stderr
    assert not list((folder / ".siambench" / "claims").glob("*.claim"))
    assert _results(folder) == expected
    manifest = json.loads((folder / "run.json").read_text())
    assert all(s["status"] == "done" for s in manifest["sequences"].values())
    assert len(manifest["sessions"]) == 2 and manifest["ended"] is not None

    changed = subprocess.run(_command(otb, tmp_path / "killed", "--set", "delay=0.01"),
                             env=plugin_env, check=False, capture_output=True, text=True,
                             timeout=120)
    assert changed.returncode != 0
    assert "params.delay: '(unset)' -> 0.01" in changed.stderr and "--force" in changed.stderr
    assert _results(folder) == expected


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_killed_parallel_run_leaves_no_workers_and_resumes(otb, plugin_env, tmp_path):
    folder = tmp_path / "synthetic" / "drift"
    cmd = _command(otb, tmp_path, "--workers", "2")
    children = _kill_after_first_sequence(cmd, plugin_env, folder)
    assert len(children) >= 2  # the two workers (and multiprocessing's helper, if any)
    # orphaned workers notice that their parent is gone and stop within about a second
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)
    resumed = subprocess.run(cmd, env=plugin_env, check=False, capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert len(_results(folder)) == SEQUENCES
    manifest = json.loads((folder / "run.json").read_text())
    assert all(s["status"] == "done" for s in manifest["sequences"].values())
