"""``siambench run --batch N``: the same results as ``--batch 1`` for both Siamese trackers under
every protocol (boxes within 1e-3 px, the same VOT failures), the batch recorded in the manifest,
resume across batch sizes, and trackers that cannot batch falling back with a note.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from siambench.cli import cli
from siambench.datasets.synthetic import write_benchmark
from siambench.run import run_benchmark

SMALL = ["--weights", "random", "--set", "model.width_mult=0.25"]
DATASETS = {"otb": "synthetic", "vot": "vot2018", "got10k": "got10k-val"}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("batch-run-data")
    return {fmt: write_benchmark(base / fmt, fmt, sequences=5, frames=16, seed=7, workers=1)
            for fmt in DATASETS}


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["run", "--quiet", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _result_rows(folder: Path) -> dict[str, list[str]]:
    """Every result file's lines (time files and siambench's own files left out)."""
    return {p.relative_to(folder).as_posix(): p.read_text().splitlines()
            for p in sorted(folder.rglob("*.txt"))
            if "_time" not in p.name and ".siambench" not in p.parts}


def assert_same_results(one: Path, other: Path, tolerance: float = 1e-3) -> int:
    """Same files, same status lines (VOT 1/2/0: the same failures), boxes within
    ``tolerance`` px; returns the number of box rows compared."""
    left, right = _result_rows(one), _result_rows(other)
    assert left and set(left) == set(right)
    rows = 0
    for name, lines in left.items():
        assert len(lines) == len(right[name]), name
        for a, b in zip(lines, right[name], strict=True):
            if "," not in a:
                assert a == b, f"{name}: status {a!r} vs {b!r}"
                continue
            np.testing.assert_allclose(np.array(a.split(","), float), np.array(b.split(","), float),
                                       rtol=0, atol=tolerance, err_msg=name)
            rows += 1
    return rows


def _datasets_name(layouts: dict[str, Path], fmt: str) -> list[str]:
    return ["--dataset", DATASETS[fmt], "--root", str(layouts[fmt])]


@pytest.mark.parametrize("tracker", ["siamrpn", "siamfc"])
@pytest.mark.parametrize("fmt", ["otb", "vot", "got10k"])
def test_batched_runs_equal_unbatched_runs(layouts, tmp_path, tracker, fmt) -> None:
    common = ["--tracker", tracker, *SMALL, *_datasets_name(layouts, fmt),
              "--results-dir", str(tmp_path)]
    _run(*common, "--name", "b1")
    _run(*common, "--name", "b3", "--batch", "3")
    folder = tmp_path / DATASETS[fmt]
    assert assert_same_results(folder / "b1", folder / "b3") > 0
    manifest = json.loads((folder / "b3" / "run.json").read_text())
    assert manifest["sessions"][-1]["batch"] == 3
    assert manifest["summary"]["done"] == 5
    times = manifest["sequences"]
    assert all(s["fps_total"] and s["tracked_frames"] > 0 for s in times.values())


def test_resume_across_batch_sizes_and_a_batch_larger_than_the_set(layouts, tmp_path) -> None:
    common = ["--tracker", "siamrpn", *SMALL, *_datasets_name(layouts, "vot"),
              "--results-dir", str(tmp_path)]
    _run(*common, "--name", "ref")
    names = sorted(p.name for p in (layouts["vot"]).iterdir() if p.is_dir())
    _run(*common, "--name", "mixed", "--batch", "2", "--sequences", ",".join(names[:2]))
    output = _run(*common, "--name", "mixed", "--batch", "8")
    assert "3 sequences run, 2 already complete (skipped)" in output
    folder = tmp_path / "vot2018"
    assert_same_results(folder / "ref", folder / "mixed")
    manifest = json.loads((folder / "mixed" / "run.json").read_text())
    assert [s["batch"] for s in manifest["sessions"]] == [2, 8]


def test_an_interrupted_batch_keeps_the_finished_sequences(layouts, tmp_path,
                                                           monkeypatch) -> None:
    from siambench.trackers.siamrpn import SiamRPNTracker

    original = SiamRPNTracker.batched
    calls = {"n": 0}

    def interrupting(self, capacity):
        batch = original(self, capacity)
        update = batch.update_slots

        def update_slots(slots, frames):
            calls["n"] += 1
            if calls["n"] == 40:
                raise KeyboardInterrupt
            return update(slots, frames)
        batch.update_slots = update_slots
        return batch

    monkeypatch.setattr(SiamRPNTracker, "batched", interrupting)
    kwargs = {"root": layouts["otb"], "weights": "random", "model_config": {"width_mult": 0.25},
              "results_dir": tmp_path, "progress": False}
    with pytest.raises(KeyboardInterrupt):
        run_benchmark("siamrpn", batch=2, label="cut", **kwargs)
    manifest = json.loads((tmp_path / "synthetic" / "cut" / "run.json").read_text())
    done = [n for n, s in manifest["sequences"].items() if s["status"] == "done"]
    assert 0 < len(done) < 5 and manifest["sessions"][-1]["interrupted"] is True
    monkeypatch.setattr(SiamRPNTracker, "batched", original)
    summary = run_benchmark("siamrpn", batch=2, label="cut", **kwargs)
    assert summary.ok and sorted(summary.skipped) == sorted(done)
    run_benchmark("siamrpn", label="whole", **kwargs)
    assert_same_results(tmp_path / "synthetic" / "whole", tmp_path / "synthetic" / "cut")


def test_a_tracker_that_cannot_batch_runs_one_sequence_at_a_time(layouts, tmp_path) -> None:
    result = CliRunner().invoke(cli, ["run", "--quiet", "--tracker", "identity", "--batch", "4",
                                      *_datasets_name(layouts, "otb"),
                                      "--results-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "cannot track sequences in a batch; tracking one sequence at a time" in result.output
    manifest = json.loads((tmp_path / "synthetic" / "identity" / "run.json").read_text())
    assert manifest["sessions"][-1]["batch"] == 1
    bad = CliRunner().invoke(cli, ["run", "--tracker", "identity", "--batch", "0"])
    assert bad.exit_code == 2 and "--batch" in bad.output


@pytest.mark.slow
def test_workers_with_batches_give_the_same_results(layouts, tmp_path) -> None:
    common = ["--tracker", "siamfc", *SMALL, *_datasets_name(layouts, "vot"),
              "--results-dir", str(tmp_path)]
    _run(*common, "--name", "one")
    _run(*common, "--name", "pool", "--workers", "2", "--batch", "2")
    assert_same_results(tmp_path / "vot2018" / "one", tmp_path / "vot2018" / "pool")
